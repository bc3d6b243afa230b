package main

import (
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// onlineValues asks a running server for user_stats' total and country of users 1, 2 and 3 in env, as a Feast
// client would, and returns the values as "total/country" per user ("-" for a NOT_FOUND feature).
func onlineValues(t *testing.T, p *serverProc, env string) []string {
	t.Helper()
	status, body := p.post(t, "/get-online-features?env="+env, `{"features": ["user_stats:total", "user_stats:country"], "entities": {"user_id": [1, 2, 3]}}`)
	require.Equal(t, 200, status, body)
	var resp struct {
		Results []struct {
			Values   []any    `json:"values"`
			Statuses []string `json:"statuses"`
		} `json:"results"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &resp))
	out := make([]string, 3)
	for e := range out {
		for f := 1; f <= 2; f++ {
			cell := "-"
			if resp.Results[f].Statuses[e] != "NOT_FOUND" {
				cell = jsonText(resp.Results[f].Values[e])
			}
			if f == 2 {
				out[e] += "/"
			}
			out[e] += cell
		}
	}
	return out
}

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// eventually waits (well beyond the 200ms sync interval) until env serves want.
func eventually(t *testing.T, p *serverProc, env string, want []string, why string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		got := onlineValues(t, p, env)
		if equalStrings(got, want) {
			return
		}
		if time.Now().After(deadline) {
			require.Equal(t, want, got, why+"\nserver log:\n"+p.stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestServeLoadsOnlineFromFeatureTables runs `strata serve` as a real process while the CLI materializes: the
// server loads each online view's table (latest row per entity) within serving.sync_interval. In dev the latest
// snapshot is served; in prod a staged materialisation is not served until `strata release publish` pins it, and
// a rollback serves the earlier release's rows again.
func TestServeLoadsOnlineFromFeatureTables(t *testing.T) {
	for _, backend := range onlineBackends(t) {
		t.Run(backend.name, func(t *testing.T) { testServeLoadsOnline(t, backend.env) })
	}
}

func testServeLoadsOnline(t *testing.T, env []string) {
	c := featureProject(t)
	c.ok("apply")
	p := startServe(t, c, append([]string{"STRATA_SQLWIRE_ADDR=", "STRATA_SERVING_SYNC_INTERVAL=200ms"}, env...), "--addr", "127.0.0.1:0")
	none := []string{"-/-", "-/-", "-/-"}
	require.Equal(t, none, onlineValues(t, p, "dev"), "nothing is materialized yet")

	c.ok("materialize", "--env", "dev")
	eventually(t, p, "dev", []string{`10.5/"fr"`, `3.25/"de"`, "-/-"}, "dev serves the materialized table")

	// A newer row of user 1 and a new user 3: the next materialisation is served, the latest row per entity.
	c.ok("table", "import", "--env", "dev", "clean.users", c.file("more.csv", "user_id,event_ts,created_ts,total,country\n"+
		"1,2024-03-01 00:00:00,2024-03-01 00:00:00,99,es\n1,2024-02-01 00:00:00,2024-02-01 00:00:00,50,it\n3,2024-02-01 00:00:00,,1.5,it\n"))
	c.ok("materialize", "user_stats", "--env", "dev")
	eventually(t, p, "dev", []string{`99/"es"`, `3.25/"de"`, `1.5/"it"`}, "dev serves the new snapshot")

	// prod: definitions and source released; a materialisation is staged and not served.
	c.ok("table", "import", "--env", "prod", "clean.users", c.file("users.csv", featureUsersCSV), "--force")
	c.ok("release", "publish", "--env", "prod", "clean.users")
	c.ok("apply", "--env", "prod")
	c.ok("materialize", "--env", "prod", "--force")
	time.Sleep(time.Second) // five sync intervals
	require.Equal(t, none, onlineValues(t, p, "prod"), "a staged materialisation is not served")

	c.ok("release", "publish", "--env", "prod", "features.user_stats")
	eventually(t, p, "prod", []string{`10.5/"fr"`, `3.25/"de"`, "-/-"}, "the published release is served")
	var rel struct {
		ID int64 `json:"id"`
	}
	first := latestRelease(t, c)

	c.ok("table", "import", "--env", "prod", "clean.users", c.file("prod-more.csv", "user_id,event_ts,created_ts,total,country\n2,2024-05-01 00:00:00,2024-05-01 00:00:00,7,pt\n"), "--force")
	c.ok("release", "publish", "--env", "prod", "clean.users")
	c.ok("materialize", "user_stats", "--env", "prod", "--force")
	c.ok("release", "publish", "--env", "prod", "features.user_stats")
	eventually(t, p, "prod", []string{`10.5/"fr"`, `7/"pt"`, "-/-"}, "the next release is served")

	require.NoError(t, json.Unmarshal([]byte(c.ok("release", "rollback", "--env", "prod", jsonText(first), "-o", "json")), &rel))
	eventually(t, p, "prod", []string{`10.5/"fr"`, `3.25/"de"`, "-/-"}, "a rollback serves the earlier release's rows")
	require.Equal(t, []string{`99/"es"`, `3.25/"de"`, `1.5/"it"`}, onlineValues(t, p, "dev"), "dev is untouched by prod's releases")
}

func latestRelease(t *testing.T, c *cli) int64 {
	t.Helper()
	var rels []struct {
		ID int64 `json:"id"`
	}
	require.NoError(t, json.Unmarshal([]byte(c.ok("release", "list", "--env", "prod", "-o", "json")), &rels))
	require.NotEmpty(t, rels)
	var max int64
	for _, r := range rels {
		if r.ID > max {
			max = r.ID
		}
	}
	return max
}

// TestServeRestartServesRecordedSpace: a restarted `strata serve` answers its first request from the key space
// the store records as served, without waiting for a load: here the newest materialisation cannot even be read
// (its data files are moved away), so only the recorded space can answer; the failed load is logged and the
// recorded rows stay served.
func TestServeRestartServesRecordedSpace(t *testing.T) {
	for _, backend := range onlineBackends(t) {
		t.Run(backend.name, func(t *testing.T) {
			c := featureProject(t)
			c.ok("apply")
			c.ok("materialize", "--env", "dev")
			env := append([]string{"STRATA_SQLWIRE_ADDR=", "STRATA_SERVING_SYNC_INTERVAL=1h"}, backend.env...)
			p := startServe(t, c, env, "--addr", "127.0.0.1:0")
			eventually(t, p, "dev", []string{`10.5/"fr"`, `3.25/"de"`, "-/-"}, "the first run loads the table")
			require.NoError(t, p.cmd.Process.Signal(os.Interrupt))
			_ = p.cmd.Wait()

			c.ok("table", "import", "--env", "dev", "clean.users", c.file("more.csv", "user_id,event_ts,created_ts,total,country\n"+
				"3,2024-02-01 00:00:00,,1.5,it\n"))
			before := time.Now()
			c.ok("materialize", "user_stats", "--env", "dev")
			require.NotZero(t, hideNewParquet(t, c.dir, "user_stats", before), "the new snapshot's files")

			p = startServe(t, c, env, "--addr", "127.0.0.1:0")
			require.Equal(t, []string{`10.5/"fr"`, `3.25/"de"`, "-/-"}, onlineValues(t, p, "dev"), "the first request after the restart\nserver log:\n"+p.stderr.String())
			require.Eventually(t, func() bool { return strings.Contains(p.stderr.String(), "online load failed") }, 20*time.Second, 50*time.Millisecond)
			require.Equal(t, []string{`10.5/"fr"`, `3.25/"de"`, "-/-"}, onlineValues(t, p, "dev"), "a failed load keeps the recorded rows served")
		})
	}
}

// hideNewParquet renames the Parquet files under dir written since t whose path names table, and returns how
// many it moved.
func hideNewParquet(t *testing.T, dir, table string, since time.Time) int {
	t.Helper()
	n := 0
	require.NoError(t, filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".parquet") || !strings.Contains(path, table) {
			return err
		}
		info, err := d.Info()
		if err != nil || info.ModTime().Before(since) {
			return err
		}
		n++
		return os.Rename(path, path+".away")
	}))
	return n
}

// TestServeRestartAfterRollbackWhileDown: prod is rolled back while `strata serve` is down; the restarted server
// never answers with the rolled-back release's rows: its first answers are those of an instance not loaded yet
// (NOT_FOUND), then, once its first load completes, the rows of the release prod now shows.
func TestServeRestartAfterRollbackWhileDown(t *testing.T) {
	for _, backend := range onlineBackends(t) {
		t.Run(backend.name, func(t *testing.T) {
			c := featureProject(t)
			c.ok("apply")
			c.ok("table", "import", "--env", "prod", "clean.users", c.file("users.csv", featureUsersCSV), "--force")
			c.ok("release", "publish", "--env", "prod", "clean.users")
			c.ok("apply", "--env", "prod")
			c.ok("materialize", "--env", "prod", "--force")
			c.ok("release", "publish", "--env", "prod", "features.user_stats")
			first := latestRelease(t, c)
			c.ok("table", "import", "--env", "prod", "clean.users", c.file("prod-more.csv", "user_id,event_ts,created_ts,total,country\n2,2024-05-01 00:00:00,2024-05-01 00:00:00,7,pt\n"), "--force")
			c.ok("release", "publish", "--env", "prod", "clean.users")
			c.ok("materialize", "user_stats", "--env", "prod", "--force")
			c.ok("release", "publish", "--env", "prod", "features.user_stats")

			env := append([]string{"STRATA_SQLWIRE_ADDR=", "STRATA_SERVING_SYNC_INTERVAL=200ms"}, backend.env...)
			p := startServe(t, c, env, "--addr", "127.0.0.1:0")
			eventually(t, p, "prod", []string{`10.5/"fr"`, `7/"pt"`, "-/-"}, "the second release is served")
			require.NoError(t, p.cmd.Process.Signal(os.Interrupt))
			_ = p.cmd.Wait()

			c.ok("release", "rollback", "--env", "prod", jsonText(first))
			p = startServe(t, c, env, "--addr", "127.0.0.1:0")
			released, none := []string{`10.5/"fr"`, `3.25/"de"`, "-/-"}, []string{"-/-", "-/-", "-/-"}
			for deadline := time.Now().Add(20 * time.Second); ; {
				got := onlineValues(t, p, "prod")
				if equalStrings(got, released) {
					break
				}
				require.False(t, time.Now().After(deadline), "the first load did not complete\nserver log:\n"+p.stderr.String())
				require.Equal(t, none, got, "before its first load the restarted server answers NOT_FOUND, never the rolled-back rows\nserver log:\n"+p.stderr.String())
				time.Sleep(20 * time.Millisecond)
			}
			require.Contains(t, p.stderr.String(), "not served until the visible snapshot is loaded")
		})
	}
}
