//go:build duckdb_arrow

package sqlwire

import "testing"

// FuzzCopyCommand: any COPY statement text is parsed or refused with an error, never a panic.
func FuzzCopyCommand(f *testing.F) {
	for _, s := range []string{"COPY (SELECT 1) TO STDOUT", "COPY a.b (x, y) TO STDOUT WITH CSV HEADER DELIMITER AS E'\\t'",
		"COPY a TO STDOUT (FORMAT binary)", "COPY (", "COPY a TO STDOUT NULL E'", "COPY a TO STDOUT (FORCE_QUOTE *, FORMAT csv)"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, sql string) {
		q, co, err := copyCommand("COPY " + sql)
		if err == nil && (q == "" || co == nil) {
			t.Fatalf("%q: no query or format without an error", sql)
		}
	})
}
