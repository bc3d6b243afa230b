-- Users, roles and API tokens (package auth). A password is kept only as its SCRAM-SHA-256 verifier, in
-- PostgreSQL's own pg_authid format; a token only as the SHA-256 of its secret. Timestamps are unix milliseconds.
-- +goose Up
CREATE TABLE strata_users (
    name        TEXT PRIMARY KEY,
    verifier    TEXT NOT NULL,   -- SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey> (base64)
    created_ms  BIGINT NOT NULL,
    changed_ms  BIGINT NOT NULL  -- last password change
);

CREATE TABLE strata_grants (
    user_name   TEXT NOT NULL REFERENCES strata_users(name) ON DELETE CASCADE,
    env         TEXT NOT NULL,   -- an environment, or * for every environment
    role        TEXT NOT NULL,   -- viewer | developer | admin
    PRIMARY KEY (user_name, env)
);

CREATE TABLE strata_tokens (
    id          TEXT PRIMARY KEY,
    user_name   TEXT NOT NULL REFERENCES strata_users(name) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    secret_hash TEXT NOT NULL,   -- hex SHA-256 of the secret part
    created_ms  BIGINT NOT NULL,
    expires_ms  BIGINT NOT NULL  -- 0 = never
);
CREATE INDEX strata_tokens_user ON strata_tokens (user_name);

-- +goose Down
DROP TABLE strata_tokens;
DROP TABLE strata_grants;
DROP TABLE strata_users;
