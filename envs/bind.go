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
func (s *Service) BindSQL(ctx context.Context, env, query string) ([]engine.Table, error) {
	zones, err := s.lake.Zones(ctx, env)
	if err != nil {
		return nil, err
	}
	isZone := map[string]bool{}
	for _, z := range zones {
		isZone[z] = true
	}
	var out []engine.Table
	seen := map[string]bool{}
	for _, n := range engine.ReferencedNames(query) {
		if !isZone[n.Schema] || seen[n.Schema+"."+n.Name] {
			continue
		}
		seen[n.Schema+"."+n.Name] = true
		id := lake.Ident{Zone: n.Schema, Name: n.Name}
		p, err := s.Resolve(ctx, env, id, lake.SnapshotRef{})
		if err != nil {
			return nil, fmt.Errorf("in SQL: %w", err)
		}
		out = append(out, EngineTable(p))
	}
	return out, nil
}
