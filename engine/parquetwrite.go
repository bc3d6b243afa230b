//go:build duckdb_arrow

package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	duckdb "github.com/duckdb/duckdb-go-bindings"

	"github.com/strata-data/strata/errs"
	"github.com/strata-data/strata/scratch"
)

// ErrUnsupported: WriteParquet cannot write a column's type exactly (the caller writes the files another way).
var ErrUnsupported = errs.New(errs.Unsupported, "type not supported by the Parquet writer")

// fieldIDKey is the Arrow field metadata key that carries a Parquet field id (Iceberg's and arrow-go's name).
const fieldIDKey = "PARQUET:field_id"

// writeRowGroupRows is the row group size of the data files WriteParquet writes (the lake's own writer's too).
const writeRowGroupRows = 128 * 1024

// writeRowGroupBytes bounds the rows each DuckDB thread buffers before it encodes a row group, whatever the
// width of the rows: a row group ends at writeRowGroupRows rows or at about this many bytes, whichever comes
// first. Measured (postgres → lake, 2M rows × 13 columns, 2 threads): 128k-row groups alone held ~250 MB of
// DuckDB memory that memory_limit does not cover; with 8MB groups (about 40k rows of those columns) the run
// peaks at 205–213 MB RSS instead of 359–392 MB, at the same CPU time, and files are 3% larger.
const writeRowGroupBytes = "8MB"

// writeSetup is what WriteParquet's private database runs before it is sealed. Row order is not kept (a lake
// table has none); DuckDB takes ROW_GROUP_SIZE_BYTES only without it.
const writeSetup = "SET preserve_insertion_order = false"

// CanWrite reports whether WriteParquet can write files of schema exactly: every column's type has a DuckDB
// type with exactly that Parquet form, and every field carries a field id.
func (e *Engine) CanWrite(schema *arrow.Schema) bool { return CanWriteParquet(schema) }

// CanWriteParquet is (*Engine).CanWrite, for callers that have no engine open yet.
func CanWriteParquet(schema *arrow.Schema) bool {
	if schema == nil || schema.NumFields() == 0 {
		return false
	}
	for _, f := range schema.Fields() {
		if _, err := writeType(f.Type); err != nil {
			return false
		}
		if _, err := fieldIDsOf(f); err != nil {
			return false
		}
	}
	return true
}

// WriteParquet writes rdr's rows into new Parquet files (zstd, or the codec schema's metadata names under
// write.parquet.compression-codec) in dir, an existing local directory, and returns
// their absolute paths: none when there are no rows. DuckDB encodes the files on every engine thread; this is
// how the lake's data files are written (issue 11: 1.9× → ~1.1× DuckDB alone, see docs/benchmarks.md).
//
// schema says what the files hold, exactly: its columns in its order, each of its Arrow type (as Iceberg maps
// its types to Arrow: timestamps in microseconds, decimals, lists, structs, maps, uuid) and each field, nested
// ones included, with its Parquet field id in the metadata key "PARQUET:field_id". rdr's columns are matched
// to schema's by name and cast to schema's types; schema columns rdr lacks are written as nulls; rdr columns
// schema lacks are an error (ErrInvalid). A type DuckDB cannot write exactly (fixed-length binary, an unknown
// Arrow extension) is an error matching ErrUnsupported, returned before rdr is read.
//
// When rdr is a *FileReader nothing of which has been read, the file is copied by DuckDB from the source file
// to Parquet without passing through Go, with the same checks (malformed rows, --max-bad-rows) as reading it:
// the reader then ends as if it had been read (Next returns false; BadRows and Rows are complete). Likewise a
// Result of QueryDeferred nothing of which has been read is copied by its own database (see QueryDeferred).
// rdr may wrap either in readers with an Unwrap() array.RecordReader method, by which a wrapper promises that
// its rows are exactly the wrapped reader's, with the same column names and types.
//
// rdr's rows are read to the end; an error it reports after its last batch fails the write. On any error no
// file written by this call remains. Files are written in a scratch directory below dir (see package scratch:
// a killed write's is removed by the next write into dir) and moved into dir only once complete. WriteParquet does not close or release rdr.
func (e *Engine) WriteParquet(ctx context.Context, rdr array.RecordReader, dir string, schema *arrow.Schema) ([]string, error) {
	if rdr == nil || schema == nil || schema.NumFields() == 0 {
		return nil, fmt.Errorf("engine: write parquet: no data or no columns: %w", ErrInvalid)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	switch src := innermost(rdr).(type) {
	case *FileReader:
		if src.copyable() {
			return src.copyParquet(ctx, abs, schema)
		}
	case *Result:
		files, err := src.copyParquet(ctx, abs, schema)
		if !errors.Is(err, errNotCopied) {
			return files, err
		}
	}
	plan, err := planParquet(rdr.Schema(), schema)
	if err != nil {
		return nil, err
	}
	// In dir, so that the files are renamed into it; a killed write's scratch is removed by the next one.
	scratchDir, done, err := scratch.MkdirTemp(abs, "write-")
	if err != nil {
		return nil, fmt.Errorf("engine: write parquet into %s: %w (is the directory there and writable?)", dir, err)
	}
	defer done()
	in, err := e.sealed(ctx, writeSetup, nil, []string{scratchDir + string(filepath.Separator)})
	if err != nil {
		return nil, err
	}
	defer e.retire(in)
	release, err := in.registerArrow(ctx, rdr, "strata_input")
	if err != nil {
		return nil, err
	}
	defer release()
	out := filepath.Join(scratchDir, "out")
	rows, files, err := in.copyParquet(ctx, plan.copyWith(sqlIdent("strata_input"), out, "ROW_GROUP_SIZE_BYTES "+sqlString(writeRowGroupBytes)+", "))
	if err != nil {
		return nil, fmt.Errorf("engine: write parquet: %w", err)
	}
	return moveFiles(files, rows, abs)
}

// parquetPlan is the SELECT and the COPY options that turn a source into a table's data files.
type parquetPlan struct {
	cols     []string // select list: one CAST per target column
	fieldIDs string   // the FIELD_IDS option
	codec    string   // the COMPRESSION option
}

// codecMetadataKey is the target schema's metadata key naming the Parquet codec the lake asks of the files
// (lake.FileCodecKey: Iceberg's write.parquet.compression-codec), absent for zstd.
const codecMetadataKey = "write.parquet.compression-codec"

// writeCodecs are the codecs a target schema may ask for.
var writeCodecs = map[string]bool{"zstd": true, "snappy": true, "uncompressed": true}

// planParquet matches the source's columns to the target schema's.
func planParquet(src, target *arrow.Schema) (*parquetPlan, error) {
	have := map[string]bool{}
	for _, f := range src.Fields() {
		have[f.Name] = true
	}
	p := &parquetPlan{codec: "zstd"}
	if c, ok := target.Metadata().GetValue(codecMetadataKey); ok {
		if !writeCodecs[c] {
			return nil, fmt.Errorf("engine: write parquet: codec %q: use zstd, snappy or uncompressed: %w", c, ErrInvalid)
		}
		p.codec = c
	}
	ids := make([]string, target.NumFields())
	for i, f := range target.Fields() {
		typ, err := writeType(f.Type)
		if err != nil {
			return nil, fmt.Errorf("engine: column %q: %w", f.Name, err)
		}
		ids[i], err = fieldIDsOf(f)
		if err != nil {
			return nil, err
		}
		from := "NULL"
		if have[f.Name] {
			from = sqlIdent(f.Name)
			delete(have, f.Name)
		}
		p.cols = append(p.cols, fmt.Sprintf("CAST(%s AS %s) AS %s", from, typ, sqlIdent(f.Name)))
	}
	for _, f := range src.Fields() {
		if have[f.Name] {
			return nil, fmt.Errorf("engine: write parquet: the data's column %q is not one of the table's columns: %w", f.Name, ErrInvalid)
		}
	}
	p.fieldIDs = "{" + strings.Join(ids, ", ") + "}"
	return p, nil
}

// copySQL is the COPY statement that writes from (a view or a parenthesised SELECT) into the directory out.
// The order of rows is not kept (a lake table has none), which lets every thread write its own row groups.
func (p *parquetPlan) copySQL(from, out string) string { return p.copyWith(from, out, "") }

// copyWith is copySQL with more COPY options (each followed by ", ").
func (p *parquetPlan) copyWith(from, out, options string) string {
	return fmt.Sprintf("COPY (SELECT %s FROM %s) TO %s (FORMAT parquet, COMPRESSION %s, FIELD_IDS %s, "+
		"ROW_GROUP_SIZE %d, %sFILE_SIZE_BYTES '256MB', FILENAME_PATTERN 'data-{uuid}', PRESERVE_ORDER false, RETURN_FILES true)",
		strings.Join(p.cols, ", "), from, sqlString(out), p.codec, p.fieldIDs, writeRowGroupRows, options)
}

// fieldIDsOf renders f's entry of the FIELD_IDS option: its id, and its children's ids for nested types.
func fieldIDsOf(f arrow.Field) (string, error) {
	id, err := fieldID(f)
	if err != nil {
		return "", err
	}
	var kids []arrow.Field
	switch t := f.Type.(type) {
	case *arrow.ListType:
		kids = []arrow.Field{renamed(t.ElemField(), "element")}
	case *arrow.MapType:
		kids = []arrow.Field{renamed(t.KeyField(), "key"), renamed(t.ItemField(), "value")}
	case *arrow.StructType:
		kids = t.Fields()
	}
	if len(kids) == 0 {
		return sqlString(f.Name) + ": " + id, nil
	}
	parts := []string{"__duckdb_field_id: " + id}
	for _, k := range kids {
		s, err := fieldIDsOf(k)
		if err != nil {
			return "", err
		}
		parts = append(parts, s)
	}
	return sqlString(f.Name) + ": {" + strings.Join(parts, ", ") + "}", nil
}

func renamed(f arrow.Field, name string) arrow.Field {
	f.Name = name
	return f
}

func fieldID(f arrow.Field) (string, error) {
	v, ok := f.Metadata.GetValue(fieldIDKey)
	if !ok {
		return "", fmt.Errorf("engine: write parquet: field %q has no field id (%s): %w", f.Name, fieldIDKey, ErrInvalid)
	}
	if _, err := strconv.Atoi(v); err != nil {
		return "", fmt.Errorf("engine: write parquet: field %q: field id %q is not a number: %w", f.Name, v, ErrInvalid)
	}
	return v, nil
}

// writeType is the DuckDB type whose Parquet form is exactly the Arrow type t as Iceberg maps its types
// (uuid: FIXED_LEN_BYTE_ARRAY(16) with the UUID logical type; timestamps: INT64 microseconds, adjusted to UTC
// for timestamptz; decimals: INT32/INT64/FIXED by precision).
func writeType(t arrow.DataType) (string, error) {
	switch t := t.(type) {
	case arrow.ExtensionType:
		if t.ExtensionName() == "arrow.uuid" {
			return "UUID", nil
		}
		return "", fmt.Errorf("extension type %s cannot be written by DuckDB: %w", t.ExtensionName(), ErrUnsupported)
	case *arrow.FixedSizeBinaryType, *arrow.NullType:
		return "", fmt.Errorf("type %s cannot be written by DuckDB: %w", t, ErrUnsupported)
	case *arrow.TimestampType:
		if t.Unit == arrow.Nanosecond {
			if t.TimeZone != "" { // DuckDB has no nanosecond timestamp with time zone
				return "", fmt.Errorf("type %s cannot be written by DuckDB: %w", t, ErrUnsupported)
			}
			return "TIMESTAMP_NS", nil
		}
	case *arrow.ListType:
		elem, err := writeType(t.Elem())
		return elem + "[]", err
	case *arrow.MapType:
		k, err := writeType(t.KeyType())
		if err != nil {
			return "", err
		}
		v, err := writeType(t.ItemType())
		return "MAP(" + k + ", " + v + ")", err
	case *arrow.StructType:
		fields := make([]string, t.NumFields())
		for i, f := range t.Fields() {
			ft, err := writeType(f.Type)
			if err != nil {
				return "", fmt.Errorf("field %q: %w", f.Name, err)
			}
			fields[i] = sqlIdent(f.Name) + " " + ft
		}
		return "STRUCT(" + strings.Join(fields, ", ") + ")", nil
	}
	typ, _, err := lakeType(t)
	return typ, err
}

// copyParquet runs a COPY ... RETURN_FILES statement and returns the rows and files it wrote.
func (in *instance) copyParquet(ctx context.Context, sql string) (int64, []string, error) {
	ps, err := in.prepareLast(ctx, sql)
	if err != nil {
		return 0, nil, err
	}
	return in.runCopy(ctx, ps)
}

// runCopy runs a prepared COPY ... RETURN_FILES statement (taking ownership of it) and returns the rows and
// files it wrote.
func (in *instance) runCopy(ctx context.Context, ps duckdb.PreparedStatement) (int64, []string, error) {
	s, err := in.startStream(ctx, ps)
	if err != nil {
		return 0, nil, err
	}
	defer s.release()
	var rows int64
	var files []string
	for s.next() {
		count, ok1 := s.cur.Column(0).(*array.Int64)
		list, ok2 := s.cur.Column(1).(*array.List)
		if !ok1 || !ok2 {
			return 0, nil, fmt.Errorf("engine: COPY returned %s, want (Count BIGINT, Files VARCHAR[])", s.cur.Schema())
		}
		names, ok := list.ListValues().(*array.String)
		if !ok {
			return 0, nil, fmt.Errorf("engine: COPY returned files as %s", list.ListValues().DataType())
		}
		for i := 0; i < int(s.cur.NumRows()); i++ {
			rows += count.Value(i)
		}
		for i := 0; i < names.Len(); i++ {
			files = append(files, strings.Clone(names.Value(i)))
		}
	}
	return rows, files, s.err
}

// moveFiles moves the files a COPY wrote into dir (renaming; copying when dir is on another file system) and
// returns their new paths. A COPY of zero rows still writes one empty file: it is dropped. On error, the files
// already moved are removed again.
func moveFiles(files []string, rows int64, dir string) ([]string, error) {
	if rows == 0 {
		return nil, nil
	}
	var out []string
	for _, f := range files {
		dst := filepath.Join(dir, filepath.Base(f))
		if err := moveFile(f, dst); err != nil {
			for _, done := range out {
				_ = os.Remove(done)
			}
			return nil, fmt.Errorf("engine: write parquet: move %s into %s: %w", filepath.Base(f), dir, err)
		}
		out = append(out, dst)
	}
	return out, nil
}

func moveFile(src, dst string) error {
	err := os.Rename(src, dst)
	if !errors.Is(err, syscall.EXDEV) {
		return err
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		_ = os.Remove(dst)
		return err
	}
	if err := out.Close(); err != nil {
		_ = os.Remove(dst)
		return err
	}
	return os.Remove(src)
}

// copyable reports whether nothing has been read from the reader yet, so that its source can be copied whole.
func (r *FileReader) copyable() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return !r.closed && r.query != "" && r.s.live && r.s.cur == nil && !r.s.done && r.s.err == nil && r.s.rows.Load() == 0
}

// copyParquet is WriteParquet for a file being imported: DuckDB copies the reader's query to Parquet in the
// reader's own database (sandboxed to the input file and its scratch directory, where the files are written
// before they are moved into dir), then runs the checks a read runs at its end. The reader ends as if read.
func (r *FileReader) copyParquet(ctx context.Context, dir string, schema *arrow.Schema) ([]string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.s
	plan, err := planParquet(s.schema, schema)
	if err != nil {
		return nil, err
	}
	scratch, err := os.MkdirTemp(r.in.tmpDir, "write-")
	if err != nil {
		return nil, fmt.Errorf("engine: write parquet: %w", err)
	}
	defer os.RemoveAll(scratch)
	s.release() // the streaming result has produced nothing; the COPY runs the same query instead
	stop := r.in.watchProgress(&s.rows)
	rows, files, err := r.in.copyParquet(ctx, plan.copySQL("("+r.query+")", filepath.Join(scratch, "out")))
	stop()
	if err == nil && s.atEnd != nil {
		err = s.atEnd()
	} else if err != nil && s.explain != nil && ctx.Err() == nil {
		err = s.explain(err)
	}
	if err != nil {
		s.fail(ctxErr(ctx, err))
		return nil, s.err
	}
	s.rows.Store(rows)
	s.done = true
	return moveFiles(files, rows, dir)
}

// watchProgress stores the rows DuckDB reports as processed by the running statement into rows, every 100 ms,
// so that Rows reports progress while a COPY runs (DuckDB tracks it when enable_progress_bar is on). The
// returned stop ends the watch and waits for it.
func (in *instance) watchProgress(rows *atomic.Int64) (stop func()) {
	done, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				p := duckdb.QueryProgress(in.conn)
				if pct, n, _ := duckdb.QueryProgressTypeMembers(&p); pct >= 0 && int64(n) > rows.Load() {
					rows.Store(int64(n))
				}
			}
		}
	}()
	return func() { close(done); <-finished }
}
