package registry

import (
	"log/slog"
	"net/http"
	"path"

	"github.com/go-chi/chi/v5"

	"github.com/strata-data/strata/artifacts"
	"github.com/strata-data/strata/mlflowapi"
)

// Handler serves MLflow's model registry REST API; errors are answered by mlflowapi (API.WriteError).
type Handler struct {
	store *Store
	arts  artifacts.Store
	api   *mlflowapi.API
}

// NewHandler returns the registry handler; arts serves /model-versions/get-artifact for the UI, and log
// receives every 5xx answer once with its request id (nil means slog.Default()).
func NewHandler(store *Store, arts artifacts.Store, log *slog.Logger) *Handler {
	return &Handler{store: store, arts: arts, api: mlflowapi.New(log)}
}

const (
	get   = http.MethodGet
	post  = http.MethodPost
	patch = http.MethodPatch
	del   = http.MethodDelete
)

// Routes registers the registry routes (absolute paths, under /api/2.0/mlflow and /ajax-api/2.0/mlflow).
func (h *Handler) Routes(r chi.Router) {
	m := func(p string, c mlflowapi.Call, methods ...string) { h.api.Mount(r, p, c, methods...) }
	m("/registered-models/create", h.createModel, post)
	m("/registered-models/get", h.getModel, get)
	m("/registered-models/rename", h.renameModel, post)
	m("/registered-models/update", h.updateModel, patch)
	m("/registered-models/delete", h.deleteModel, del)
	m("/registered-models/search", h.searchModels, get)
	m("/registered-models/get-latest-versions", h.latestVersions, post, get)
	m("/registered-models/set-tag", h.setModelTag, post)
	m("/registered-models/delete-tag", h.deleteModelTag, del)
	m("/registered-models/alias", h.setAlias, post)
	m("/registered-models/alias", h.deleteAlias, del)
	m("/registered-models/alias", h.getByAlias, get)
	m("/model-versions/create", h.createVersion, post)
	m("/model-versions/get", h.getVersion, get)
	m("/model-versions/update", h.updateVersion, patch)
	m("/model-versions/delete", h.deleteVersion, del)
	m("/model-versions/transition-stage", h.transitionStage, post)
	m("/model-versions/search", h.searchVersions, get)
	m("/model-versions/get-download-uri", h.downloadURI, get)
	m("/model-versions/set-tag", h.setVersionTag, post)
	m("/model-versions/delete-tag", h.deleteVersionTag, del)
	r.Get("/model-versions/get-artifact", h.getArtifact)
	r.Get("/ajax-api/2.0/mlflow/model-versions/get-artifact", h.getArtifact)
}

func name(req *mlflowapi.Request) (string, error) { return req.RequiredString("name") }

func nameVersion(req *mlflowapi.Request) (string, int64, error) {
	n, err := name(req)
	if err != nil {
		return "", 0, err
	}
	v, err := req.RequiredString("version")
	if err != nil {
		return "", 0, err
	}
	num, err := parseVersion(v)
	return n, num, err
}

func wrapModel(m *RegisteredModel, err error) (any, error) {
	if err != nil {
		return nil, err
	}
	return map[string]any{"registered_model": m}, nil
}

func wrapVersion(v *ModelVersion, err error) (any, error) {
	if err != nil {
		return nil, err
	}
	return map[string]any{"model_version": v}, nil
}

func (h *Handler) createModel(r *http.Request, req *mlflowapi.Request) (any, error) {
	n, err := name(req)
	if err != nil {
		return nil, err
	}
	desc, err := req.String("description")
	if err != nil {
		return nil, err
	}
	tags, err := req.KeyValues("tags")
	if err != nil {
		return nil, err
	}
	return wrapModel(h.store.CreateRegisteredModel(r.Context(), n, desc, tags))
}

func (h *Handler) getModel(r *http.Request, req *mlflowapi.Request) (any, error) {
	n, err := name(req)
	if err != nil {
		return nil, err
	}
	return wrapModel(h.store.GetRegisteredModel(r.Context(), n))
}

func (h *Handler) renameModel(r *http.Request, req *mlflowapi.Request) (any, error) {
	n, err := name(req)
	if err != nil {
		return nil, err
	}
	nn, err := req.RequiredString("new_name")
	if err != nil {
		return nil, err
	}
	return wrapModel(h.store.RenameRegisteredModel(r.Context(), n, nn))
}

func (h *Handler) updateModel(r *http.Request, req *mlflowapi.Request) (any, error) {
	n, err := name(req)
	if err != nil {
		return nil, err
	}
	desc, err := req.String("description")
	if err != nil {
		return nil, err
	}
	return wrapModel(h.store.UpdateRegisteredModel(r.Context(), n, desc))
}

func (h *Handler) deleteModel(r *http.Request, req *mlflowapi.Request) (any, error) {
	n, err := name(req)
	if err != nil {
		return nil, err
	}
	return nil, h.store.DeleteRegisteredModel(r.Context(), n)
}

func searchInput(req *mlflowapi.Request) (SearchInput, error) {
	p, err := req.SearchPage()
	return SearchInput{Filter: p.Filter, PageToken: p.PageToken, OrderBy: p.OrderBy, MaxResults: p.MaxResults}, err
}

func (h *Handler) searchModels(r *http.Request, req *mlflowapi.Request) (any, error) {
	in, err := searchInput(req)
	if err != nil {
		return nil, err
	}
	models, next, err := h.store.SearchRegisteredModels(r.Context(), in)
	if err != nil {
		return nil, err
	}
	return struct {
		Models        []*RegisteredModel `json:"registered_models,omitempty"`
		NextPageToken string             `json:"next_page_token,omitempty"`
	}{models, next}, nil
}

func (h *Handler) latestVersions(r *http.Request, req *mlflowapi.Request) (any, error) {
	n, err := name(req)
	if err != nil {
		return nil, err
	}
	st, err := req.Strings("stages")
	if err != nil {
		return nil, err
	}
	if _, err := h.store.GetRegisteredModel(r.Context(), n); err != nil {
		return nil, err
	}
	vs, err := h.store.GetLatestVersions(r.Context(), n, st)
	if err != nil {
		return nil, err
	}
	return struct {
		Versions []*ModelVersion `json:"model_versions,omitempty"`
	}{vs}, nil
}

func keyValue(req *mlflowapi.Request) (mlflowapi.KeyValue, error) {
	k, err := req.RequiredString("key")
	if err != nil {
		return mlflowapi.KeyValue{}, err
	}
	v, err := req.Text("value") // MLflow stringifies tag values: 12345 is "12345"
	if err != nil {
		return mlflowapi.KeyValue{}, err
	}
	return mlflowapi.KeyValue{Key: k, Value: v}, nil
}

func (h *Handler) setModelTag(r *http.Request, req *mlflowapi.Request) (any, error) {
	n, err := name(req)
	if err != nil {
		return nil, err
	}
	kv, err := keyValue(req)
	if err != nil {
		return nil, err
	}
	return nil, h.store.SetRegisteredModelTag(r.Context(), n, kv)
}

func (h *Handler) deleteModelTag(r *http.Request, req *mlflowapi.Request) (any, error) {
	n, err := name(req)
	if err != nil {
		return nil, err
	}
	k, err := req.RequiredString("key")
	if err != nil {
		return nil, err
	}
	return nil, h.store.DeleteRegisteredModelTag(r.Context(), n, k)
}

func (h *Handler) setAlias(r *http.Request, req *mlflowapi.Request) (any, error) {
	n, v, err := nameVersion(req)
	if err != nil {
		return nil, err
	}
	alias, err := req.RequiredString("alias")
	if err != nil {
		return nil, err
	}
	return nil, h.store.SetAlias(r.Context(), n, alias, v)
}

func (h *Handler) deleteAlias(r *http.Request, req *mlflowapi.Request) (any, error) {
	n, err := name(req)
	if err != nil {
		return nil, err
	}
	alias, err := req.RequiredString("alias")
	if err != nil {
		return nil, err
	}
	return nil, h.store.DeleteAlias(r.Context(), n, alias)
}

func (h *Handler) getByAlias(r *http.Request, req *mlflowapi.Request) (any, error) {
	n, err := name(req)
	if err != nil {
		return nil, err
	}
	alias, err := req.RequiredString("alias")
	if err != nil {
		return nil, err
	}
	v, err := h.store.ResolveAlias(r.Context(), n, alias)
	if err != nil {
		return nil, err
	}
	return wrapVersion(h.store.GetModelVersion(r.Context(), n, v))
}

func (h *Handler) createVersion(r *http.Request, req *mlflowapi.Request) (any, error) {
	var in CreateModelVersionInput
	var err error
	if in.Name, err = name(req); err != nil {
		return nil, err
	}
	if in.Source, err = req.RequiredString("source"); err != nil {
		return nil, err
	}
	for field, dst := range map[string]*string{"run_id": &in.RunID, "run_link": &in.RunLink, "description": &in.Description, "model_id": &in.ModelID} {
		if *dst, err = req.String(field); err != nil {
			return nil, err
		}
	}
	if in.Tags, err = req.KeyValues("tags"); err != nil {
		return nil, err
	}
	return wrapVersion(h.store.CreateModelVersion(r.Context(), in))
}

func (h *Handler) getVersion(r *http.Request, req *mlflowapi.Request) (any, error) {
	n, v, err := nameVersion(req)
	if err != nil {
		return nil, err
	}
	return wrapVersion(h.store.GetModelVersion(r.Context(), n, v))
}

func (h *Handler) updateVersion(r *http.Request, req *mlflowapi.Request) (any, error) {
	n, v, err := nameVersion(req)
	if err != nil {
		return nil, err
	}
	desc, err := req.String("description")
	if err != nil {
		return nil, err
	}
	return wrapVersion(h.store.UpdateModelVersion(r.Context(), n, v, desc))
}

func (h *Handler) deleteVersion(r *http.Request, req *mlflowapi.Request) (any, error) {
	n, v, err := nameVersion(req)
	if err != nil {
		return nil, err
	}
	return nil, h.store.DeleteModelVersion(r.Context(), n, v)
}

func (h *Handler) transitionStage(r *http.Request, req *mlflowapi.Request) (any, error) {
	n, v, err := nameVersion(req)
	if err != nil {
		return nil, err
	}
	stage, err := req.RequiredString("stage")
	if err != nil {
		return nil, err
	}
	archive, err := req.Bool("archive_existing_versions")
	if err != nil {
		return nil, err
	}
	return wrapVersion(h.store.TransitionStage(r.Context(), n, v, stage, archive))
}

func (h *Handler) searchVersions(r *http.Request, req *mlflowapi.Request) (any, error) {
	in, err := searchInput(req)
	if err != nil {
		return nil, err
	}
	vs, next, err := h.store.SearchModelVersions(r.Context(), in)
	if err != nil {
		return nil, err
	}
	return struct {
		Versions      []*ModelVersion `json:"model_versions,omitempty"`
		NextPageToken string          `json:"next_page_token,omitempty"`
	}{vs, next}, nil
}

func (h *Handler) downloadURI(r *http.Request, req *mlflowapi.Request) (any, error) {
	n, v, err := nameVersion(req)
	if err != nil {
		return nil, err
	}
	uri, err := h.store.DownloadURI(r.Context(), n, v)
	if err != nil {
		return nil, err
	}
	return map[string]string{"artifact_uri": uri}, nil
}

func (h *Handler) setVersionTag(r *http.Request, req *mlflowapi.Request) (any, error) {
	n, v, err := nameVersion(req)
	if err != nil {
		return nil, err
	}
	kv, err := keyValue(req)
	if err != nil {
		return nil, err
	}
	return nil, h.store.SetModelVersionTag(r.Context(), n, v, kv)
}

func (h *Handler) deleteVersionTag(r *http.Request, req *mlflowapi.Request) (any, error) {
	n, v, err := nameVersion(req)
	if err != nil {
		return nil, err
	}
	k, err := req.RequiredString("key")
	if err != nil {
		return nil, err
	}
	return nil, h.store.DeleteModelVersionTag(r.Context(), n, v, k)
}

// getArtifact serves a file of a version for the UI (/model-versions/get-artifact?name&version&path).
func (h *Handler) getArtifact(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p, err := mlflowapi.CleanFilePath(q.Get("path"))
	if err != nil {
		h.api.WriteError(w, r, err)
		return
	}
	v, err := parseVersion(q.Get("version"))
	if err != nil {
		h.api.WriteError(w, r, err)
		return
	}
	uri, err := h.store.DownloadURI(r.Context(), q.Get("name"), v)
	if err != nil {
		h.api.WriteError(w, r, err)
		return
	}
	base, ok := mlflowapi.StorePath(uri)
	if !ok {
		h.api.WriteError(w, r, invalidf("Artifacts at %s are not served by this server", uri))
		return
	}
	h.api.SendArtifact(w, r, h.arts, path.Join(base, p))
}
