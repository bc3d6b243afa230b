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
	"math"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/strata-data/strata/engine"
)

// PITCache keeps, per snapshot of a view's source table, the form of its rows a point-in-time build reads
// fastest: the rows of each key sorted by event time (ties by created time, NULL first, then position), and
// every fixed-width column of those rows laid out row by row. A build that finds its view's snapshot here
// matches each spine row by a binary search and copies the matched rows' features straight into the
// dataset's columns, instead of decoding every row of the table's Parquet files (the 50-column scan was ~0.9 of
// a 1M × 100k build's ~1.4 CPU-s).
//
// An entry is named by a digest of what it was made from: the table's data files (immutable: a snapshot's
// file list names its rows), its schema, the join key and its type, the event and created time columns. Prod's
// release pins, time travel and clones read the snapshot their plan resolves, so they find the entry of that
// snapshot or none: an entry is never stale. The first build of a snapshot joins in DuckDB and marks it; the
// second fills its entry (see admit), written to a temporary file, synced and renamed: a crash leaves no entry,
// only a temporary file a later fill removes. An entry whose header, index or key directory does not add up is
// removed when it is mapped. The entries together stay under MaxBytes: the least recently used go first, and a
// snapshot whose entry would take more than half of it is joined in DuckDB.
type PITCache struct {
	Dir string
	// MaxBytes bounds the entries' total size on disk.
	MaxBytes int64

	mu       sync.Mutex
	fillRows atomic.Int64
}

// FillRows is how many rows the fills of this cache have read so far (a progress counter).
func (c *PITCache) FillRows() int64 { return c.fillRows.Load() }

// pitMinBytes is the size of a source table's data files below which builds join in DuckDB without an entry
// (small tables are joined fast enough there; a variable for tests).
var pitMinBytes int64 = 4 << 20

const (
	pitMagic   = "STRPIT03"
	pitHeadLen = 4096
	pitProbe   = uint64(0x0102030405060708)
	// pitTempAge is how old a temporary file must be before a fill removes it (a fill in progress elsewhere
	// is younger).
	pitTempAge = time.Hour
)

// pitHead is the first bytes of an entry file.
type pitHead struct {
	Magic    [8]byte
	Probe    uint64 // pitProbe in the writer's byte order: the mapped arrays are read in place
	N        uint64 // rows
	NCols    uint64
	Words    uint64 // null-bitmap words per row
	RowWidth uint64
	DescOff  uint64
	DescLen  uint64
	IndexOff uint64
	Keys     uint64 // distinct keys
	Size     uint64 // the file's size
	// StrLen is the size of the key strings' section (string keys; 0 for integer keys), after the index: per
	// distinct key where its bytes start (and one end), then the bytes, the keys in byte order.
	StrLen uint64
	// HeapLen is the size of the string features' bytes, after the key strings: a string value's 8 bytes in its
	// row are where its bytes start in this section (the high 40 bits) and their length (the low 24).
	HeapLen uint64
}

// pitIndexBytes is the size of an entry's index: per row its event time and row number, per distinct key the
// key and where its rows start (and one end).
func pitIndexBytes(n, keys uint64) uint64 { return 8*n + pad8(4*n) + 8*keys + pad8(4*(keys+1)) }

func pad8(n uint64) uint64 { return (n + 7) &^ 7 }

// pitColumn is one cached column: its name and Arrow type.
type pitColumn struct {
	Name string `json:"name"`
	Type string `json:"type"` // pitTypeName
	Unit int    `json:"unit,omitempty"`
	TZ   string `json:"tz,omitempty"`
}

// pitDesc is the description an entry carries: what it was made from, and its columns.
type pitDesc struct {
	Table   string      `json:"table"`
	View    string      `json:"view,omitempty"` // a SQL or aggregated view's rows: the view
	Key     string      `json:"key"`
	KeyType string      `json:"key_type,omitempty"`
	Event   string      `json:"event_time"`
	Created string      `json:"created_time,omitempty"`
	Files   int         `json:"files"`
	Columns []pitColumn `json:"columns"`
}

// CacheEntry is one entry of the training-set cache, as List reports it.
type CacheEntry struct {
	File  string `json:"file"`
	Table string `json:"table"` // zone.name of the snapshot it holds (a SQL view's: of the tables it reads)
	// View names a SQL or aggregated view whose rows the entry holds (its SQL's result, not a table's rows).
	View string `json:"view,omitempty"`
	// Key, EventTime and CreatedTime are the view's columns its rows are sorted by.
	Key         string `json:"key"`
	EventTime   string `json:"event_time"`
	CreatedTime string `json:"created_time,omitempty"`
	DataFiles   int    `json:"data_files"` // the snapshot's data files
	Rows        int64  `json:"rows"`
	Columns     int    `json:"columns"`
	Bytes       int64  `json:"bytes"`
	LastUsed    string `json:"last_used"` // RFC 3339, UTC
	// Problem says why an unreadable entry cannot be read (a build removes it).
	Problem string `json:"problem,omitempty"`
}

// List returns the cache's entries, the most recently used first.
func (c *PITCache) List() ([]CacheEntry, error) {
	ents, err := os.ReadDir(c.Dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []CacheEntry
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".pit") {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue
		}
		ce := CacheEntry{File: filepath.Join(c.Dir, e.Name()), Bytes: info.Size(), LastUsed: info.ModTime().UTC().Format(time.RFC3339)}
		if err := readPITDesc(ce.File, &ce); err != nil {
			ce.Problem = err.Error()
		}
		out = append(out, ce)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].LastUsed > out[j].LastUsed })
	return out, nil
}

// readPITDesc fills ce from an entry's header and description, without mapping its rows.
func readPITDesc(path string, ce *CacheEntry) error {
	fh, err := os.Open(path)
	if err != nil {
		return err
	}
	defer fh.Close()
	head := make([]byte, pitHeadLen)
	if _, err := io.ReadFull(fh, head); err != nil {
		return fmt.Errorf("truncated (%w)", err)
	}
	var h pitHead
	if _, err := binary.Decode(head, binary.NativeEndian, &h); err != nil {
		return err
	}
	if string(h.Magic[:]) != pitMagic || h.Probe != pitProbe || h.Size != uint64(ce.Bytes) || h.DescLen > 1<<24 {
		return errors.New("not an entry of this build's format, or damaged")
	}
	raw := make([]byte, h.DescLen)
	if _, err := fh.ReadAt(raw, int64(h.DescOff)); err != nil {
		return err
	}
	var d pitDesc
	if err := json.Unmarshal(raw, &d); err != nil {
		return errors.New("its description is unreadable")
	}
	ce.Table, ce.View, ce.Key, ce.EventTime, ce.CreatedTime, ce.DataFiles = d.Table, d.View, d.Key, d.Event, d.Created, d.Files
	ce.Rows, ce.Columns = int64(h.N), len(d.Columns)
	return nil
}

// Clear removes every entry, mark and temporary file of the cache and returns the bytes freed. Builds that
// have an entry mapped keep reading it.
func (c *PITCache) Clear() (int64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ents, err := os.ReadDir(c.Dir)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	var freed int64
	for _, e := range ents {
		n := e.Name()
		if !strings.HasSuffix(n, ".pit") && !strings.HasSuffix(n, ".seen") && !strings.HasPrefix(n, "tmp-") {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue
		}
		if err := os.Remove(filepath.Join(c.Dir, n)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return freed, err
		}
		freed += info.Size()
	}
	return freed, nil
}

// pitTypes are the column types an entry holds, by the name its description gives them: each one's Arrow
// type (a timestamp's unit and zone are the column's own) and its width in a row's 8-byte slot as a build
// copies it (0: a boolean's one byte as a bit; -1: a string, whose slot is its place in the entry's strings).
var pitTypes = map[string]struct {
	arrow arrow.DataType
	width int
}{
	"bool": {arrow.FixedWidthTypes.Boolean, 0}, "int8": {arrow.PrimitiveTypes.Int8, 1}, "int16": {arrow.PrimitiveTypes.Int16, 2},
	"int32": {arrow.PrimitiveTypes.Int32, 4}, "int64": {arrow.PrimitiveTypes.Int64, 8}, "float32": {arrow.PrimitiveTypes.Float32, 4},
	"float64": {arrow.PrimitiveTypes.Float64, 8}, "date32": {arrow.FixedWidthTypes.Date32, 4}, "timestamp": {nil, 8},
	"string": {arrow.BinaryTypes.String, -1},
}

// pitTypeName names the Arrow types an entry holds (every value in 8 bytes); false for others.
func pitTypeName(t arrow.DataType) (pitColumn, bool) {
	switch t := t.(type) {
	case *arrow.TimestampType:
		return pitColumn{Type: "timestamp", Unit: int(t.Unit), TZ: t.TimeZone}, true
	case *arrow.StringType, *arrow.LargeStringType, *arrow.StringViewType:
		return pitColumn{Type: "string"}, true
	}
	if _, ok := pitTypes[t.Name()]; ok { // bool, int8 ... float64, date32: Arrow's own names
		return pitColumn{Type: t.Name()}, true
	}
	return pitColumn{}, false
}

// arrowType is c's Arrow type, nil for a type no entry holds.
func (c pitColumn) arrowType() arrow.DataType {
	if c.Type == "timestamp" {
		return &arrow.TimestampType{Unit: arrow.TimeUnit(c.Unit), TimeZone: c.TZ}
	}
	return pitTypes[c.Type].arrow
}

// pitFixedIceberg are the Iceberg types whose columns an entry holds.
var pitFixedIceberg = map[string]bool{"boolean": true, "int": true, "long": true, "float": true, "double": true,
	"date": true, "timestamp": true, "timestamptz": true}

// pitSpec is what an entry is made from: a table's rows (table, scan), or a SQL or aggregated view's (sql over
// tables).
type pitSpec struct {
	table    engine.Table
	scan     string // the table's positional scan (positionalScan)
	sql      string // a SQL or aggregated view: the SQL of its rows (as the DuckDB join reads them)
	tables   []engine.Table
	view     string   // a SQL view: its name (and instance), for the entry's description
	ties     []string // a SQL view: its features, whose hash orders rows equal in keys and times
	keys     []JoinKey
	keyTypes []string // the keys' DuckDB types
	event    string
	created  string   // "" = none
	strs     []string // the string columns it holds besides the fixed-width ones (sorted): the features asked
}

func (s *pitSpec) digest() string {
	h := sha256.New()
	w := func(parts ...string) {
		for _, p := range parts {
			fmt.Fprintf(h, "%d:%s;", len(p), p)
		}
	}
	w(pitMagic, s.event, s.created, strconv.Itoa(len(s.keys)))
	for i, k := range s.keys {
		w(k.Name, s.keyTypes[i])
	}
	w(strconv.Itoa(len(s.strs)))
	w(s.strs...)
	w(s.sql, strconv.Itoa(len(s.ties)))
	w(s.ties...)
	if s.sql != "" { // DuckDB computes a SQL view's rows and orders its ties by its hash(): another DuckDB, another entry
		w(duckdbVersion())
	}
	w(strconv.Itoa(len(s.tables)))
	for _, t := range s.tables {
		w(t.Schema, t.Name)
		files := slices.Clone(t.Files)
		slices.Sort(files)
		w(strconv.Itoa(len(files)))
		w(files...)
		w(strconv.Itoa(len(t.Columns)))
		for _, c := range t.Columns {
			w(fmt.Sprint(c.FieldID), c.Name, c.Type)
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:40]
}

// pitFile is a mapped entry.
type pitFile struct {
	path     string
	data     []byte
	n        int
	cols     []pitColumn
	colIdx   map[string]int
	words    int
	rowWidth int
	ts       []int64  // event times, sorted per key
	rowOf    []uint32 // the row of each ts
	ukeys    []int64  // the distinct keys, sorted (string keys: their ranks, 0, 1, ...)
	ustart   []uint32 // where each key's entries start in ts, and the end
	rows     []byte
	// String keys: where each key's bytes start in sheap (and one end), in byte order of the keys.
	strKeys bool
	soff    []uint64
	sheap   []byte
	heap    []byte // the string features' bytes
}

func (f *pitFile) close() error {
	if f == nil || f.data == nil {
		return nil
	}
	err := syscall.Munmap(f.data)
	f.data = nil
	return err
}

// open maps the entry of spec; nil without error when there is none.
func (c *PITCache) open(spec *pitSpec) (*pitFile, error) {
	path := filepath.Join(c.Dir, spec.digest()+".pit")
	fh, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return nil, err
	}
	if st.Size() < pitHeadLen {
		_ = os.Remove(path)
		return nil, fmt.Errorf("training-set cache entry %s was truncated (%d bytes): removed, a later build fills it again", path, st.Size())
	}
	data, err := syscall.Mmap(int(fh.Fd()), 0, int(st.Size()), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("map %s: %w", path, err)
	}
	f, err := parsePIT(data)
	if err != nil { // damaged (a disk fault) or of another format: it is a cache, so it goes
		_ = syscall.Munmap(data)
		_ = os.Remove(path)
		return nil, fmt.Errorf("training-set cache entry %s was unreadable (%w): removed, a later build fills it again", path, err)
	}
	f.path = path
	now := time.Now()
	_ = os.Chtimes(path, now, now) // the least recently used entries are evicted first
	return f, nil
}

func parsePIT(data []byte) (*pitFile, error) {
	var h pitHead
	if _, err := binary.Decode(data, binary.NativeEndian, &h); err != nil {
		return nil, err
	}
	if string(h.Magic[:]) != pitMagic || h.Probe != pitProbe {
		return nil, errors.New("not an entry of this build's format")
	}
	if h.Size != uint64(len(data)) {
		return nil, fmt.Errorf("its size is %d bytes, its header says %d", len(data), h.Size)
	}
	n := int(h.N)
	if h.RowWidth != 8*(h.Words+h.NCols) || h.DescOff+h.DescLen > h.Size || h.IndexOff != pitHeadLen+h.N*h.RowWidth ||
		h.DescOff != h.IndexOff+pitIndexBytes(h.N, h.Keys)+h.StrLen+h.HeapLen || h.Keys > h.N || h.N > h.Size || h.StrLen > h.Size || h.HeapLen > h.Size || (h.StrLen != 0 && h.StrLen < 8*(h.Keys+1)) {
		return nil, errors.New("its header does not describe its layout")
	}
	f := &pitFile{data: data, n: n, words: int(h.Words), rowWidth: int(h.RowWidth), colIdx: map[string]int{}}
	var desc pitDesc
	if err := json.Unmarshal(data[h.DescOff:h.DescOff+h.DescLen], &desc); err != nil || len(desc.Columns) != int(h.NCols) {
		return nil, errors.New("its column list is unreadable")
	}
	f.cols = desc.Columns
	for i, c := range f.cols {
		if c.arrowType() == nil {
			return nil, fmt.Errorf("column %s has an unknown type %q", c.Name, c.Type)
		}
		f.colIdx[c.Name] = i
	}
	f.rows = data[pitHeadLen:h.IndexOff]
	off := h.IndexOff
	f.ustart = unsafe.Slice((*uint32)(unsafe.Pointer(&data[off+8*h.N+pad8(4*h.N)+8*h.Keys])), h.Keys+1)
	if n > 0 {
		f.ts = unsafe.Slice((*int64)(unsafe.Pointer(&data[off])), n)
		f.rowOf = unsafe.Slice((*uint32)(unsafe.Pointer(&data[off+8*h.N])), n)
		f.ukeys = unsafe.Slice((*int64)(unsafe.Pointer(&data[off+8*h.N+pad8(4*h.N)])), h.Keys)
	}
	if f.ustart[0] != 0 || f.ustart[h.Keys] != uint32(n) {
		return nil, errors.New("its key directory does not cover its rows")
	}
	if f.strKeys = desc.KeyType == "VARCHAR"; f.strKeys != (h.StrLen != 0) {
		return nil, errors.New("its key strings do not match its key type")
	}
	if f.strKeys {
		so := h.IndexOff + pitIndexBytes(h.N, h.Keys)
		f.soff = unsafe.Slice((*uint64)(unsafe.Pointer(&data[so])), h.Keys+1)
		f.sheap = data[so+8*(h.Keys+1) : h.DescOff-h.HeapLen]
		if f.soff[0] != 0 || f.soff[h.Keys] != uint64(len(f.sheap)) {
			return nil, errors.New("its key strings do not cover their bytes")
		}
		for i := range int(h.Keys) {
			// in byte order, each once, and the ranks as the key directory's keys
			if f.soff[i+1] < f.soff[i] || f.soff[i+1] > f.soff[h.Keys] || f.ukeys[i] != int64(i) ||
				(i > 0 && f.keyString(i-1) >= f.keyString(i)) {
				return nil, errors.New("its key strings are out of order")
			}
		}
	}
	// Every position a build follows stays inside the file (a damaged index fails here, not in a build).
	for i := 1; i < len(f.ustart); i++ {
		if f.ustart[i] <= f.ustart[i-1] {
			return nil, errors.New("its key directory is out of order")
		}
	}
	for _, r := range f.rowOf {
		if r >= uint32(n) {
			return nil, errors.New("its index names a row it does not hold")
		}
	}
	// A string value's place in the heap is checked when it is read (gatherGroup): checking them all here would
	// read every page of the entry.
	f.heap = data[h.DescOff-h.HeapLen : h.DescOff]
	return f, nil
}

// keyString is the string of the key of rank i (string keys), a view of the mapped bytes.
func (f *pitFile) keyString(i int) string {
	b := f.sheap[f.soff[i]:f.soff[i+1]]
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// rankOf returns the rank of key among the entry's string keys, or -1 when it has no rows.
func (f *pitFile) rankOf(key string) int64 {
	lo, hi := 0, len(f.soff)-1
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if f.keyString(m) < key {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo == len(f.soff)-1 || f.keyString(lo) != key {
		return -1
	}
	return int64(lo)
}

// match returns the row of the entry that is key's latest at or before t, no older than t - ttl when ttl > 0,
// or -1.
func (f *pitFile) match(key, t, ttl int64) int {
	lo, hi := 0, len(f.ukeys)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if f.ukeys[m] < key {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo == len(f.ukeys) || f.ukeys[lo] != key {
		return -1
	}
	start, end := int(f.ustart[lo]), int(f.ustart[lo+1])
	// the key's last entry at or before t: its entries are few, so from the end
	i := end - 1
	for i >= start && f.ts[i] > t {
		i--
	}
	if i < start || (ttl > 0 && f.ts[i] < t-ttl) {
		return -1
	}
	return int(f.rowOf[i])
}

// pitSortEntry orders an entry's rows.
type pitSortEntry struct {
	k, t, c, f, p int64
	row           uint32
	cSet          bool
}

func comparePIT(a, b pitSortEntry) int {
	switch {
	case a.k != b.k:
		return cmpInt(a.k, b.k)
	case a.t != b.t:
		return cmpInt(a.t, b.t)
	case a.cSet != b.cSet:
		if !a.cSet {
			return -1
		}
		return 1
	case a.cSet && a.c != b.c:
		return cmpInt(a.c, b.c)
	case a.f != b.f:
		return cmpInt(a.f, b.f)
	}
	return cmpInt(a.p, b.p)
}

func cmpInt(a, b int64) int {
	if a < b {
		return -1
	}
	if a > b {
		return 1
	}
	return 0
}

// pitAdmitFirst makes a snapshot's first build fill its entry; otherwise the first build joins in DuckDB and
// leaves a mark, and the second fills the entry (a snapshot built once, as a scheduled job's often is, never
// pays for an entry no build reads). A variable for tests.
var pitAdmitFirst = false

// pitMarkAge is how long the mark of a snapshot's first build is kept.
const pitMarkAge = 7 * 24 * time.Hour

// admit says whether a build of spec's snapshot fills its entry: the second one does (see pitAdmitFirst).
func (c *PITCache) admit(spec *pitSpec) bool {
	if pitAdmitFirst {
		return true
	}
	mark := filepath.Join(c.Dir, spec.digest()+".seen")
	if _, err := os.Stat(mark); err == nil {
		return true
	}
	if err := os.MkdirAll(c.Dir, 0o755); err == nil {
		if fh, err := os.Create(mark); err == nil {
			fh.Close()
		}
	}
	return false
}

// errPITDamaged says a build found a mapped entry damaged while it read it (a string value's place outside its
// strings): the entry is removed and the build joins in DuckDB.
var errPITDamaged = errors.New("training-set cache entry damaged")

// errPITTooBig says a snapshot's entry would not fit the cache: the build joins in DuckDB.
var errPITTooBig = errors.New("the entry would not fit the training-set cache")

// fill makes the entry of spec from the table's rows and maps it; made is false when another build of this
// process filled it meanwhile.
func (c *PITCache) fill(ctx context.Context, eng *engine.Engine, spec *pitSpec) (_ *pitFile, made bool, _ error) {
	c.mu.Lock() // one fill at a time in this process; other processes write their own temporary files
	defer c.mu.Unlock()
	if f, err := c.open(spec); f != nil || err != nil { // filled while this one waited
		return f, false, err
	}
	f, err := c.fillLocked(ctx, eng, spec)
	return f, f != nil, err
}

func (c *PITCache) fillLocked(ctx context.Context, eng *engine.Engine, spec *pitSpec) (*pitFile, error) {
	cols, strCol, err := spec.columns(ctx, eng)
	if err != nil {
		return nil, err
	}
	words := (len(cols) + 63) / 64
	rowWidth := 8 * (words + len(cols))
	ev := ident(spec.event)
	from := spec.scan
	if spec.sql != "" {
		from = "(" + spec.sql + ")"
	}
	where := fmt.Sprintf(" FROM %s AS s WHERE %s IS NOT NULL", from, ev)
	for _, k := range spec.keys { // a row with a NULL key matches no spine row
		where += " AND s." + ident(k.Name) + " IS NOT NULL"
	}
	// A table's rows are counted first (cheap: two columns), so that an entry that would not fit is not read; a
	// SQL view's are counted as they are read (its query runs once).
	count := int64(-1)
	size := int64(pitHeadLen) + 4096
	if spec.sql == "" {
		if count, err = c.countRows(ctx, eng, spec.tables, "SELECT count(*)"+where); err != nil {
			return nil, err
		}
		if size += count * int64(rowWidth+24); size > c.MaxBytes/2 || count > math.MaxUint32 {
			return nil, errPITTooBig
		}
	}
	if err := os.MkdirAll(c.Dir, 0o755); err != nil {
		return nil, err
	}
	c.evict(size)
	created := "CAST(NULL AS BIGINT)"
	if spec.created != "" {
		created = "epoch_us(CAST(" + ident(spec.created) + " AS TIMESTAMPTZ))"
	}
	// Rows equal in keys and times keep their order: a table's by position, a SQL view's by a hash of its
	// features (pointInTime's order: the least hash last, as the match takes the last one).
	order := "file_index, file_row_number"
	if spec.sql != "" {
		ties := make([]string, len(spec.ties))
		for i, f := range spec.ties {
			ties[i] = "s." + ident(f)
		}
		order = "hash(" + strings.Join(ties, ", ") + "), CAST(0 AS BIGINT)"
	}
	sel := fmt.Sprintf("SELECT %s, epoch_us(CAST(%s AS TIMESTAMPTZ)), %s, %s", spec.keyExpr("s."), ev, created, order)
	for _, col := range cols {
		sel += ", s." + ident(col)
	}
	res, err := eng.Query(ctx, sel+where, spec.tables)
	if err != nil {
		return nil, err
	}
	defer res.Close()
	// Named by this process, so that a later fill removes it at once if the process is gone (killed mid-fill).
	tmp := filepath.Join(c.Dir, fmt.Sprintf("tmp-%d-%s", os.Getpid(), rand.Text()[:16]))
	fh, err := os.Create(tmp)
	if err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			fh.Close()
			os.Remove(tmp)
		}
	}()
	schema := res.Schema()
	if schema.NumFields() != 5+len(cols) {
		return nil, fmt.Errorf("training-set cache: %d columns read, %d expected", schema.NumFields(), 5+len(cols))
	}
	descs := make([]pitColumn, len(cols))
	for j := range cols {
		d, ok := pitTypeName(schema.Field(5 + j).Type)
		if !ok {
			return nil, fmt.Errorf("training-set cache: column %s has type %s", cols[j], schema.Field(5+j).Type)
		}
		d.Name = cols[j]
		descs[j] = d
	}
	// This goroutine reads the batches (DuckDB decodes and exports them here); pitWorkers lay each out row by
	// row and write it at its place in the file (its first row is known when it is read), and note its rows'
	// order entries at the same places (a SQL view's, whose rows were not counted, in a slice per batch).
	var entries []pitSortEntry
	if count >= 0 {
		entries = make([]pitSortEntry, count)
	}
	type batchEntries struct {
		start int
		e     []pitSortEntry
	}
	var batchMu sync.Mutex
	var batches []batchEntries
	type fillJob struct {
		rec   arrow.RecordBatch
		start int
		keys  []int64   // string keys: each row's key's number in ids
		strs  [][]int64 // per string column (nil for the others): each row's value's place in heap
	}
	heap := &pitHeap{}
	var keyBytes int64 // string keys: what their strings take in the entry and in memory while it is filled
	// String keys are numbered in the order they are first read (ids), then ranked in byte order once all are.
	var ids map[string]int64
	var idKeys []string
	if spec.stringKey() {
		ids = map[string]int64{}
	}
	jobs := make(chan fillJob, pitWorkers)
	var (
		failMu sync.Mutex
		failed error
		wg     sync.WaitGroup
	)
	fail := func(err error) {
		failMu.Lock()
		defer failMu.Unlock()
		if failed == nil {
			failed = err
		}
	}
	hasFailed := func() bool {
		failMu.Lock()
		defer failMu.Unlock()
		return failed != nil
	}
	for range pitWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf []byte
			for job := range jobs {
				if !hasFailed() {
					var err error
					var e []pitSortEntry
					if entries != nil {
						e = entries[job.start:]
					} else {
						e = make([]pitSortEntry, job.rec.NumRows())
						batchMu.Lock()
						batches = append(batches, batchEntries{job.start, e})
						batchMu.Unlock()
					}
					if buf, err = layOut(job.rec, job.keys, job.strs, spec.sql != "", buf, e, words, rowWidth, uint32(job.start)); err == nil {
						_, err = fh.WriteAt(buf, int64(pitHeadLen)+int64(job.start)*int64(rowWidth))
					}
					if err != nil {
						fail(err)
					}
				}
				job.rec.Release()
			}
		}()
	}
	total := 0
	for !hasFailed() && res.Next() {
		rec := res.RecordBatch()
		nr := int(rec.NumRows())
		if count >= 0 && int64(total+nr) > count {
			fail(fmt.Errorf("training-set cache: the table changed while it was read"))
			break
		}
		if count < 0 {
			if size += int64(nr) * int64(rowWidth+24); size+keyBytes+int64(len(heap.b)) > c.MaxBytes/2 || total+nr > math.MaxUint32 {
				fail(errPITTooBig)
				break
			}
		}
		var keys []int64
		if ids != nil {
			var err error
			before := len(idKeys)
			if keys, idKeys, err = numberKeys(rec.Column(0), ids, idKeys); err == nil {
				// each new key's bytes go into the entry, and it is held in ids meanwhile: both count
				for _, k := range idKeys[before:] {
					keyBytes += int64(len(k)) + pitKeyOverhead
				}
				if size+keyBytes+int64(len(heap.b)) > c.MaxBytes/2 {
					err = errPITTooBig
				}
			}
			if err != nil {
				fail(err)
				break
			}
		}
		var strs [][]int64
		for j, isStr := range strCol {
			if !isStr {
				continue
			}
			if strs == nil {
				strs = make([][]int64, len(cols))
			}
			var err error
			if strs[j], err = heap.add(j, rec.Column(5+j)); err == nil && size+keyBytes+int64(len(heap.b)) > c.MaxBytes/2 {
				err = errPITTooBig
			}
			if err != nil {
				fail(err)
				break
			}
		}
		if hasFailed() {
			break
		}
		rec.Retain() // the engine's batch is valid until its next Next otherwise
		jobs <- fillJob{rec: rec, start: total, keys: keys, strs: strs}
		total += nr
		c.fillRows.Add(int64(nr))
	}
	close(jobs)
	wg.Wait()
	if failed != nil {
		return nil, failed
	}
	size += int64(len(heap.b))
	if err := res.Err(); err != nil {
		return nil, err
	}
	if count >= 0 && int64(total) != count {
		return nil, fmt.Errorf("training-set cache: %d rows read, %d counted: the table changed while it was read", total, count)
	}
	if count < 0 {
		slices.SortFunc(batches, func(a, b batchEntries) int { return a.start - b.start })
		entries = make([]pitSortEntry, 0, total)
		for _, b := range batches {
			entries = append(entries, b.e...)
		}
		batches = nil
	}
	var strs []byte
	if ids != nil {
		strs = rankKeys(entries, idKeys)
		if size += int64(len(strs)); size > c.MaxBytes/2 {
			return nil, errPITTooBig
		}
	}
	c.evict(size) // the entry's size all told (a SQL view's rows and strings were not known before they were read)
	slices.SortFunc(entries, comparePIT)
	n := uint64(len(entries))
	var ukeys []int64
	var ustart []uint32
	for i, e := range entries {
		if i == 0 || e.k != entries[i-1].k {
			ukeys = append(ukeys, e.k)
			ustart = append(ustart, uint32(i))
		}
	}
	ustart = append(ustart, uint32(n))
	u := uint64(len(ukeys))
	idx := make([]byte, pitIndexBytes(n, u))
	rowOff, keyOff := 8*n, 8*n+pad8(4*n)
	startOff := keyOff + 8*u
	for i, e := range entries {
		binary.NativeEndian.PutUint64(idx[8*i:], uint64(e.t))
		binary.NativeEndian.PutUint32(idx[rowOff+4*uint64(i):], e.row)
	}
	for i, k := range ukeys {
		binary.NativeEndian.PutUint64(idx[keyOff+8*uint64(i):], uint64(k))
	}
	for i, st := range ustart {
		binary.NativeEndian.PutUint32(idx[startOff+4*uint64(i):], st)
	}
	if ids != nil && uint64(len(ukeys)) != uint64(len(idKeys)) {
		return nil, fmt.Errorf("training-set cache: %d distinct keys sorted, %d read", len(ukeys), len(idKeys))
	}
	idx = append(idx, strs...)
	idx = append(idx, heap.b...)
	keyType := ""
	if ids != nil {
		keyType = "VARCHAR"
	}
	desc, err := json.Marshal(pitDesc{Table: spec.tableNames(), View: spec.view, Key: spec.keyNames(), KeyType: keyType, Event: spec.event,
		Created: spec.created, Files: spec.files(), Columns: descs})
	if err != nil {
		return nil, err
	}
	if _, err := fh.WriteAt(append(idx, desc...), int64(pitHeadLen)+int64(n)*int64(rowWidth)); err != nil {
		return nil, err
	}
	h := pitHead{Probe: pitProbe, N: n, NCols: uint64(len(cols)), Words: uint64(words), RowWidth: uint64(rowWidth),
		IndexOff: pitHeadLen + n*uint64(rowWidth), Keys: u, StrLen: uint64(len(strs)), HeapLen: uint64(len(heap.b))}
	copy(h.Magic[:], pitMagic)
	h.DescOff = h.IndexOff + uint64(len(idx))
	h.DescLen = uint64(len(desc))
	h.Size = h.DescOff + h.DescLen
	head := make([]byte, 0, pitHeadLen)
	head, err = binary.Append(head, binary.NativeEndian, &h)
	if err != nil {
		return nil, err
	}
	if _, err := fh.WriteAt(head, 0); err != nil {
		return nil, err
	}
	// Synced before it is named: after a crash an entry is whole or absent.
	if err := fh.Sync(); err != nil {
		return nil, err
	}
	if err := fh.Close(); err != nil {
		return nil, err
	}
	path := filepath.Join(c.Dir, spec.digest()+".pit")
	if err := os.Rename(tmp, path); err != nil {
		return nil, err
	}
	ok = true
	return c.open(spec)
}

// layOut writes rec's rows row by row into buf (grown as needed, returned) and their order entries into
// entries, numbering the rows from first.
func layOut(rec arrow.RecordBatch, keys []int64, strs [][]int64, hashTies bool, buf []byte, entries []pitSortEntry, words, rowWidth int, first uint32) ([]byte, error) {
	nr := int(rec.NumRows())
	var narrow [5][]int64
	narrow[0] = keys
	for j := range 5 {
		if narrow[j] != nil {
			continue
		}
		var err error
		if narrow[j], err = int64Values(rec.Column(j)); err != nil {
			return buf, err
		}
	}
	if need := nr * rowWidth; cap(buf) < need {
		buf = make([]byte, need)
	} else {
		buf = buf[:need]
		clear(buf)
	}
	for j := 0; j < int(rec.NumCols())-5; j++ {
		arr := rec.Column(5 + j)
		if strs != nil && strs[j] != nil {
			putValues(buf, rowWidth, 8*(words+j), strs[j])
		} else if err := putColumn(buf, rowWidth, 8*(words+j), arr); err != nil {
			return buf, err
		}
		if arr.NullN() > 0 {
			word, bit := j/64, uint64(1)<<(j%64)
			bits, boff := arr.NullBitmapBytes(), arr.Data().Offset()
			for r := range nr {
				if bits[(boff+r)>>3]&(1<<((boff+r)&7)) == 0 {
					p := (*uint64)(unsafe.Pointer(&buf[r*rowWidth+8*word]))
					*p |= bit
				}
			}
		}
	}
	created := rec.Column(2)
	for r := range nr {
		e := pitSortEntry{k: narrow[0][r], t: narrow[1][r], f: narrow[3][r], p: narrow[4][r], row: first + uint32(r)}
		if hashTies { // the least hash (unsigned) sorts last
			e.f = int64(^uint64(e.f) ^ 1<<63)
		}
		if created.IsValid(r) { // a NULL's slot holds any value: it must not order rows
			e.c, e.cSet = narrow[2][r], true
		}
		entries[r] = e
	}
	return buf, nil
}

func (c *PITCache) countRows(ctx context.Context, eng *engine.Engine, tables []engine.Table, sql string) (int64, error) {
	res, err := eng.Query(ctx, sql, tables)
	if err != nil {
		return 0, err
	}
	defer res.Close()
	var n int64
	for res.Next() {
		v, err := int64Values(res.RecordBatch().Column(0))
		if err != nil {
			return 0, err
		}
		if len(v) > 0 {
			n = v[0]
		}
	}
	return n, res.Err()
}

// evict removes the least recently used entries until room more bytes fit, and temporary files older than
// pitTempAge (left by a fill that crashed).
func (c *PITCache) evict(room int64) {
	ents, err := os.ReadDir(c.Dir)
	if err != nil {
		return
	}
	type entry struct {
		path string
		size int64
		used time.Time
	}
	var list []entry
	var total int64
	for _, e := range ents {
		info, err := e.Info()
		if err != nil || !info.Mode().IsRegular() {
			continue
		}
		path := filepath.Join(c.Dir, e.Name())
		if strings.HasPrefix(e.Name(), "tmp-") {
			if time.Since(info.ModTime()) > pitTempAge || !fillerAlive(e.Name()) {
				os.Remove(path)
			}
			continue
		}
		if strings.HasSuffix(e.Name(), ".seen") {
			if time.Since(info.ModTime()) > pitMarkAge {
				os.Remove(path)
			}
			continue
		}
		if strings.HasSuffix(e.Name(), ".pit") {
			list = append(list, entry{path, info.Size(), info.ModTime()})
			total += info.Size()
		}
	}
	sort.Slice(list, func(i, j int) bool { return list[i].used.Before(list[j].used) })
	for _, e := range list {
		if total+room <= c.MaxBytes {
			return
		}
		if os.Remove(e.path) == nil { // a build that mapped it keeps reading it
			total -= e.size
		}
	}
}

// fillerAlive says whether the process that named a temporary file tmp-PID-... may still be writing it (true
// when it cannot tell: the file then goes once it is pitTempAge old).
func fillerAlive(name string) bool {
	parts := strings.SplitN(name, "-", 3)
	if len(parts) != 3 {
		return true
	}
	pid, err := strconv.Atoi(parts[1])
	if err != nil || pid <= 0 {
		return true
	}
	if pid == os.Getpid() {
		return true
	}
	return !errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}

// int64Values returns an integer column's values as int64 (a copy unless it is Int64).
func int64Values(a arrow.Array) ([]int64, error) {
	switch a := a.(type) {
	case *array.Int64:
		return a.Int64Values(), nil
	case *array.Int32:
		return widen(a.Int32Values()), nil
	case *array.Uint64:
		out := make([]int64, a.Len())
		for i, v := range a.Uint64Values() {
			out[i] = int64(v)
		}
		return out, nil
	case *array.Uint32:
		return widen(a.Uint32Values()), nil
	}
	return nil, fmt.Errorf("training-set cache: an integer column has type %s", a.DataType())
}

func widen[T int32 | uint32](v []T) []int64 {
	out := make([]int64, len(v))
	for i, x := range v {
		out[i] = int64(x)
	}
	return out
}

// putColumn writes column arr's values into the rows of buf (rowWidth bytes each) at byte off, 8 bytes each.
func putColumn(buf []byte, rowWidth, off int, arr arrow.Array) error {
	switch a := arr.(type) {
	case *array.Float64:
		putValues(buf, rowWidth, off, a.Float64Values())
	case *array.Float32:
		putValues(buf, rowWidth, off, a.Float32Values())
	case *array.Int64:
		putValues(buf, rowWidth, off, a.Int64Values())
	case *array.Int32:
		putValues(buf, rowWidth, off, a.Int32Values())
	case *array.Int16:
		putValues(buf, rowWidth, off, a.Int16Values())
	case *array.Int8:
		putValues(buf, rowWidth, off, a.Int8Values())
	case *array.Date32:
		putValues(buf, rowWidth, off, a.Date32Values())
	case *array.Timestamp:
		putValues(buf, rowWidth, off, a.TimestampValues())
	case *array.Boolean:
		for r := range a.Len() {
			if a.Value(r) {
				buf[r*rowWidth+off] = 1
			}
		}
	default:
		return fmt.Errorf("training-set cache: cannot hold a column of type %s", arr.DataType())
	}
	return nil
}

// putValues writes vals into the rows of buf (rowWidth bytes each) at byte off.
func putValues[T int8 | int16 | int32 | int64 | float32 | float64 | arrow.Date32 | arrow.Timestamp](buf []byte, rowWidth, off int, vals []T) {
	for r, v := range vals {
		*(*T)(unsafe.Pointer(&buf[r*rowWidth+off])) = v
	}
}

// stringKey says whether the entry's rows are keyed by strings (ranked in byte order): a string join key, or
// several join keys (their values encoded in one string).
func (s *pitSpec) stringKey() bool { return len(s.keys) > 1 || s.keyTypes[0] == "VARCHAR" }

// keyExpr is the SQL of a row's key as the entry holds it, its columns qualified by prefix ("s." or "spine."),
// each cast to its type first as the SQL join casts it: one integer key as a BIGINT, one string key as itself,
// several keys as one string, each key's text after its length in bytes and a colon (so that two key tuples
// have the same string exactly when their keys are equal; NULL when one is NULL, as no SQL join matches it).
func (s *pitSpec) keyExpr(prefix string) string {
	if len(s.keys) == 1 {
		if s.keyTypes[0] == "VARCHAR" {
			return fmt.Sprintf("CAST(%s%s AS VARCHAR)", prefix, ident(s.keys[0].Name))
		}
		return fmt.Sprintf("CAST(CAST(%s%s AS %s) AS BIGINT)", prefix, ident(s.keys[0].Name), s.keyTypes[0])
	}
	parts := make([]string, len(s.keys))
	for i, k := range s.keys {
		v := fmt.Sprintf("CAST(CAST(%s%s AS %s) AS VARCHAR)", prefix, ident(k.Name), s.keyTypes[i])
		parts[i] = fmt.Sprintf("CAST(strlen(%s) AS VARCHAR) || ':' || %s", v, v)
	}
	return strings.Join(parts, " || ")
}

// keyNames is the keys' names, as an entry's description lists them.
func (s *pitSpec) keyNames() string {
	names := make([]string, len(s.keys))
	for i, k := range s.keys {
		names[i] = k.Name
	}
	return strings.Join(names, ", ")
}

// stringsOf returns the accessor of a string column's values (views of its buffers).
func stringsOf(a arrow.Array) (func(int) string, error) {
	switch a := a.(type) {
	case *array.String:
		return a.Value, nil
	case *array.LargeString:
		return a.Value, nil
	case *array.StringView:
		return a.Value, nil
	}
	return nil, fmt.Errorf("training-set cache: a string key column has type %s", a.DataType())
}

// numberKeys returns each row's key's number in ids (a key read for the first time is numbered next, and its
// string kept in idKeys, returned).
func numberKeys(col arrow.Array, ids map[string]int64, idKeys []string) ([]int64, []string, error) {
	val, err := stringsOf(col)
	if err != nil {
		return nil, idKeys, err
	}
	out := make([]int64, col.Len())
	for i := range out {
		if col.IsNull(i) { // filtered out by the fill's query
			return nil, idKeys, errors.New("training-set cache: a NULL key was read")
		}
		k := val(i)
		id, ok := ids[k]
		if !ok {
			id = int64(len(idKeys))
			k = strings.Clone(k) // the batch's buffers go
			ids[k] = id
			idKeys = append(idKeys, k)
		}
		out[i] = id
	}
	return out, idKeys, nil
}

// rankKeys replaces the key numbers of entries by the keys' ranks in byte order and returns the key strings'
// section: where each key's bytes start, in rank order, and one end (8 bytes each), then the bytes.
func rankKeys(entries []pitSortEntry, idKeys []string) []byte {
	order := make([]int, len(idKeys))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return strings.Compare(idKeys[a], idKeys[b]) })
	rank := make([]int64, len(idKeys))
	heap := 0
	for r, id := range order {
		rank[id] = int64(r)
		heap += len(idKeys[id])
	}
	for i := range entries {
		entries[i].k = rank[entries[i].k]
	}
	out := make([]byte, 8*(len(idKeys)+1), 8*(len(idKeys)+1)+heap)
	off := uint64(0)
	for r, id := range order {
		binary.NativeEndian.PutUint64(out[8*r:], off)
		out = append(out, idKeys[id]...)
		off += uint64(len(idKeys[id]))
	}
	binary.NativeEndian.PutUint64(out[8*len(idKeys):], off)
	return out
}

// pitHeap gathers the string features' bytes of a fill; a column's repeated values are stored once (up to
// pitHeapDistinct distinct values per column: categories repeat, free text does not).
type pitHeap struct {
	b    []byte
	seen map[int]map[string]int64
}

const (
	pitHeapDistinct = 1 << 16
	pitMaxString    = 1<<24 - 1
)

// pitKeyOverhead is what a distinct string key takes besides its bytes, in the entry (its offset) and in memory
// while an entry is filled (its map slot and string header), counted against the cache's size.
const pitKeyOverhead = 72

// errPITLongString says a string feature's value is too long for an entry: the build joins in DuckDB.
var errPITLongString = errors.New("a string feature's value is 16 MiB or longer")

// add stores column j's values of one batch and returns each row's place (0 for NULLs).
func (h *pitHeap) add(j int, col arrow.Array) ([]int64, error) {
	val, err := stringsOf(col)
	if err != nil {
		return nil, err
	}
	if h.seen == nil {
		h.seen = map[int]map[string]int64{}
	}
	seen := h.seen[j]
	if seen == nil {
		seen = map[string]int64{}
		h.seen[j] = seen
	}
	out := make([]int64, col.Len())
	for i := range out {
		if col.IsNull(i) {
			continue
		}
		v := val(i)
		if len(v) > pitMaxString {
			return nil, errPITLongString
		}
		if at, ok := seen[v]; ok {
			out[i] = at
			continue
		}
		if len(h.b)+len(v) >= 1<<40 {
			return nil, errPITTooBig
		}
		at := int64(len(h.b))<<24 | int64(len(v))
		h.b = append(h.b, v...)
		if len(seen) < pitHeapDistinct {
			seen[strings.Clone(v)] = at
		}
		out[i] = at
	}
	return out, nil
}

// tableNames is the spec's tables as zone.name, comma separated.
func (s *pitSpec) tableNames() string {
	names := make([]string, len(s.tables))
	for i, t := range s.tables {
		names[i] = t.Schema + "." + t.Name
	}
	return strings.Join(names, ", ")
}

// files is how many data files the spec's tables have.
func (s *pitSpec) files() int {
	n := 0
	for _, t := range s.tables {
		n += len(t.Files)
	}
	return n
}

// dataBytes is the size of the spec's tables' data files.
func (s *pitSpec) dataBytes() int64 {
	var n int64
	for _, t := range s.tables {
		n += tableBytes(t)
	}
	return n
}

// columns returns the columns an entry of s holds — every fixed-width one and the string ones s asks for —
// and which are strings: a table's from its schema (any view over it may ask for any of them), a SQL view's
// features from its query's result.
func (s *pitSpec) columns(ctx context.Context, eng *engine.Engine) (cols []string, strCol []bool, err error) {
	if s.sql == "" {
		for _, col := range s.table.Columns {
			if isStr := col.Type == "string" && slices.Contains(s.strs, col.Name); pitFixedIceberg[col.Type] || isStr {
				cols = append(cols, col.Name)
				strCol = append(strCol, isStr)
			}
		}
		return cols, strCol, nil
	}
	res, err := eng.Query(ctx, "SELECT * FROM ("+s.sql+") AS s LIMIT 0", s.tables)
	if err != nil {
		return nil, nil, err
	}
	defer res.Close()
	for _, f := range res.Schema().Fields() {
		if !slices.Contains(s.ties, f.Name) { // only the view's features can be asked for
			continue
		}
		d, ok := pitTypeName(f.Type)
		if isStr := ok && d.Type == "string" && slices.Contains(s.strs, f.Name); (ok && d.Type != "string") || isStr {
			cols = append(cols, f.Name)
			strCol = append(strCol, isStr)
		}
	}
	for res.Next() { // none: LIMIT 0
	}
	return cols, strCol, res.Err()
}

// duckdbVersion is the version of the DuckDB bindings this binary links ("" when the build does not say).
var duckdbVersion = sync.OnceValue(func() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	for _, d := range info.Deps {
		if d.Path == "github.com/duckdb/duckdb-go-bindings" {
			return d.Version
		}
	}
	return ""
})
