//go:build duckdb_arrow

package move

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"strings"

	"github.com/apache/arrow-go/v18/parquet/file"

	"github.com/strata-data/strata/lake"
	"github.com/strata-data/strata/move/files"
	"github.com/strata-data/strata/move/postgres"
	"github.com/strata-data/strata/move/s3"
)

// estimateRows estimates how many rows a run of spec would read (see PlanResult.RowEstimate), without reading
// them. It returns the secrets it used.
func estimateRows(ctx context.Context, d Deps, spec *Spec, ps Params, watermark string, lookup func(string) (string, bool)) (int64, []string, error) {
	switch spec.Source.Type {
	case "postgres":
		dsn, secrets, err := expandSecrets(spec.Source.DSN, spec.where("source", "dsn"), lookup)
		if err != nil {
			return 0, nil, err
		}
		var wm any
		if watermark != "" {
			wm = watermark
		}
		q, args, err := bindQuery(spec.Source.Query, ps, wm)
		if err != nil {
			return 0, secrets, err
		}
		n, err := postgres.Estimate(ctx, postgres.Options{DSN: dsn, Query: q, Args: args, WatermarkArg: watermarkArg(spec.Source.Query, ps)})
		return n, secrets, err
	case "lake":
		env := spec.Source.Env
		if env == "" {
			env = d.Env
		}
		id, err := lake.ParseIdent(spec.Source.Table)
		if err != nil {
			return 0, nil, err
		}
		plan, err := d.Envs.Resolve(ctx, env, id, lake.SnapshotRef{ID: spec.Source.Snapshot})
		if err != nil {
			return 0, nil, err
		}
		return plan.Rows, nil, nil
	}
	path, err := substitutePath(spec.Source.Path, ps)
	if err != nil {
		return 0, nil, err
	}
	if s3.IsPath(path) {
		return 0, nil, nil // objects are not read to plan
	}
	list, err := files.Expand(path)
	if err != nil {
		return 0, nil, err
	}
	var total int64
	for _, f := range list {
		total += fileRows(f)
	}
	return total, nil, nil
}

// fileRows is a Parquet file's row count from its footer, or a text file's size divided by the average length
// of its first lines (minus the CSV header); 0 when the file cannot be read.
func fileRows(path string) int64 {
	if strings.HasSuffix(strings.ToLower(path), ".parquet") {
		r, err := file.OpenParquetFile(path, false)
		if err != nil {
			return 0
		}
		defer r.Close()
		return r.NumRows()
	}
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || fi.Size() == 0 {
		return 0
	}
	if strings.HasSuffix(strings.ToLower(path), ".gz") {
		return 0 // unknown without decompressing
	}
	buf := make([]byte, 64<<10)
	n, _ := bufio.NewReader(f).Read(buf)
	lines := int64(bytes.Count(buf[:n], []byte{'\n'}))
	if lines == 0 {
		return 1
	}
	est := fi.Size() * lines / int64(n)
	if isCSV(path) {
		est--
	}
	return max(est, 0)
}

func isCSV(path string) bool {
	p := strings.ToLower(path)
	return strings.HasSuffix(p, ".csv") || strings.HasSuffix(p, ".tsv")
}
