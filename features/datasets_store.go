package features

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/strata-data/strata/engine"
	"github.com/strata-data/strata/envs"
	"github.com/strata-data/strata/lake"
	"github.com/strata-data/strata/meta"
)

// recordDataset stores a built dataset's lineage as its next version, with an audit entry, in one transaction.
func (r *Registry) recordDataset(ctx context.Context, d *Dataset) (*Dataset, error) {
	lin, err := json.Marshal(d.Lineage)
	if err != nil {
		return nil, err
	}
	err = r.db.Tx(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) + 1 FROM strata_datasets WHERE env = $1 AND name = $2`,
			d.Env, d.Name).Scan(&d.Version); err != nil {
			return err
		}
		d.CreatedMs = meta.NowMillis()
		if _, err := tx.ExecContext(ctx, `INSERT INTO strata_datasets (env, name, version, table_name, snapshot_id, row_count, spine_digest, lineage, actor, created_ms)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`, d.Env, d.Name, d.Version, d.Table, d.SnapshotID, d.Rows,
			d.Lineage.SpineDigest, string(lin), d.Actor, d.CreatedMs); err != nil {
			return err
		}
		return insertAudit(ctx, tx, d.Actor, d.Env, "dataset.build", d.Table, map[string]any{"version": d.Version, "snapshot_id": d.SnapshotID})
	})
	if err != nil {
		return nil, fmt.Errorf("record dataset %s: %w", d.Name, err)
	}
	return d, nil
}

const datasetCols = `env, name, version, table_name, snapshot_id, row_count, lineage, actor, created_ms`

func scanDatasets(rows *sql.Rows) ([]Dataset, error) {
	defer rows.Close()
	var out []Dataset
	for rows.Next() {
		var d Dataset
		var lin string
		if err := rows.Scan(&d.Env, &d.Name, &d.Version, &d.Table, &d.SnapshotID, &d.Rows, &lin, &d.Actor, &d.CreatedMs); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(lin), &d.Lineage); err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// Datasets lists env's datasets: the latest version of each, by name.
func (r *Registry) Datasets(ctx context.Context, env string) ([]Dataset, error) {
	rows, err := r.db.SQL.QueryContext(ctx, `SELECT `+datasetCols+` FROM strata_datasets d WHERE env = $1
		AND version = (SELECT MAX(version) FROM strata_datasets m WHERE m.env = d.env AND m.name = d.name) ORDER BY name`, env)
	if err != nil {
		return nil, err
	}
	return scanDatasets(rows)
}

// Dataset returns every built version of a dataset, oldest first.
func (r *Registry) Dataset(ctx context.Context, env, name string) ([]Dataset, error) {
	rows, err := r.db.SQL.QueryContext(ctx, `SELECT `+datasetCols+` FROM strata_datasets WHERE env = $1 AND name = $2 ORDER BY version`, env, name)
	if err != nil {
		return nil, err
	}
	out, err := scanDatasets(rows)
	if err == nil && len(out) == 0 {
		return nil, fmt.Errorf("no dataset %q in %s: build it with `strata dataset build %s --env %s`: %w", name, env, name, env, ErrNotFound)
	}
	return out, err
}

// Export opens the rows of version `version` of a dataset in spine order, without the spine_row column,
// reading the snapshot that build wrote as env's readers may see it (in prod: only a released one). Version 0
// is the latest build env's readers can read, the one `dataset list` shows (ReadableDatasets): in prod a newer
// build staged with --force leaves the released one exported. The caller closes the result.
func (b *Builder) Export(ctx context.Context, env, name string, version int64) (*engine.Result, *Dataset, error) {
	all, err := b.Registry.Dataset(ctx, env, name)
	if err != nil {
		return nil, nil, err
	}
	d := &all[len(all)-1]
	if version != 0 {
		if version < 1 || version > d.Version {
			return nil, nil, fmt.Errorf("dataset %s has no version %d (versions 1 to %d): %w", name, version, d.Version, ErrNotFound)
		}
		d = &all[version-1]
	} else if readable, err := ReadableDataset(ctx, b.Registry, b.Envs, env, name); err == nil {
		d = &readable[len(readable)-1]
	} else if !errors.Is(err, ErrNotFound) {
		return nil, nil, err
	} // else no build is readable: resolving the latest says why (no release of env pins it)
	id, err := lake.ParseIdent(d.Table)
	if err != nil {
		return nil, nil, err
	}
	p, err := b.Envs.Resolve(ctx, env, id, lake.SnapshotRef{ID: d.SnapshotID})
	if err != nil {
		return nil, nil, fmt.Errorf("dataset %s version %d (snapshot %d): %w", name, d.Version, d.SnapshotID, err)
	}
	var cols []string
	for _, c := range p.Columns {
		if c.Name != SpineRow && (len(d.Lineage.Columns) == 0 || contains(d.Lineage.Columns, c.Name)) {
			cols = append(cols, ident(c.Name))
		}
	}
	res, err := b.Engine.Query(ctx, "SELECT "+strings.Join(cols, ", ")+" FROM "+ident(id.Zone)+"."+ident(id.Name)+" ORDER BY "+SpineRow,
		[]engine.Table{envs.EngineTable(p)})
	if err != nil {
		return nil, nil, err
	}
	return res, d, nil
}

// MLflowDataset is a built dataset described as an MLflow dataset input: its name, a digest of exactly what
// was built, source type "strata" and a JSON source naming the environment, table, version and snapshot.
type MLflowDataset struct {
	Name       string
	Digest     string
	SourceType string
	Source     string
	Schema     string // MLflow's {"mlflow_colspec": [...]}
}

// MLflowSource is the JSON of an MLflowDataset's Source.
type MLflowSource struct {
	Env        string `json:"env"`
	Table      string `json:"table"`
	Dataset    string `json:"dataset"`
	Version    int64  `json:"version"`
	SnapshotID int64  `json:"snapshot_id"`
}

// MLflowDataset describes d for an MLflow run's inputs.
func (d *Dataset) MLflowDataset() MLflowDataset {
	src, _ := json.Marshal(MLflowSource{Env: d.Env, Table: d.Table, Dataset: d.Name, Version: d.Version, SnapshotID: d.SnapshotID})
	lin, _ := json.Marshal(d.Lineage)
	sum := sha256.Sum256(append(append([]byte{}, src...), lin...))
	return MLflowDataset{Name: d.Name, Digest: hex.EncodeToString(sum[:])[:8], SourceType: "strata", Source: string(src), Schema: d.mlflowSchema()}
}

// mlflowSchema writes the dataset's columns (without spine_row) as an MLflow column-spec schema.
func (d *Dataset) mlflowSchema() string {
	type colSpec struct {
		Type     string `json:"type"`
		Name     string `json:"name"`
		Required bool   `json:"required"`
	}
	spec := struct {
		Cols []colSpec `json:"mlflow_colspec"`
	}{Cols: []colSpec{}}
	for _, c := range d.Lineage.Columns {
		if c == SpineRow {
			continue
		}
		t := d.Lineage.ColumnTypes[c]
		switch {
		case t == "int":
			t = "integer"
		case strings.HasPrefix(t, "timestamp") || t == "date":
			t = "datetime"
		case t == "long" || t == "double" || t == "float" || t == "string" || t == "boolean" || t == "binary":
		default:
			t = "string"
		}
		spec.Cols = append(spec.Cols, colSpec{Type: t, Name: c})
	}
	b, _ := json.Marshal(spec)
	return string(b)
}

// ReadableDatasets lists the latest build of each dataset in env that env's readers can read: in a dev-kind
// environment every build; in a prod-kind one only builds whose snapshot some release of env pinned, so a
// build staged with --force shows once `strata release publish` pins it (as export and sqlwire's
// strata.datasets see it).
func ReadableDatasets(ctx context.Context, r *Registry, es *envs.Service, env string) ([]Dataset, error) {
	list, err := r.Datasets(ctx, env)
	if err != nil {
		return nil, err
	}
	e, err := es.Get(ctx, env)
	if err != nil || e.Kind == envs.KindDev {
		return list, err
	}
	out := []Dataset{}
	for _, d := range list {
		all, err := ReadableDataset(ctx, r, es, env, d.Name)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, all[len(all)-1])
	}
	return out, nil
}

// ReadableDataset returns the builds of dataset name in env that env's readers can read (see
// ReadableDatasets), oldest first; none is ErrNotFound.
func ReadableDataset(ctx context.Context, r *Registry, es *envs.Service, env, name string) ([]Dataset, error) {
	all, err := r.Dataset(ctx, env, name)
	if err != nil {
		return nil, err
	}
	e, err := es.Get(ctx, env)
	if err != nil || e.Kind == envs.KindDev {
		return all, err
	}
	var out []Dataset
	for _, d := range all {
		id, err := lake.ParseIdent(d.Table)
		if err != nil {
			return nil, err
		}
		released, err := es.ProtectedSnapshots(ctx, env, id)
		if err != nil {
			return nil, err
		}
		if released[d.SnapshotID] {
			out = append(out, d)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("dataset %q has no build that a release of %s pins (builds in %s are staged): publish one with `strata release publish --env %s %s`: %w",
			name, env, env, env, all[len(all)-1].Table, ErrNotFound)
	}
	return out, nil
}
