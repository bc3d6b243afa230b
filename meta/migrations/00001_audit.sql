-- +goose Up
CREATE TABLE strata_audit (
    id        TEXT PRIMARY KEY,
    at_ms     BIGINT NOT NULL,
    actor     TEXT NOT NULL,
    env       TEXT NOT NULL,
    action    TEXT NOT NULL,
    target    TEXT NOT NULL,
    detail    TEXT NOT NULL
);
CREATE INDEX strata_audit_env_at ON strata_audit (env, at_ms);

-- +goose Down
DROP TABLE strata_audit;
