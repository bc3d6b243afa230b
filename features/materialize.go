package features

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/strata-data/strata/engine"
	"github.com/strata-data/strata/envs"
	"github.com/strata-data/strata/lake"
)

// FeaturesZone is the zone of materialised feature tables: features.<InstanceName>.
const FeaturesZone = "features"

// MaterializeRequest asks to compute view instances into their offline tables.
type MaterializeRequest struct {
	Env string
	// Views are view references: view, view@N or view(param=value, ...). None: the default instance of every
	// view whose parameters all have defaults, and every instance a feature service names.
	Views []string
	// Start and End bound the event times computed, [Start, End); zero is open. With a bound (and without
	// Incremental) the rows of the range are replaced and the table's other rows kept.
	Start, End time.Time
	// Incremental appends the rows the instance's table lacks among those that may have arrived since the last
	// run: event times after the watermark (the latest event time materialised by a run of the same definition
	// version) and, so that late rows (an event time before the watermark, arriving later) are not skipped, rows
	// created at or after the latest created time the table holds when the view has a created time, else rows
	// within the view's TTL before the watermark (every row with TTL 0). Rows the table already has (same keys,
	// event time and created time) are not appended again. For a view with window aggregations, the rows of an
	// entity whose windows may hold its late rows are recomputed as well (see recomputeLate), so the table is
	// what a full run gives; without a created time, its new rows are those at a (keys, event time) where the
	// source has more rows than the table (a late row tied with a materialised event time is found so).
	// Without a watermark the run is full.
	Incremental bool
	Actor       string
	// Force allows materialising in a prod-kind environment: the tables are staged until a release pins them,
	// and the online store is not written (the server's feastapi.Syncer loads it from released tables).
	Force bool
	// Progress, if set, shows a live row count while an instance's rows are written.
	Progress func(instance string) func(rows func() int64) (stop func())
}

// MaterializeRun is one view instance computed by one materialisation.
type MaterializeRun struct {
	ID          string         `json:"id"`
	Group       string         `json:"run_group"`
	Env         string         `json:"env"`
	View        string         `json:"view"`
	ViewVersion int64          `json:"view_version"`
	Instance    string         `json:"instance"`
	Table       string         `json:"table"`
	Params      map[string]any `json:"params,omitempty"`
	Mode        string         `json:"mode"` // full, range or incremental
	Start       *time.Time     `json:"start,omitempty"`
	End         *time.Time     `json:"end,omitempty"`
	MinEvent    *time.Time     `json:"min_event,omitempty"`
	MaxEvent    *time.Time     `json:"max_event,omitempty"`
	Watermark   *time.Time     `json:"watermark,omitempty"`
	// Rows are the rows the run wrote: every row of the table for a full or range run, the new rows of an
	// incremental one (plus, for a view with window aggregations, the rows it rewrote around late rows).
	Rows       int64   `json:"rows"`
	OnlineRows int64   `json:"online_rows"`
	SnapshotID int64   `json:"snapshot_id"`
	Inputs     []Input `json:"inputs"`
	Status     string  `json:"status"` // succeeded or failed
	Error      string  `json:"error,omitempty"`
	// DroppedColumns are the table's columns a full run removed because the view no longer declares them.
	DroppedColumns []string `json:"dropped_columns,omitempty"`
	// StaleColumns are the table's columns the view no longer declares, kept (NULL in the new rows) by an
	// incremental or range run: a full run drops them.
	StaleColumns []string `json:"stale_columns,omitempty"`
	// Note says in a sentence what DroppedColumns or StaleColumns mean ("" when both are empty). The three are
	// kept in the run's record (strata materialize runs).
	Note       string `json:"note,omitempty"`
	Actor      string `json:"actor"`
	StartedMs  int64  `json:"started_ms"`
	DurationMs int64  `json:"duration_ms"`
}

// Materializer computes view instances into tables features.<InstanceName> through envs.Write (one snapshot
// per table per run) and, for online views outside prod, their latest row per entity into Online.
type Materializer struct {
	Registry *Registry
	Envs     *envs.Service
	Engine   *engine.Engine
	Online   OnlineSink // nil: offline only
}

// target is one view instance to materialise.
type target struct {
	def  *Def
	inst *Instance
	keys []JoinKey
}

// Materialize computes every requested instance and records one run per instance. An instance that fails is
// recorded as failed and the others still run; the error then names every failure.
func (m *Materializer) Materialize(ctx context.Context, req MaterializeRequest) ([]MaterializeRun, error) {
	if err := m.Envs.CheckWrite(ctx, req.Env, req.Force); err != nil {
		return nil, err
	}
	if !req.Start.IsZero() && !req.End.IsZero() && !req.Start.Before(req.End) {
		return nil, fmt.Errorf("--start %s is not before --end %s: %w", req.Start.UTC().Format(time.RFC3339), req.End.UTC().Format(time.RFC3339), ErrInvalid)
	}
	if req.Incremental && !req.Start.IsZero() {
		return nil, fmt.Errorf("an incremental run starts after the last materialised event time: give --incremental or --start, not both: %w", ErrInvalid)
	}
	env, err := m.Envs.Get(ctx, req.Env)
	if err != nil {
		return nil, err
	}
	targets, err := m.targets(ctx, req.Env, req.Views)
	if err != nil {
		return nil, err
	}
	group := newRunID()
	var runs []MaterializeRun
	var failed []string
	var first error
	var firstInst string
	for _, t := range targets {
		run, err := m.one(ctx, req, env.Kind == envs.KindProd, group, t)
		if rerr := m.Registry.recordRun(ctx, run); rerr != nil {
			return runs, rerr
		}
		if err != nil {
			failed = append(failed, run.Instance+": "+run.Error)
			if first == nil {
				first, firstInst = err, run.Instance
			}
		}
		runs = append(runs, *run)
	}
	if first != nil {
		// The first failure's error is wrapped, so its kind (invalid input, not found, ...) decides the exit code.
		more := ""
		if len(failed) > 1 {
			more = "; " + strings.Join(failed[1:], "; ")
		}
		return runs, fmt.Errorf("materialise: %d of %d instance(s) failed (recorded in `strata materialize runs`): %s: %w%s",
			len(failed), len(runs), firstInst, first, more)
	}
	return runs, nil
}

// targets resolves the requested references (or the default set) into instances, each once.
func (m *Materializer) targets(ctx context.Context, env string, refs []string) ([]*target, error) {
	var want []Ref
	if len(refs) == 0 {
		var err error
		if want, err = m.defaultRefs(ctx, env); err != nil {
			return nil, err
		}
	}
	for _, s := range refs {
		r, rest, err := parseViewRef(s)
		if err != nil {
			return nil, err
		}
		if rest != "" {
			return nil, fmt.Errorf("%q: name a view instance: view, view@N or view(param=value, ...): %w", s, ErrInvalid)
		}
		want = append(want, r)
	}
	var out []*target
	seen := map[string]bool{}
	for _, r := range want {
		t, err := m.target(ctx, env, r)
		if err != nil {
			return nil, err
		}
		if !seen[t.inst.Name] {
			seen[t.inst.Name] = true
			out = append(out, t)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no feature views in %s to materialise: declare them under features/ and run `strata apply --env %s`: %w", env, env, ErrNotFound)
	}
	return out, nil
}

// defaultRefs are every view's default instance and every instance a current service names.
func (m *Materializer) defaultRefs(ctx context.Context, env string) ([]Ref, error) {
	defs, err := m.Registry.List(ctx, env)
	if err != nil {
		return nil, err
	}
	var out []Ref
	for _, d := range defs {
		switch d.Kind {
		case KindView:
			v, err := d.View()
			if err != nil {
				return nil, err
			}
			if _, err := v.Instance(nil); err == nil {
				out = append(out, Ref{View: d.Name})
			}
		case KindService:
			var s Service
			if err := json.Unmarshal(d.Spec, &s); err != nil {
				return nil, err
			}
			for _, f := range s.Features {
				if r, _, err := parseViewRef(f); err == nil {
					out = append(out, r)
				}
			}
		}
	}
	return out, nil
}

func (m *Materializer) target(ctx context.Context, env string, r Ref) (*target, error) {
	def, err := m.Registry.Get(ctx, env, KindView, r.viewRef())
	if err != nil {
		return nil, err
	}
	v, err := def.View()
	if err != nil {
		return nil, err
	}
	inst, err := v.Instance(r.Params)
	if err != nil {
		return nil, err
	}
	b := &Builder{Registry: m.Registry}
	keys, err := b.joinKeys(ctx, env, v, &ViewLineage{})
	if err != nil {
		return nil, err
	}
	reserved := map[string]bool{"event_ts": true, "created_ts": true}
	for _, k := range keys {
		reserved[k.Name] = true
	}
	for _, f := range v.Features {
		if reserved[f.Name] {
			return nil, fmt.Errorf("view %s: feature %s has the name of a join key or of event_ts/created_ts, the columns a feature table adds: rename it: %w", v.Name, f.Name, ErrInvalid)
		}
	}
	return &target{def: def, inst: inst, keys: keys}, nil
}

// one materialises one instance and returns its run (a failed run carries the error's text).
func (m *Materializer) one(ctx context.Context, req MaterializeRequest, prod bool, group string, t *target) (*MaterializeRun, error) {
	started := time.Now()
	run := &MaterializeRun{ID: newRunID(), Group: group, Env: req.Env, View: t.inst.View.Name, ViewVersion: t.def.Version,
		Instance: t.inst.Name, Table: FeaturesZone + "." + t.inst.Name, Actor: req.Actor, StartedMs: started.UnixMilli(), Inputs: []Input{}}
	if t.inst.View.Source.SQL != "" {
		run.Params = t.inst.Values
	}
	err := m.compute(ctx, req, prod, t, run)
	run.DurationMs = time.Since(started).Milliseconds()
	run.Status = "succeeded"
	if err != nil {
		run.Status, run.Error = "failed", err.Error()
	}
	return run, err
}

func (m *Materializer) compute(ctx context.Context, req MaterializeRequest, prod bool, t *target, run *MaterializeRun) error {
	v := t.inst.View
	src, tables, inputs, err := sourceOf(ctx, m.Envs, req.Env, t.inst)
	if err != nil {
		return err
	}
	run.Inputs = inputs
	rows, err := v.rowsSQL(src, t.keys)
	if err != nil {
		return err
	}
	sel, err := featureTableSQL(v, t.keys, rows)
	if err != nil {
		return err
	}
	id := lake.Ident{Zone: FeaturesZone, Name: t.inst.Name}
	lower, upper := timePtr(req.Start), timePtr(req.End)
	run.Start, run.End = lower, upper
	run.Mode, lower, err = m.mode(ctx, req, t, lower)
	if err != nil {
		return err
	}
	var base *lake.Plan // a full run replaces every row: it reads none of the table's
	if run.Mode != "full" {
		if base, err = m.base(ctx, req.Env, id); err != nil {
			return err
		}
	}
	cond := rangeCond(lower, upper, run.Mode == "incremental")
	w := &plannedWrite{rows: "SELECT * FROM (" + sel + ") WHERE " + cond, tables: tables, mode: envs.Overwrite}
	w.online = w.rows
	switch {
	case run.Mode == "incremental" && base != nil:
		inc := incrementalSQL(id, t, sel, *lower, upper, base)
		w.rows, w.online, w.mode = inc, inc, envs.Append
		w.tables = append(w.tables, envs.EngineTable(base))
		if v.hasAggregations() {
			if err := m.recomputeLate(ctx, req.Env, id, t, base, src, *lower, upper, w); err != nil {
				return err
			}
		}
	case run.Mode == "incremental":
		w.mode = envs.Append // the table has no rows yet: every row after the watermark
	case run.Mode == "range" && base != nil:
		// The rows outside the range are kept; the write is based on the snapshot they were read from.
		w.rows = "SELECT * FROM " + ident(id.Zone) + "." + ident(id.Name) + " WHERE NOT (" + rangeCond(lower, upper, false) + ")" +
			" UNION ALL BY NAME " + w.rows
		w.tables = append(w.tables, envs.EngineTable(base))
		w.basedOn = &base.SnapshotID
	}
	if err := m.write(ctx, req, t, w, base, run); err != nil {
		return err
	}
	if v.Online && m.Online != nil && !prod {
		return m.writeOnline(ctx, t, w.online, w.tables, run)
	}
	return nil
}

// plannedWrite is what a run writes: the SQL of the rows over tables, written with mode (based on basedOn,
// replacing the files replace when set), and the SQL of the rows whose latest per entity goes online.
type plannedWrite struct {
	rows, online string
	tables       []engine.Table
	mode         envs.WriteMode
	basedOn      *int64
	replace      []string
}

// base is the snapshot of the instance's table a write builds on (envs.WriteBase: in prod the staged one, so
// an incremental run compares with what earlier runs wrote, released or not); nil when the table does not
// exist or has no snapshot.
func (m *Materializer) base(ctx context.Context, env string, id lake.Ident) (*lake.Plan, error) {
	p, err := m.Envs.WriteBase(ctx, env, id)
	if errors.Is(err, lake.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if p.SnapshotID == 0 {
		return nil, nil
	}
	return p, nil
}

// mode says how the run computes: incremental after the watermark (when a run of the same definition version
// left one), range, or full.
func (m *Materializer) mode(ctx context.Context, req MaterializeRequest, t *target, lower *time.Time) (string, *time.Time, error) {
	if req.Incremental {
		wm, err := m.Registry.watermark(ctx, req.Env, t.inst.Name, t.def.Version)
		if err != nil {
			return "", nil, err
		}
		if wm != nil {
			return "incremental", wm, nil
		}
		return "full", nil, nil
	}
	if lower != nil || !req.End.IsZero() {
		return "range", lower, nil
	}
	return "full", nil, nil
}

// incrementalSQL returns the SQL of the rows an incremental run appends (see MaterializeRequest.Incremental):
// the rows of sel after the watermark wm, and late rows, that the instance's table id (its write base, which the
// query reads as zone.name) does not have. Without a created time, a row that ties one of the table's on keys
// and event time is the same row only if its features are the same too (those the table has).
func incrementalSQL(id lake.Ident, t *target, sel string, wm time.Time, upper *time.Time, base *lake.Plan) string {
	var also []string
	if t.inst.View.CreatedTime == "" {
		has := map[string]bool{}
		for _, c := range base.Columns {
			has[c.Name] = true
		}
		for _, f := range t.inst.View.Features {
			if has[f.Name] {
				also = append(also, "o."+ident(f.Name)+" IS NOT DISTINCT FROM n."+ident(f.Name))
			}
		}
	}
	return "SELECT n.* FROM (" + sel + ") AS n WHERE " + newRowCond(id, t, wm, upper, also...)
}

// newRowCond is the SQL condition that a row n (of a feature table's columns) is one an incremental run takes:
// no row o of the table has its keys, event time and created time (and the conditions in also).
func newRowCond(id lake.Ident, t *target, wm time.Time, upper *time.Time, also ...string) string {
	table := ident(id.Zone) + "." + ident(id.Name)
	same := []string{"o.event_ts = n.event_ts", "o.created_ts IS NOT DISTINCT FROM n.created_ts"}
	for _, k := range t.keys {
		same = append(same, "o."+ident(k.Name)+" = n."+ident(k.Name))
	}
	same = append(same, also...)
	return "(" + sinceCond(id, t, wm, upper) + " AND NOT EXISTS (SELECT 1 FROM " + table + " AS o WHERE " + strings.Join(same, " AND ") + "))"
}

// sinceCond is the SQL condition that a row n (of a feature table's columns) may have arrived since the last
// run (see MaterializeRequest.Incremental), before upper if set.
func sinceCond(id lake.Ident, t *target, wm time.Time, upper *time.Time) string {
	v := t.inst.View
	since := fmt.Sprintf("epoch_us(n.event_ts) > %d", wm.UnixMicro())
	switch {
	case v.CreatedTime != "":
		since = "(" + since + " OR n.created_ts >= (SELECT max(created_ts) FROM " + ident(id.Zone) + "." + ident(id.Name) + "))"
	case v.TTL > 0:
		since = fmt.Sprintf("epoch_us(n.event_ts) > %d", wm.UnixMicro()-time.Duration(v.TTL).Microseconds())
	default:
		since = "TRUE"
	}
	if upper != nil {
		since += fmt.Sprintf(" AND epoch_us(n.event_ts) < %d", upper.UnixMicro())
	}
	return since
}

// surplusRowsSQL returns, for a view without a created time, the (keys, event_ts) of the rows of ids (a feature
// table's keys, event_ts and created_ts) that an incremental run takes: those since the last run (sinceCond)
// at a (keys, event time) where the source has more rows than the table id. A late row that ties a row of the
// table on keys and event time is found so, whatever its other columns (the table holds aggregations, which
// cannot be compared with a source row), and so is a source row repeated.
func surplusRowsSQL(id lake.Ident, t *target, ids string, wm time.Time, upper *time.Time) string {
	keys := keyNames(t.keys)
	same := []string{"o.event_ts = s.event_ts"}
	for _, k := range keys {
		same = append(same, "o."+k+" = s."+k)
	}
	return "SELECT s.* EXCLUDE (strata_n) FROM (SELECT " + strings.Join(keys, ", ") + ", event_ts, count(*) AS strata_n FROM (" + ids + ") AS n WHERE " +
		sinceCond(id, t, wm, upper) + " GROUP BY ALL) AS s WHERE s.strata_n > (SELECT count(*) FROM " + ident(id.Zone) + "." + ident(id.Name) +
		" AS o WHERE " + strings.Join(same, " AND ") + ")"
}

func (m *Materializer) write(ctx context.Context, req MaterializeRequest, t *target, w *plannedWrite, base *lake.Plan, run *MaterializeRun) error {
	id := lake.Ident{Zone: FeaturesZone, Name: t.inst.Name}
	res, err := m.Engine.Query(ctx, w.rows, w.tables)
	if err != nil {
		return err
	}
	defer res.Close()
	sr := &eventStats{RecordReader: res}
	opts := envs.WriteOptions{Mode: w.mode, Actor: req.Actor, Action: "materialize", Force: req.Force, Source: "materialize " + run.Instance,
		CreateIfMissing: true, SchemaEvolve: true, AllowMissingColumns: true, BasedOn: w.basedOn, Replace: w.replace}
	// A full run rewrites every row, so the table's columns become the view's: a feature the view no longer
	// declares is dropped (older snapshots keep it). Other runs keep the table's rows, and so its columns.
	opts.ReplaceSchema = run.Mode == "full"
	if req.Progress != nil {
		opts.Progress = req.Progress(run.Instance)
	}
	wr, err := m.Envs.Write(ctx, req.Env, id, sr, opts)
	if err != nil && opts.ReplaceSchema && errors.Is(err, lake.ErrInvalid) {
		return fmt.Errorf("%w (a full run makes the table's columns the view's: if a feature's type changed to one its column cannot "+
			"widen to, rename the feature, or remove the table with `strata table rm %s --env %s` and materialise again)", err, id, req.Env)
	}
	if err != nil {
		return err
	}
	run.SnapshotID, run.Rows = wr.SnapshotID, sr.rows
	run.MinEvent, run.MaxEvent = sr.minTime(), sr.maxTime()
	run.DroppedColumns = wr.RemovedColumns
	if !opts.ReplaceSchema && base != nil {
		run.StaleColumns = undeclared(base.Columns, t)
	}
	run.Note = schemaNote(run)
	// The watermark is the latest event time the table holds from this definition version: a full run's own
	// latest, else the later of the previous watermark and this run's.
	run.Watermark = run.MaxEvent
	if run.Mode != "full" {
		prev, err := m.Registry.watermark(ctx, req.Env, run.Instance, run.ViewVersion)
		if err != nil {
			return err
		}
		run.Watermark = later(prev, run.MaxEvent)
	}
	return nil
}

// undeclared lists the table's columns that are not the target's: its join keys, event_ts, created_ts and its
// view's features.
func undeclared(table []lake.Column, t *target) []string {
	declared := map[string]bool{"event_ts": true, "created_ts": true}
	for _, k := range t.keys {
		declared[k.Name] = true
	}
	for _, f := range t.inst.View.Features {
		declared[f.Name] = true
	}
	var out []string
	for _, c := range table {
		if !declared[c.Name] {
			out = append(out, c.Name)
		}
	}
	return out
}

// schemaNote says what a run did, or did not do, to columns the view no longer declares ("" when nothing).
func schemaNote(run *MaterializeRun) string {
	switch {
	case len(run.DroppedColumns) > 0:
		return fmt.Sprintf("dropped column(s) %s of %s, which %s@%d no longer declares (older snapshots keep them)",
			strings.Join(run.DroppedColumns, ", "), run.Table, run.View, run.ViewVersion)
	case len(run.StaleColumns) > 0:
		return fmt.Sprintf("%s still has column(s) %s, which %s@%d no longer declares: this %s run wrote them as NULL; "+
			"a full materialisation of the instance (without --incremental, --start or --end) drops them",
			run.Table, strings.Join(run.StaleColumns, ", "), run.View, run.ViewVersion, run.Mode)
	}
	return ""
}

// writeOnline sends the latest row per entity of the rows this run computed to the online sink.
func (m *Materializer) writeOnline(ctx context.Context, t *target, rows string, tables []engine.Table, run *MaterializeRun) error {
	q := "SELECT * FROM (" + rows + ") QUALIFY row_number() OVER (PARTITION BY " + strings.Join(keyNames(t.keys), ", ") +
		" ORDER BY event_ts DESC, created_ts DESC NULLS LAST) = 1"
	res, err := m.Engine.Query(ctx, q, tables)
	if err != nil {
		return fmt.Errorf("online rows of %s: %w", run.Instance, err)
	}
	defer res.Close()
	cr := &eventStats{RecordReader: res}
	var names []string
	for _, k := range t.keys {
		names = append(names, k.Name)
	}
	if err := m.Online.WriteRecomputed(ctx, run.Instance, names, cr); err != nil {
		return fmt.Errorf("online store, key space %s: the offline table was written (snapshot %d): %w", run.Instance, run.SnapshotID, err)
	}
	run.OnlineRows = cr.rows
	return nil
}

// featureTableSQL selects a feature table's columns from a view's rows: the join keys (declared types), event_ts
// and created_ts (TIMESTAMPTZ; created_ts NULL without a created time), then the features (declared types).
func featureTableSQL(v *View, keys []JoinKey, rows string) (string, error) {
	var cols []string
	for _, k := range keys {
		dt, err := engine.IcebergToDuckDB(k.Type)
		if err != nil {
			return "", err
		}
		cols = append(cols, fmt.Sprintf("CAST(%s AS %s) AS %s", ident(k.Name), dt, ident(k.Name)))
	}
	cols = append(cols, "CAST("+ident(v.EventTime)+" AS TIMESTAMPTZ) AS event_ts")
	created := "NULL"
	if v.CreatedTime != "" {
		created = ident(v.CreatedTime)
	}
	cols = append(cols, "CAST("+created+" AS TIMESTAMPTZ) AS created_ts")
	for _, f := range v.Features {
		dt, err := engine.IcebergToDuckDB(f.Type)
		if err != nil {
			return "", err
		}
		cols = append(cols, fmt.Sprintf("CAST(%s AS %s) AS %s", ident(f.Name), dt, ident(f.Name)))
	}
	return "SELECT " + strings.Join(cols, ", ") + " FROM (" + rows + ") WHERE " + ident(v.EventTime) + " IS NOT NULL", nil
}

// rangeCond is the SQL condition on event_ts for [lower, upper) (or (lower, upper) when afterLower).
func rangeCond(lower, upper *time.Time, afterLower bool) string {
	conds := []string{"TRUE"}
	if lower != nil {
		op := ">="
		if afterLower {
			op = ">"
		}
		conds = append(conds, fmt.Sprintf("epoch_us(event_ts) %s %d", op, lower.UnixMicro()))
	}
	if upper != nil {
		conds = append(conds, fmt.Sprintf("epoch_us(event_ts) < %d", upper.UnixMicro()))
	}
	return strings.Join(conds, " AND ")
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

func later(a, b *time.Time) *time.Time {
	if a == nil || (b != nil && b.After(*a)) {
		return b
	}
	return a
}

// eventStats passes batches through, counting rows and the range of the event_ts column.
type eventStats struct {
	array.RecordReader
	rows     int64
	min, max int64
	seen     bool
}

func (r *eventStats) Next() bool {
	if !r.RecordReader.Next() {
		return false
	}
	rec := r.RecordBatch()
	r.rows += rec.NumRows()
	idx := rec.Schema().FieldIndices("event_ts")
	if len(idx) == 0 {
		return true
	}
	col, ok := rec.Column(idx[0]).(*array.Timestamp)
	if !ok {
		return true
	}
	unit := col.DataType().(*arrow.TimestampType).Unit
	for i := 0; i < col.Len(); i++ {
		if col.IsNull(i) {
			continue
		}
		us := col.Value(i).ToTime(unit).UnixMicro()
		if !r.seen || us < r.min {
			r.min = us
		}
		if !r.seen || us > r.max {
			r.max = us
		}
		r.seen = true
	}
	return true
}

func (r *eventStats) minTime() *time.Time { return r.micros(r.min) }
func (r *eventStats) maxTime() *time.Time { return r.micros(r.max) }

func (r *eventStats) micros(us int64) *time.Time {
	if !r.seen {
		return nil
	}
	t := time.UnixMicro(us).UTC()
	return &t
}
