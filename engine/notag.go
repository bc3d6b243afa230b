//go:build !duckdb_arrow

package engine

// DuckDB's Arrow interface is compiled only with the build tag duckdb_arrow. Without it this file is
// built instead, and the undefined name below stops the build with a message that says what to do.
var _ = build_strata_with_tags_duckdb_arrow_see_README
