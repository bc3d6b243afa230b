package tracking

import (
	"net/http"

	"github.com/go-chi/chi/v5"
	"github.com/strata-data/strata/mlflowapi"
)

func (h *Handler) experimentRoutes(r chi.Router) {
	h.api.Mount(r, "/experiments/create", h.createExperiment, post)
	h.api.Mount(r, "/experiments/get", h.getExperiment, get)
	h.api.Mount(r, "/experiments/get-by-name", h.getExperimentByName, get)
	h.api.Mount(r, "/experiments/search", h.searchExperiments, post, get)
	h.api.Mount(r, "/experiments/delete", h.lifecycleExperiment(StageDeleted), post)
	h.api.Mount(r, "/experiments/restore", h.lifecycleExperiment(StageActive), post)
	h.api.Mount(r, "/experiments/update", h.renameExperiment, post)
	h.api.Mount(r, "/experiments/set-experiment-tag", h.setExperimentTag, post)
	h.api.Mount(r, "/experiments/delete-experiment-tag", h.deleteExperimentTag, post)
	h.api.Mount(r, "/experiments/search-datasets", h.searchDatasets, post)
}

func (h *Handler) createExperiment(r *http.Request, req *mlflowapi.Request) (any, error) {
	name, err := req.RequiredString("name")
	if err != nil {
		return nil, err
	}
	loc, err := req.String("artifact_location")
	if err != nil {
		return nil, err
	}
	tags, err := req.KeyValues("tags")
	if err != nil {
		return nil, err
	}
	id, err := h.store.CreateExperiment(r.Context(), name, loc, tags)
	if err != nil {
		return nil, err
	}
	return map[string]string{"experiment_id": id}, nil
}

func (h *Handler) getExperiment(r *http.Request, req *mlflowapi.Request) (any, error) {
	id, err := req.RequiredString("experiment_id")
	if err != nil {
		return nil, err
	}
	e, err := h.store.GetExperiment(r.Context(), id)
	if err != nil {
		return nil, err
	}
	return map[string]any{"experiment": e}, nil
}

func (h *Handler) getExperimentByName(r *http.Request, req *mlflowapi.Request) (any, error) {
	name, err := req.RequiredString("experiment_name")
	if err != nil {
		return nil, err
	}
	e, err := h.store.GetExperimentByName(r.Context(), name)
	if err != nil {
		return nil, err
	}
	return map[string]any{"experiment": e}, nil
}

func viewType(req *mlflowapi.Request, field string) (ViewType, error) {
	if !req.Has(field) {
		return ActiveOnly, nil
	}
	s, _ := req.Text(field)
	switch s {
	case "1", "ACTIVE_ONLY":
		return ActiveOnly, nil
	case "2", "DELETED_ONLY":
		return DeletedOnly, nil
	case "3", "ALL":
		return AllViews, nil
	}
	raw, _ := req.Raw(field)
	return 0, mlflowapi.InvalidValue(field, raw)
}

func (h *Handler) searchExperiments(r *http.Request, req *mlflowapi.Request) (any, error) {
	p, err := req.SearchPage()
	if err != nil {
		return nil, err
	}
	in := SearchExperimentsInput{Filter: p.Filter, PageToken: p.PageToken, OrderBy: p.OrderBy, MaxResults: p.MaxResults}
	if in.ViewType, err = viewType(req, "view_type"); err != nil {
		return nil, err
	}
	exps, next, err := h.store.SearchExperiments(r.Context(), in)
	if err != nil {
		return nil, err
	}
	return struct {
		Experiments   []*Experiment `json:"experiments,omitempty"`
		NextPageToken string        `json:"next_page_token,omitempty"`
	}{exps, next}, nil
}

func (h *Handler) lifecycleExperiment(stage string) mlflowapi.Call {
	return func(r *http.Request, req *mlflowapi.Request) (any, error) {
		id, err := req.RequiredString("experiment_id")
		if err != nil {
			return nil, err
		}
		return nil, h.store.SetExperimentLifecycle(r.Context(), id, stage)
	}
}

func (h *Handler) renameExperiment(r *http.Request, req *mlflowapi.Request) (any, error) {
	id, err := req.RequiredString("experiment_id")
	if err != nil {
		return nil, err
	}
	name, err := req.String("new_name")
	if err != nil || name == "" {
		return nil, err
	}
	return nil, h.store.RenameExperiment(r.Context(), id, name)
}

func (h *Handler) setExperimentTag(r *http.Request, req *mlflowapi.Request) (any, error) {
	id, err := req.RequiredString("experiment_id")
	if err != nil {
		return nil, err
	}
	key, err := req.RequiredString("key")
	if err != nil {
		return nil, err
	}
	value, err := req.String("value")
	if err != nil {
		return nil, err
	}
	return nil, h.store.SetExperimentTag(r.Context(), id, key, value)
}

func (h *Handler) deleteExperimentTag(r *http.Request, req *mlflowapi.Request) (any, error) {
	id, err := req.RequiredString("experiment_id")
	if err != nil {
		return nil, err
	}
	key, err := req.RequiredString("key")
	if err != nil {
		return nil, err
	}
	return nil, h.store.DeleteExperimentTag(r.Context(), id, key)
}

func (h *Handler) searchDatasets(r *http.Request, req *mlflowapi.Request) (any, error) {
	ids, err := req.Strings("experiment_ids")
	if err != nil {
		return nil, err
	}
	if len(ids) == 0 || len(ids) > 20 {
		return nil, invalidf("SearchDatasets request must specify at least one experiment_id and at most 20 experiment_ids. Received %d experiment_ids.", len(ids))
	}
	sums, err := h.store.SearchDatasets(r.Context(), ids)
	if err != nil {
		return nil, err
	}
	return struct {
		Summaries []DatasetSummary `json:"dataset_summaries,omitempty"`
	}{sums}, nil
}
