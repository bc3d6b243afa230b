//go:build duckdb_arrow

package files

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/strata-data/strata/errs"
	"github.com/strata-data/strata/rowfmt"
)

// Store is where a files target puts its files: a local folder or a bucket prefix.
type Store interface {
	// Create starts the file name (a slash-separated path below the store's root). What is written becomes
	// visible under name only when Commit returns; Abort (or a crash) leaves nothing under name.
	Create(ctx context.Context, name string) (Upload, error)
	// Remove deletes a file; a missing file is not an error.
	Remove(ctx context.Context, name string) error
	// List returns every file below the root (slash-separated paths relative to it).
	List(ctx context.Context) ([]string, error)
}

// Upload is one file being written.
type Upload interface {
	io.Writer
	Commit() error
	Abort()
}

// TargetOptions configure a files target write.
type TargetOptions struct {
	Format      rowfmt.Format // csv, jsonl or parquet
	MaxFileSize int64         // start a new file once a file holds this many bytes (0 = 256 MiB)
	PartitionBy []string      // hive partitioning: name=value folders, the columns left out of the files
	Prefix      string        // file name prefix, unique per write (the run id)
	Manifest    bool          // commit a manifest of the write (ManifestName(Prefix)) after its last data file
	Overwrite   bool          // remove the store's other data files once the new ones are committed
	// Parquet, if set, encodes Parquet files (the engine: DuckDB on every core) when it can write the rows'
	// types exactly; otherwise, and when nil, rowfmt's arrow-go writer does.
	Parquet ParquetWriter
}

// ParquetWriter writes Parquet files; *engine.Engine is one. Contract (engine.WriteParquet's): CanWrite reports
// whether WriteParquet writes columns of schema's types exactly (schema's fields carry Parquet field ids in
// the metadata key "PARQUET:field_id"); WriteParquet reads rdr to the end and writes its rows as new zstd
// files in dir, an existing local directory, returning their paths (none for no rows); on error no file
// remains. It does not release rdr.
type ParquetWriter interface {
	CanWrite(schema *arrow.Schema) bool
	WriteParquet(ctx context.Context, rdr array.RecordReader, dir string, schema *arrow.Schema) ([]string, error)
}

// TargetResult is what a files target write produced.
type TargetResult struct {
	Files []string `json:"files"`
	Rows  int64    `json:"rows"`
	Bytes int64    `json:"bytes"`
}

// maxOpenFiles bounds the partitions written at once; the least recently used file is finished to open another.
const maxOpenFiles = 32

// WriteTarget writes rdr's rows as files of opts.Format into store: split by size, optionally partitioned.
// A file is committed (appears under its final name) when it is complete: when it reached MaxFileSize, or at
// the end. On error every file this write committed is removed, so a failed write leaves the store as it was;
// a killed process can leave the complete files it committed so far, never a partial file under a data name.
func WriteTarget(ctx context.Context, store Store, rdr array.RecordReader, opts TargetOptions) (*TargetResult, error) {
	if opts.MaxFileSize <= 0 {
		opts.MaxFileSize = 256 << 20
	}
	w := &targetWriter{ctx: ctx, store: store, opts: opts, open: map[string]sink{}}
	if err := w.init(rdr.Schema()); err != nil {
		return nil, err
	}
	err := w.copy(rdr)
	if err == nil {
		err = w.finishAll()
	} else {
		w.abortAll()
	}
	if err != nil {
		for _, f := range w.res.Files {
			_ = store.Remove(context.WithoutCancel(ctx), f)
		}
		return nil, err
	}
	if opts.Manifest {
		if err := writeManifest(ctx, store, opts.Prefix, &w.res, opts.Overwrite); err != nil {
			for _, f := range w.res.Files {
				_ = store.Remove(context.WithoutCancel(ctx), f)
			}
			return nil, err
		}
	}
	if opts.Overwrite {
		if err := w.removeOthers(); err != nil {
			return &w.res, err
		}
	}
	return &w.res, nil
}

type targetWriter struct {
	ctx    context.Context
	store  Store
	opts   TargetOptions
	parts  []int         // indices of the partition columns
	keep   []int         // indices of the columns written to files
	schema *arrow.Schema // of the files
	ids    *arrow.Schema // schema with Parquet field ids, when opts.Parquet writes the files (else nil)
	open   map[string]sink
	order  []string // partitions by last use
	seq    int
	res    TargetResult
	// rowBytes is the Arrow size of a row of the last batch; doneRows and doneBytes are the rows and bytes of
	// the files finished so far: together they estimate a DuckDB-written file's size while it is written.
	rowBytes            float64
	doneRows, doneBytes int64
	resLock             sync.Mutex
}

func (w *targetWriter) init(sc *arrow.Schema) error {
	switch w.opts.Format {
	case rowfmt.CSV, rowfmt.JSONL, rowfmt.Parquet:
	default:
		return errs.E(errs.Invalid, "files target format %q: use csv, jsonl or parquet", w.opts.Format)
	}
	isPart := map[int]bool{}
	for _, p := range w.opts.PartitionBy {
		idx := sc.FieldIndices(p)
		if len(idx) == 0 {
			return errs.E(errs.Invalid, "files target: partition_by column %q is not among the rows' columns", p)
		}
		w.parts = append(w.parts, idx[0])
		isPart[idx[0]] = true
	}
	var fields []arrow.Field
	for i, f := range sc.Fields() {
		if !isPart[i] {
			w.keep = append(w.keep, i)
			fields = append(fields, f)
		}
	}
	if len(fields) == 0 {
		return errs.E(errs.Invalid, "files target: every column is a partition column; the files would hold nothing")
	}
	w.schema = arrow.NewSchema(fields, nil)
	if w.opts.Format == rowfmt.Parquet && w.opts.Parquet != nil {
		if ids, ok := withFieldIDs(w.schema); ok && w.opts.Parquet.CanWrite(ids) {
			w.ids = ids
		}
	}
	return nil
}

// copy deals every batch's rows to the file of their partition, in runs of rows with the same partition.
func (w *targetWriter) copy(rdr array.RecordReader) error {
	for rdr.Next() {
		rb := rdr.RecordBatch()
		n := int(rb.NumRows())
		if n > 0 {
			w.rowBytes = float64(arrowSize(rb)) / float64(n)
		}
		for start := 0; start < n; {
			key := w.partitionOf(rb, start)
			end := start + 1
			for end < n && w.partitionOf(rb, end) == key {
				end++
			}
			if err := w.send(key, rb, start, end); err != nil {
				return err
			}
			start = end
		}
	}
	return rdr.Err()
}

// partitionOf is the hive folder of row i: col=value/... (NULL as __HIVE_DEFAULT_PARTITION__).
func (w *targetWriter) partitionOf(rb arrow.RecordBatch, i int) string {
	if len(w.parts) == 0 {
		return ""
	}
	var b strings.Builder
	for _, c := range w.parts {
		col := rb.Column(c)
		v := "__HIVE_DEFAULT_PARTITION__"
		if !col.IsNull(i) {
			v = url.PathEscape(col.ValueStr(i))
		}
		fmt.Fprintf(&b, "%s=%s/", url.PathEscape(rb.Schema().Field(c).Name), v)
	}
	return b.String()
}

func (w *targetWriter) send(key string, rb arrow.RecordBatch, start, end int) error {
	cols := make([]arrow.Array, len(w.keep))
	for i, c := range w.keep {
		cols[i] = array.NewSlice(rb.Column(c), int64(start), int64(end))
	}
	part := array.NewRecordBatch(w.schema, cols, int64(end-start))
	for _, c := range cols {
		c.Release()
	}
	f, err := w.fileFor(key)
	if err != nil {
		part.Release()
		return err
	}
	if err := f.send(w.ctx, part, int64(float64(end-start)*w.rowBytes)); err != nil {
		return err
	}
	w.addRows(int64(end - start))
	if f.size(w.bytesPerRow()) >= w.opts.MaxFileSize {
		return w.finish(key)
	}
	return nil
}

func (w *targetWriter) addRows(n int64) {
	w.resLock.Lock()
	w.res.Rows += n
	w.resLock.Unlock()
}

// fileFor returns the open file of a partition, opening one (and finishing the least recently used one when
// too many are open).
func (w *targetWriter) fileFor(key string) (sink, error) {
	w.touch(key)
	if f, ok := w.open[key]; ok {
		return f, nil
	}
	if len(w.open) >= maxOpenFiles {
		if err := w.finish(w.order[0]); err != nil {
			return nil, err
		}
	}
	name := w.nextName(key)
	var f sink
	if w.ids != nil {
		var err error
		if f, err = startDuckFile(w, key, name); err != nil {
			return nil, err
		}
	} else {
		up, err := w.store.Create(w.ctx, name)
		if err != nil {
			return nil, err
		}
		f = startFile(name, up, w.schema, w.opts.Format)
	}
	w.open[key] = f
	return f, nil
}

// nextName is the name of the next data file of a partition.
func (w *targetWriter) nextName(key string) string {
	name := fmt.Sprintf("%spart-%s-%05d.%s", key, w.opts.Prefix, w.seq, extension(w.opts.Format))
	w.seq++
	return name
}

// bytesPerRow is what a row took in the files finished so far (0 before the first).
func (w *targetWriter) bytesPerRow() float64 {
	if w.doneRows == 0 {
		return 0
	}
	return float64(w.doneBytes) / float64(w.doneRows)
}

func (w *targetWriter) touch(key string) {
	for i, k := range w.order {
		if k == key {
			w.order = append(w.order[:i], w.order[i+1:]...)
			break
		}
	}
	w.order = append(w.order, key)
}

// finish completes and commits the open file of a partition.
func (w *targetWriter) finish(key string) error {
	f := w.open[key]
	delete(w.open, key)
	for i, k := range w.order {
		if k == key {
			w.order = append(w.order[:i], w.order[i+1:]...)
			break
		}
	}
	done, err := f.finish()
	if err != nil {
		return fmt.Errorf("files target: %s: %w", f.fileName(), err)
	}
	for _, d := range done {
		w.res.Files = append(w.res.Files, d.name)
		w.res.Bytes += d.bytes
		w.doneBytes += d.bytes
	}
	w.doneRows += f.rowCount()
	return nil
}

func (w *targetWriter) finishAll() error {
	for len(w.order) > 0 {
		if err := w.finish(w.order[0]); err != nil {
			w.abortAll()
			return err
		}
	}
	return nil
}

func (w *targetWriter) abortAll() {
	for k, f := range w.open {
		f.abort()
		delete(w.open, k)
	}
	w.order = nil
}

// removeOthers deletes the store's data files and manifests that this write did not produce.
func (w *targetWriter) removeOthers() error {
	all, err := w.store.List(w.ctx)
	if err != nil {
		return err
	}
	mine := map[string]bool{ManifestName(w.opts.Prefix): true}
	for _, f := range w.res.Files {
		mine[f] = true
	}
	for _, f := range all {
		if !mine[f] && (dataFile(f) || isManifest(f)) {
			if err := w.store.Remove(w.ctx, f); err != nil {
				return err
			}
		}
	}
	return nil
}

func extension(f rowfmt.Format) string {
	if f == rowfmt.JSONL {
		return "jsonl"
	}
	return string(f)
}

// sink is the open file of a partition: its rows are written in a goroutine of its own, fed batches through
// a channel. Its methods are called by the target writer's goroutine only.
type sink interface {
	// send hands rb (arrowBytes of Arrow data) to the writer, which releases it.
	send(ctx context.Context, rb arrow.RecordBatch, arrowBytes int64) error
	// size is the bytes the file holds so far, or an estimate of them (bytesPerRow: of the files finished so
	// far, 0 when none is).
	size(bytesPerRow float64) int64
	// finish completes the file and commits it: one file, or more when the writer split it.
	finish() ([]written, error)
	abort()
	fileName() string
	rowCount() int64
}

// written is a committed data file.
type written struct {
	name  string
	bytes int64
}

// pipe is the channel of batches from the target writer to a file's goroutine, which reports its end on done.
type pipe struct {
	name string
	ch   chan arrow.RecordBatch
	done chan error
	rows int64
}

func newPipe(name string) pipe {
	return pipe{name: name, ch: make(chan arrow.RecordBatch, 1), done: make(chan error, 1)}
}

func (p *pipe) send(ctx context.Context, rb arrow.RecordBatch) error {
	select {
	case p.ch <- rb:
		p.rows += rb.NumRows()
		return nil
	case err := <-p.done: // the writer failed
		rb.Release()
		p.done <- err
		return fmt.Errorf("files target: %s: %w", p.name, err)
	case <-ctx.Done():
		rb.Release()
		return ctx.Err()
	}
}

// end closes the channel and waits for the goroutine.
func (p *pipe) end() error {
	close(p.ch)
	return <-p.done
}

func (p *pipe) fileName() string { return p.name }
func (p *pipe) rowCount() int64  { return p.rows }

// rowFile is one file being written by rowfmt.Write straight into its upload.
type rowFile struct {
	pipe
	up    Upload
	bytes atomic.Int64
}

func startFile(name string, up Upload, sc *arrow.Schema, f rowfmt.Format) *rowFile {
	o := &rowFile{pipe: newPipe(name), up: up}
	go func() {
		rdr := &chanReader{schema: sc, ch: o.ch}
		_, err := rowfmt.Write(countWriter{w: up, n: &o.bytes}, rdr, f, rowfmt.Options{})
		rdr.drain()
		o.done <- err
	}()
	return o
}

func (o *rowFile) send(ctx context.Context, rb arrow.RecordBatch, _ int64) error {
	return o.pipe.send(ctx, rb)
}
func (o *rowFile) size(float64) int64 { return o.bytes.Load() }

func (o *rowFile) finish() ([]written, error) {
	if err := o.end(); err != nil {
		o.up.Abort()
		return nil, err
	}
	if err := o.up.Commit(); err != nil {
		return nil, err
	}
	return []written{{o.name, o.bytes.Load()}}, nil
}

func (o *rowFile) abort() {
	_ = o.end()
	o.up.Abort()
}

type countWriter struct {
	w io.Writer
	n *atomic.Int64
}

func (c countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n.Add(int64(n))
	return n, err
}

// chanReader is an array.RecordReader over a channel of batches (each released after use).
type chanReader struct {
	schema *arrow.Schema
	ch     chan arrow.RecordBatch
	cur    arrow.RecordBatch
}

func (r *chanReader) Schema() *arrow.Schema { return r.schema }
func (r *chanReader) Next() bool {
	if r.cur != nil {
		r.cur.Release()
		r.cur = nil
	}
	rb, ok := <-r.ch
	if !ok {
		return false
	}
	r.cur = rb
	return true
}
func (r *chanReader) RecordBatch() arrow.RecordBatch { return r.cur }
func (r *chanReader) Record() arrow.RecordBatch      { return r.cur }
func (r *chanReader) Err() error                     { return nil }
func (r *chanReader) Retain()                        {}
func (r *chanReader) Release()                       {}

// drain releases what is left after the writer stopped.
func (r *chanReader) drain() {
	if r.cur != nil {
		r.cur.Release()
		r.cur = nil
	}
	for rb := range r.ch {
		rb.Release()
	}
}

// Dir is a local folder as a Store. Files are written beside their final name (a dot-prefixed ".inprogress"
// name no source reads) and renamed into place on Commit.
type Dir string

// Create starts a file below the folder, creating sub-folders.
func (d Dir) Create(_ context.Context, name string) (Upload, error) {
	p := filepath.Join(string(d), filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return nil, err
	}
	tmp := filepath.Join(filepath.Dir(p), "."+filepath.Base(p)+".inprogress")
	f, err := os.Create(tmp)
	if err != nil {
		return nil, err
	}
	return &localUpload{File: f, final: p}, nil
}

// Remove deletes a file below the folder.
func (d Dir) Remove(_ context.Context, name string) error {
	err := os.Remove(filepath.Join(string(d), filepath.FromSlash(name)))
	if os.IsNotExist(err) {
		return nil
	}
	return err
}

// List returns every file below the folder, except unfinished ones.
func (d Dir) List(_ context.Context) ([]string, error) {
	var out []string
	err := filepath.WalkDir(string(d), func(p string, e os.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) {
				return nil
			}
			return err
		}
		if e.IsDir() && p != string(d) && strings.HasPrefix(e.Name(), ".") {
			return filepath.SkipDir // scratch, not data
		}
		if !e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			rel, _ := filepath.Rel(string(d), p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	return out, err
}

// Open reads a file below the folder.
func (d Dir) Open(_ context.Context, name string) (io.ReadCloser, error) {
	return os.Open(filepath.Join(string(d), filepath.FromSlash(name)))
}

type localUpload struct {
	*os.File
	final string
}

func (u *localUpload) Commit() error {
	if err := u.File.Sync(); err != nil {
		u.Abort()
		return err
	}
	if err := u.File.Close(); err != nil {
		_ = os.Remove(u.File.Name())
		return err
	}
	return os.Rename(u.File.Name(), u.final)
}

func (u *localUpload) Abort() {
	_ = u.File.Close()
	_ = os.Remove(u.File.Name())
}
