package server

import (
	_ "embed"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/strata-data/strata/engine"
	"github.com/strata-data/strata/envs"
	"github.com/strata-data/strata/lake"
	"github.com/strata-data/strata/rowfmt"
)

//go:embed openapi.yaml
var openapiYAML []byte

// OpenAPI returns the OpenAPI document of /api/v1.
func OpenAPI() []byte { return openapiYAML }

func (s *Server) apiRoutes(r chi.Router) {
	r.Get("/openapi.yaml", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/yaml")
		_, _ = w.Write(openapiYAML)
	})
	r.Get("/envs", s.listEnvs)
	r.Get("/envs/{env}", s.getEnv)
	r.Get("/envs/{env}/tables", s.listTables)
	r.Get("/envs/{env}/tables/{table}", s.getTable)
	r.Get("/envs/{env}/tables/{table}/rows", s.getRows)
	r.Get("/envs/{env}/releases", s.listReleases)
	r.Get("/envs/{env}/releases/{release}", s.getRelease)
}

func (s *Server) listEnvs(w http.ResponseWriter, r *http.Request) {
	list, err := s.deps.Envs.List(r.Context())
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, map[string]any{"envs": list})
}

func (s *Server) getEnv(w http.ResponseWriter, r *http.Request) {
	e, err := s.deps.Envs.Get(r.Context(), chi.URLParam(r, "env"))
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, e)
}

func (s *Server) listTables(w http.ResponseWriter, r *http.Request) {
	list, err := s.deps.Envs.Tables(r.Context(), chi.URLParam(r, "env"), r.URL.Query().Get("zone"))
	if err != nil {
		writeErr(w, err)
		return
	}
	if list == nil {
		list = []lake.TableSummary{}
	}
	writeJSON(w, map[string]any{"tables": list})
}

// tableDetail is the GET /envs/{env}/tables/{zone.table} body.
type tableDetail struct {
	*lake.TableInfo
	// ReadSnapshotID is the snapshot this environment's readers see (the release pin in prod).
	ReadSnapshotID int64 `json:"read_snapshot_id"`
	ReadRows       int64 `json:"read_rows"`
}

func (s *Server) getTable(w http.ResponseWriter, r *http.Request) {
	env := chi.URLParam(r, "env")
	id, err := lake.ParseIdent(chi.URLParam(r, "table"))
	if err != nil {
		writeErr(w, err)
		return
	}
	plan, err := s.deps.Envs.Resolve(r.Context(), env, id, lake.SnapshotRef{})
	if err != nil {
		writeErr(w, err)
		return
	}
	info, err := s.deps.Envs.Lake().Describe(r.Context(), env, id)
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, tableDetail{TableInfo: info, ReadSnapshotID: plan.SnapshotID, ReadRows: plan.Rows})
}

var contentTypes = map[rowfmt.Format]string{
	rowfmt.JSON:    "application/json",
	rowfmt.JSONL:   "application/x-ndjson",
	rowfmt.CSV:     "text/csv; charset=utf-8",
	rowfmt.Arrow:   "application/vnd.apache.arrow.stream",
	rowfmt.Parquet: "application/vnd.apache.parquet",
	rowfmt.Table:   "text/plain; charset=utf-8",
}

func (s *Server) getRows(w http.ResponseWriter, r *http.Request) {
	env := chi.URLParam(r, "env")
	id, err := lake.ParseIdent(chi.URLParam(r, "table"))
	if err != nil {
		writeErr(w, err)
		return
	}
	q := r.URL.Query()
	format, limit, ref, err := rowsParams(q.Get("format"), q.Get("limit"), q.Get("snapshot"), q.Get("as_of"))
	if err != nil {
		writeErr(w, err)
		return
	}
	plan, err := s.deps.Envs.Resolve(r.Context(), env, id, ref)
	if err != nil {
		writeErr(w, err)
		return
	}
	query := fmt.Sprintf(`SELECT * FROM "%s"."%s"`, id.Zone, id.Name)
	if limit >= 0 {
		query += fmt.Sprintf(" LIMIT %d", limit)
	}
	res, err := s.deps.Engine.Query(r.Context(), query, []engine.Table{envs.EngineTable(plan)})
	if err != nil {
		writeErr(w, err)
		return
	}
	defer res.Close()
	w.Header().Set("Content-Type", contentTypes[format])
	w.Header().Set("X-Strata-Snapshot-Id", strconv.FormatInt(plan.SnapshotID, 10))
	if format == rowfmt.Parquet || format == rowfmt.Arrow || format == rowfmt.CSV {
		w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s.%s"`, id, format))
	}
	if _, err := rowfmt.Write(w, res, format, rowfmt.Options{}); err != nil {
		// Headers are gone; abort the response so the client sees a broken stream, not a short success.
		s.deps.Log.Warn("rows stream failed", "env", env, "table", id.String(), "err", err)
		panic(http.ErrAbortHandler)
	}
}

func rowsParams(format, limit, snapshot, asOf string) (rowfmt.Format, int64, lake.SnapshotRef, error) {
	var ref lake.SnapshotRef
	if format == "" {
		format = "json"
	}
	f, err := rowfmt.ParseFormat(format)
	if err != nil || f == rowfmt.Table {
		return f, 0, ref, fmt.Errorf("%w: format %q: use json, jsonl, csv, arrow or parquet", errBadRequest, format)
	}
	n := int64(-1)
	if limit != "" {
		if n, err = strconv.ParseInt(limit, 10, 64); err != nil || n < 0 {
			return f, 0, ref, fmt.Errorf("%w: limit %q: give a non-negative integer", errBadRequest, limit)
		}
	}
	if snapshot != "" {
		if ref.ID, err = strconv.ParseInt(snapshot, 10, 64); err != nil {
			return f, 0, ref, fmt.Errorf("%w: snapshot %q: give a snapshot id (see GET .../tables/{table})", errBadRequest, snapshot)
		}
	}
	if asOf != "" {
		if ref.AsOf, err = time.Parse(time.RFC3339Nano, asOf); err != nil {
			return f, 0, ref, fmt.Errorf("%w: as_of %q: give an RFC 3339 time", errBadRequest, asOf)
		}
	}
	if ref.ID != 0 && !ref.AsOf.IsZero() {
		return f, 0, ref, fmt.Errorf("%w: give snapshot or as_of, not both", errBadRequest)
	}
	return f, n, ref, nil
}

func (s *Server) listReleases(w http.ResponseWriter, r *http.Request) {
	list, err := s.deps.Envs.Releases(r.Context(), chi.URLParam(r, "env"))
	if err != nil {
		writeErr(w, err)
		return
	}
	if list == nil {
		list = []envs.Release{}
	}
	for i := range list {
		list[i].Pins = nil
	}
	writeJSON(w, map[string]any{"releases": list})
}

func (s *Server) getRelease(w http.ResponseWriter, r *http.Request) {
	p := chi.URLParam(r, "release")
	var id int64
	if p != "current" {
		var err error
		if id, err = strconv.ParseInt(p, 10, 64); err != nil || id < 1 {
			writeErr(w, fmt.Errorf("%w: release %q: give a release number or \"current\"", errBadRequest, p))
			return
		}
	}
	rel, err := s.deps.Envs.Release(r.Context(), chi.URLParam(r, "env"), id)
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, rel)
}
