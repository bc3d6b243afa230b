package mlflowapi

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseFilter(t *testing.T) {
	tests := []struct {
		in   string
		want []Clause
	}{
		{"", nil},
		{"metrics.acc > 0.5", []Clause{{Type: "metric", Key: "acc", Op: ">", Num: 0.5, IsNum: true, Text: "0.5"}}},
		{"params.model = 'rf' and tags.`mlflow.runName` LIKE 'a%'", []Clause{
			{Type: "parameter", Key: "model", Op: "=", Str: "rf"},
			{Type: "tag", Key: "mlflow.runName", Op: "LIKE", Str: "a%", Pos: 24}}},
		{`tags."my key" != "x"`, []Clause{{Type: "tag", Key: "my key", Op: "!=", Str: "x"}}},
		{"attributes.run_id IN ('a', 'b')", []Clause{{Type: "attribute", Key: "run_id", Op: "IN", List: []string{"a", "b"}}}},
		{"run_id NOT IN ('a')", []Clause{{Type: "attribute", Key: "run_id", Op: "NOT IN", List: []string{"a"}}}},
		{"tags.x IS NOT NULL", []Clause{{Type: "tag", Key: "x", Op: "IS NOT NULL"}}},
		{"metric.loss <= -1e-3", []Clause{{Type: "metric", Key: "loss", Op: "<=", Num: -1e-3, IsNum: true, Text: "-1e-3"}}},
		{"datasets.digest = 'ab' AND dataset.context ILIKE 'TR%'", []Clause{
			{Type: "dataset", Key: "digest", Op: "=", Str: "ab"},
			{Type: "dataset", Key: "context", Op: "ILIKE", Str: "TR%", Pos: 27}}},
		{"name = 'it''s'", []Clause{{Type: "attribute", Key: "name", Op: "=", Str: "it's"}}},
		{"params.a <> 'b'", []Clause{{Type: "parameter", Key: "a", Op: "!=", Str: "b"}}},
	}
	for _, tt := range tests {
		got, err := ParseFilter(tt.in)
		require.NoError(t, err, tt.in)
		require.Equal(t, tt.want, got, tt.in)
	}
}

func TestParseFilterErrorsNamePosition(t *testing.T) {
	tests := map[string]string{
		"metrics.acc > 1 OR metrics.acc < 0": "position 16",
		"metrics.acc >":                      "position 13",
		"foo.bar = 1":                        "position 0",
		"params.a = 'unterminated":           "position 11",
		"metrics.acc = 1 metrics.b = 2":      "position 16",
		"params.a IN 'x'":                    "position 12",
		"tags.a IS 'x'":                      "position 10",
		"metrics.a ! 1":                      "position 10",
	}
	for in, pos := range tests {
		_, err := ParseFilter(in)
		require.Error(t, err, in)
		require.True(t, errors.Is(err, ErrInvalid), in)
		require.Contains(t, err.Error(), pos, in)
	}
}

func FuzzParseFilter(f *testing.F) {
	for _, s := range []string{"metrics.acc > 0.5 AND params.x = 'y'", "tags.`a b` IS NULL", "run_id IN ('a','b')",
		`tags."k" LIKE "%x%"`, "datasets.name != 'n'", "attributes.start_time >= 17", "a = 'it''s'"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		clauses, err := ParseFilter(s)
		if err != nil {
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "position") {
				t.Fatalf("error without kind or position for %q: %v", s, err)
			}
			return
		}
		for _, c := range clauses {
			if c.Type == "" || c.Op == "" || c.Pos < 0 || c.Pos > len(s) {
				t.Fatalf("bad clause %+v for %q", c, s)
			}
		}
	})
}
