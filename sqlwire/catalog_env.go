package sqlwire

import (
	"context"
	"fmt"
	"hash/fnv"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/strata-data/strata/envs"
	"github.com/strata-data/strata/errs"
	"github.com/strata-data/strata/lake"
)

// Fixed OIDs of the emulated catalog (PostgreSQL's own where it has them).
const (
	oidPgCatalog   = 11
	oidPublic      = 2200
	oidInfoSchema  = 13207
	oidOwner       = 10 // the role owning everything, as PostgreSQL's bootstrap superuser
	oidRelPgClass  = 1259
	firstNormalOID = 16384
)

// catalogOID derives a stable OID (≥ 16384, PostgreSQL's first normal OID) from names, so a table keeps its
// OID across sessions and server restarts.
func catalogOID(parts ...string) int64 {
	h := fnv.New32a()
	for _, p := range parts {
		_, _ = h.Write([]byte(p))
		_, _ = h.Write([]byte{0})
	}
	return firstNormalOID + int64(h.Sum32()%(1<<31-firstNormalOID))
}

// catRel is one relation of the session's environment as pg_class shows it.
type catRel struct {
	oid        int64
	zone, name string
	kind       string // r = lake table, v = strata.* system table
	rows       int64
	bytes      int64 // the data files' size at the snapshot read
	cols       []catCol
}

type catCol struct {
	name    string
	typ     pgType
	notNull bool
	doc     string
}

// catalogEnv is what the setup script of one query shows of the session's environment.
type catalogEnv struct {
	env, user, version string
	vars               map[string]setting
	zones              []string
	rels               []catRel
	envNames           []string
	strata             map[string][][]string // rows of the strata.* tables, by name
}

func (e *catalogEnv) nsOID(zone string) int64 {
	switch zone {
	case "pg_catalog":
		return oidPgCatalog
	case "public":
		return oidPublic
	case "information_schema":
		return oidInfoSchema
	}
	return catalogOID("namespace", zone)
}

// loadCatalogEnv reads what the wanted objects show: zones, tables and (for pg_attribute and the views over
// it) their columns at the snapshot the session's readers see.
func (c *conn) loadCatalogEnv(ctx context.Context, want map[string]bool) (*catalogEnv, error) {
	e := &catalogEnv{env: c.env, user: c.user(), version: c.s.opts.Version, vars: c.vars}
	svc := c.s.opts.Envs
	if want["pg_database"] {
		list, err := svc.List(ctx)
		if err != nil {
			return nil, err
		}
		for _, x := range list { // as PostgreSQL's \l shows only what the user may connect to
			if c.principal().CanRead(x.Name) {
				e.envNames = append(e.envNames, x.Name)
			}
		}
	}
	if err := c.loadStrata(ctx, want, e); err != nil {
		return nil, err
	}
	if !want["pg_namespace"] && !want["pg_class"] && !want["pg_attribute"] {
		return e, nil
	}
	zones, err := svc.Lake().Zones(ctx, c.env)
	if err != nil {
		return nil, err
	}
	e.zones = zones
	tables, err := svc.Tables(ctx, c.env, "")
	if err != nil {
		return nil, err
	}
	at, err := c.catalogTime(ctx)
	if err != nil {
		return nil, err
	}
	for _, t := range tables {
		if at != nil {
			var ok bool
			if t, ok, err = at.summary(ctx, c, t); err != nil {
				return nil, err
			} else if !ok {
				continue // the table did not exist then (or its release did not pin it)
			}
		}
		r := catRel{oid: catalogOID("table", c.env, t.Ident.Zone, t.Ident.Name), zone: t.Ident.Zone,
			name: t.Ident.Name, kind: "r", rows: t.Rows, bytes: t.Bytes}
		if want["pg_attribute"] {
			if r.cols, err = c.s.catalog.columns(ctx, svc, c.env, t); err != nil {
				return nil, err
			}
		}
		e.rels = append(e.rels, r)
	}
	e.rels = append(e.rels, strataRels(c.env)...)
	return e, nil
}

// catalogAt is the time a session's catalog shows under strata.as_of / strata.snapshot, as its data
// queries read it (bindAt): a release's pins, an instant, or a snapshot per table.
type catalogAt struct {
	pins  map[string]int64 // release N's pins by zone.table; nil unless 'release N'
	at    lake.SnapshotRef // an instant; zero unless one was given
	snaps map[string]int64 // strata.snapshot's zone.table@id, by lower-case zone.table
}

// catalogTime returns the session's time travel, or nil when it reads the environment's current view.
func (c *conn) catalogTime(ctx context.Context) (*catalogAt, error) {
	release, at, _ := parseAsOf(c.vars[varAsOf].value) // validated at SET
	snaps, _ := parseSnapshots(c.vars[varSnapshot].value)
	if release == 0 && at.AsOf.IsZero() && len(snaps) == 0 {
		return nil, nil
	}
	out := &catalogAt{at: at, snaps: snaps}
	if release > 0 {
		r, err := c.s.opts.Envs.Release(ctx, c.env, release)
		if err != nil {
			return nil, fmt.Errorf("%s = 'release %d': %w", varAsOf, release, err)
		}
		out.pins = map[string]int64{}
		for _, p := range r.Pins {
			out.pins[p.Table] = p.SnapshotID
		}
	}
	return out, nil
}

// summary returns t as of the session's time: its snapshot, rows and (for that snapshot) size; ok is false
// when the table has no snapshot then. A table strata.snapshot does not name follows strata.as_of, or the
// current view when that is off.
func (a *catalogAt) summary(ctx context.Context, c *conn, t lake.TableSummary) (lake.TableSummary, bool, error) {
	key := t.Ident.Zone + "." + t.Ident.Name
	ref := a.at
	if id, ok := a.snaps[strings.ToLower(key)]; ok {
		ref = lake.SnapshotRef{ID: id}
	} else if a.pins != nil {
		id, ok := a.pins[key]
		if !ok {
			return t, false, nil
		}
		ref = lake.SnapshotRef{ID: id}
	}
	if ref.ID == 0 && ref.AsOf.IsZero() {
		return t, true, nil
	}
	p, err := c.s.opts.Envs.Resolve(ctx, c.env, t.Ident, ref)
	if errs.KindOf(err) == errs.NotFound {
		return t, false, nil
	}
	if err != nil {
		return t, false, err
	}
	out := lake.TableSummary{Ident: t.Ident, SnapshotID: p.SnapshotID, Rows: p.Rows, Files: int64(len(p.Files))}
	if p.SnapshotID == t.SnapshotID {
		out.Bytes, out.Updated = t.Bytes, t.Updated
	}
	return out, true, nil
}

// catalogCache keeps table columns by environment, table and snapshot: a new snapshot or release changes the
// key, so nothing stale is served and nothing needs invalidating.
type catalogCache struct {
	mu   sync.Mutex
	cols map[string][]catCol
}

func (cc *catalogCache) columns(ctx context.Context, svc *envs.Service, env string, t lake.TableSummary) ([]catCol, error) {
	key := env + "\x00" + t.Ident.String() + "\x00" + strconv.FormatInt(t.SnapshotID, 10)
	cc.mu.Lock()
	cols, ok := cc.cols[key]
	cc.mu.Unlock()
	if ok {
		return cols, nil
	}
	p, err := svc.Resolve(ctx, env, t.Ident, lake.SnapshotRef{ID: t.SnapshotID}) // 0: the current view
	if err != nil {
		return nil, err
	}
	for _, col := range p.Columns {
		cols = append(cols, catCol{name: col.Name, typ: icebergPGType(col.Type), notNull: col.Required, doc: col.Doc})
	}
	cc.mu.Lock()
	if cc.cols == nil || len(cc.cols) > 10000 {
		cc.cols = map[string][]catCol{}
	}
	cc.cols[key] = cols
	cc.mu.Unlock()
	return cols, nil
}

var decimalType = regexp.MustCompile(`^decimal\((\d+),\s*(\d+)\)$`)

// icebergPGType is the PostgreSQL type of a lake column: the type a query's RowDescription gives it (typeOf
// of the Arrow type DuckDB reads it as).
func icebergPGType(t string) pgType {
	t = strings.TrimSpace(t)
	switch t {
	case "boolean":
		return pgType{oidBool, 1, -1}
	case "int":
		return pgType{oidInt4, 4, -1}
	case "long":
		return pgType{oidInt8, 8, -1}
	case "float":
		return pgType{oidFloat4, 4, -1}
	case "double":
		return pgType{oidFloat8, 8, -1}
	case "date":
		return pgType{oidDate, 4, -1}
	case "time":
		return pgType{oidTime, 8, -1}
	case "timestamp", "timestamp_ns":
		return pgType{oidTimestamp, 8, -1}
	case "timestamptz", "timestamptz_ns":
		return pgType{oidTimestamptz, 8, -1}
	case "string":
		return pgType{oidText, -1, -1}
	case "uuid":
		return pgType{oidUUID, 16, -1}
	case "binary":
		return pgType{oidBytea, -1, -1}
	}
	if m := decimalType.FindStringSubmatch(t); m != nil {
		p, _ := strconv.Atoi(m[1])
		s, _ := strconv.Atoi(m[2])
		return pgType{oidNumeric, -1, int32(p<<16|s) + 4}
	}
	switch {
	case strings.HasPrefix(t, "fixed"):
		return pgType{oidBytea, -1, -1}
	case strings.HasPrefix(t, "list<") && strings.HasSuffix(t, ">"):
		if a, ok := arrayOIDs[icebergPGType(t[5:len(t)-1]).OID]; ok {
			return pgType{a, -1, -1}
		}
	}
	return pgType{oidText, -1, -1}
}
