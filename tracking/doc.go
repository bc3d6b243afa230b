// Package tracking is Strata's MLflow-compatible experiment tracking: experiments, runs, params, metrics (with
// full history), tags, dataset inputs, model outputs and MLflow 3 logged models, kept in the metadata database
// (SQLite or PostgreSQL), plus the HTTP handlers that speak MLflow's REST API so the stock `mlflow` client works
// unchanged (mlflow.set_tracking_uri("http://host:8080")).
//
// The wire format follows MLflow exactly: int64 values are JSON numbers, NaN/±Inf are "NaN"/"Infinity"/
// "-Infinity" (±Inf is stored as ±1.7976931348623157e308, like MLflow's SQL store), unset fields are omitted and
// errors are {"error_code", "message"} with MLflow's code→status table (WriteError is the one place that maps
// them; the registry package uses it too). Search filters use MLflow's grammar (ParseFilter).
//
// How to mount (the server owns the router; cmd/strata/runs.go does exactly this through serve's mounts hook):
//
//	arts, err := backends.Open(ctx, cfg.Artifacts.Root) // package artifacts/backends: a dir, file:///dir or s3://bucket/prefix?endpoint=...
//	store, err := tracking.NewStore(ctx, db, "")        // db is the *meta.DB; "" = mlflow-artifacts:/ (proxied artifacts)
//	th := tracking.NewHandler(store, arts, tracking.Options{})
//	rh := registry.NewHandler(registry.NewStore(store), arts)
//	th.Routes(r) // /api/2.0/mlflow/..., /ajax-api/2.0/mlflow/..., /api/2.0/mlflow-artifacts/..., /health, /version, /api/3.0/mlflow/server-info
//	rh.Routes(r) // registered models, model versions, aliases, stages
package tracking
