-- The process holding a job's lease (host name and pid), so that a run killed on this machine (SIGKILL, OOM) does
-- not block the job until its lease expires: a new run on the same host takes over the lease of a dead process.
-- +goose Up
ALTER TABLE strata_move_leases ADD COLUMN host TEXT NOT NULL DEFAULT '';
ALTER TABLE strata_move_leases ADD COLUMN pid BIGINT NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE strata_move_leases DROP COLUMN pid;
ALTER TABLE strata_move_leases DROP COLUMN host;
