//go:build duckdb_arrow

package sqlwire_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/engine"
	"github.com/strata-data/strata/envs"
	"github.com/strata-data/strata/internal/testenv"
	"github.com/strata-data/strata/lake"
	"github.com/strata-data/strata/meta"
	"github.com/strata-data/strata/sqlwire"
)

// fixture is a running endpoint over a lake with raw.people in dev and prod: dev holds ids 1-3; prod's
// release pins ids 1-2, and a forced, unpublished prod write of id 100 must stay invisible.
type fixture struct {
	addr string
	svc  *envs.Service
}

func start(tb testing.TB, opts ...func(*sqlwire.Options)) *fixture {
	if len(opts) == 0 {
		return startWith(tb, nil)
	}
	return startWith(tb, opts[0])
}

// startWith is start with options changed by opt (nil: none).
func startWith(tb testing.TB, opt func(*sqlwire.Options)) *fixture {
	tb.Helper()
	ctx := context.Background()
	db, err := meta.Open(ctx, testenv.SQLiteDSN(tb))
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = db.Close() })
	lk, err := lake.Open(ctx, db, lake.Options{Warehouse: tb.TempDir()})
	require.NoError(tb, err)
	svc := envs.New(db, lk, envs.Options{})
	require.NoError(tb, svc.Init(ctx))
	eng, err := engine.New(engine.Options{Threads: 1, TempDir: tb.TempDir()})
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = eng.Close() })

	write(tb, svc, "dev", false, people(1, 2, 3))
	write(tb, svc, "prod", true, people(1, 2))
	_, err = svc.Publish(ctx, "prod", nil, envs.PublishOptions{Actor: "test"})
	require.NoError(tb, err)
	write(tb, svc, "prod", true, people(100))

	opts := sqlwire.Options{Envs: svc, Engine: eng, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if opt != nil {
		opt(&opts)
	}
	srv, err := sqlwire.New(opts)
	require.NoError(tb, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(tb, err)
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(sctx, ln) }()
	tb.Cleanup(func() {
		cancel()
		require.NoError(tb, <-done)
	})
	return &fixture{addr: ln.Addr().String(), svc: svc}
}

func write(tb testing.TB, svc *envs.Service, env string, force bool, rdr array.RecordReader) {
	tb.Helper()
	defer rdr.Release()
	_, err := svc.Write(context.Background(), env, lake.Ident{Zone: "raw", Name: "people"}, rdr,
		envs.WriteOptions{CreateIfMissing: true, Force: force, Actor: "test"})
	require.NoError(tb, err)
}

// people builds rows (id, name, score) with unicode names and a NULL score for even ids.
func people(ids ...int64) array.RecordReader {
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "score", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	for _, id := range ids {
		b.Field(0).(*array.Int64Builder).Append(id)
		b.Field(1).(*array.StringBuilder).Append(fmt.Sprintf("Zoë ✓ %d", id))
		if id%2 == 0 {
			b.Field(2).AppendNull()
		} else {
			b.Field(2).(*array.Float64Builder).Append(float64(id) + 0.5)
		}
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	rdr, _ := array.NewRecordReader(schema, []arrow.RecordBatch{rec})
	return rdr
}

func (f *fixture) url(db string) string {
	host, port, _ := net.SplitHostPort(f.addr)
	return fmt.Sprintf("postgres://tester@%s:%s/%s?sslmode=disable", host, port, db)
}

// connect opens a pgx connection in the given mode (simple protocol unless said otherwise).
func (f *fixture) connect(tb testing.TB, db string, mode pgx.QueryExecMode) *pgx.Conn {
	tb.Helper()
	cfg, err := pgx.ParseConfig(f.url(db))
	require.NoError(tb, err)
	cfg.DefaultQueryExecMode = mode
	c, err := pgx.ConnectConfig(context.Background(), cfg)
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = c.Close(context.Background()) })
	return c
}
