-- +goose Up
CREATE TABLE strata_envs (
    name        TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    description TEXT NOT NULL,
    created_ms  BIGINT NOT NULL
);
INSERT INTO strata_envs (name, kind, description, created_ms) VALUES
    ('dev',  'dev',  'interactive work on changing data: readers see every table''s latest snapshot', 0),
    ('prod', 'prod', 'automated, fixed data: readers see only the current release', 0);

CREATE TABLE strata_releases (
    env         TEXT NOT NULL,
    id          BIGINT NOT NULL,
    created_ms  BIGINT NOT NULL,
    actor       TEXT NOT NULL,
    note        TEXT NOT NULL,
    parent      BIGINT NOT NULL,
    source      TEXT NOT NULL,
    PRIMARY KEY (env, id)
);

CREATE TABLE strata_release_pins (
    env         TEXT NOT NULL,
    release_id  BIGINT NOT NULL,
    table_name  TEXT NOT NULL,
    snapshot_id BIGINT NOT NULL,
    row_count   BIGINT NOT NULL,
    PRIMARY KEY (env, release_id, table_name)
);
CREATE INDEX strata_release_pins_table ON strata_release_pins (env, table_name);

CREATE TABLE strata_release_models (
    env         TEXT NOT NULL,
    release_id  BIGINT NOT NULL,
    model_name  TEXT NOT NULL,
    alias       TEXT NOT NULL,
    version     TEXT NOT NULL,
    PRIMARY KEY (env, release_id, model_name, alias)
);

-- +goose Down
DROP TABLE strata_release_models;
DROP TABLE strata_release_pins;
DROP TABLE strata_releases;
DROP TABLE strata_envs;
