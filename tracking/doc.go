// Package tracking is Strata's MLflow-compatible experiment tracking: experiments, runs, params, metrics (with
// full history), tags, dataset inputs, model outputs and MLflow 3 logged models, kept in the metadata database
// (SQLite or PostgreSQL), plus the HTTP handlers that speak MLflow's REST API so the stock `mlflow` client works
// unchanged (mlflow.set_tracking_uri("http://host:8080")).
//
// The wire format follows MLflow exactly: int64 values are JSON numbers, NaN/±Inf are "NaN"/"Infinity"/
// "-Infinity" (±Inf is stored as ±1.7976931348623157e308, like MLflow's SQL store), unset fields are omitted and
// errors are {"error_code", "message"}. Request decoding, the error mapper (kind → MLflow code and status),
// the search filter grammar and paging live in package mlflowapi, which the registry shares; store errors
// wrap this package's sentinels, whose kinds choose the code.
//
// How to mount (the server owns the router; cmd/strata/mlflow.go does exactly this through serve's mounts):
//
//	arts, err := backends.Open(ctx, cfg.Artifacts.Root) // package artifacts/backends: a dir, file:///dir or s3://bucket/prefix?endpoint=...
//	store, err := tracking.NewStore(ctx, db, "")        // db is the *meta.DB; "" = mlflow-artifacts:/ (proxied artifacts)
//	th := tracking.NewHandler(store, arts, tracking.Options{Logger: log})
//	rh := registry.NewHandler(registry.NewStore(store), arts, log) // *Store implements registry.Tracking
//	th.Routes(r) // /api/2.0/mlflow/..., /ajax-api/2.0/mlflow/..., /api/2.0/mlflow-artifacts/..., /health, /version, /api/3.0/mlflow/server-info
//	rh.Routes(r) // registered models, model versions, aliases, stages
package tracking
