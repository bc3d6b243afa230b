//go:build duckdb_arrow

package feastapi_test

import (
	"bufio"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/auth"
	"github.com/strata-data/strata/feastapi"
	"github.com/strata-data/strata/server"
)

// fastPair serves the same feature serving twice through the server package, with its connection-level fast
// path for POST /get-online-features and without it (net/http alone), with users (credentials required), a
// body limit of 4 KiB, at most 50 entities and short header and idle timeouts. It returns the two addresses and
// a viewer's token in prod.
func fastPair(t *testing.T) (fast, slow, token string) {
	f := newFixture(t, feastapi.Options{})
	f.userStats(t, "prod/user_stats", []any{1, now, nil, 1.5, "fr", 1}, []any{2, now, nil, nil, "de", 2})
	users := auth.New(f.db, auth.Options{})
	require.NoError(t, users.AddUser(f.ctx, "vic", "a-long-password", []auth.Grant{{Env: "prod", Role: auth.Viewer}}))
	token, _, err := users.CreateToken(f.ctx, "vic", "test", time.Hour)
	require.NoError(t, err)
	feast := feastapi.New(feastapi.Options{Defs: f.reg, Store: f.store, Envs: f.envs, Now: func() time.Time { return now },
		MaxBodyBytes: 4096, MaxEntities: 50})
	serve := func(noFast bool) string {
		srv, err := server.New(server.Deps{DB: f.db, Envs: f.envs, Engine: f.eng, Auth: users,
			Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Mounts: []func(chi.Router){feast.Mount}},
			server.Options{Addr: "127.0.0.1:0", WriteTimeout: 5 * time.Second, ReadHeaderTimeout: 400 * time.Millisecond,
				IdleTimeout: 400 * time.Millisecond, NoFastPath: noFast})
		require.NoError(t, err)
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- srv.Serve(ctx, ln, 2*time.Second) }()
		t.Cleanup(func() { cancel(); require.NoError(t, <-done) })
		return ln.Addr().String()
	}
	return serve(false), serve(true), token
}

// exchange sends the pieces of raw on a new connection (pausing between them) and returns every response it
// reads, Date removed, then how the connection ended: "open" (still open after the last expected answer),
// "closed", or the read error.
func exchange(t *testing.T, addr string, want int, pieces ...string) []string {
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer c.Close()
	for i, p := range pieces {
		if i > 0 {
			time.Sleep(30 * time.Millisecond)
		}
		_, err := io.WriteString(c, p)
		require.NoError(t, err)
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(c)
	var out []string
	for range want {
		resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodPost})
		if err != nil {
			out = append(out, "read error: "+err.Error())
			return out
		}
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		resp.Header.Del("Date")
		var hs []string
		for k, v := range resp.Header {
			hs = append(hs, k+": "+strings.Join(v, ", "))
		}
		slices.Sort(hs)
		out = append(out, fmt.Sprintf("%s\n%s\nlength %d, chunked %v\n%s", resp.Status, strings.Join(hs, "\n"), resp.ContentLength,
			slices.Contains(resp.TransferEncoding, "chunked"), body))
	}
	_ = c.SetReadDeadline(time.Now().Add(150 * time.Millisecond))
	_, err = br.ReadByte()
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout():
		out = append(out, "open")
	case errors.Is(err, io.EOF), errors.Is(err, net.ErrClosed), errors.Is(err, os.ErrDeadlineExceeded), isReset(err):
		out = append(out, "closed")
	case err == nil:
		out = append(out, "more bytes")
	default:
		out = append(out, "end: "+err.Error())
	}
	return out
}

func isReset(err error) bool { return err != nil && strings.Contains(err.Error(), "connection reset") }

func post(path, host string, headers []string, body string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "POST %s HTTP/1.1\r\nHost: %s\r\n", path, host)
	for _, h := range headers {
		b.WriteString(h + "\r\n")
	}
	fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n%s", len(body), body)
	return b.String()
}

// TestFastPathAnswersAsNetHTTP sends the same bytes to the fast path and to net/http and requires the same
// answers — status, headers but Date, body, framing — and the same connection fate: valid requests on every
// route form (one of 50 entities, whose shared lists go by reference), bad JSON, unknown features, missing,
// wrong and insufficient credentials, oversized bodies (kept and dropped connections), too many entities, foreign
// Host and cross-origin requests, lower-case header names, pipelined requests, another route or method on the
// same connection after a fast request (and before), requests the fast path hands off (HTTP/1.0, Connection:
// close, Expect, chunked, no Host, a long head), and requests split across TCP writes.
func TestFastPathAnswersAsNetHTTP(t *testing.T) {
	fast, slow, token := fastPair(t)
	auth := "Authorization: Bearer " + token
	basic := "Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte("vic:a-long-password"))
	get := `{"features":["user_stats:total","user_stats:country"],"entities":{"user_id":[1,2,3]}}`
	big := `{"features":["user_stats:total"],"entities":{"user_id":[` + strings.Repeat("1,", 2500) + `1]}}`
	huge := `{"features":["user_stats:total"],"entities":{"user_id":[` + strings.Repeat("1,", 150_000) + `1]}}`
	many := `{"features":["user_stats:total"],"entities":{"user_id":[` + strings.Repeat("1,", 60) + `1]}}`
	// 50 entities: the lists of timestamps and PRESENT statuses are sent by reference, in one writev of pieces.
	fifty := `{"features":["user_stats:country","user_stats:n","user_stats:total"],"entities":{"user_id":[` + strings.Repeat("1,2,", 24) + `1,3]}}`
	healthz := "GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n"
	envsList := "GET /api/v1/envs HTTP/1.1\r\nHost: localhost\r\n" + auth + "\r\n\r\n"
	cases := []struct {
		name   string
		want   int // answers to read
		pieces []string
	}{
		{"valid", 1, []string{post("/get-online-features?env=prod", "localhost", []string{auth, "Content-Type: application/json"}, get)}},
		{"default env", 1, []string{post("/get-online-features", "127.0.0.1", []string{auth}, get)}},
		{"path env", 1, []string{post("/feast/prod/get-online-features", "localhost", []string{auth}, get)}},
		{"header env", 1, []string{post("/get-online-features", "localhost", []string{auth, "X-Strata-Env: prod"}, get)}},
		{"basic auth", 1, []string{post("/get-online-features", "localhost", []string{basic}, get)}},
		{"envs disagree", 1, []string{post("/feast/prod/get-online-features?env=dev", "localhost", []string{auth}, get)}},
		{"unknown query", 1, []string{post("/get-online-features?x=1", "localhost", []string{auth}, get)}},
		{"bad json", 2, []string{post("/get-online-features", "localhost", []string{auth}, `{"features":[`), healthz}},
		{"unknown feature", 1, []string{post("/get-online-features", "localhost", []string{auth}, `{"features":["user_stats:nope"],"entities":{"user_id":[1]}}`)}},
		{"no credentials", 2, []string{post("/get-online-features", "localhost", nil, get), healthz}},
		{"wrong token", 1, []string{post("/get-online-features", "localhost", []string{"Authorization: Bearer nope"}, get)}},
		{"wrong password", 1, []string{post("/get-online-features", "localhost", []string{"Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte("vic:wrong-password"))}, get)}},
		{"other scheme", 1, []string{post("/get-online-features", "localhost", []string{"Authorization: Digest x"}, get)}},
		{"no role in env", 1, []string{post("/get-online-features?env=dev", "localhost", []string{auth}, get)}},
		{"oversized kept", 2, []string{post("/get-online-features", "localhost", []string{auth}, big), healthz}},
		{"oversized dropped", 1, []string{post("/get-online-features", "localhost", []string{auth}, huge)}},
		{"unauthenticated oversized", 2, []string{post("/get-online-features", "localhost", nil, big), healthz}},
		{"fifty entities", 2, []string{post("/get-online-features", "localhost", []string{auth}, fifty) + healthz}},
		{"too many entities", 1, []string{post("/get-online-features", "localhost", []string{auth}, many)}},
		{"empty body", 1, []string{post("/get-online-features", "localhost", []string{auth}, "")}},
		{"foreign host", 1, []string{post("/get-online-features", "evil.example", []string{auth}, get)}},
		{"cross origin", 1, []string{post("/get-online-features", "localhost", []string{auth, "Origin: https://evil.example", "Sec-Fetch-Site: cross-site"}, get)}},
		{"lower-case headers", 1, []string{"POST /get-online-features HTTP/1.1\r\nhost: localhost\r\nauthorization: Bearer " + token +
			"\r\ncontent-length: " + fmt.Sprint(len(get)) + "\r\nx-strata-env:   prod  \r\n\r\n" + get}},
		{"keep-alive header", 1, []string{post("/get-online-features", "localhost", []string{auth, "Connection: keep-alive"}, get)}},
		{"pipelined", 3, []string{post("/get-online-features", "localhost", []string{auth}, get) + post("/get-online-features", "localhost", []string{auth}, `{"features":["user_stats:n"],"entities":{"user_id":[2]}}`) + healthz}},
		{"other routes after", 4, []string{post("/get-online-features", "localhost", []string{auth}, get), envsList + post("/push", "localhost", []string{auth}, `{}`) + post("/get-online-features", "localhost", []string{auth}, get)}},
		{"other route before", 2, []string{healthz, post("/get-online-features", "localhost", []string{auth}, get)}},
		{"unknown route", 1, []string{post("/get-online-featuresx", "localhost", []string{auth}, get)}},
		{"GET on the route", 1, []string{"GET /get-online-features HTTP/1.1\r\nHost: localhost\r\n" + auth + "\r\n\r\n"}},
		{"HTTP/1.0", 1, []string{strings.Replace(post("/get-online-features", "localhost", []string{auth}, get), "HTTP/1.1", "HTTP/1.0", 1)}},
		{"connection close", 1, []string{post("/get-online-features", "localhost", []string{auth, "Connection: close"}, get)}},
		{"expect continue", 2, []string{post("/get-online-features", "localhost", []string{auth, "Expect: 100-continue"}, get)}},
		{"chunked", 1, []string{"POST /get-online-features HTTP/1.1\r\nHost: localhost\r\n" + auth + "\r\nTransfer-Encoding: chunked\r\n\r\n" +
			fmt.Sprintf("%x\r\n%s\r\n0\r\n\r\n", len(get), get)}},
		{"no host", 1, []string{strings.Replace(post("/get-online-features", "localhost", []string{auth}, get), "Host: localhost\r\n", "", 1)}},
		{"two hosts", 1, []string{post("/get-online-features", "localhost", []string{auth, "Host: other"}, get)}},
		{"two lengths", 1, []string{post("/get-online-features", "localhost", []string{auth, "Content-Length: 3"}, get)}},
		{"bad length", 1, []string{strings.Replace(post("/get-online-features", "localhost", []string{auth}, get), "Content-Length: ", "Content-Length: +", 1)}},
		{"long head", 1, []string{post("/get-online-features", "localhost", []string{auth, "X-Pad: " + strings.Repeat("p", 5000)}, get)}},
		{"escaped path", 1, []string{post("/get-online%2Dfeatures", "localhost", []string{auth}, get)}},
		{"bare LF", 1, []string{strings.ReplaceAll(post("/get-online-features", "localhost", []string{auth}, get), "\r\n", "\n")}},
		{"bare LF in headers", 1, []string{strings.Replace(strings.ReplaceAll(post("/get-online-features", "localhost", []string{auth}, get), "\r\n", "\n"),
			"\n", "\r\n", 1)}},
		{"bad header name", 1, []string{post("/get-online-features", "localhost", []string{auth, "Bad Name: x"}, get)}},
		{"split", 1, func() []string {
			r := post("/get-online-features?env=prod", "localhost", []string{auth}, get)
			return []string{r[:7], r[7:40], r[40 : len(r)-10], r[len(r)-10:]}
		}()},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			want := exchange(t, slow, c.want, c.pieces...)
			start := time.Now()
			got := exchange(t, fast, c.want, c.pieces...)
			require.Equal(t, want, got)
			if strings.HasPrefix(c.name, "bare LF") { // handed off at once, not after the header deadline (400 ms)
				require.Less(t, time.Since(start), 390*time.Millisecond)
			}
			if c.name == "valid" {
				require.Contains(t, got[0], "200 OK")
				require.Contains(t, got[0], `"PRESENT"`)
			}
		})
	}
}

// TestFastPathTimeouts: a client that stops in the middle of a request head (slowloris), on the fast route or
// another, loses its connection after ReadHeaderTimeout without an answer, as with net/http — the handoff does not
// restart the header clock — and an idle keep-alive connection is closed after IdleTimeout.
func TestFastPathTimeouts(t *testing.T) {
	fast, slow, token := fastPair(t)
	// slowloris sends partial a byte at a time and returns what came back before the server closed.
	slowloris := func(addr, partial string) string {
		c, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		defer c.Close()
		start := time.Now()
		for _, b := range []byte(partial) {
			_, err = c.Write([]byte{b})
			require.NoError(t, err)
			time.Sleep(2 * time.Millisecond)
		}
		_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
		got, err := io.ReadAll(c)
		require.NoError(t, err, "the server closes the connection")
		require.Less(t, time.Since(start), 900*time.Millisecond, "closed within ReadHeaderTimeout of its first byte: %q", partial)
		return string(got)
	}
	for _, partial := range []string{"POST /get-online-features HTTP/1.1\r\nHost: localhost\r\n", "POST /get-online-features HTTP/1.1\r\nHo",
		"POST /get-onl", "GET /heal",
		"GET /healthz HTTP/1.1\r\nHost: x\r\n"} {
		require.Equal(t, slowloris(slow, partial), slowloris(fast, partial), partial)
	}
	for _, addr := range []string{fast, slow} {
		got := exchange(t, addr, 1, post("/get-online-features", "localhost", []string{"Authorization: Bearer " + token}, `{"features":["user_stats:n"],"entities":{"user_id":[1]}}`))
		require.Equal(t, "open", got[1])
	}
	for _, addr := range []string{fast, slow} {
		c, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		_, err = io.WriteString(c, post("/get-online-features", "localhost", []string{"Authorization: Bearer " + token}, `{"features":["user_stats:n"],"entities":{"user_id":[1]}}`))
		require.NoError(t, err)
		br := bufio.NewReader(c)
		resp, err := http.ReadResponse(br, nil)
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, resp.Body)
		start := time.Now()
		_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
		_, err = br.ReadByte()
		require.ErrorIs(t, err, io.EOF)
		require.InDelta(t, 400, float64(time.Since(start).Milliseconds()), 300, "closed after IdleTimeout")
		_ = c.Close()
	}
}
