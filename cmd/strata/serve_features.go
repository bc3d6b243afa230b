package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/strata-data/strata/api"
	"github.com/strata-data/strata/config"
	"github.com/strata-data/strata/feastapi"
	"github.com/strata-data/strata/features"
	"github.com/strata-data/strata/online"
)

// featureServing opens the configured online store and returns the routes of Feast-compatible serving
// (POST /get-online-features, POST /push) and the store (the caller closes it).
func (a *app) featureServing(ctx context.Context, cfg *config.Config, log *slog.Logger) (func(chi.Router), online.Store, error) {
	store, err := online.Open(ctx, onlineOptions(cfg.Online))
	if err != nil {
		return nil, nil, err
	}
	srv := feastapi.New(feastapi.Options{Defs: features.NewRegistry(a.db), Store: store, Envs: a.envs, DefaultEnv: cfg.Serving.Env,
		MaxEntities: cfg.Serving.MaxEntities, MaxBodyBytes: int64(cfg.Serving.MaxBodyBytes), DefinitionsTTL: cfg.Serving.DefinitionsTTL, Log: log})
	log.Info("online features are served", "backend", cfg.Online.Backend, "default_env", cfg.Serving.Env)
	return srv.Mount, store, nil
}

// onlineFreshness reports a view's freshness as the latest event time written to its online key space.
func onlineFreshness(store online.Store) api.Freshness {
	return func(ctx context.Context, env, view string) (time.Time, bool, error) {
		return store.LastEvent(ctx, online.Space(env, view))
	}
}

// onlineOptions maps the online.* keys to the store factory's options.
func onlineOptions(c config.Online) online.Options {
	return online.Options{Backend: c.Backend, Path: c.Path, RedisAddr: c.Redis.Addr, RedisPrefix: c.Redis.Prefix}
}
