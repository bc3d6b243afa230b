//go:build duckdb_arrow

package sqlwire_test

import (
	"time"

	"context"
	"errors"
	"fmt"
	"github.com/jackc/pgx/v5/pgtype"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/stretchr/testify/require"
)

func TestExtendedProtocolWithParameters(t *testing.T) {
	f := start(t)
	ctx := context.Background()
	c := f.connect(t, "dev", pgx.QueryExecModeExec) // Parse, Bind with text parameters, Describe portal, Execute
	var name string
	require.NoError(t, c.QueryRow(ctx, "SELECT name FROM raw.people WHERE id = $1", 2).Scan(&name))
	require.Equal(t, "Zoë ✓ 2", name)
	var n int64
	require.NoError(t, c.QueryRow(ctx, "SELECT count(*) FROM raw.people WHERE id >= $1 AND name <> $2", 2, "x").Scan(&n))
	require.Equal(t, int64(2), n)
	var null *string
	require.NoError(t, c.QueryRow(ctx, "SELECT $1::VARCHAR", nil).Scan(&null))
	require.Nil(t, null)

	// Named statements: Parse once, Describe it, execute it twice with different parameters.
	pc := c.PgConn()
	sd, err := pc.Prepare(ctx, "by_id", "SELECT id, name FROM raw.people WHERE id = $1", nil)
	require.NoError(t, err)
	require.Len(t, sd.ParamOIDs, 1)
	require.Equal(t, []string{"id", "name"}, []string{sd.Fields[0].Name, sd.Fields[1].Name})
	require.Equal(t, uint32(20), sd.Fields[0].DataTypeOID)
	for _, id := range []string{"1", "3"} {
		res := pc.ExecPrepared(ctx, "by_id", [][]byte{[]byte(id)}, nil, nil).Read()
		require.NoError(t, res.Err)
		require.Equal(t, [][][]byte{{[]byte(id), []byte("Zoë ✓ " + id)}}, res.Rows)
	}
	require.NoError(t, pc.Deallocate(ctx, "by_id"))
	res := pc.ExecPrepared(ctx, "by_id", [][]byte{[]byte("1")}, nil, nil).Read()
	var pe *pgconn.PgError
	require.True(t, errors.As(res.Err, &pe), "%v", res.Err)
	require.Equal(t, "26000", pe.Code)

	// Prod through the extended protocol sees the release too.
	p := f.connect(t, "prod", pgx.QueryExecModeExec)
	require.NoError(t, p.QueryRow(ctx, "SELECT count(*) FROM raw.people WHERE id > $1", 0).Scan(&n))
	require.Equal(t, int64(2), n)
}

func TestExtendedProtocolErrorSkipsToSync(t *testing.T) {
	f := start(t)
	ctx := context.Background()
	c := f.connect(t, "dev", pgx.QueryExecModeExec)
	_, err := c.Exec(ctx, "SELECT * FROM raw.nope WHERE id = $1", 1)
	var pe *pgconn.PgError
	require.True(t, errors.As(err, &pe))
	require.Equal(t, "42P01", pe.Code)
	_, err = c.Exec(ctx, "UPDATE raw.people SET score = $1", 1)
	require.True(t, errors.As(err, &pe))
	require.Equal(t, "42501", pe.Code)
	var one int
	require.NoError(t, c.QueryRow(ctx, "SELECT $1::INTEGER", 1).Scan(&one))
	require.Equal(t, 1, one)
}

// TestExecuteMaxRowsSuspendsPortal drives the protocol by hand: pgjdbc's fetch size sends Execute with a
// row limit and expects PortalSuspended until the rows run out.
func TestExecuteMaxRowsSuspendsPortal(t *testing.T) {
	f := start(t)
	c := f.connect(t, "dev", pgx.QueryExecModeSimpleProtocol)
	fe := c.PgConn().Frontend()
	fe.Send(&pgproto3.Query{String: "BEGIN"})
	require.NoError(t, fe.Flush())
	drain(t, fe)
	fe.Send(&pgproto3.Parse{Name: "S_1", Query: "SELECT i FROM range(5) t(i) ORDER BY i"})
	fe.Send(&pgproto3.Bind{PreparedStatement: "S_1", DestinationPortal: "C_1"})
	fe.Send(&pgproto3.Describe{ObjectType: 'P', Name: "C_1"})
	fe.Send(&pgproto3.Execute{Portal: "C_1", MaxRows: 2})
	fe.Send(&pgproto3.Sync{})
	require.NoError(t, fe.Flush())
	require.Equal(t, []string{"ParseComplete", "BindComplete", "RowDescription", "0", "1", "PortalSuspended", "ReadyForQuery T"}, drain(t, fe))
	fe.Send(&pgproto3.Execute{Portal: "C_1", MaxRows: 2})
	fe.Send(&pgproto3.Sync{})
	require.NoError(t, fe.Flush())
	require.Equal(t, []string{"2", "3", "PortalSuspended", "ReadyForQuery T"}, drain(t, fe), "the portal survives Sync inside a transaction")
	fe.Send(&pgproto3.Execute{Portal: "C_1", MaxRows: 2})
	fe.Send(&pgproto3.Close{ObjectType: 'P', Name: "C_1"})
	fe.Send(&pgproto3.Close{ObjectType: 'S', Name: "S_1"})
	fe.Send(&pgproto3.Sync{})
	require.NoError(t, fe.Flush())
	require.Equal(t, []string{"4", "CommandComplete SELECT 5", "CloseComplete", "CloseComplete", "ReadyForQuery T"}, drain(t, fe))
	fe.Send(&pgproto3.Query{String: "COMMIT"})
	require.NoError(t, fe.Flush())
	require.Equal(t, []string{"CommandComplete COMMIT", "ReadyForQuery I"}, drain(t, fe))

	// Outside a transaction, Sync closes the portal.
	fe.Send(&pgproto3.Parse{Query: "SELECT 1"})
	fe.Send(&pgproto3.Bind{DestinationPortal: "P"})
	fe.Send(&pgproto3.Execute{Portal: "P", MaxRows: 1})
	fe.Send(&pgproto3.Sync{})
	fe.Send(&pgproto3.Execute{Portal: "P"})
	fe.Send(&pgproto3.Sync{})
	require.NoError(t, fe.Flush())
	require.Equal(t, []string{"ParseComplete", "BindComplete", "1", "PortalSuspended", "ReadyForQuery I"}, drain(t, fe))
	require.Equal(t, []string{"Error 34000", "ReadyForQuery I"}, drain(t, fe))
}

// drain reads messages up to ReadyForQuery and names them; DataRows by their first value.
func drain(t *testing.T, fe *pgproto3.Frontend) []string {
	t.Helper()
	var out []string
	for {
		msg, err := fe.Receive()
		require.NoError(t, err)
		switch m := msg.(type) {
		case *pgproto3.DataRow:
			out = append(out, string(m.Values[0]))
		case *pgproto3.CommandComplete:
			if string(m.CommandTag) != "BEGIN" {
				out = append(out, "CommandComplete "+string(m.CommandTag))
			}
		case *pgproto3.ErrorResponse:
			out = append(out, "Error "+m.Code)
		case *pgproto3.ReadyForQuery:
			return append(out, fmt.Sprintf("ReadyForQuery %c", m.TxStatus))
		default:
			out = append(out, fmt.Sprintf("%T", m)[len("*pgproto3."):])
		}
	}
}

// TestPgxDefaultModeBinaryResults: pgx's default mode prepares each statement, Describes it and asks for
// binary results; values must decode exactly as with text.
func TestPgxDefaultModeBinaryResults(t *testing.T) {
	f := start(t)
	ctx := context.Background()
	c := f.connect(t, "prod", pgx.QueryExecModeCacheStatement)
	var (
		id    int64
		name  string
		score *float64
	)
	// Parameters are described as text (DuckDB types them only when bound), so pgx's default mode needs strings.
	require.NoError(t, c.QueryRow(ctx, "SELECT id, name, score FROM raw.people WHERE id = $1 AND name <> $2", "1", "x").Scan(&id, &name, &score))
	require.Equal(t, int64(1), id)
	require.Equal(t, "Zoë ✓ 1", name)
	require.Equal(t, 1.5, *score)

	var (
		i2  int16
		i4  int32
		f4  float32
		b   bool
		d   time.Time
		ts  time.Time
		tz  time.Time
		tm  pgtype.Time
		iv  pgtype.Interval
		num pgtype.Numeric
		by  []byte
	)
	require.NoError(t, c.QueryRow(ctx, `SELECT 7::SMALLINT, -8::INTEGER, 1.25::REAL, true, DATE '2026-01-02',
		TIMESTAMP '2026-01-02 10:00:00.5', TIMESTAMPTZ '2026-01-02 12:00:00+02', TIME '10:11:12.5',
		INTERVAL '1 month 2 days 3 seconds', -12.34::DECIMAL(12,2), '\xBE\xEF'::BLOB`).
		Scan(&i2, &i4, &f4, &b, &d, &ts, &tz, &tm, &iv, &num, &by))
	require.Equal(t, int16(7), i2)
	require.Equal(t, int32(-8), i4)
	require.Equal(t, float32(1.25), f4)
	require.True(t, b)
	require.Equal(t, "2026-01-02", d.Format(time.DateOnly))
	require.Equal(t, "2026-01-02 10:00:00.5", ts.Format("2006-01-02 15:04:05.999"))
	require.True(t, tz.Equal(time.Date(2026, 1, 2, 10, 0, 0, 0, time.UTC)), "%v", tz)
	require.Equal(t, int64(10*3600+11*60+12)*1_000_000+500_000, tm.Microseconds)
	require.Equal(t, pgtype.Interval{Months: 1, Days: 2, Microseconds: 3_000_000, Valid: true}, iv)
	v, err := num.Value()
	require.NoError(t, err)
	require.Equal(t, "-12.34", v)
	require.Equal(t, []byte{0xbe, 0xef}, by)

	var arr []int32
	require.NoError(t, c.QueryRow(ctx, "SELECT [1, 2]::INTEGER[]", pgx.QueryResultFormats{pgx.TextFormatCode}).Scan(&arr))
	require.Equal(t, []int32{1, 2}, arr)
}
