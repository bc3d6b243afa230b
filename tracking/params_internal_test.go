package tracking

import "testing"

func TestQuestionParams(t *testing.T) {
	for in, want := range map[string]string{
		"INSERT INTO t VALUES ($1, $2), ($3, $12)": "INSERT INTO t VALUES (?, ?), (?, ?)",
		"SELECT '$' || x FROM t WHERE a = $10":     "SELECT '$' || x FROM t WHERE a = ?",
		"no params":                                "no params",
		"$":                                        "$",
	} {
		if got := questionParams(in); got != want {
			t.Errorf("questionParams(%q) = %q, want %q", in, got, want)
		}
	}
}
