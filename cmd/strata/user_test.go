package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
)

// strataIn runs the built binary in c's project with stdin (the way a password is piped in).
func (c *cli) strataIn(stdin string, args ...string) (string, string, int) {
	c.t.Helper()
	cmd := exec.Command(binPath, args...)
	cmd.Env = append(os.Environ(), c.environ...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else {
		require.NoError(c.t, err)
	}
	return out.String(), errb.String(), code
}

// TestUserAndTokenCommands: users get roles per environment with passwords piped on stdin (never flags);
// tokens are printed once and listed without their secret.
func TestUserAndTokenCommands(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	c.ok("init")
	out, errText, code := c.strataIn("ana-password\n", "user", "add", "ana", "--role", "developer", "--env", "dev", "--password-stdin")
	require.Equal(t, 0, code, errText)
	require.Equal(t, "added user ana: dev=developer\n", out)
	out, errText, code = c.strataIn("vic-password\n", "user", "add", "vic", "--password-stdin")
	require.Equal(t, 0, code, errText)
	require.Equal(t, "added user vic: *=viewer\n", out)

	for _, bad := range []struct {
		stdin string
		args  []string
		code  int
		msg   string
	}{
		{"x-password\n", []string{"user", "add", "ana", "--password-stdin"}, exitConflict, `user "ana": already exists`},
		{"short\n", []string{"user", "add", "bob", "--password-stdin"}, exitUsage, "at least 8 characters"},
		{"x-password\n", []string{"user", "add", "bob", "--env", "nope", "--password-stdin"}, exitNotFound, "nope"},
		{"x-password\n", []string{"user", "add", "bob", "--role", "owner", "--password-stdin"}, exitUsage, "use viewer, developer or admin"},
		{"x-password\n", []string{"user", "add", "bob"}, exitUsage, "--password-stdin"},
		{"x-password\n", []string{"user", "add", "bob", "--password", "x"}, exitUsage, "unknown flag: --password"},
		{"", []string{"user", "grant", "nobody", "--env", "dev", "--role", "admin"}, exitNotFound, `user "nobody"`},
		{"", []string{"user", "revoke", "ana", "--env", "prod"}, exitNotFound, `has no role in "prod"`},
		{"", []string{"token", "create"}, exitUsage, "--user"},
		{"", []string{"token", "create", "--user", "ana", "--expires", "soon"}, exitUsage, "30d"},
		{"", []string{"token", "revoke", "abc"}, exitNotFound, `token "abc"`},
	} {
		_, errText, code := c.strataIn(bad.stdin, bad.args...)
		require.Equal(t, bad.code, code, "%v: %s", bad.args, errText)
		require.Contains(t, errText, bad.msg, bad.args)
	}

	require.Equal(t, "granted ana: dev=developer,prod=viewer\n", c.ok("user", "grant", "ana", "--env", "prod", "--role", "viewer"))
	require.Equal(t, "revoked; now ana: dev=developer\n", c.ok("user", "revoke", "ana", "--env", "prod", "--role", "viewer"))
	golden(t, "user_list", normalize(c.ok("user", "list"), c.dir))
	var users []map[string]any
	require.NoError(t, json.Unmarshal([]byte(c.ok("user", "list", "-o", "json")), &users))
	require.Len(t, users, 2)
	require.NotContains(t, c.ok("user", "list", "-o", "json"), "verifier")

	_, errText, code = c.strataIn("new-password\n", "user", "passwd", "ana", "--password-stdin")
	require.Equal(t, 0, code, errText)

	var tok struct {
		Token, ID, User string
		Expires         *string
	}
	require.NoError(t, json.Unmarshal([]byte(c.ok("token", "create", "--user", "ana", "--name", "ci", "-o", "json")), &tok))
	require.Regexp(t, `^strata_[0-9a-f]{12}_[0-9a-f]{48}$`, tok.Token)
	require.NotNil(t, tok.Expires, "90 days by default")
	list := c.ok("token", "list")
	require.Contains(t, list, tok.ID)
	require.NotContains(t, list, tok.Token)
	require.NotContains(t, c.ok("token", "list", "-o", "json"), tok.Token[20:])
	require.Equal(t, "revoked token "+tok.ID+"\n", c.ok("token", "revoke", tok.ID))
	require.NotContains(t, c.ok("token", "list"), tok.ID)
	require.Equal(t, "removed user vic and its tokens\n", c.ok("user", "rm", "vic"))
	require.NotContains(t, c.ok("user", "list"), "vic")
}

// TestServeAuthenticates: once a user exists, `strata serve` asks HTTP clients for a token or password and
// PostgreSQL clients for a SCRAM password, and applies the user's roles.
func TestServeAuthenticates(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	c.ok("init")
	c.ok("demo")
	_, errText, code := c.strataIn("ana-password\n", "user", "add", "ana", "--role", "viewer", "--env", "prod", "--password-stdin")
	require.Equal(t, 0, code, errText)
	var tok struct{ Token string }
	require.NoError(t, json.Unmarshal([]byte(c.ok("token", "create", "--user", "ana", "-o", "json")), &tok))
	port := freePort(t)
	p := startServe(t, c, []string{"STRATA_SQLWIRE_ADDR=127.0.0.1:" + port}, "--addr", "127.0.0.1:0")

	status, _ := p.get(t, "/api/v1/envs")
	require.Equal(t, http.StatusUnauthorized, status)
	status, _ = p.get(t, "/healthz")
	require.Equal(t, http.StatusOK, status)
	req, _ := http.NewRequest("GET", p.url+"/api/v1/envs", nil)
	req.Header.Set("Authorization", "Bearer "+tok.Token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	require.JSONEq(t, `["prod"]`, envNames(t, body))
	req, _ = http.NewRequest("GET", p.url+"/api/v1/envs/dev/tables", nil)
	req.SetBasicAuth("ana", "ana-password")
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	_ = resp.Body.Close()
	require.Equal(t, http.StatusForbidden, resp.StatusCode)

	psql := func(user, password string) (string, error) {
		cmd := exec.Command("/usr/bin/psql", "-X", "-w", "-A", "-t", "-h", "127.0.0.1", "-p", port, "-U", user, "-d", "prod",
			"-c", "SELECT count(*) > 0 FROM clean.orders")
		cmd.Env = append(os.Environ(), "PGPASSWORD="+password)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	out, err := psql("me", "")
	require.Error(t, err)
	require.Contains(t, out, "no password supplied")
	out, err = psql("me", "guess-password")
	require.Error(t, err)
	require.Contains(t, out, `password authentication failed for user "me"`)
	out, err = psql("ana", "ana-password")
	require.NoError(t, err, out)
	require.Equal(t, "t\n", out)
	conn, err := pgx.Connect(context.Background(), "postgres://ana:ana-password@127.0.0.1:"+port+"/prod?sslmode=disable")
	require.NoError(t, err)
	defer func() { _ = conn.Close(context.Background()) }()
	var n int64
	require.NoError(t, conn.QueryRow(context.Background(), "SELECT count(*) FROM clean.orders").Scan(&n))
	require.Positive(t, n)
}

func envNames(t *testing.T, body []byte) string {
	t.Helper()
	var v struct {
		Envs []struct{ Name string } `json:"envs"`
	}
	require.NoError(t, json.Unmarshal(body, &v))
	names := []string{}
	for _, e := range v.Envs {
		names = append(names, e.Name)
	}
	b, _ := json.Marshal(names)
	return string(b)
}

// pipeStdin makes os.Stdin (what an in-process command's --password-stdin reads) a file holding text, until
// the test ends. Only the user commands read standard input.
func pipeStdin(t *testing.T, text string) {
	t.Helper()
	f, err := os.CreateTemp(t.TempDir(), "stdin")
	require.NoError(t, err)
	_, err = f.WriteString(text)
	require.NoError(t, err)
	_, err = f.Seek(0, io.SeekStart)
	require.NoError(t, err)
	old := os.Stdin
	os.Stdin = f
	t.Cleanup(func() { os.Stdin = old; _ = f.Close() })
}

// firstToken is the id of the first token `strata token list` shows.
func firstToken(t *testing.T, c *cli) string {
	t.Helper()
	var list []struct{ ID string }
	require.NoError(t, json.Unmarshal([]byte(c.ok("token", "list", "-o", "json")), &list))
	require.NotEmpty(t, list)
	return list[0].ID
}

// TestUserAddAsksOnTerminal: on a terminal (util-linux script gives the command a pseudo-terminal) the
// password is asked twice without echo; two different answers change nothing.
func TestUserAddAsksOnTerminal(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	c.ok("init")
	typeIn := func(answers ...string) (string, error) {
		cmd := exec.Command("script", "-q", "-e", "-c", binPath+" user add tty --role viewer", "/dev/null")
		cmd.Env = append(os.Environ(), c.environ...)
		cmd.Dir = c.dir
		in, err := cmd.StdinPipe()
		require.NoError(t, err)
		out := &syncBuffer{}
		cmd.Stdout, cmd.Stderr = out, out
		require.NoError(t, cmd.Start())
		for i, a := range answers {
			prompt := []string{"Password: ", "Repeat the password: "}[i]
			deadline := time.Now().Add(30 * time.Second)
			for !strings.Contains(out.String(), prompt) && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
			_, err := io.WriteString(in, a+"\n")
			require.NoError(t, err)
		}
		err = cmd.Wait()
		return out.String(), err
	}
	out, err := typeIn("tty-password", "tty-passw0rd")
	require.Error(t, err)
	require.Contains(t, out, "the two passwords differ; nothing was changed")
	require.NotContains(t, c.ok("user", "list"), "tty")

	out, err = typeIn("tty-password", "tty-password")
	require.NoError(t, err, out)
	require.Contains(t, out, "added user tty: *=viewer")
	require.NotContains(t, out, "tty-password", "the password is not echoed")
}
