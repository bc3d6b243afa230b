package lake

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/metadata"
	"github.com/apache/iceberg-go"
	icebergio "github.com/apache/iceberg-go/io"
	"github.com/apache/iceberg-go/table"

	"github.com/strata-data/strata/scratch"
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
// "PARQUET:field_id" metadata. The schema's own metadata names the compression the table asks for under
// FileCodecKey ("zstd", "snappy" or "uncompressed"); a FileWriter that cannot honour it writes zstd. rdr's
// columns are matched to schema's by name; schema columns rdr lacks are nulls. An error rdr reports after its last batch fails the write. On error no file it wrote remains, and the
// write fails. WriteParquet does not close or release rdr. The lake may pass rdr wrapped in a reader with an
// Unwrap() array.RecordReader method, which returns the caller's reader, whose rows the wrapper delivers
// unchanged (same names and types; only field ids stripped).
type FileWriter interface {
	CanWrite(schema *arrow.Schema) bool
	WriteParquet(ctx context.Context, rdr array.RecordReader, dir string, schema *arrow.Schema) ([]string, error)
}

// writeExternal writes the data files with w's FileWriter and turns them into data files of t (the staged
// table, with the evolved schema). ok is false when the FileWriter cannot write t's types: then nothing was
// read from rdr and the caller writes the files itself.
//
// Where t's data location is not on the local disk (an object store, reached through the table's FileIO), the
// FileWriter writes into a local scratch directory and each file is uploaded to the data location once
// complete; its statistics are read from the local copy, which is then removed.
func (w *writer) writeExternal(ctx context.Context, t *table.Table, rdr array.RecordReader) (ok bool, err error) {
	sc, err := table.SchemaToArrowSchema(t.Schema(), nil, true, false)
	if err != nil {
		return false, fmt.Errorf("write to %s in %s: %w", w.id, w.env, err)
	}
	if !w.fw.CanWrite(sc) {
		return false, nil
	}
	sc = withCodec(sc, w.codec.codec)
	loc := dataLocation(t)
	dir, local := localPath(loc)
	if !local {
		// below the process's scratch folder, so that the next process removes it when this one is killed
		var done func()
		if dir, done, err = scratch.MkdirTemp(os.TempDir(), "strata-upload-"); err != nil {
			return false, fmt.Errorf("write to %s in %s: %w", w.id, w.env, err)
		}
		defer done()
		if w.remote, err = writeIO(ctx, t); err != nil {
			return false, fmt.Errorf("write to %s in %s: %w", w.id, w.env, err)
		}
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return false, fmt.Errorf("write to %s in %s: %w", w.id, w.env, err)
	}
	paths, err := w.fw.WriteParquet(ctx, w.input(rdr), dir, sc)
	if err != nil {
		return true, fmt.Errorf("write to %s in %s: %w", w.id, w.env, err)
	}
	for _, p := range paths {
		df, err := w.dataFile(t, p, loc, local)
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

// dataFile describes the file the FileWriter wrote at path as a data file of t; a file written for a remote
// data location loc is uploaded there first.
func (w *writer) dataFile(t *table.Table, path, loc string, local bool) (iceberg.DataFile, error) {
	if local {
		df, md, err := dataFileOf(t, path, fileURL(path))
		if err == nil {
			if w.footers == nil {
				w.footers = map[string]*metadata.FileMetaData{}
			}
			w.footers[path] = md // chooseNextCodec reads the column chunks' sizes from it
		}
		return df, err
	}
	dst := loc + "/" + filepath.Base(path)
	if err := upload(w.remote, path, dst); err != nil {
		return nil, fmt.Errorf("upload to %s: %w", dst, err)
	}
	df, _, err := dataFileOf(t, path, dst)
	if err != nil {
		_ = w.remote.Remove(dst)
		return nil, err
	}
	return df, nil
}

// writeIO is t's FileIO, which must be able to write.
func writeIO(ctx context.Context, t *table.Table) (icebergio.WriteFileIO, error) {
	fsys, err := t.FS(ctx)
	if err != nil {
		return nil, err
	}
	wfs, ok := fsys.(icebergio.WriteFileIO)
	if !ok {
		return nil, fmt.Errorf("%w: the file system of %s cannot write", ErrInvalid, t.Location())
	}
	return wfs, nil
}

// upload copies the local file src to dst through fsys.
func upload(fsys icebergio.WriteFileIO, src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := fsys.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		_ = out.Close()
		_ = fsys.Remove(dst)
		return err
	}
	if err := out.Close(); err != nil {
		_ = fsys.Remove(dst)
		return err
	}
	return nil
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

// Unwrap returns the reader whose rows r delivers unchanged (names and types equal, field ids aside), so that
// a FileWriter can copy a source it recognises (an engine query or file) without reading it.
func (r *rebound) Unwrap() array.RecordReader { return r.RecordReader }

// dataLocation is where t's new data files go (iceberg-go's default location provider's choice).
func dataLocation(t *table.Table) string {
	if loc, ok := t.Properties()["write.data.path"]; ok && loc != "" {
		return strings.TrimRight(loc, "/")
	}
	return strings.TrimRight(t.Location(), "/") + "/data"
}

// dataFileOf reads the footer of the local Parquet file at path and describes it as the data file of t at
// location (where the file is, or was uploaded), with the statistics t's metrics properties ask for. Columns
// are matched to t's schema by name path. It returns the footer too.
func dataFileOf(t *table.Table, path, location string) (iceberg.DataFile, *metadata.FileMetaData, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, nil, err
	}
	rd, err := file.OpenParquetFile(path, false)
	if err != nil {
		return nil, nil, err
	}
	md := rd.MetaData()
	if err := rd.Close(); err != nil {
		return nil, nil, err
	}
	if md == nil {
		return nil, nil, errors.New("no Parquet footer")
	}
	df, err := table.DataFileFromMetadata(table.DataFileArgs{
		Schema:        t.Schema(),
		Spec:          t.Spec(),
		Format:        iceberg.ParquetFile,
		Metadata:      md,
		FilePath:      location,
		FileSize:      st.Size(),
		Content:       iceberg.EntryContentData,
		SortOrderID:   t.SortOrder().OrderID(),
		Properties:    t.Properties(),
		FormatVersion: t.Metadata().Version(),
	})
	return df, md, err
}
