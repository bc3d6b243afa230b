package main

import (
	"fmt"
	"io"

	"github.com/strata-data/strata/engine"
)

// importSummary is what `table import` reports: one sentence (and the skipped rows) for people, the same
// fields for -o json|yaml.
type importSummary struct {
	Env        string       `json:"env"`
	Table      string       `json:"table"`  // zone.name
	Action     string       `json:"action"` // created, appended or overwrote
	Rows       int64        `json:"rows"`
	File       string       `json:"file"`
	SnapshotID int64        `json:"snapshot_id"`
	BadRows    []badRowView `json:"bad_rows"`
	MaxBadRows int          `json:"max_bad_rows"`
}

// badRowView is a skipped malformed row as -o json|yaml shows it.
type badRowView struct {
	File    string `json:"file"`
	Line    int64  `json:"line"`
	Column  string `json:"column,omitempty"`
	Message string `json:"message"`
}

func badRowViews(rows []engine.BadRow) []badRowView {
	out := make([]badRowView, 0, len(rows))
	for _, b := range rows {
		out = append(out, badRowView{File: b.File, Line: b.Line, Column: b.Column, Message: b.Message})
	}
	return out
}

// printImport prints an import's result in the -o format.
func (a *app) printImport(s importSummary) error {
	if s.BadRows == nil {
		s.BadRows = []badRowView{}
	}
	return a.print(s, func(w io.Writer) {
		fmt.Fprintf(w, "%s %s.%s: %d rows from %s, snapshot %d\n", s.Action, s.Env, s.Table, s.Rows, s.File, s.SnapshotID)
		if len(s.BadRows) > 0 {
			fmt.Fprintf(w, "skipped %d bad rows (--max-bad-rows %d):\n", len(s.BadRows), s.MaxBadRows)
			for _, b := range s.BadRows {
				fmt.Fprintf(w, "  %s line %d, column %s: %s\n", b.File, b.Line, b.Column, b.Message)
			}
		}
	})
}
