package api

import (
	"path/filepath"
	"strings"

	"github.com/strata-data/strata/lake"
)

// listTables is GET /envs/{env}/tables[?zone=]: the tables the environment's readers see.
func (a *API) listTables(in *request) (any, error) {
	list, err := a.envs.Tables(in.ctx(), in.path("env"), in.param("zone"))
	if err != nil {
		return nil, err
	}
	if list == nil {
		list = []lake.TableSummary{}
	}
	return map[string]any{"tables": list}, nil
}

// getTable is GET /envs/{env}/tables/{zone.table}: the table as the environment's readers see it (in prod,
// only released snapshots; envs.Describe), with server paths made relative to the warehouse.
func (a *API) getTable(in *request) (any, error) {
	id, err := lake.ParseIdent(in.path("table"))
	if err != nil {
		return nil, err
	}
	v, err := a.envs.Describe(in.ctx(), in.path("env"), id)
	if err != nil {
		return nil, err
	}
	hideServerPaths(v.TableInfo, a.envs.Lake().Warehouse())
	return v, nil
}

// hideServerPaths makes the description's locations relative to the warehouse (dev/raw/orders): callers learn
// where a table lives in the lake, not the server's directory layout.
func hideServerPaths(info *lake.TableInfo, warehouse string) {
	info.Location = warehousePath(info.Location, warehouse)
	info.MetadataLocation = warehousePath(info.MetadataLocation, warehouse)
}

// warehousePath returns loc (a path or file:// URL) relative to the warehouse root, or "" when it lies outside.
func warehousePath(loc, warehouse string) string {
	if loc == "" || warehouse == "" {
		return ""
	}
	rel, err := filepath.Rel(warehouse, strings.TrimPrefix(loc, "file://"))
	if err != nil || rel == ".." || strings.HasPrefix(rel, "../") || filepath.IsAbs(rel) {
		return ""
	}
	return filepath.ToSlash(rel)
}
