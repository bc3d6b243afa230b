package demo_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/demo"
	"github.com/strata-data/strata/engine"
	"github.com/strata-data/strata/envs"
	"github.com/strata-data/strata/feastapi"
	"github.com/strata-data/strata/features"
	"github.com/strata-data/strata/internal/testenv"
	"github.com/strata-data/strata/lake"
	"github.com/strata-data/strata/meta"
	"github.com/strata-data/strata/online"
)

// TestDemoFeaturesServedOnline: after the demo load and LoadFeatures, the server's syncer serves user_orders:
// a Feast-shaped request for users 1 and 2 answers each one's order count and total spend as computed from
// dev's clean.orders, and an unknown user NOT_FOUND. A second LoadFeatures changes nothing.
func TestDemoFeaturesServedOnline(t *testing.T) {
	ctx := context.Background()
	db, err := meta.Open(ctx, testenv.SQLiteDSN(t))
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	lk, err := lake.Open(ctx, db, lake.Options{Warehouse: t.TempDir()})
	require.NoError(t, err)
	svc := envs.New(db, lk, envs.Options{})
	require.NoError(t, svc.Init(ctx))
	eng, err := engine.New(engine.Options{Threads: 1, TempDir: t.TempDir()})
	require.NoError(t, err)
	t.Cleanup(func() { _ = eng.Close() })
	require.NoError(t, demo.Load(ctx, svc, "tester"))
	reg := features.NewRegistry(db)
	require.NoError(t, demo.LoadFeatures(ctx, svc, reg, eng, "tester"))
	require.NoError(t, demo.LoadFeatures(ctx, svc, reg, eng, "tester"), "already there")

	store, err := online.Open(ctx, online.Options{Path: filepath.Join(t.TempDir(), "online.db")})
	require.NoError(t, err)
	t.Cleanup(func() { _ = store.Close() })
	sync := &feastapi.Syncer{Defs: reg, Envs: svc, Engine: eng, Store: store}
	require.NoError(t, sync.Sync(ctx, "dev"))
	r := chi.NewRouter()
	feastapi.New(feastapi.Options{Defs: reg, Store: store, Envs: svc, Sync: sync}).Mount(r)

	req := httptest.NewRequest(http.MethodPost, "/get-online-features?env=dev",
		strings.NewReader(`{"features":["user_orders:orders","user_orders:total"],"entities":{"user_id":[1,2,999999]}}`))
	w := httptest.NewRecorder()
	r.ServeHTTP(w, req)
	require.Equal(t, 200, w.Code, w.Body.String())
	var resp struct {
		Results []struct {
			Values   []any    `json:"values"`
			Statuses []string `json:"statuses"`
		} `json:"results"`
	}
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &resp))
	require.Len(t, resp.Results, 3)
	for i, user := range []int64{1, 2} {
		n, total := ordersOf(t, ctx, svc, eng, user)
		require.NotZero(t, n, "user %d has orders in the demo data", user)
		require.Equal(t, []string{"PRESENT", "PRESENT"}, []string{resp.Results[1].Statuses[i], resp.Results[2].Statuses[i]})
		require.Equal(t, float64(n), resp.Results[1].Values[i])
		require.InDelta(t, total, resp.Results[2].Values[i], 1e-9)
	}
	require.Equal(t, "NOT_FOUND", resp.Results[1].Statuses[2])
}

// ordersOf counts and sums one user's orders in dev's clean.orders.
func ordersOf(t *testing.T, ctx context.Context, svc *envs.Service, eng *engine.Engine, user int64) (int64, float64) {
	plan, err := svc.Resolve(ctx, "dev", lake.Ident{Zone: "clean", Name: "orders"}, lake.SnapshotRef{})
	require.NoError(t, err)
	res, err := eng.Query(ctx, "SELECT count(*)::BIGINT AS n, round(coalesce(sum(amount), 0), 2)::DOUBLE AS total FROM clean.orders WHERE user_id = "+
		strconv.FormatInt(user, 10), []engine.Table{envs.EngineTable(plan)})
	require.NoError(t, err)
	defer res.Close()
	require.True(t, res.Next())
	rec := res.RecordBatch()
	return rec.Column(0).(interface{ Value(int) int64 }).Value(0), rec.Column(1).(interface{ Value(int) float64 }).Value(0)
}
