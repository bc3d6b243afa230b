//go:build duckdb_arrow

package move

import (
	"context"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/strata-data/strata/move/files"
	"github.com/strata-data/strata/move/postgres"
	"github.com/strata-data/strata/move/s3"
	"github.com/strata-data/strata/rowfmt"
)

// targetName is how the run history names a job's target: zone.table, a folder, or postgres:table.
func targetName(spec *Spec) string {
	switch spec.Target.Type {
	case "files":
		return spec.Target.Path
	case "postgres":
		return "postgres:" + spec.Target.Table
	}
	return spec.Target.Table
}

// writeExternal streams src into a files or postgres target. A postgres target commits the run's id and
// watermark with its rows (postgres.MarkTable), from which the next run completes a killed run's record; a
// files target names its files with the run id, and the next run removes the files of a killed run (see
// cleanKilledFiles). It returns the secrets it used.
func writeExternal(ctx context.Context, d Deps, spec *Spec, ps Params, src *source, rec *RunRecord,
	lookup func(string) (string, bool)) ([]string, error) {
	mapped, err := mapColumns(ctx, src, spec.Columns)
	if err != nil {
		return nil, err
	}
	counted := &counting{RecordReader: mapped}
	var rdr array.RecordReader = counted
	if d.Progress != nil {
		stop := d.Progress(counted.rows.Load)
		defer stop()
	}
	var secrets []string
	switch spec.Target.Type {
	case "files":
		var pw files.ParquetWriter
		if d.Engine != nil {
			pw = d.Engine // DuckDB encodes the Parquet files on every core
		}
		err = writeFilesTarget(ctx, spec, ps, rdr, rec, pw, lookup)
	case "postgres":
		var dsn string
		if dsn, secrets, err = expandSecrets(spec.Target.DSN, spec.where("target", "dsn"), lookup); err != nil {
			return nil, err
		}
		var n int64
		n, err = postgres.WriteTarget(ctx, rdr, postgres.TargetOptions{DSN: dsn, Table: spec.Target.Table,
			Mode: spec.Target.Mode, Key: spec.Target.Key, Mark: &postgres.Mark{Job: spec.Name, Env: d.Env, Run: rec.ID,
				Watermark: func() string { return watermarkAfter(rec.WatermarkBefore, src) }}})
		rec.RowsWritten = n
	default:
		err = fmt.Errorf("%w: target type %q", ErrInvalid, spec.Target.Type)
	}
	err = counted.cause(err)
	readStats(rec, counted, src)
	if err == nil {
		rec.WatermarkAfter = watermarkAfter(rec.WatermarkBefore, src)
	}
	return secrets, err
}

func writeFilesTarget(ctx context.Context, spec *Spec, ps Params, rdr array.RecordReader, rec *RunRecord,
	pw files.ParquetWriter, lookup func(string) (string, bool)) error {
	path, err := substitutePath(spec.Target.Path, ps)
	if err != nil {
		return err
	}
	store, err := openStore(ctx, path, lookup)
	if err != nil {
		return err
	}
	var size int64
	if spec.Target.MaxFileSize != "" {
		if size, err = ParseSize(spec.Target.MaxFileSize); err != nil {
			return err
		}
	}
	res, err := files.WriteTarget(ctx, store, rdr, files.TargetOptions{Format: rowfmt.Format(spec.Target.Format),
		MaxFileSize: size, PartitionBy: spec.Target.PartitionBy, Prefix: rec.ID, Manifest: true, Overwrite: spec.Target.Mode == "overwrite", Parquet: pw})
	if res != nil {
		rec.RowsWritten, rec.Bytes, rec.Files = res.Rows, res.Bytes, res.Files
	}
	return err
}

// openStore is the Store of a files target path: a local folder, or s3://bucket/prefix.
func openStore(_ context.Context, path string, lookup func(string) (string, bool)) (files.Store, error) {
	if s3.IsPath(path) {
		return s3.Open(path, lookup)
	}
	return files.Dir(path), nil
}
