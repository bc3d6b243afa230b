package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/strata-data/strata/api"
	"github.com/strata-data/strata/config"
	"github.com/strata-data/strata/engine"
	"github.com/strata-data/strata/feastapi"
	"github.com/strata-data/strata/features"
	"github.com/strata-data/strata/online"
)

// featureServing opens the configured online store and returns the routes of Feast-compatible serving
// (POST /get-online-features, POST /push), the store (the caller closes it) and the syncer that loads the store
// from the offline feature tables: at once and every serving.sync_interval, in the background until ctx ends.
// Before it returns, the spaces the store records as served (by an earlier run or another replica) are served,
// so a restarted server answers at once instead of after its first load.
func (a *app) featureServing(ctx context.Context, cfg *config.Config, eng *engine.Engine, log *slog.Logger) (func(chi.Router), online.Store, *feastapi.Syncer, error) {
	store, err := online.Open(ctx, onlineOptions(cfg.Online))
	if err != nil {
		return nil, nil, nil, err
	}
	syncer := &feastapi.Syncer{Defs: features.NewRegistry(a.db), Envs: a.envs, Engine: eng, Store: store, Log: log,
		Grace: 2 * cfg.Serving.Sync()} // replicas re-read the records every interval: two intervals cover a late one
	if err := syncer.Start(ctx); err != nil {
		log.Warn("online: serving the recorded key spaces at start failed; they are served after the first load", "err", err.Error())
	}
	srv := feastapi.New(feastapi.Options{Defs: features.NewRegistry(a.db), Store: store, Envs: a.envs, DefaultEnv: cfg.Serving.Env,
		MaxEntities: cfg.Serving.MaxEntities, MaxBodyBytes: int64(cfg.Serving.MaxBodyBytes), DefinitionsTTL: cfg.Serving.DefinitionsTTL, Log: log, Sync: syncer})
	go syncer.Run(ctx, cfg.Serving.Sync())
	log.Info("online features are served", "backend", cfg.Online.Backend, "default_env", cfg.Serving.Env, "sync_interval", cfg.Serving.Sync().String())
	return srv.Mount, store, syncer, nil
}

// onlineFreshness reports a view's freshness as the latest event time written to the key space it is served
// from.
func onlineFreshness(store online.Store, syncer *feastapi.Syncer) api.Freshness {
	return func(ctx context.Context, env, view string) (time.Time, bool, error) {
		space, ok := syncer.Served(env, view)
		if !ok {
			space = online.Space(env, view)
		}
		return store.LastEvent(ctx, space)
	}
}

// onlineOptions maps the online.* keys to the store factory's options.
func onlineOptions(c config.Online) online.Options {
	cache := c.CacheBytes
	if cache == 0 { // online.cache_bytes: 0 turns the cache off, which online.Options says with a negative size
		cache = -1
	}
	return online.Options{Backend: c.Backend, Path: c.Path, CacheBytes: cache, RedisAddr: c.Redis.Addr, RedisPrefix: c.Redis.Prefix}
}
