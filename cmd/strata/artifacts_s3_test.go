package main

import (
	"bufio"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/stretchr/testify/require"
)

// TestServeWithS3Artifacts runs `strata serve` with artifacts.root on S3-compatible storage (an in-process S3
// on loopback) and moves an artifact through MLflow's proxied artifact API: upload, list, download, delete.
func TestServeWithS3Artifacts(t *testing.T) {
	backend := s3mem.New()
	require.NoError(t, backend.CreateBucket("artifacts"))
	s3srv := httptest.NewServer(gofakes3.New(backend).Server())
	defer s3srv.Close()

	c := newCLI(t)
	cmd := exec.Command(binPath, "serve", "--addr", "127.0.0.1:0")
	cmd.Env = append(append(os.Environ(), c.environ...),
		"STRATA_ARTIFACTS_ROOT=s3://artifacts/mlflow?endpoint="+s3srv.URL+"&region=us-east-1",
		"AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test")
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
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
	var url string
	select {
	case url = <-base:
	case <-time.After(2 * time.Minute):
		t.Fatalf("server did not start; stderr: %s", stderr.String())
	}
	require.NotEmpty(t, url, "stderr: %s", stderr.String())

	do := func(method, path string, body io.Reader) (int, string) {
		req, err := http.NewRequest(method, url+"/api/2.0/mlflow-artifacts/artifacts"+path, body)
		require.NoError(t, err)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, body := do(http.MethodPut, "/1/run1/artifacts/model/weights.bin", strings.NewReader("0123456789"))
	require.Equal(t, 200, code, body)
	// The object is in the bucket, under the configured prefix.
	obj, err := backend.GetObject("artifacts", "mlflow/1/run1/artifacts/model/weights.bin", nil)
	require.NoError(t, err)
	got, _ := io.ReadAll(obj.Contents)
	require.Equal(t, "0123456789", string(got))

	code, body = do(http.MethodGet, "?path=1/run1/artifacts/model", nil)
	require.Equal(t, 200, code, body)
	require.Contains(t, body, `"weights.bin"`)
	require.Contains(t, body, `"file_size":10`)
	code, body = do(http.MethodGet, "/1/run1/artifacts/model/weights.bin", nil)
	require.Equal(t, 200, code)
	require.Equal(t, "0123456789", body)
	code, _ = do(http.MethodDelete, "/1/run1/artifacts/model/weights.bin", nil)
	require.Equal(t, 200, code)
	code, _ = do(http.MethodGet, "/1/run1/artifacts/model/weights.bin", nil)
	require.Equal(t, 404, code)
	code, body = do(http.MethodGet, "/1/run1/..%2F..%2Fsecret", nil)
	require.Equal(t, 400, code, body)
}
