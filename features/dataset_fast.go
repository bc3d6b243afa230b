package features

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/strata-data/strata/engine"
	"github.com/strata-data/strata/lakesql"
)

// pitGroup is what the cached join needs of one view instance: set by viewJoin when the view has integer or
// string join keys and reads lake tables (by its table's positional scan, or by its rows' SQL), nil otherwise.
type pitGroup struct {
	view  string
	spec  pitSpec
	ttl   int64    // µs, 0 = none
	feats []string // source columns
	outs  []string // the dataset's column names for them
	file  *pitFile
}

// holdsFeatures says whether an entry of the group's table holds every feature it asks for: each is a column
// of the table (by its exact name) of a fixed-width type or a string. (A SQL view's features are its query's
// columns, whose types are known when the entry is filled: one it cannot hold is found missing then.)
func (g *pitGroup) holdsFeatures() bool {
	if g.spec.sql != "" {
		return true
	}
	types := make(map[string]string, len(g.spec.table.Columns))
	for _, c := range g.spec.table.Columns {
		types[c.Name] = c.Type
	}
	for _, f := range g.feats {
		if !pitFixedIceberg[types[f]] && types[f] != "string" {
			return false
		}
	}
	return true
}

// pitKeyTypes are the join key types the cached join handles: integers (compared as BIGINT after the SQL join's
// cast) and strings (compared byte for byte, as DuckDB compares VARCHAR).
var pitKeyTypes = map[string]bool{"TINYINT": true, "SMALLINT": true, "INTEGER": true, "BIGINT": true, "VARCHAR": true}

// newPITGroup returns the cached join's group of a view instance read by its table's positional scan (scan),
// or by the SQL of its rows (rowsSQL: a SQL source, window aggregations); nil and why when the cache cannot
// join it.
func newPITGroup(inst *Instance, keys []JoinKey, keyTypes []string, feats []string, tables []engine.Table, scan, rowsSQL string) (*pitGroup, string) {
	v := inst.View
	switch {
	case scan == "" && rowsSQL == "":
		return nil, fmt.Sprintf("the training-set cache cannot read the rows of view %s", v.Name)
	case len(keys) == 0:
		return nil, fmt.Sprintf("view %s has no join key (the training-set cache finds rows by key)", v.Name)
	case len(tables) == 0:
		return nil, fmt.Sprintf("the SQL of view %s reads no lake table (a training-set cache entry is named by the files of the tables it reads)", v.Name)
	}
	if w := volatileWord(rowsSQL); scan == "" && w != "" {
		return nil, fmt.Sprintf("the SQL of view %s uses %s, whose value changes from run to run (a training-set cache entry would keep its fill's)", v.Name, w)
	}
	for i, t := range keyTypes {
		if !pitKeyTypes[t] {
			return nil, keyTypeReason(v.Name, keys[i])
		}
	}
	spec := pitSpec{table: tables[0], tables: tables[:1], scan: scan, keys: keys, keyTypes: keyTypes, event: v.EventTime, created: v.CreatedTime}
	// An entry holds the view's string features (all of them, whichever a build asks for: every build of the
	// view reads one entry) besides every fixed-width column.
	var strs []string
	for _, f := range v.Features {
		if f.Type == "string" {
			strs = append(strs, f.Name)
		}
	}
	if scan == "" {
		spec.table, spec.tables, spec.sql, spec.view, spec.strs = engine.Table{}, tables, rowsSQL, inst.Name, strs
		for _, f := range v.Features {
			spec.ties = append(spec.ties, f.Name)
		}
	} else {
		for _, c := range tables[0].Columns {
			if c.Type == "string" && slices.Contains(strs, c.Name) {
				spec.strs = append(spec.strs, c.Name)
			}
		}
	}
	slices.Sort(spec.strs)
	return &pitGroup{view: v.Name, spec: spec, ttl: time.Duration(v.TTL).Microseconds(), feats: feats}, ""
}

// keyTypeReason says that the cache does not hold a join key of k's type.
func keyTypeReason(view string, k JoinKey) string {
	return fmt.Sprintf("join key %s of view %s is a %s; the training-set cache holds integer and string keys", k.Name, view, k.Type)
}

// pitPlan is the cached join of a whole build: every group's, or none.
type pitPlan struct {
	spineSQL    string
	spineTables []engine.Table
	spineTime   string
	groups      []*pitGroup
	// reason says why cachedJoin returned no rows without an error (the build joins in DuckDB).
	reason string
}

// cachedJoin returns the dataset's rows joined from the training-set cache, or nil (without error) when the
// build joins in DuckDB: no cache, a group it cannot hold, a source table below pitMinBytes or whose entry
// would not fit. filled says whether an entry was made for this build.
func (b *Builder) cachedJoin(ctx context.Context, p *pitPlan) (rdr array.RecordReader, filled bool, err error) {
	if b.Cache == nil || b.Cache.MaxBytes <= 0 || p == nil {
		return nil, false, nil
	}
	defer func() {
		if rdr == nil {
			for _, g := range p.groups {
				_ = g.file.close()
				g.file = nil
			}
		}
	}()
	for _, g := range p.groups {
		if !g.holdsFeatures() { // before anything is filled for a build that could not read it
			p.reason = fmt.Sprintf("view %s asks for a feature the training-set cache does not hold (it holds the boolean, int, long, "+
				"float, double, date, timestamp, timestamptz and string columns of the view's table)", g.view)
			return nil, false, nil
		}
	}
	for _, g := range p.groups {
		f, err := b.Cache.open(&g.spec)
		if err != nil {
			return nil, false, err
		}
		if f == nil {
			table, snapshot := g.spec.tableNames(), g.spec.tableNames()+"'s snapshot"
			if g.spec.sql != "" {
				table = "view " + g.view + "'s rows (over " + table + ")"
				snapshot = table + " at these snapshots"
			}
			if why := tooSmall(&g.spec); why != "" {
				p.reason = table + ": " + why
				return nil, false, nil
			}
			if !b.Cache.admit(&g.spec) {
				p.reason = fmt.Sprintf("the first build of %s joins in DuckDB; the next one fills the training-set cache", snapshot)
				return nil, false, nil
			}
			var made bool
			if f, made, err = b.Cache.fill(ctx, b.Engine, &g.spec); refused(err, b.Cache.MaxBytes) != "" {
				p.reason = table + ": " + refused(err, b.Cache.MaxBytes)
				return nil, false, nil
			} else if err != nil {
				return nil, false, fmt.Errorf("training-set cache of %s: %w", table, err)
			}
			filled = filled || made
		}
		if f.strKeys != g.spec.stringKey() { // named by a digest of the key type: never, unless damaged
			_ = f.close()
			return nil, false, fmt.Errorf("training-set cache entry of %s has keys of another type", g.spec.tableNames())
		}
		for _, feat := range g.feats {
			if _, ok := f.colIdx[feat]; !ok { // a type the cache does not hold
				_ = f.close()
				p.reason = fmt.Sprintf("feature %s of view %s is not in the training-set cache's entry", feat, g.view)
				return nil, false, nil
			}
		}
		g.file = f
	}
	sel := []string{"spine.* EXCLUDE (__strata_row)", "spine.__strata_row AS " + SpineRow}
	for i, g := range p.groups {
		sel = append(sel, fmt.Sprintf("%s AS __strata_pk%d", g.spec.keyExpr("spine."), i))
	}
	sel = append(sel, "epoch_us(CAST(spine."+ident(p.spineTime)+" AS TIMESTAMPTZ)) AS __strata_pt")
	res, err := b.Engine.Query(ctx, "WITH spine AS ("+p.spineSQL+")\nSELECT "+strings.Join(sel, ", ")+" FROM spine", p.spineTables)
	if err != nil {
		return nil, false, err
	}
	in := res.Schema()
	keep := in.NumFields() - len(p.groups) - 1
	fields := append([]arrow.Field(nil), in.Fields()[:keep]...)
	r := &pitReader{src: res, plan: p, keep: keep}
	for _, g := range p.groups {
		for n, feat := range g.feats {
			c := g.file.cols[g.file.colIdx[feat]]
			fields = append(fields, arrow.Field{Name: g.outs[n], Type: c.arrowType(), Nullable: true})
		}
	}
	r.schema = arrow.NewSchema(fields, nil)
	r.refs.Store(1)
	return r, filled, nil
}

func tableBytes(t engine.Table) int64 {
	var n int64
	for _, f := range t.Files {
		if st, err := os.Stat(strings.TrimPrefix(f, "file://")); err == nil {
			n += st.Size()
		}
	}
	return n
}

// pitReader joins each batch of spine rows with the cached rows of every group. The joins run ahead of Next on
// pitWorkers goroutines (the Parquet writer that reads this waits for each batch otherwise: the copies are
// about as long as its encoding), and Next returns them in spine order.
type pitReader struct {
	src    *engine.Result
	plan   *pitPlan
	keep   int // the spine's columns, SpineRow included
	schema *arrow.Schema
	cur    arrow.RecordBatch
	refs   atomic.Int64

	started bool
	order   chan *pitJob  // every batch's job, in spine order
	stop    chan struct{} // closed by close: the reader stops
	done    sync.WaitGroup
	mu      sync.Mutex
	err     error
	closed  bool
}

// pitWorkers is how many batches are joined at once.
const pitWorkers = 2

// pitJob is one spine batch and, once joined, its dataset batch.
type pitJob struct {
	in    arrow.RecordBatch
	out   arrow.RecordBatch
	err   error
	ready chan struct{}
}

func (r *pitReader) Schema() *arrow.Schema { return r.schema }

func (r *pitReader) Retain() { r.refs.Add(1) }

func (r *pitReader) Release() {
	if r.refs.Add(-1) == 0 {
		r.close()
	}
}

func (r *pitReader) close() {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return
	}
	r.closed = true
	r.mu.Unlock()
	if r.cur != nil {
		r.cur.Release()
		r.cur = nil
	}
	if r.started {
		close(r.stop)
		for j := range r.order { // the reader closes order once it has stopped
			<-j.ready
			if j.out != nil {
				j.out.Release()
			}
		}
		r.done.Wait() // no worker reads the mapped rows any more
	}
	_ = r.src.Close()
	for _, g := range r.plan.groups {
		_ = g.file.close()
	}
}

func (r *pitReader) Err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return r.err
	}
	return r.src.Err()
}

func (r *pitReader) Record() arrow.RecordBatch      { return r.cur }
func (r *pitReader) RecordBatch() arrow.RecordBatch { return r.cur }

// start runs the reader of the spine's batches and the workers that join them.
func (r *pitReader) start() {
	r.started = true
	r.order = make(chan *pitJob, 2*pitWorkers)
	r.stop = make(chan struct{})
	jobs := make(chan *pitJob, pitWorkers)
	r.done.Add(1 + pitWorkers)
	go func() {
		defer r.done.Done()
		defer close(r.order)
		defer close(jobs)
		for r.src.Next() {
			in := r.src.RecordBatch()
			in.Retain() // the engine's batch is valid until its next Next otherwise
			j := &pitJob{in: in, ready: make(chan struct{})}
			select {
			case jobs <- j:
			case <-r.stop:
				in.Release()
				return
			}
			select {
			case r.order <- j:
			case <-r.stop:
				<-j.ready
				if j.out != nil {
					j.out.Release()
				}
				return
			}
		}
	}()
	for range pitWorkers {
		go func() {
			defer r.done.Done()
			for j := range jobs {
				j.out, j.err = r.join(j.in)
				j.in.Release()
				close(j.ready)
			}
		}()
	}
}

func (r *pitReader) Next() bool {
	if r.cur != nil {
		r.cur.Release()
		r.cur = nil
	}
	r.mu.Lock()
	stop := r.err != nil || r.closed
	r.mu.Unlock()
	if stop {
		return false
	}
	if !r.started {
		r.start()
	}
	j, ok := <-r.order
	if !ok {
		return false
	}
	<-j.ready
	if j.err != nil {
		r.mu.Lock()
		r.err = j.err
		r.mu.Unlock()
		return false
	}
	r.cur = j.out
	return true
}

// join returns the dataset's batch of one spine batch.
func (r *pitReader) join(in arrow.RecordBatch) (arrow.RecordBatch, error) {
	n := int(in.NumRows())
	cols := make([]arrow.Array, 0, r.schema.NumFields())
	cols = append(cols, in.Columns()[:r.keep]...)
	tsCol := in.Column(r.keep + len(r.plan.groups))
	ts, err := int64Values(tsCol)
	if err != nil {
		return nil, err
	}
	var made []arrow.Array
	defer func() {
		for _, a := range made {
			a.Release()
		}
	}()
	rows := make([]int, n)
	for gi, g := range r.plan.groups {
		kc := in.Column(r.keep + gi)
		// the spine row's key as the entry's key directory holds it: the key, or a string key's rank (-1: none)
		var keyOf func(i int) int64
		if g.file.strKeys {
			val, err := stringsOf(kc)
			if err != nil {
				return nil, err
			}
			keyOf = func(i int) int64 { return g.file.rankOf(val(i)) }
		} else {
			keys, err := int64Values(kc)
			if err != nil {
				return nil, err
			}
			keyOf = func(i int) int64 { return keys[i] }
		}
		for i := range n {
			rows[i] = -1
			if kc.IsValid(i) && tsCol.IsValid(i) {
				if k := keyOf(i); k >= 0 || !g.file.strKeys {
					rows[i] = g.file.match(k, ts[i], g.ttl)
				}
			}
		}
		cis := make([]int, len(g.feats))
		for k, feat := range g.feats {
			cis[k] = g.file.colIdx[feat]
		}
		arrs, err := gatherGroup(g.file, cis, rows)
		if err != nil {
			return nil, err
		}
		made = append(made, arrs...)
		cols = append(cols, arrs...)
	}
	return array.NewRecordBatch(r.schema, cols, int64(n)), nil
}

// gatherGroup returns columns cis of the cached rows at rows (-1: NULL) as Arrow arrays, reading each
// matched row once (its columns are adjacent: one row is a few cache lines).
func gatherGroup(f *pitFile, cis []int, rows []int) ([]arrow.Array, error) {
	type column struct {
		valid, vals []byte
		width, off  int // width -1: a string (vals its bytes, offs where each row's start)
		word        int
		bit         uint64
		nulls       int
		offs        []int32
	}
	n := len(rows)
	cs := make([]column, len(cis))
	for k, ci := range cis {
		c := &cs[k]
		c.width = pitTypes[f.cols[ci].Type].width
		c.valid = make([]byte, bitutil.BytesForBits(int64(n)))
		if c.width < 0 {
			c.offs = make([]int32, n+1)
		} else if c.width == 0 {
			c.vals = make([]byte, bitutil.BytesForBits(int64(n)))
		} else {
			c.vals = make([]byte, n*c.width)
		}
		c.word, c.bit, c.off = ci/64, uint64(1)<<(ci%64), 8*(f.words+ci)
	}
	rw := f.rowWidth
	for i, m := range rows {
		if m < 0 {
			for k := range cs {
				cs[k].nulls++
			}
			continue
		}
		row := f.rows[m*rw : (m+1)*rw : (m+1)*rw]
		for k := range cs {
			c := &cs[k]
			if *(*uint64)(unsafe.Pointer(&row[8*c.word]))&c.bit != 0 {
				c.nulls++
				continue
			}
			bitutil.SetBit(c.valid, i)
			src := unsafe.Pointer(&row[c.off])
			switch c.width {
			case -1:
				v := *(*uint64)(src)
				if v>>24+v&(1<<24-1) > uint64(len(f.heap)) {
					_ = os.Remove(f.path)
					return nil, fmt.Errorf("%w: %s was unreadable (a value of column %s is outside its strings): removed, a later build fills it again",
						errPITDamaged, f.path, f.cols[cis[k]].Name)
				}
				c.vals = append(c.vals, f.heap[v>>24:v>>24+v&(1<<24-1)]...)
				c.offs[i+1] = int32(v & (1<<24 - 1))
			case 8:
				*(*uint64)(unsafe.Pointer(&c.vals[8*i])) = *(*uint64)(src)
			case 4:
				*(*uint32)(unsafe.Pointer(&c.vals[4*i])) = *(*uint32)(src)
			case 2:
				*(*uint16)(unsafe.Pointer(&c.vals[2*i])) = *(*uint16)(src)
			case 1:
				c.vals[i] = *(*byte)(src)
			case 0:
				if *(*byte)(src) != 0 {
					bitutil.SetBit(c.vals, i)
				}
			}
		}
	}
	out := make([]arrow.Array, len(cis))
	for k, ci := range cis {
		c := &cs[k]
		var validBuf *memory.Buffer
		if c.nulls > 0 {
			validBuf = memory.NewBufferBytes(c.valid)
		}
		bufs := []*memory.Buffer{validBuf, memory.NewBufferBytes(c.vals)}
		if c.width < 0 {
			if len(c.vals) > math.MaxInt32 {
				return nil, fmt.Errorf("training-set cache: %d bytes of strings in one batch of %d rows (at most 2 GiB)", len(c.vals), n)
			}
			for i := range n { // lengths to offsets
				c.offs[i+1] += c.offs[i]
			}
			bufs = []*memory.Buffer{validBuf, memory.NewBufferBytes(arrow.Int32Traits.CastToBytes(c.offs)), memory.NewBufferBytes(c.vals)}
		}
		data := array.NewData(f.cols[ci].arrowType(), n, bufs, nil, c.nulls, 0)
		out[k] = array.MakeFromData(data)
		data.Release()
	}
	return out, nil
}

// CacheWarm is what WarmCache did for one view instance.
type CacheWarm struct {
	View     string `json:"view"`
	Instance string `json:"instance,omitempty"` // a parameterised view's instance, when not the default one
	Table    string `json:"table,omitempty"`    // zone.name of the source table
	Snapshot int64  `json:"snapshot_id,omitempty"`
	// State is "filled" (made now), "present" (already made) or "skipped" (Reason says why: builds of the
	// view join in DuckDB).
	State   string  `json:"state"`
	Reason  string  `json:"reason,omitempty"`
	Rows    int64   `json:"rows,omitempty"`
	Bytes   int64   `json:"bytes,omitempty"`
	File    string  `json:"file,omitempty"`
	Seconds float64 `json:"seconds"`
}

// WarmCache fills the training-set cache's entries that builds of the given features (view:feature
// references and feature service names, as Build takes them) in env would read, for the snapshots env's
// readers see now (prod: the current release's pins), so that the next build reads them at once instead of
// joining in DuckDB first. A view the cache cannot hold is reported as skipped, with the reason; an entry that
// exists is reported as present.
func (b *Builder) WarmCache(ctx context.Context, env string, refs []string, params map[string]map[string]string) ([]CacheWarm, error) {
	if b.Cache == nil || b.Cache.MaxBytes <= 0 {
		return nil, fmt.Errorf("the training-set cache is off (datasets.cache_bytes: 0): set it to warm the cache: %w", ErrInvalid)
	}
	groups, err := b.groupFeatures(ctx, DatasetRequest{Env: env, Features: refs, Params: params}, &Lineage{})
	if err != nil {
		return nil, err
	}
	out := make([]CacheWarm, 0, len(groups))
	for _, g := range groups {
		started := time.Now()
		w := CacheWarm{View: g.inst.View.Name}
		if !g.inst.Default {
			w.Instance = g.inst.Name
		}
		if err := b.warmGroup(ctx, env, g, &w); err != nil {
			return out, fmt.Errorf("view %s: %w", w.View, err)
		}
		w.Seconds = time.Since(started).Seconds()
		out = append(out, w)
	}
	return out, nil
}

func (b *Builder) warmGroup(ctx context.Context, env string, g *featureGroup, w *CacheWarm) error {
	v := g.inst.View
	feats, err := pickFeatures(v, g.features)
	if err != nil {
		return err
	}
	keys, err := b.joinKeys(ctx, env, v, &ViewLineage{})
	if err != nil {
		return err
	}
	src, tables, inputs, err := sourceOf(ctx, b.Envs, env, g.inst)
	if err != nil {
		return err
	}
	if len(inputs) == 1 {
		w.Table, w.Snapshot = inputs[0].Table, inputs[0].SnapshotID
	}
	scan, rows := positionalScan(v, tables), ""
	if scan == "" {
		if rows, err = v.rowsSQL(src, keys); err != nil {
			return err
		}
	}
	pg, why := cachedGroup(g.inst, keys, feats, tables, scan, rows)
	switch {
	case pg == nil:
		w.State, w.Reason = "skipped", why
		return nil
	case !pg.holdsFeatures():
		w.State, w.Reason = "skipped", "a feature the training-set cache does not hold"
		return nil
	}
	f, err := b.Cache.open(&pg.spec)
	if err != nil && ctx.Err() != nil {
		return err
	}
	// (a damaged entry was removed by open: it is filled again)
	w.State = "present"
	if f == nil {
		if why := tooSmall(&pg.spec); why != "" {
			w.State, w.Reason = "skipped", why
			return nil
		}
		var made bool
		f, made, err = b.Cache.fill(ctx, b.Engine, &pg.spec)
		if why := refused(err, b.Cache.MaxBytes); why != "" {
			w.State, w.Reason = "skipped", why
			return nil
		} else if err != nil {
			return err
		}
		if made {
			w.State = "filled"
		}
	}
	defer f.close()
	w.Rows, w.Bytes, w.File = int64(f.n), int64(len(f.data)), f.path
	for _, feat := range feats {
		if _, ok := f.colIdx[feat]; !ok {
			w.Reason = fmt.Sprintf("feature %s is of a type the training-set cache does not hold: builds asking for it join in DuckDB", feat)
			break
		}
	}
	return nil
}

// volatileSQL are the DuckDB functions and keywords whose value changes from one run of a query to the next: a
// view whose SQL uses one is never cached (an entry would keep the value of its fill).
var volatileSQL = map[string]bool{"now": true, "current_timestamp": true, "current_date": true, "current_time": true,
	"current_localtimestamp": true, "localtimestamp": true, "localtime": true, "today": true, "get_current_timestamp": true,
	"get_current_time": true, "transaction_timestamp": true, "random": true, "setseed": true, "uuid": true,
	"gen_random_uuid": true, "uuidv4": true, "uuidv7": true, "nextval": true, "currval": true}

// volatileWord returns the first word of sql's plain text (outside literals, quoted names and comments) that
// names a volatile function, or "".
func volatileWord(sql string) string {
	found, start, end := "", -1, -1
	check := func() {
		if found == "" && start >= 0 && volatileSQL[strings.ToLower(sql[start:end])] {
			found = sql[start:end]
		}
	}
	lakesql.Scan(sql, func(i int) {
		if lakesql.IsWordByte(sql[i]) {
			if i != end { // a new word (a gap: another byte, or text Scan skipped)
				check()
				start = i
			}
			end = i + 1
			return
		}
		check()
		start, end = -1, -1
	})
	check()
	return found
}

// tooSmall says why the cache does not hold spec's rows when its tables' data files are under pitMinBytes, or "".
func tooSmall(spec *pitSpec) string {
	if n := spec.dataBytes(); n < pitMinBytes {
		return fmt.Sprintf("%.1f MiB of data files, under the %.1f MiB the training-set cache starts at (small tables join fast in DuckDB)",
			float64(n)/(1<<20), float64(pitMinBytes)/(1<<20))
	}
	return ""
}

// refused says why a fill made no entry when its error is one of the cache's limits (the build joins in
// DuckDB), or "" for any other outcome.
func refused(err error, maxBytes int64) string {
	switch {
	case errors.Is(err, errPITTooBig):
		return fmt.Sprintf("the entry would take more than half of datasets.cache_bytes (%d bytes): raise it to cache this table", maxBytes)
	case errors.Is(err, errPITLongString):
		return err.Error() + " (the training-set cache holds shorter ones)"
	}
	return ""
}
