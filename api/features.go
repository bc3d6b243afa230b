package api

import (
	"context"
	"time"

	"github.com/strata-data/strata/errs"
	"github.com/strata-data/strata/features"
)

// FeatureRegistry is what the features routes read: the features registry's current definitions and versions.
type FeatureRegistry interface {
	List(ctx context.Context, env string) ([]features.Def, error)
	Versions(ctx context.Context, env string, kind features.Kind, name string) ([]features.Def, error)
	Get(ctx context.Context, env string, kind features.Kind, ref string) (*features.Def, error)
}

// Freshness reports the latest event time a feature view's materialisation has written in env (ok false when
// it was never materialised or the information is not recorded).
type Freshness func(ctx context.Context, env, view string) (last time.Time, ok bool, err error)

// featureDef is a definition as the API shows it: the stored version plus, for views, its freshness.
type featureDef struct {
	features.Def
	LastMaterialized *time.Time `json:"last_materialized_event_time,omitempty"`
}

func (a *API) featuresRoutesReady() error {
	if a.features == nil {
		return errs.E(errs.Unavailable, "this server has no feature registry")
	}
	return nil
}

// listFeatures is GET /envs/{env}/features: the environment's current entities, feature views and services.
func (a *API) listFeatures(in *request) (any, error) {
	env, err := a.featureEnv(in)
	if err != nil {
		return nil, err
	}
	list, err := a.features.List(in.ctx(), env)
	if err != nil {
		return nil, err
	}
	out := map[string][]featureDef{"entities": {}, "feature_views": {}, "feature_services": {}}
	group := map[features.Kind]string{features.KindEntity: "entities", features.KindView: "feature_views", features.KindService: "feature_services"}
	for _, d := range list {
		fd, err := a.withFreshness(in.ctx(), d)
		if err != nil {
			return nil, err
		}
		out[group[d.Kind]] = append(out[group[d.Kind]], fd)
	}
	return map[string]any{"env": env, "entities": out["entities"], "feature_views": out["feature_views"], "feature_services": out["feature_services"]}, nil
}

// getFeature is GET /envs/{env}/features/{name}: a definition's current version (or NAME@N, a pinned one).
func (a *API) getFeature(in *request) (any, error) {
	env, err := a.featureEnv(in)
	if err != nil {
		return nil, err
	}
	d, err := a.features.Get(in.ctx(), env, "", in.path("name"))
	if err != nil {
		return nil, err
	}
	return a.withFreshness(in.ctx(), *d)
}

// featureVersions is GET /envs/{env}/features/{name}/versions: every stored version, oldest first.
func (a *API) featureVersions(in *request) (any, error) {
	env, err := a.featureEnv(in)
	if err != nil {
		return nil, err
	}
	vs, err := a.features.Versions(in.ctx(), env, "", in.path("name"))
	if err != nil {
		return nil, err
	}
	return map[string]any{"env": env, "name": in.path("name"), "versions": vs}, nil
}

// featureEnv checks the registry is wired and the environment exists (unknown environments are a 404).
func (a *API) featureEnv(in *request) (string, error) {
	if err := a.featuresRoutesReady(); err != nil {
		return "", err
	}
	e, err := a.envs.Get(in.ctx(), in.path("env"))
	if err != nil {
		return "", err
	}
	return e.Name, nil
}

func (a *API) withFreshness(ctx context.Context, d features.Def) (featureDef, error) {
	fd := featureDef{Def: d}
	if d.Kind != features.KindView || a.freshness == nil {
		return fd, nil
	}
	last, ok, err := a.freshness(ctx, d.Env, d.Name)
	if err != nil || !ok {
		return fd, err
	}
	last = last.UTC()
	fd.LastMaterialized = &last
	return fd, nil
}
