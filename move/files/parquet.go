//go:build duckdb_arrow

package files

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"
	arrowext "github.com/apache/arrow-go/v18/arrow/extensions"

	"github.com/strata-data/strata/scratch"
)

// duckFile is one Parquet file being written by a ParquetWriter (DuckDB) into a local scratch directory; when
// finished it is uploaded to the store under its name. DuckDB buffers a row group before it writes, so the
// file's size while written is estimated: the rows sent times the bytes per row of the files this write
// finished, or a quarter of the rows' Arrow size before the first (zstd Parquet is typically smaller).
type duckFile struct {
	pipe
	w   *targetWriter
	key string // partition folder
	// removeScratch removes the scratch directory WriteParquet writes into (and this process's scratch
	// folder once empty)
	removeScratch func()
	paths         []string // what WriteParquet wrote, set before done
	arrowBytes    int64
}

func startDuckFile(w *targetWriter, key, name string) (*duckFile, error) {
	// A killed run's scratch is removed by the next process that makes scratch in the temp directory.
	dir, done, err := scratch.MkdirTemp(os.TempDir(), "strata-files-")
	if err != nil {
		return nil, fmt.Errorf("files target: %w", err)
	}
	d := &duckFile{pipe: newPipe(name), w: w, key: key, removeScratch: done}
	ctx, pw, sc, ids := w.ctx, w.opts.Parquet, w.schema, w.ids
	go func() {
		rdr := &chanReader{schema: sc, ch: d.ch}
		paths, err := pw.WriteParquet(ctx, rdr, dir, ids)
		rdr.drain()
		d.paths = paths
		d.done <- err
	}()
	return d, nil
}

func (d *duckFile) send(ctx context.Context, rb arrow.RecordBatch, arrowBytes int64) error {
	if err := d.pipe.send(ctx, rb); err != nil {
		return err
	}
	d.arrowBytes += arrowBytes
	return nil
}

func (d *duckFile) size(bytesPerRow float64) int64 {
	if bytesPerRow > 0 {
		return int64(float64(d.rows) * bytesPerRow)
	}
	return d.arrowBytes / 4
}

// finish waits for DuckDB and uploads its file (its files, should it have split one: each further file takes
// the partition's next name). On error nothing of this file stays in the store.
func (d *duckFile) finish() ([]written, error) {
	defer d.removeScratch()
	if err := d.end(); err != nil {
		return nil, err
	}
	var out []written
	for i, p := range d.paths {
		name := d.name
		if i > 0 {
			name = d.w.nextName(d.key)
		}
		n, err := d.upload(p, name)
		if err != nil {
			for _, f := range out {
				_ = d.w.store.Remove(context.WithoutCancel(d.w.ctx), f.name)
			}
			return nil, err
		}
		out = append(out, written{name, n})
	}
	return out, nil
}

func (d *duckFile) upload(path, name string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	up, err := d.w.store.Create(d.w.ctx, name)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(up, f)
	if err != nil {
		up.Abort()
		return 0, err
	}
	return n, up.Commit()
}

func (d *duckFile) abort() {
	_ = d.end()
	d.removeScratch()
}

// withFieldIDs is sc with a Parquet field id on every field, nested ones included, numbered depth first as
// the engine's writer needs them; ok is false for a type it does not number (the files are then written by
// rowfmt). Only types whose DuckDB form writes the same Parquet type as arrow-go would are taken, so the files
// do not depend on which writer wrote them.
func withFieldIDs(sc *arrow.Schema) (*arrow.Schema, bool) {
	next := 0
	fields := make([]arrow.Field, sc.NumFields())
	for i, f := range sc.Fields() {
		var ok bool
		if fields[i], ok = numbered(f, &next); !ok {
			return nil, false
		}
	}
	return arrow.NewSchema(fields, nil), true
}

func numbered(f arrow.Field, next *int) (arrow.Field, bool) {
	*next++
	f.Metadata = arrow.NewMetadata([]string{"PARQUET:field_id"}, []string{strconv.Itoa(*next)})
	switch t := f.Type.(type) {
	case *arrow.Int8Type, *arrow.Int16Type, *arrow.Int32Type, *arrow.Int64Type, *arrow.Float32Type, *arrow.Float64Type,
		*arrow.BooleanType, *arrow.StringType, *arrow.BinaryType, *arrow.Date32Type, *arrow.Decimal128Type:
		return f, true
	case *arrow.Time64Type:
		return f, t.Unit == arrow.Microsecond
	case *arrow.TimestampType:
		return f, t.Unit == arrow.Microsecond && (t.TimeZone == "" || t.TimeZone == "UTC") ||
			t.Unit == arrow.Nanosecond && t.TimeZone == ""
	case *arrowext.UUIDType:
		return f, true
	case *arrow.ListType:
		elem, ok := numbered(t.ElemField(), next)
		f.Type = arrow.ListOfField(elem)
		return f, ok
	case *arrow.StructType:
		kids := make([]arrow.Field, t.NumFields())
		for i, k := range t.Fields() {
			var ok bool
			if kids[i], ok = numbered(k, next); !ok {
				return f, false
			}
		}
		f.Type = arrow.StructOf(kids...)
		return f, true
	}
	return f, false
}

// arrowSize is the bytes of rb's buffers.
func arrowSize(rb arrow.RecordBatch) int64 {
	var n int64
	for _, c := range rb.Columns() {
		n += dataSize(c.Data())
	}
	return n
}

func dataSize(d arrow.ArrayData) int64 {
	var n int64
	for _, b := range d.Buffers() {
		if b != nil {
			n += int64(b.Len())
		}
	}
	for _, c := range d.Children() {
		n += dataSize(c)
	}
	return n
}
