package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/api"

	"github.com/strata-data/strata/internal/testenv"
)

var snapshotOut = regexp.MustCompile(`snapshot (\d+)\n`)

// importSnapshot runs an import that must succeed and returns the snapshot id it reports.
func importSnapshot(t *testing.T, c *cli, args ...string) string {
	t.Helper()
	m := snapshotOut.FindStringSubmatch(c.ok(append([]string{"table", "import"}, args...)...))
	require.NotNil(t, m)
	return m[1]
}

func instant() string {
	time.Sleep(10 * time.Millisecond)
	s := time.Now().UTC().Format(time.RFC3339Nano)
	time.Sleep(10 * time.Millisecond)
	return s
}

// TestProdReadersSeeOnlyReleases runs every CLI read entry point against prod snapshots written with --force
// and never published, and asserts that their rows, ids, columns and file names never appear.
func TestProdReadersSeeOnlyReleases(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			var env []string
			if b.Name == "postgres" {
				env = append(env, "STRATA_META_DSN="+b.DSN(t))
			}
			c := newCLI(t, env...)
			c.ok("init")
			c.ok("table", "import", "--env", "dev", "raw.orders", c.file("orders.csv", ordersCSV))
			c.ok("env", "clone", "dev", "prod", "--force")
			c.ok("release", "publish", "--env", "prod") // release 1: the 3 tour orders
			afterR1 := instant()

			const head = "order_id,user_id,status,amount,ordered_at\n"
			// Unpublished: LEAKED rows.
			s2 := importSnapshot(t, c, "--env", "prod", "raw.orders", "--force",
				c.file("secret_a.csv", head+"901,66,LEAKED,1.0,2026-02-01 10:00:00\n"))
			afterS2 := instant()
			// Published in release 2: it replaces every row, so the LEAKED rows are in s2 only.
			c.ok("table", "import", "--env", "prod", "raw.orders", "--force", "--mode", "overwrite",
				c.file("public.csv", head+"100,7,public,2.0,2026-02-02 10:00:00\n"))
			c.ok("release", "publish", "--env", "prod", "raw.orders")
			afterR2 := instant()
			// Unpublished again, with a new column.
			s4 := importSnapshot(t, c, "--env", "prod", "raw.orders", "--force", "--schema", "evolve",
				c.file("secret_b.csv", "order_id,user_id,status,amount,ordered_at,leak_col\n902,66,LEAKED,1.0,2026-02-03 10:00:00,x\n"))
			// A prod table that no release pins.
			h1 := importSnapshot(t, c, "--env", "prod", "raw.hidden", "--force", c.file("secret_c.csv", "id,status\n1,LEAKED\n"))
			future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)

			secrets := []string{s2, s4, h1, "LEAKED", "leak_col", "secret_"}
			clean := func(what, text string) {
				t.Helper()
				for _, s := range secrets {
					require.NotContains(t, text, s, "%s shows unpublished data", what)
				}
			}
			read := func(args ...string) string {
				t.Helper()
				out, errs, code := c.run(args...)
				require.Equal(t, 0, code, "strata %s: %s", strings.Join(args, " "), errs)
				clean(strings.Join(args, " "), out+errs)
				return out
			}
			refuse := func(args ...string) string {
				t.Helper()
				out, errs, code := c.run(args...)
				require.Equal(t, exitNotFound, code, "strata %s: %s%s", strings.Join(args, " "), out, errs)
				require.Empty(t, out)
				return errs
			}

			// What readers see: release 2's one public row, now and at any later instant.
			for _, args := range [][]string{
				{"table", "list", "--env", "prod"}, {"table", "list", "--env", "prod", "-o", "json"},
				{"table", "list", "--env", "prod", "raw"},
				{"table", "show", "--env", "prod", "raw.orders"}, {"table", "show", "--env", "prod", "raw.orders", "-o", "json"},
				{"table", "snapshots", "--env", "prod", "raw.orders"}, {"table", "snapshots", "--env", "prod", "raw.orders", "-o", "yaml"},
				{"table", "schema", "--env", "prod", "raw.orders"}, {"table", "schema", "--env", "prod", "raw.orders", "--as-of", future},
				{"sql", "--env", "prod", "--format", "csv", "SELECT * FROM raw.orders"},
				{"sql", "--env", "prod", "SELECT * FROM raw.orders", "-o", "json"},
			} {
				require.NotContains(t, read(args...), "raw.hidden")
			}
			for _, asOf := range []string{"", future, afterR2} {
				args := []string{"table", "preview", "--env", "prod", "raw.orders", "--format", "csv"}
				if asOf != "" {
					args = append(args, "--as-of", asOf)
				}
				require.Equal(t, head+"100,7,public,2,2026-02-02T10:00:00\n", read(args...), "as of %q", asOf)
			}
			// Before release 2, release 1 was current, also while s2 was the table's newest snapshot.
			for _, asOf := range []string{afterR1, afterS2} {
				out := read("table", "preview", "--env", "prod", "raw.orders", "--format", "csv", "--as-of", asOf)
				require.Equal(t, 4, strings.Count(out, "\n"), out)
				require.Contains(t, out, "shipped")
				read("table", "schema", "--env", "prod", "raw.orders", "--as-of", asOf)
			}
			require.NotContains(t, read("table", "schema", "--env", "prod", "raw.orders", "-o", "json"), "leak_col")
			require.Contains(t, read("table", "show", "--env", "prod", "raw.orders"), "rows:                  1")

			// Unpublished snapshots by id: not found, worded exactly as for an id that never existed.
			const never = "1234567890123456789"
			for _, cmd := range []string{"preview", "schema"} {
				want := refuse("table", cmd, "--env", "prod", "raw.orders", "--snapshot", never)
				for _, id := range []string{s2, s4} {
					errs := refuse("table", cmd, "--env", "prod", "raw.orders", "--snapshot", id)
					require.Equal(t, want, strings.ReplaceAll(errs, id, never))
				}
			}
			// Before any release there is nothing to read.
			errs := refuse("table", "preview", "--env", "prod", "raw.orders", "--as-of", "2001-01-01")
			require.Contains(t, errs, "prod had no release yet at that time")

			// A table in no release: every entry point says not found, as for a table that does not exist.
			for _, args := range [][]string{
				{"table", "show", "--env", "prod", "raw.hidden"}, {"table", "snapshots", "--env", "prod", "raw.hidden"},
				{"table", "schema", "--env", "prod", "raw.hidden"}, {"table", "preview", "--env", "prod", "raw.hidden"},
				{"table", "preview", "--env", "prod", "raw.hidden", "--as-of", future},
				{"table", "schema", "--env", "prod", "raw.hidden", "--as-of", future},
				{"table", "preview", "--env", "prod", "raw.hidden", "--snapshot", h1},
				{"sql", "--env", "prod", "SELECT * FROM raw.hidden"},
			} {
				errs := strings.ReplaceAll(refuse(args...), h1, never)
				clean(strings.Join(args, " "), errs)
				for i := range args {
					args[i] = strings.ReplaceAll(strings.ReplaceAll(args[i], "raw.hidden", "raw.nope"), h1, never)
				}
				require.Equal(t, strings.ReplaceAll(refuse(args...), "raw.nope", "raw.hidden"), errs)
			}

			// The HTTP API's read paths: the same rows, ids and refusals.
			httpReads(t, c, clean, future, afterR1, afterS2, s2, s4, h1)

			// dev readers keep seeing every snapshot of their own tables.
			require.Contains(t, c.ok("table", "snapshots", "--env", "dev", "raw.orders"), "*")
		})
	}
}

// httpReads runs every /api/v1 read entry point of the project against its unpublished prod snapshots.
func httpReads(t *testing.T, c *cli, clean func(what, text string), future, afterR1, afterS2, s2, s4, h1 string) {
	t.Helper()
	c.withApp(func(a *app) {
		eng, err := a.engine()
		require.NoError(t, err)
		r := chi.NewRouter()
		r.Mount("/api/v1", api.New(api.Options{Envs: a.envs, Engine: eng, Log: a.logger()}).Handler())
		ts := httptest.NewServer(r)
		defer ts.Close()
		raw := func(path string) (int, string) {
			t.Helper()
			resp, err := http.Get(ts.URL + "/api/v1" + path)
			require.NoError(t, err)
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			return resp.StatusCode, string(b) + resp.Header.Get("X-Strata-Snapshot-Id")
		}
		get := func(path string) (int, string) {
			t.Helper()
			code, body := raw(path)
			clean("GET "+path, body)
			return code, body
		}
		q := url.QueryEscape
		for _, p := range []string{"/envs", "/envs/prod", "/envs/prod/tables", "/envs/prod/tables?zone=raw",
			"/envs/prod/tables/raw.orders", "/envs/prod/releases", "/envs/prod/releases/current", "/envs/prod/releases/1",
			"/envs/prod/tables/raw.orders/rows", "/envs/prod/tables/raw.orders/rows?format=csv",
			"/envs/prod/tables/raw.orders/rows?format=jsonl&as_of=" + q(future),
			"/envs/prod/tables/raw.orders/rows?format=csv&as_of=" + q(afterR1),
			"/envs/prod/tables/raw.orders/rows?format=csv&as_of=" + q(afterS2),
			"/envs/prod/tables/raw.orders/rows?format=arrow", "/envs/prod/tables/raw.orders/rows?format=parquet",
		} {
			code, body := get(p)
			require.Equal(t, http.StatusOK, code, "GET %s: %s", p, body)
			require.NotContains(t, body, "raw.hidden", "GET %s", p)
		}
		_, body := get("/envs/prod/tables/raw.orders/rows?format=csv")
		require.True(t, strings.HasPrefix(body, "order_id,user_id,status,amount,ordered_at\n100,7,public,2,2026-02-02T10:00:00\n"), body)
		// Refusals echo what was asked, and are worded exactly as for an id or table that never existed.
		const never = "1234567890123456789"
		hide := strings.NewReplacer(s2, never, s4, never, h1, never, "raw.hidden", "raw.nope")
		for _, p := range []string{
			"/envs/prod/tables/raw.orders/rows?snapshot=" + s2, "/envs/prod/tables/raw.orders/rows?snapshot=" + s4,
			"/envs/prod/tables/raw.hidden", "/envs/prod/tables/raw.hidden/rows",
			"/envs/prod/tables/raw.hidden/rows?snapshot=" + h1, "/envs/prod/tables/raw.hidden/rows?as_of=" + q(future),
		} {
			code, body := raw(p)
			require.Equal(t, http.StatusNotFound, code, "GET %s: %s", p, body)
			_, want := raw(hide.Replace(p))
			require.Equal(t, want, hide.Replace(body), "GET %s", p)
			clean("GET "+p, hide.Replace(body))
		}
	})
}
