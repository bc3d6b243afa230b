//go:build duckdb_arrow

package sqlwire_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/envs"
	"github.com/strata-data/strata/lake"
)

// TestStrataAtTableFunction: strata.at('zone.table', instant | 'release N' | snapshot id) reads one table
// at one snapshot within a statement, beside current tables, on every path (simple, extended with
// parameters, COPY, cursors); in prod only released snapshots, the staged one by id is not found. Bad
// arguments are 22023 naming the forms.
func TestStrataAtTableFunction(t *testing.T) {
	f := start(t)
	ctx := context.Background()
	peopleID := lake.Ident{Zone: "raw", Name: "people"}
	p, err := f.svc.Resolve(ctx, "dev", peopleID, lake.SnapshotRef{})
	require.NoError(t, err)
	first := p.SnapshotID
	mid := time.Now().UTC()
	time.Sleep(20 * time.Millisecond)
	write(t, f.svc, "dev", false, people(4, 5))

	for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeSimpleProtocol, pgx.QueryExecModeExec} {
		dev := f.connect(t, "dev", mode)
		for sql, want := range map[string][]int64{
			fmt.Sprintf("SELECT id FROM strata.at('raw.people', %d) ORDER BY id", first):                                                       {1, 2, 3},
			fmt.Sprintf("SELECT id FROM STRATA.AT ( 'raw.people' , '%d' ) ORDER BY id", first):                                                 {1, 2, 3},
			"SELECT id FROM strata.at('raw.people', '" + mid.Format(time.RFC3339Nano) + "') ORDER BY id":                                       {1, 2, 3},
			fmt.Sprintf("SELECT id FROM strata.at('raw.people', %d) a JOIN pg_catalog.pg_namespace n ON n.nspname = 'raw' ORDER BY id", first): {1, 2, 3},
			"SELECT id FROM raw.people ORDER BY id":                                                                                            {1, 2, 3, 4, 5},
			fmt.Sprintf("SELECT id FROM raw.people EXCEPT SELECT id FROM strata.at('raw.people', %d) ORDER BY id", first):                      {4, 5},
			fmt.Sprintf("SELECT count(*) FROM strata.at('raw.people', %d) a JOIN strata.at('raw.people', %d) b USING (id)", first, first):      {3},
		} {
			require.Equal(t, want, ints(t)(dev.Query(ctx, sql)), "%v: %s", mode, sql)
		}
		require.Equal(t, []string{"strata.at('raw.people', 1)"}, texts(t, dev, "SELECT 'strata.at(''raw.people'', 1)'"), "a literal is left alone")
		var buf bytes.Buffer
		_, err = dev.PgConn().CopyTo(ctx, &buf, fmt.Sprintf("COPY (SELECT id FROM strata.at('raw.people', %d) ORDER BY id) TO STDOUT", first))
		require.NoError(t, err)
		require.Equal(t, "1\n2\n3\n", buf.String())
		for sql, code := range map[string]string{
			"SELECT * FROM strata.at('people', 1)":                "22023",
			"SELECT * FROM strata.at('raw.people', 'yesterday')":  "22023",
			"SELECT * FROM strata.at('raw.people')":               "22023",
			"SELECT * FROM strata.at('raw.people', 1, 2)":         "22023",
			"SELECT * FROM strata.at('raw.people', now())":        "22023",
			"SELECT * FROM strata.at('raw.people', -4)":           "22023",
			"SELECT * FROM strata.at('raw.people', 42)":           "42P01",
			"SELECT * FROM strata.at('raw.nope', '2026-01-01')":   "42P01",
			"SELECT * FROM strata.at('raw.people', '1999-01-01')": "42P01",
			"SELECT * FROM strata.at('raw.people', 'release 1')":  "42P01", // dev has no releases
		} {
			_, err := dev.Exec(ctx, sql)
			var pe *pgconn.PgError
			require.True(t, errors.As(err, &pe), "%s: %v", sql, err)
			require.Equal(t, code, pe.Code, "%s: %s", sql, pe.Message)
			if code == "22023" {
				require.Contains(t, pe.Message, "strata.at", sql)
			}
		}
	}
	ext := f.connect(t, "dev", pgx.QueryExecModeExec)
	require.Equal(t, []int64{2, 3}, ints(t)(ext.Query(ctx, fmt.Sprintf("SELECT id FROM strata.at('raw.people', %d) WHERE id > $1 ORDER BY id", first), 1)))

	// prod: release 1 pins ids 1-2, the forced write of id 100 is staged.
	desc, err := f.svc.Lake().Describe(ctx, "prod", peopleID)
	require.NoError(t, err)
	rel1, err := f.svc.Release(ctx, "prod", 1)
	require.NoError(t, err)
	var staged int64
	for _, s := range desc.Snapshots {
		if s.ID != rel1.Pins[0].SnapshotID {
			staged = s.ID
		}
	}
	now := time.Now().UTC().Format(time.RFC3339Nano)
	prod := f.connect(t, "prod", pgx.QueryExecModeSimpleProtocol)
	read := func(when string) ([]int64, error) {
		rows, err := prod.Query(ctx, "SELECT id FROM strata.at('raw.people', "+when+") ORDER BY id")
		if err != nil {
			return nil, err
		}
		return pgx.CollectRows(rows, pgx.RowTo[int64])
	}
	for _, when := range []string{"'release 1'", "'" + now + "'", fmt.Sprint(rel1.Pins[0].SnapshotID)} {
		got, err := read(when)
		require.NoError(t, err, when)
		require.Equal(t, []int64{1, 2}, got, when)
	}
	var pe *pgconn.PgError
	for _, id := range []int64{staged, first} { // prod's staged snapshot, and one of dev's table
		_, err = read(fmt.Sprint(id))
		require.True(t, errors.As(err, &pe), "snapshot %d: %v", id, err)
		require.Equal(t, "42P01", pe.Code)
		require.Contains(t, pe.Message, fmt.Sprint(id))
	}

	_, err = f.svc.Publish(ctx, "prod", nil, envs.PublishOptions{Actor: "test"})
	require.NoError(t, err)
	for when, want := range map[string][]int64{"'release 1'": {1, 2}, "'release 2'": {1, 2, 100}, "'" + now + "'": {1, 2},
		fmt.Sprint(staged): {1, 2, 100}} {
		got, err := read(when)
		require.NoError(t, err, when)
		require.Equal(t, want, got, when)
	}
}
