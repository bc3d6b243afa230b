-- Feature materialisation (package features): one row per view instance per `strata materialize` run.
-- Timestamps are unix milliseconds; event times unix microseconds (0 = none).
-- +goose Up
CREATE TABLE strata_materialize_runs (
    id            TEXT PRIMARY KEY,
    run_group     TEXT NOT NULL,   -- the id shared by the instances of one command
    env           TEXT NOT NULL,
    view          TEXT NOT NULL,
    view_version  BIGINT NOT NULL,
    instance      TEXT NOT NULL,   -- InstanceName: the table features.<instance> and the online key space
    params        TEXT NOT NULL,   -- JSON: parameter values
    mode          TEXT NOT NULL,   -- full | range | incremental
    start_us      BIGINT NOT NULL, -- the event-time range asked for, [start, end); 0 = open
    end_us        BIGINT NOT NULL,
    min_event_us  BIGINT NOT NULL, -- the event times written
    max_event_us  BIGINT NOT NULL,
    watermark_us  BIGINT NOT NULL, -- the latest event time materialised so far (incremental runs continue after it)
    row_count     BIGINT NOT NULL,
    online_rows   BIGINT NOT NULL,
    snapshot_id   BIGINT NOT NULL,
    inputs        TEXT NOT NULL,   -- JSON: the input snapshots read
    status        TEXT NOT NULL,   -- succeeded | failed
    error         TEXT NOT NULL,
    actor         TEXT NOT NULL,
    started_ms    BIGINT NOT NULL,
    duration_ms   BIGINT NOT NULL
);
CREATE INDEX strata_materialize_runs_instance ON strata_materialize_runs (env, instance, started_ms);

-- +goose Down
DROP TABLE strata_materialize_runs;
