// Package engine runs SQL over lake table snapshots with an embedded DuckDB and reads import files (CSV,
// JSON lines, Parquet) as Arrow record batches. It is the only package that imports duckdb-go.
//
// Every call gets a private in-memory DuckDB database that lives as long as its result: concurrent queries
// share no catalog, settings or temp files, and a query sees exactly the tables it was given. A table is a
// view over the snapshot's Parquet files, projected by Iceberg field id so renamed and added columns
// resolve as the snapshot's schema says. Results stream: memory stays bounded however large they are.
// A pooled database (QueryOptions.Reuse) that is used again copies its tables into compressed memory when they
// are small enough (Options.HotTableBytes, HotTotalBytes), so repeated queries over an unchanged snapshot stop
// decoding Parquet; the results are the same.
//
// The package needs the build tag duckdb_arrow (go build -tags duckdb_arrow); without it the build stops
// with an error naming the tag.
package engine
