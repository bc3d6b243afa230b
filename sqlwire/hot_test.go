//go:build duckdb_arrow

package sqlwire_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/envs"
	"github.com/strata-data/strata/lake"
)

// TestHotCopiesFollowWritesPinsAndTimeTravel: the engine's compressed in-memory copies answer exactly what the
// snapshot a statement reads holds: the latest one in dev (a write gives the next statement a new copy), the
// release's pins in prod (a staged write stays unseen until published), and an older snapshot through
// strata.at, each read again once its copy is made.
func TestHotCopiesFollowWritesPinsAndTimeTravel(t *testing.T) {
	t.Parallel()
	f, eng := startCatalog(t)
	ctx := context.Background()
	const q = "SELECT id, name, score FROM %s ORDER BY id"
	type row struct {
		id    int64
		name  string
		score *float64
	}
	read := func(c *pgx.Conn, from string) []string {
		t.Helper()
		rows, err := c.Query(ctx, fmt.Sprintf(q, from))
		require.NoError(t, err)
		var out []string
		for rows.Next() {
			var r row
			require.NoError(t, rows.Scan(&r.id, &r.name, &r.score))
			s := fmt.Sprintf("%d %s", r.id, r.name)
			if r.score != nil {
				s += fmt.Sprintf(" %g", *r.score)
			}
			out = append(out, s)
		}
		require.NoError(t, rows.Err())
		return out
	}
	// hot reads from until a new copy has been made, then once more from it.
	hot := func(c *pgx.Conn, from string) []string {
		t.Helper()
		loads := eng.HotLoads()
		first := read(c, from)
		for deadline := time.Now().Add(30 * time.Second); eng.HotLoads() == loads || eng.HotLoading() > 0; {
			require.True(t, time.Now().Before(deadline), "no copy of %s made", from)
			require.Equal(t, first, read(c, from), "while the copy is made")
			time.Sleep(10 * time.Millisecond)
		}
		return read(c, from)
	}
	names := func(ids ...int64) []string {
		var out []string
		for _, id := range ids {
			s := fmt.Sprintf("%d Zoë ✓ %d", id, id)
			if id%2 == 1 {
				s += fmt.Sprintf(" %g", float64(id)+0.5)
			}
			out = append(out, s)
		}
		return out
	}

	dev := f.connect(t, "dev", pgx.QueryExecModeCacheStatement)
	p, err := f.svc.Resolve(ctx, "dev", lake.Ident{Zone: "raw", Name: "people"}, lake.SnapshotRef{})
	require.NoError(t, err)
	first := p.SnapshotID
	require.Equal(t, names(1, 2, 3), hot(dev, "raw.people"))
	write(t, f.svc, "dev", false, people(4, 5))
	require.Equal(t, names(1, 2, 3, 4, 5), read(dev, "raw.people"), "the write is seen at once")
	require.Equal(t, names(1, 2, 3, 4, 5), hot(dev, "raw.people"))
	at := fmt.Sprintf("strata.at('raw.people', %d)", first)
	require.Equal(t, names(1, 2, 3), hot(dev, at), "the older snapshot's own copy")
	require.Equal(t, names(1, 2, 3, 4, 5), read(dev, "raw.people"))

	prod := f.connect(t, "prod", pgx.QueryExecModeCacheStatement)
	require.Equal(t, names(1, 2), hot(prod, "raw.people"), "release 1's pins; the staged write is not seen")
	_, err = f.svc.Publish(ctx, "prod", nil, envs.PublishOptions{Actor: "test"})
	require.NoError(t, err)
	require.Equal(t, names(1, 2, 100), read(prod, "raw.people"), "the publish is seen at once")
	require.Equal(t, names(1, 2, 100), hot(prod, "raw.people"))
	require.Positive(t, eng.HotBytes())
}
