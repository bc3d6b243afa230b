-- MLflow-compatible model registry (package registry). Timestamps are unix milliseconds.
-- +goose Up
CREATE TABLE mlflow_registered_models (
    name              TEXT PRIMARY KEY,
    creation_time     BIGINT NOT NULL,
    last_updated_time BIGINT NOT NULL,
    description       TEXT NOT NULL,
    user_id           TEXT NOT NULL
);
CREATE TABLE mlflow_registered_model_tags (
    name  TEXT NOT NULL,
    key   TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (name, key)
);
CREATE TABLE mlflow_model_versions (
    name              TEXT NOT NULL,
    version           BIGINT NOT NULL,
    creation_time     BIGINT NOT NULL,
    last_updated_time BIGINT NOT NULL,
    description       TEXT NOT NULL,
    user_id           TEXT NOT NULL,
    current_stage     TEXT NOT NULL,
    source            TEXT NOT NULL,
    storage_location  TEXT NOT NULL,
    run_id            TEXT NOT NULL,
    run_link          TEXT NOT NULL,
    status            TEXT NOT NULL,
    status_message    TEXT NOT NULL,
    model_id          TEXT NOT NULL,
    deleted           INTEGER NOT NULL,
    PRIMARY KEY (name, version)
);
CREATE TABLE mlflow_model_version_tags (
    name    TEXT NOT NULL,
    version BIGINT NOT NULL,
    key     TEXT NOT NULL,
    value   TEXT NOT NULL,
    PRIMARY KEY (name, version, key)
);
CREATE TABLE mlflow_model_aliases (
    name    TEXT NOT NULL,
    alias   TEXT NOT NULL,
    version BIGINT NOT NULL,
    PRIMARY KEY (name, alias)
);
-- Every alias move, so a release can tell which version an alias named at a given time.
CREATE TABLE mlflow_model_alias_history (
    name    TEXT NOT NULL,
    alias   TEXT NOT NULL,
    at_ms   BIGINT NOT NULL,
    seq     BIGINT NOT NULL,
    version BIGINT,
    PRIMARY KEY (name, alias, seq)
);

-- +goose Down
DROP TABLE mlflow_model_alias_history;
DROP TABLE mlflow_model_aliases;
DROP TABLE mlflow_model_version_tags;
DROP TABLE mlflow_model_versions;
DROP TABLE mlflow_registered_model_tags;
DROP TABLE mlflow_registered_models;
