package envs_test

import (
	"context"
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/envs"
	"github.com/strata-data/strata/internal/testenv"
)

// TablesState reads no metadata file, stays the same while nothing changes and changes with a write, a new
// table and a prod publish.
func TestTablesStateChangesWithEveryChangeOnly(t *testing.T) {
	ctx := context.Background()
	svc := newService(t, testenv.SQLiteDSN(t))
	write(t, svc, "dev", "raw.events", 0, 3)
	s1, err := svc.TablesState(ctx, "dev")
	require.NoError(t, err)

	dir := metadataDir(t, svc, "dev", ident(t, "raw.events"))
	require.NoError(t, os.Rename(dir, dir+".away"))
	again, err := svc.TablesState(ctx, "dev")
	require.NoError(t, err, "no metadata file is read")
	require.Equal(t, s1, again)
	require.NoError(t, os.Rename(dir+".away", dir))

	write(t, svc, "dev", "raw.events", 3, 1)
	s2, err := svc.TablesState(ctx, "dev")
	require.NoError(t, err)
	require.NotEqual(t, s1, s2, "a write")
	write(t, svc, "dev", "raw.other", 0, 1)
	s3, err := svc.TablesState(ctx, "dev")
	require.NoError(t, err)
	require.NotEqual(t, s2, s3, "a new table")

	write(t, svc, "prod", "raw.events", 0, 1)
	p1, err := svc.TablesState(ctx, "prod")
	require.NoError(t, err)
	_, err = svc.Publish(ctx, "prod", nil, envs.PublishOptions{Actor: "a"})
	require.NoError(t, err)
	p2, err := svc.TablesState(ctx, "prod")
	require.NoError(t, err)
	require.NotEqual(t, p1, p2, "a publish")

	_, err = svc.TablesState(ctx, "nope")
	require.Error(t, err)
}

// In a prod-kind environment TablesState follows the current release alone: a staged write and a staged new
// table, which prod's readers do not see, leave it as it was; a publish and a rollback change it.
func TestTablesStateOfProdFollowsItsReleaseOnly(t *testing.T) {
	ctx := context.Background()
	svc := newService(t, testenv.SQLiteDSN(t))
	state := func() string {
		t.Helper()
		s, err := svc.TablesState(ctx, "prod")
		require.NoError(t, err)
		return s
	}
	write(t, svc, "prod", "raw.events", 0, 3)
	first, err := svc.Publish(ctx, "prod", nil, envs.PublishOptions{Actor: "a"})
	require.NoError(t, err)
	published := state()

	write(t, svc, "prod", "raw.events", 3, 1)
	write(t, svc, "prod", "raw.staged", 0, 1)
	require.Equal(t, published, state(), "staged writes")
	tables, err := svc.Tables(ctx, "prod", "")
	require.NoError(t, err)
	require.Len(t, tables, 1, "prod's readers see only the release")
	require.Equal(t, int64(3), tables[0].Rows)

	_, err = svc.Publish(ctx, "prod", nil, envs.PublishOptions{Actor: "a"})
	require.NoError(t, err)
	second := state()
	require.NotEqual(t, published, second, "a publish")
	_, err = svc.Rollback(ctx, "prod", first.ID, "a")
	require.NoError(t, err)
	require.NotEqual(t, second, state(), "a rollback")
}
