// Package features holds Strata's feature store: feature definitions declared as reviewed YAML files under a
// project's features/ folder, their validation against an environment's lake tables, and a registry that
// versions every applied change per environment (plan/apply).
//
// Definitions are parsed strictly: an unknown key, a duplicate name, a bad type or TTL, a parameter without a
// type, an unknown entity, table or column, or a cycle among feature services is a *DefError naming the file,
// the line and the field. Parameter values reach SQL only as literals checked against their declared type.
package features

import (
	"fmt"

	"github.com/strata-data/strata/errs"
)

// Sentinel errors; wrapped with context by every function.
var (
	ErrInvalid  = errs.New(errs.Invalid, "invalid request")
	ErrNotFound = errs.New(errs.NotFound, "not found")
)

// Entity is a thing features describe (a user, an order), identified by its join keys.
type Entity struct {
	Name        string    `json:"name"`
	JoinKeys    []JoinKey `json:"join_keys"`
	Description string    `json:"description,omitempty"`
	Pos         Pos       `json:"-"`
}

// JoinKey is one key column of an entity and its type.
type JoinKey struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

// View is a feature view: features of one or more entities computed from a lake table or a SQL query.
type View struct {
	Name        string            `json:"name"`
	Entities    []string          `json:"entities"`
	Source      Source            `json:"source"`
	EventTime   string            `json:"event_time"`
	CreatedTime string            `json:"created_time,omitempty"`
	TTL         Duration          `json:"ttl"`
	Features    []Feature         `json:"features"`
	Online      bool              `json:"online"`
	Owner       string            `json:"owner,omitempty"`
	Tags        map[string]string `json:"tags,omitempty"`
	Description string            `json:"description,omitempty"`
	Pos         Pos               `json:"-"`
	// lines holds where fields were declared ("source.table", "event_time", "features[2].type").
	lines map[string]int
}

// line returns the line of a field of the view, or the view's own line.
func (v *View) line(field string) int {
	if l, ok := v.lines[field]; ok {
		return l
	}
	return v.Pos.Line
}

// errAt returns a *DefError at a field of the view.
func (v *View) errAt(field, format string, args ...any) *DefError {
	return &DefError{File: v.Pos.File, Line: v.line(field), Field: "feature_views." + v.Name + "." + field, Msg: fmt.Sprintf(format, args...)}
}

// Source is where a view's rows come from: exactly one of Table (zone.name) and SQL (DuckDB SQL over lake
// tables, with {{ param }} placeholders declared in Params).
type Source struct {
	Table  string           `json:"table,omitempty"`
	SQL    string           `json:"sql,omitempty"`
	Params map[string]Param `json:"params,omitempty"`
}

// Param is a typed parameter of a SQL source.
type Param struct {
	Type    ParamType `json:"type"`
	Default any       `json:"default,omitempty"`
}

// Feature is one feature column of a view.
type Feature struct {
	Name        string            `json:"name"`
	Type        string            `json:"type"`
	Description string            `json:"description,omitempty"`
	Tags        map[string]string `json:"tags,omitempty"`
	// Aggregation, if set, computes the feature as a window aggregation of a source column.
	Aggregation *Aggregation `json:"aggregation,omitempty"`
}

// Service is a named set of features consumers ask for together; it may include other services.
type Service struct {
	Name        string   `json:"name"`
	Features    []string `json:"features"` // view:feature or view (every feature of the view)
	Include     []string `json:"include,omitempty"`
	Description string   `json:"description,omitempty"`
	Owner       string   `json:"owner,omitempty"`
	Pos         Pos      `json:"-"`
	// lines holds where entries were declared ("features[1]", "include[0]").
	lines map[string]int
}

// errAt returns a *DefError at a field of the service ("features[1]"): its own line when the parser recorded
// one, else the service's.
func (s *Service) errAt(field, msg string) *DefError {
	line := s.Pos.Line
	if l, ok := s.lines[field]; ok {
		line = l
	}
	return &DefError{File: s.Pos.File, Line: line, Field: field, Msg: msg}
}

// Pos is where a definition was declared.
type Pos struct {
	File string
	Line int
}

// Defs is every definition of a project.
type Defs struct {
	Entities []Entity
	Views    []View
	Services []Service
}

// DefError is an invalid definition: the file, the line and the field where it is wrong.
type DefError struct {
	File  string
	Line  int
	Field string
	Msg   string
}

func (e *DefError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s:%d: %s: %s", e.File, e.Line, e.Field, e.Msg)
}

// Unwrap makes every DefError match ErrInvalid (kind Invalid).
func (e *DefError) Unwrap() error { return ErrInvalid }
