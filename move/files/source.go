//go:build duckdb_arrow

// Package files is the movement toolkit's file connector. As a source it reads CSV, JSON-lines and Parquet
// files from local disk — one path, a glob or a folder — through engine.ReadFile, one file after another, as
// one stream of Arrow record batches.
package files

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/strata-data/strata/engine"
	"github.com/strata-data/strata/errs"
)

// extensions are the file names a folder source picks up.
var extensions = []string{".csv", ".tsv", ".json", ".jsonl", ".ndjson", ".parquet", ".csv.gz", ".json.gz", ".jsonl.gz", ".ndjson.gz"}

// Expand lists the files a path names: the file itself, the matches of a glob, or the data files directly
// inside a folder, sorted by name. Naming nothing is a NotFound error.
func Expand(path string) ([]string, error) {
	if strings.ContainsAny(path, "*?[") {
		m, err := filepath.Glob(path)
		if err != nil {
			return nil, errs.E(errs.Invalid, "files source: glob %q: %v", path, err)
		}
		if len(m) == 0 {
			return nil, errs.E(errs.NotFound, "files source: no file matches %q", path)
		}
		sort.Strings(m)
		return m, nil
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, errs.E(errs.NotFound, "files source: %s does not exist", path)
	}
	if !fi.IsDir() {
		return []string{path}, nil
	}
	ents, err := os.ReadDir(path)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		if !e.IsDir() && dataFile(e.Name()) {
			out = append(out, filepath.Join(path, e.Name()))
		}
	}
	if len(out) == 0 {
		return nil, errs.E(errs.NotFound, "files source: folder %s holds no .csv, .json, .jsonl or .parquet file", path)
	}
	return out, nil
}

// IsDataFile reports whether a file name has an extension a files source reads.
func IsDataFile(name string) bool { return dataFile(name) }

func dataFile(name string) bool {
	n := strings.ToLower(name)
	for _, e := range extensions {
		if strings.HasSuffix(n, e) {
			return true
		}
	}
	return false
}

// Reader streams the files of a source one after another. Every file must have the first file's columns and
// types. It implements array.RecordReader; Close closes the open file. Not safe for concurrent use.
type Reader struct {
	ctx    context.Context
	eng    *engine.Engine
	files  []string
	opts   engine.ReadOptions
	next   int
	cur    *engine.FileReader
	schema *arrow.Schema
	bad    []engine.BadRow
	err    error
	refs   int64
	fetch  Fetch
	done   func() // removes the current file's local copy
	local  string // the current file's local copy
	raw    map[string]map[int64]string
	after  func()
}

// Fetch makes a local copy of a source file that is not on local disk (an object in a bucket) and returns its
// path and a function that removes the copy.
type Fetch func(ctx context.Context, name string) (local string, cleanup func(), err error)

// Options are what a Reader needs beyond the engine's read options.
type Options struct {
	// Fetch, if set, makes the local copy of each file, one file at a time (names are then not local paths).
	Fetch Fetch
	// AfterFile, if set, is called after each file is opened (fault-injection tests).
	AfterFile func()
}

// Open expands path and opens its first file. opts.MaxBadRows bounds the malformed rows of all files together.
func Open(ctx context.Context, eng *engine.Engine, path string, opts engine.ReadOptions) (*Reader, error) {
	list, err := Expand(path)
	if err != nil {
		return nil, err
	}
	return OpenList(ctx, eng, list, opts, Options{})
}

// OpenList opens a source of the files named (in order), fetched with fo.Fetch when set.
func OpenList(ctx context.Context, eng *engine.Engine, names []string, opts engine.ReadOptions, fo Options) (*Reader, error) {
	r := &Reader{ctx: ctx, eng: eng, files: names, opts: opts, refs: 1, fetch: fo.Fetch, after: fo.AfterFile}
	if err := r.open(); err != nil {
		return nil, err
	}
	r.schema = r.cur.Schema()
	return r, nil
}

// Files returns the files the source reads.
func (r *Reader) Files() []string { return r.files }

func (r *Reader) open() error {
	o := r.opts
	o.MaxBadRows = r.opts.MaxBadRows - len(r.bad)
	if r.schema != nil && len(o.Columns) == 0 {
		o.TableTypes = firstFileTypes(r.schema, r.opts.TableTypes)
	}
	local := r.files[r.next]
	if r.fetch != nil {
		var err error
		if local, r.done, err = r.fetch(r.ctx, r.files[r.next]); err != nil {
			return err
		}
	}
	r.local = local
	fr, err := r.eng.ReadFile(r.ctx, local, o)
	if err != nil {
		r.cleanup()
		if r.fetch == nil {
			return err
		}
		return renamed(err, local, r.files[r.next])
	}
	r.next++
	if r.after != nil {
		r.after()
	}
	if r.schema != nil && !fr.Schema().Equal(r.schema) {
		_ = fr.Close()
		return errs.E(errs.BadData, "files source: %s has other columns or types than %s (%s vs %s): move files of one layout per job",
			r.files[r.next-1], r.files[0], fieldList(fr.Schema()), fieldList(r.schema))
	}
	r.cur = fr
	return nil
}

// firstFileTypes reads later files with the first file's types, so that a value that does not fit is a
// malformed row rather than a reason to infer another type; table types (given) win.
func firstFileTypes(first *arrow.Schema, given map[string]string) map[string]string {
	out := map[string]string{}
	for _, f := range first.Fields() {
		if t := duckType(f.Type); t != "" {
			out[f.Name] = t
		}
	}
	for k, v := range given {
		out[k] = v
	}
	return out
}

func duckType(t arrow.DataType) string {
	switch t := t.(type) {
	case *arrow.Int32Type:
		return "INTEGER"
	case *arrow.Int64Type:
		return "BIGINT"
	case *arrow.Float32Type:
		return "FLOAT"
	case *arrow.Float64Type:
		return "DOUBLE"
	case *arrow.BooleanType:
		return "BOOLEAN"
	case *arrow.StringType:
		return "VARCHAR"
	case *arrow.Date32Type:
		return "DATE"
	case *arrow.TimestampType:
		if t.TimeZone != "" {
			return "TIMESTAMPTZ"
		}
		return "TIMESTAMP"
	case *arrow.Decimal128Type:
		return fmt.Sprintf("DECIMAL(%d,%d)", t.Precision, t.Scale)
	}
	return ""
}

func fieldList(s *arrow.Schema) string {
	var parts []string
	for _, f := range s.Fields() {
		parts = append(parts, f.Name+" "+f.Type.String())
	}
	return strings.Join(parts, ", ")
}

// Schema returns the first file's schema.
func (r *Reader) Schema() *arrow.Schema { return r.schema }

// Next advances to the next batch, opening the next file when one ends.
func (r *Reader) Next() bool {
	for r.err == nil && r.cur != nil {
		if r.cur.Next() {
			return true
		}
		if err := r.cur.Err(); err != nil {
			if r.fetch != nil {
				err = renamed(err, "", r.files[r.next-1])
			}
			r.err = err
			return false
		}
		var lines []int64
		for _, b := range r.cur.BadRows() {
			if r.fetch != nil {
				b.File = r.files[r.next-1]
				lines = append(lines, b.Line)
			}
			r.bad = append(r.bad, b)
		}
		if len(lines) > 0 { // keep the bad rows' text before the local copy goes
			if r.raw == nil {
				r.raw = map[string]map[int64]string{}
			}
			r.raw[r.files[r.next-1]] = RawLines(r.local, lines)
		}
		_ = r.cur.Close()
		r.cur = nil
		r.cleanup()
		if r.next < len(r.files) {
			if err := r.open(); err != nil {
				r.err = err
			}
		}
	}
	return false
}

// RecordBatch returns the current batch, valid until the next Next.
func (r *Reader) RecordBatch() arrow.RecordBatch {
	if r.cur == nil {
		return nil
	}
	return r.cur.RecordBatch()
}

// Record is RecordBatch under array.RecordReader's older name.
func (r *Reader) Record() arrow.RecordBatch { return r.RecordBatch() }

// Err returns the error that ended the stream.
func (r *Reader) Err() error { return r.err }

// Retain and Release satisfy array.RecordReader; Close frees the open file.
func (r *Reader) Retain()  { r.refs++ }
func (r *Reader) Release() { r.refs-- }

// RawLines returns the text of the malformed rows of fetched files (by file name and line), read from their
// local copies before those were removed. Files on local disk are not in it: read them with RawLines.
func (r *Reader) RawLines() map[string]map[int64]string { return r.raw }

// BadRows returns the malformed rows skipped in the files read to their end.
func (r *Reader) BadRows() []engine.BadRow { return append([]engine.BadRow(nil), r.bad...) }

// Close closes the file being read.
func (r *Reader) Close() error {
	defer r.cleanup()
	if r.cur != nil {
		err := r.cur.Close()
		r.cur = nil
		return err
	}
	return nil
}

func (r *Reader) cleanup() {
	if r.done != nil {
		r.done()
		r.done = nil
	}
}

// renamed names a fetched file by its source name in an error about its local copy; the error keeps its kind.
func renamed(err error, local, name string) error {
	if local == "" || local == name || !strings.Contains(err.Error(), local) {
		return fmt.Errorf("%s: %w", name, err)
	}
	return &renamedError{msg: strings.ReplaceAll(err.Error(), local, name), err: err}
}

type renamedError struct {
	msg string
	err error
}

func (e *renamedError) Error() string { return e.msg }
func (e *renamedError) Unwrap() error { return e.err }

// String names the source for messages.
func (r *Reader) String() string { return fmt.Sprintf("%d file(s) from %s", len(r.files), r.files[0]) }
