package envs

import (
	"context"
	"fmt"

	"github.com/strata-data/strata/engine"
	"github.com/strata-data/strata/lake"
)

// EngineTable turns a read plan into the engine's view of the table.
func EngineTable(p *lake.Plan) engine.Table {
	t := engine.Table{Schema: p.Ident.Zone, Name: p.Ident.Name, Files: p.Files}
	for _, c := range p.Columns {
		t.Columns = append(t.Columns, engine.Column{FieldID: c.FieldID, Name: c.Name, Type: c.Type, Required: c.Required})
	}
	return t
}

// BindSQL resolves every zone.table name the query mentions to the snapshot env's readers see (release pins in
// prod, latest in dev). Names whose first part is not a zone of env are left to DuckDB (aliases, struct fields).
//
// Per statement it reads the environment and each named table's metadata location (and in prod its pin), one
// indexed row each; the plans themselves come from the plan cache while the tables are unchanged. The zone list
// is read only when a name is not a table, to tell a missing table from an alias.
func (s *Service) BindSQL(ctx context.Context, env, query string) ([]engine.Table, error) {
	e, err := s.Get(ctx, env)
	if err != nil {
		return nil, err
	}
	var isZone map[string]bool // loaded on the first name that is not a table
	var out []engine.Table
	seen := map[string]bool{}
	for _, n := range engine.ReferencedNames(query) {
		if seen[n.Schema+"."+n.Name] {
			continue
		}
		seen[n.Schema+"."+n.Name] = true
		id := lake.Ident{Zone: n.Schema, Name: n.Name}
		loc, err := s.metadataLocation(ctx, env, id)
		if err != nil {
			return nil, err
		}
		if loc == "" {
			if isZone == nil {
				if isZone, err = s.zoneSet(ctx, env); err != nil {
					return nil, err
				}
			}
			if !isZone[n.Schema] {
				continue
			}
		}
		p, err := s.resolve(ctx, e, id, lake.SnapshotRef{}, loc)
		if err != nil {
			return nil, fmt.Errorf("in SQL: %w", err)
		}
		out = append(out, EngineTable(p))
	}
	return out, nil
}

func (s *Service) zoneSet(ctx context.Context, env string) (map[string]bool, error) {
	zones, err := s.lake.Zones(ctx, env)
	if err != nil {
		return nil, err
	}
	set := make(map[string]bool, len(zones))
	for _, z := range zones {
		set[z] = true
	}
	return set, nil
}
