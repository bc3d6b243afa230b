//go:build duckdb_arrow

package feastapi_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/auth"
	"github.com/strata-data/strata/feastapi"
)

// TestRolesPerEnvironment: with an authenticated principal (server/auth.go puts it in the request context),
// reading features needs a role in the request's environment and pushing needs developer or admin there;
// refusals are 403 and write nothing.
func TestRolesPerEnvironment(t *testing.T) {
	f := newFixture(t, feastapi.Options{})
	f.createUserStats(t)
	plain := f.h
	as := func(p *auth.Principal) {
		f.h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			plain.ServeHTTP(w, r.WithContext(auth.NewContext(r.Context(), p)))
		})
	}
	get := `{"features":["user_stats:n"],"entities":{"user_id":[7]}}`
	push := `{"push_source_name":"user_stats",` + pushDF + `,"to":"online_and_offline"}`

	as(auth.NewPrincipal("vic", []auth.Grant{{Env: "prod", Role: auth.Viewer}}))
	status, body := f.post(t, "/get-online-features?env=prod", get)
	require.Equal(t, 200, status, body)
	status, body = f.post(t, "/feast/dev/get-online-features", get)
	require.Equal(t, 403, status, body)
	require.Contains(t, body, `user \"vic\" has no role in environment \"dev\"`)

	as(auth.NewPrincipal("vic", []auth.Grant{{Env: "dev", Role: auth.Viewer}}))
	status, body = f.post(t, "/push?env=dev", push)
	require.Equal(t, 403, status, body)
	require.Contains(t, body, "may not push")
	require.Empty(t, f.tableRows(t, "dev", "SELECT * FROM clean.user_stats"), "a refused push writes nothing")

	as(auth.NewPrincipal("ana", []auth.Grant{{Env: "dev", Role: auth.Developer}}))
	status, body = f.post(t, "/push?env=dev", push)
	require.Equal(t, 200, status, body)
	require.Len(t, f.tableRows(t, "dev", "SELECT * FROM clean.user_stats"), 2)
	log, err := f.envs.AuditLog(f.ctx, "dev", 3)
	require.NoError(t, err)
	require.Equal(t, "ana", log[0].Actor, "the audit names the user who pushed")
}
