// Package sqlwire answers the PostgreSQL wire protocol (v3) over the lake, so psql, psycopg, pandas, R and BI
// tools read Strata's tables with their stock PostgreSQL drivers.
//
// The database a client connects to is a Strata environment and a schema is a zone: in `prod` every query
// sees the current release's pins, in `dev` the latest snapshots (envs.BindSQL). The SQL is DuckDB's, run by
// engine.Query; rows stream from Arrow record batches into DataRow messages, so memory stays bounded however
// large a result is. Messages are decoded and encoded by pgx's pgproto3, never by hand.
//
// This first slice is read-only and trusts every user on a loopback address (no passwords yet); results are
// in text format. Statements that write, or reach files or the network, are refused with SQLSTATE 42501.
package sqlwire
