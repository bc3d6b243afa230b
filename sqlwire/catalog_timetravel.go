package sqlwire

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/strata-data/strata/engine"
	"github.com/strata-data/strata/envs"
	"github.com/strata-data/strata/lake"
)

// Session settings that change which snapshots later queries read (time travel), with the CLI's formats:
//
//	SET strata.as_of = '2026-11-25T10:00:00Z'   every table as of that instant (envs.ParseTime's formats)
//	SET strata.as_of = 'release 3'              every table at release 3's pins ('release-3' too)
//	SET strata.snapshot = 'raw.orders@5937117119577207079[, zone.table@id ...]'
//
// In a prod-kind environment both still see only what some release pinned (envs.Resolve). RESET or an empty
// value turns them off.
const (
	varAsOf     = "strata.as_of"
	varSnapshot = "strata.snapshot"
)

// checkStrataVar validates strata.as_of and strata.snapshot when they are SET, so a bad value fails at once
// rather than at the next query.
func checkStrataVar(key, value string) error {
	if !strings.HasPrefix(key, "strata.") {
		return nil
	}
	switch key {
	case varAsOf:
		_, _, err := parseAsOf(value)
		return err
	case varSnapshot:
		_, err := parseSnapshots(value)
		return err
	}
	return nil // other custom settings are kept, as PostgreSQL keeps any name with a dot
}

// parseAsOf reads strata.as_of: a release number (release > 0) or an instant (at); both zero when off.
func parseAsOf(v string) (release int64, at lake.SnapshotRef, err error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, at, nil
	}
	lower := strings.ToLower(v)
	for _, p := range []string{"release-", "release "} {
		if rest, ok := strings.CutPrefix(lower, p); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(rest), 10, 64)
			if err != nil || n <= 0 {
				return 0, at, fmt.Errorf("%s = %q: a release is 'release N' with N a release number: %w", varAsOf, v, errBadValue)
			}
			return n, at, nil
		}
	}
	at, err = envs.ParseSnapshotRef("", v)
	if err != nil {
		return 0, at, fmt.Errorf("%s = %q: %v (or 'release N'): %w", varAsOf, v, err, errBadValue)
	}
	return 0, at, nil
}

// parseSnapshots reads strata.snapshot: zone.table@id pairs separated by commas.
func parseSnapshots(v string) (map[string]int64, error) {
	out := map[string]int64{}
	for _, part := range strings.Split(v, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, id, ok := strings.Cut(part, "@")
		ids, err := envs.ParseSnapshotRef(id, "")
		if !ok || err != nil || strings.Count(name, ".") != 1 {
			return nil, fmt.Errorf("%s = %q: give zone.table@snapshot_id[, ...], e.g. raw.orders@5937117119577207079: %w",
				varSnapshot, v, errBadValue)
		}
		out[strings.ToLower(strings.TrimSpace(name))] = ids.ID
	}
	return out, nil
}

// bindTables resolves the lake tables sql names as the session sees them: the environment's default view
// (release pins in prod, latest in dev) unless strata.as_of / strata.snapshot say otherwise. It remembers
// their columns, as this session's own, for the RowDescription's table OID and attnum (columnOrigins).
func (c *conn) bindTables(ctx context.Context, sql string) ([]engine.Table, error) {
	svc := c.s.opts.Envs
	release, at, _ := parseAsOf(c.vars[varAsOf].value)
	snaps, _ := parseSnapshots(c.vars[varSnapshot].value)
	var tables []engine.Table
	var err error
	if release == 0 && at.AsOf.IsZero() && len(snaps) == 0 {
		tables, err = svc.BindSQL(ctx, c.env, sql)
	} else {
		tables, err = c.bindAt(ctx, sql, release, at, snaps)
	}
	if err != nil {
		return nil, err
	}
	c.bound = make(map[engine.QualifiedName][]engine.Column, len(tables))
	for _, t := range tables {
		c.bound[engine.QualifiedName{Schema: t.Schema, Name: t.Name}] = t.Columns
	}
	if c.s.opts.afterBind != nil {
		c.s.opts.afterBind(sql)
	}
	return tables, nil
}

func (c *conn) bindAt(ctx context.Context, sql string, release int64, at lake.SnapshotRef, snaps map[string]int64) ([]engine.Table, error) {
	svc := c.s.opts.Envs
	var pins map[string]int64
	if release > 0 {
		r, err := svc.Release(ctx, c.env, release)
		if err != nil {
			return nil, fmt.Errorf("%s = 'release %d': %w", varAsOf, release, err)
		}
		pins = map[string]int64{}
		for _, p := range r.Pins {
			pins[p.Table] = p.SnapshotID
		}
	}
	zones, err := svc.Lake().Zones(ctx, c.env)
	if err != nil {
		return nil, err
	}
	isZone := map[string]bool{}
	for _, z := range zones {
		isZone[z] = true
	}
	var out []engine.Table
	seen := map[string]bool{}
	for _, n := range engine.ReferencedNames(sql) {
		key := n.Schema + "." + n.Name
		if !isZone[n.Schema] || seen[key] {
			continue
		}
		seen[key] = true
		ref := at
		if id, ok := snaps[strings.ToLower(key)]; ok {
			ref = lake.SnapshotRef{ID: id}
		} else if pins != nil {
			id, ok := pins[key]
			if !ok {
				return nil, fmt.Errorf("table %s is not in release %d of %s (%s): %w", key, release, c.env, varAsOf, lake.ErrNotFound)
			}
			ref = lake.SnapshotRef{ID: id}
		}
		p, err := svc.Resolve(ctx, c.env, lake.Ident{Zone: n.Schema, Name: n.Name}, ref)
		if err != nil {
			return nil, fmt.Errorf("in SQL: %w", err)
		}
		out = append(out, envs.EngineTable(p))
	}
	return out, nil
}

// columnOrigins sets the table OID and attnum of RowDescription fields that are plain columns of the lake
// tables sql reads, consistent with pg_attribute, as PostgreSQL reports them for RPostgreSQL and pgjdbc's
// follow-up lookups. One table: the fields named as its columns (same name and type). Several (a join): as
// DuckDB's parse tree resolves them (joinOrigins). Any other field keeps 0.
func (c *conn) columnOrigins(sql string, fields []pgproto3.FieldDescription) {
	bound := map[engine.QualifiedName][]engine.Column{}
	for _, q := range engine.ReferencedNames(sql) {
		if cs, ok := c.bound[q]; ok {
			bound[q] = cs
		}
	}
	switch len(bound) {
	case 0:
		return
	case 1:
	default:
		c.joinOrigins(sql, bound, fields)
		return
	}
	for table, cols := range bound {
		oid := uint32(catalogOID("table", c.env, table.Schema, table.Name))
		for i := range fields {
			for j, col := range cols {
				if string(fields[i].Name) == col.Name && icebergPGType(col.Type).OID == fields[i].DataTypeOID {
					fields[i].TableOID, fields[i].TableAttributeNumber = oid, uint16(j+1)
				}
			}
		}
	}
}
