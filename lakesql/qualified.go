package lakesql

import "strings"

// Unqualify accepts database-qualified names as PostgreSQL does, the database being the environment: it
// rewrites env.zone.name (and the column form env.zone.name.col), each part quoted or not and with spaces
// around the dots allowed, to zone.name when the first part is env, the environment the statement runs in. A
// name qualified by another environment of envNames is refused with an *Error of RuleUnsupported, worded as
// PostgreSQL's cross-database error; nothing else changes: literals, comments and names whose first part is
// not an environment (a struct field access t.a.b) stay byte for byte. A statement that names no environment
// followed by a dot is returned as it is without being lexed.
func Unqualify(sql, env string, envNames []string) (string, error) {
	if !mentionsAny(sql, env, envNames) {
		return sql, nil
	}
	var b strings.Builder
	from := 0
	afterDot := false // the previous token was '.': a chain that starts here continues another one
	for i := 0; i < len(sql); {
		c := sql[i]
		switch {
		case c == '\'':
			i = SkipQuoted(sql, i, c)
			afterDot = false
		case c == '-' && strings.HasPrefix(sql[i:], "--"):
			if j := strings.IndexAny(sql[i:], "\n\r"); j >= 0 {
				i += j + 1
			} else {
				i = len(sql)
			}
		case c == '/' && strings.HasPrefix(sql[i:], "/*"):
			i = SkipBlockComment(sql, i)
		case c == '$' && DollarTag(sql[i:]) != "":
			i = SkipDollarQuoted(sql, i)
			afterDot = false
		case c >= '0' && c <= '9': // a number (1.5): not a name
			for i < len(sql) && (IsWordByte(sql[i]) || sql[i] == '.') {
				i++
			}
			afterDot = false
		case c == '"' || isIdentStart(c):
			parts := nameChain(sql, i)
			last := parts[len(parts)-1]
			if !afterDot && (len(parts) == 3 || len(parts) == 4) {
				db := IdentName(sql[parts[0][0]:parts[0][1]])
				switch {
				case db == env:
					b.WriteString(sql[from:parts[0][0]])
					from = parts[1][0]
				case contains(envNames, db):
					names := make([]string, len(parts))
					for k, p := range parts {
						names[k] = IdentName(sql[p[0]:p[1]])
					}
					return "", refuse(RuleUnsupported, "cross-database references are not implemented: %s: this "+
						"session's database (environment) is %s; connect to database %s to read it",
						strings.Join(names, "."), env, db)
				}
			}
			i = last[1]
			afterDot = false
		case c == '.':
			i++
			afterDot = true
		default:
			if !isSpace(c) {
				afterDot = false
			}
			i++
		}
	}
	if from == 0 {
		return sql, nil
	}
	b.WriteString(sql[from:])
	return b.String(), nil
}

// nameChain returns the bounds of the names of the dotted chain a.b.c that starts at sql[i] (a quoted or
// plain identifier), spaces around the dots allowed.
func nameChain(sql string, i int) [][2]int {
	var parts [][2]int
	for {
		end := i + 1
		if sql[i] == '"' {
			end = SkipQuoted(sql, i, '"')
		} else {
			for end < len(sql) && (IsWordByte(sql[end]) || sql[end] == '$') {
				end++
			}
		}
		parts = append(parts, [2]int{i, end})
		j := skipSpaces(sql, end)
		if j >= len(sql) || sql[j] != '.' {
			return parts
		}
		j = skipSpaces(sql, j+1)
		if j >= len(sql) || !(sql[j] == '"' || isIdentStart(sql[j])) {
			return parts
		}
		i = j
	}
}

// mentionsAny says whether sql holds, in any case, one of env and names as a word followed by optional spaces
// (or a closing quote) and a dot: the cheap test before Unqualify lexes. It looks only before each dot.
func mentionsAny(sql, env string, names []string) bool {
	for i := 0; ; {
		j := strings.IndexByte(sql[i:], '.')
		if j < 0 {
			return false
		}
		j += i
		k := j
		for k > 0 && isSpace(sql[k-1]) {
			k--
		}
		if k > 0 && sql[k-1] == '"' {
			k--
		}
		end := k
		for k > 0 && IsWordByte(sql[k-1]) {
			k--
		}
		if w := sql[k:end]; w != "" && (strings.EqualFold(w, env) || containsFold(names, w)) {
			return true
		}
		i = j + 1
	}
}

func containsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}

func isIdentStart(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' }

func skipSpaces(sql string, i int) int {
	for i < len(sql) && isSpace(sql[i]) {
		i++
	}
	return i
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
