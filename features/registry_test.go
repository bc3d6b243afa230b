package features

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/internal/testenv"
	"github.com/strata-data/strata/meta"
)

func openDB(t *testing.T, dsn string) *meta.DB {
	db, err := meta.Open(context.Background(), dsn)
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func mustParse(t *testing.T, text string) *Defs {
	d, err := Parse("features/a.yaml", []byte(text))
	require.NoError(t, err)
	return d
}

// TestRegistryPlanApply: plan shows adds, changes and removals per definition; apply stores new immutable
// versions per environment, audited, and pinned versions stay readable.
func TestRegistryPlanApply(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			db := openDB(t, b.DSN(t))
			r := NewRegistry(db)
			d1 := mustParse(t, goodDefs)

			plan, err := r.Plan(ctx, "dev", d1)
			require.NoError(t, err)
			require.Equal(t, []string{"add entity user 1", "add view orders_agg 1", "add view user_stats 1", "add service churn 1"}, planLines(plan))

			applied, err := r.Apply(ctx, "dev", d1, "ann")
			require.NoError(t, err)
			require.Len(t, applied, 4)
			plan, err = r.Plan(ctx, "dev", d1)
			require.NoError(t, err)
			require.Empty(t, plan, "applied files have nothing to plan")
			again, err := r.Apply(ctx, "dev", d1, "ann")
			require.NoError(t, err)
			require.Empty(t, again)

			// Versions are per environment.
			plan, err = r.Plan(ctx, "prod", d1)
			require.NoError(t, err)
			require.Len(t, plan, 4)

			changed := strings.Replace(goodDefs, "ttl: 30d", "ttl: 7d", 1)
			changed = strings.Replace(changed, "feature_services:\n  - name: churn\n    features: [user_stats:total, orders_agg]\n", "", 1)
			d2 := mustParse(t, changed)
			plan, err = r.Plan(ctx, "dev", d2)
			require.NoError(t, err)
			require.Equal(t, []string{"change view user_stats 2", "remove service churn 2"}, planLines(plan))
			require.Equal(t, "ttl", plan[0].Details)
			_, err = r.Apply(ctx, "dev", d2, "bob")
			require.NoError(t, err)

			vs, err := r.Versions(ctx, "dev", "", "user_stats")
			require.NoError(t, err)
			require.Len(t, vs, 2)
			require.Equal(t, "ann", vs[0].Actor)
			v1, err := r.Get(ctx, "dev", KindView, "user_stats@1")
			require.NoError(t, err)
			view, err := v1.View()
			require.NoError(t, err)
			require.Equal(t, "30d", view.TTL.String())
			cur, err := r.Get(ctx, "dev", "", "user_stats")
			require.NoError(t, err)
			require.Equal(t, int64(2), cur.Version)
			view, err = cur.View()
			require.NoError(t, err)
			require.Equal(t, "7d", view.TTL.String())

			_, err = r.Get(ctx, "dev", "", "churn")
			require.ErrorIs(t, err, ErrNotFound)
			_, err = r.Get(ctx, "dev", "", "churn@1")
			require.NoError(t, err, "a removed definition's old versions stay pinnable")
			_, err = r.Get(ctx, "dev", "", "user_stats@9")
			require.ErrorContains(t, err, "has no version 9")
			_, err = r.Get(ctx, "dev", "", "user_stats@x")
			require.ErrorIs(t, err, ErrInvalid)

			list, err := r.List(ctx, "dev")
			require.NoError(t, err)
			require.Len(t, list, 3)

			// A stored SQL view renders the same SQL as the file it came from (params survive JSON).
			ov, err := r.Get(ctx, "dev", KindView, "orders_agg")
			require.NoError(t, err)
			stored, err := ov.View()
			require.NoError(t, err)
			want, _, err := d1.Views[1].RenderSQL(nil)
			require.NoError(t, err)
			got, _, err := stored.RenderSQL(nil)
			require.NoError(t, err)
			require.Equal(t, want, got)

			var n int
			require.NoError(t, db.SQL.QueryRowContext(ctx, `SELECT COUNT(*) FROM strata_audit WHERE env = 'dev' AND action = 'features.apply'`).Scan(&n))
			require.Equal(t, 2, n, "one audit entry per apply that changed something")
			var detail string
			require.NoError(t, db.SQL.QueryRowContext(ctx, `SELECT detail FROM strata_audit WHERE actor = 'bob'`).Scan(&detail))
			require.True(t, json.Valid([]byte(detail)))
			require.Contains(t, detail, `"name":"user_stats"`)
		})
	}
}

func planLines(plan []Change) []string {
	var out []string
	for _, c := range plan {
		out = append(out, strings.Join([]string{string(c.Op), string(c.Kind), c.Name, itoa(c.To)}, " "))
	}
	return out
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }

// TestRegistryConcurrentApply: applies racing on the same files store each version once, and none fails.
func TestRegistryConcurrentApply(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			r := NewRegistry(openDB(t, b.DSN(t)))
			d := mustParse(t, goodDefs)
			errc := make(chan error, 4)
			for i := 0; i < 4; i++ {
				go func() { _, err := r.Apply(ctx, "dev", d, "ann"); errc <- err }()
			}
			for i := 0; i < 4; i++ {
				require.NoError(t, <-errc)
			}
			for _, name := range []string{"user_stats", "orders_agg", "churn", "user"} {
				vs, err := r.Versions(ctx, "dev", "", name)
				require.NoError(t, err)
				require.Len(t, vs, 1, name)
			}
		})
	}
}
