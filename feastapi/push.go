package feastapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/strata-data/strata/auth"
	"github.com/strata-data/strata/envs"
	"github.com/strata-data/strata/errs"
	"github.com/strata-data/strata/features"
	"github.com/strata-data/strata/lake"
	"github.com/strata-data/strata/online"
	"github.com/strata-data/strata/online/record"
)

// pushRequest is Feast's PushFeaturesRequest. A Strata feature view is its own push source: push_source_name
// names the view.
type pushRequest struct {
	PushSourceName     string   `json:"push_source_name"`
	DF                 entities `json:"df"`
	To                 string   `json:"to"`
	AllowRegistryCache *bool    `json:"allow_registry_cache"`
	TransformOnWrite   *bool    `json:"transform_on_write"`
}

// pushCol is one validated column of a push: its name, declared type and values.
type pushCol struct {
	name, typ string
	vals      []online.Value
}

func (s *Server) push(w http.ResponseWriter, r *http.Request) {
	res, err := s.doPush(r.Context(), w, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(res)
}

type pushResult struct {
	Rows            int    `json:"rows"`
	To              string `json:"to"`
	OnlineSpace     string `json:"online_space,omitempty"`
	OfflineTable    string `json:"offline_table,omitempty"`
	OfflineSnapshot int64  `json:"offline_snapshot_id,omitempty"`
}

func (s *Server) doPush(ctx context.Context, w http.ResponseWriter, r *http.Request) (*pushResult, error) {
	env, err := s.env(r)
	if err != nil {
		return nil, err
	}
	var req pushRequest
	if err := s.decode(w, r, &req); err != nil {
		return nil, err
	}
	if req.To == "" {
		req.To = "online"
	}
	toOnline, toOffline := req.To == "online" || req.To == "online_and_offline", req.To == "offline" || req.To == "online_and_offline"
	if !toOnline && !toOffline {
		return nil, fmt.Errorf(`"to" is %q: use online, offline or online_and_offline: %w`, req.To, ErrInvalid)
	}
	e, err := s.o.Envs.Get(ctx, env)
	if err != nil {
		return nil, err
	}
	if e.Kind == envs.KindProd {
		return nil, fmt.Errorf("%s is a prod environment: its data changes only through pipeline runs and published releases; "+
			"push to a dev environment (?env=dev): %w", env, envs.ErrForbidden)
	}
	if p := auth.FromContext(ctx); p != nil && !p.CanWrite(env, false) {
		return nil, fmt.Errorf("user %q (%s in %q) may not push: writing needs developer or admin there: %w",
			p.User, p.Role(env), env, envs.ErrForbidden)
	}
	cat, err := s.cats.get(ctx, env)
	if err != nil {
		return nil, err
	}
	v, ok := cat.views[req.PushSourceName]
	if !ok {
		return nil, fmt.Errorf("push_source_name %q: no such feature view in %s (a view is its own push source): %w", req.PushSourceName, env, ErrInvalid)
	}
	keys, err := cat.joinKeys(v)
	if err != nil {
		return nil, err
	}
	var table map[string]string // the source table's engine types, for a push offline
	if toOffline {
		if table, err = s.sourceTypes(ctx, env, v); err != nil {
			return nil, err
		}
	}
	sh, err := pushShapeOf(v, keys, toOnline, toOffline, table)
	if err != nil {
		return nil, err
	}
	cols, n, err := s.pushColumns(sh, len(keys), &req.DF)
	if err != nil {
		return nil, err
	}
	res := &pushResult{Rows: n, To: req.To}
	if toOffline { // first: the write gate may refuse it, and then nothing is written online either
		if err := s.pushOffline(ctx, env, v, cols, table, res); err != nil {
			return nil, err
		}
	}
	if toOnline {
		if err := s.pushOnline(ctx, env, v, keys, cols, res); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// pushOnline writes the rows into the space serving the view's default instance and into the plain space,
// which keeps the pushes: the syncer copies them into each space it loads (newer wins, so a table row newer
// than a push wins). Syncer.Pushing keeps the served space from changing while the rows are written, so a
// push is either in the plain space before a newly served space is given the pushes, or written into that
// space itself: none is lost in a swap.
func (s *Server) pushOnline(ctx context.Context, env string, v *features.View, keys []features.JoinKey, cols []pushCol, res *pushResult) error {
	done := s.o.Sync.Pushing()
	defer done()
	res.OnlineSpace = s.space(env, v.Name)
	spaces := []string{res.OnlineSpace}
	if plain := online.Space(env, v.Name); plain != res.OnlineSpace {
		spaces = append(spaces, plain)
	}
	for _, sp := range spaces {
		if err := s.writeOnline(ctx, sp, v, keys, cols, res.Rows); err != nil {
			return err
		}
	}
	return nil
}

func (s *Server) writeOnline(ctx context.Context, space string, v *features.View, keys []features.JoinKey, cols []pushCol, n int) error {
	rdr, err := buildReader(cols, n, onlineNames(v), nil)
	if err != nil {
		return err
	}
	defer rdr.Release()
	return s.o.Store.WriteLatest(ctx, space, keyNamesOf(keys), rdr)
}

// pushShape is what a push's df must hold: its columns in order (join keys, event time, created time, then
// the others) with the types their values are read as, and how messages name what the df is checked against.
type pushShape struct {
	cols     []pushCol
	optional string // a column the df may leave out (the created time)
	lacks    string // "df lacks columns <lacks>: ..."
	extra    string // "df has columns <extra>: ..."
	hint     func(unknown []string) string
}

// pushShapeOf is the df a push to v takes. Online, and offline for a view without window aggregations, it is
// the view's columns: join keys, event time, created time (optional) and features, of their declared types.
// Offline, a view with window aggregations takes a row of its source table instead: the columns the view
// reads from it (join keys, event and created time, each aggregation's input column, each plain feature),
// never the aggregates, which `strata materialize` computes; the values are read as the table's types. The
// two differ, so such a view cannot be pushed online and offline at once. table holds the source table's
// engine types (sourceTypes) for a push offline.
func pushShapeOf(v *features.View, keys []features.JoinKey, toOnline, toOffline bool, table map[string]string) (*pushShape, error) {
	sh := &pushShape{optional: v.CreatedTime, lacks: "of feature view " + v.Name, extra: "feature view " + v.Name + " does not declare",
		hint: func([]string) string { return "" }}
	for _, k := range keys {
		sh.cols = append(sh.cols, pushCol{name: k.Name, typ: k.Type})
	}
	sh.cols = append(sh.cols, pushCol{name: v.EventTime, typ: "timestamp"})
	if v.CreatedTime != "" {
		sh.cols = append(sh.cols, pushCol{name: v.CreatedTime, typ: "timestamp"})
	}
	aggs, inputs := aggregatesOf(v)
	if len(aggs) == 0 || !toOffline {
		for _, f := range v.Features {
			sh.cols = append(sh.cols, pushCol{name: f.Name, typ: f.Type})
		}
		return sh, nil
	}
	if toOnline {
		return nil, fmt.Errorf("feature view %s has window aggregations, so a push online and a push offline take different rows: "+
			"online the view's features (%s), offline a row of its table %s (%s), from which `strata materialize` computes the aggregates: "+
			"push the table's rows with \"to\": \"offline\" (and the aggregates with \"to\": \"online\" if they must be served before the next materialisation): %w",
			v.Name, strings.Join(featureNames(v), ", "), v.Source.Table, strings.Join(append(colNames(sh.cols), inputs...), ", "), ErrInvalid)
	}
	for _, in := range inputs {
		sh.cols = append(sh.cols, pushCol{name: in})
	}
	var bad []string
	for i := range sh.cols {
		c := &sh.cols[i]
		duck, ok := table[c.name]
		if !ok {
			bad = append(bad, fmt.Sprintf("its table %s has no column %s (apply the view again, or add the column to the table)", v.Source.Table, c.name))
			continue
		}
		if t := duckToDecl(duck); t != "" {
			c.typ = t
		} else if c.typ == "" {
			bad = append(bad, fmt.Sprintf("column %s of %s is %s, which a push cannot write (pushes take booleans, integers, floats, strings, dates and timestamps)", c.name, v.Source.Table, duck))
		}
	}
	if len(bad) > 0 {
		return nil, fmt.Errorf("feature view %s: %s: %w", v.Name, strings.Join(bad, "; "), ErrInvalid)
	}
	sh.lacks = "feature view " + v.Name + " reads from its table " + v.Source.Table
	sh.extra = "feature view " + v.Name + " does not read from its table " + v.Source.Table
	sh.hint = func(unknown []string) string {
		for _, u := range unknown {
			if slices.Contains(aggs, u) {
				return " (a push offline is a row of the table: the aggregates " + strings.Join(aggs, ", ") +
					" are computed from the table's rows by `strata materialize`; push them with \"to\": \"online\")"
			}
		}
		return ""
	}
	return sh, nil
}

// aggregatesOf returns the view's aggregated features and the columns it reads from its source besides the
// keys and times: each aggregation's input column and each plain feature, in declared order, once each.
func aggregatesOf(v *features.View) (aggs, inputs []string) {
	for _, f := range v.Features {
		in := f.Name
		if f.Aggregation != nil {
			aggs, in = append(aggs, f.Name), f.Aggregation.Column
		}
		if in != "" && in != v.EventTime && in != v.CreatedTime && !slices.Contains(inputs, in) {
			inputs = append(inputs, in)
		}
	}
	return aggs, inputs
}

func featureNames(v *features.View) []string {
	out := make([]string, len(v.Features))
	for i, f := range v.Features {
		out[i] = f.Name
	}
	return out
}

func colNames(cols []pushCol) []string {
	out := make([]string, len(cols))
	for i, c := range cols {
		out[i] = c.name
	}
	return out
}

// pushColumns checks the df against the shape: every column of it (the optional one may be left out), no
// other; equal lengths; values of the shape's types, join keys (the first nkeys columns) and the event time
// not null. Nothing is written when anything is wrong, and every problem is named at once.
func (s *Server) pushColumns(sh *pushShape, nkeys int, df *entities) ([]pushCol, int, error) {
	want := sh.cols
	known := map[string]bool{}
	var missing, problems []string
	for _, c := range want {
		known[c.name] = true
		if _, ok := df.col(c.name); !ok && c.name != sh.optional {
			missing = append(missing, c.name)
		}
	}
	var unknown []string
	for _, c := range df.cols {
		if !known[c.name] {
			unknown = append(unknown, c.name)
		}
	}
	if len(missing) > 0 {
		problems = append(problems, "df lacks columns "+sh.lacks+": "+strings.Join(missing, ", "))
	}
	if len(unknown) > 0 {
		problems = append(problems, "df has columns "+sh.extra+": "+strings.Join(unknown, ", ")+sh.hint(unknown))
	}
	if len(problems) > 0 {
		return nil, 0, fmt.Errorf("%s: %w", strings.Join(problems, "; "), ErrInvalid)
	}
	n := -1
	var out []pushCol
	for i, c := range want {
		raw, ok := df.col(c.name)
		if !ok {
			continue
		}
		if n >= 0 && len(raw) != n {
			return nil, 0, fmt.Errorf("df columns have different lengths (%s has %d, %s has %d): %w", out[0].name, n, c.name, len(raw), ErrInvalid)
		}
		n = len(raw)
		if n > s.o.MaxEntities*100 {
			return nil, 0, fmt.Errorf("%d rows in one push: send at most %d (100 × serving.max_entities): %w", n, s.o.MaxEntities*100, ErrTooLarge)
		}
		nullable := i >= nkeys+1 // keys and the event time may not be null
		vals := make([]online.Value, n)
		for j, m := range raw {
			val, err := parseValue(c.typ, m, nullable)
			if err != nil {
				problems = append(problems, fmt.Sprintf("df.%s[%d] is %s: %v", c.name, j, m, err))
				if len(problems) >= 10 {
					break
				}
			}
			vals[j] = val
		}
		c.vals = vals
		out = append(out, c)
	}
	if len(problems) > 0 {
		return nil, 0, fmt.Errorf("%s: nothing was written: %w", strings.Join(problems, "; "), ErrInvalid)
	}
	if n <= 0 {
		return nil, 0, fmt.Errorf("df has no rows: %w", ErrInvalid)
	}
	return out, n, nil
}

var timeLayouts = []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999Z07:00", "2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999", "2006-01-02"}

// parseValue reads one JSON value as a declared type.
func parseValue(typ string, raw json.RawMessage, nullable bool) (online.Value, error) {
	s := string(raw)
	if s == "null" {
		if !nullable {
			return online.Value{}, fmt.Errorf("null, but it may not be")
		}
		return online.Value{}, nil
	}
	var str string
	isStr := len(s) > 0 && s[0] == '"' && json.Unmarshal(raw, &str) == nil
	switch typ {
	case "boolean":
		if s == "true" || s == "false" {
			return record.BoolValue(s == "true"), nil
		}
	case "int", "long":
		if n, err := strconv.ParseInt(s, 10, 64); err == nil && (typ == "long" || int64(int32(n)) == n) {
			return record.IntValue(n), nil
		}
	case "float", "double":
		if f, err := strconv.ParseFloat(s, 64); err == nil && !isStr {
			return record.FloatValue(f), nil
		}
	case "string":
		if isStr {
			return record.StringValue(str), nil
		}
	case "date", "timestamp", "timestamptz":
		if isStr {
			for _, l := range timeLayouts {
				if t, err := time.Parse(l, str); err == nil {
					return record.TimeValue(t), nil
				}
			}
			return online.Value{}, fmt.Errorf("not a time: use RFC 3339 (2026-11-24T10:59:42Z) or 2026-11-24 10:59:42+00:00")
		}
	}
	return online.Value{}, fmt.Errorf("not a %s", typ)
}

// arrowOf is the Arrow type a declared feature type is written as.
func arrowOf(typ string) arrow.DataType {
	switch typ {
	case "boolean":
		return arrow.FixedWidthTypes.Boolean
	case "int":
		return arrow.PrimitiveTypes.Int32
	case "long":
		return arrow.PrimitiveTypes.Int64
	case "float":
		return arrow.PrimitiveTypes.Float32
	case "double":
		return arrow.PrimitiveTypes.Float64
	case "date":
		return arrow.FixedWidthTypes.Date32
	case "timestamptz":
		return &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}
	case "timestamp":
		return &arrow.TimestampType{Unit: arrow.Microsecond}
	}
	return arrow.BinaryTypes.String
}

// duckToDecl maps the table's engine types (envs.ReadTypes) to declared type names, so an offline push is written
// with the table's own column types.
func duckToDecl(t string) string {
	switch t = strings.ToUpper(t); {
	case t == "BOOLEAN":
		return "boolean"
	case t == "INTEGER" || t == "SMALLINT" || t == "TINYINT":
		return "int"
	case t == "BIGINT":
		return "long"
	case t == "FLOAT" || t == "REAL":
		return "float"
	case t == "DOUBLE":
		return "double"
	case t == "DATE":
		return "date"
	case strings.Contains(t, "TIME ZONE") || t == "TIMESTAMPTZ":
		return "timestamptz"
	case strings.HasPrefix(t, "TIMESTAMP"):
		return "timestamp"
	case t == "VARCHAR":
		return "string"
	}
	return ""
}

// onlineNames renames the view's time columns to the online store's event_ts / created_ts.
func onlineNames(v *features.View) map[string]string {
	m := map[string]string{v.EventTime: record.EventTS}
	if v.CreatedTime != "" {
		m[v.CreatedTime] = record.CreatedTS
	}
	return m
}

// buildReader builds one record of the columns, renamed by rename and typed by types (declared type names;
// the column's own when absent).
func buildReader(cols []pushCol, n int, rename map[string]string, types map[string]string) (array.RecordReader, error) {
	fields := make([]arrow.Field, len(cols))
	arrs := make([]arrow.Array, len(cols))
	defer func() {
		for _, a := range arrs {
			if a != nil {
				a.Release()
			}
		}
	}()
	for i, c := range cols {
		typ := c.typ
		if t := types[c.name]; t != "" {
			typ = t
		}
		if typ == "timestamp" && types == nil {
			typ = "timestamptz"
		}
		name := c.name
		if to, ok := rename[name]; ok {
			name = to
		}
		dt := arrowOf(typ)
		fields[i] = arrow.Field{Name: name, Type: dt, Nullable: true}
		b := array.NewBuilder(memory.DefaultAllocator, dt)
		for _, v := range c.vals {
			appendTo(b, v)
		}
		arrs[i] = b.NewArray()
		b.Release()
	}
	sc := arrow.NewSchema(fields, nil)
	rec := array.NewRecordBatch(sc, arrs, int64(n))
	defer rec.Release()
	return array.NewRecordReader(sc, []arrow.RecordBatch{rec})
}

func appendTo(b array.Builder, v online.Value) {
	if v.IsNull() {
		b.AppendNull()
		return
	}
	switch x := b.(type) {
	case *array.BooleanBuilder:
		x.Append(v.Bool())
	case *array.Int32Builder:
		x.Append(int32(v.I))
	case *array.Int64Builder:
		x.Append(v.I)
	case *array.Float32Builder:
		x.Append(float32(v.F))
	case *array.Float64Builder:
		x.Append(v.F)
	case *array.Date32Builder:
		x.Append(arrow.Date32FromTime(v.Time()))
	case *array.TimestampBuilder:
		x.Append(arrow.Timestamp(v.I))
	case *array.StringBuilder:
		x.Append(v.S)
	}
}

// sourceTypes returns the engine types of the columns of v's source table in env; a view computed by a SQL
// query has no table to push to.
func (s *Server) sourceTypes(ctx context.Context, env string, v *features.View) (map[string]string, error) {
	if v.Source.Table == "" {
		return nil, fmt.Errorf("feature view %s is computed by a SQL query, so it has no offline table to push to: push with \"to\": \"online\": %w", v.Name, ErrInvalid)
	}
	id, err := lake.ParseIdent(v.Source.Table)
	if err != nil {
		return nil, err
	}
	duck, err := s.o.Envs.ReadTypes(ctx, env, id)
	if err != nil {
		return nil, err
	}
	if duck == nil {
		return nil, fmt.Errorf("feature view %s's source table %s does not exist in %s: %w", v.Name, v.Source.Table, env, errs.E(errs.NotFound, "no table"))
	}
	return duck, nil
}

// pushOffline appends the rows to the view's source table (whose engine types are table) through the envs
// write gate: its rules, column check and audit apply.
func (s *Server) pushOffline(ctx context.Context, env string, v *features.View, cols []pushCol, table map[string]string, res *pushResult) error {
	id, err := lake.ParseIdent(v.Source.Table)
	if err != nil {
		return err
	}
	types := map[string]string{}
	for _, c := range cols {
		if t := duckToDecl(table[c.name]); t != "" {
			types[c.name] = t
		}
	}
	rdr, err := buildReader(cols, res.Rows, nil, types)
	if err != nil {
		return err
	}
	defer rdr.Release()
	wr, err := s.o.Envs.Write(ctx, env, id, rdr, envs.WriteOptions{Actor: auth.ActorFrom(ctx, "feature-push"), Action: "push", Source: "push:" + v.Name, AllowMissingColumns: true})
	if err != nil {
		return err
	}
	res.OfflineTable, res.OfflineSnapshot = v.Source.Table, wr.SnapshotID
	return nil
}

func keyNamesOf(keys []features.JoinKey) []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = k.Name
	}
	return out
}
