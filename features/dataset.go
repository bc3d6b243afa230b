package features

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/strata-data/strata/engine"
	"github.com/strata-data/strata/envs"
	"github.com/strata-data/strata/lake"
)

// DatasetRequest asks for a point-in-time training set.
type DatasetRequest struct {
	Env  string
	Name string // the dataset is written to datasets.<Name>
	// Spine is a lake table (zone.table, as Env's readers see it) or a local Parquet or CSV file.
	Spine string
	// SpineTime is the spine's timestamp column ("" = event_timestamp).
	SpineTime string
	// Features are view:feature references; a view may be pinned (view@3:feature) and view:* asks for all of
	// its features.
	Features []string
	// Params are parameter values of SQL-sourced views, by view name then parameter name.
	Params map[string]map[string]string
	// FullNames names feature columns view__feature instead of feature.
	FullNames bool
	Actor     string
	// Force allows writing the dataset in a prod-kind environment, where it is staged until a release pins it.
	Force bool
	// Sample, when above 0, keeps round(Sample × rows) spine rows (per Stratify value when set), chosen by
	// Seed: the same seed on the same spine keeps the same rows. 0 keeps every row.
	Sample   float64
	Seed     *int64 // nil with Sample: a random seed, recorded in the lineage
	Stratify string // a spine column: sample each of its values' rows in the same proportion
	// SplitWrite splits the write phase of Dataset.Phases into the join with its Parquet copy and the commit
	// (by watching the result's row count, every 2 ms, while the write runs).
	SplitWrite bool
}

// Phase is how long one step of a build took, in seconds of wall time.
type Phase struct {
	Name    string  `json:"name"`
	Seconds float64 `json:"seconds"`
}

// phaseClock records consecutive phases.
type phaseClock struct {
	last   time.Time
	phases []Phase
}

func newPhaseClock() *phaseClock { return &phaseClock{last: time.Now()} }

// lap ends the current phase, naming it.
func (c *phaseClock) lap(name string) { c.lapAt(name, time.Now()) }

func (c *phaseClock) lapAt(name string, at time.Time) {
	c.phases = append(c.phases, Phase{Name: name, Seconds: at.Sub(c.last).Seconds()})
	c.last = at
}

// Sampling is how a dataset's spine was sampled.
type Sampling struct {
	Fraction float64 `json:"fraction"`
	Seed     int64   `json:"seed"`
	Stratify string  `json:"stratify,omitempty"`
}

// ViewLineage is what one view contributed to a dataset.
type ViewLineage struct {
	View    string `json:"view"`
	Version int64  `json:"version"`
	// Instance is the instance's name (InstanceName) when its parameters are not all the defaults.
	Instance string         `json:"instance,omitempty"`
	Features []string       `json:"features"`
	Params   map[string]any `json:"params,omitempty"`
	Inputs   []Input        `json:"inputs"`
	Entities []EntityRef    `json:"entities"`
}

// EntityRef is the version of an entity a dataset used.
type EntityRef struct {
	Name    string `json:"name"`
	Version int64  `json:"version"`
}

// Input is one lake table snapshot a dataset read.
type Input struct {
	Table      string `json:"table"`
	SnapshotID int64  `json:"snapshot_id"`
}

// Lineage records exactly what a dataset was built from.
type Lineage struct {
	Spine       string        `json:"spine"`
	SpineTime   string        `json:"spine_time"`
	SpineDigest string        `json:"spine_digest"`
	SpineInput  *Input        `json:"spine_input,omitempty"`
	Views       []ViewLineage `json:"views"`
	// Services are the feature services the request named, with the versions used.
	Services  []EntityRef `json:"services,omitempty"`
	FullNames bool        `json:"full_names"`
	Sampling  *Sampling   `json:"sampling,omitempty"`
	// Columns are the dataset's columns as this build wrote them (sorted): a rebuild overwrites the rows of
	// the table but keeps columns an earlier build added (as NULLs), and export leaves those out.
	Columns []string `json:"columns,omitempty"`
	// ColumnTypes are the columns' types (Iceberg names).
	ColumnTypes map[string]string `json:"column_types,omitempty"`
}

// Dataset is one built version of a training set.
type Dataset struct {
	Env        string  `json:"env"`
	Name       string  `json:"name"`
	Version    int64   `json:"version"`
	Table      string  `json:"table"`
	SnapshotID int64   `json:"snapshot_id"`
	Rows       int64   `json:"rows"`
	Actor      string  `json:"actor"`
	CreatedMs  int64   `json:"created_ms"`
	Lineage    Lineage `json:"lineage"`
	// Phases are where the build's time went, in order (only on the Dataset Build returns; not stored):
	// check (the environment's write rule), plan (resolving definitions, tables and the spine, and its digest),
	// prepare (opening the join's DuckDB database and preparing the join), write (the join, the Parquet copy of
	// its rows and the Iceberg commit; with SplitWrite, join_copy and commit instead) and record (the lineage).
	Phases []Phase `json:"phases,omitempty"`
	// Join says how the build joined (only on the Dataset Build returns): "duckdb", "cache" (from the
	// training-set cache's entry of every view's snapshot) or "cache_filled" (the same, after this build
	// filled an entry). JoinNote says why a build that could have used the cache did not.
	Join     string `json:"join,omitempty"`
	JoinNote string `json:"join_note,omitempty"`
	// JoinReason says, when the cache is on and the build joined in DuckDB, why (a first build, a small table, a
	// view the cache cannot hold, ...).
	JoinReason string `json:"join_reason,omitempty"`
}

// Builder builds training sets: it reads through envs (release pins in prod), joins in DuckDB and writes
// through envs.Write.
type Builder struct {
	Registry *Registry
	Envs     *envs.Service
	Engine   *engine.Engine
	// Cache, when set, keeps views' source snapshots in the form a point-in-time join reads fastest (see
	// PITCache); builds whose every view it can hold join there, the others in DuckDB. The rows are the same.
	Cache *PITCache
}

// Build computes the point-in-time join of the spine with the requested features, writes it to
// datasets.<Name> (overwriting the table) and records the dataset's lineage.
//
// Per spine row and view: the feature row with the same entity keys whose event time is the latest one at or
// before the spine time and, when the view has a TTL, not older than spine time - TTL; ties on event time go
// to the latest created time. Without such a row the features are NULL and the spine row is kept, duplicates
// included; the SpineRow column is each row's position in the spine.
func (b *Builder) Build(ctx context.Context, req DatasetRequest) (*Dataset, error) {
	if !nameRe.MatchString(req.Name) {
		return nil, fmt.Errorf("dataset name %q: use lower-case letters, digits and _: %w", req.Name, ErrInvalid)
	}
	if req.SpineTime == "" {
		req.SpineTime = "event_timestamp"
	}
	clock := newPhaseClock()
	// The environment's write rule first: a refused build should not compute anything.
	if err := b.Envs.CheckWrite(ctx, req.Env, req.Force); err != nil {
		return nil, err
	}
	clock.lap("check")
	q, lin, err := b.plan(ctx, req)
	if q != nil && q.digest != nil {
		defer func() { _, _ = q.digest() }() // a failed build still waits for the file's reader to end
	}
	if err != nil {
		return nil, err
	}
	clock.lap("plan")
	var join, note, reason string
	var rdr array.RecordReader
	if q.pit == nil && b.Cache != nil && b.Cache.MaxBytes > 0 {
		reason = q.pitReason
	}
	if q.pit != nil && b.Cache != nil {
		var filled bool
		rdr, filled, err = b.cachedJoin(ctx, q.pit)
		switch {
		case err != nil && ctx.Err() != nil:
			return nil, err
		case err != nil: // the cache is an optimisation: the build goes on in DuckDB
			note = err.Error()
		case rdr != nil && filled:
			join = "cache_filled"
			clock.lap("cache_fill")
		case rdr != nil:
			join = "cache"
		default:
			reason = q.pit.reason
		}
	}
	if rdr != nil {
		d, err := b.write(ctx, req, q, lin, clock, rdr, join, "")
		rdr.Release()
		if err == nil || ctx.Err() != nil || !errors.Is(err, errPITDamaged) {
			return d, err
		}
		note = err.Error() // the entry is removed, the write wrote nothing: the build goes on in DuckDB
	}
	// Deferred: the engine's FileWriter has the query's own database COPY the rows to Parquet, so that they never
	// pass through Go (with another FileWriter, or none, the rows are read as from Query).
	res, err := b.Engine.QueryDeferred(ctx, q.sql, q.tables)
	if err != nil {
		return nil, fmt.Errorf("build dataset %s: %w", req.Name, err)
	}
	defer res.Close()
	d, err := b.write(ctx, req, q, lin, clock, res, "duckdb", note)
	if d != nil {
		d.JoinReason = reason
	}
	return d, err
}

// write writes the joined rows to the dataset's table and records the dataset.
func (b *Builder) write(ctx context.Context, req DatasetRequest, q *joinQuery, lin *Lineage, clock *phaseClock, res array.RecordReader, join, note string) (*Dataset, error) {
	clock.lap("prepare")
	lin.ColumnTypes = map[string]string{}
	for _, f := range res.Schema().Fields() {
		lin.ColumnTypes[f.Name] = envs.LakeTypeName(f.Type)
	}
	id := lake.Ident{Zone: "datasets", Name: req.Name}
	opts := envs.WriteOptions{Mode: envs.Overwrite, Actor: req.Actor, Action: "dataset", Force: req.Force,
		Source: "dataset build " + req.Name, CreateIfMissing: true, ReplaceSchema: true}
	var copied func() (time.Time, bool)
	if req.SplitWrite && join == "duckdb" { // a cached join's rows count from its first batch on
		opts.Progress, copied = watchRows()
	}
	wr, err := b.Envs.Write(ctx, req.Env, id, res, opts)
	if err != nil {
		return nil, err
	}
	if at, ok := copiedAt(copied); ok {
		clock.lapAt("join_copy", at)
		clock.lap("commit")
	} else {
		clock.lap("write")
	}
	if q.digest != nil {
		if lin.SpineDigest, err = q.digest(); err != nil {
			return nil, fmt.Errorf("spine %s: %w", req.Spine, err)
		}
	}
	d, err := b.Registry.recordDataset(ctx, &Dataset{Env: req.Env, Name: req.Name, Table: id.String(), SnapshotID: wr.SnapshotID,
		Rows: wr.AddedRows, Actor: req.Actor, Lineage: *lin})
	if err != nil {
		return nil, err
	}
	clock.lap("record")
	d.Phases = clock.phases
	d.Join, d.JoinNote = join, note
	return d, nil
}

func copiedAt(copied func() (time.Time, bool)) (time.Time, bool) {
	if copied == nil {
		return time.Time{}, false
	}
	return copied()
}

// watchRows returns a write's Progress function that notes when the row count first becomes positive (the
// engine's copy of a deferred query counts its rows once they are all written, before the commit), and a
// function that returns that time (false if never). A copy that ends less than a tick before the write is
// noted when the write ends (its commit then counts as part of the copy).
func watchRows() (func(rows func() int64) func(), func() (time.Time, bool)) {
	var at time.Time
	done := make(chan struct{})
	finished := make(chan struct{})
	progress := func(rows func() int64) func() {
		go func() {
			defer close(finished)
			tick := time.NewTicker(2 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-done:
					return
				case <-tick.C:
					if rows() > 0 {
						at = time.Now()
						return
					}
				}
			}
		}()
		return func() {
			close(done)
			<-finished
			if at.IsZero() && rows() > 0 { // the copy ended within the last tick
				at = time.Now()
			}
		}
	}
	return progress, func() (time.Time, bool) { return at, !at.IsZero() }
}

// SpineRow is the column of a dataset that gives each row's position in the spine (1, 2, ...): a lake table
// has no row order (writes spread rows over parallel files), so ORDER BY spine_row returns spine order.
const SpineRow = "spine_row"

type joinQuery struct {
	sql    string
	tables []engine.Table
	seen   map[string]bool
	// digest, for a spine file, waits for the file's digest.
	digest func() (string, error)
	// spineTables are the tables the spine reads; pit is the join from the training-set cache, nil when a
	// view cannot be joined there.
	spineTables []engine.Table
	pit         *pitPlan
	pitReason   string // why pit is nil: the first view the cache cannot join
}

func (q *joinQuery) add(ts ...engine.Table) {
	for _, t := range ts {
		if k := t.Schema + "." + t.Name; !q.seen[k] {
			q.seen[k] = true
			q.tables = append(q.tables, t)
		}
	}
}

// plan resolves every input and writes the join's SQL.
func (b *Builder) plan(ctx context.Context, req DatasetRequest) (_ *joinQuery, _ *Lineage, err error) {
	q := &joinQuery{seen: map[string]bool{}}
	defer func() {
		if err != nil && q.digest != nil {
			_, _ = q.digest() // nothing is left reading the spine file
		}
	}()
	lin := &Lineage{Spine: req.Spine, SpineTime: req.SpineTime, FullNames: req.FullNames}
	spineSQL, spineCols, err := b.spine(ctx, req, q, lin)
	if err != nil {
		return nil, nil, err
	}
	if _, ok := spineCols[req.SpineTime]; !ok {
		return nil, nil, fmt.Errorf("spine %s has no timestamp column %q (it has %s): name it with --spine-time: %w",
			req.Spine, req.SpineTime, columnNames(spineCols), ErrInvalid)
	}
	groups, err := b.groupFeatures(ctx, req, lin)
	if err != nil {
		return nil, nil, err
	}
	var ctes, selects, joins, backJoins []string
	pit := &pitPlan{spineTables: q.spineTables, spineTime: req.SpineTime}
	outNames := map[string]string{SpineRow: "the dataset's spine position"}
	for c := range spineCols { // spine checked that none is SpineRow
		outNames[c] = "the spine"
	}
	lin.Columns = append(lin.Columns, sortedKeys(spineCols)...)
	for i, g := range groups {
		vj, err := b.viewJoin(ctx, req, g, i, q, spineCols)
		if err != nil {
			return nil, nil, err
		}
		lin.Views = append(lin.Views, vj.lineage)
		ctes = append(ctes, vj.ctes...)
		joins = append(joins, vj.join)
		backJoins = append(backJoins, vj.backJoin)
		if pit != nil && vj.pit == nil {
			pit, q.pitReason = nil, vj.pitReason
		} else if pit != nil {
			pit.groups = append(pit.groups, vj.pit)
		}
		for _, f := range vj.lineage.Features {
			out := f
			if req.FullNames {
				out = fullName(g, groups) + "__" + f
			}
			if prev, dup := outNames[out]; dup {
				return nil, nil, fmt.Errorf("column %q comes from %s and from view %s: ask for view__feature names (--full-names): %w", out, prev, vj.lineage.View, ErrInvalid)
			}
			outNames[out] = "view " + vj.lineage.View
			lin.Columns = append(lin.Columns, out)
			if vj.pit != nil {
				vj.pit.outs = append(vj.pit.outs, out)
			}
			selects = append(selects, fmt.Sprintf("j%d.%s AS %s", i, ident(f), ident(out)))
		}
	}
	lin.Columns = append(lin.Columns, SpineRow)
	sort.Strings(lin.Columns)
	sample, err := sampleSQL(req, spineCols, lin)
	if err != nil {
		return nil, nil, err
	}
	if sample != "" {
		spineSQL = "SELECT * EXCLUDE (__strata_rank, __strata_n) FROM (SELECT *" + sample + "(" + spineSQL + "))" +
			" WHERE __strata_rank <= round(" + strconv.FormatFloat(req.Sample, 'g', -1, 64) + " * __strata_n)"
	}
	if pit != nil {
		pit.spineSQL = spineSQL
		q.pit = pit
	}
	q.sql = "WITH spine AS (" + spineSQL + "),\n" +
		strings.Join(ctes, ",\n") + "\nSELECT spine.* EXCLUDE (__strata_row), spine.__strata_row AS " + SpineRow + prefixComma(selects) + "\nFROM spine\n" +
		strings.Join(append(joins, backJoins...), "\n")
	return q, lin, nil
}

// fullName is the prefix of a group's view__feature names: the view's name, unless the dataset holds several
// instances of the view, when each non-default instance is named by its instance name.
func fullName(g *featureGroup, groups []*featureGroup) string {
	if g.inst.Default {
		return g.inst.View.Name
	}
	for _, o := range groups {
		if o != g && o.inst.View.Name == g.inst.View.Name {
			return g.inst.Name
		}
	}
	return g.inst.View.Name
}

// sampleSQL returns the select-list tail that ranks the numbered spine rows for sampling ("" = no sampling)
// and records the sampling in the lineage. Rows are ranked by md5("seed:row"), a hash that is the same in
// every DuckDB version, within each stratum when asked; plan keeps the first round(fraction × n).
func sampleSQL(req DatasetRequest, spineCols map[string]string, lin *Lineage) (string, error) {
	if req.Sample == 0 && req.Seed == nil && req.Stratify == "" {
		return "", nil
	}
	if !(req.Sample > 0 && req.Sample <= 1) {
		return "", fmt.Errorf("sample %v: give a fraction of the spine's rows above 0 and at most 1 (e.g. --sample 0.1): %w", req.Sample, ErrInvalid)
	}
	part := ""
	if req.Stratify != "" {
		if _, ok := spineCols[req.Stratify]; !ok {
			return "", fmt.Errorf("stratify: the spine has no column %q (it has %s): %w", req.Stratify, columnNames(spineCols), ErrInvalid)
		}
		part = "PARTITION BY " + ident(req.Stratify) + " "
	}
	var seed int64
	if req.Seed != nil {
		seed = *req.Seed
	} else {
		var b [8]byte
		_, _ = rand.Read(b[:])
		seed = int64(binary.LittleEndian.Uint64(b[:]) >> 1)
	}
	lin.Sampling = &Sampling{Fraction: req.Sample, Seed: seed, Stratify: req.Stratify}
	return fmt.Sprintf(", row_number() OVER (%sORDER BY md5('%d:' || __strata_row)) AS __strata_rank, count(*) OVER (%s) AS __strata_n FROM ",
		part, seed, strings.TrimSpace(part)), nil
}

func prefixComma(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return ", " + strings.Join(s, ", ")
}

// spine resolves the spine (a table through envs, or a local file) and returns the query of its rows, each
// numbered in spine order as __strata_row, and its columns (without the SpineRow of a dataset spine).
func (b *Builder) spine(ctx context.Context, req DatasetRequest, q *joinQuery, lin *Lineage) (string, map[string]string, error) {
	if fi, err := os.Stat(req.Spine); err == nil && !fi.IsDir() {
		// The digest is computed while the rest of the build runs (Build waits for it before recording).
		q.digest = startDigest(req.Spine)
		from := readerFor(req.Spine)
		cols, err := b.describe(ctx, "SELECT * FROM "+from, nil)
		if err != nil {
			return "", nil, err
		}
		return spineRows(from, cols)
	}
	id, err := lake.ParseIdent(req.Spine)
	if err != nil {
		return "", nil, fmt.Errorf("spine %q is neither a file nor a zone.table: %w", req.Spine, ErrInvalid)
	}
	p, err := b.Envs.Resolve(ctx, req.Env, id, lake.SnapshotRef{})
	if err != nil {
		return "", nil, fmt.Errorf("spine: %w", err)
	}
	if p.SnapshotID == 0 {
		return "", nil, fmt.Errorf("spine table %s has no snapshot yet in %s: write rows to it first: %w", id, req.Env, ErrInvalid)
	}
	q.add(envs.EngineTable(p))
	q.spineTables = []engine.Table{envs.EngineTable(p)}
	lin.SpineInput = &Input{Table: id.String(), SnapshotID: p.SnapshotID}
	lin.SpineDigest = fmt.Sprintf("%s@%d", id, p.SnapshotID)
	cols := map[string]string{}
	for _, c := range p.Columns {
		cols[c.Name] = c.Type
	}
	return spineRows(ident(id.Zone)+"."+ident(id.Name), cols)
}

// spineRows returns the query numbering the spine's rows (from) in spine order as __strata_row: the order they
// are read in, or, for a spine that is a built dataset (datasets.NAME, or its rows in a file, with an integer
// SpineRow column), their SpineRow order: that column is dropped from cols and the query, and the new dataset
// numbers the rows again. A SpineRow column of another type is an error.
func spineRows(from string, cols map[string]string) (string, map[string]string, error) {
	t, ok := cols[SpineRow]
	if !ok {
		return "SELECT *, row_number() OVER () AS __strata_row FROM " + from, cols, nil
	}
	if t != "int" && t != "long" {
		return "", nil, fmt.Errorf("the spine has a column %s of type %s, and the dataset adds its own (a built dataset's %s, an integer, "+
			"gives the spine's order and is replaced): rename it: %w", SpineRow, t, SpineRow, ErrInvalid)
	}
	delete(cols, SpineRow)
	return "SELECT * EXCLUDE (" + SpineRow + "), row_number() OVER (ORDER BY " + SpineRow + ") AS __strata_row FROM " + from, cols, nil
}

func readerFor(path string) string {
	lit := "'" + strings.ReplaceAll(path, "'", "''") + "'"
	if strings.HasSuffix(strings.ToLower(path), ".csv") {
		return "read_csv(" + lit + ", auto_detect = true)"
	}
	return "read_parquet(" + lit + ")"
}

// startDigest computes fileDigest(path) in the background; the function it returns waits for it.
func startDigest(path string) func() (string, error) {
	var digest string
	var err error
	done := make(chan struct{})
	go func() {
		defer close(done)
		digest, err = fileDigest(path)
	}()
	return func() (string, error) {
		<-done
		return digest, err
	}
}

func fileDigest(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

// describe returns the columns a query returns (Iceberg type names where they map).
func (b *Builder) describe(ctx context.Context, sql string, tables []engine.Table) (map[string]string, error) {
	c := &EnvCatalog{Envs: b.Envs, Engine: b.Engine}
	return c.describe(ctx, sql, tables)
}

// featureGroup is the features asked of one view instance (a view version with parameter values).
type featureGroup struct {
	def      *Def
	inst     *Instance
	features []string // nil: every feature
}

// SplitRefs splits a comma-separated list of feature references, leaving commas inside a reference's
// parentheses or quotes alone: "a:x, b(p=1,q='a,b'):y" is two references.
func SplitRefs(s string) []string {
	var out []string
	depth, quote, start := 0, byte(0), 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '(':
			depth++
		case c == ')':
			depth--
		case c == ',' && depth == 0:
			out = append(out, strings.TrimSpace(s[start:i]))
			start = i + 1
		}
	}
	if rest := strings.TrimSpace(s[start:]); rest != "" || len(out) > 0 {
		out = append(out, rest)
	}
	return out
}

// groupFeatures resolves the requested references (view:feature, or a feature service's name) into one group
// per view instance, in order of first mention; lin records the services used.
func (b *Builder) groupFeatures(ctx context.Context, req DatasetRequest, lin *Lineage) ([]*featureGroup, error) {
	if len(req.Features) == 0 {
		return nil, fmt.Errorf("no features asked for: give view:feature,... or a feature service name: %w", ErrInvalid)
	}
	refs, err := b.expandRefs(ctx, req.Env, req.Features, lin, nil)
	if err != nil {
		return nil, err
	}
	var out []*featureGroup
	at := map[string]*featureGroup{}
	for _, r := range refs {
		def, err := b.Registry.Get(ctx, req.Env, KindView, r.viewRef())
		if err != nil {
			return nil, err
		}
		v, err := def.View()
		if err != nil {
			return nil, err
		}
		values := map[string]string{}
		for k, val := range req.Params[r.View] {
			values[k] = val
		}
		for k, val := range r.Params {
			values[k] = val
		}
		inst, err := v.Instance(values)
		if err != nil {
			return nil, err
		}
		key := fmt.Sprintf("%s@%d/%s", v.Name, def.Version, inst.Name)
		g, seen := at[key]
		if !seen {
			g = &featureGroup{def: def, inst: inst, features: []string{}}
			at[key] = g
			out = append(out, g)
		}
		switch {
		case r.Feature == "*":
			g.features = nil
		case g.features != nil && !contains(g.features, r.Feature):
			g.features = append(g.features, r.Feature)
		}
	}
	return out, nil
}

// expandRefs parses references; an entry without a colon names a feature service, whose features (and
// included services) it stands for.
func (b *Builder) expandRefs(ctx context.Context, env string, entries []string, lin *Lineage, path []string) ([]Ref, error) {
	var out []Ref
	for _, e := range entries {
		e = strings.TrimSpace(e)
		if strings.Contains(e, ":") {
			r, err := ParseRef(e)
			if err != nil {
				return nil, err
			}
			out = append(out, r)
			continue
		}
		if !nameRe.MatchString(strings.SplitN(e, "@", 2)[0]) {
			return nil, fmt.Errorf("feature %q: write view:feature (or view:*), or a feature service name: %w", e, ErrInvalid)
		}
		refs, err := b.serviceRefs(ctx, env, e, lin, path)
		if err != nil {
			return nil, err
		}
		out = append(out, refs...)
	}
	return out, nil
}

// serviceRefs returns the feature references of a service (NAME or NAME@N), its includes expanded.
func (b *Builder) serviceRefs(ctx context.Context, env, ref string, lin *Lineage, path []string) ([]Ref, error) {
	def, err := b.Registry.Get(ctx, env, KindService, ref)
	if errors.Is(err, ErrNotFound) && !strings.Contains(ref, "@") {
		return nil, fmt.Errorf("%q is not a feature service in %s: write view:feature (or view:*) for a view's features, or apply a service named %s: %w",
			ref, env, ref, ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	if contains(path, def.Name) {
		return nil, fmt.Errorf("feature services include each other: %s -> %s: %w", strings.Join(path, " -> "), def.Name, ErrInvalid)
	}
	var s Service
	if err := json.Unmarshal(def.Spec, &s); err != nil {
		return nil, fmt.Errorf("stored service %s@%d: %w", def.Name, def.Version, err)
	}
	lin.Services = append(lin.Services, EntityRef{Name: def.Name, Version: def.Version})
	var out []Ref
	for _, f := range s.Features {
		r, rest, err := parseViewRef(f)
		if err != nil {
			return nil, fmt.Errorf("service %s: %w", def.Name, err)
		}
		r.Feature = "*"
		if feat, ok := strings.CutPrefix(rest, ":"); ok {
			r.Feature = feat
		}
		out = append(out, r)
	}
	for _, inc := range s.Include {
		refs, err := b.serviceRefs(ctx, env, inc, lin, append(path, def.Name))
		if err != nil {
			return nil, err
		}
		out = append(out, refs...)
	}
	return out, nil
}

type viewJoinSQL struct {
	ctes      []string
	join      string
	backJoin  string
	lineage   ViewLineage
	pit       *pitGroup // nil: the training-set cache cannot join this view, because of pitReason
	pitReason string
}

// viewJoin writes the CTEs and the ASOF join that attach one view's features to the spine.
func (b *Builder) viewJoin(ctx context.Context, req DatasetRequest, g *featureGroup, i int, q *joinQuery, spineCols map[string]string) (*viewJoinSQL, error) {
	v := g.inst.View
	out := &viewJoinSQL{lineage: ViewLineage{View: v.Name, Version: g.def.Version}}
	if !g.inst.Default {
		out.lineage.Instance = g.inst.Name
	}
	feats, err := pickFeatures(v, g.features)
	if err != nil {
		return nil, err
	}
	out.lineage.Features = feats
	keys, err := b.joinKeys(ctx, req.Env, v, &out.lineage)
	if err != nil {
		return nil, err
	}
	for _, k := range keys {
		if _, ok := spineCols[k.Name]; !ok {
			return nil, fmt.Errorf("spine %s has no join key column %q of view %s (it has %s): %w", req.Spine, k.Name, v.Name, columnNames(spineCols), ErrInvalid)
		}
	}
	src, tables, err := b.viewSource(ctx, req.Env, g.inst, q, &out.lineage)
	if err != nil {
		return nil, err
	}
	var pit *pitSQL
	scan, rows := positionalScan(v, tables), ""
	if scan != "" {
		pit, err = pointInTimeByPosition(v, keys, feats, i, scan, req.SpineTime)
	} else {
		if rows, err = v.rowsSQL(src, keys); err != nil {
			return nil, err
		}
		pit, err = pointInTime(v, keys, feats, i, rows, req.SpineTime)
	}
	if err != nil {
		return nil, err
	}
	out.pit, out.pitReason = cachedGroup(g.inst, keys, feats, tables, scan, rows)
	out.ctes, out.join, out.backJoin = pit.ctes, pit.join, pit.backJoin
	return out, nil
}

// cachedGroup is newPITGroup with the keys' DuckDB types; nil and why when the cache cannot join the view.
func cachedGroup(inst *Instance, keys []JoinKey, feats []string, tables []engine.Table, scan, rows string) (*pitGroup, string) {
	var types []string
	for _, k := range keys {
		dt, err := engine.IcebergToDuckDB(k.Type)
		if err != nil {
			return nil, keyTypeReason(inst.View.Name, k)
		}
		types = append(types, dt)
	}
	return newPITGroup(inst, keys, types, feats, tables, scan, rows)
}

// pitSQL is the point-in-time lookup of one view: the CTEs that compute it and the two joins that attach its
// features (as j<i>.<feature>) to the spine.
type pitSQL struct {
	ctes           []string
	join, backJoin string
}

// pointInTime writes the point-in-time lookup of view i in three steps, each of which DuckDB plans the same way
// whatever its row estimates (the engine's table views carry none, and with none DuckDB turned an ASOF join
// into a nested-loop join: 54 CPU-s instead of 2 at 1M feature rows x 100k spine rows):
//
//  1. x<i>: per spine row, its match among the view's narrow rows (keys, event time, created time): the row of
//     its keys with the latest event time at or before the spine time, then the latest created time, NULLs
//     first, within the TTL (see matchCTEs: a hash join, or a window, no wide rows sorted);
//  2. a<i>: the matches' keys, event time and created time, one per spine row;
//  3. w<i>: the wide rows of the matched (keys, event time, created time), fetched by a semi-join that streams
//     the view's rows past a hash table of the matches; rows equal in all three are one match, and the one
//     kept is chosen by a hash of its features, so a rebuild keeps the same row.
func pointInTime(v *View, keys []JoinKey, feats []string, i int, src, spineTime string) (*pitSQL, error) {
	k, err := pitKeysOf(v, keys)
	if err != nil {
		return nil, err
	}
	created, fKeys, part := k.created, k.fKeys, k.part
	var aKeys, on, semi []string
	for n, kn := range part {
		aKeys = append(aKeys, "m."+kn)
		on = append(on, fmt.Sprintf("j%d.%s = a%d.%s", i, kn, i, kn))
		semi = append(semi, fmt.Sprintf("x.%s = CAST(s.%s AS %s)", kn, ident(keys[n].Name), k.types[n]))
	}
	ts := "CAST(" + ident(v.EventTime) + " AS TIMESTAMPTZ)"
	semi = append(semi, "x.__strata_ts = CAST(s."+ident(v.EventTime)+" AS TIMESTAMPTZ)")
	if v.CreatedTime != "" {
		semi = append(semi, "x.__strata_cts IS NOT DISTINCT FROM CAST(s."+ident(v.CreatedTime)+" AS TIMESTAMPTZ)")
	}
	fcols := make([]string, len(feats))
	for n, f := range feats {
		fcols[n] = ident(f)
	}
	// Rows equal in keys, event and created time: the one whose features (all the view's, whichever a build
	// asks for, so that every build keeps the same row) hash least is kept; the training-set cache orders them so.
	ties := make([]string, len(v.Features))
	for n, f := range v.Features {
		ties[n] = ident(f.Name)
	}
	p := strings.Join(part, ", ")
	ctes := []string{fmt.Sprintf("s%d AS NOT MATERIALIZED (%s)", i, src)}
	ctes = append(ctes, matchCTEs(v, k, i, fmt.Sprintf("s%d", i), spineTime, nil, true)...)
	pit := &pitSQL{ctes: append(ctes,
		fmt.Sprintf("a%d AS (SELECT m.__strata_r, %s, m.__strata_m.t AS __strata_ts, m.__strata_m.c AS __strata_cts FROM x%d AS m)",
			i, strings.Join(aKeys, ", "), i),
		fmt.Sprintf("w%d AS (SELECT %s, %s AS __strata_ts, %s AS __strata_cts, %s FROM s%d AS s\n"+
			"  WHERE EXISTS (SELECT 1 FROM a%d AS x WHERE %s)\n"+
			"  QUALIFY row_number() OVER (PARTITION BY %s, __strata_ts, __strata_cts ORDER BY hash(%s)) = 1)",
			i, strings.Join(fKeys, ", "), ts, created, strings.Join(fcols, ", "), i, i, strings.Join(semi, " AND "), p, strings.Join(ties, ", ")),
	)}
	pit.join = fmt.Sprintf("LEFT JOIN a%d ON a%d.__strata_r = spine.__strata_row", i, i)
	on = append(on, fmt.Sprintf("j%d.__strata_ts = a%d.__strata_ts", i, i), fmt.Sprintf("j%d.__strata_cts IS NOT DISTINCT FROM a%d.__strata_cts", i, i))
	pit.backJoin = fmt.Sprintf("LEFT JOIN w%d AS j%d ON %s", i, i, strings.Join(on, " AND "))
	return pit, nil
}

// matchField is a column the narrow rows carry into a match besides the event and created time: its name in
// the match struct and its SQL over the view's rows. Fields order rows equal in keys, event and created time.
type matchField struct{ name, expr string }

// matchCTEs writes the CTEs that find each spine row's match among view i's narrow rows n<i> (keys, event time
// __strata_t, created time __strata_c and the extra fields, read from from, within the spine's bounds), and end
// in x<i>: one row per spine row with a match within the TTL, its __strata_r, (withKeys) its keys, and
// __strata_m, the match's struct {t, c, extra fields...}. The match is the row of the spine row's keys that is
// the greatest in (event time, created time (NULL first), extra fields) with an event time at or before the
// spine time. It is found by one of two plans, chosen while the query runs by a bound on the (spine row,
// feature row) pairs that share a key, the spine's most repeated key's row count × the feature rows:
//   - h<i>, when that is at most pitHashFactor × (feature rows + spine rows) (a spine with a few rows per
//     entity, the usual case): a hash join of the spine with the narrow rows on the keys, within [spine time −
//     TTL, spine time], and per spine row the greatest match — about a third of the window's cost at 1M
//     feature rows;
//   - m<i> otherwise (a key repeated in the spine, whose pairs could grow as its rows on both sides multiply):
//     the spine rows and the narrow rows in one stream, sorted per key by time with feature rows before spine
//     rows at equal times, then created time and fields; the last feature row before each spine row is its match.
//
// (The exact count of pairs needs the feature rows grouped by key, which cost as much as the join at 10M rows.)
// Each plan's input is empty when the other one runs.
func matchCTEs(v *View, k *pitKeys, i int, from, spineTime string, extra []matchField, withKeys bool) []string {
	ts := "CAST(" + ident(v.EventTime) + " AS TIMESTAMPTZ)"
	sCols := make([]string, len(k.sKeys))
	var on []string
	for n, sk := range k.sKeys {
		sCols[n] = sk + " AS " + k.part[n]
		on = append(on, fmt.Sprintf("n.%s = s.%s", k.part[n], k.part[n]))
	}
	on = append(on, "n.__strata_t <= s.__strata_t")
	inTTL := "m.__strata_m IS NOT NULL"
	if v.TTL > 0 {
		ttl := fmt.Sprintf("to_microseconds(%d)", time.Duration(v.TTL).Microseconds())
		on = append(on, "n.__strata_t >= s.__strata_t - "+ttl)
		inTTL = "m.__strata_m.t >= m.__strata_t - " + ttl
	}
	var nCols, hStruct, hOrder, mStruct, mOrder, uNulls []string
	for _, f := range extra {
		col := "__strata_" + f.name
		nCols = append(nCols, f.expr+" AS "+col)
		hStruct = append(hStruct, fmt.Sprintf("'%s': n.%s", f.name, col))
		hOrder = append(hOrder, "n."+col)
		mStruct = append(mStruct, fmt.Sprintf("'%s': %s", f.name, col))
		mOrder = append(mOrder, col)
		uNulls = append(uNulls, "NULL")
	}
	p := strings.Join(k.part, ", ")
	hKeys, mKeys := "", ""
	if withKeys {
		for _, kn := range k.part {
			hKeys += ", s." + kn
		}
		mKeys = ", " + p
	}
	small := fmt.Sprintf("(SELECT small FROM g%d)", i)
	return []string{
		fmt.Sprintf("n%d AS MATERIALIZED (SELECT %s, %s AS __strata_t, %s AS __strata_c%s FROM %s WHERE %s IS NOT NULL AND %s%s)",
			i, strings.Join(k.fKeys, ", "), ts, k.created, prefixComma(nCols), from, ident(v.EventTime), strings.Join(k.notNull, " AND "),
			spineBounds(ts, v.TTL, spineTime)),
		fmt.Sprintf("q%d AS MATERIALIZED (SELECT __strata_row AS __strata_r, %s, CAST(%s AS TIMESTAMPTZ) AS __strata_t FROM spine)",
			i, strings.Join(sCols, ", "), ident(spineTime)),
		fmt.Sprintf("g%d AS (SELECT coalesce(max(__strata_n), 0) * (SELECT count(*) FROM n%d) <= %d * ((SELECT count(*) FROM n%d) + (SELECT count(*) FROM q%d)) AS small "+
			"FROM (SELECT %s, count(*) AS __strata_n FROM q%d GROUP BY ALL))",
			i, i, pitHashFactor, i, i, p, i),
		fmt.Sprintf("h%d AS (SELECT s.__strata_r%s, arg_max({'t': n.__strata_t, 'c': n.__strata_c%s}, "+
			"(n.__strata_t, n.__strata_c IS NOT NULL, coalesce(n.__strata_c, n.__strata_t)%s)) AS __strata_m\n"+
			"  FROM (SELECT * FROM q%d WHERE %s) AS s JOIN n%d AS n ON %s GROUP BY ALL)",
			i, hKeys, prefixComma(hStruct), prefixComma(hOrder), i, small, i, strings.Join(on, " AND ")),
		fmt.Sprintf("u%d AS (SELECT %s, __strata_t, 0 AS __strata_side, __strata_c%s, CAST(NULL AS BIGINT) AS __strata_r FROM n%d WHERE NOT %s\n"+
			"  UNION ALL SELECT %s, __strata_t, 1, NULL%s, __strata_r FROM q%d WHERE NOT %s)",
			i, p, prefixComma(mOrder), i, small, p, prefixComma(uNulls), i, small),
		fmt.Sprintf("m%d AS (SELECT __strata_r%s, __strata_t, last_value(CASE WHEN __strata_side = 0 THEN {'t': __strata_t, 'c': __strata_c%s} END IGNORE NULLS) "+
			"OVER (PARTITION BY %s ORDER BY __strata_t, __strata_side, __strata_c NULLS FIRST%s ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS __strata_m "+
			"FROM u%d QUALIFY __strata_side = 1)", i, mKeys, prefixComma(mStruct), p, prefixComma(mOrder), i),
		fmt.Sprintf("x%d AS (SELECT * FROM h%d\n  UNION ALL SELECT m.* EXCLUDE (__strata_t) FROM m%d AS m WHERE m.__strata_t IS NOT NULL AND %s)",
			i, i, i, inTTL),
	}
}

// positionalScan returns the read_parquet call that reads the rows of a view whose source is one lake table
// (without window aggregations) with the virtual columns file_index and file_row_number, which name each row
// of the snapshot; "" when the view cannot be read so (a SQL source, aggregations, a snapshot without files, a
// column named like a virtual one, a type the engine cannot map). The files are read as the engine's table
// views read them (engine.PositionalScanSQL: with the files' statistics when they line up with the schema, else
// by field id), in path order, so a row's (file_index, file_row_number) is the
// same in every build of the same snapshot. The engine's sandbox allows these files: the table is bound too.
func positionalScan(v *View, tables []engine.Table) string {
	if v.Source.Table == "" || v.hasAggregations() || len(tables) != 1 || len(tables[0].Files) == 0 {
		return ""
	}
	t := tables[0]
	for _, c := range t.Columns {
		switch strings.ToLower(c.Name) {
		case "file_index", "file_row_number", "filename":
			return ""
		}
	}
	scan, err := engine.PositionalScanSQL(t)
	if err != nil {
		return ""
	}
	return scan
}

// pitKeys are the SQL pieces both point-in-time plans build from a view's join keys and created time.
type pitKeys struct {
	created string   // the created time as TIMESTAMPTZ, or a typed NULL
	types   []string // each key's DuckDB type
	fKeys   []string // feature side: CAST(key AS type) AS __strata_k<n>
	sKeys   []string // spine side: CAST(key AS type)
	part    []string // __strata_k<n>
	notNull []string // key IS NOT NULL
}

func pitKeysOf(v *View, keys []JoinKey) (*pitKeys, error) {
	k := &pitKeys{created: "CAST(NULL AS TIMESTAMPTZ)"}
	if v.CreatedTime != "" {
		k.created = "CAST(" + ident(v.CreatedTime) + " AS TIMESTAMPTZ)"
	}
	for n, key := range keys {
		dt, err := engine.IcebergToDuckDB(key.Type)
		if err != nil {
			return nil, err
		}
		kn := fmt.Sprintf("__strata_k%d", n)
		k.types = append(k.types, dt)
		k.fKeys = append(k.fKeys, fmt.Sprintf("CAST(%s AS %s) AS %s", ident(key.Name), dt, kn))
		k.sKeys = append(k.sKeys, fmt.Sprintf("CAST(%s AS %s)", ident(key.Name), dt))
		k.notNull = append(k.notNull, ident(key.Name)+" IS NOT NULL")
		k.part = append(k.part, kn)
	}
	return k, nil
}

// pointInTimeByPosition is pointInTime for a view read by positionalScan: the match of each spine row is named
// by its position (file_index, file_row_number) as well as its (event time, created time), so
//   - rows equal in keys, event time and created time are ordered by their position, and the match is the
//     last of them (the same row in every build of the snapshot, without hashing features),
//   - the wide pass reads only the features, of the rows at the matched positions (a join on two integers),
//     and needs no deduplication: a position is one row.
func pointInTimeByPosition(v *View, keys []JoinKey, feats []string, i int, scan, spineTime string) (*pitSQL, error) {
	k, err := pitKeysOf(v, keys)
	if err != nil {
		return nil, err
	}
	fcols := make([]string, len(feats))
	for n, f := range feats {
		fcols[n] = "s." + ident(f)
	}
	ctes := matchCTEs(v, k, i, scan, spineTime, []matchField{{"f", "file_index"}, {"p", "file_row_number"}}, false)
	pit := &pitSQL{ctes: append(ctes,
		fmt.Sprintf("w%d AS (SELECT x.__strata_r, %s FROM %s AS s\n"+
			"  JOIN x%d AS x ON x.__strata_m.f = s.file_index AND x.__strata_m.p = s.file_row_number)",
			i, strings.Join(fcols, ", "), scan, i),
	)}
	pit.join = fmt.Sprintf("LEFT JOIN w%d AS j%d ON j%d.__strata_r = spine.__strata_row", i, i, i)
	return pit, nil
}

// pitHashFactor bounds the hash plan of pointInTimeByPosition: it runs when the spine and feature rows that
// share a key can make at most this many times as many pairs as there are rows (a variable for tests).
var pitHashFactor = 4

// spineBounds is the condition (after AND) that keeps only the feature rows some spine row may match: none
// after the latest spine time and, with a TTL, none older than the earliest spine time minus the TTL. The
// window then sorts fewer rows when the spine covers part of the features' time range.
func spineBounds(ts string, ttl Duration, spineTime string) string {
	st := "CAST(" + ident(spineTime) + " AS TIMESTAMPTZ)"
	out := fmt.Sprintf(" AND %s <= (SELECT max(%s) FROM spine)", ts, st)
	if ttl > 0 {
		out += fmt.Sprintf(" AND %s >= (SELECT min(%s) FROM spine) - to_microseconds(%d)", ts, st, time.Duration(ttl).Microseconds())
	}
	return out
}

func keyNames(keys []JoinKey) []string {
	var out []string
	for _, k := range keys {
		out = append(out, ident(k.Name))
	}
	return out
}

func pickFeatures(v *View, want []string) ([]string, error) {
	var all []string
	has := map[string]bool{}
	for _, f := range v.Features {
		all = append(all, f.Name)
		has[f.Name] = true
	}
	if want == nil {
		return all, nil
	}
	for _, f := range want {
		if !has[f] {
			return nil, fmt.Errorf("view %s has no feature %q (it has %s): %w", v.Name, f, strings.Join(all, ", "), ErrNotFound)
		}
	}
	return want, nil
}

// joinKeys returns the join keys of the view's entities (their current versions, recorded in the lineage).
func (b *Builder) joinKeys(ctx context.Context, env string, v *View, lin *ViewLineage) ([]JoinKey, error) {
	var keys []JoinKey
	for _, name := range v.Entities {
		d, err := b.Registry.Get(ctx, env, KindEntity, name)
		if err != nil {
			return nil, fmt.Errorf("view %s: %w", v.Name, err)
		}
		var e Entity
		if err := json.Unmarshal(d.Spec, &e); err != nil {
			return nil, err
		}
		lin.Entities = append(lin.Entities, EntityRef{Name: name, Version: d.Version})
		keys = append(keys, e.JoinKeys...)
	}
	return keys, nil
}

// viewSource returns the SQL of the view's rows: its table, or its query with parameter literals, over the
// snapshots env's readers see; every input snapshot is recorded.
func (b *Builder) viewSource(ctx context.Context, env string, inst *Instance, q *joinQuery, lin *ViewLineage) (string, []engine.Table, error) {
	sql, tables, inputs, err := sourceOf(ctx, b.Envs, env, inst)
	if err != nil {
		return "", nil, err
	}
	if inst.View.Source.SQL != "" {
		lin.Params = inst.Values
	}
	lin.Inputs = append(lin.Inputs, inputs...)
	q.add(tables...)
	return sql, tables, nil
}

// sourceOf returns the SQL of an instance's source rows (its table, or its query with parameter literals), the
// tables it reads as env's readers see them, and the snapshot of each; a table without a snapshot is an error,
// not an empty result.
func sourceOf(ctx context.Context, es *envs.Service, env string, inst *Instance) (string, []engine.Table, []Input, error) {
	v := inst.View
	var sql string
	var tables []engine.Table
	if v.Source.Table != "" {
		id, err := lake.ParseIdent(v.Source.Table)
		if err != nil {
			return "", nil, nil, err
		}
		p, err := es.Resolve(ctx, env, id, lake.SnapshotRef{})
		if err != nil {
			return "", nil, nil, fmt.Errorf("view %s: %w", v.Name, err)
		}
		tables = []engine.Table{envs.EngineTable(p)}
		sql = "SELECT * FROM " + ident(id.Zone) + "." + ident(id.Name)
	} else {
		sql = v.render(inst.Values)
		var err error
		if tables, err = es.BindSQL(ctx, env, sql); err != nil {
			return "", nil, nil, fmt.Errorf("view %s: %w", v.Name, err)
		}
	}
	var inputs []Input
	for _, t := range tables {
		snap, err := snapshotOf(ctx, es, env, t)
		if err != nil {
			return "", nil, nil, fmt.Errorf("view %s: %w", v.Name, err)
		}
		inputs = append(inputs, Input{Table: t.Schema + "." + t.Name, SnapshotID: snap})
	}
	return sql, tables, inputs, nil
}

// snapshotOf returns the snapshot id env's readers see of a bound table; a table without one is an error, not
// an empty dataset.
func snapshotOf(ctx context.Context, es *envs.Service, env string, t engine.Table) (int64, error) {
	p, err := es.Resolve(ctx, env, lake.Ident{Zone: t.Schema, Name: t.Name}, lake.SnapshotRef{})
	if err != nil {
		return 0, err
	}
	if p.SnapshotID == 0 {
		return 0, fmt.Errorf("source table %s.%s has no snapshot yet in %s: write rows to it before building a dataset: %w", t.Schema, t.Name, env, ErrInvalid)
	}
	return p.SnapshotID, nil
}

func ident(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
