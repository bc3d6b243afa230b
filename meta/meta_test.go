package meta_test

import (
	"context"
	"database/sql"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/internal/testenv"
	"github.com/strata-data/strata/meta"
)

func TestOpenMigratesAndTx(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			dsn := b.DSN(t)
			db, err := meta.Open(ctx, dsn)
			require.NoError(t, err)
			require.Equal(t, meta.Dialect(b.Name), db.Dialect)
			// Opening twice is idempotent (migrations already applied).
			db2, err := meta.Open(ctx, dsn)
			require.NoError(t, err)
			require.NoError(t, db2.Close())

			var wg sync.WaitGroup
			for i := 0; i < 8; i++ {
				wg.Add(1)
				go func(i int) {
					defer wg.Done()
					err := db.Tx(ctx, func(tx *sql.Tx) error {
						_, err := tx.ExecContext(ctx, `INSERT INTO strata_audit (id, at_ms, actor, env, action, target, detail)
							VALUES ($1, $2, $3, $4, $5, $6, $7)`, string(rune('a'+i)), meta.NowMillis(), "t", "dev", "x", "y", "{}")
						return err
					})
					require.NoError(t, err)
				}(i)
			}
			wg.Wait()
			var n int
			require.NoError(t, db.SQL.QueryRowContext(ctx, "SELECT count(*) FROM strata_audit WHERE env = $1", "dev").Scan(&n))
			require.Equal(t, 8, n)
			require.NoError(t, db.Close())
		})
	}
}

func TestOpenErrors(t *testing.T) {
	_, err := meta.Open(context.Background(), "")
	require.ErrorIs(t, err, meta.ErrInvalid)
	_, err = meta.Open(context.Background(), "postgres://nobody@127.0.0.1:1/none?connect_timeout=2")
	require.ErrorContains(t, err, "STRATA_META_DSN")
}
