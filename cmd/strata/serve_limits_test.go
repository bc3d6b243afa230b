package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestServeLimitsFromConfig: the entity limit and the body limit of online serving are the configuration's
// (serving.max_entities, serving.max_body_bytes, here from the environment): a real `strata serve` answers 413
// naming the key and its value above them, and 200 at the limit.
func TestServeLimitsFromConfig(t *testing.T) {
	c := featureProject(t)
	c.ok("apply")
	p := startServe(t, c, []string{"STRATA_SQLWIRE_ADDR=", "STRATA_SERVING_MAX_ENTITIES=2", "STRATA_SERVING_MAX_BODY_BYTES=40960"},
		"--addr", "127.0.0.1:0")
	status, body := p.post(t, "/get-online-features?env=dev", `{"features":["user_stats:total"],"entities":{"user_id":[1,2]}}`)
	require.Equal(t, 200, status, body)
	status, body = p.post(t, "/get-online-features?env=dev", `{"features":["user_stats:total"],"entities":{"user_id":[1,2,3]}}`)
	require.Equal(t, 413, status, body)
	require.Contains(t, body, "serving.max_entities (2)")
	status, body = p.post(t, "/get-online-features?env=dev", `{"features":["user_stats:total"],"entities":{"user_id":[`+strings.Repeat("1,", 30000)+`1]}}`)
	require.Equal(t, 413, status, body)
	require.Contains(t, body, "serving.max_body_bytes (40960 bytes)")
	rows := func(v string) string { return "[" + strings.Repeat(v+",", 200) + v + "]" }
	status, body = p.post(t, "/push?env=dev", `{"push_source_name":"user_stats","df":{"user_id":`+rows("1")+`,"event_ts":`+
		rows(`"2026-01-01T00:00:00Z"`)+`,"total":`+rows("1.5")+`,"country":`+rows(`"fr"`)+`}}`)
	require.Equal(t, 413, status, body)
	require.Contains(t, body, "201 rows in one push: send at most 200 (100 × serving.max_entities)")
}
