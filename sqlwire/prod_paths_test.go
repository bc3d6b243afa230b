//go:build duckdb_arrow

package sqlwire_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/envs"
	"github.com/strata-data/strata/lake"
)

// TestProdReadsReleasePinsOnEveryPath: prod's release 1 pins ids 1-2 of raw.people, and a forced write of id
// 100 is staged, unpublished. Every way a client reads — simple and extended queries, a statement prepared
// before the release changes, time travel by instant and by snapshot id (the staged id itself), COPY TO
// STDOUT, cursors (WITH HOLD too), the catalog and the strata.* tables — sees ids 1-2 until a publish, then
// 1, 2, 100, and 1-2 again after a rollback.
func TestProdReadsReleasePinsOnEveryPath(t *testing.T) {
	f := start(t)
	ctx := context.Background()
	desc, err := f.svc.Lake().Describe(ctx, "prod", lake.Ident{Zone: "raw", Name: "people"})
	require.NoError(t, err)
	rel1, err := f.svc.Release(ctx, "prod", 1)
	require.NoError(t, err)
	var staged int64
	for _, s := range desc.Snapshots {
		if s.ID != rel1.Pins[0].SnapshotID {
			staged = s.ID
		}
	}
	require.NotZero(t, staged, "the forced write made a snapshot no release pins")
	afterStaged := time.Now().UTC()

	simpleC := f.connect(t, "prod", pgx.QueryExecModeSimpleProtocol)
	ext := f.connect(t, "prod", pgx.QueryExecModeCacheStatement)
	const ids = "SELECT id FROM raw.people ORDER BY id"
	_, err = ext.Prepare(ctx, "before", ids) // prepared before the release changes
	require.NoError(t, err)

	read := func(want []int64, stagedUnreleased bool) {
		t.Helper()
		w := fmt.Sprint(want)
		for name, c := range map[string]*pgx.Conn{"simple": simpleC, "extended": ext} {
			rows, err := c.Query(ctx, ids)
			require.NoError(t, err, name)
			got, err := pgx.CollectRows(rows, pgx.RowTo[int64])
			require.NoError(t, err, name)
			require.Equal(t, want, got, name)

			rows, err = c.Query(ctx, "before")
			if name == "simple" {
				rows, err = c.Query(ctx, ids+" LIMIT 100")
			}
			require.NoError(t, err, name)
			got, err = pgx.CollectRows(rows, pgx.RowTo[int64])
			require.NoError(t, err, name)
			require.Equal(t, want, got, "%s: the statement prepared before", name)

			var buf bytes.Buffer
			_, err = c.PgConn().CopyTo(ctx, &buf, "COPY (SELECT id FROM raw.people ORDER BY id) TO STDOUT")
			require.NoError(t, err, name)
			require.Equal(t, lines(want), buf.String(), "%s: COPY (query) TO STDOUT", name)
			buf.Reset()
			_, err = c.PgConn().CopyTo(ctx, &buf, "COPY raw.people (id) TO STDOUT (FORMAT csv)")
			require.NoError(t, err, name)
			require.ElementsMatch(t, splitLines(lines(want)), splitLines(buf.String()), "%s: COPY table TO STDOUT", name)

			tx, err := c.Begin(ctx)
			require.NoError(t, err)
			_, err = tx.Exec(ctx, "DECLARE cur CURSOR FOR "+ids)
			require.NoError(t, err)
			require.Equal(t, w, fmt.Sprint(ints(t)(tx.Query(ctx, "FETCH ALL FROM cur"))), "%s: DECLARE/FETCH", name)
			require.NoError(t, tx.Commit(ctx))
			_, err = c.Exec(ctx, "DECLARE held CURSOR WITH HOLD FOR "+ids)
			require.NoError(t, err)
			require.Equal(t, w, fmt.Sprint(ints(t)(c.Query(ctx, "FETCH ALL FROM held"))), "%s: WITH HOLD", name)
			_, err = c.Exec(ctx, "CLOSE held")
			require.NoError(t, err)

			require.Equal(t, []string{fmt.Sprint(len(want))}, texts(t, c,
				"SELECT CAST(CAST(c.reltuples AS bigint) AS text) FROM pg_catalog.pg_class c WHERE c.relname = 'people'"),
				"%s: pg_class.reltuples", name)
			require.Equal(t, []string{fmt.Sprint(len(want))}, texts(t, c,
				"SELECT CAST(rows AS text) FROM strata.tables WHERE zone = 'raw' AND name = 'people'"), "%s: strata.tables", name)
			require.Equal(t, !stagedUnreleased, slices.Contains(texts(t, c, "SELECT CAST(snapshot_id AS text) FROM strata.snapshots"),
				fmt.Sprint(staged)), "%s: strata.snapshots lists the staged snapshot once a release pinned it", name)
		}
	}
	read([]int64{1, 2}, true)

	// Time travel: an instant after the staged write reads release 1; the staged snapshot by id is refused.
	for _, c := range []*pgx.Conn{simpleC, ext} {
		_, err = c.Exec(ctx, "SET strata.as_of = '"+afterStaged.Format(time.RFC3339Nano)+"'")
		require.NoError(t, err)
		require.Equal(t, []int64{1, 2}, ints(t)(c.Query(ctx, ids)))
		_, err = c.Exec(ctx, "RESET strata.as_of")
		require.NoError(t, err)
		_, err = c.Exec(ctx, fmt.Sprintf("SET strata.snapshot = 'raw.people@%d'", staged))
		require.NoError(t, err)
		_, err = c.Exec(ctx, ids)
		var pe *pgconn.PgError
		require.True(t, errors.As(err, &pe), "the staged snapshot by id: %v", err)
		require.Contains(t, pe.Message, fmt.Sprint(staged))
		_, err = c.Exec(ctx, "RESET strata.snapshot")
		require.NoError(t, err)
	}

	_, err = f.svc.Publish(ctx, "prod", nil, envs.PublishOptions{Actor: "test"})
	require.NoError(t, err)
	read([]int64{1, 2, 100}, false)
	_, err = f.svc.Rollback(ctx, "prod", 1, "test")
	require.NoError(t, err)
	read([]int64{1, 2}, false)
}

func lines(v []int64) string {
	var b bytes.Buffer
	for _, x := range v {
		fmt.Fprintf(&b, "%d\n", x)
	}
	return b.String()
}

func splitLines(s string) []string { return strings.Split(strings.TrimSuffix(s, "\n"), "\n") }

// ints collects a query's single int8 column: ints(t)(c.Query(ctx, sql)).
func ints(t *testing.T) func(pgx.Rows, error) []int64 {
	return func(rows pgx.Rows, err error) []int64 {
		t.Helper()
		require.NoError(t, err)
		out, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		require.NoError(t, err)
		return out
	}
}
