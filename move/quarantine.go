//go:build duckdb_arrow

package move

import (
	"context"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/strata-data/strata/envs"
	"github.com/strata-data/strata/lake"
	"github.com/strata-data/strata/move/files"
)

// quarantineSchema is the layout of a quarantine table: one row per skipped source row.
var quarantineSchema = arrow.NewSchema([]arrow.Field{
	{Name: "run_id", Type: arrow.BinaryTypes.String},
	{Name: "job", Type: arrow.BinaryTypes.String},
	{Name: "file", Type: arrow.BinaryTypes.String},
	{Name: "line", Type: arrow.PrimitiveTypes.Int64},
	{Name: "column", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "reason", Type: arrow.BinaryTypes.String},
	{Name: "raw", Type: arrow.BinaryTypes.String, Nullable: true},
}, nil)

// quarantine appends the run's skipped rows to the job's quarantine table (one snapshot), after the run's
// own commit. The raw text of each row is read back from its file: its line (the first line of a row that
// spans several), with bytes that are not UTF-8 written as \xNN, cut at 64 KiB.
//
// known holds raw lines the source kept of files that are no longer on local disk (fetched objects), by file
// and line.
func quarantine(ctx context.Context, d Deps, spec *Spec, rec *RunRecord, known map[string]map[int64]string) error {
	if spec.OnError.Quarantine == "" || len(rec.BadRows) == 0 {
		return nil
	}
	id, err := lake.ParseIdent(spec.OnError.Quarantine)
	if err != nil {
		return err
	}
	raw := rawLines(rec.BadRows, known)
	b := array.NewRecordBuilder(memory.DefaultAllocator, quarantineSchema)
	defer b.Release()
	for _, r := range rec.BadRows {
		b.Field(0).(*array.StringBuilder).Append(rec.ID)
		b.Field(1).(*array.StringBuilder).Append(rec.Job)
		b.Field(2).(*array.StringBuilder).Append(r.File)
		b.Field(3).(*array.Int64Builder).Append(r.Line)
		appendOrNull(b.Field(4).(*array.StringBuilder), r.Column)
		b.Field(5).(*array.StringBuilder).Append(r.Message)
		appendOrNull(b.Field(6).(*array.StringBuilder), raw[lineKey{r.File, r.Line}])
	}
	batch := b.NewRecordBatch()
	defer batch.Release()
	rdr, err := array.NewRecordReader(quarantineSchema, []arrow.RecordBatch{batch})
	if err != nil {
		return err
	}
	defer rdr.Release()
	res, err := d.Envs.Write(ctx, d.Env, id, rdr, envs.WriteOptions{Force: d.Force, Actor: d.Actor, Action: "move",
		Source: fmt.Sprintf("job %s (rejected rows)", spec.Name), CreateIfMissing: true,
		Props: map[string]string{PropRun: rec.ID, PropJob: spec.Name, PropEnv: d.Env}})
	if err != nil {
		return fmt.Errorf("run %s committed snapshot %d of %s, but its %d rejected rows could not be written to %s: %w",
			rec.ID, rec.SnapshotID, rec.Target, len(rec.BadRows), id, err)
	}
	rec.Quarantined, rec.QuarantineSnapshot = res.AddedRows, res.SnapshotID
	return nil
}

func appendOrNull(b *array.StringBuilder, s string) {
	if s == "" {
		b.AppendNull()
		return
	}
	b.Append(s)
}

type lineKey struct {
	file string
	line int64
}

// rawLines reads the lines the bad rows start on, one pass per local file; known gives those of files that
// are not local. A file that cannot be read gives none.
func rawLines(bad []BadRow, known map[string]map[int64]string) map[lineKey]string {
	want := map[string][]int64{}
	for _, r := range bad {
		want[r.File] = append(want[r.File], r.Line)
	}
	out := map[lineKey]string{}
	for file, lines := range want {
		got, ok := known[file]
		if !ok {
			got = files.RawLines(file, lines)
		}
		for n, text := range got {
			out[lineKey{file, n}] = text
		}
	}
	return out
}
