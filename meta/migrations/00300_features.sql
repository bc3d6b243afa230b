-- Feature store (package features): every applied version of every definition, per environment, and every
-- training set built, with its lineage. Timestamps are unix milliseconds.
-- +goose Up
CREATE TABLE strata_feature_defs (
    env         TEXT NOT NULL,
    kind        TEXT NOT NULL,   -- entity | view | service
    name        TEXT NOT NULL,
    version     BIGINT NOT NULL, -- 1, 2, ... per (env, kind, name)
    digest      TEXT NOT NULL,   -- sha256 of spec
    spec        TEXT NOT NULL,   -- the definition as canonical JSON
    deleted     INTEGER NOT NULL,-- 1: this version removes the definition
    file        TEXT NOT NULL,
    actor       TEXT NOT NULL,
    created_ms  BIGINT NOT NULL,
    PRIMARY KEY (env, kind, name, version)
);

CREATE TABLE strata_datasets (
    env          TEXT NOT NULL,
    name         TEXT NOT NULL,
    version      BIGINT NOT NULL,
    table_name   TEXT NOT NULL,
    snapshot_id  BIGINT NOT NULL,
    row_count    BIGINT NOT NULL,
    spine_digest TEXT NOT NULL,
    lineage      TEXT NOT NULL,  -- JSON: spine, features, definition versions, parameters, input snapshots
    actor        TEXT NOT NULL,
    created_ms   BIGINT NOT NULL,
    PRIMARY KEY (env, name, version)
);

-- +goose Down
DROP TABLE strata_datasets;
DROP TABLE strata_feature_defs;
