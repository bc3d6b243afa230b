-- +goose Up
CREATE TABLE strata_move_runs (
    id               TEXT PRIMARY KEY,
    job              TEXT NOT NULL,
    env              TEXT NOT NULL,
    params           TEXT NOT NULL,
    status           TEXT NOT NULL,
    error            TEXT NOT NULL,
    source_type      TEXT NOT NULL,
    target           TEXT NOT NULL,
    rows_read        BIGINT NOT NULL,
    rows_written     BIGINT NOT NULL,
    rows_rejected    BIGINT NOT NULL,
    bytes            BIGINT NOT NULL,
    snapshot_id      BIGINT NOT NULL,
    watermark_before TEXT NOT NULL,
    watermark_after  TEXT NOT NULL,
    actor            TEXT NOT NULL,
    started_ms       BIGINT NOT NULL,
    finished_ms      BIGINT NOT NULL
);
CREATE INDEX strata_move_runs_job ON strata_move_runs (job, started_ms);

CREATE TABLE strata_move_watermarks (
    job        TEXT NOT NULL,
    env        TEXT NOT NULL,
    value      TEXT NOT NULL,
    run_id     TEXT NOT NULL,
    updated_ms BIGINT NOT NULL,
    PRIMARY KEY (job, env)
);

-- One run of a job per environment at a time: a lease the run renews while it runs, so a killed run's lease
-- expires.
CREATE TABLE strata_move_leases (
    job        TEXT NOT NULL,
    env        TEXT NOT NULL,
    run_id     TEXT NOT NULL,
    expires_ms BIGINT NOT NULL,
    PRIMARY KEY (job, env)
);

-- +goose Down
DROP TABLE strata_move_leases;
DROP TABLE strata_move_watermarks;
DROP TABLE strata_move_runs;
