//go:build duckdb_arrow

package sqlwire

import (
	"math/big"
	"testing"

	"github.com/jackc/pgx/v5/pgtype"
	"github.com/stretchr/testify/require"
)

// TestAppendNumericMatchesPgx: the fast numeric encoder gives the values pgx's codec (the slow path) gives. The
// bytes may differ: like PostgreSQL, it drops trailing zero digits of the integer part too.
func TestAppendNumericMatchesPgx(t *testing.T) {
	m := pgtype.NewMap()
	values := []int64{0, 1, -1, 5, 9999, 10000, 10001, -123456789, 100000000, 12345, -50, 1 << 52, -(1 << 52) + 7, 100, 1000}
	for scale := int32(0); scale <= 12; scale++ {
		for _, v := range values {
			want, err := m.Encode(oidNumeric, pgtype.BinaryFormatCode, pgtype.Numeric{Int: big.NewInt(v), Exp: -scale, Valid: true}, nil)
			require.NoError(t, err)
			got := appendNumeric(nil, v, scale)
			if v == 0 { // as PostgreSQL sends zero: no digits, weight 0, the display scale
				require.Equal(t, []byte{0, 0, 0, 0, 0, 0, 0, byte(scale)}, got)
				continue
			}
			var a, b pgtype.Numeric
			require.NoError(t, m.Scan(oidNumeric, pgtype.BinaryFormatCode, got, &a), "%d scale %d", v, scale)
			require.NoError(t, m.Scan(oidNumeric, pgtype.BinaryFormatCode, want, &b))
			av, _ := a.Value()
			bv, _ := b.Value()
			require.Equal(t, bv, av, "%d scale %d", v, scale)
		}
	}
}
