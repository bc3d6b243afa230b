package tracking

import (
	"net/http"

	"github.com/go-chi/chi/v5"
	"github.com/strata-data/strata/mlflowapi"
)

func (h *Handler) modelRoutes(r chi.Router) {
	h.api.Mount(r, "/logged-models", h.createLoggedModel, post)
	h.api.Mount(r, "/logged-models/search", h.searchLoggedModels, post)
	h.api.Mount(r, "/logged-models/{model_id}", h.getLoggedModel, get)
	h.api.Mount(r, "/logged-models/{model_id}", h.finalizeLoggedModel, patch)
	h.api.Mount(r, "/logged-models/{model_id}", h.deleteLoggedModel, del)
	h.api.Mount(r, "/logged-models/{model_id}/tags", h.setLoggedModelTags, patch)
	h.api.Mount(r, "/logged-models/{model_id}/tags/{tag_key}", h.deleteLoggedModelTag, del)
	h.api.Mount(r, "/logged-models/{model_id}/params", h.logLoggedModelParams, post)
	h.api.Mount(r, "/logged-models/{model_id}/artifacts/directories", h.listLoggedModelArtifacts, get)
	r.Get("/ajax-api/2.0/mlflow/logged-models/{model_id}/artifacts/files", h.getLoggedModelArtifact)
}

func (h *Handler) createLoggedModel(r *http.Request, req *mlflowapi.Request) (any, error) {
	var in CreateLoggedModelInput
	var err error
	if in.ExperimentID, err = req.RequiredString("experiment_id"); err != nil {
		return nil, err
	}
	for field, dst := range map[string]*string{"name": &in.Name, "model_type": &in.ModelType, "source_run_id": &in.SourceRunID} {
		if *dst, err = req.String(field); err != nil {
			return nil, err
		}
	}
	if in.Params, err = req.KeyValues("params"); err != nil {
		return nil, err
	}
	if in.Tags, err = req.KeyValues("tags"); err != nil {
		return nil, err
	}
	m, err := h.store.CreateLoggedModel(r.Context(), in)
	if err != nil {
		return nil, err
	}
	return map[string]any{"model": m}, nil
}

func (h *Handler) getLoggedModel(r *http.Request, req *mlflowapi.Request) (any, error) {
	allow, err := req.Bool("allow_deleted")
	if err != nil {
		return nil, err
	}
	m, err := h.store.GetLoggedModel(r.Context(), chi.URLParam(r, "model_id"), allow)
	if err != nil {
		return nil, err
	}
	return map[string]any{"model": m}, nil
}

func (h *Handler) finalizeLoggedModel(r *http.Request, req *mlflowapi.Request) (any, error) {
	if !req.Has("status") {
		return nil, mlflowapi.MissingParam("status")
	}
	raw, _ := req.Text("status")
	status, err := ParseLoggedModelStatus(raw)
	if err != nil {
		return nil, err
	}
	m, err := h.store.FinalizeLoggedModel(r.Context(), chi.URLParam(r, "model_id"), status)
	if err != nil {
		return nil, err
	}
	return map[string]any{"model": m}, nil
}

func (h *Handler) deleteLoggedModel(r *http.Request, _ *mlflowapi.Request) (any, error) {
	return nil, h.store.DeleteLoggedModel(r.Context(), chi.URLParam(r, "model_id"))
}

func (h *Handler) setLoggedModelTags(r *http.Request, req *mlflowapi.Request) (any, error) {
	tags, err := req.KeyValues("tags")
	if err != nil {
		return nil, err
	}
	return nil, h.store.SetLoggedModelTags(r.Context(), chi.URLParam(r, "model_id"), tags)
}

func (h *Handler) deleteLoggedModelTag(r *http.Request, _ *mlflowapi.Request) (any, error) {
	return nil, h.store.DeleteLoggedModelTag(r.Context(), chi.URLParam(r, "model_id"), chi.URLParam(r, "tag_key"))
}

func (h *Handler) logLoggedModelParams(r *http.Request, req *mlflowapi.Request) (any, error) {
	params, err := req.KeyValues("params")
	if err != nil {
		return nil, err
	}
	return nil, h.store.LogLoggedModelParams(r.Context(), chi.URLParam(r, "model_id"), params)
}

func (h *Handler) searchLoggedModels(r *http.Request, req *mlflowapi.Request) (any, error) {
	var in SearchLoggedModelsInput
	var err error
	if in.ExperimentIDs, err = req.Strings("experiment_ids"); err != nil {
		return nil, err
	}
	if in.Filter, err = req.String("filter"); err != nil {
		return nil, err
	}
	if in.PageToken, err = req.String("page_token"); err != nil {
		return nil, err
	}
	if in.MaxResults, _, err = req.Int64("max_results"); err != nil {
		return nil, err
	}
	orders, err := req.Objects("order_by")
	if err != nil {
		return nil, err
	}
	for _, o := range orders {
		var mo ModelOrder
		if mo.Field, err = o.RequiredString("field_name"); err != nil {
			return nil, err
		}
		mo.Ascending = true
		if o.Has("ascending") {
			if mo.Ascending, err = o.Bool("ascending"); err != nil {
				return nil, err
			}
		}
		in.OrderBy = append(in.OrderBy, mo)
	}
	models, next, err := h.store.SearchLoggedModels(r.Context(), in)
	if err != nil {
		return nil, err
	}
	return struct {
		Models        []*LoggedModel `json:"models,omitempty"`
		NextPageToken string         `json:"next_page_token,omitempty"`
	}{models, next}, nil
}

func (h *Handler) listLoggedModelArtifacts(r *http.Request, req *mlflowapi.Request) (any, error) {
	uri, _, err := h.store.LoggedModelLocation(r.Context(), chi.URLParam(r, "model_id"))
	if err != nil {
		return nil, err
	}
	sub, err := req.String("artifact_directory_path")
	if err != nil {
		return nil, err
	}
	return h.listUnder(r, uri, sub)
}

func (h *Handler) getLoggedModelArtifact(w http.ResponseWriter, r *http.Request) {
	uri, _, err := h.store.LoggedModelLocation(r.Context(), chi.URLParam(r, "model_id"))
	if err != nil {
		h.api.WriteError(w, r, err)
		return
	}
	h.downloadUnder(w, r, uri, r.URL.Query().Get("artifact_file_path"))
}
