package sqlwire

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestRewriteRegprocColumns(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		// the ADBC postgresql driver's type query
		`SELECT oid, typname, typreceive, typbasetype, typrelid, typarray FROM pg_catalog.pg_type WHERE (typreceive != 0 OR typsend != 0) AND typtype != 'r' AND typreceive::TEXT != 'array_recv'`: `SELECT oid, typname, strata_proname(typreceive) AS "typreceive", typbasetype, typrelid, typarray FROM pg_type WHERE (typreceive != 0 OR typsend != 0) AND typtype != 'r' AND strata_proname(typreceive) != 'array_recv'`,
		`SELECT t.typsend AS s, t.typinput i, CAST(t.typoutput AS TEXT) FROM pg_type t`:                                                                                                            `SELECT strata_proname(t.typsend) AS s, strata_proname(t.typinput) i, strata_proname(t.typoutput) AS "typoutput" FROM pg_type t`,
		`SELECT DISTINCT typreceive FROM pg_type`:                                                 `SELECT DISTINCT strata_proname(typreceive) AS "typreceive" FROM pg_type`,
		`SELECT * FROM (SELECT typreceive FROM pg_type) AS strata_describe LIMIT 0`:               `SELECT * FROM (SELECT strata_proname(typreceive) AS "typreceive" FROM pg_type) AS strata_describe LIMIT 0`,
		`SELECT * FROM (SELECT typreceive FROM pg_type) x JOIN pg_proc p ON p.oid = x.typreceive`: `SELECT * FROM (SELECT typreceive FROM pg_type) x JOIN pg_proc p ON p.oid = x.typreceive`,
		`SELECT * FROM pg_catalog.pg_proc p WHERE p.oid = 1`:                                      `SELECT * REPLACE (strata_proname(prosupport) AS prosupport) FROM pg_proc p WHERE p.oid = 1`,
		`SELECT * FROM pg_range ORDER BY 1`:                                                       `SELECT * REPLACE (strata_proname(rngcanonical) AS rngcanonical, strata_proname(rngsubdiff) AS rngsubdiff) FROM pg_range ORDER BY 1`,
		`SELECT * FROM pg_type t JOIN pg_proc p ON p.oid = t.typreceive`:                          `SELECT * FROM pg_type t JOIN pg_proc p ON p.oid = t.typreceive`,
		`SELECT * FROM pg_type t, pg_proc p`:                                                      `SELECT * FROM pg_type t, pg_proc p`,
		// joins and inner select lists keep the OIDs
		`SELECT p.proname FROM pg_type t JOIN pg_proc p ON p.oid = t.typreceive`:                           `SELECT p.proname FROM pg_type t JOIN pg_proc p ON p.oid = t.typreceive`,
		`SELECT x.oid FROM (SELECT oid, typreceive FROM pg_type) x JOIN pg_proc p ON p.oid = x.typreceive`: `SELECT x.oid FROM (SELECT oid, typreceive FROM pg_type) x JOIN pg_proc p ON p.oid = x.typreceive`,
		`SELECT typreceive::regproc::text, typsend::oid, oid typreceive, * FROM pg_type`:                   `SELECT strata_proname(typreceive) AS "text", typsend::BIGINT, oid typreceive, * REPLACE (strata_proname(typinput) AS typinput, strata_proname(typoutput) AS typoutput, strata_proname(typreceive) AS typreceive, strata_proname(typsend) AS typsend, strata_proname(typmodin) AS typmodin, strata_proname(typmodout) AS typmodout, strata_proname(typanalyze) AS typanalyze, strata_proname(typsubscript) AS typsubscript) FROM pg_type`,
	} {
		require.Equal(t, want, join(rewriteCatalog(lex(in))), in)
	}
}
