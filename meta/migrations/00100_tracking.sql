-- MLflow-compatible experiment tracking (package tracking). Timestamps are unix milliseconds.
-- +goose Up
CREATE TABLE mlflow_experiments (
    experiment_id     BIGINT PRIMARY KEY,
    name              TEXT NOT NULL UNIQUE,
    artifact_location TEXT NOT NULL,
    lifecycle_stage   TEXT NOT NULL,
    creation_time     BIGINT NOT NULL,
    last_update_time  BIGINT NOT NULL
);
CREATE TABLE mlflow_experiment_tags (
    experiment_id BIGINT NOT NULL,
    key           TEXT NOT NULL,
    value         TEXT NOT NULL,
    PRIMARY KEY (experiment_id, key)
);
CREATE TABLE mlflow_runs (
    run_id          TEXT PRIMARY KEY,
    experiment_id   BIGINT NOT NULL,
    name            TEXT NOT NULL,
    user_id         TEXT NOT NULL,
    status          TEXT NOT NULL,
    start_time      BIGINT NOT NULL,
    end_time        BIGINT,
    artifact_uri    TEXT NOT NULL,
    lifecycle_stage TEXT NOT NULL,
    deleted_time    BIGINT
);
CREATE INDEX mlflow_runs_exp_start ON mlflow_runs (experiment_id, start_time, run_id);
CREATE TABLE mlflow_params (
    run_id TEXT NOT NULL,
    key    TEXT NOT NULL,
    value  TEXT NOT NULL,
    PRIMARY KEY (run_id, key)
);
CREATE INDEX mlflow_params_key_value ON mlflow_params (key, value);
CREATE TABLE mlflow_tags (
    run_id TEXT NOT NULL,
    key    TEXT NOT NULL,
    value  TEXT NOT NULL,
    PRIMARY KEY (run_id, key)
);
CREATE INDEX mlflow_tags_key_value ON mlflow_tags (key, value);
-- Every logged point; identical points are stored once (the primary key de-duplicates).
CREATE TABLE mlflow_metrics (
    run_id         TEXT NOT NULL,
    key            TEXT NOT NULL,
    ts             BIGINT NOT NULL,
    step           BIGINT NOT NULL,
    value          DOUBLE PRECISION NOT NULL,
    is_nan         INTEGER NOT NULL,
    model_id       TEXT,
    dataset_name   TEXT,
    dataset_digest TEXT,
    PRIMARY KEY (run_id, key, ts, step, value, is_nan)
);
CREATE INDEX mlflow_metrics_model ON mlflow_metrics (model_id);
-- The point each run shows for a key: highest step, then timestamp, then value.
CREATE TABLE mlflow_latest_metrics (
    run_id TEXT NOT NULL,
    key    TEXT NOT NULL,
    ts     BIGINT NOT NULL,
    step   BIGINT NOT NULL,
    value  DOUBLE PRECISION NOT NULL,
    is_nan INTEGER NOT NULL,
    PRIMARY KEY (run_id, key)
);
CREATE INDEX mlflow_latest_metrics_key_value ON mlflow_latest_metrics (key, value, run_id);
CREATE TABLE mlflow_datasets (
    dataset_id    TEXT PRIMARY KEY,
    experiment_id BIGINT NOT NULL,
    name          TEXT NOT NULL,
    digest        TEXT NOT NULL,
    source_type   TEXT NOT NULL,
    source        TEXT NOT NULL,
    schema_json   TEXT,
    profile       TEXT,
    UNIQUE (experiment_id, name, digest)
);
-- source_type DATASET (source_id = dataset_id) or MODEL (source_id = model_id); destination is a run.
CREATE TABLE mlflow_inputs (
    input_id    TEXT PRIMARY KEY,
    source_type TEXT NOT NULL,
    source_id   TEXT NOT NULL,
    run_id      TEXT NOT NULL,
    step        BIGINT NOT NULL,
    UNIQUE (source_type, source_id, run_id)
);
CREATE INDEX mlflow_inputs_run ON mlflow_inputs (run_id);
CREATE TABLE mlflow_input_tags (
    input_id TEXT NOT NULL,
    key      TEXT NOT NULL,
    value    TEXT NOT NULL,
    PRIMARY KEY (input_id, key)
);
CREATE TABLE mlflow_run_outputs (
    run_id   TEXT NOT NULL,
    model_id TEXT NOT NULL,
    step     BIGINT NOT NULL,
    PRIMARY KEY (run_id, model_id)
);
CREATE TABLE mlflow_logged_models (
    model_id          TEXT PRIMARY KEY,
    experiment_id     BIGINT NOT NULL,
    name              TEXT NOT NULL,
    artifact_location TEXT NOT NULL,
    creation_time     BIGINT NOT NULL,
    last_updated_time BIGINT NOT NULL,
    status            INTEGER NOT NULL,
    lifecycle_stage   TEXT NOT NULL,
    model_type        TEXT,
    source_run_id     TEXT,
    status_message    TEXT
);
CREATE INDEX mlflow_logged_models_exp ON mlflow_logged_models (experiment_id, creation_time);
CREATE TABLE mlflow_logged_model_params (
    model_id TEXT NOT NULL,
    key      TEXT NOT NULL,
    value    TEXT NOT NULL,
    PRIMARY KEY (model_id, key)
);
CREATE TABLE mlflow_logged_model_tags (
    model_id TEXT NOT NULL,
    key      TEXT NOT NULL,
    value    TEXT NOT NULL,
    PRIMARY KEY (model_id, key)
);

-- +goose Down
DROP TABLE mlflow_logged_model_tags;
DROP TABLE mlflow_logged_model_params;
DROP TABLE mlflow_logged_models;
DROP TABLE mlflow_run_outputs;
DROP TABLE mlflow_input_tags;
DROP TABLE mlflow_inputs;
DROP TABLE mlflow_datasets;
DROP TABLE mlflow_latest_metrics;
DROP TABLE mlflow_metrics;
DROP TABLE mlflow_tags;
DROP TABLE mlflow_params;
DROP TABLE mlflow_experiment_tags;
DROP TABLE mlflow_runs;
DROP TABLE mlflow_experiments;
