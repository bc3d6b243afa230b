package feastapi

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/strata-data/strata/auth"
	"github.com/strata-data/strata/envs"
	"github.com/strata-data/strata/features"
	"github.com/strata-data/strata/online"
	"github.com/strata-data/strata/online/record"
)

// getRequest is Feast's GetOnlineFeaturesRequest.
type getRequest struct {
	Features         []string `json:"features"`
	FeatureService   *string  `json:"feature_service"`
	Entities         entities `json:"entities"`
	FullFeatureNames bool     `json:"full_feature_names"`
	// Accepted for compatibility; Strata always answers statuses and timestamps.
	IncludeVersionMetadata bool `json:"include_feature_view_version_metadata"`
	// rawFeatures is the features array's JSON text, when the fast decoder read it (then Features is filled
	// only on demand, by features(): a cached shape needs no strings).
	rawFeatures []byte
}

// features returns the requested feature references.
func (r *getRequest) features() []string {
	if r.Features == nil && r.rawFeatures != nil {
		r.Features = []string{}
		for rest := r.rawFeatures; ; {
			i := bytes.IndexByte(rest, '"')
			if i < 0 {
				break
			}
			j := bytes.IndexByte(rest[i+1:], '"') // plain strings: no escaped quotes
			r.Features = append(r.Features, string(rest[i+1:i+1+j]))
			rest = rest[i+2+j:]
		}
	}
	return r.Features
}

// entities is the column-major entity map, in the order the request lists its keys (a request names one or a
// few: a slice, found by name, reused from request to request by the fast decoder).
type entities struct {
	cols []entityCol
}

type entityCol struct {
	name string
	vals []json.RawMessage
}

// col returns the values of the key named name.
func (e *entities) col(name string) ([]json.RawMessage, bool) {
	for i := range e.cols {
		if e.cols[i].name == name {
			return e.cols[i].vals, true
		}
	}
	return nil, false
}

func (e *entities) UnmarshalJSON(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return fmt.Errorf(`"entities" must be an object of join key -> list of values`)
	}
	e.cols = nil
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return err
		}
		name := t.(string)
		var col []json.RawMessage
		if err := dec.Decode(&col); err != nil {
			return fmt.Errorf(`entities.%s must be a list of values`, name)
		}
		if _, dup := e.col(name); dup {
			return fmt.Errorf(`entities.%s is given twice`, name)
		}
		e.cols = append(e.cols, entityCol{name: name, vals: col})
	}
	return nil
}

// column is one requested feature of one instance.
type column struct {
	inst *instance
	idx  int // inst's position in the plan's instances
	pos  int // position in inst.features
	name string
}

// shape is the part of a resolved request that depends only on the definitions, the requested references and
// full_feature_names: the instances to read and the output columns. It is cached in the catalog (so it is
// rebuilt when the definitions are reloaded) and is read-only once built.
type shape struct {
	insts []*instance
	cols  []column
	// names is the columns' part of metadata.feature_names, quoted once: `"a","b"`.
	names []byte
}

// plan is a resolved request: its shape, the key columns and their values. Its slices are reused from request
// to request (it lives in the pooled outBuf).
type plan struct {
	*shape
	keys []features.JoinKey // in the request's order
	vals [][]online.Value   // vals[i] are the values of keys[i]
	n    int
	need []features.JoinKey // scratch of entityValues
	key  []byte             // scratch of resolve's shape key
}

// valsOf returns the values of the key named name.
func (p *plan) valsOf(name string) []online.Value {
	for i := range p.keys {
		if p.keys[i].Name == name {
			return p.vals[i]
		}
	}
	return nil
}

func (s *Server) getOnlineFeatures(w http.ResponseWriter, r *http.Request) {
	env, err := s.env(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if p := auth.FromContext(r.Context()); p != nil && !p.CanRead(env) {
		s.fail(w, r, fmt.Errorf("user %q has no role in environment %q; an admin gives one with: strata user grant %s --env %s --role viewer: %w",
			p.User, env, p.User, env, envs.ErrForbidden))
		return
	}
	body, err := s.readBody(w, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	defer putBody(body) // the request's raw entity values point into it
	out := outPool.Get().(*outBuf)
	defer func() {
		if cap(out.ans.b) <= 4<<20 && out.rows.Size() <= 4<<20 {
			clear(out.bufs[:cap(out.bufs)]) // the pieces point into memory that is reused
			out.rows.Reset()
			outPool.Put(out)
		}
	}()
	req := &out.req
	*req = getRequest{Entities: entities{cols: req.Entities.cols[:0]}} // keeps the columns' memory
	if err := decodeGetRequest(body.Bytes(), req); err != nil {
		s.fail(w, r, err)
		return
	}
	cat, err := s.cats.get(r.Context(), env)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p := &out.plan
	if err := s.resolve(cat, env, req, p); err != nil {
		s.fail(w, r, err)
		return
	}
	out.results = grow(out.results, len(p.insts))
	for i, in := range p.insts {
		out.ents, out.flat = grow(out.ents, p.n), grow(out.flat, p.n*len(in.keys))
		for e := range out.ents {
			out.ents[e] = out.flat[e*len(in.keys) : (e+1)*len(in.keys)]
		}
		for k, jk := range in.keys {
			for e, v := range p.valsOf(jk.Name) {
				out.ents[e][k] = v
			}
		}
		if out.results[i], err = s.o.Store.GetJSON(r.Context(), s.instanceSpace(env, in), out.ents, in.features, &out.rows); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	bw := findBuffersWriter(w)
	out.ans.reset(out.ans.b, bw != nil)
	out.tail = s.render(&out.ans, out.tail[:0], p, out.results, out)
	var n int
	out.bufs, n = out.ans.buffers(out.bufs[:0])
	h := w.Header()
	h["Content-Type"] = jsonType[:1:1]
	h.Set("Content-Length", strconv.Itoa(n)) // one write, no chunked framing
	if bw == nil {
		_, _ = w.Write(out.ans.b) // every piece was copied into it
		return
	}
	w.WriteHeader(http.StatusOK) // through every wrapper of w, which bw may be inside of
	_, _ = bw.WriteBuffers(out.bufs)
}

// jsonType is the Content-Type of answers, shared read-only (Header.Set would allocate it per request).
var jsonType = []string{"application/json"}

// grow returns s with length n, reusing its memory.
func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// outBuf is a response being built (a 100 × 50 answer is about a quarter of a megabyte, of which ~110 KB in its
// own buffer when the shared lists go by reference), its scratch space and the memory the store's rows are
// read into, reused from request to request.
type outBuf struct {
	ans  answer
	bufs net.Buffers
	tail []byte
	rows online.Buffer
	// The request, its plan and the per-request slices, kept with their memory.
	req     getRequest
	plan    plan
	results [][]online.JSONRow
	ents    [][]online.Value
	flat    []online.Value
	insts   []instRows
	states  []rowState
}

var outPool = sync.Pool{New: func() any { return new(outBuf) }}

// resolve checks a request against the environment's definitions into p. Every unknown name is reported at once.
func (s *Server) resolve(cat *catalog, env string, req *getRequest, p *plan) error {
	key := appendShapeKey(p.key[:0], req) // in the pooled plan: 50 features' key is ~600 bytes
	p.key = key
	cat.mu.RLock()
	sh, ok := cat.shapes[string(key)]
	cat.mu.RUnlock()
	if !ok {
		var err error
		if sh, err = s.resolveShape(cat, env, req); err != nil {
			return err
		}
		cat.mu.Lock()
		if len(cat.shapes) < maxShapes {
			if cat.shapes == nil {
				cat.shapes = map[string]*shape{}
			}
			cat.shapes[string(key)] = sh
		}
		cat.mu.Unlock()
	}
	p.shape = sh
	return s.entityValues(p, req)
}

// instanceSpace is the key space an instance is read from: the syncer's, else the environment's plain one.
func (s *Server) instanceSpace(env string, in *instance) string {
	if sp, ok := s.o.Sync.Served(env, in.space); ok {
		return sp
	}
	return in.plain
}

// maxShapes bounds the shapes cached per catalog: callers making up new feature lists cannot grow memory.
const maxShapes = 4096

// appendShapeKey appends what identifies a request's shape within one catalog: full_feature_names, the feature
// service and the features (their JSON text as sent, when the fast decoder read them).
func appendShapeKey(b []byte, req *getRequest) []byte {
	if req.FullFeatureNames {
		b = append(b, 'F')
	} else {
		b = append(b, 'f')
	}
	if req.FeatureService != nil {
		b = append(append(append(b, 'S'), *req.FeatureService...), 0)
	}
	if req.Features == nil && req.rawFeatures != nil {
		return append(append(b, 'R'), req.rawFeatures...)
	}
	for _, f := range req.Features {
		b = append(append(b, f...), 0)
	}
	return b
}

// resolveShape builds a request's shape.
func (s *Server) resolveShape(cat *catalog, env string, req *getRequest) (*shape, error) {
	refs, err := featureRefs(cat, env, req)
	if err != nil {
		return nil, err
	}
	p := &shape{}
	byRef := map[string]*instance{}
	var unknownViews, offlineViews, unknownFeats, bad []string
	for _, ref := range refs {
		vname, params, feat, err := parseRef(cat, ref)
		if err != nil {
			bad = append(bad, err.Error())
			continue
		}
		v, ok := cat.views[vname]
		if !ok {
			unknownViews = append(unknownViews, vname)
			continue
		}
		if !v.Online {
			offlineViews = append(offlineViews, vname)
			continue
		}
		inst, err := v.Instance(params)
		if err != nil {
			bad = append(bad, err.Error())
			continue
		}
		space := inst.Name
		in, ok := byRef[space]
		if !ok {
			keys, err := cat.joinKeys(v)
			if err != nil {
				return nil, err
			}
			in = &instance{view: v, ref: vname, space: space, plain: online.Space(env, space), keys: keys, idx: len(p.insts)}
			byRef[space] = in
			p.insts = append(p.insts, in)
		}
		for _, f := range viewFeatures(v, feat) {
			if f == "" {
				unknownFeats = append(unknownFeats, vname+":"+feat)
				continue
			}
			in.features = append(in.features, f)
			name := f
			if req.FullFeatureNames {
				name = space + "__" + f
			}
			p.cols = append(p.cols, column{inst: in, idx: in.idx, pos: len(in.features) - 1, name: name})
		}
	}
	if len(unknownViews) > 0 {
		bad = append(bad, fmt.Sprintf("unknown feature views in %s: %s (see GET /api/v1/envs/%s/features)", env, uniq(unknownViews), env))
	}
	if len(offlineViews) > 0 {
		bad = append(bad, fmt.Sprintf("feature views not served online in %s: %s (declare online: true, strata apply, then strata materialize)", env, uniq(offlineViews)))
	}
	if len(unknownFeats) > 0 {
		bad = append(bad, "unknown features: "+uniq(unknownFeats))
	}
	if len(bad) > 0 {
		return nil, fmt.Errorf("%s: %w", strings.Join(bad, "; "), ErrInvalid)
	}
	if err := p.checkNames(req.FullFeatureNames); err != nil {
		return nil, err
	}
	for i, c := range p.cols {
		p.names = strconv.AppendQuote(appendSep(p.names, i), c.name)
	}
	return p, nil
}

// featureRefs returns the requested references: the features list, or a feature service's (with includes).
func featureRefs(cat *catalog, env string, req *getRequest) ([]string, error) {
	switch {
	case req.FeatureService != nil && len(req.features()) > 0:
		return nil, fmt.Errorf(`give either "features" or "feature_service", not both: %w`, ErrInvalid)
	case req.FeatureService != nil:
		var out []string
		if err := expandService(cat, *req.FeatureService, map[string]bool{}, &out); err != nil {
			return nil, fmt.Errorf("%v (services in %s: GET /api/v1/envs/%s/features): %w", err, env, env, ErrInvalid)
		}
		return out, nil
	case len(req.features()) == 0:
		return nil, fmt.Errorf(`give "features" (["view:feature", ...]) or "feature_service": %w`, ErrInvalid)
	}
	return req.features(), nil
}

func expandService(cat *catalog, name string, seen map[string]bool, out *[]string) error {
	svc, ok := cat.services[name]
	if !ok {
		return fmt.Errorf("unknown feature service %q", name)
	}
	if seen[name] {
		return nil
	}
	seen[name] = true
	*out = append(*out, svc.Features...)
	for _, inc := range svc.Include {
		if err := expandService(cat, inc, seen, out); err != nil {
			return err
		}
	}
	return nil
}

// viewFeatures returns the named feature ("" when the view lacks it), or every feature for a bare view name.
func viewFeatures(v *features.View, feat string) []string {
	if feat == "" {
		out := make([]string, len(v.Features))
		for i, f := range v.Features {
			out[i] = f.Name
		}
		return out
	}
	for _, f := range v.Features {
		if f.Name == feat {
			return []string{feat}
		}
	}
	return []string{""}
}

func (p *shape) checkNames(full bool) error {
	seen := map[string]bool{}
	for _, c := range p.cols {
		if seen[c.name] {
			if full {
				return fmt.Errorf("feature %s is requested twice: %w", c.name, ErrInvalid)
			}
			return fmt.Errorf("two requested features are both named %s: set \"full_feature_names\": true to tell them apart: %w", c.name, ErrInvalid)
		}
		seen[c.name] = true
	}
	return nil
}

// entityValues checks the entity columns: every join key the views need, no other, equal lengths within the
// limit, values of the keys' types.
func (s *Server) entityValues(p *plan, req *getRequest) error {
	need := p.need[:0]
	var missing []string
	for _, in := range p.insts {
		for _, k := range in.keys {
			if !hasKey(need, k.Name) {
				need = append(need, k)
				if _, given := req.Entities.col(k.Name); !given {
					missing = append(missing, fmt.Sprintf("%s (a %s, needed by feature view %s)", k.Name, k.Type, in.ref))
				}
			}
		}
	}
	p.need = need
	var unknown []string
	for _, c := range req.Entities.cols {
		if !hasKey(need, c.name) {
			unknown = append(unknown, c.name)
		}
	}
	switch {
	case len(missing) > 0:
		return fmt.Errorf("entities lacks join keys: %s: %w", strings.Join(missing, ", "), ErrInvalid)
	case len(unknown) > 0:
		return fmt.Errorf("entities has keys no requested feature view uses: %s (the views need %s): %w", strings.Join(unknown, ", "), keyNames(need), ErrInvalid)
	}
	p.n = -1
	p.keys = p.keys[:0]
	p.vals = grow(p.vals, len(req.Entities.cols))
	for i, c := range req.Entities.cols {
		if p.n >= 0 && len(c.vals) != p.n {
			return fmt.Errorf("entities lists have different lengths (%s has %d, %s has %d): give one value per entity row in every list: %w",
				req.Entities.cols[0].name, p.n, c.name, len(c.vals), ErrInvalid)
		}
		p.n = len(c.vals)
		if p.n > s.o.MaxEntities {
			return fmt.Errorf("%d entity rows is more than serving.max_entities (%d): split the request: %w", p.n, s.o.MaxEntities, ErrTooLarge)
		}
		k := need[keyIndex(need, c.name)]
		vals, err := keyValues(k, c.vals, p.vals[i][:0])
		if err != nil {
			return err
		}
		p.vals[i] = vals
		p.keys = append(p.keys, k)
	}
	if p.n < 0 {
		p.n = 0
	}
	return nil
}

func hasKey(keys []features.JoinKey, name string) bool { return keyIndex(keys, name) >= 0 }

func keyIndex(keys []features.JoinKey, name string) int {
	for i := range keys {
		if keys[i].Name == name {
			return i
		}
	}
	return -1
}

func keyNames(keys []features.JoinKey) string {
	var out []string
	for _, k := range keys {
		out = append(out, k.Name)
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}

// keyValues converts a column of JSON values to a join key's type: integers for int/long keys, strings for
// string keys. Anything else is a 400 naming the key, the row and the value.
func keyValues(k features.JoinKey, col []json.RawMessage, dst []online.Value) ([]online.Value, error) {
	out := grow(dst, len(col))
	for i, raw := range col {
		switch k.Type {
		case "int", "long":
			n, err := strconv.ParseInt(string(raw), 10, 64)
			if err != nil {
				return nil, fmt.Errorf("entities.%s[%d] is %s: join key %s is a %s, give an integer: %w", k.Name, i, raw, k.Name, k.Type, ErrInvalid)
			}
			out[i] = record.IntValue(n)
		case "string":
			var s string
			if len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
				return nil, fmt.Errorf("entities.%s[%d] is %s: join key %s is a string, give a JSON string: %w", k.Name, i, raw, k.Name, ErrInvalid)
			}
			out[i] = record.StringValue(s)
		default:
			return nil, fmt.Errorf("join key %s is a %s: online serving takes int, long or string keys: %w", k.Name, k.Type, ErrInvalid)
		}
	}
	return out, nil
}

func uniq(list []string) string {
	seen := map[string]bool{}
	var out []string
	for _, s := range list {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return strings.Join(out, ", ")
}

const epoch = `"1970-01-01T00:00:00Z"`

// Lists of n equal items are copied from these precomputed texts (prefixes of them), not built item by item:
// every status of a column is usually PRESENT.
var (
	presentList = strings.Repeat(`"PRESENT",`, 1000)
	epochList   = strings.Repeat(epoch+",", 1000)
	// presentBytes is presentList, shared read-only by the answers that send a piece of it by reference.
	presentBytes = []byte(presentList)
)

// appendList appends n copies of item, comma separated, from list (n copies of item+","), or item by item when
// n is longer than list.
func appendList(b []byte, list, item string, n int) []byte {
	if n <= 0 {
		return b
	}
	if l := n * (len(item) + 1); l <= len(list) {
		return append(b, list[:l-1]...)
	}
	return appendRepeat(b, item, n)
}

// render writes Feast's column-major response: the key columns first, then each feature with its statuses and
// event timestamps.
//
// The event timestamps of an instance and a column's statuses when all PRESENT are appended by reference (see
// answer): tail, which holds the timestamps, must stay unchanged until the answer is written.
func (s *Server) render(a *answer, tail []byte, p *plan, rows [][]online.JSONRow, out *outBuf) []byte {
	now := s.o.Now().UnixMicro()
	b := append(a.b, `{"metadata":{"feature_names":[`...)
	for i, k := range p.keys {
		b = appendSep(b, i)
		b = strconv.AppendQuote(b, k.Name)
	}
	b = append(appendSep(b, len(p.keys)*len(p.cols)), p.names...)
	b = append(b, `]},"results":[`...)
	for i := range p.keys {
		b = appendSep(b, i)
		b = append(b, `{"values":[`...)
		for e, v := range p.vals[i] {
			b = appendSep(b, e)
			b = appendValue(b, v)
		}
		b = appendList(append(b, `],"statuses":[`...), presentList, `"PRESENT"`, p.n)
		b = appendList(append(b, `],"event_timestamps":[`...), epochList, epoch, p.n)
		b = append(b, "]}"...)
	}
	// Each instance's event_timestamps list is formatted once, for all its features, into tail, and each of its
	// rows gets its state (absent, too old, fresh) once, for all its features.
	out.insts = grow(out.insts, len(p.insts))
	out.states = grow(out.states, len(p.insts)*p.n)
	insts := out.insts
	for i, in := range p.insts {
		start := len(tail)
		tail = appendStamps(tail, rows[i])
		insts[i] = instRows{rows: rows[i], stamps: [2]int{start, len(tail)}}
		insts[i].states = out.states[i*p.n : (i+1)*p.n]
		insts[i].allFresh = rowStates(rows[i], time.Duration(in.view.TTL).Microseconds(), now, insts[i].states)
	}
	a.b = b
	for i, c := range p.cols {
		a.b = appendSep(a.b, i+len(p.keys))
		in := &insts[c.idx]
		appendColumn(a, c.pos, in, tail[in.stamps[0]:in.stamps[1]:in.stamps[1]])
	}
	a.b = append(a.b, "]}\n"...)
	return tail
}

// instRows is one instance's rows as render needs them.
type instRows struct {
	rows     []online.JSONRow
	stamps   [2]int // its event_timestamps list in render's tail
	states   []rowState
	allFresh bool // every row found and within the TTL
}

// rowState is what a row's status is, before its values are looked at.
type rowState uint8

const (
	rowFresh   rowState = iota
	rowAbsent           // NOT_FOUND
	rowExpired          // OUTSIDE_MAX_AGE, unless the value is missing
)

// rowStates classifies rows against the TTL (µs; 0 = none) at now into states (one per row) and tells whether
// every row is fresh.
func rowStates(rows []online.JSONRow, ttl, now int64, states []rowState) bool {
	all := true
	for e := range rows {
		switch r := &rows[e]; {
		case !r.Found:
			states[e], all = rowAbsent, false
		case ttl > 0 && now-r.EventUS > ttl:
			states[e], all = rowExpired, false
		default:
			states[e] = rowFresh
		}
	}
	return all
}

func appendStamps(b []byte, rows []online.JSONRow) []byte {
	prev, from, to := int64(0), 0, 0 // rows often share an event time (one load): its text is copied
	for e := range rows {
		r := &rows[e]
		b = appendSep(b, e)
		switch {
		case !r.Found:
			b = append(b, epoch...)
		case e > 0 && to > from && r.EventUS == prev:
			b = append(b, b[from:to]...)
		default:
			from = len(b)
			b = record.AppendJSONTime(b, r.EventUS)
			prev, to = r.EventUS, len(b)
		}
	}
	return b
}

// appendColumn writes one feature's values, statuses and event timestamps (stamps, formatted by render). The
// values are the stored JSON texts, copied; the statuses, when all PRESENT (the common case), one piece of
// presentList; the timestamps, the instance's list (both by reference when long: see answer).
func appendColumn(a *answer, pos int, in *instRows, stamps []byte) {
	b := append(a.b, `{"values":[`...)
	b = slices.Grow(b, len(in.rows)*(shortText+1)) // room for the short copies below
	present := in.allFresh
	for e := range in.rows {
		r := &in.rows[e]
		if e > 0 {
			b = append(b, ',')
		}
		c := r.Cell(pos)
		switch end := int(c.Off) + shortText; {
		case c.Len == 0:
			b = append(b, "null"...)
		case c.Len <= shortText && end <= len(r.Data) && cap(b)-len(b) >= shortText:
			b = copyShort(b, r.Data[c.Off:end], int(c.Len))
		default:
			b = append(b, r.Data[c.Off:c.Off+c.Len]...)
		}
		if c.Kind == record.Null || c.Kind == record.Missing {
			present = false
		}
	}
	b = append(b, `],"statuses":[`...)
	if n := len(in.rows); present && n*len(`"PRESENT",`) <= len(presentList) {
		if n > 0 {
			a.b = b
			a.ref(presentBytes[:n*len(`"PRESENT",`)-1])
			b = a.b
		}
	} else {
		for e := range in.rows {
			b = appendSep(b, e)
			b = append(b, status(in.states[e], in.rows[e].Cell(pos).Kind)...)
		}
	}
	a.b = append(b, `],"event_timestamps":[`...)
	a.ref(stamps)
	a.b = append(a.b, "]}"...)
}

// shortText is the longest value text copyShort copies: a double's shortest form is at most 24 bytes.
const shortText = 24

// copyShort appends the first n (≤ shortText) bytes of src, which holds shortText bytes, to b, whose capacity
// holds shortText more: three 8-byte moves instead of a call to memmove per value (5,000 values in a 100×50
// answer; profile: memmove and the copy loop were ~16% of the server's CPU).
func copyShort(b, src []byte, n int) []byte {
	l := len(b)
	d := b[l : l+shortText]
	binary.LittleEndian.PutUint64(d, binary.LittleEndian.Uint64(src))
	binary.LittleEndian.PutUint64(d[8:], binary.LittleEndian.Uint64(src[8:]))
	binary.LittleEndian.PutUint64(d[16:], binary.LittleEndian.Uint64(src[16:]))
	return b[:l+n]
}

// status is the Feast status of a value of kind in a row of state st.
func status(st rowState, k record.Kind) string {
	switch {
	case st == rowAbsent || k == record.Missing:
		return `"NOT_FOUND"`
	case st == rowExpired:
		return `"OUTSIDE_MAX_AGE"`
	case k == record.Null:
		return `"NULL_VALUE"`
	}
	return `"PRESENT"`
}

func appendSep(b []byte, i int) []byte {
	if i > 0 {
		return append(b, ',')
	}
	return b
}

func appendRepeat(b []byte, s string, n int) []byte {
	for i := 0; i < n; i++ {
		b = appendSep(b, i)
		b = append(b, s...)
	}
	return b
}

// appendValue writes a key value as the JSON the response carries (record.AppendJSON; stored feature values
// carry that text already).
func appendValue(b []byte, v online.Value) []byte { return record.AppendJSON(b, v) }
