//go:build duckdb_arrow

package move

import (
	"context"
	"errors"
	"os"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/strata-data/strata/envs"
	"github.com/strata-data/strata/lake"
	"github.com/strata-data/strata/move/postgres"
)

// PlanResult is what a run would do, computed without writing: the resolved params, the source's columns
// (after columns: rules) and how they differ from the target table's.
type PlanResult struct {
	Job        string            `json:"job"`
	Env        string            `json:"env"`
	Params     map[string]string `json:"params"`
	Source     string            `json:"source"`
	Target     string            `json:"target"`
	TargetType string            `json:"target_type"`
	Mode       string            `json:"mode"`
	// RowEstimate is about how many rows a run would read: the planner's estimate for a postgres query,
	// Parquet footers (or size / average line length for CSV and JSON) for files, the snapshot's row count for
	// a lake table.
	RowEstimate     int64        `json:"row_estimate"`
	Watermark       string       `json:"watermark,omitempty"`
	SourceColumns   []PlanColumn `json:"source_columns"`
	TargetExists    bool         `json:"target_exists"`
	AddedColumns    []PlanColumn `json:"added_columns,omitempty"`   // in the source, not in the target
	MissingColumns  []PlanColumn `json:"missing_columns,omitempty"` // in the target, not in the source
	TypeChanges     []TypeChange `json:"type_changes,omitempty"`
	SchemaEvolve    bool         `json:"schema_evolve"`
	WouldFailSchema bool         `json:"would_fail_schema"` // strict schema and added or missing columns
}

// PlanColumn is a column name and its type as the lake would store it.
type PlanColumn struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

// TypeChange is a column whose source type differs from the target's.
type TypeChange struct {
	Name   string `json:"name"`
	Source string `json:"source"`
	Target string `json:"target"`
}

// Plan describes a run of spec with params in d.Env without reading the source's rows (a postgres query is
// only prepared) and without writing.
func Plan(ctx context.Context, d Deps, spec *Spec, params Params) (*PlanResult, error) {
	lookup := d.Lookup
	if lookup == nil {
		lookup = os.LookupEnv
	}
	var id lake.Ident
	var err error
	if spec.Target.Type == "lake" {
		if id, err = lake.ParseIdent(spec.Target.Table); err != nil {
			return nil, err
		}
	}
	p := &PlanResult{Job: spec.Name, Env: d.Env, Params: params.Map(), Source: spec.Source.Type, Target: targetName(spec),
		TargetType: spec.Target.Type, Mode: spec.Target.Mode, SchemaEvolve: spec.Schema == "evolve"}
	if spec.Incremental != nil {
		if p.Watermark, _, err = Watermark(ctx, d.DB, spec.Name, d.Env); err != nil {
			return nil, err
		}
	}
	est, secrets, err := estimateRows(ctx, d, spec, params, p.Watermark, lookup)
	if err != nil {
		return nil, scrubbed(err, secrets)
	}
	p.RowEstimate = est
	sc, secrets, err := sourceSchema(ctx, d, spec, params, id, lookup)
	if err != nil {
		return nil, scrubbed(err, secrets)
	}
	m, err := mapColumns(ctx, schemaOnly{sc}, spec.Columns)
	if err != nil {
		return nil, err
	}
	for _, f := range m.Schema().Fields() {
		p.SourceColumns = append(p.SourceColumns, PlanColumn{Name: f.Name, Type: envs.LakeTypeName(f.Type)})
	}
	if spec.Target.Type != "lake" {
		return p, nil
	}
	return p, p.diff(ctx, d, id)
}

func (p *PlanResult) diff(ctx context.Context, d Deps, id lake.Ident) error {
	plan, err := d.Envs.Lake().Describe(ctx, d.Env, id)
	if errors.Is(err, lake.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	p.TargetExists = true
	target := map[string]string{}
	for _, c := range plan.Columns {
		target[c.Name] = c.Type
	}
	source := map[string]bool{}
	for _, c := range p.SourceColumns {
		source[c.Name] = true
		t, ok := target[c.Name]
		switch {
		case !ok:
			p.AddedColumns = append(p.AddedColumns, c)
		case t != c.Type:
			p.TypeChanges = append(p.TypeChanges, TypeChange{Name: c.Name, Source: c.Type, Target: t})
		}
	}
	for _, c := range plan.Columns {
		if !source[c.Name] {
			p.MissingColumns = append(p.MissingColumns, PlanColumn{Name: c.Name, Type: c.Type})
		}
	}
	p.WouldFailSchema = len(p.MissingColumns) > 0 || (len(p.AddedColumns) > 0 && !p.SchemaEvolve)
	return nil
}

func sourceSchema(ctx context.Context, d Deps, spec *Spec, ps Params, target lake.Ident, lookup func(string) (string, bool)) (*arrow.Schema, []string, error) {
	if spec.Source.Type == "postgres" {
		dsn, secrets, err := expandSecrets(spec.Source.DSN, spec.where("source", "dsn"), lookup)
		if err != nil {
			return nil, nil, err
		}
		q, _, err := bindQuery(spec.Source.Query, ps, nil)
		if err != nil {
			return nil, secrets, err
		}
		sc, err := postgres.Describe(ctx, dsn, q)
		return sc, secrets, err
	}
	src, secrets, err := openSource(ctx, d, spec, ps, "", target, lookup)
	if err != nil {
		return nil, secrets, err
	}
	defer func() { _ = src.Close() }()
	return src.Schema(), secrets, nil
}

// schemaOnly is a reader with a schema and no rows, for mapColumns in a plan.
type schemaOnly struct{ sc *arrow.Schema }

func (s schemaOnly) Schema() *arrow.Schema          { return s.sc }
func (s schemaOnly) Next() bool                     { return false }
func (s schemaOnly) RecordBatch() arrow.RecordBatch { return nil }
func (s schemaOnly) Record() arrow.RecordBatch      { return nil }
func (s schemaOnly) Err() error                     { return nil }
func (s schemaOnly) Retain()                        {}
func (s schemaOnly) Release()                       {}
