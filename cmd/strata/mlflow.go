package main

import (
	"context"

	"github.com/go-chi/chi/v5"

	"github.com/strata-data/strata/artifacts/backends"
	"github.com/strata-data/strata/registry"
	"github.com/strata-data/strata/tracking"
)

// The registry reaches runs and logged models through the tracking store.
var _ registry.Tracking = (*tracking.Store)(nil)

// mlflowRoutes mounts the MLflow-compatible tracking API, artifact proxy and model registry: they are part of
// every `strata serve`. ctx bounds the set-up (opening the artifact store, preparing the tracking store). The
// registry reaches runs and logged models through the tracking store (registry.Tracking); both log their 5xx
// answers through the configured logger (log.format, log.level).
func (a *app) mlflowRoutes(ctx context.Context) (func(chi.Router), error) {
	arts, err := backends.Open(ctx, a.cfg.Artifacts.Root)
	if err != nil {
		return nil, err
	}
	store, err := tracking.NewStore(ctx, a.db, "")
	if err != nil {
		return nil, err
	}
	log := a.logger()
	reg := registry.NewStore(store)
	return func(r chi.Router) {
		tracking.NewHandler(store, arts, tracking.Options{Logger: log}).Routes(r)
		registry.NewHandler(reg, arts, log).Routes(r)
	}, nil
}
