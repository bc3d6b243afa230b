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
