-- What a materialisation run said about the table's columns, so that `strata materialize runs` shows it later:
-- the columns a full run dropped and those a range or incremental run kept although the view no longer
-- declares them (JSON arrays; '[]' = none), and the sentence that explains them ('' = nothing to say).
-- +goose Up
ALTER TABLE strata_materialize_runs ADD COLUMN dropped_columns TEXT NOT NULL DEFAULT '[]';
ALTER TABLE strata_materialize_runs ADD COLUMN stale_columns TEXT NOT NULL DEFAULT '[]';
ALTER TABLE strata_materialize_runs ADD COLUMN note TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE strata_materialize_runs DROP COLUMN note;
ALTER TABLE strata_materialize_runs DROP COLUMN stale_columns;
ALTER TABLE strata_materialize_runs DROP COLUMN dropped_columns;
