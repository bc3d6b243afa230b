package envs

import (
	"context"
	"fmt"

	"github.com/strata-data/strata/lake"
)

// Clone gives dst a zero-copy copy of src's tables (all tables src's readers see when none are named) at the
// snapshots src's readers see: prod's pins, or dev's latest. Writing a prod-kind dst needs force.
func (s *Service) Clone(ctx context.Context, src, dst string, tables []lake.Ident, force bool, actor string) ([]Pin, error) {
	if src == dst {
		return nil, fmt.Errorf("clone %s to itself: %w: name two different environments", src, ErrInvalid)
	}
	if _, err := s.Get(ctx, src); err != nil {
		return nil, err
	}
	if err := s.CheckWrite(ctx, dst, force); err != nil {
		return nil, err
	}
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
	var out []Pin
	for _, id := range sortedIdents(tables) {
		p, err := s.Resolve(ctx, src, id, lake.SnapshotRef{})
		if err != nil {
			return out, err
		}
		if p.SnapshotID == 0 {
			return out, fmt.Errorf("table %s in %s has no snapshot to clone: %w", id, src, ErrInvalid)
		}
		if err := s.lake.Clone(ctx, src, id, p.SnapshotID, dst); err != nil {
			return out, err
		}
		out = append(out, Pin{Table: id.String(), SnapshotID: p.SnapshotID, Rows: p.Rows})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("environment %s has no tables to clone: %w", src, ErrInvalid)
	}
	return out, s.Audit(ctx, actor, dst, "env.clone", src, out)
}
