package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/config"
)

// serverProc is a `strata serve` child process.
type serverProc struct {
	cmd    *exec.Cmd
	url    string // http://127.0.0.1:PORT
	stderr *syncBuffer
}

// syncBuffer is a strings.Builder that the child's stderr copier and the test can use at once.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startServe starts `strata serve args...` for c's project with extra environment variables and waits until it
// prints its URL. The process is killed when the test ends.
func startServe(t *testing.T, c *cli, env []string, args ...string) *serverProc {
	t.Helper()
	cmd := exec.Command(binPath, append([]string{"serve"}, args...)...)
	cmd.Env = append(append(os.Environ(), c.environ...), env...)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	p := &serverProc{cmd: cmd, stderr: &syncBuffer{}}
	cmd.Stderr = p.stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	base := make(chan string, 1)
	go func() {
		re := regexp.MustCompile(`Strata is running: (http://\S+)`)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				base <- m[1]
			}
		}
		close(base)
	}()
	select {
	case p.url = <-base:
	case <-time.After(2 * time.Minute):
		t.Fatalf("server did not start; stderr: %s", p.stderr.String())
	}
	require.NotEmpty(t, p.url, "stderr: %s", p.stderr.String())
	return p
}

func (p *serverProc) get(t *testing.T, path string) (int, string) {
	t.Helper()
	resp, err := http.Get(p.url + path)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// rssMB is the process's resident memory (VmRSS) in MB.
func (p *serverProc) rssMB() (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	m := regexp.MustCompile(`VmRSS:\s+(\d+) kB`).FindSubmatch(b)
	if m == nil {
		return 0, fmt.Errorf("no VmRSS in /proc/%d/status", p.cmd.Process.Pid)
	}
	kb, err := strconv.ParseInt(string(m[1]), 10, 64)
	return kb / 1024, err
}

// TestServeDemoAndGracefulShutdown runs the README's first command (serve --demo) as a real process, reads the
// demo data over HTTP, and stops it with SIGTERM.
func TestServeDemoAndGracefulShutdown(t *testing.T) {
	c := newCLI(t)
	p := startServe(t, c, nil, "--demo", "--addr", "127.0.0.1:0")
	require.Regexp(t, `^http://127\.0\.0\.1:\d+$`, p.url)

	code, body := p.get(t, "/healthz")
	require.Equal(t, 200, code)
	require.Equal(t, "ok\n", body)
	code, body = p.get(t, "/api/v1/envs/prod/tables")
	require.Equal(t, 200, code)
	for _, tbl := range []string{"clean", "orders", "users", "events"} {
		require.Contains(t, body, tbl)
	}
	code, body = p.get(t, "/api/v1/envs/prod/tables/clean.orders/rows?format=csv&limit=3")
	require.Equal(t, 200, code)
	require.Equal(t, 4, strings.Count(body, "\n"), body)
	code, body = p.get(t, "/metrics")
	require.Equal(t, 200, code)
	require.Contains(t, body, "strata_http_requests_total")
	code, body = p.get(t, "/api/v1/envs/nope/tables")
	require.Equal(t, 404, code)
	require.Contains(t, body, `"error_code"`)

	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case err := <-done:
		require.NoError(t, err, "exit after SIGTERM; stderr: %s", p.stderr.String())
	case <-time.After(30 * time.Second):
		t.Fatal("server did not stop within 30s of SIGTERM")
	}
	require.Contains(t, p.stderr.String(), "shutting down")
}

// TestServeRefusesRemoteAddressWithoutAllowRemote: an address other machines reach needs --allow-remote,
// since nothing authenticates requests yet; the error says what to do.
func TestServeRefusesRemoteAddressWithoutAllowRemote(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	c.file("strata.yaml", "project: test\n") // a project, with no store opened yet
	errText := c.fail(exitUsage, "serve", "--addr", "0.0.0.0:0")
	require.Contains(t, errText, "reachable from other machines")
	require.Contains(t, errText, "--allow-remote")
	require.Contains(t, errText, "127.0.0.1:8080")
	// Nothing was set up for a server that did not start.
	_, err := os.Stat(filepath.Join(c.dir, "strata-data", "meta.db"))
	require.True(t, os.IsNotExist(err), "serve opened the stores before refusing the address")

	c = newCLI(t, "STRATA_SERVER_ADDR=:0")
	c.file("strata.yaml", "project: test\n")
	require.Contains(t, c.fail(exitUsage, "serve"), "--allow-remote")
}

// TestServeAllowRemoteWarns: with --allow-remote the server listens on every interface and logs a warning
// that nothing authenticates its callers.
func TestServeAllowRemoteWarns(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	c.file("strata.yaml", "project: test\n") // a project, with no store opened yet
	p := startServe(t, c, []string{"STRATA_LOG_FORMAT=json"}, "--addr", "0.0.0.0:0", "--allow-remote")
	code, _ := p.get(t, "/healthz")
	require.Equal(t, 200, code)
	var warned bool
	for _, line := range strings.Split(p.stderr.String(), "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) == nil && rec["level"] == "WARN" &&
			strings.Contains(fmt.Sprint(rec["msg"]), "without authentication") {
			warned = true
			require.NotEmpty(t, rec["addr"])
		}
	}
	require.True(t, warned, "no warning about listening without authentication; stderr: %s", p.stderr.String())
}

// TestServeSlowClientsKeepMemoryBounded: clients that stop reading a large row stream lose it after
// server.write_timeout (freeing its query and its stream slot), streams above server.max_streams get 503 with
// Retry-After, and 200 clients reading at ~20 KB/s keep the server's RSS under 500 MB while /healthz and a
// normal request answer in time. Without these limits 20 stalled clients held 375 MB and 200 slow readers
// pushed RSS to 2.6 GB.
func TestServeSlowClientsKeepMemoryBounded(t *testing.T) {
	t.Parallel()
	maxStreams := config.Default("").Server.MaxStreams // the default is what is tested
	const (
		writeTimeout = 6 * time.Second // long enough that setting up the stalled clients on a loaded machine does not outlast it
		slowClients  = 200
		slowFor      = 10 * time.Second
		rssLimitMB   = 500
		answerWithin = 8 * time.Second
	)
	c := newCLI(t)
	c.file("strata.yaml", "project: test\n") // a project, with no store opened yet
	// 400,000 rows, ~31 MB of CSV: a stream that buffered the table would show at once.
	var b strings.Builder
	b.WriteString("id,name,amount,note\n")
	for i := 0; i < 400_000; i++ {
		fmt.Fprintf(&b, "%d,user_%d,%d.%02d,a longer text field for row %d to widen it\n", i, i%9973, i/100, i%100, i)
	}
	c.ok("table", "import", "--env", "dev", "raw.big", c.file("big.csv", b.String()))
	p := startServe(t, c, []string{"STRATA_SERVER_WRITE_TIMEOUT=" + writeTimeout.String()}, "--addr", "127.0.0.1:0")
	host := strings.TrimPrefix(p.url, "http://")
	const rows = "/api/v1/envs/dev/tables/raw.big/rows?format=csv"

	var peak int64
	stopSampling := make(chan struct{})
	sampled := make(chan error, 1)
	go func() {
		for {
			mb, err := p.rssMB()
			if err != nil {
				sampled <- err
				return
			}
			peak = max(peak, mb)
			select {
			case <-stopSampling:
				sampled <- nil
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()

	// Stalled clients take every stream slot, then stop reading.
	var stalled []*slowConn
	for i := 0; i < maxStreams; i++ {
		sc, err := dialSlow(host, rows)
		require.NoError(t, err)
		require.Equal(t, 200, sc.status, "stalled client %d", i)
		stalled = append(stalled, sc)
	}
	over, err := dialSlow(host, rows)
	require.NoError(t, err)
	over.conn.Close()
	require.Equal(t, 503, over.status, "a stream above server.max_streams")
	require.NotEmpty(t, over.header.Get("Retry-After"))
	// After the write timeout their streams are gone and a new one is served.
	deadline := time.Now().Add(writeTimeout + 10*time.Second)
	var code int
	for {
		code, _ = p.get(t, "/api/v1/envs/dev/tables/raw.big/rows?format=csv&limit=3")
		if code == 200 || time.Now().After(deadline) {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	require.Equal(t, 200, code, "stalled clients still hold every stream %s after the write timeout", writeTimeout)
	for _, sc := range stalled {
		sc.conn.Close()
	}

	// 200 slow readers at ~20 KB/s.
	var wg sync.WaitGroup
	var served, refused, noRetryAfter atomic.Int64
	failures := make(chan error, slowClients)
	for i := 0; i < slowClients; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sc, err := dialSlow(host, rows)
			if err != nil {
				failures <- err
				return
			}
			defer sc.conn.Close()
			switch sc.status {
			case 200:
				served.Add(1)
				sc.readSlowly(slowFor)
			case 503:
				refused.Add(1)
				if sc.header.Get("Retry-After") == "" {
					noRetryAfter.Add(1)
				}
			}
		}()
	}
	// Meanwhile the probes and an ordinary request answer in time.
	for end := time.Now().Add(slowFor - time.Second); time.Now().Before(end); time.Sleep(time.Second) {
		for _, path := range []string{"/healthz", "/api/v1/envs/dev/tables/raw.big"} {
			start := time.Now()
			code, body := p.get(t, path)
			require.Equal(t, 200, code, "%s: %s", path, body)
			require.Less(t, time.Since(start), answerWithin, "%s took too long under load", path)
		}
	}
	wg.Wait()
	close(stopSampling)
	require.NoError(t, <-sampled)
	close(failures)
	for err := range failures {
		require.NoError(t, err, "a slow client")
	}
	require.Equal(t, int64(slowClients), served.Load()+refused.Load())
	require.LessOrEqual(t, served.Load(), int64(maxStreams))
	require.Positive(t, refused.Load())
	require.Positive(t, served.Load())
	require.Zero(t, noRetryAfter.Load(), "every 503 carries Retry-After")
	t.Logf("peak RSS %d MB; %d streams served, %d refused", peak, served.Load(), refused.Load())
	require.Less(t, peak, int64(rssLimitMB), "server RSS under slow clients")
}

// slowConn is a raw HTTP/1.1 client with a tiny receive buffer, so a server write blocks as soon as it stops
// reading.
type slowConn struct {
	conn   net.Conn
	r      *bufio.Reader
	status int
	header http.Header
}

func dialSlow(host, path string) (*slowConn, error) {
	d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		return rc.Control(func(fd uintptr) {
			_ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
		})
	}}
	conn, err := d.Dial("tcp", host)
	if err != nil {
		return nil, err
	}
	if _, err = fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: %s\r\n\r\n", path, host); err != nil {
		conn.Close()
		return nil, err
	}
	sc := &slowConn{conn: conn, r: bufio.NewReaderSize(conn, 1024)}
	_ = conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	resp, err := http.ReadResponse(sc.r, nil)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("read the response head: %w", err)
	}
	sc.status, sc.header = resp.StatusCode, resp.Header
	_ = conn.SetReadDeadline(time.Time{})
	return sc, nil
}

// readSlowly reads about 1 KB every 50 ms for d.
func (sc *slowConn) readSlowly(d time.Duration) {
	buf := make([]byte, 1024)
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if _, err := sc.r.Read(buf); err != nil {
			return
		}
	}
}

// TestServeRefusesBrowserAttacks: against the real MLflow routes of `strata serve`, a web page on another origin
// cannot create an experiment with a text/plain POST (no CORS preflight), and a page reached through DNS
// rebinding (a foreign Host) cannot read; the mlflow client's own requests (no Origin) still work.
func TestServeRefusesBrowserAttacks(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	c.file("strata.yaml", "project: test\n") // a project, with no store opened yet
	p := startServe(t, c, nil, "--addr", "127.0.0.1:0")
	post := func(name string, header map[string]string) (int, string) {
		req, err := http.NewRequest(http.MethodPost, p.url+"/api/2.0/mlflow/experiments/create", strings.NewReader(`{"name":"`+name+`"}`))
		require.NoError(t, err)
		for k, v := range header {
			if k == "Host" {
				req.Host = v
			} else {
				req.Header.Set(k, v)
			}
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, body := post("from-evil", map[string]string{"Origin": "http://evil.example", "Content-Type": "text/plain"})
	require.Equal(t, http.StatusForbidden, code, body)
	code, body = post("rebound", map[string]string{"Host": "evil.example:8080", "Content-Type": "application/json"})
	require.Equal(t, http.StatusForbidden, code, body)
	code, body = post("same-origin", map[string]string{"Origin": p.url, "Content-Type": "application/json"})
	require.Equal(t, http.StatusOK, code, body)
	code, body = post("client", map[string]string{"Content-Type": "application/json"})
	require.Equal(t, http.StatusOK, code, body)

	code, body = p.get(t, "/api/2.0/mlflow/experiments/search?max_results=100")
	require.Equal(t, http.StatusOK, code, body)
	require.Contains(t, body, `"same-origin"`)
	require.Contains(t, body, `"client"`)
	require.NotContains(t, body, "from-evil")
	require.NotContains(t, body, "rebound")
}
