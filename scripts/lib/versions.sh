# shellcheck shell=bash disable=SC2034 # sets variables for the scripts that source it
# Tool versions pinned for lint and CI; one place to bump them.

# staticcheck 2026.2.2; built with go1.26 (its go.mod says go 1.26.0) and understands Go 1.26 code.
STATICCHECK_VERSION=v0.8.2

# pgjdbc, the PostgreSQL JDBC driver the sqlwire client test runs (must match pgjdbcVersion in sqlwire/catalog_jdbc_test.go).
PGJDBC_VERSION=42.7.14
