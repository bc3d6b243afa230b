package lake

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"
)

// FileWriter writes the rows of a Write as Parquet data files, which the lake then commits by reading their
// footers (row counts, column sizes, null counts, bounds). It is how a writer faster than the lake's own
// (arrow-go) encodes the data: envs passes the engine, whose DuckDB writes the files on every core.
//
// Contract: CanWrite reports whether WriteParquet can write files of schema exactly; when it cannot, the lake
// writes the files itself. WriteParquet reads rdr to the end and writes its rows into new files in dir (an
// existing local directory) and returns their paths, none for no rows. The files hold exactly schema's
// columns, in order, with schema's types as Iceberg maps them to Arrow (timestamps in microseconds, decimals,
// lists, ...) and, on every field including nested ones, the Parquet field id found in the field's
// "PARQUET:field_id" metadata. rdr's columns are matched to schema's by name; schema columns rdr lacks are
// nulls. An error rdr reports after its last batch fails the write. On error no file it wrote remains, and the
// write fails. WriteParquet does not close or release rdr.
type FileWriter interface {
	CanWrite(schema *arrow.Schema) bool
	WriteParquet(ctx context.Context, rdr array.RecordReader, dir string, schema *arrow.Schema) ([]string, error)
}

// writeExternal writes the data files with w's FileWriter and turns them into data files of t (the staged
// table, with the evolved schema). ok is false when the FileWriter cannot write t's types or t's data
// location is not local: then nothing was read from rdr and the caller writes the files itself.
func (w *writer) writeExternal(ctx context.Context, t *table.Table, rdr array.RecordReader) (ok bool, err error) {
	dir, local := localPath(dataLocation(t))
	if !local {
		return false, nil
	}
	sc, err := table.SchemaToArrowSchema(t.Schema(), nil, true, false)
	if err != nil {
		return false, fmt.Errorf("write to %s in %s: %w", w.id, w.env, err)
	}
	if !w.fw.CanWrite(sc) {
		return false, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return false, fmt.Errorf("write to %s in %s: %w", w.id, w.env, err)
	}
	paths, err := w.fw.WriteParquet(ctx, w.input(rdr), dir, sc)
	if err != nil {
		return true, fmt.Errorf("write to %s in %s: %w", w.id, w.env, err)
	}
	for _, p := range paths {
		df, err := dataFileOf(t, p)
		if err != nil {
			for _, q := range paths {
				removeLocal(q)
			}
			w.removeFiles()
			w.files = nil
			return true, fmt.Errorf("write to %s in %s: data file %s: %w", w.id, w.env, p, err)
		}
		w.files = append(w.files, df)
	}
	return true, nil
}

// input strips Parquet field ids from rdr's columns: data read from another Iceberg table carries that
// table's ids, and only the names say which column is which.
func (w *writer) input(rdr array.RecordReader) array.RecordReader {
	sc, strip := stripFieldIDs(rdr.Schema())
	if !strip {
		return rdr
	}
	return &rebound{RecordReader: rdr, sc: sc}
}

// rebound is a RecordReader whose batches are given another (equal but for metadata) schema.
type rebound struct {
	array.RecordReader
	sc  *arrow.Schema
	cur arrow.RecordBatch
}

func (r *rebound) Schema() *arrow.Schema { return r.sc }

func (r *rebound) Next() bool {
	if r.cur != nil {
		r.cur.Release()
		r.cur = nil
	}
	if !r.RecordReader.Next() {
		return false
	}
	rec := r.RecordReader.RecordBatch()
	r.cur = array.NewRecordBatch(r.sc, rec.Columns(), rec.NumRows())
	return true
}

func (r *rebound) RecordBatch() arrow.RecordBatch { return r.cur }

func (r *rebound) Record() arrow.RecordBatch { return r.cur }

// dataLocation is where t's new data files go (iceberg-go's default location provider's choice).
func dataLocation(t *table.Table) string {
	if loc, ok := t.Properties()["write.data.path"]; ok && loc != "" {
		return strings.TrimRight(loc, "/")
	}
	return strings.TrimRight(t.Location(), "/") + "/data"
}

// dataFileOf reads the footer of the Parquet file at path and describes it as a data file of t, with the
// statistics t's metrics properties ask for. Columns are matched to t's schema by name path.
func dataFileOf(t *table.Table, path string) (iceberg.DataFile, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	rd, err := file.OpenParquetFile(path, false)
	if err != nil {
		return nil, err
	}
	md := rd.MetaData()
	if err := rd.Close(); err != nil {
		return nil, err
	}
	if md == nil {
		return nil, errors.New("no Parquet footer")
	}
	return table.DataFileFromMetadata(table.DataFileArgs{
		Schema:        t.Schema(),
		Spec:          t.Spec(),
		Format:        iceberg.ParquetFile,
		Metadata:      md,
		FilePath:      fileURL(path),
		FileSize:      st.Size(),
		Content:       iceberg.EntryContentData,
		SortOrderID:   t.SortOrder().OrderID(),
		Properties:    t.Properties(),
		FormatVersion: t.Metadata().Version(),
	})
}
