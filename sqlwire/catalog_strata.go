package sqlwire

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/strata-data/strata/envs"
	"github.com/strata-data/strata/features"
	"github.com/strata-data/strata/lake"
)

// DatasetLister lists an environment's training-set datasets (the latest version of each) for strata.datasets;
// *features.Registry is one.
type DatasetLister interface {
	Datasets(ctx context.Context, env string) ([]features.Dataset, error)
}

// strataTable is one of the strata.* system tables every database has: the platform queryable in SQL.
type strataTable struct {
	name string // without the schema
	cols string
	load func(ctx context.Context, c *conn) ([][]string, error)
}

var strataTables = []strataTable{
	{"tables", "zone VARCHAR, name VARCHAR, snapshot_id BIGINT, rows BIGINT, files BIGINT, bytes BIGINT, updated TIMESTAMPTZ", loadStrataTables},
	{"snapshots", "zone VARCHAR, name VARCHAR, snapshot_id BIGINT, parent_id BIGINT, sequence_number BIGINT, " +
		"committed TIMESTAMPTZ, operation VARCHAR, read BOOLEAN", loadStrataSnapshots},
	{"releases", "release_id BIGINT, created TIMESTAMPTZ, actor VARCHAR, note VARCHAR, parent_id BIGINT, current BOOLEAN, " +
		"tables BIGINT", loadStrataReleases},
	{"pins", "release_id BIGINT, zone VARCHAR, name VARCHAR, snapshot_id BIGINT, rows BIGINT", loadStrataPins},
	{"datasets", "name VARCHAR, version BIGINT, zone VARCHAR, table_name VARCHAR, snapshot_id BIGINT, rows BIGINT, " +
		"actor VARCHAR, created TIMESTAMPTZ", loadStrataDatasets},
}

// strataRels are the strata.* system tables as pg_class and pg_attribute show them.
func strataRels(env string) []catRel {
	var out []catRel
	for _, t := range strataTables {
		r := catRel{oid: catalogOID("table", env, "strata", t.name), zone: "strata", name: t.name, kind: "v"}
		for _, d := range strings.Split(t.cols, ",") {
			name, typ, _ := strings.Cut(strings.TrimSpace(d), " ")
			r.cols = append(r.cols, catCol{name: name, typ: duckPGType(typ)})
		}
		out = append(out, r)
	}
	return out
}

func duckPGType(t string) pgType {
	switch t {
	case "BIGINT":
		return pgType{oidInt8, 8, -1}
	case "BOOLEAN":
		return pgType{oidBool, 1, -1}
	case "TIMESTAMPTZ":
		return pgType{oidTimestamptz, 8, -1}
	}
	return pgType{oidText, -1, -1}
}

func strataObjects() map[string]*catObject {
	out := map[string]*catObject{"strata": {create: func(b *strings.Builder, _ *catalogEnv) {
		b.WriteString("CREATE SCHEMA IF NOT EXISTS strata;\n")
	}}}
	for _, t := range strataTables {
		t := t
		out["strata."+t.name] = &catObject{needs: []string{"strata"}, create: func(b *strings.Builder, e *catalogEnv) {
			(&catTable{name: "strata." + t.name, cols: t.cols, rows: e.strata[t.name]}).createSQL(b)
		}}
	}
	return out
}

// loadStrata reads the rows of the strata.* tables the query names.
func (c *conn) loadStrata(ctx context.Context, want map[string]bool, e *catalogEnv) error {
	for _, t := range strataTables {
		if !want["strata."+t.name] {
			continue
		}
		rows, err := t.load(ctx, c)
		if err != nil {
			return err
		}
		if e.strata == nil {
			e.strata = map[string][][]string{}
		}
		e.strata[t.name] = rows
	}
	return nil
}

func ts(t time.Time) string {
	if t.IsZero() {
		return nullField
	}
	return t.UTC().Format("2006-01-02 15:04:05.999999") + "+00"
}

func idOrNull(v int64) string {
	if v == 0 {
		return nullField
	}
	return i64(v)
}

func loadStrataTables(ctx context.Context, c *conn) ([][]string, error) {
	tables, err := c.s.opts.Envs.Tables(ctx, c.env, "")
	if err != nil {
		return nil, err
	}
	var out [][]string
	for _, t := range tables {
		out = append(out, []string{t.Ident.Zone, t.Ident.Name, idOrNull(t.SnapshotID), i64(t.Rows), i64(t.Files),
			i64(t.Bytes), ts(t.Updated)})
	}
	return out, nil
}

func loadStrataSnapshots(ctx context.Context, c *conn) ([][]string, error) {
	svc := c.s.opts.Envs
	tables, err := svc.Tables(ctx, c.env, "")
	if err != nil {
		return nil, err
	}
	var out [][]string
	for _, t := range tables {
		v, err := svc.Describe(ctx, c.env, t.Ident) // prod: released snapshots only
		if err != nil {
			return nil, err
		}
		for _, s := range v.Snapshots {
			out = append(out, []string{t.Ident.Zone, t.Ident.Name, i64(s.ID), idOrNull(s.ParentID), i64(s.Sequence),
				ts(s.Timestamp), s.Operation, bool01(s.ID == v.ReadSnapshotID)})
		}
	}
	return out, nil
}

func loadStrataReleases(ctx context.Context, c *conn) ([][]string, error) {
	rels, err := c.s.opts.Envs.Releases(ctx, c.env)
	if err != nil {
		return nil, err
	}
	var out [][]string
	for _, r := range rels {
		full, err := c.s.opts.Envs.Release(ctx, c.env, r.ID)
		if err != nil {
			return nil, err
		}
		out = append(out, []string{i64(r.ID), ts(time.UnixMilli(r.CreatedMs)), r.Actor, r.Note, idOrNull(r.Parent),
			bool01(r.Current), strconv.Itoa(len(full.Pins))})
	}
	return out, nil
}

func loadStrataPins(ctx context.Context, c *conn) ([][]string, error) {
	rels, err := c.s.opts.Envs.Releases(ctx, c.env)
	if err != nil {
		return nil, err
	}
	var out [][]string
	for _, r := range rels {
		full, err := c.s.opts.Envs.Release(ctx, c.env, r.ID)
		if err != nil {
			return nil, err
		}
		for _, p := range full.Pins {
			zone, name, _ := strings.Cut(p.Table, ".")
			out = append(out, []string{i64(r.ID), zone, name, i64(p.SnapshotID), i64(p.Rows)})
		}
	}
	return out, nil
}

// loadStrataDatasets lists the datasets readers of the environment can read: in prod only those whose
// snapshot some release pinned.
func loadStrataDatasets(ctx context.Context, c *conn) ([][]string, error) {
	if c.s.opts.Datasets == nil {
		return nil, nil
	}
	svc := c.s.opts.Envs
	e, err := svc.Get(ctx, c.env)
	if err != nil {
		return nil, err
	}
	list, err := c.s.opts.Datasets.Datasets(ctx, c.env)
	if err != nil {
		return nil, err
	}
	var out [][]string
	for _, d := range list {
		zone, name, _ := strings.Cut(d.Table, ".")
		if e.Kind != envs.KindDev {
			released, err := svc.ProtectedSnapshots(ctx, c.env, lake.Ident{Zone: zone, Name: name})
			if err != nil || !released[d.SnapshotID] {
				continue
			}
		}
		out = append(out, []string{d.Name, i64(d.Version), zone, name, i64(d.SnapshotID), i64(d.Rows), d.Actor,
			ts(time.UnixMilli(d.CreatedMs))})
	}
	return out, nil
}
