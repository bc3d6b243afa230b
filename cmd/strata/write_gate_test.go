package main

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/demo"
	"github.com/strata-data/strata/errs"
	"github.com/strata-data/strata/internal/testenv"
	"github.com/strata-data/strata/meta"
)

// runErr runs one command line in process and returns the error the command returned (before exit codes).
func (c *cli) runErr(args ...string) error {
	var out, errb bytes.Buffer
	a := newApp(&out, &errb, c.environ)
	defer a.close()
	root := a.rootCmd()
	root.SetArgs(args)
	root.SetOut(&out)
	root.SetErr(&errb)
	return root.ExecuteContext(context.Background())
}

// withApp opens the project's services for a test that calls a domain package directly.
func (c *cli) withApp(fn func(a *app)) {
	c.t.Helper()
	var out, errb bytes.Buffer
	a := newApp(&out, &errb, c.environ)
	a.projectDir = c.dir
	defer a.close()
	require.NoError(c.t, a.open(context.Background()))
	fn(a)
}

// lakeSnapshots counts every snapshot of every table in dev and prod, as the lake holds them (not as readers
// see them): a write that left no snapshot leaves this unchanged.
func lakeSnapshots(t *testing.T, c *cli) int {
	t.Helper()
	n := 0
	c.withApp(func(a *app) {
		ctx := context.Background()
		for _, env := range []string{"dev", "prod"} {
			list, err := a.lake.ListTables(ctx, env, "")
			require.NoError(t, err)
			for _, tbl := range list {
				info, err := a.lake.Describe(ctx, env, tbl.Ident)
				require.NoError(t, err)
				n += len(info.Snapshots)
			}
		}
	})
	return n
}

// breakAudit makes every insert into the project's audit log fail, as a full disk or a revoked grant would.
func breakAudit(t *testing.T, c *cli) {
	t.Helper()
	c.withApp(func(a *app) {
		stmts := []string{`CREATE TRIGGER strata_audit_fails BEFORE INSERT ON strata_audit
			BEGIN SELECT RAISE(ABORT, 'the audit log is unavailable'); END`}
		if a.db.Dialect == meta.Postgres {
			stmts = []string{
				`CREATE FUNCTION strata_audit_fails() RETURNS trigger AS $$
					BEGIN RAISE EXCEPTION 'the audit log is unavailable'; END $$ LANGUAGE plpgsql`,
				`CREATE TRIGGER strata_audit_fails BEFORE INSERT ON strata_audit FOR EACH ROW EXECUTE FUNCTION strata_audit_fails()`,
			}
		}
		for _, s := range stmts {
			_, err := a.db.SQL.ExecContext(context.Background(), s)
			require.NoError(t, err)
		}
	})
}

func auditActions(t *testing.T, c *cli, env string) map[string][]json.RawMessage {
	t.Helper()
	var list []struct {
		Action string          `json:"action"`
		Detail json.RawMessage `json:"detail"`
	}
	require.NoError(t, json.Unmarshal([]byte(c.ok("env", "audit", env, "-o", "json")), &list))
	out := map[string][]json.RawMessage{}
	for _, e := range list {
		out[e.Action] = append(out[e.Action], e.Detail)
	}
	return out
}

// TestProdWriteGate runs a prod write through every entry point that writes tables: without force each is
// refused with the same kind, with force each is audited, and when the audit log cannot be written each fails
// and leaves no snapshot.
func TestProdWriteGate(t *testing.T) {
	entries := []struct {
		name    string
		write   func(c *cli, force bool) error
		audited []string // audit actions a forced write records in prod
	}{
		{"cli import", func(c *cli, force bool) error {
			args := []string{"table", "import", "--env", "prod", "raw.orders", c.file("orders.csv", ordersCSV)}
			if force {
				args = append(args, "--force")
			}
			return c.runErr(args...)
		}, []string{"table.import.forced"}},
		{"demo loader", func(c *cli, force bool) error {
			var err error
			c.withApp(func(a *app) {
				err = demo.LoadWith(context.Background(), a.envs, demo.Options{Actor: "tester", Force: force})
			})
			return err
		}, []string{"env.clone", "release.publish"}},
	}
	for _, b := range testenv.Backends() {
		for _, e := range entries {
			t.Run(b.Name+"/"+e.name, func(t *testing.T) {
				t.Parallel()
				project := func() *cli {
					var env []string
					if b.Name == "postgres" {
						env = append(env, "STRATA_META_DSN="+b.DSN(t))
					}
					c := newCLI(t, env...)
					c.ok("init")
					return c
				}

				c := project()
				err := e.write(c, false)
				require.Equal(t, errs.Forbidden, errs.KindOf(err), "%v", err)
				require.Equal(t, 0, lakeSnapshots(t, c), "a refused write writes nothing")

				require.NoError(t, e.write(c, true))
				audit := auditActions(t, c, "prod")
				for _, action := range e.audited {
					require.NotEmpty(t, audit[action], "audit entry %s", action)
				}
				for _, d := range audit["table.import.forced"] {
					var detail struct{ State string }
					require.NoError(t, json.Unmarshal(d, &detail))
					require.Equal(t, "committed", detail.State)
				}

				broken := project()
				breakAudit(t, broken)
				err = e.write(broken, true)
				require.ErrorContains(t, err, "the audit log is unavailable")
				require.Equal(t, 0, lakeSnapshots(t, broken), "no snapshot without its audit entry")
			})
		}
	}
}

func TestProdWriteRefusalHint(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	c.ok("init")
	errs := c.fail(exitConflict, "table", "import", "--env", "prod", "raw.orders", c.file("orders.csv", ordersCSV))
	require.Contains(t, errs, "error: environment prod: not allowed")
	require.Contains(t, errs, "hint: an admin may write a prod environment directly with --force")
	errs = c.fail(exitNotFound, "table", "list", "--env", "staging")
	require.Contains(t, errs, "hint: create it with `strata env create staging`")
	out := c.ok("table", "import", "--env", "prod", "raw.orders", c.file("orders.csv", ordersCSV), "--force")
	require.Contains(t, out, "created prod.raw.orders: 3 rows")
	require.Contains(t, out, "prod readers see it once a release pins it")
	errs = c.fail(exitNotFound, "table", "preview", "--env", "prod", "raw.orders")
	require.Contains(t, errs, "hint: publish it with `strata release publish --env prod raw.orders`")
}
