#!/usr/bin/env bash
# Regenerates pg_static.tsv: the built-in rows of PostgreSQL 15's catalogs that Strata's pg_catalog emulation
# serves (types with their real OIDs and I/O functions, the pg_proc rows clients join on, ranges, access methods,
# collations, tablespaces). Data, not code. Run it against a PostgreSQL 15 server (Debian's postgresql-15):
#   sqlwire/catalogdata/gen.sh "postgres://postgres@127.0.0.1:5432/postgres" > sqlwire/catalogdata/pg_static.tsv
# Format: a line "#table<TAB>column TYPE, ..." starts a table; each further line is a row, fields separated by
# tabs, \N for NULL. regproc columns hold the function's OID.
set -euo pipefail
dsn=$1
# table NAME "col TYPE, ..." "select list in the same order" "FROM ... WHERE ..."
table() {
	printf '#%s\t%s\n' "$1" "$2"
	psql -X -At -v ON_ERROR_STOP=1 -F $'\t' -P 'null=\N' "$dsn" -c "SELECT $3 $4 ORDER BY 1"
}
types="typnamespace = 11 AND typtype <> 'c' AND typname NOT LIKE 'pg\\_%' AND typname NOT LIKE '\\_pg%'"
table pg_type "oid BIGINT, typname VARCHAR, typnamespace BIGINT, typowner BIGINT, typlen SMALLINT, typbyval BOOLEAN, typtype VARCHAR, typcategory VARCHAR, typispreferred BOOLEAN, typisdefined BOOLEAN, typdelim VARCHAR, typrelid BIGINT, typsubscript BIGINT, typelem BIGINT, typarray BIGINT, typinput BIGINT, typoutput BIGINT, typreceive BIGINT, typsend BIGINT, typmodin BIGINT, typmodout BIGINT, typanalyze BIGINT, typalign VARCHAR, typstorage VARCHAR, typnotnull BOOLEAN, typbasetype BIGINT, typtypmod INTEGER, typndims INTEGER, typcollation BIGINT, typdefaultbin VARCHAR, typdefault VARCHAR, typacl VARCHAR" \
	"oid, typname, typnamespace, typowner, typlen, typbyval, typtype, typcategory, typispreferred, typisdefined, typdelim, typrelid, typsubscript::oid, typelem, typarray, typinput::oid, typoutput::oid, typreceive::oid, typsend::oid, typmodin::oid, typmodout::oid, typanalyze::oid, typalign, typstorage, typnotnull, typbasetype, typtypmod, typndims, typcollation, typdefaultbin, typdefault, typacl" \
	"FROM pg_type WHERE $types"
table pg_proc "oid BIGINT, proname VARCHAR, pronamespace BIGINT, proowner BIGINT, prolang BIGINT, procost FLOAT, prorows FLOAT, provariadic BIGINT, prosupport BIGINT, prokind VARCHAR, prosecdef BOOLEAN, proleakproof BOOLEAN, proisstrict BOOLEAN, proretset BOOLEAN, provolatile VARCHAR, proparallel VARCHAR, pronargs SMALLINT, pronargdefaults SMALLINT, prorettype BIGINT, proargtypes VARCHAR, prosrc VARCHAR" \
	"oid, proname, pronamespace, proowner, prolang, procost, prorows, provariadic, prosupport::oid, prokind, prosecdef, proleakproof, proisstrict, proretset, provolatile, proparallel, pronargs, pronargdefaults, prorettype, proargtypes, prosrc" \
	"FROM pg_proc WHERE oid IN (SELECT unnest(array[typinput, typoutput, typreceive, typsend, typmodin, typmodout, typanalyze, typsubscript]) FROM pg_type WHERE $types UNION SELECT unnest(array[rngcanonical, rngsubdiff]) FROM pg_range UNION SELECT amhandler FROM pg_am)"
table pg_range "rngtypid BIGINT, rngsubtype BIGINT, rngmultitypid BIGINT, rngcollation BIGINT, rngsubopc BIGINT, rngcanonical BIGINT, rngsubdiff BIGINT" \
	"rngtypid, rngsubtype, rngmultitypid, rngcollation, rngsubopc, rngcanonical::oid, rngsubdiff::oid" "FROM pg_range"
table pg_am "oid BIGINT, amname VARCHAR, amhandler BIGINT, amtype VARCHAR" "oid, amname, amhandler::oid, amtype" "FROM pg_am"
table pg_collation "oid BIGINT, collname VARCHAR, collnamespace BIGINT, collowner BIGINT, collprovider VARCHAR, collisdeterministic BOOLEAN, collencoding INTEGER, collcollate VARCHAR, collctype VARCHAR, colliculocale VARCHAR, collversion VARCHAR" \
	"oid, collname, collnamespace, collowner, collprovider, collisdeterministic, collencoding, collcollate, collctype, colliculocale, collversion" \
	"FROM pg_collation WHERE oid IN (100, 950, 951)"
table pg_tablespace "oid BIGINT, spcname VARCHAR, spcowner BIGINT, spcacl VARCHAR, spcoptions VARCHAR" \
	"oid, spcname, spcowner, NULL, NULL" "FROM pg_tablespace"
