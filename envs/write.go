package envs

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/strata-data/strata/lake"
	"github.com/strata-data/strata/meta"
)

// WriteMode says what a write does with the rows already in the table.
type WriteMode string

// The write modes. A new mode (merge by key, replace a partition) is added to ParseWriteMode and to
// (*Service).commit, which turns each mode into exactly one lake commit; the rule check, the schema check, the
// audit entry and the staging of prod writes around it stay the same for every mode.
const (
	Append    WriteMode = "append"    // add the rows
	Overwrite WriteMode = "overwrite" // replace all rows
)

// ParseWriteMode parses a write mode as users type it ("" = append).
func ParseWriteMode(s string) (WriteMode, error) {
	switch m := WriteMode(s); m {
	case "":
		return Append, nil
	case Append, Overwrite:
		return m, nil
	}
	return "", fmt.Errorf("write mode %q: %w: use append or overwrite", s, ErrInvalid)
}

// WriteOptions configure a Write.
type WriteOptions struct {
	Mode WriteMode // "" = Append
	// Force allows a direct write to a prod-kind environment, which is otherwise refused with ErrForbidden.
	Force bool
	// Actor is who writes, for the audit log and the snapshot summary ("" = "unknown").
	Actor string
	// Action names the kind of write in the audit log: "import", "demo", "move", ... ("" = "write"). The audit
	// entry's action is "table.<Action>", with ".forced" appended for a forced prod write.
	Action string
	// Source says where the data came from (a file, a job); recorded as the snapshot's strata.source.
	Source string
	// Props are added to the new snapshot's summary.
	Props map[string]string
	// CreateIfMissing creates the table from the data's schema when it does not exist.
	CreateIfMissing bool
	// SchemaEvolve allows data columns the table lacks: they are added to the table. Without it such columns
	// fail the write with a *SchemaMismatchError.
	SchemaEvolve bool
	// AllowMissingColumns allows table columns the data lacks: they are written as nulls. Without it such
	// columns fail the write with a *SchemaMismatchError.
	AllowMissingColumns bool
	// ReplaceSchema, valid only with Overwrite (and without Replace), makes the data's columns the table's in
	// the same commit as the overwrite, whatever SchemaEvolve and AllowMissingColumns say: same-named columns
	// keep their field id (a type may widen, as int to long), new columns are added and table columns the data
	// lacks are removed. Earlier snapshots keep their columns: reading one (a release pin, a dataset version)
	// gives the columns it was written with. A rebuilt dataset uses it, so its old columns do not linger as NULLs.
	ReplaceSchema bool
	// Progress, if set, is called when the write starts with a live count of the rows read so far (safe to call
	// from any goroutine); the function it returns is called when the write ends.
	Progress func(rows func() int64) (stop func())
	// PropsAfter, if set, is called once when rdr is drained (its last batch was read without error), before
	// the commit; its entries are added to the new snapshot's summary (the gate's own strata.source,
	// strata.actor and strata.audit-id are not overridden). Writers use it for what only the data tells, so it
	// lands atomically with the rows: a movement job's new watermark.
	PropsAfter func() map[string]string
	// BasedOn, if set, makes the write conditional: the write fails with ErrConflict, committing nothing,
	// unless the snapshot it builds on (see WriteBase) is still *BasedOn (0 = the table had no snapshot or did
	// not exist) once rdr is drained. Writers that compute a table's new contents from its current ones (a merge
	// by key, a replacement of partitions, written with Overwrite) use it so that no write in between is lost.
	BasedOn *int64
	// Replace, if non-nil, narrows an Overwrite based on BasedOn to these data files of that snapshot (local
	// paths, as FilesMatching and lake.Plan list them): the snapshot deletes exactly them and adds the rows,
	// keeping every other file as it is. Empty (not nil) deletes none, so the rows are added. A merge by key
	// writes the rows of the files that can hold its keys, minus the replaced ones, plus its new rows.
	Replace []string
}

// WriteResult describes a committed write.
type WriteResult struct {
	Env        string    `json:"env"`
	Table      string    `json:"table"`
	Mode       WriteMode `json:"mode"`
	SnapshotID int64     `json:"snapshot_id"` // the new snapshot; for an empty append, the unchanged current one
	AddedRows  int64     `json:"added_rows"`
	AddedFiles int       `json:"added_files"`
	AddedBytes int64     `json:"added_bytes"`
	Created    bool      `json:"created"`  // the table was created by this write
	AuditID    string    `json:"audit_id"` // the audit entry of this write (also the snapshot's strata.audit-id)
	// Staged is true in a prod-kind environment: readers see the snapshot only once a release pins it.
	Staged bool `json:"staged"`
	// AddedColumns are the data's columns the write added to the table (SchemaEvolve, ReplaceSchema).
	AddedColumns []string `json:"added_columns,omitempty"`
	// RemovedColumns are the table's columns the data lacked, removed from the table (ReplaceSchema).
	RemovedColumns []string `json:"removed_columns,omitempty"`
}

// Snapshot summary properties every write through the gate sets.
const (
	PropSource  = "strata.source"
	PropActor   = "strata.actor"
	PropAuditID = "strata.audit-id"
)

// Write is the one way to write a lake table: it applies env's rules (a prod-kind environment needs
// opts.Force), compares the data's columns with the table's (see SchemaMismatchError), records the audit
// entry and commits rdr's rows as ONE new snapshot of env/id.
//
// Audit: the entry is written first, as the intent (state "started"), and the snapshot carries its id
// (strata.audit-id); after the commit the entry is completed with the snapshot id ("committed") or the error
// ("failed"). So an audit log that cannot be written fails the write before anything is written, and no
// snapshot exists without its entry. If the entry cannot be completed after a commit, Write returns the
// result AND an error saying so: the data was written, and the entry still records the write as started.
//
// Prod writes are staged: the snapshot is not what prod readers see until a release pins it (Resolve).
//
// Errors: ErrForbidden for a prod write without Force; a *SchemaMismatchError (ErrSchemaMismatch, kind
// Invalid) when columns differ and the options do not allow it; lake's errors for the write itself. On any
// error but the completion failure above, no snapshot was committed. Write does not close or release rdr.
func (s *Service) Write(ctx context.Context, env string, id lake.Ident, rdr array.RecordReader, opts WriteOptions) (*WriteResult, error) {
	e, err := s.Get(ctx, env)
	if err != nil {
		return nil, err
	}
	if err := checkRule(e, opts.Force); err != nil {
		return nil, err
	}
	return s.write(ctx, e, id, rdr, opts)
}

// write does Write after the environment's rule check.
func (s *Service) write(ctx context.Context, e *Env, id lake.Ident, rdr array.RecordReader, opts WriteOptions) (*WriteResult, error) {
	mode, err := ParseWriteMode(string(opts.Mode))
	if err != nil {
		return nil, err
	}
	opts.Mode = mode
	if err := id.Validate(); err != nil {
		return nil, err
	}
	if opts.ReplaceSchema && (mode != Overwrite || opts.Replace != nil) {
		return nil, fmt.Errorf("write to %s in %s: %w: replacing the table's columns (ReplaceSchema) needs an overwrite of all its rows "+
			"(mode overwrite, no Replace): rows of the removed columns could not be kept", id, e.Name, ErrInvalid)
	}
	if rdr == nil {
		return nil, fmt.Errorf("write to %s in %s: %w: no data", id, e.Name, ErrInvalid)
	}
	added, removed, err := s.checkColumns(ctx, e.Name, id, rdr, opts)
	if err != nil {
		return nil, err
	}
	rec := writeRecord{Mode: mode, Source: opts.Source, Forced: e.Kind == KindProd, Staged: staged(e), State: "started"}
	auditID, err := s.startAudit(ctx, e.Name, id, opts, rec)
	if err != nil {
		return nil, fmt.Errorf("write to %s in %s: the audit entry could not be recorded, so nothing was written: %w", id, e.Name, err)
	}
	s.hook("write:audit-started")
	if r, ok := rdr.(interface{ Rows() int64 }); ok && opts.Progress != nil {
		// A reader that counts its rows stays what it is: the engine copies its own file readers whole.
		defer opts.Progress(r.Rows)()
	} else if opts.Progress != nil {
		cr := &countingReader{RecordReader: rdr}
		rdr = cr
		stop := opts.Progress(cr.rows.Load)
		defer stop()
	}
	res, werr := s.commit(ctx, e, id, rdr, opts, auditID)
	done := context.WithoutCancel(ctx) // a cancelled write still completes its entry
	if werr != nil {
		rec.State, rec.Error = "failed", werr.Error()
		if aerr := s.finishAudit(done, auditID, rec); aerr != nil {
			return nil, fmt.Errorf("%w (and its audit entry %s could not be completed: %v)", werr, auditID, aerr)
		}
		return nil, werr
	}
	rec.State, rec.Snapshot, rec.Rows, rec.AddedColumns, rec.RemovedColumns = "committed", res.SnapshotID, res.AddedRows, added, removed
	out := &WriteResult{Env: e.Name, Table: id.String(), Mode: mode, SnapshotID: res.SnapshotID, AddedRows: res.AddedRows,
		AddedFiles: res.AddedFiles, AddedBytes: res.AddedBytes, Created: res.Created, AuditID: auditID,
		Staged: rec.Staged, AddedColumns: added, RemovedColumns: removed}
	if err := s.finishAudit(done, auditID, rec); err != nil {
		return out, fmt.Errorf("wrote snapshot %d of %s in %s, but its audit entry %s could not be completed (it records the write as started): %w",
			res.SnapshotID, id, e.Name, auditID, err)
	}
	return out, nil
}

// commit turns one write into one lake commit. Each write mode is one case.
func (s *Service) commit(ctx context.Context, e *Env, id lake.Ident, rdr array.RecordReader, opts WriteOptions, auditID string) (*lake.WriteResult, error) {
	lo := lake.WriteOptions{CreateIfMissing: opts.CreateIfMissing, SnapshotProps: snapshotProps(opts, auditID), Files: s.opts.Files,
		ReplaceSchema: opts.ReplaceSchema}
	if opts.PropsAfter != nil || opts.BasedOn != nil {
		// lake reads the snapshot props when it commits, after the data: the reader adds to them at its end.
		rdr = &drainedReader{RecordReader: rdr, at: func() error { return s.atDrained(ctx, e, id, opts, lo.SnapshotProps) }}
	}
	switch opts.Mode {
	case Append:
		lo.Mode = lake.Append
	case Overwrite:
		lo.Mode = lake.Overwrite
		if opts.Replace != nil {
			if opts.BasedOn == nil {
				return nil, fmt.Errorf("write to %s in %s: %w: replacing chosen files needs BasedOn, the snapshot they belong to", id, e.Name, ErrInvalid)
			}
			lo.Mode, lo.Replace = lake.Replace, opts.Replace
		}
	default:
		return nil, fmt.Errorf("write mode %q: %w: use append or overwrite", opts.Mode, ErrInvalid)
	}
	// The lake pins the base for the commit itself: the check when the data is drained (atDrained) cannot see
	// a write landing between it and the commit.
	lo.BasedOn = opts.BasedOn
	if staged(e) {
		lo = prodWriteOptions(lo)
	}
	res, err := s.lake.Write(ctx, e.Name, id, rdr, lo)
	if err != nil && opts.BasedOn != nil && errors.Is(err, lake.ErrConflict) && !errors.Is(err, ErrConflict) {
		return nil, fmt.Errorf("%w: %w", ErrConflict, err)
	}
	return res, err
}

// staged says whether writes to e are staged: prod readers see a snapshot only once a release pins it.
func staged(e *Env) bool { return e.Kind == KindProd }

// prodWriteOptions are the lake options of every write to a prod-kind environment: the ONE place where prod
// writes are staged. Strata's prod readers read release pins (Resolve) whatever a table's refs say; the write
// also goes to the Iceberg branch StagingBranch, so other engines, which read the table's main ref (moved only
// by publish and rollback), do not see unpublished writes either.
func prodWriteOptions(lo lake.WriteOptions) lake.WriteOptions {
	lo.Branch = StagingBranch
	return lo
}

func snapshotProps(opts WriteOptions, auditID string) map[string]string {
	props := maps.Clone(opts.Props)
	if props == nil {
		props = map[string]string{}
	}
	if opts.Source != "" {
		props[PropSource] = opts.Source
	}
	props[PropActor] = actorOf(opts)
	props[PropAuditID] = auditID
	return props
}

func actorOf(opts WriteOptions) string {
	if opts.Actor == "" {
		return "unknown"
	}
	return opts.Actor
}

// checkRule applies e's write rule: prod-kind environments are written by pipeline runs, or directly with force.
func checkRule(e *Env, force bool) error {
	if e.Kind == KindProd && !force {
		return fmt.Errorf("environment %s: %w: prod data changes through staged writes and releases; a direct write must be forced, and is audited",
			e.Name, ErrForbidden)
	}
	return nil
}

// writeRecord is the audit detail of one write.
type writeRecord struct {
	Mode         WriteMode `json:"mode"`
	Source       string    `json:"source,omitempty"`
	Forced       bool      `json:"forced,omitempty"`
	Staged       bool      `json:"staged,omitempty"`
	State        string    `json:"state"` // started, committed, failed
	Snapshot     int64     `json:"snapshot,omitempty"`
	Rows         int64     `json:"rows,omitempty"`
	AddedColumns []string  `json:"added_columns,omitempty"`
	// RemovedColumns are the columns a ReplaceSchema write removed.
	RemovedColumns []string `json:"removed_columns,omitempty"`
	Error          string   `json:"error,omitempty"`
}

// startAudit records the intent of a write and returns the entry's id.
func (s *Service) startAudit(ctx context.Context, env string, id lake.Ident, opts WriteOptions, rec writeRecord) (string, error) {
	action := "table.write"
	if opts.Action != "" {
		action = "table." + opts.Action
	}
	if rec.Forced {
		action += ".forced"
	}
	var auditID string
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		auditID, err = insertAudit(ctx, tx, actorOf(opts), env, action, id.String(), rec)
		return err
	})
	return auditID, err
}

// opRecord is the audit detail of an operation other than a write (drop, expire).
type opRecord struct {
	State  string `json:"state"` // started, done, failed
	Input  any    `json:"input,omitempty"`
	Result any    `json:"result,omitempty"`
	Error  string `json:"error,omitempty"`
}

// audited runs op, which changes table target of env, between its audit entry's intent and its completion, as
// Write does: if the entry cannot be recorded, op does not run.
func (s *Service) audited(ctx context.Context, actor, env, action, target string, input any, op func() (any, error)) error {
	rec := opRecord{State: "started", Input: input}
	var auditID string
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		auditID, err = insertAudit(ctx, tx, actor, env, action, target, rec)
		return err
	})
	if err != nil {
		return fmt.Errorf("%s %s in %s: the audit entry could not be recorded, so nothing was done: %w", action, target, env, err)
	}
	res, err := op()
	done := context.WithoutCancel(ctx)
	if err != nil {
		rec.State, rec.Error = "failed", err.Error()
		if aerr := s.finishAudit(done, auditID, rec); aerr != nil {
			return fmt.Errorf("%w (and its audit entry %s could not be completed: %v)", err, auditID, aerr)
		}
		return err
	}
	rec.State, rec.Result = "done", res
	if err := s.finishAudit(done, auditID, rec); err != nil {
		return fmt.Errorf("%s %s in %s was done, but its audit entry %s could not be completed (it records it as started): %w",
			action, target, env, auditID, err)
	}
	return nil
}

// finishAudit completes the entry startAudit or audited recorded.
func (s *Service) finishAudit(ctx context.Context, auditID string, rec any) error {
	d, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE strata_audit SET detail = $1 WHERE id = $2`, string(d), auditID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err == nil && n != 1 {
			return fmt.Errorf("audit entry %s: %w: it is gone", auditID, meta.ErrNotFound)
		}
		return nil
	})
}

// countingReader counts the rows a write has read, for progress reports.
type countingReader struct {
	array.RecordReader
	rows atomic.Int64
}

func (r *countingReader) Next() bool {
	if !r.RecordReader.Next() {
		return false
	}
	r.rows.Add(r.RecordBatch().NumRows())
	return true
}

// drainedReader calls at once, when the reader it wraps ends without error; an error from at becomes the
// reader's error, so the write commits nothing.
type drainedReader struct {
	array.RecordReader
	at   func() error
	done bool
	err  error
}

func (r *drainedReader) Next() bool {
	if r.RecordReader.Next() {
		return true
	}
	if !r.done && r.RecordReader.Err() == nil {
		r.done = true
		r.err = r.at()
	}
	return false
}

func (r *drainedReader) Err() error {
	if err := r.RecordReader.Err(); err != nil {
		return err
	}
	return r.err
}

// atDrained checks opts.BasedOn and adds opts.PropsAfter's entries to props, once the data is read.
func (s *Service) atDrained(ctx context.Context, e *Env, id lake.Ident, opts WriteOptions, props map[string]string) error {
	if opts.BasedOn != nil {
		base, err := s.writeBase(ctx, e, id)
		if err != nil && !errors.Is(err, lake.ErrNotFound) {
			return err
		}
		if base != *opts.BasedOn {
			return fmt.Errorf("write to %s in %s: %w: the table changed (snapshot %d, not %d) while this write computed its rows from it; run it again",
				id, e.Name, ErrConflict, base, *opts.BasedOn)
		}
	}
	if opts.PropsAfter != nil {
		for k, v := range opts.PropsAfter() {
			if k != PropSource && k != PropActor && k != PropAuditID {
				props[k] = v
			}
		}
	}
	return nil
}

// WriteBase returns the read plan of the snapshot a write to env/id builds on: the head of the staging branch
// in a prod-kind environment (main's head before the first staged write), the latest snapshot in a dev-kind
// one. Unlike Resolve, it is the writer's view, not the readers': a writer that computes a table's new
// contents from its current ones reads this and passes its SnapshotID as WriteOptions.BasedOn. A table
// without snapshots gives a plan with SnapshotID 0; a missing table is lake.ErrNotFound.
func (s *Service) WriteBase(ctx context.Context, env string, id lake.Ident) (*lake.Plan, error) {
	e, err := s.Get(ctx, env)
	if err != nil {
		return nil, err
	}
	base, err := s.writeBase(ctx, e, id)
	if err != nil {
		return nil, err
	}
	return s.lake.Plan(ctx, env, id, lake.SnapshotRef{ID: base})
}

// writeBase is the id of the snapshot a write to e/id builds on (0 for none).
func (s *Service) writeBase(ctx context.Context, e *Env, id lake.Ident) (int64, error) {
	info, err := s.lake.Describe(ctx, e.Name, id)
	if err != nil {
		return 0, err
	}
	if staged(e) {
		for _, r := range info.Refs {
			if r.Name == StagingBranch && r.Type == "branch" {
				return r.SnapshotID, nil
			}
		}
	}
	return info.CurrentSnapshotID, nil
}

// FilesMatching returns the data files of snapshot base of env/id (the snapshot WriteBase planned) that may
// hold a row equal, in keys' columns, to one of keys' rows (see lake.FilesMatching): the files a merge by key
// or a replacement of partitions rewrites, passed as WriteOptions.Replace.
func (s *Service) FilesMatching(ctx context.Context, env string, id lake.Ident, base int64, keys array.RecordReader) ([]string, error) {
	if _, err := s.Get(ctx, env); err != nil {
		return nil, err
	}
	return s.lake.FilesMatching(ctx, env, id, base, keys)
}
