// Package online is Strata's online feature store: the latest feature row of every entity, per key space, read
// by online serving in one lookup per entity. Backends live in subpackages (online/embedded on local disk, the
// default; online/redis) and are chosen from configuration by Open; every backend passes the conformance suite
// in online/onlinetest.
//
// A key space holds one feature view instance of one environment and is named "ENV/NAME" (Space): NAME is the
// view name, or "<view>__p<hash>" for a parameterised instance (features.InstanceName). The server fills the
// spaces from the materialized feature tables at the snapshot each environment's readers see (feastapi.Syncer),
// so prod serves only rows of published releases.
package online

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/strata-data/strata/errs"
	"github.com/strata-data/strata/online/record"
)

// Sentinel errors.
var (
	ErrInvalid     = errs.New(errs.Invalid, "invalid online store request")
	ErrUnavailable = errs.New(errs.Unavailable, "online store unavailable")
)

// Value is one typed feature value; Row is one entity's stored features.
type (
	Value = record.Value
	Kind  = record.Kind
)

// Row is what Get returns for one entity. Found is false when the space holds no row for it (then Values are
// Missing); a feature the stored row lacks (written by an older definition) has kind record.Missing.
type Row struct {
	Found      bool
	EventUS    int64 // event_ts in µs since the epoch, UTC
	CreatedUS  int64 // created_ts in µs, 0 when HasCreated is false
	HasCreated bool
	Values     []Value
}

// JSONRow is what GetJSON returns for one entity: Found and EventUS as Row's; Cell(i) is the i-th requested
// feature's kind (record.Missing when the stored row lacks it, or for every feature when Found is false) and
// where its JSON text is in Data (Cell(i).JSON(Data)).
type JSONRow struct {
	Found   bool
	EventUS int64
	Data    []byte
	n       int
	// cells are the decoded cells of a stored value (and of one in the serving form whose schema lacks a
	// requested feature). A value in the serving form (record.ServingForm) is read when a cell is asked for
	// instead, in its layout, fields[i] being the field of the i-th feature. Neither: the entity was not found.
	cells  []record.Cell
	fields []int32
	layout record.ServingLayout
}

// Len is the number of requested features.
func (r *JSONRow) Len() int { return r.n }

// Cell returns the i-th requested feature's kind and the position of its JSON text in Data. (Inlined where
// serving renders a column: the serving form's cells are read here, not decoded for every row beforehand.)
func (r *JSONRow) Cell(i int) record.Cell {
	if i < len(r.fields) { // fields is nil but for the serving form
		return r.layout.Cell(r.Data, int(r.fields[i]))
	}
	return r.cell(i)
}

// cell is Cell of a decoded value and of a row not found.
func (r *JSONRow) cell(i int) record.Cell {
	if r.cells != nil {
		return r.cells[i]
	}
	return record.Cell{Kind: record.Missing}
}

// Buffer is the memory GetJSON's rows point into, kept from request to request so serving allocates little:
// the calls of one request append to it, and the caller Resets it once it no longer uses their rows. The zero
// value is ready; a Buffer is not safe for concurrent use.
type Buffer struct {
	data, text []byte
	keys       []byte
	refs       [][]byte // the keys of a lookup, slices of keys
	vals       [][]byte
	cells      []record.Cell
	fields     []int32
	rows       []JSONRow
	sink       byte // what touch read
}

// Size is the memory the buffer holds, in bytes (a caller keeping buffers can drop an oversized one).
func (b *Buffer) Size() int {
	return cap(b.data) + cap(b.text) + cap(b.keys) + cap(b.refs)*24 + cap(b.vals)*24 + cap(b.cells)*12 + cap(b.fields)*4 +
		cap(b.rows)*112
}

// Reset forgets the rows of earlier calls (their memory is reused).
func (b *Buffer) Reset() {
	b.data, b.text, b.keys, b.refs, b.cells, b.fields, b.rows = b.data[:0], b.text[:0], b.keys[:0], b.refs[:0], b.cells[:0], b.fields[:0], b.rows[:0]
	clear(b.vals) // they point into the backend's memory: not kept alive
	b.vals = b.vals[:0]
}

// Store is an online store. All methods are safe for concurrent use. Spaces are "ENV/NAME" (Space).
type Store interface {
	// WriteLatest upserts rdr's rows into the key space. Columns: the join keys (in declared order, named by
	// keys), "event_ts" (timestamp), "created_ts" (timestamp, optional or all null), then the features. A stored
	// row is replaced only by a strictly newer (event_ts, created_ts); a null created_ts is older than any.
	// It does not release rdr. On error some rows may have been written (each entity's write is atomic).
	WriteLatest(ctx context.Context, space string, keys []string, rdr array.RecordReader) error
	// WriteRecomputed is WriteLatest for rows computed again at the times they had (a materialisation that
	// recomputed window aggregations after late rows): a row whose (event_ts, created_ts) equals the stored one
	// replaces it too; an older one still does not.
	WriteRecomputed(ctx context.Context, space string, keys []string, rdr array.RecordReader) error
	// Fill writes rdr's rows (columns as WriteLatest's) into a fresh key space: one that nobody reads or writes
	// until the filler serves it (the syncer's space of a new snapshot). It is the bulk path for loading a whole
	// table: there is no "newer wins" check, a row replaces what the space holds for its entity, so rdr must hold
	// at most one row per entity, the latest (of several in one write batch the newest is kept; across batches the
	// last written). Rows in key order fill fastest. Like WriteLatest it marks the space's latest event time after
	// every row is written (the syncer's completion marker), and on error some rows may have been written. It
	// touches no other space. Use WriteLatest for every other write.
	Fill(ctx context.Context, space string, keys []string, rdr array.RecordReader) error
	// Get returns, for each entity (its join key values in declared order), its row with the features named,
	// in that order: one lookup per entity, one round trip for the batch.
	Get(ctx context.Context, space string, entities [][]Value, features []string) ([]Row, error)
	// GetJSON is Get for serving: each row's features as their kinds and JSON texts (record.AppendJSON), which
	// the store keeps beside the values, so nothing is formatted per request. The rows point into buf (nil: new
	// memory); see Buffer.
	GetJSON(ctx context.Context, space string, entities [][]Value, features []string, buf *Buffer) ([]JSONRow, error)
	// DeleteSpace removes every row of a key space.
	DeleteSpace(ctx context.Context, space string) error
	// Copy upserts every row of space from into space to, newer wins (used to publish staged rows).
	Copy(ctx context.Context, from, to string) error
	// LastEvent returns the latest event_ts ever written to the space (its freshness); ok is false for a space
	// never written (or deleted since).
	LastEvent(ctx context.Context, space string) (last time.Time, ok bool, err error)
	// Pointer returns the pointer record named name ("ENV/NAME"; nil when none was written). Pointer records
	// are small values beside the key spaces (the syncer records which complete key space serves each view
	// instance in them); DeleteSpace does not touch them.
	Pointer(ctx context.Context, name string) ([]byte, error)
	// SwapPointer sets the pointer record name to val (not empty) if it still holds old (nil: if none exists),
	// atomically for every process sharing the store. swapped is false, with no error, when it held another
	// value; the caller reads it again and decides.
	SwapPointer(ctx context.Context, name string, old, val []byte) (swapped bool, err error)
	// Close releases the store; no call may follow.
	Close() error
}

// Backend is what a storage engine provides to the store: bytes under keys per space. Lookups of absent keys
// return nil entries. Upsert must replace a stored value only when record.Newer(new, old) — or, with replaceEqual,
// also when their ordering bytes are equal (record.SameOrder) — atomically per key.
type Backend interface {
	Upsert(ctx context.Context, space string, entries []record.Entry, replaceEqual bool) error
	// Put stores entries as they are, replacing stored values without reading them (Store.Fill's bulk write):
	// entries come sorted by key, one per key, and are written in as few round trips or transactions as the
	// engine allows.
	Put(ctx context.Context, space string, entries []record.Entry) error
	// Lookup returns the values as slices of dst, which it grows (earlier slices of dst stay valid when it is
	// reallocated), or of memory the backend keeps unchanged for good (the embedded store's cache): callers only
	// read them.
	Lookup(ctx context.Context, space string, keys [][]byte, dst []byte) (vals [][]byte, grown []byte, err error)
	Scan(ctx context.Context, space string, fn func([]record.Entry) error) error
	PutSchema(ctx context.Context, id [8]byte, enc []byte) error
	Schema(ctx context.Context, id [8]byte) ([]byte, error)
	DeleteSpace(ctx context.Context, space string) error
	// MarkEvent raises the space's latest event time to us (µs) if it is lower; LastEvent reads it (ok false
	// when never marked). Scan does not return it as a row.
	MarkEvent(ctx context.Context, space string, us int64) error
	LastEvent(ctx context.Context, space string) (us int64, ok bool, err error)
	// Pointer and SwapPointer are Store's (checked names, non-empty values).
	Pointer(ctx context.Context, name string) ([]byte, error)
	SwapPointer(ctx context.Context, name string, old, val []byte) (bool, error)
	Close() error
}

// intoBackend is a Backend whose lookup fills a slice the caller gives (serving keeps it from request to
// request): LookupInto is Lookup into vals (len(keys) long, zeroed), for GetJSON only: a value may come in its
// serving form (record.ServingForm), which record.DecodeJSON reads and DecodeInto refuses.
type intoBackend interface {
	LookupInto(ctx context.Context, space string, keys [][]byte, dst []byte, vals [][]byte) ([]byte, error)
}

// Space names an environment's key space.
func Space(env, name string) string { return env + "/" + name }

// checkSpace accepts ENV/NAME, each part a letter, digit or _ then letters, digits, _ . or - (checked by hand:
// every lookup checks its space, and a regexp took 2% of a 1x50 request).
func checkSpace(space string) error {
	env, name, ok := strings.Cut(space, "/")
	if !ok || !spacePart(env) || !spacePart(name) {
		return fmt.Errorf("key space %q: want ENV/NAME (letters, digits, _ . -): %w", space, ErrInvalid)
	}
	return nil
}

func spacePart(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_':
		case (c == '.' || c == '-') && i > 0:
		default:
			return false
		}
	}
	return s != ""
}

// New returns the store over a backend.
func New(b Backend) Store { return &store{b: b, schemas: map[[8]byte]*record.Schema{}} }

type store struct {
	b       Backend
	mu      sync.RWMutex
	schemas map[[8]byte]*record.Schema // content-addressed: immutable once read
}

// writeBatch rows go to the backend at once: one transaction (one fsync) in bbolt, one pipeline in Redis. A
// materialized table of 1M rows loaded 1.6× faster with 131,072 than with 16,384 (fsyncs are slow on shared
// disks), at 1.5× the peak RSS; 65,536 is between.
const writeBatch = 65536

func (s *store) WriteLatest(ctx context.Context, space string, keys []string, rdr array.RecordReader) error {
	return s.write(ctx, space, keys, rdr, func(ctx context.Context, space string, batch []record.Entry) error {
		return s.b.Upsert(ctx, space, batch, false)
	})
}

func (s *store) WriteRecomputed(ctx context.Context, space string, keys []string, rdr array.RecordReader) error {
	return s.write(ctx, space, keys, rdr, func(ctx context.Context, space string, batch []record.Entry) error {
		return s.b.Upsert(ctx, space, batch, true)
	})
}

func (s *store) Fill(ctx context.Context, space string, keys []string, rdr array.RecordReader) error {
	return s.write(ctx, space, keys, rdr, func(ctx context.Context, space string, batch []record.Entry) error {
		return s.b.Put(ctx, space, sortedLatest(batch))
	})
}

// sortedLatest sorts a batch by key (unless it already is, as the syncer's load query delivers it) and keeps
// the newest entry of each key.
func sortedLatest(batch []record.Entry) []record.Entry {
	cmp := func(a, b record.Entry) int { return bytes.Compare(a.Key, b.Key) }
	if !slices.IsSortedFunc(batch, cmp) {
		slices.SortStableFunc(batch, cmp)
	}
	out := batch[:0]
	for _, e := range batch {
		if n := len(out); n > 0 && bytes.Equal(out[n-1].Key, e.Key) {
			if record.Newer(e.Val, out[n-1].Val) {
				out[n-1] = e
			}
			continue
		}
		out = append(out, e)
	}
	return out
}

func (s *store) write(ctx context.Context, space string, keys []string, rdr array.RecordReader,
	put func(context.Context, string, []record.Entry) error) error {
	if err := checkSpace(space); err != nil {
		return err
	}
	l, err := record.LayoutOf(rdr.Schema(), keys)
	if err != nil {
		return fmt.Errorf("write key space %s: %v: %w", space, err, ErrInvalid)
	}
	if err := s.b.PutSchema(ctx, l.Schema.ID, l.Schema.Enc); err != nil {
		return err
	}
	s.remember(l.Schema)
	var batch []record.Entry
	last, seen := int64(0), false
	flush := func() error {
		for _, e := range batch {
			if h, _ := record.DecodeHeader(e.Val); !seen || h.EventUS > last {
				last, seen = h.EventUS, true
			}
		}
		err := put(ctx, space, batch)
		batch = batch[:0]
		return err
	}
	for rdr.Next() {
		if batch, err = l.Entries(rdr.RecordBatch(), batch); err != nil {
			return fmt.Errorf("write key space %s: %v: %w", space, err, ErrInvalid)
		}
		if len(batch) >= writeBatch {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := rdr.Err(); err != nil {
		return err
	}
	if len(batch) > 0 {
		if err := flush(); err != nil {
			return err
		}
	}
	if !seen {
		return nil
	}
	return s.b.MarkEvent(ctx, space, last)
}

func (s *store) LastEvent(ctx context.Context, space string) (time.Time, bool, error) {
	if err := checkSpace(space); err != nil {
		return time.Time{}, false, err
	}
	us, ok, err := s.b.LastEvent(ctx, space)
	if err != nil || !ok {
		return time.Time{}, false, err
	}
	return time.UnixMicro(us).UTC(), true, nil
}

func (s *store) remember(sc *record.Schema) {
	s.mu.Lock()
	s.schemas[sc.ID] = sc
	s.mu.Unlock()
}

func (s *store) schema(ctx context.Context, id [8]byte) (*record.Schema, error) {
	s.mu.RLock()
	sc, ok := s.schemas[id]
	s.mu.RUnlock()
	if ok {
		return sc, nil
	}
	enc, err := s.b.Schema(ctx, id)
	if err != nil {
		return nil, err
	}
	if enc == nil {
		return nil, fmt.Errorf("online value refers to schema %x that is not stored", id)
	}
	if sc, err = record.DecodeSchema(enc); err != nil {
		return nil, err
	}
	s.remember(sc)
	return sc, nil
}

func (s *store) Get(ctx context.Context, space string, entities [][]Value, features []string) ([]Row, error) {
	vals, err := s.lookup(ctx, space, entities, &Buffer{})
	if err != nil {
		return nil, err
	}
	rows := make([]Row, len(entities))
	cells := make([]Value, len(entities)*len(features)) // one allocation for every row's values
	n := len(features)
	err = s.decodeRows(ctx, vals, features, func(i int, v []byte, h record.Header, slots []int) error {
		out := cells[i*n : (i+1)*n : (i+1)*n]
		if v == nil {
			for j := range out {
				out[j].Kind = record.Missing
			}
			rows[i] = Row{Values: out}
			return nil
		}
		if err := record.DecodeInto(v, slots, out); err != nil {
			return err
		}
		rows[i] = Row{Found: true, EventUS: h.EventUS, CreatedUS: h.CreatedUS, HasCreated: h.HasCreated, Values: out}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return rows, nil
}

func (s *store) GetJSON(ctx context.Context, space string, entities [][]Value, features []string, buf *Buffer) ([]JSONRow, error) {
	if buf == nil {
		buf = &Buffer{}
	}
	vals, err := s.lookupInto(ctx, space, entities, buf)
	if err != nil {
		return nil, err
	}
	buf.sink += touch(vals)
	rows := grow(&buf.rows, len(entities))
	n := len(features)
	var fields []int32 // of the serving-form rows of schema fieldsID
	var fieldsID [8]byte
	err = s.decodeRows(ctx, vals, features, func(i int, v []byte, h record.Header, slots []int) error {
		switch {
		case v == nil:
			rows[i] = JSONRow{n: n}
		case record.IsServing(v) && (fields != nil && h.SchemaID == fieldsID || servingFields(buf, slots, n, &fields)):
			// Read cell by cell when rendered: nothing decoded here.
			fieldsID = h.SchemaID
			if err := record.CheckServing(v, len(slots)); err != nil {
				return err
			}
			rows[i] = JSONRow{Found: true, EventUS: h.EventUS, Data: v, n: n, fields: fields, layout: record.ServingLayoutOf(v)}
		default:
			out := grow(&buf.cells, n)
			data, text, err := record.DecodeJSON(v, slots, out, buf.text)
			if err != nil {
				return err
			}
			buf.text = text
			rows[i] = JSONRow{Found: true, EventUS: h.EventUS, Data: data, n: n, cells: out}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return rows, nil
}

// servingFields sets *fields, in buf, to the field of each of n requested features from a schema's slots
// (record.Slots), for serving-form rows to read their cells by field; false (and *fields nil) when the schema
// lacks one of them: such rows are decoded.
func servingFields(buf *Buffer, slots []int, n int, fields *[]int32) bool {
	f := grow(&buf.fields, n)
	for i := range f {
		f[i] = -1
	}
	for field, pos := range slots {
		if pos >= 0 {
			f[pos] = int32(field)
		}
	}
	*fields = nil
	if n == 0 || slices.Contains(f, -1) {
		return false
	}
	*fields = f
	return true
}

// touch reads one byte of every 64 of the rows before they are decoded one by one, and returns their sum (kept
// in the Buffer, so that the loads are not optimised away): rows a lookup returns from the cache (or bbolt's
// pages) lie all over memory, often outside the processor's caches, and decoding them in turn waited for each
// row's memory in turn (~230 ns a row, a third of a 100-entity request's CPU in profiles under the load
// generator); these independent loads are waited for together. (Touching a few rows ahead of the decoding
// instead was no faster.)
func touch(vals [][]byte) byte {
	var s byte
	for _, v := range vals {
		for i := 0; i < len(v); i += 64 {
			s += v[i]
		}
	}
	return s
}

// decodeRows calls row for each looked-up value (i its index) with its header and the slots of its schema,
// read once per run of values with the same schema; for a value not found (nil), with a zero header and nil slots.
func (s *store) decodeRows(ctx context.Context, vals [][]byte, features []string,
	row func(i int, v []byte, h record.Header, slots []int) error) error {
	var lastID [8]byte
	var slots []int
	for i, v := range vals {
		if v == nil {
			if err := row(i, nil, record.Header{}, nil); err != nil {
				return err
			}
			continue
		}
		h, err := record.DecodeHeader(v)
		if err != nil {
			return err
		}
		if slots == nil || h.SchemaID != lastID {
			if slots, err = s.slots(ctx, h.SchemaID, features); err != nil {
				return err
			}
			lastID = h.SchemaID
		}
		if err := row(i, v, h, slots); err != nil {
			return err
		}
	}
	return nil
}

// grow extends *s by n zeroed elements and returns them (a reallocation leaves earlier returned ones valid).
func grow[T any](s *[]T, n int) []T {
	from := len(*s)
	*s = slices.Grow(*s, n)[:from+n]
	out := (*s)[from : from+n : from+n]
	clear(out)
	return out
}

// slots maps schema id's fields to the positions of features (record.Slots).
func (s *store) slots(ctx context.Context, id [8]byte, features []string) ([]int, error) {
	sc, err := s.schema(ctx, id)
	if err != nil {
		return nil, err
	}
	return record.Slots(sc, features), nil
}

// lookup reads the stored values of entities in one backend lookup (nil for absent ones).
func (s *store) lookup(ctx context.Context, space string, entities [][]Value, buf *Buffer) ([][]byte, error) {
	keys, err := s.keys(space, entities, buf)
	if err != nil {
		return nil, err
	}
	vals, data, err := s.b.Lookup(ctx, space, keys, buf.data)
	buf.data = data
	return vals, err
}

// lookupInto is lookup into buf's reused slice of values when the backend can (intoBackend).
func (s *store) lookupInto(ctx context.Context, space string, entities [][]Value, buf *Buffer) ([][]byte, error) {
	ib, ok := s.b.(intoBackend)
	if !ok {
		return s.lookup(ctx, space, entities, buf)
	}
	keys, err := s.keys(space, entities, buf)
	if err != nil {
		return nil, err
	}
	vals := grow(&buf.vals, len(entities))
	buf.data, err = ib.LookupInto(ctx, space, keys, buf.data, vals)
	return vals, err
}

// keys checks the space and encodes the entities' keys into buf.
func (s *store) keys(space string, entities [][]Value, buf *Buffer) ([][]byte, error) {
	if err := checkSpace(space); err != nil {
		return nil, err
	}
	keys := grow(&buf.refs, len(entities))
	for i, e := range entities {
		start := len(buf.keys)
		buf.keys = record.Key(buf.keys, e)
		keys[i] = buf.keys[start:len(buf.keys):len(buf.keys)] // stays valid if buf.keys is reallocated later
	}
	return keys, nil
}

func (s *store) DeleteSpace(ctx context.Context, space string) error {
	if err := checkSpace(space); err != nil {
		return err
	}
	return s.b.DeleteSpace(ctx, space)
}

func (s *store) Copy(ctx context.Context, from, to string) error {
	if err := checkSpace(from); err != nil {
		return err
	}
	if err := checkSpace(to); err != nil {
		return err
	}
	if err := s.b.Scan(ctx, from, func(batch []record.Entry) error { return s.b.Upsert(ctx, to, batch, false) }); err != nil {
		return err
	}
	us, ok, err := s.b.LastEvent(ctx, from)
	if err != nil || !ok {
		return err
	}
	return s.b.MarkEvent(ctx, to, us)
}

func (s *store) Pointer(ctx context.Context, name string) ([]byte, error) {
	if err := checkSpace(name); err != nil {
		return nil, err
	}
	return s.b.Pointer(ctx, name)
}

func (s *store) SwapPointer(ctx context.Context, name string, old, val []byte) (bool, error) {
	if err := checkSpace(name); err != nil {
		return false, err
	}
	if len(val) == 0 {
		return false, fmt.Errorf("pointer %s: an empty value cannot be stored: %w", name, ErrInvalid)
	}
	return s.b.SwapPointer(ctx, name, old, val)
}

func (s *store) Close() error { return s.b.Close() }

// EnvOf returns the environment part of a space name.
func EnvOf(space string) string {
	env, _, _ := strings.Cut(space, "/")
	return env
}
