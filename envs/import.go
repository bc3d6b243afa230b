package envs

import (
	"context"

	"github.com/strata-data/strata/engine"
	"github.com/strata-data/strata/lake"
)

// ImportResult describes a committed file import.
type ImportResult struct {
	*WriteResult
	// BadRows are the malformed rows skipped (at most ReadOptions.MaxBadRows).
	BadRows []engine.BadRow `json:"bad_rows,omitempty"`
}

// ImportFile reads a CSV, JSON-lines or Parquet file with eng and writes it to env/id through Write: the
// environment's rule is checked before the file is opened, and columns the table already has are read with the
// table's types (ReadTypes) unless ro names the columns. wo.Source defaults to path and wo.Action to "import".
func (s *Service) ImportFile(ctx context.Context, eng *engine.Engine, env string, id lake.Ident, path string,
	ro engine.ReadOptions, wo WriteOptions) (*ImportResult, error) {
	e, err := s.Get(ctx, env)
	if err != nil {
		return nil, err
	}
	if err := checkRule(e, wo.Force); err != nil {
		return nil, err
	}
	if _, err := ParseWriteMode(string(wo.Mode)); err != nil {
		return nil, err
	}
	if err := id.Validate(); err != nil {
		return nil, err
	}
	if len(ro.Columns) == 0 && ro.TableTypes == nil {
		if ro.TableTypes, err = s.ReadTypes(ctx, env, id); err != nil {
			return nil, err
		}
	}
	if wo.Source == "" {
		wo.Source = path
	}
	if wo.Action == "" {
		wo.Action = "import"
	}
	rd, err := eng.ReadFile(ctx, path, ro)
	if err != nil {
		return nil, err
	}
	defer rd.Close()
	res, err := s.withFiles(eng).write(ctx, e, id, rd, wo)
	if res == nil {
		return nil, err
	}
	return &ImportResult{WriteResult: res, BadRows: rd.BadRows()}, err
}

// withFiles returns s writing data files with fw, unless s has a FileWriter of its own.
func (s *Service) withFiles(fw lake.FileWriter) *Service {
	if s.opts.Files != nil || fw == nil {
		return s
	}
	c := *s
	c.opts.Files = fw
	return &c
}
