package lake

import (
	"context"
	"errors"
	"fmt"
	"github.com/apache/arrow-go/v18/parquet/metadata"
	"iter"
	"maps"
	"path/filepath"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/iceberg-go"
	icecat "github.com/apache/iceberg-go/catalog"
	icebergio "github.com/apache/iceberg-go/io"
	"github.com/apache/iceberg-go/table"
	"github.com/google/uuid"

	"github.com/strata-data/strata/internal/cpus"
)

// WriteMode says what a Write does with the rows already in the table.
type WriteMode string

// Write modes.
const (
	Append    WriteMode = "append"    // add the rows
	Overwrite WriteMode = "overwrite" // replace all rows
	// Replace replaces the data files WriteOptions.Replace lists, and only those, with the rows: a merge by key
	// or a replacement of partitions rewrites the files that can hold the rows it replaces (FilesMatching) and
	// keeps the others as they are.
	Replace WriteMode = "replace"
)

// WriteOptions configure a Write.
type WriteOptions struct {
	Mode WriteMode // "" means Append
	// SnapshotProps are added to the new snapshot's summary (e.g. strata.source, strata.run-id).
	SnapshotProps map[string]string
	// CreateIfMissing creates the table from the data's Arrow schema when it does not exist.
	CreateIfMissing bool
	// Branch is the Iceberg branch the write commits to; "" means main. A write to another branch is based on
	// that branch's head if the branch exists, else on main's head (creating the branch), and leaves main
	// untouched: this is how prod writes are staged until a release publishes them (write-audit-publish).
	Branch string
	// Files, if set, writes the data files (see FileWriter); nil means the lake's own Parquet writer.
	Files FileWriter
	// BasedOn, if set, makes the write conditional: it commits only if the head of its branch (see Branch; 0 =
	// no snapshot) is still *BasedOn when the commit lands, else it fails with ErrConflict and commits nothing.
	// Writers that compute the new rows from the table's current ones use it so that no write in between is
	// lost; unlike the replay of an append, such a commit is never replayed on another head.
	BasedOn *int64
	// Replace lists the data files a Replace write deletes: local paths of data files of the snapshot BasedOn
	// (as Plan and FilesMatching list them). It may be empty (the write then only adds the rows).
	Replace []string
	// ReplaceSchema, valid only with Overwrite, makes the data's columns the table's current schema in the same
	// commit as the overwrite: a column the table has keeps its field id (its type may widen to the data's, as
	// int to long; a type that can neither hold the data nor widen to it fails with ErrInvalid), a new column
	// gets a fresh id, and table columns the data lacks are removed from the current schema (not from older
	// snapshots, which keep their schema: reading one still gives its columns). Columns take the data's order.
	ReplaceSchema bool
}

// WriteResult describes the snapshot a Write committed.
type WriteResult struct {
	SnapshotID int64 // the new snapshot; for an empty append, the unchanged head of the branch (0 if none)
	AddedRows  int64
	AddedFiles int
	AddedBytes int64
	Created    bool // the table was created by this write
}

// writeIDProp marks each snapshot with the write that produced it, so a commit whose outcome is unknown (the
// connection broke, the context ended mid-commit) can be resolved by looking for it.
const writeIDProp = "strata.write-id"

// Write streams rdr's record batches into new Parquet data files and commits them as ONE new snapshot of
// env/id (operation append, or overwrite for Overwrite and for a Replace that deletes files). Memory stays bounded whatever the input size: batches
// are written as they arrive, in row groups of at most 128k rows and files of at most 256 MiB.
//
// Schema: a missing table is created from the Arrow schema when opts.CreateIfMissing is set (fresh field ids,
// all columns optional, nanosecond timestamps stored as microseconds). Data columns the table lacks are added
// (optional) in the same commit. A column whose type the table cannot hold fails with ErrInvalid, naming the
// column and both types. Table columns the data lacks are written as nulls. With opts.ReplaceSchema (an
// Overwrite only), the data's columns become the table's instead (see WriteOptions.ReplaceSchema).
//
// Failure: if rdr.Err() is non-nil after the last batch, ctx ends, or the commit fails, no snapshot is
// committed (a table this call created is removed again) and the data files written are deleted
// (best-effort). The one exception is a commit whose outcome is unknown because ctx ended during the catalog
// update: if it landed, Write reports it as a success.
//
// An append of zero rows commits no snapshot (but does add new columns); an overwrite of zero rows commits a
// snapshot that empties the table. With opts.Branch, "the table" is the branch: an overwrite replaces the
// files of the branch's head (main's head for a new branch).
//
// Concurrency: Writes to one table are serialised within the process (a per-table lock that respects ctx) and
// are safe across processes: a commit that loses the race refreshes and replays (commit.retry.* properties).
// What cannot be replayed fails with ErrConflict and commits nothing: concurrent schema changes from two
// processes, an Overwrite racing another process's append (which it would silently drop), and any write with
// BasedOn once its branch has moved (checked when the table is opened and pinned for the commit itself).
// Write does not close or release rdr.
//
// Hook points: "write:files-written" after the data files are written and before the catalog commit, and
// "write:committed" after it.
func (l *Lake) Write(ctx context.Context, env string, id Ident, rdr array.RecordReader, opts WriteOptions) (*WriteResult, error) {
	mode := opts.Mode
	if mode == "" {
		mode = Append
	}
	if mode != Append && mode != Overwrite && mode != Replace {
		return nil, fmt.Errorf("%w: write mode %q (use %q, %q or %q)", ErrInvalid, mode, Append, Overwrite, Replace)
	}
	if opts.ReplaceSchema && mode != Overwrite {
		return nil, fmt.Errorf("%w: write to %s: ReplaceSchema replaces the table's columns with the data's and needs mode %q (not %q): "+
			"rows of other columns could not be kept", ErrInvalid, id, Overwrite, mode)
	}
	if mode == Replace && opts.BasedOn == nil {
		return nil, fmt.Errorf("%w: a %q write to %s needs BasedOn, the snapshot whose files it replaces", ErrInvalid, Replace, id)
	}
	if err := id.Validate(); err != nil {
		return nil, err
	}
	if rdr == nil {
		return nil, fmt.Errorf("%w: write to %s: no record reader", ErrInvalid, id)
	}
	if err := checkArrowNames(rdr.Schema()); err != nil {
		return nil, fmt.Errorf("write to %s: %w", id, err)
	}
	branch := opts.Branch
	if branch == "" {
		branch = table.MainBranch
	}
	if err := validateRefName(branch); err != nil {
		return nil, fmt.Errorf("write to %s: %w", id, err)
	}
	c, err := l.existingCatalog(ctx, env)
	if err != nil {
		return nil, err
	}
	unlock, err := l.lockTable(ctx, env, id)
	if err != nil {
		return nil, err
	}
	defer unlock()

	t, created, err := l.openForWrite(ctx, c, id, rdr.Schema(), opts.CreateIfMissing)
	if err != nil {
		return nil, err
	}
	if ref, ok := refOf(t.Metadata(), branch); ok && ref.SnapshotRefType != table.BranchRef {
		return nil, fmt.Errorf("%w: write to %s in %s: %q is a tag, not a branch", ErrInvalid, id, env, branch)
	}
	if err := checkBase(t, branch, opts.BasedOn); err != nil {
		return nil, fmt.Errorf("write to %s in %s: %w", id, env, err)
	}
	w := &writer{l: l, c: c, env: env, id: id, mode: mode, branch: branch, writeID: uuid.NewString(), fw: opts.Files,
		basedOn: opts.BasedOn, replace: opts.Replace, replaceSchema: opts.ReplaceSchema}
	res, err := w.run(ctx, t, rdr, opts.SnapshotProps)
	if err != nil {
		if created {
			l.undoCreate(context.WithoutCancel(ctx), env, id, t)
		}
		return nil, err
	}
	res.Created = created
	return res, nil
}

// openForWrite loads env/id, creating it from sc if it is missing and create is set.
func (l *Lake) openForWrite(ctx context.Context, c *catalog, id Ident, sc *arrow.Schema, create bool) (*table.Table, bool, error) {
	t, err := c.LoadTable(ctx, table.Identifier{id.Zone, id.Name})
	switch {
	case err == nil:
		return t, false, nil
	case !errors.Is(err, icecat.ErrNoSuchTable):
		return nil, false, l.tableError(ctx, c.env, id, err)
	case !create:
		if ok, _ := l.zoneExists(ctx, c.env, id.Zone); ok {
			return nil, false, fmt.Errorf("table %q in environment %q: %w (set CreateIfMissing to create it from the data)",
				id.String(), c.env, ErrNotFound)
		}
		return nil, false, l.tableError(ctx, c.env, id, err)
	}
	sch, err := schemaFromArrow(stripped(sc))
	if err != nil {
		return nil, false, fmt.Errorf("create table %s in %s: %w", id, c.env, err)
	}
	t, err = c.CreateTable(ctx, table.Identifier{id.Zone, id.Name}, sch,
		icecat.WithLocation(fileURL(l.tableDir(c.env, id))), icecat.WithProperties(tableProperties()))
	switch {
	case err == nil:
		return t, true, nil
	case errors.Is(err, icecat.ErrTableAlreadyExists): // another writer created it first
		t, err = l.loadTable(ctx, c, id)
		return t, false, err
	default:
		return nil, false, l.tableError(ctx, c.env, id, err)
	}
}

// undoCreate removes a table this Write created, if no one has committed to it since.
func (l *Lake) undoCreate(ctx context.Context, env string, id Ident, t *table.Table) {
	removed, err := l.unregisterIfUnchanged(ctx, env, id, t.MetadataLocation())
	if err == nil && removed {
		removeLocal(t.MetadataLocation())
		if p, ok := localPath(t.MetadataLocation()); ok {
			l.removeEmptyDirs(filepath.Dir(p))
		}
	}
}

func stripped(sc *arrow.Schema) *arrow.Schema {
	out, _ := stripFieldIDs(sc)
	return out
}

// writer is one Write's state after the table is open.
type writer struct {
	l       *Lake
	c       *catalog
	env     string
	id      Ident
	mode    WriteMode
	branch  string
	writeID string
	fw      FileWriter // nil: the lake's own Parquet writer
	basedOn *int64
	replace []string
	// replaceSchema makes the data's columns the table's schema (WriteOptions.ReplaceSchema).
	replaceSchema bool
	// codec is the table's codec setting (CodecKey); codec.codec is the codec of this write's files.
	codec codecSetting
	files []iceberg.DataFile
	// footers are the footers of the FileWriter's local files, read once to describe them (dataFileOf)
	footers map[string]*metadata.FileMetaData
	remote  icebergio.WriteFileIO // set when the FileWriter's files were uploaded to a remote data location
}

func (w *writer) run(ctx context.Context, t *table.Table, rdr array.RecordReader, props map[string]string) (*WriteResult, error) {
	txn := t.NewTransactionOnBranch(w.branch)
	if w.basedOn != nil {
		// The branch head this write was computed from, pinned: a commit that finds another head fails
		// instead of being replayed on it.
		if err := txn.AssertRefSnapshotID(w.branch); err != nil {
			return nil, fmt.Errorf("write to %s in %s: %w", w.id, w.env, err)
		}
	}
	if err := w.stage(txn, t, rdr.Schema()); err != nil {
		return nil, err
	}
	staged, err := txn.StagedTable()
	if err != nil {
		return nil, fmt.Errorf("write to %s in %s: %w", w.id, w.env, err)
	}
	if err := w.write(ctx, staged.Table, rdr); err != nil {
		w.removeFiles()
		return nil, err
	}
	if err := w.chooseNextCodec(txn); err != nil {
		w.removeFiles()
		return nil, err
	}
	w.l.Hook("write:files-written")
	if ctx.Err() != nil {
		w.removeFiles()
		return nil, fmt.Errorf("write to %s in %s cancelled before commit: %w", w.id, w.env, context.Cause(ctx))
	}
	snapProps := iceberg.Properties{}
	maps.Copy(snapProps, props)
	snapProps[writeIDProp] = w.writeID
	if err := w.addFiles(ctx, txn, t, snapProps); err != nil {
		w.removeFiles()
		return nil, fmt.Errorf("write to %s in %s: %w", w.id, w.env, err)
	}
	committed, err := txn.Commit(ctx)
	if err != nil {
		landed, known := w.findCommitted(context.WithoutCancel(ctx))
		switch {
		case landed != nil:
			committed = landed
		case known:
			w.removeUncommitted(context.WithoutCancel(ctx), txn)
			return nil, w.l.tableError(ctx, w.env, w.id, err)
		default: // deleting the files could break a snapshot that did land
			return nil, fmt.Errorf("write to %s in %s: the commit failed with an unknown outcome (%w); its data files "+
				"were kept; look for a snapshot with %s=%s before retrying", w.id, w.env, err, writeIDProp, w.writeID)
		}
	}
	w.l.Hook("write:committed")
	return w.result(committed), nil
}

// stage adds schema evolution and missing table properties to txn.
func (w *writer) stage(txn *table.Transaction, t *table.Table, sc *arrow.Schema) error {
	if w.replaceSchema {
		if err := replaceSchema(txn, t, stripped(sc)); err != nil {
			return fmt.Errorf("write to %s in %s: replace the schema: %w", w.id, w.env, err)
		}
		return w.stageProps(txn, t)
	}
	adds, err := newColumns(t.Schema(), stripped(sc))
	if err != nil {
		return fmt.Errorf("write to %s in %s: %w", w.id, w.env, err)
	}
	if len(adds) > 0 {
		us := txn.UpdateSchema(true, false)
		for _, f := range adds {
			us.AddColumn([]string{f.Name}, f.Type, f.Doc, false, nil)
		}
		if err := us.Commit(); err != nil {
			return fmt.Errorf("write to %s in %s: add columns: %w", w.id, w.env, err)
		}
	}
	return w.stageProps(txn, t)
}

// stageProps adds the table properties Strata relies on that t lacks to txn, and the codec of this write.
func (w *writer) stageProps(txn *table.Transaction, t *table.Table) error {
	// Tables created elsewhere (Spark, PyIceberg) get the properties Strata relies on, without overriding
	// any the owner chose.
	missing := iceberg.Properties{}
	for k, v := range tableProperties() {
		if _, ok := t.Properties()[k]; !ok && k != "format-version" {
			missing[k] = v
		}
	}
	if _, ok := missing[CodecKey]; ok {
		missing[CodecKey] = ownerCodec(t.Properties())
	}
	props := maps.Clone(t.Properties())
	maps.Copy(props, missing)
	var err error
	if w.codec, err = codecOf(props); err != nil {
		return fmt.Errorf("write to %s in %s: %w", w.id, w.env, err)
	}
	if props.Get(compressionKey, "") != w.codec.codec {
		missing[compressionKey] = w.codec.codec
	}
	if len(missing) > 0 {
		if err := txn.SetProperties(missing); err != nil {
			return fmt.Errorf("write to %s in %s: set properties: %w", w.id, w.env, err)
		}
	}
	return nil
}

// chooseNextCodec, for a table whose codec is chosen by the data (CodecKey "auto"), measures what zstd makes
// of the files this write wrote and stages the codec of the next write in txn when it changes.
func (w *writer) chooseNextCodec(txn *table.Transaction) error {
	if !w.codec.auto {
		return nil
	}
	var paths []string
	for _, f := range w.files {
		if p, ok := localPath(f.FilePath()); ok {
			paths = append(paths, p)
		}
	}
	plain, packed := zstdSizes(paths, w.footers)
	next := nextCodec(w.codec.codec, plain, packed)
	if next == w.codec.codec {
		return nil
	}
	if err := txn.SetProperties(iceberg.Properties{compressionKey: next}); err != nil {
		return fmt.Errorf("write to %s in %s: set the codec of the next write: %w", w.id, w.env, err)
	}
	return nil
}

// write writes rdr's rows into data files of t (the staged table), with the FileWriter if there is one and it
// can write t's types, else with the lake's own writer.
func (w *writer) write(ctx context.Context, t *table.Table, rdr array.RecordReader) error {
	if w.fw != nil {
		if done, err := w.writeExternal(ctx, t, rdr); done || err != nil {
			return err
		}
	}
	return w.writeFiles(ctx, t, rdr)
}

// writeFiles streams rdr into data files of t (the staged table, with the evolved schema). Batches are dealt
// round-robin to writeWorkers Parquet writers, each writing its own files: encoding (dictionary + zstd) is the
// cost of a write and runs on one core per writer (10M-row import: 10.1 s with one writer; see
// docs/benchmarks.md).
func (w *writer) writeFiles(ctx context.Context, t *table.Table, rdr array.RecordReader) error {
	sc, strip := stripFieldIDs(rdr.Schema())
	n := writeWorkers()
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	chans := make([]chan arrow.RecordBatch, n)
	for i := range chans {
		chans[i] = make(chan arrow.RecordBatch, 1)
	}
	var inErr error
	dealt := make(chan struct{})
	go func() { // the dealer: the only goroutine that touches rdr
		defer close(dealt)
		defer func() {
			for _, ch := range chans {
				close(ch)
			}
		}()
		i := 0
		for rec, err := range batches(ctx, rdr, sc, strip) {
			if err != nil {
				inErr = err
				cancel(err)
				return
			}
			select {
			case chans[i%n] <- rec:
				i++
			case <-ctx.Done():
				rec.Release()
				return
			}
		}
	}()
	var mu sync.Mutex
	var wg sync.WaitGroup
	var firstErr error
	for _, ch := range chans {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for df, err := range table.WriteRecords(ctx, t, sc, fromChan(ctx, ch),
				table.WithRecordBatchBufferSize(writeBufferBatches), table.WithMaxWriteWorkers(1)) {
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
					cancel(err)
				}
				if err == nil {
					w.files = append(w.files, df)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	<-dealt
	switch {
	case inErr != nil:
		return fmt.Errorf("write to %s in %s: %w", w.id, w.env, inErr)
	case firstErr != nil:
		return fmt.Errorf("write to %s in %s: %w", w.id, w.env, firstErr)
	case ctx.Err() != nil:
		return fmt.Errorf("write to %s in %s: write cancelled: %w", w.id, w.env, context.Cause(ctx))
	}
	return nil
}

// writeWorkers is the number of concurrent Parquet writers of one Write: one per CPU, at most 4.
func writeWorkers() int { return max(1, min(cpus.N, 4)) }

// fromChan feeds one writer. It ends with an error if the write was cancelled, so a writer never finalises
// files of a write that failed elsewhere as if its input were complete.
func fromChan(ctx context.Context, ch <-chan arrow.RecordBatch) iter.Seq2[arrow.RecordBatch, error] {
	return func(yield func(arrow.RecordBatch, error) bool) {
		defer func() {
			for rec := range ch { // unblock the dealer and free what it sent
				rec.Release()
			}
		}()
		for rec := range ch {
			if !yield(rec, nil) { // WriteRecords releases every batch it receives
				return
			}
		}
		if ctx.Err() != nil {
			yield(nil, context.Cause(ctx))
		}
	}
}

// writeBufferBatches bounds the batches queued between the reader and the Parquet writer.
const writeBufferBatches = 4

// coalesceRows is the batch size handed to the Parquet writer. Readers such as DuckDB deliver 2048-row batches,
// and the writer's per-batch cost made small batches 2.5× slower to encode (5M-row import: 6.2 s with 2048-row
// batches; see docs/benchmarks.md).
const coalesceRows = 64 * 1024

// batches adapts a RecordReader to the iterator iceberg-go consumes, joining small batches into batches of
// about coalesceRows rows. It stops with an error when ctx ends or when the reader reports one after its last
// batch, so a failed input never looks like a short one.
func batches(ctx context.Context, rdr array.RecordReader, sc *arrow.Schema, rebind bool) iter.Seq2[arrow.RecordBatch, error] {
	return func(yield func(arrow.RecordBatch, error) bool) {
		var pending []arrow.RecordBatch
		var rows int64
		defer func() {
			for _, r := range pending {
				r.Release()
			}
		}()
		flush := func() bool {
			rec, err := concat(sc, pending)
			for _, r := range pending {
				r.Release()
			}
			pending, rows = pending[:0], 0
			if err != nil {
				yield(nil, fmt.Errorf("read input: %w", err))
				return false
			}
			return yield(rec, nil) // WriteRecords releases every batch it receives
		}
		for rdr.Next() {
			if ctx.Err() != nil {
				yield(nil, fmt.Errorf("write cancelled: %w", context.Cause(ctx)))
				return
			}
			rec := rdr.RecordBatch()
			if rebind {
				rec = array.NewRecordBatch(sc, rec.Columns(), rec.NumRows())
			} else {
				rec.Retain()
			}
			pending = append(pending, rec)
			if rows += rec.NumRows(); rows >= coalesceRows && !flush() {
				return
			}
		}
		if err := rdr.Err(); err != nil {
			yield(nil, fmt.Errorf("read input: %w", err))
			return
		}
		if ctx.Err() != nil {
			yield(nil, fmt.Errorf("write cancelled: %w", context.Cause(ctx)))
			return
		}
		if len(pending) > 0 {
			flush()
		}
	}
}

// concat joins batches of one schema into one batch (the caller keeps its references to the parts).
func concat(sc *arrow.Schema, parts []arrow.RecordBatch) (arrow.RecordBatch, error) {
	if len(parts) == 1 {
		parts[0].Retain()
		return parts[0], nil
	}
	cols := make([]arrow.Array, sc.NumFields())
	var rows int64
	for _, p := range parts {
		rows += p.NumRows()
	}
	for i := range cols {
		arrs := make([]arrow.Array, len(parts))
		for j, p := range parts {
			arrs[j] = p.Column(i)
		}
		c, err := array.Concatenate(arrs, memory.DefaultAllocator)
		if err != nil {
			for _, done := range cols[:i] {
				done.Release()
			}
			return nil, err
		}
		cols[i] = c
	}
	rec := array.NewRecordBatch(sc, cols, rows)
	for _, c := range cols {
		c.Release()
	}
	return rec, nil
}

// addFiles stages the snapshot: an append, an overwrite that removes every current data file, or a replacement
// of the listed ones.
func (w *writer) addFiles(ctx context.Context, txn *table.Transaction, t *table.Table, props iceberg.Properties) error {
	opts := []table.WriteOption{table.WithoutAutoNameMapping(), table.WithoutDuplicateCheck()}
	if w.mode == Append {
		return txn.AddDataFiles(ctx, w.files, props, opts...)
	}
	existing, err := headDataFiles(ctx, t, w.branch)
	if err != nil {
		return err
	}
	if w.mode == Replace {
		if existing, err = w.replaced(existing); err != nil {
			return err
		}
	}
	if len(existing) == 0 {
		return txn.AddDataFiles(ctx, w.files, props, opts...)
	}
	return txn.ReplaceDataFilesWithDataFiles(ctx, existing, w.files, props, opts...)
}

// headDataFiles lists the data files of the snapshot a write to branch is based on.
func headDataFiles(ctx context.Context, t *table.Table, branch string) ([]iceberg.DataFile, error) {
	head := writeBase(t.Metadata(), branch)
	if head == nil {
		return nil, nil
	}
	tasks, err := t.Scan(table.WithSnapshotID(head.SnapshotID)).PlanFiles(ctx)
	if err != nil {
		return nil, fmt.Errorf("list current data files: %w", err)
	}
	seen := map[string]bool{}
	var out []iceberg.DataFile
	for _, task := range tasks {
		if p := task.File.FilePath(); !seen[p] {
			seen[p] = true
			out = append(out, task.File)
		}
	}
	return out, nil
}

// findCommitted reloads the table and returns it if a snapshot of this write is in it. known is false when the
// table could not be read, so whether the commit landed is unknown.
func (w *writer) findCommitted(ctx context.Context) (landed *table.Table, known bool) {
	t, err := w.c.LoadTable(ctx, table.Identifier{w.id.Zone, w.id.Name})
	switch {
	case errors.Is(err, icecat.ErrNoSuchTable):
		return nil, true
	case err != nil:
		return nil, false
	case snapshotOf(t, w.writeID) == nil:
		return nil, true
	}
	return t, true
}

func snapshotOf(t *table.Table, writeID string) *table.Snapshot {
	snaps := t.Metadata().Snapshots()
	for i := len(snaps) - 1; i >= 0; i-- {
		if s := snaps[i]; s.Summary != nil && s.Summary.Properties[writeIDProp] == writeID {
			return &s
		}
	}
	return nil
}

func (w *writer) result(t *table.Table) *WriteResult {
	res := &WriteResult{AddedFiles: len(w.files)}
	for _, f := range w.files {
		res.AddedRows += f.Count()
		res.AddedBytes += f.FileSizeBytes()
	}
	if s := snapshotOf(t, w.writeID); s != nil {
		res.SnapshotID = s.SnapshotID
	} else if cur := writeBase(t.Metadata(), w.branch); cur != nil { // nothing to commit (empty append)
		res.SnapshotID = cur.SnapshotID
	}
	return res
}

// writeBase is the snapshot a write to branch builds on: the branch's head, or main's head for a branch that
// does not exist yet (nil for an empty table).
func writeBase(md table.Metadata, branch string) *table.Snapshot {
	if s := md.SnapshotByName(branch); s != nil {
		return s
	}
	return md.CurrentSnapshot()
}

func (w *writer) removeFiles() {
	for _, f := range w.files {
		if _, local := localPath(f.FilePath()); !local && w.remote != nil {
			_ = w.remote.Remove(f.FilePath())
			continue
		}
		removeLocal(f.FilePath())
	}
}

// removeUncommitted deletes the data files, manifests and manifest list of a snapshot that was not committed.
func (w *writer) removeUncommitted(ctx context.Context, txn *table.Transaction) {
	w.removeFiles()
	staged, err := txn.StagedTable()
	if err != nil {
		return
	}
	snap := staged.Metadata().SnapshotByName(w.branch)
	if snap == nil {
		return
	}
	if snap.Summary == nil || snap.Summary.Properties[writeIDProp] != w.writeID {
		return
	}
	fs, err := staged.FS(ctx)
	if err != nil {
		return
	}
	if mans, err := snap.Manifests(fs); err == nil {
		for _, m := range mans {
			if m.SnapshotID() == snap.SnapshotID {
				removeLocal(m.FilePath())
			}
		}
	}
	removeLocal(snap.ManifestList)
}

// checkBase fails with ErrConflict when basedOn is set and the head of branch (main's head for a branch that
// does not exist yet) is another snapshot.
func checkBase(t *table.Table, branch string, basedOn *int64) error {
	if basedOn == nil {
		return nil
	}
	var head int64
	if s := writeBase(t.Metadata(), branch); s != nil {
		head = s.SnapshotID
	}
	if head != *basedOn {
		return fmt.Errorf("%w: the table changed (snapshot %d, not %d) since the rows of this write were computed from it; run it again",
			ErrConflict, head, *basedOn)
	}
	return nil
}

// replaced picks the data files a Replace write deletes out of the head's files.
func (w *writer) replaced(head []iceberg.DataFile) ([]iceberg.DataFile, error) {
	byPath := make(map[string]iceberg.DataFile, len(head))
	for _, f := range head {
		if p, ok := localPath(f.FilePath()); ok {
			byPath[p] = f
		}
	}
	out := make([]iceberg.DataFile, 0, len(w.replace))
	for _, p := range w.replace {
		f, ok := byPath[filepath.Clean(p)]
		if !ok {
			return nil, fmt.Errorf("%w: %s is not a data file of the snapshot this write replaces files of", ErrInvalid, p)
		}
		out = append(out, f)
		delete(byPath, filepath.Clean(p))
	}
	return out, nil
}
