package sqlwire

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/strata-data/strata/lakesql"
)

// copyOut is the format of a COPY ... TO STDOUT: rows go out as CopyData messages, one per row as
// PostgreSQL sends them, between CopyOutResponse and CopyDone.
type copyOut struct {
	format   string // text, csv, binary
	header   bool
	delim    byte
	null     string
	quote    byte
	escape   byte
	forceAll bool // FORCE_QUOTE *
	started  bool
	buf      []byte // line's
	pending  []byte // the binary header, sent with the first row or the trailer
}

// copyCommand turns "COPY (query) TO STDOUT [options]" or "COPY zone.table [(cols)] TO STDOUT [options]"
// into the query to run and its output format. COPY to a file or program is refused (42501) and COPY FROM
// is not supported here.
func copyCommand(sql string) (query string, co *copyOut, err error) {
	rest := strings.TrimSpace(sql[len("COPY"):])
	if strings.HasPrefix(rest, "(") {
		end := lakesql.ClosingParen(rest)
		if end < 0 {
			return "", nil, fmt.Errorf("COPY: unbalanced parentheses around the query: %w", ErrInvalid)
		}
		query, rest = strings.TrimSpace(rest[1:end]), strings.TrimSpace(rest[end+1:])
		if query == "" {
			return "", nil, fmt.Errorf("COPY (query): the query is empty: %w", ErrInvalid)
		}
	} else {
		toks := copyTokens(rest)
		i := 0
		for i < len(toks) && !strings.EqualFold(toks[i], "TO") && !strings.EqualFold(toks[i], "FROM") && toks[i] != "(" {
			i++
		}
		if i == 0 {
			return "", nil, fmt.Errorf("COPY needs a table or a (query): COPY zone.table TO STDOUT: %w", ErrInvalid)
		}
		table := strings.Join(toks[:i], "")
		cols := "*"
		if i < len(toks) && toks[i] == "(" {
			j := i + 1
			for j < len(toks) && toks[j] != ")" {
				j++
			}
			cols = strings.Join(toks[i+1:j], "")
			cols = strings.ReplaceAll(cols, ",", ", ")
			i = j + 1
		}
		query = "SELECT " + cols + " FROM " + table
		rest = strings.Join(toks[min(i, len(toks)):], " ")
	}
	toks := copyTokens(rest)
	if len(toks) == 0 {
		return "", nil, fmt.Errorf("COPY needs a direction: COPY ... TO STDOUT: %w", ErrInvalid)
	}
	switch strings.ToUpper(toks[0]) {
	case "FROM":
		return "", nil, fmt.Errorf("COPY FROM is not supported: this endpoint does not load data; write lake tables with "+
			"`strata table import` (or CREATE TABLE zone.name AS SELECT / INSERT INTO in a dev environment): %w", ErrReadOnly)
	case "TO":
	default:
		return "", nil, fmt.Errorf("COPY: expected TO STDOUT, found %q: %w", toks[0], ErrInvalid)
	}
	if len(toks) < 2 || !strings.EqualFold(toks[1], "STDOUT") {
		return "", nil, fmt.Errorf("COPY to a file or program is refused: this endpoint does not touch the server's "+
			"file system; use COPY ... TO STDOUT (psql: \\copy): %w", ErrReadOnly)
	}
	co, err = copyOptions(toks[2:])
	return query, co, err
}

// copyOptions reads both option syntaxes: WITH (FORMAT csv, HEADER, DELIMITER ';') and the old
// WITH CSV HEADER DELIMITER AS ';' NULL AS ”.
func copyOptions(toks []string) (*copyOut, error) {
	co := &copyOut{format: "text", delim: '\t', null: `\N`, quote: '"', escape: '"'}
	var delim, null, quote, escape *string
	var opts []string
	for _, t := range toks {
		switch strings.ToUpper(t) {
		case "WITH", "(", ")", ",", "AS":
			continue
		}
		opts = append(opts, t)
	}
	val := func(i int) (string, bool) {
		if i+1 < len(opts) {
			return unquote(opts[i+1]), true
		}
		return "", false
	}
	for i := 0; i < len(opts); i++ {
		switch strings.ToUpper(opts[i]) {
		case "FORMAT":
			v, ok := val(i)
			if !ok {
				return nil, fmt.Errorf("COPY option FORMAT needs text, csv or binary: %w", ErrInvalid)
			}
			co.format = strings.ToLower(v)
			i++
		case "CSV", "BINARY", "TEXT":
			co.format = strings.ToLower(opts[i])
		case "HEADER":
			co.header = true
			if v, ok := val(i); ok && isBoolWord(v) {
				co.header = v == "1" || strings.EqualFold(v, "true") || strings.EqualFold(v, "on")
				i++
			}
		case "DELIMITER", "NULL", "QUOTE", "ESCAPE", "ENCODING":
			v, ok := val(i)
			if !ok {
				return nil, fmt.Errorf("COPY option %s needs a value: %w", strings.ToUpper(opts[i]), ErrInvalid)
			}
			switch strings.ToUpper(opts[i]) {
			case "DELIMITER":
				delim = &v
			case "NULL":
				null = &v
			case "QUOTE":
				quote = &v
			case "ESCAPE":
				escape = &v
			case "ENCODING":
				if !isUTF8(v) {
					return nil, fmt.Errorf("COPY ENCODING %q: this server speaks UTF8 only: %w", v, errBadValue)
				}
			}
			i++
		case "FORCE_QUOTE", "FORCE":
			co.forceAll = true // FORCE_QUOTE * (per-column lists quote every column too)
			for i+1 < len(opts) && opts[i+1] != ")" && !isCopyKeyword(opts[i+1]) {
				i++
			}
		default:
			return nil, fmt.Errorf("COPY option %q is not supported (FORMAT, HEADER, DELIMITER, NULL, QUOTE, ESCAPE, "+
				"ENCODING, FORCE_QUOTE are): %w", opts[i], ErrInvalid)
		}
	}
	switch co.format {
	case "text", "binary":
	case "csv":
		co.delim, co.null = ',', ""
	default:
		return nil, fmt.Errorf("COPY format %q is not one of text, csv, binary: %w", co.format, ErrInvalid)
	}
	if co.format == "binary" && (delim != nil || null != nil || co.header) {
		return nil, fmt.Errorf("COPY binary takes no DELIMITER, NULL or HEADER: %w", ErrInvalid)
	}
	if delim != nil {
		if len(*delim) != 1 {
			return nil, fmt.Errorf("COPY delimiter must be a single one-byte character: %w", ErrInvalid)
		}
		co.delim = (*delim)[0]
	}
	if null != nil {
		co.null = *null
	}
	for _, q := range []struct {
		v   *string
		dst *byte
	}{{quote, &co.quote}, {escape, &co.escape}} {
		if q.v != nil {
			if len(*q.v) != 1 || co.format != "csv" {
				return nil, fmt.Errorf("COPY QUOTE and ESCAPE take one character and need CSV format: %w", ErrInvalid)
			}
			*q.dst = (*q.v)[0]
		}
	}
	if quote != nil && escape == nil {
		co.escape = co.quote
	}
	return co, nil
}

func isBoolWord(v string) bool {
	switch strings.ToLower(v) {
	case "true", "false", "on", "off", "1", "0":
		return true
	}
	return false
}

func isCopyKeyword(v string) bool {
	switch strings.ToUpper(v) {
	case "FORMAT", "CSV", "BINARY", "TEXT", "HEADER", "DELIMITER", "NULL", "QUOTE", "ESCAPE", "ENCODING", "FORCE_QUOTE", "FORCE":
		return true
	}
	return false
}

// copyTokens splits the tail of a COPY statement into words, quoted strings and punctuation.
func copyTokens(s string) []string {
	var out []string
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '\'' || c == '"':
			j := lakesql.SkipQuoted(s, i, c)
			out = append(out, s[i:j])
			i = j
		case c == 'E' || c == 'e':
			if i+1 < len(s) && s[i+1] == '\'' {
				j := lakesql.SkipQuoted(s, i+1, '\'')
				out = append(out, unescapeE(s[i+1:j]))
				i = j
				continue
			}
			fallthrough
		default:
			if strings.IndexByte("(),.;", c) >= 0 {
				out = append(out, string(c))
				i++
				continue
			}
			j := i
			for j < len(s) && strings.IndexByte(" \t\n\r(),.;'\"", s[j]) < 0 {
				j++
			}
			out = append(out, s[i:j])
			i = j
		}
	}
	return out
}

// unescapeE turns an E'...' literal's backslash escapes (\t, \n, \\, \') into a plain '...' literal.
func unescapeE(q string) string {
	if len(q) < 2 || q[len(q)-1] != '\'' {
		return q // unterminated: the option check reports it
	}
	inner := q[1 : len(q)-1]
	r := strings.NewReplacer(`\t`, "\t", `\n`, "\n", `\r`, "\r", `\\`, `\`, `\'`, `'`, `''`, `'`)
	return "'" + strings.ReplaceAll(r.Replace(inner), "'", "''") + "'"
}

// start sends CopyOutResponse (and the binary header or CSV header line).
func (co *copyOut) start(c *conn, names []string) {
	co.started = true
	codes := make([]uint16, len(names))
	var overall byte
	if co.format == "binary" {
		overall = 1
		for i := range codes {
			codes[i] = 1
		}
	}
	c.be.Send(&pgproto3.CopyOutResponse{OverallFormat: overall, ColumnFormatCodes: codes})
	switch {
	case co.format == "binary":
		// As PostgreSQL, the header goes out in the first row's (or the trailer's) CopyData: the ADBC driver
		// reads it so.
		co.pending = append([]byte("PGCOPY\n\xff\r\n\x00"), 0, 0, 0, 0, 0, 0, 0, 0)
	case co.header:
		header := make([][]byte, len(names))
		for i, n := range names {
			header[i] = []byte(n)
		}
		c.be.Send(&pgproto3.CopyData{Data: co.line(header)})
	}
}

// line returns the text or CSV line of one row (values nil for NULL), valid until the next call.
func (co *copyOut) line(values [][]byte) []byte {
	b := co.buf[:0]
	for i, v := range values {
		if i > 0 {
			b = append(b, co.delim)
		}
		if v == nil {
			b = append(b, co.null...)
			continue
		}
		b = co.appendValue(b, v)
	}
	b = append(b, '\n')
	co.buf = b
	return b
}

// takePending returns the binary header once: it goes out in the first row's CopyData.
func (co *copyOut) takePending() []byte {
	p := co.pending
	co.pending = nil
	return p
}

// finish sends the binary trailer and CopyDone.
func (co *copyOut) finish(c *conn) {
	if co.format == "binary" {
		c.be.Send(&pgproto3.CopyData{Data: append(co.pending, 0xFF, 0xFF)})
		co.pending = nil
	}
	c.be.Send(&pgproto3.CopyDone{})
}

// appendValue escapes a non-NULL value: backslash escapes in text format, quoting in CSV.
func (co *copyOut) appendValue(b, v []byte) []byte {
	if co.format == "csv" {
		need := co.forceAll || len(v) == 0 && co.null == "" || string(v) == co.null || (len(v) > 0 && string(v) == `\.`)
		for _, ch := range v {
			if ch == co.delim || ch == co.quote || ch == '\n' || ch == '\r' || ch == co.escape {
				need = true
				break
			}
		}
		if !need {
			return append(b, v...)
		}
		b = append(b, co.quote)
		for _, ch := range v {
			if ch == co.quote || ch == co.escape {
				b = append(b, co.escape)
			}
			b = append(b, ch)
		}
		return append(b, co.quote)
	}
	for _, ch := range v {
		switch ch {
		case '\\':
			b = append(b, '\\', '\\')
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			if ch == co.delim {
				b = append(b, '\\')
			}
			b = append(b, ch)
		}
	}
	return b
}

// copyTag is COPY's command tag.
func copyTag(n int64) string { return "COPY " + strconv.FormatInt(n, 10) }
