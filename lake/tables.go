package lake

import (
	"context"
	"fmt"
	"maps"
	"sort"
	"strconv"
	"time"

	"github.com/apache/iceberg-go"
	icebergio "github.com/apache/iceberg-go/io"
	"github.com/apache/iceberg-go/table"
)

// Column is one top-level column of a table schema.
type Column struct {
	FieldID  int    `json:"field_id"`
	Name     string `json:"name"`
	Type     string `json:"type"` // Iceberg type, e.g. "long", "timestamptz", "struct<...>"
	Required bool   `json:"required"`
	Doc      string `json:"doc,omitempty"`
}

// TableSummary is the cheap description of a table: everything comes from its current metadata and snapshot
// summary, no manifest is read.
type TableSummary struct {
	Ident      Ident     `json:"table"`
	SnapshotID int64     `json:"snapshot_id"` // 0 when the table has no snapshot yet
	Rows       int64     `json:"rows"`
	Files      int64     `json:"files"`
	Bytes      int64     `json:"bytes"`
	Updated    time.Time `json:"updated"`
}

// Snapshot describes one snapshot of a table.
type Snapshot struct {
	ID           int64             `json:"snapshot_id"`
	ParentID     int64             `json:"parent_id,omitempty"` // 0 for none
	Sequence     int64             `json:"sequence_number"`     // Iceberg sequence number: commit order
	Timestamp    time.Time         `json:"timestamp"`
	Operation    string            `json:"operation"` // append, overwrite, delete, replace
	AddedRecords int64             `json:"added_rows"`
	TotalRecords int64             `json:"total_rows"`
	SchemaID     int               `json:"schema_id"`
	Summary      map[string]string `json:"summary"`
}

// TableInfo is the full description of a table.
type TableInfo struct {
	Ident             Ident             `json:"table"`
	Env               string            `json:"env"`
	UUID              string            `json:"uuid"`
	FormatVersion     int               `json:"format_version"`
	Location          string            `json:"location"`          // table root (URL)
	MetadataLocation  string            `json:"metadata_location"` // current metadata JSON (URL)
	Columns           []Column          `json:"columns"`
	SchemaID          int               `json:"schema_id"`
	CurrentSnapshotID int64             `json:"current_snapshot_id"` // main's head; 0 when main has no snapshot
	Snapshots         []Snapshot        `json:"snapshots"`           // in commit order
	Refs              []Ref             `json:"refs"`                // branches and tags, by name
	Properties        map[string]string `json:"properties"`
	Updated           time.Time         `json:"updated"`
}

// ListTables lists env's tables in zone, or in every zone when zone is "". Tables are sorted by zone, then name.
func (l *Lake) ListTables(ctx context.Context, env string, zone string) ([]TableSummary, error) {
	if _, err := l.existingCatalog(ctx, env); err != nil {
		return nil, err
	}
	if zone != "" {
		if err := validateName("zone", zone); err != nil {
			return nil, err
		}
		if ok, err := l.zoneExists(ctx, env, zone); err != nil {
			return nil, err
		} else if !ok {
			return nil, l.zoneNotFound(ctx, env, zone)
		}
	}
	entries, err := l.catalogEntries(ctx, env, zone)
	if err != nil {
		return nil, err
	}
	out := make([]TableSummary, 0, len(entries))
	for _, e := range entries {
		md, err := readMetadata(ctx, e.metadataLoc)
		if err != nil {
			return nil, fmt.Errorf("table %q in environment %q: %w", e.ident(), env, err)
		}
		out = append(out, summarize(e.ident(), md))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Ident.String() < out[j].Ident.String() })
	return out, nil
}

func summarize(id Ident, md table.Metadata) TableSummary {
	s := TableSummary{Ident: id, Updated: time.UnixMilli(md.LastUpdatedMillis())}
	if cur := md.CurrentSnapshot(); cur != nil {
		s.SnapshotID = cur.SnapshotID
		if cur.Summary != nil {
			s.Rows = propInt(cur.Summary.Properties, "total-records")
			s.Files = propInt(cur.Summary.Properties, "total-data-files")
			s.Bytes = propInt(cur.Summary.Properties, "total-files-size")
		}
	}
	return s
}

// Describe returns schema, snapshots and properties of env/id.
func (l *Lake) Describe(ctx context.Context, env string, id Ident) (*TableInfo, error) {
	if err := id.Validate(); err != nil {
		return nil, err
	}
	c, err := l.existingCatalog(ctx, env)
	if err != nil {
		return nil, err
	}
	t, err := l.loadTable(ctx, c, id)
	if err != nil {
		return nil, err
	}
	md := t.Metadata()
	info := &TableInfo{
		Ident:            id,
		Env:              env,
		UUID:             md.TableUUID().String(),
		FormatVersion:    md.Version(),
		Location:         md.Location(),
		MetadataLocation: t.MetadataLocation(),
		Columns:          columns(md.CurrentSchema()),
		SchemaID:         md.CurrentSchema().ID,
		Properties:       maps.Clone(map[string]string(md.Properties())),
		Updated:          time.UnixMilli(md.LastUpdatedMillis()),
		Refs:             refsOf(md),
	}
	if cur := md.CurrentSnapshot(); cur != nil {
		info.CurrentSnapshotID = cur.SnapshotID
	}
	for _, s := range md.Snapshots() {
		info.Snapshots = append(info.Snapshots, describeSnapshot(s))
	}
	sort.SliceStable(info.Snapshots, func(i, j int) bool { return info.Snapshots[i].Sequence < info.Snapshots[j].Sequence })
	return info, nil
}

func describeSnapshot(s table.Snapshot) Snapshot {
	out := Snapshot{ID: s.SnapshotID, Sequence: s.SequenceNumber, Timestamp: time.UnixMilli(s.TimestampMs),
		Summary: map[string]string{}}
	if s.ParentSnapshotID != nil {
		out.ParentID = *s.ParentSnapshotID
	}
	if s.SchemaID != nil {
		out.SchemaID = *s.SchemaID
	}
	if s.Summary != nil {
		out.Operation = string(s.Summary.Operation)
		maps.Copy(out.Summary, s.Summary.Properties)
		out.AddedRecords = propInt(s.Summary.Properties, "added-records")
		out.TotalRecords = propInt(s.Summary.Properties, "total-records")
	}
	return out
}

func columns(sc *iceberg.Schema) []Column {
	fields := sc.Fields()
	out := make([]Column, len(fields))
	for i, f := range fields {
		out[i] = Column{FieldID: f.ID, Name: f.Name, Type: f.Type.String(), Required: f.Required, Doc: f.Doc}
	}
	return out
}

func propInt(p iceberg.Properties, key string) int64 {
	n, _ := strconv.ParseInt(p[key], 10, 64)
	return n
}

// catalogEntry is one row of iceberg_tables.
type catalogEntry struct {
	env, zone, name, metadataLoc string
}

func (e catalogEntry) ident() Ident { return Ident{Zone: e.zone, Name: e.name} }

// catalogEntries lists the tables (not views) of env (every environment when env is ""), optionally in one zone.
func (l *Lake) catalogEntries(ctx context.Context, env, zone string) ([]catalogEntry, error) {
	q := `SELECT catalog_name, table_namespace, table_name, metadata_location FROM iceberg_tables
		WHERE (iceberg_type IS NULL OR iceberg_type = 'TABLE') AND metadata_location IS NOT NULL`
	var args []any
	if env != "" {
		args = append(args, env)
		q += fmt.Sprintf(" AND catalog_name = $%d", len(args))
	}
	if zone != "" {
		args = append(args, zone)
		q += fmt.Sprintf(" AND table_namespace = $%d", len(args))
	}
	rows, err := l.db.SQL.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list catalog tables: %w", err)
	}
	defer rows.Close()
	var out []catalogEntry
	for rows.Next() {
		var e catalogEntry
		if err := rows.Scan(&e.env, &e.zone, &e.name, &e.metadataLoc); err != nil {
			return nil, fmt.Errorf("list catalog tables: %w", err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// readMetadata reads a table metadata file.
func readMetadata(ctx context.Context, loc string) (table.Metadata, error) {
	t, err := table.NewFromLocation(ctx, nil, loc, icebergio.LoadFSFunc(nil, loc), nil)
	if err != nil {
		return nil, fmt.Errorf("read table metadata %s: %w", loc, err)
	}
	return t.Metadata(), nil
}
