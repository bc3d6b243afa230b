package sqlwire

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseArray(t *testing.T) {
	for _, c := range []struct {
		in   string
		want [][]byte
		err  bool
	}{
		{"{}", nil, false},
		{"{1,NULL,3}", [][]byte{[]byte("1"), nil, []byte("3")}, false},
		{`{"a b","NULL",null,"x\"y\\z",""}`, [][]byte{[]byte("a b"), []byte("NULL"), nil, []byte(`x"y\z`), {}}, false},
		{"[0:1]={7,8}", [][]byte{[]byte("7"), []byte("8")}, false},
		{" { 1 , 2 } ", [][]byte{[]byte("1"), []byte("2")}, false},
		{"{{1,2},{3,4}}", nil, true},
		{"1,2", nil, true},
	} {
		got, err := parseArray(c.in)
		if c.err {
			require.Error(t, err, c.in)
			continue
		}
		require.NoError(t, err, c.in)
		require.Equal(t, c.want, got, c.in)
	}
}

func TestArrayLiteralIsInjectionSafe(t *testing.T) {
	lit, err := arrayLiteral(`{"1'); DROP TABLE x; --",2}`, oidInt4)
	require.NoError(t, err)
	require.Equal(t, `CAST([CAST('1''); DROP TABLE x; --' AS INTEGER), CAST('2' AS INTEGER)] AS INTEGER[])`, lit)
}

func TestCastParamOIDs(t *testing.T) {
	got := castParamOIDs("SELECT $1::oid[], $2::INT4[], $3::pg_catalog.timetz, $4::BIGINT, '$5::oid' -- $6::oid")
	require.Equal(t, map[int]uint32{1: oidOIDArray, 2: 1007, 3: oidTimeTZ}, got)
}

func TestTimeTZBinaryRoundTrip(t *testing.T) {
	for _, s := range []string{"12:00:00.5+05:30", "00:00:00+00", "23:59:59.999999-03", "10:11:12+05:30:15", "01:02:03-09:30"} {
		b := appendTimeTZ(nil, s)
		require.Len(t, b, 12)
		back, err := timeTZText(b)
		require.NoError(t, err)
		require.Equal(t, s, string(back))
	}
}
