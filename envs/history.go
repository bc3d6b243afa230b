package envs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/strata-data/strata/lake"
)

// The release history as prod readers travel through it (the tables are declared with releases.go's queries).

// releaseAt returns the id of env's release that was current at t: the newest one published at or before t
// (0 when env had no release then).
func releaseAt(ctx context.Context, q querier, env string, t time.Time) (int64, error) {
	var id int64
	err := q.QueryRowContext(ctx, `SELECT COALESCE(max(id), 0) FROM strata_releases WHERE env = $1 AND created_ms <= $2`,
		env, t.UnixMilli()).Scan(&id)
	return id, err
}

// pinOf returns release rel's pin of table id; ok is false when the release does not pin it.
func pinOf(ctx context.Context, q querier, env string, rel int64, id lake.Ident) (p Pin, ok bool, err error) {
	p.Table = id.String()
	err = q.QueryRowContext(ctx, `SELECT snapshot_id, row_count FROM strata_release_pins
		WHERE env = $1 AND release_id = $2 AND table_name = $3`, env, rel, p.Table).Scan(&p.SnapshotID, &p.Rows)
	if errors.Is(err, sql.ErrNoRows) {
		return p, false, nil
	}
	return p, err == nil, err
}

// releasedEver reports whether some release of env pinned snapshot snap of table id.
func releasedEver(ctx context.Context, q querier, env string, id lake.Ident, snap int64) (bool, error) {
	var n int
	err := q.QueryRowContext(ctx, `SELECT count(*) FROM strata_release_pins WHERE env = $1 AND table_name = $2 AND snapshot_id = $3`,
		env, id.String(), snap).Scan(&n)
	return n > 0, err
}

// releasedRef resolves a time-travel selector in a prod-kind environment through its release history: an
// instant selects the release current then and its pin of the table; a snapshot id is accepted only if some
// release pinned it for the table. The errors match lake.ErrNotFound and never say whether an unreleased
// snapshot exists.
func (s *Service) releasedRef(ctx context.Context, env string, id lake.Ident, at lake.SnapshotRef) (lake.SnapshotRef, error) {
	if at.ID != 0 && !at.AsOf.IsZero() {
		return at, fmt.Errorf("a snapshot and a time were both given: %w: give one of them", ErrInvalid)
	}
	if at.ID != 0 {
		ok, err := releasedEver(ctx, s.db.SQL, env, id, at.ID)
		if err != nil {
			return at, err
		}
		if !ok {
			return at, fmt.Errorf("snapshot %d of table %s in %s: %w: no release of %s pins it (prod readers see released snapshots only)",
				at.ID, id, env, lake.ErrNotFound, env)
		}
		return at, nil
	}
	when := at.AsOf.UTC().Format(time.RFC3339Nano)
	rel, err := releaseAt(ctx, s.db.SQL, env, at.AsOf)
	if err != nil {
		return at, err
	}
	if rel == 0 {
		return at, fmt.Errorf("table %s in %s as of %s: %w: %s had no release yet at that time (prod readers see releases only)",
			id, env, when, lake.ErrNotFound, env)
	}
	pin, ok, err := pinOf(ctx, s.db.SQL, env, rel, id)
	if err != nil {
		return at, err
	}
	if !ok {
		return at, fmt.Errorf("table %s in %s as of %s: %w: release %d, current at that time, does not pin it",
			id, env, when, lake.ErrNotFound, rel)
	}
	return lake.SnapshotRef{ID: pin.SnapshotID}, nil
}
