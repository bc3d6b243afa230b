//go:build duckdb_arrow

package sqlwire_test

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// pgjdbcVersion is the pgjdbc release the test runs (.ci/run fetches it from Maven Central).
const pgjdbcVersion = "42.7.14"

// pgjdbcJar finds pgjdbc in $STRATA_TEST_PGJDBC_JAR or the local Maven repository; missing, it fails loudly.
func pgjdbcJar(t *testing.T) string {
	t.Helper()
	jar := os.Getenv("STRATA_TEST_PGJDBC_JAR")
	if jar == "" {
		home, _ := os.UserHomeDir()
		jar = filepath.Join(home, ".m2", "repository", "org", "postgresql", "postgresql", pgjdbcVersion,
			"postgresql-"+pgjdbcVersion+".jar")
	}
	if _, err := os.Stat(jar); err != nil {
		t.Fatalf("pgjdbc is not installed (%v): run `mvn -B dependency:get -Dartifact=org.postgresql:postgresql:%s "+
			"-Dtransitive=false` (.ci/run does) or set STRATA_TEST_PGJDBC_JAR", err, pgjdbcVersion)
	}
	return jar
}

// TestCatalogPgjdbc runs pgjdbc's DatabaseMetaData (getSchemas, getTables, getColumns), ResultSetMetaData and a
// fetch-size cursor (autocommit off, fetch size 100: portal suspension) through tests/java/PgjdbcMeta.java.
func TestCatalogPgjdbc(t *testing.T) {
	t.Parallel()
	jar := pgjdbcJar(t)
	f := start(t)
	ids := make([]int64, 250)
	for i := range ids {
		ids[i] = int64(i + 1)
	}
	writeRows(t, f, "dev", "big", ids)
	host, port, err := net.SplitHostPort(f.addr)
	require.NoError(t, err)
	cmd := exec.Command("java", "-cp", jar, "../tests/java/PgjdbcMeta.java",
		"jdbc:postgresql://"+host+":"+port+"/dev?user=analyst&sslmode=disable")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, string(out))
	require.Equal(t, `product PostgreSQL 15
schemas [clean, datasets, features, information_schema, pg_catalog, public, raw, strata]
table dev raw.big TABLE null
table dev raw.people TABLE null
table strata.releases VIEW
column id -5 int8 19 1 YES
column name 12 text 2147483647 2 YES
column score 8 float8 17 3 YES
primary keys 0
meta int8 text float8 big name 1
fetched 250 rows, id sum 31375
`, string(out))
}
