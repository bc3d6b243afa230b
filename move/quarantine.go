//go:build duckdb_arrow

package move

import (
	"bufio"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/strata-data/strata/envs"
	"github.com/strata-data/strata/lake"
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

// maxRawBytes bounds the raw text kept of one row.
const maxRawBytes = 64 << 10

// quarantine appends the run's skipped rows to the job's quarantine table (one snapshot), after the run's
// own commit. The raw text of each row is read back from its file: its line (the first line of a row that
// spans several), with bytes that are not UTF-8 written as \xNN, cut at 64 KiB.
func quarantine(ctx context.Context, d Deps, spec *Spec, rec *RunRecord) error {
	if spec.OnError.Quarantine == "" || len(rec.BadRows) == 0 {
		return nil
	}
	id, err := lake.ParseIdent(spec.OnError.Quarantine)
	if err != nil {
		return err
	}
	raw := rawLines(rec.BadRows)
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

// rawLines reads the lines the bad rows start on, one pass per file; a file that cannot be read gives none.
func rawLines(bad []BadRow) map[lineKey]string {
	want := map[string][]int64{}
	for _, r := range bad {
		want[r.File] = append(want[r.File], r.Line)
	}
	out := map[lineKey]string{}
	for file, lines := range want {
		sort.Slice(lines, func(i, j int) bool { return lines[i] < lines[j] })
		_ = readLines(file, lines, func(n int64, text []byte) { out[lineKey{file, n}] = escapeInvalid(text) })
	}
	return out
}

// readLines calls found with each wanted line (1-based, sorted) of a file, gzip-compressed or not.
func readLines(path string, lines []int64, found func(int64, []byte)) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	var in io.Reader = f
	if strings.HasSuffix(strings.ToLower(path), ".gz") {
		gz, err := gzip.NewReader(f)
		if err != nil {
			return err
		}
		defer gz.Close()
		in = gz
	}
	br := bufio.NewReaderSize(in, 1<<16)
	var n int64
	for len(lines) > 0 {
		text, err := readLine(br)
		if err != nil && len(text) == 0 {
			return err
		}
		n++
		for len(lines) > 0 && lines[0] == n {
			found(n, text)
			lines = lines[1:]
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// readLine reads one line without its end, keeping at most maxRawBytes of it.
func readLine(br *bufio.Reader) ([]byte, error) {
	var out []byte
	for {
		chunk, err := br.ReadSlice('\n')
		if len(out) < maxRawBytes {
			out = append(out, chunk[:min(len(chunk), maxRawBytes-len(out))]...)
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		return []byte(strings.TrimRight(string(out), "\r\n")), err
	}
}

// escapeInvalid returns text as UTF-8, with each byte that is not part of valid UTF-8 written as \xNN.
func escapeInvalid(text []byte) string {
	if utf8.Valid(text) {
		return string(text)
	}
	var b strings.Builder
	for len(text) > 0 {
		r, size := utf8.DecodeRune(text)
		if r == utf8.RuneError && size == 1 {
			fmt.Fprintf(&b, `\x%02x`, text[0])
		} else {
			b.Write(text[:size])
		}
		text = text[size:]
	}
	return b.String()
}
