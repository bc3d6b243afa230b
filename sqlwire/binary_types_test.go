//go:build duckdb_arrow

package sqlwire_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/stretchr/testify/require"
)

// TestEveryTypeInTextAndBinary: for every type the issue lists (and DuckDB's own, as mapped), a result asked
// in binary carries the same type OID and typmod as in text, and its value decodes (pgx's codecs, as clients
// use them) to exactly what the text value decodes to, NULLs included.
func TestEveryTypeInTextAndBinary(t *testing.T) {
	f := start(t)
	ctx := context.Background()
	c := f.connect(t, "dev", pgx.QueryExecModeSimpleProtocol)
	m := pgtype.NewMap()
	for _, expr := range []string{
		"1::SMALLINT", "-2::INTEGER", "9223372036854775807::BIGINT", "1.5::REAL", "0.1::DOUBLE", "'-Infinity'::DOUBLE",
		"12.30::DECIMAL(12,2)", "-0.05::DECIMAL(5,3)", "-123456789012345678901234.5::DECIMAL(38,1)", "0::DECIMAL(4,0)",
		"170141183460469231731687303715884105727::HUGEINT", "18446744073709551615::UBIGINT",
		"'Zoë ✓ 日本'::VARCHAR", "''::VARCHAR", "true", "DATE '2026-01-02'", "DATE '0044-03-15'",
		"TIME '10:00:00.5'", "TIMESTAMP '2026-01-02 10:00:00.123456'", "TIMESTAMP '1969-12-31 23:59:59'",
		"TIMESTAMPTZ '2026-01-02 12:00:00+02'", "INTERVAL '1 year 2 months 3 days 04:05:06'", "INTERVAL '-1 day 02:00:00'",
		"'\\xDE\\xAD'::BLOB", "'6ba7b810-9dad-11d1-80b4-00c04fd430c8'::UUID", `'{"a": [1, null]}'::JSON`,
		"[1, 2, NULL]::INTEGER[]", "['a b', NULL, 'x\"y', '']", "[1.5, 2]::DOUBLE[]", "[true, NULL]",
		"[DATE '2026-01-02']", "[TIMESTAMPTZ '2026-01-02 12:00:00+02']", "[1.25::DECIMAL(5,2), NULL]",
		"['6ba7b810-9dad-11d1-80b4-00c04fd430c8'::UUID]", "[]::BIGINT[]", "{'a': 1, 'b': NULL}", "MAP {'k': 1}", "'b'::ENUM('a', 'b')",
		"NULL::INTEGER", "NULL::VARCHAR", "NULL::DECIMAL(10,2)", "NULL::INTEGER[]",
	} {
		sql := "SELECT " + expr + " AS v"
		text := c.PgConn().ExecParams(ctx, sql, nil, nil, nil, []int16{0}).Read()
		require.NoError(t, text.Err, expr)
		bin := c.PgConn().ExecParams(ctx, sql, nil, nil, nil, []int16{1}).Read()
		require.NoError(t, bin.Err, expr)
		tf, bf := text.FieldDescriptions[0], bin.FieldDescriptions[0]
		require.Equal(t, tf.DataTypeOID, bf.DataTypeOID, expr)
		require.Equal(t, tf.TypeModifier, bf.TypeModifier, expr)
		require.Equal(t, tf.DataTypeSize, bf.DataTypeSize, expr)
		require.Equal(t, int16(1), bf.Format, expr)
		tv, bv := text.Rows[0][0], bin.Rows[0][0]
		require.Equal(t, tv == nil, bv == nil, "%s: NULL in both", expr)
		if tv == nil {
			continue
		}
		fromText, err := decodeValue(m, tf.DataTypeOID, pgtype.TextFormatCode, tv)
		require.NoError(t, err, "%s: text %q", expr, tv)
		fromBin, err := decodeValue(m, bf.DataTypeOID, pgtype.BinaryFormatCode, bv)
		require.NoError(t, err, "%s: binary %x", expr, bv)
		require.Equal(t, fromText, fromBin, "%s: text %q", expr, tv)
	}
}

func decodeValue(m *pgtype.Map, oid uint32, format int16, src []byte) (any, error) {
	typ, ok := m.TypeForOID(oid)
	if !ok {
		return nil, fmt.Errorf("pgx knows no type %d", oid)
	}
	return typ.Codec.DecodeValue(m, oid, format, src)
}
