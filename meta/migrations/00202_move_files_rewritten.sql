-- How many of the target table's data files a merge or overwrite-partition rewrote, of how many, so that
-- `strata move show` tells a user that keys spread over every file make each merge rewrite the whole table.
-- +goose Up
ALTER TABLE strata_move_runs ADD COLUMN files_rewritten BIGINT NOT NULL DEFAULT 0;
ALTER TABLE strata_move_runs ADD COLUMN files_total BIGINT NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE strata_move_runs DROP COLUMN files_total;
ALTER TABLE strata_move_runs DROP COLUMN files_rewritten;
