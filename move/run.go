//go:build duckdb_arrow

package move

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/strata-data/strata/engine"
	"github.com/strata-data/strata/envs"
	"github.com/strata-data/strata/errs"
	"github.com/strata-data/strata/lake"
	"github.com/strata-data/strata/meta"
	"github.com/strata-data/strata/move/files"
	movelake "github.com/strata-data/strata/move/lake"
	"github.com/strata-data/strata/move/postgres"
	"github.com/strata-data/strata/move/s3"
)

// openLakeSince opens a lake source that reads only the rows appended since the snapshot watermark (the
// table's data files that snapshot did not have); its new watermark is the snapshot it reads.
func openLakeSince(ctx context.Context, d Deps, env, table, watermark string) (*source, []string, error) {
	var since int64
	if watermark != "" {
		var err error
		if since, err = strconv.ParseInt(watermark, 10, 64); err != nil {
			return nil, nil, fmt.Errorf("%w: the job's watermark %q is not a snapshot id", ErrInvalid, watermark)
		}
	}
	r, plan, err := movelake.OpenSince(ctx, d.Envs, d.Engine, env, table, since)
	if err != nil {
		return nil, nil, err
	}
	if r == nil {
		return nil, nil, errNothingNew
	}
	wm := strconv.FormatInt(plan.SnapshotID, 10)
	return &source{RecordReader: r, close: r.Close, rejected: noBadRows, watermark: func() string { return wm }}, nil, nil
}

// Deps is what a run uses and where it runs.
type Deps struct {
	DB     *meta.DB
	Envs   *envs.Service
	Engine *engine.Engine
	Env    string // the environment the job runs in (its target and watermark)
	Force  bool   // allow a direct write to a prod-kind environment (audited)
	Actor  string
	// Lookup reads ${VAR} secrets; nil means os.LookupEnv.
	Lookup func(string) (string, bool)
	// Progress, if set, gets a live count of the rows written (see envs.WriteOptions.Progress).
	Progress func(rows func() int64) (stop func())
	// BatchRows is the postgres source's rows per batch (0 = its default).
	BatchRows int
	// RowStream reads a postgres source with the extended protocol's row stream instead of COPY BINARY.
	RowStream bool
	// Hook is called at named points for fault-injection tests: "move:before-read" once the run is recorded,
	// "source:batch" after each postgres source batch, "move:committed" after the commit and before the run's
	// end is recorded.
	Hook func(point string)
}

func (d Deps) hook(point string) {
	if d.Hook != nil {
		d.Hook(point)
	}
}

// Run runs spec with resolved params: it streams the source into the target — a lake table through
// envs.Write (one snapshot; staged in prod, where it needs Force), files, or a PostgreSQL table (one
// transaction) — writes the skipped malformed rows to the quarantine table, and records the run. The watermark
// moves only if the target committed, in the transaction that records the run as succeeded; for a lake target
// it is also in the snapshot's properties (a postgres target: in a mark committed with the rows), from which
// the next run recovers it if this one was killed before recording its end. One run of a job per environment runs at a
// time (a lease in the metadata DB; a second run is a Conflict error), so two runs never read from the same
// watermark. On error the returned record (when the run got as far as being recorded) says how far it got; its
// error text has the run's secrets replaced by ***.
func Run(ctx context.Context, d Deps, spec *Spec, params Params) (*RunRecord, error) {
	lookup := d.Lookup
	if lookup == nil {
		lookup = os.LookupEnv
	}
	var id lake.Ident // the lake target
	if spec.Target.Type == "lake" {
		var err error
		if id, err = lake.ParseIdent(spec.Target.Table); err != nil {
			return nil, err
		}
	}
	if spec.Target.Type == "lake" || spec.OnError.Quarantine != "" {
		if err := d.Envs.CheckWrite(ctx, d.Env, d.Force); err != nil {
			return nil, err
		}
	}
	rec := &RunRecord{ID: newRunID(), Job: spec.Name, Env: d.Env, Params: params.Map(), Source: spec.Source.Type,
		Target: targetName(spec), Actor: d.Actor, StartedAt: time.Now().UTC()}
	release, err := acquireLease(ctx, d.DB, spec.Name, d.Env, rec.ID)
	if err != nil {
		return nil, err
	}
	defer release()
	if spec.Target.Type == "lake" {
		if err := recoverCommitted(ctx, d, spec, id); err != nil {
			return nil, fmt.Errorf("job %s: complete the record of an earlier run: %w", spec.Name, err)
		}
	}
	if spec.Target.Type == "files" {
		if err := cleanFilesTarget(ctx, d, spec, params, lookup); err != nil {
			return nil, fmt.Errorf("job %s: %w", spec.Name, err)
		}
	}
	if spec.Target.Type == "postgres" {
		if secrets, err := recoverPostgresTarget(ctx, d, spec, lookup); err != nil {
			return nil, scrubbed(fmt.Errorf("job %s: complete the record of an earlier run: %w", spec.Name, err), secrets)
		}
	}
	if spec.Incremental != nil {
		if rec.WatermarkBefore, _, err = Watermark(ctx, d.DB, spec.Name, d.Env); err != nil {
			return nil, err
		}
	}
	if err := insertRun(ctx, d.DB, rec); err != nil {
		return nil, err
	}
	secrets, err := execute(ctx, d, spec, params, id, rec, lookup)
	return rec, finish(ctx, d, spec, rec, jobHint(err), secrets)
}

// execute reads the source into the target and writes the quarantine; it returns the secrets it used.
func execute(ctx context.Context, d Deps, spec *Spec, params Params, id lake.Ident, rec *RunRecord,
	lookup func(string) (string, bool)) ([]string, error) {
	d.hook("move:before-read")
	src, secrets, err := openSource(ctx, d, spec, params, rec.WatermarkBefore, id, lookup)
	if errors.Is(err, errNothingNew) { // an incremental source with nothing past its watermark
		rec.WatermarkAfter = rec.WatermarkBefore
		return secrets, nil
	}
	if err != nil {
		return secrets, err
	}
	if spec.Target.Type == "lake" {
		err = write(ctx, d, spec, id, src, rec)
	} else {
		var more []string
		more, err = writeExternal(ctx, d, spec, params, src, rec, lookup)
		secrets = append(secrets, more...)
	}
	_ = src.Close()
	if err == nil {
		var known map[string]map[int64]string
		if src.raw != nil {
			known = src.raw()
		}
		err = quarantine(ctx, d, spec, rec, known)
	}
	if rec.SnapshotID != 0 || (err == nil && spec.Target.Type != "lake") {
		d.hook("move:committed")
	}
	return secrets, err
}

// jobHint adds to a too-many-bad-rows error how a job raises the limit (the engine's text names the CLI flag),
// and to a schema difference what the job can do about it (in place of `table import`'s flags, which a CLI
// hint would name for an *envs.SchemaMismatchError).
func jobHint(err error) error {
	var bad *engine.BadInputError
	if errors.As(err, &bad) {
		msg := strings.Replace(err.Error(), "with --max-bad-rows N", "with on_error: {max_bad_rows: N} in the job", 1)
		if msg == err.Error() {
			msg += "\nin a job, that is on_error: {max_bad_rows: N}"
		}
		return &textError{msg: msg + "; nothing was committed", err: err}
	}
	var mm *envs.SchemaMismatchError
	if errors.As(err, &mm) {
		hint := "schema: evolve in the job adds the new columns to the table"
		if len(mm.Missing) > 0 {
			hint = "the source must give every table column (select or rename it; columns: drop removes source columns only)"
			if len(mm.Extra) > 0 {
				hint = "check the source's column names (columns: rename maps them); schema: evolve adds new columns, but every table column must come from the source"
			}
		}
		return &schemaError{msg: err.Error() + "\n" + hint + "; nothing was committed"}
	}
	return err
}

// textError is err with another text (what a job, not the CLI's table import, changes).
type textError struct {
	msg string
	err error
}

func (e *textError) Error() string { return e.msg }
func (e *textError) Unwrap() error { return e.err }

// schemaError is a job's schema difference: it matches envs.ErrSchemaMismatch (kind Invalid), and its text
// says what the job can change.
type schemaError struct{ msg string }

func (e *schemaError) Error() string { return e.msg }
func (e *schemaError) Unwrap() error { return envs.ErrSchemaMismatch }

// finish records the run's outcome (err, with secrets scrubbed) and moves the watermark if the target
// committed; it returns the run's error.
func finish(ctx context.Context, d Deps, spec *Spec, rec *RunRecord, err error, secrets []string) error {
	rec.FinishedAt = time.Now().UTC()
	rec.DurationMS = rec.FinishedAt.Sub(rec.StartedAt).Milliseconds()
	committed := err == nil || rec.SnapshotID != 0
	if err != nil {
		err = scrubbed(err, secrets)
		rec.Status, rec.Error = StatusFailed, err.Error()
	} else {
		rec.Status = StatusSucceeded
	}
	moveWM := committed && spec.Incremental != nil && rec.WatermarkAfter != rec.WatermarkBefore
	if ferr := finishRun(context.WithoutCancel(ctx), d.DB, rec, moveWM); ferr != nil && err == nil {
		err = fmt.Errorf("run %s committed snapshot %d but its record could not be completed: %w", rec.ID, rec.SnapshotID, ferr)
	}
	return err
}

// source is an opened source stream.
type source struct {
	array.RecordReader
	close     func() error
	rejected  func() []engine.BadRow
	watermark func() string
	raw       func() map[string]map[int64]string // files sources: the text of bad rows of fetched files
}

func (s *source) Close() error { return s.close() }

func openSource(ctx context.Context, d Deps, spec *Spec, ps Params, watermark string, target lake.Ident,
	lookup func(string) (string, bool)) (*source, []string, error) {
	switch spec.Source.Type {
	case "files":
		path, err := substitutePath(spec.Source.Path, ps)
		if err != nil {
			return nil, nil, err
		}
		var types map[string]string
		if target.Name != "" { // a lake target: read the files with its column types
			if types, err = d.Envs.ReadTypes(ctx, d.Env, target); err != nil {
				return nil, nil, err
			}
		}
		ro := engine.ReadOptions{Format: spec.Source.Format, MaxBadRows: spec.OnError.MaxBadRows,
			TableTypes: sourceTypes(types, spec.Columns)}
		r, wm, err := openFiles(ctx, d, spec, path, ro, watermark, lookup)
		if err != nil {
			return nil, nil, err
		}
		return &source{RecordReader: r, close: r.Close, rejected: r.BadRows, watermark: func() string { return wm },
			raw: r.RawLines}, nil, nil
	case "lake":
		env := spec.Source.Env
		if env == "" {
			env = d.Env
		}
		if spec.Incremental != nil {
			return openLakeSince(ctx, d, env, spec.Source.Table, watermark)
		}
		r, _, err := movelake.Open(ctx, d.Envs, d.Engine, env, spec.Source.Table, spec.Source.Snapshot)
		if err != nil {
			return nil, nil, err
		}
		return &source{RecordReader: r, close: r.Close, rejected: noBadRows, watermark: func() string { return "" }}, nil, nil
	case "postgres":
		dsn, secrets, err := expandSecrets(spec.Source.DSN, spec.where("source", "dsn"), lookup)
		if err != nil {
			return nil, nil, err
		}
		var wm any
		if watermark != "" {
			wm = watermark
		}
		q, args, err := bindQuery(spec.Source.Query, ps, wm)
		if err != nil {
			return nil, secrets, err
		}
		// COPY BINARY is the default read: BenchmarkSource (500k rows × 8 columns) read it 6–10% faster than the
		// row stream on this machine (see docs/benchmarks.md).
		opts := postgres.Options{DSN: dsn, Query: q, Args: args, WatermarkArg: watermarkArg(spec.Source.Query, ps),
			BatchRows: cmp.Or(d.BatchRows, sourceBatchRows), Copy: !d.RowStream, Render: renderQuery(spec.Source.Query)}
		if spec.Incremental != nil {
			opts.Column = spec.Incremental.Column
		}
		if d.Hook != nil {
			opts.AfterBatch = func() { d.Hook("source:batch") }
		}
		r, err := postgres.Open(ctx, opts)
		if err != nil {
			return nil, secrets, err
		}
		// The COPY decode runs in its own goroutine, a batch ahead of the target (DuckDB encoding Parquet, or
		// COPY into the target) so both cores work: see docs/benchmarks.md. The watermark is read once the
		// stream is drained, after the goroutine's last write.
		pf := prefetch(r)
		return &source{RecordReader: pf, close: func() error { pf.Close(); return r.Close() }, rejected: noBadRows,
			watermark: r.Watermark}, secrets, nil
	}
	return nil, nil, fmt.Errorf("%w: source type %q", ErrInvalid, spec.Source.Type)
}

func noBadRows() []engine.BadRow { return nil }

// sourceBatchRows is the rows per batch of a postgres source. The batches waiting in the prefetch and those
// DuckDB is reading are Go memory, which the garbage collector lets grow to twice what is live: 64k-row batches
// took the Go heap of a 13-column run to ~110 MB, 16k-row batches to ~38 MB, at the same CPU time
// (docs/benchmarks.md).
const sourceBatchRows = 16 * 1024

// openFiles opens a files source: local paths, or objects of an S3-compatible store (s3://bucket/prefix),
// fetched one at a time. An incremental source keeps only the files past the watermark and returns the new
// watermark (errNothingNew when there are none).
func openFiles(ctx context.Context, d Deps, spec *Spec, path string, ro engine.ReadOptions, watermark string,
	lookup func(string) (string, bool)) (*files.Reader, string, error) {
	fo := files.Options{AfterFile: func() { d.hook("source:file") }}
	var list []string
	var err error
	if s3.IsPath(path) {
		var b *s3.Bucket
		if b, err = s3.Open(path, lookup); err != nil {
			return nil, "", err
		}
		if list, err = b.Sources(ctx); err != nil && !b.Folder() {
			return nil, "", err
		}
		if b.Folder() {
			if list, err = published(ctx, b, b.URL, list, err); err != nil {
				return nil, "", err
			}
		}
		fo.Fetch = b.Fetch
	} else {
		list, err = files.Expand(path)
		if fi, serr := os.Stat(path); serr == nil && fi.IsDir() {
			join := func(name string) string { return filepath.Join(path, filepath.FromSlash(name)) }
			list, err = published(ctx, files.Dir(path), join, list, err)
		}
		if err != nil {
			return nil, "", err
		}
	}
	wm := ""
	if spec.Incremental != nil {
		if list, wm, err = filesSince(list, spec.Incremental.By, watermark); err != nil {
			return nil, "", err
		}
	}
	r, err := files.OpenList(ctx, d.Engine, list, ro, fo)
	return r, wm, err
}

// published is the list of files a folder source reads: when the folder was written by a files target (it
// holds manifests), exactly the files its manifests list, named by name (so the files of a killed or failing
// write that were not removed yet are not read); otherwise list and listErr, the folder's data files.
func published(ctx context.Context, store files.ReadStore, name func(string) string, list []string, listErr error) ([]string, error) {
	names, ok, err := files.PublishedFiles(ctx, store)
	switch {
	case err != nil:
		return nil, err
	case !ok:
		return list, listErr
	case len(names) == 0:
		return nil, errs.E(errs.NotFound, "files source: the manifests of the folder list no file (every write to it was empty)")
	}
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = name(n)
	}
	return out, nil
}

// watermarkArg is the index among the bound arguments of {{ watermark }}, or -1.
func watermarkArg(query string, ps Params) int {
	_, args, _ := bindQuery(query, ps, watermarkMarker{})
	for i, a := range args {
		if _, ok := a.(watermarkMarker); ok {
			return i
		}
	}
	return -1
}

type watermarkMarker struct{}

// sourceTypes maps the target table's column types onto the source's column names (through renames), so that
// a file is read with the table's types; cast columns keep their own reading.
func sourceTypes(types map[string]string, rules []ColumnRule) map[string]string {
	if types == nil {
		return nil
	}
	out := map[string]string{}
	for k, v := range types {
		out[k] = v
	}
	for _, r := range rules {
		if r.Rename != "" {
			if t, ok := types[r.Rename]; ok {
				out[r.Name] = t
			}
			delete(out, r.Rename)
		}
		if r.Cast != "" || r.Drop {
			delete(out, r.Name)
		}
	}
	return out
}

func write(ctx context.Context, d Deps, spec *Spec, id lake.Ident, src *source, rec *RunRecord) error {
	mapped, err := mapColumns(ctx, src, spec.Columns)
	if err != nil {
		return err
	}
	counted := &counting{RecordReader: mapped}
	wo := envs.WriteOptions{Mode: envs.WriteMode(spec.Target.Mode), Force: d.Force, Actor: d.Actor, Action: "move",
		Source: "job " + spec.Name, Props: map[string]string{PropRun: rec.ID, PropJob: spec.Name, PropEnv: d.Env},
		CreateIfMissing: true, SchemaEvolve: spec.Schema == "evolve", Progress: d.Progress}
	if spec.Incremental != nil {
		wo.PropsAfter = func() map[string]string {
			return map[string]string{PropWatermark: watermarkAfter(rec.WatermarkBefore, src)}
		}
	}
	var rdr array.RecordReader = counted
	computes := spec.Target.Mode == "merge" || spec.Target.Mode == "overwrite-partition"
	if computes {
		// The table's new contents are computed from its rows and the new ones, and written over it as one
		// snapshot, provided no other write landed in between (BasedOn).
		c, err := computeContents(ctx, d, spec, id, counted)
		if err != nil {
			readStats(rec, counted, src)
			return counted.cause(err)
		}
		defer c.Close()
		rdr, wo.Mode, wo.BasedOn, wo.Replace = c, envs.Overwrite, &c.Base, c.Replace
		rec.FilesRewritten, rec.FilesTotal = len(c.Replace), c.Total
		wo.Source = fmt.Sprintf("job %s (%s)", spec.Name, spec.Target.Mode)
	}
	res, err := d.Envs.Write(ctx, d.Env, id, rdr, wo)
	err = counted.cause(err)
	readStats(rec, counted, src)
	if res != nil {
		rec.SnapshotID, rec.RowsWritten, rec.Bytes, rec.Staged = res.SnapshotID, res.AddedRows, res.AddedBytes, res.Staged
		if computes { // the snapshot also holds the rewritten rows of the files it replaced; the run wrote its new rows
			rec.RowsWritten = rec.RowsRead
		}
		rec.WatermarkAfter = watermarkAfter(rec.WatermarkBefore, src)
	}
	return err
}

// readStats records what the run read from its source.
func readStats(rec *RunRecord, counted *counting, src *source) {
	rec.RowsRead = counted.rows.Load()
	rec.BadRows = rec.BadRows[:0]
	for _, b := range src.rejected() {
		rec.BadRows = append(rec.BadRows, BadRow{File: b.File, Line: b.Line, Column: b.Column, Message: b.Message})
	}
	rec.RowsRejected = int64(len(rec.BadRows))
}

// watermarkAfter is the job's watermark once src is drained: the largest value read, or the one before.
func watermarkAfter(before string, src *source) string {
	if wm := src.watermark(); wm != "" {
		return wm
	}
	return before
}

// counting counts the rows that pass.
type counting struct {
	array.RecordReader
	rows atomic.Int64
}

// cause is a failed write's error, or the source's when the source failed first and the write's error lost it
// (DuckDB, writing the stream, reports a reader's error as text: the malformed-rows report and its kind
// BadData, or the source's Unavailable, would otherwise be gone).
func (c *counting) cause(err error) error {
	if err == nil {
		return nil
	}
	serr := c.Err()
	if serr == nil || errors.Is(err, serr) || errors.Is(serr, context.Canceled) || errors.Is(serr, context.DeadlineExceeded) {
		return err
	}
	return fmt.Errorf("read the source: %w", serr)
}

func (c *counting) Next() bool {
	if !c.RecordReader.Next() {
		return false
	}
	c.rows.Add(c.RecordReader.RecordBatch().NumRows())
	return true
}

func scrubbed(err error, secrets []string) error {
	if len(secrets) == 0 {
		return err
	}
	msg := scrub(err.Error(), secrets)
	if msg == err.Error() {
		return err
	}
	return &scrubbedError{msg: msg, kind: errs.KindOf(err), err: err}
}

// scrubbedError keeps an error's kind but not its text, which held a secret.
type scrubbedError struct {
	msg  string
	kind errs.Kind
	err  error
}

func (e *scrubbedError) Error() string { return e.msg }
func (e *scrubbedError) Unwrap() error { return e.kind }

func newRunID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
