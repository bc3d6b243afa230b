package engine

// WrittenNames returns the two-part names sql would write as tables: the target of INSERT INTO, CREATE [OR
// REPLACE] TABLE [IF NOT EXISTS], DROP TABLE [IF EXISTS], UPDATE, DELETE FROM, ALTER TABLE and TRUNCATE [TABLE]
// when it is written schema.name, found by the same lexer as ReferencedNames (so words inside literals and
// comments are not statements). Unqualified targets (a script's temporary tables) are not returned. Like
// ReferencedNames it is a lexer, not a parser: callers use it to refuse early with a clearer error than the
// engine's; the engine's lake views stay read-only whatever it misses.
func WrittenNames(sql string) []QualifiedName {
	l := &lexer{s: sql}
	var toks []token
	for {
		tok, ok := l.next()
		if !ok {
			break
		}
		toks = append(toks, tok)
	}
	word := func(i int, w string) bool { return i < len(toks) && toks[i].kind == tokIdent && toks[i].text == w }
	var out []QualifiedName
	for i := 0; i < len(toks); i++ {
		j := -1 // where the target starts
		switch {
		case word(i, "insert"):
			k := i + 1
			if word(k, "or") {
				k += 2
			}
			if word(k, "into") {
				j = k + 1
			}
		case word(i, "create"):
			k := i + 1
			if word(k, "or") && word(k+1, "replace") {
				k += 2
			}
			if word(k, "table") {
				j = k + 1
				if word(j, "if") && word(j+1, "not") && word(j+2, "exists") {
					j += 3
				}
			}
		case word(i, "drop") && word(i+1, "table"):
			j = i + 2
			if word(j, "if") && word(j+1, "exists") {
				j += 2
			}
		case word(i, "update"):
			j = i + 1
		case word(i, "delete") && word(i+1, "from"):
			j = i + 2
		case word(i, "alter") && word(i+1, "table"):
			j = i + 2
		case word(i, "truncate"):
			j = i + 1
			if word(j, "table") {
				j++
			}
		}
		if j >= 0 && j+2 < len(toks) && toks[j].kind == tokIdent && toks[j+1].kind == tokDot && toks[j+2].kind == tokIdent {
			out = append(out, QualifiedName{Schema: toks[j].text, Name: toks[j+2].text})
		}
	}
	return out
}
