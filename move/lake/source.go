//go:build duckdb_arrow

// Package lake is the movement toolkit's lake connector. As a source it reads one table of an environment —
// what the environment's readers see (release pins in prod, the latest snapshot in dev) or a given snapshot —
// resolved through envs.Resolve and streamed by engine.Query. Writes go through envs.Write (see package move).
package lake

import (
	"context"
	"fmt"

	"github.com/strata-data/strata/engine"
	"github.com/strata-data/strata/envs"
	"github.com/strata-data/strata/errs"
	strlake "github.com/strata-data/strata/lake"
)

// Open streams every row of env/table at snapshot (0 = what env's readers see). The caller closes the Result.
func Open(ctx context.Context, svc *envs.Service, eng *engine.Engine, env, table string, snapshot int64) (*engine.Result, *strlake.Plan, error) {
	id, err := strlake.ParseIdent(table)
	if err != nil {
		return nil, nil, err
	}
	plan, err := svc.Resolve(ctx, env, id, strlake.SnapshotRef{ID: snapshot})
	if err != nil {
		return nil, nil, err
	}
	q := fmt.Sprintf(`SELECT * FROM "%s"."%s"`, id.Zone, id.Name)
	res, err := eng.Query(ctx, q, []engine.Table{envs.EngineTable(plan)})
	if err != nil {
		return nil, nil, err
	}
	return res, plan, nil
}

// OpenSince streams the rows of env/table (as env's readers see it) that snapshot since did not have: the
// data files added after it. since 0 reads every row. It returns a nil Result (and the plan) when no file was
// added. A table whose rows were rewritten since then (an overwrite or a merge removed files of since) cannot
// be read incrementally: that is an Invalid error.
func OpenSince(ctx context.Context, svc *envs.Service, eng *engine.Engine, env, table string, since int64) (*engine.Result, *strlake.Plan, error) {
	id, err := strlake.ParseIdent(table)
	if err != nil {
		return nil, nil, err
	}
	plan, err := svc.Resolve(ctx, env, id, strlake.SnapshotRef{})
	if err != nil {
		return nil, nil, err
	}
	if plan.SnapshotID == 0 || plan.SnapshotID == since {
		return nil, plan, nil
	}
	if since != 0 {
		old, err := svc.Resolve(ctx, env, id, strlake.SnapshotRef{ID: since})
		if err != nil {
			return nil, nil, fmt.Errorf("table %s: the snapshot read last (%d): %w", id, since, err)
		}
		now := map[string]bool{}
		for _, f := range plan.Files {
			now[f] = true
		}
		for _, f := range old.Files {
			if !now[f] {
				return nil, nil, errs.E(errs.Invalid, "table %s was rewritten since snapshot %d (an overwrite or merge removed rows): an incremental lake source reads appended rows only; read it whole with a job without incremental:", id, since)
			}
			delete(now, f)
		}
		added := *plan
		added.Files = nil
		for _, f := range plan.Files {
			if now[f] {
				added.Files = append(added.Files, f)
			}
		}
		if len(added.Files) == 0 {
			return nil, plan, nil
		}
		plan = &added
	}
	q := fmt.Sprintf(`SELECT * FROM "%s"."%s"`, id.Zone, id.Name)
	res, err := eng.Query(ctx, q, []engine.Table{envs.EngineTable(plan)})
	if err != nil {
		return nil, nil, err
	}
	return res, plan, nil
}
