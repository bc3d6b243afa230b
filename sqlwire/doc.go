// Package sqlwire answers the PostgreSQL wire protocol (v3) over the lake, so psql, psycopg, pandas, R and BI
// tools read Strata's tables with their stock PostgreSQL drivers.
//
// The database a client connects to is a Strata environment and a schema is a zone: in `prod` every query
// sees the current release's pins, in `dev` the latest snapshots (envs.BindSQL). The SQL is DuckDB's, run by
// engine.Query; rows stream from Arrow record batches into DataRow messages, so memory stays bounded however
// large a result is. Messages are decoded and encoded by pgx's pgproto3, never by hand.
//
// Results go out in text or binary as the client asks. Clients authenticate with SCRAM-SHA-256 once users
// exist or when the listener is reachable from other machines (auth.go). In dev-kind environments a developer
// writes lake tables with CREATE TABLE AS, INSERT INTO and DROP TABLE through envs (write.go; package lakesql
// runs them with the rules `strata sql` follows too); every other statement that writes, or reaches files,
// extensions or the network, is refused with SQLSTATE 42501, also when it hides behind a readable first word
// (hidden.go). Time travel: SET strata.as_of / strata.snapshot
// (catalog_timetravel.go) and strata.at('zone.table', ...) (timetravel_func.go).
package sqlwire
