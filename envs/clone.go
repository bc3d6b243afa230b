package envs

import (
	"context"
	"errors"
	"fmt"

	"github.com/strata-data/strata/lake"
)

// ClonedTable is one table of a clone: the pin it was cloned at, and what happened to the destination's history.
type ClonedTable struct {
	Pin
	// KeptTag is the Iceberg tag that keeps the destination table's former head reachable (time travel to it
	// still works, and no clean-up deletes its files); "" when the destination had nothing to keep.
	KeptTag string `json:"kept_tag,omitempty"`
	// Dropped lists destination snapshots a forced clone made unreachable (histories that cannot be merged).
	Dropped []int64 `json:"dropped,omitempty"`
}

// Clone gives dst a zero-copy copy of src's tables (all tables src's readers see when none are named) at the
// snapshots src's readers see: prod's pins, or dev's latest. Writing a prod-kind dst needs force; there the
// clone lands on the staging branch, so it is published like any other staged write (readers, and other
// engines reading main, see it after `release publish`). A destination table keeps its earlier snapshots (see
// lake.CloneWith); in a dev-kind dst, force also replaces a table whose history cannot be kept (never in prod,
// where the history holds release pins).
func (s *Service) Clone(ctx context.Context, src, dst string, tables []lake.Ident, force bool, actor string) ([]Pin, error) {
	cloned, err := s.CloneTables(ctx, src, dst, tables, force, actor)
	var pins []Pin
	for _, c := range cloned {
		pins = append(pins, c.Pin)
	}
	return pins, err
}

// CloneTables is Clone, reporting per table what the destination kept or dropped.
func (s *Service) CloneTables(ctx context.Context, src, dst string, tables []lake.Ident, force bool, actor string) ([]ClonedTable, error) {
	if src == dst {
		return nil, fmt.Errorf("clone %s to itself: %w: name two different environments", src, ErrInvalid)
	}
	if _, err := s.Get(ctx, src); err != nil {
		return nil, err
	}
	if err := s.CheckWrite(ctx, dst, force); err != nil {
		return nil, err
	}
	branch, err := s.BranchFor(ctx, dst)
	if err != nil {
		return nil, err
	}
	// In prod, force only permits the write: a prod table's history holds release pins, which a replaced
	// history would lose.
	replace := force && branch == ""
	if len(tables) == 0 {
		visible, err := s.Tables(ctx, src, "")
		if err != nil {
			return nil, err
		}
		for _, t := range visible {
			if t.SnapshotID != 0 {
				tables = append(tables, t.Ident)
			}
		}
	}
	var out []ClonedTable
	for _, id := range sortedIdents(tables) {
		p, err := s.Resolve(ctx, src, id, lake.SnapshotRef{})
		if err != nil {
			return out, err
		}
		if p.SnapshotID == 0 {
			return out, fmt.Errorf("table %s in %s has no snapshot to clone: %w", id, src, ErrInvalid)
		}
		res, err := s.lake.CloneWith(ctx, src, id, p.SnapshotID, dst, lake.CloneOptions{Branch: branch, Force: replace})
		if err != nil && branch != "" && errors.Is(err, lake.ErrConflict) {
			return out, fmt.Errorf("%w; in %s the table's history holds release pins and is never replaced: remove the "+
				"table from the release and drop it first", err, dst)
		}
		if err != nil {
			return out, err
		}
		out = append(out, ClonedTable{Pin: Pin{Table: id.String(), SnapshotID: p.SnapshotID, Rows: p.Rows},
			KeptTag: res.KeptTag, Dropped: res.Dropped})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("environment %s has no tables to clone: %w", src, ErrInvalid)
	}
	return out, s.Audit(ctx, actor, dst, "env.clone", src, out)
}
