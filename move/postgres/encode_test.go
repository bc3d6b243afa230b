package postgres

import (
	"context"
	"fmt"
	"math/big"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/extensions"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/errs"
	"github.com/strata-data/strata/internal/testenv"
)

// encCol is one column of an encoder test: its Arrow type, its values (Arrow JSON, one per row) and the text
// PostgreSQL renders for each (NULL for a NULL).
type encCol struct {
	name string
	typ  arrow.DataType
	json string // or a key of prebuilt
	want []string
}

// prebuilt are columns JSON cannot spell (bytes that are not UTF-8 in a string column).
var prebuilt = map[string]func() arrow.Array{
	"@invalid-utf8": func() arrow.Array {
		b := array.NewStringBuilder(memory.DefaultAllocator)
		b.AppendValues([]string{"a", "b", "\xff"}, nil)
		return b.NewArray()
	},
}

func micros(y int, m time.Month, d int) int64 {
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC).UnixMicro()
}

// everyType holds five rows of every Arrow type the target writes: NULLs, unicode, NaN and ±Inf, numerics of
// large, negative and zero scale, timestamps before 2000 and far ahead, empty arrays and NULL elements.
var everyType = []encCol{
	{"id", arrow.PrimitiveTypes.Int32, `[1, 2, 3, 4, 5]`, []string{"1", "2", "3", "4", "5"}},
	{"i1", arrow.PrimitiveTypes.Int8, `[-128, 127, null, 0, 1]`, []string{"-128", "127", "NULL", "0", "1"}},
	{"i2", arrow.PrimitiveTypes.Int16, `[-32768, 32767, null, 0, -1]`, []string{"-32768", "32767", "NULL", "0", "-1"}},
	{"i4", arrow.PrimitiveTypes.Int32, `[-2147483648, 2147483647, null, 0, 7]`, []string{"-2147483648", "2147483647", "NULL", "0", "7"}},
	{"i8", arrow.PrimitiveTypes.Int64, `[-9223372036854775808, 9223372036854775807, null, 0, 9007199254740993]`,
		[]string{"-9223372036854775808", "9223372036854775807", "NULL", "0", "9007199254740993"}},
	{"f4", arrow.PrimitiveTypes.Float32, `["NaN", "+Inf", null, "-Inf", 1.5]`, []string{"NaN", "Infinity", "NULL", "-Infinity", "1.5"}},
	{"f8", arrow.PrimitiveTypes.Float64, `["NaN", "-Inf", null, "+Inf", -1e300]`, []string{"NaN", "-Infinity", "NULL", "Infinity", "-1e+300"}},
	{"ok", arrow.FixedWidthTypes.Boolean, `[true, false, null, true, false]`, []string{"true", "false", "NULL", "true", "false"}},
	{"t", arrow.BinaryTypes.String, `["Zoë ☕ 東京", "", null, "line\nbreak\ttab \"q\" \\ NULL", "x"]`,
		[]string{"Zoë ☕ 東京", "", "NULL", "line\nbreak\ttab \"q\" \\ NULL", "x"}},
	{"lt", arrow.BinaryTypes.LargeString, `["a", "😀", null, "", "b"]`, []string{"a", "😀", "NULL", "", "b"}},
	{"by", arrow.BinaryTypes.Binary, `["AP8Q", "", null, "3q2+7w==", "AA=="]`, []string{`\x00ff10`, `\x`, "NULL", `\xdeadbeef`, `\x00`}},
	{"fb", &arrow.FixedSizeBinaryType{ByteWidth: 3}, `["AP8Q", "AAAA", null, "////", "AQID"]`,
		[]string{`\x00ff10`, `\x000000`, "NULL", `\xffffff`, `\x010203`}},
	{"d", arrow.FixedWidthTypes.Date32, `["0001-01-01", "1999-12-31", null, "9999-12-31", "2000-01-01"]`,
		[]string{"0001-01-01", "1999-12-31", "NULL", "9999-12-31", "2000-01-01"}},
	{"tm", arrow.FixedWidthTypes.Time64us, `[0, 86399999999, null, 1, 43200000000]`,
		[]string{"00:00:00", "23:59:59.999999", "NULL", "00:00:00.000001", "12:00:00"}},
	{"tmn", arrow.FixedWidthTypes.Time64ns, `[1999, 86399999999000, null, 0, 1000]`,
		[]string{"00:00:00.000001", "23:59:59.999999", "NULL", "00:00:00", "00:00:00.000001"}},
	{"ts", &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"},
		fmt.Sprintf(`["0001-01-01T00:00:00Z", "1999-12-31T23:59:59.999999Z", null, %d, "2000-01-01T00:00:00Z"]`, micros(200000, 1, 1)),
		[]string{"0001-01-01 00:00:00+00", "1999-12-31 23:59:59.999999+00", "NULL", "200000-01-01 00:00:00+00", "2000-01-01 00:00:00+00"}},
	{"tsn", &arrow.TimestampType{Unit: arrow.Nanosecond}, `[-1, 0, null, 1500, 946684800000000000]`,
		[]string{"1969-12-31 23:59:59.999999", "1970-01-01 00:00:00", "NULL", "1970-01-01 00:00:00.000001", "2000-01-01 00:00:00"}},
	{"tss", &arrow.TimestampType{Unit: arrow.Second}, `[-62135596800, 0, null, 253402300799, 1]`,
		[]string{"0001-01-01 00:00:00", "1970-01-01 00:00:00", "NULL", "9999-12-31 23:59:59", "1970-01-01 00:00:01"}},
	{"tsm", &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "Europe/Paris"}, `[1, -1, null, 0, 86400000]`,
		[]string{"1970-01-01 00:00:00.001+00", "1969-12-31 23:59:59.999+00", "NULL", "1970-01-01 00:00:00+00", "1970-01-02 00:00:00+00"}},
	{"n38", &arrow.Decimal128Type{Precision: 38, Scale: 10},
		`["1234567890123456789012345678.1234567890", "-0.0000000001", null, "0", "-9999999999999999999999999999.9999999999"]`,
		[]string{"1234567890123456789012345678.1234567890", "-0.0000000001", "NULL", "0.0000000000", "-9999999999999999999999999999.9999999999"}},
	{"nneg", &arrow.Decimal128Type{Precision: 5, Scale: -3}, `["12345000", "-99999000", null, "0", "1000"]`,
		[]string{"12345000", "-99999000", "NULL", "0", "1000"}},
	{"nfrac", &arrow.Decimal128Type{Precision: 38, Scale: 38},
		`["0.00000000000000000000000000000000000001", "-0.99999999999999999999999999999999999999", null, "0", "0.5"]`,
		[]string{"0.00000000000000000000000000000000000001", "-0.99999999999999999999999999999999999999", "NULL",
			"0.00000000000000000000000000000000000000", "0.50000000000000000000000000000000000000"}},
	{"n0", &arrow.Decimal128Type{Precision: 18, Scale: 0}, `["123456789012345678", "-1", null, "0", "10000"]`,
		[]string{"123456789012345678", "-1", "NULL", "0", "10000"}},
	{"n4", &arrow.Decimal128Type{Precision: 9, Scale: 4}, `["12345.6789", "-0.0001", null, "10000", "-1.5"]`,
		[]string{"12345.6789", "-0.0001", "NULL", "10000.0000", "-1.5000"}},
	{"u", extensions.NewUUIDType(), `["a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "00000000-0000-0000-0000-000000000000", null, "ffffffff-ffff-ffff-ffff-ffffffffffff", "00000000-0000-0000-0000-000000000001"]`,
		[]string{"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "00000000-0000-0000-0000-000000000000", "NULL", "ffffffff-ffff-ffff-ffff-ffffffffffff", "00000000-0000-0000-0000-000000000001"}},
	{"j", jsonType, `["{\"b\": 1,  \"a\": [true, null]}", "[]", null, "\"☕\"", "null"]`,
		[]string{`{"b": 1,  "a": [true, null]}`, "[]", "NULL", `"☕"`, "null"}},
	{"iv", arrow.FixedWidthTypes.MonthDayNanoInterval,
		`[{"months": 14, "days": 3, "nanoseconds": 14706789000000}, {"months": 0, "days": -1, "nanoseconds": -1000}, null, {"months": 0, "days": 0, "nanoseconds": 0}, {"months": -1, "days": 0, "nanoseconds": 1500}]`,
		[]string{"1 year 2 mons 3 days 04:05:06.789", "-1 days -00:00:00.000001", "NULL", "00:00:00", "-1 mons +00:00:00.000001"}},
	{"ia", arrow.ListOf(arrow.PrimitiveTypes.Int32), `[[1, null, 3], [], null, [null], [2147483647]]`,
		[]string{"{1,NULL,3}", "{}", "NULL", "{NULL}", "{2147483647}"}},
	{"ta", arrow.ListOf(arrow.BinaryTypes.String), `[["x,y", null, "q\"uote", ""], [], null, ["Zoë"], ["NULL"]]`,
		[]string{`{"x,y",NULL,"q\"uote",""}`, "{}", "NULL", "{Zoë}", `{"NULL"}`}},
	{"fa", arrow.LargeListOf(arrow.PrimitiveTypes.Float64), `[[0.5, "-Inf", "NaN"], [], null, [null], [1e300]]`,
		[]string{"{0.5,-Infinity,NaN}", "{}", "NULL", "{NULL}", "{1e+300}"}},
	{"na", arrow.ListOf(&arrow.Decimal128Type{Precision: 10, Scale: 2}), `[["1.50", "-0.01", null], [], null, ["0"], ["99999999.99"]]`,
		[]string{"{1.50,-0.01,NULL}", "{}", "NULL", "{0.00}", "{99999999.99}"}},
	{"tsa", arrow.ListOf(&arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}), `[["1999-12-31T23:59:59.999999Z", null], [], null, [0], ["2000-01-01T00:00:00Z"]]`,
		[]string{`{"1999-12-31 23:59:59.999999+00",NULL}`, "{}", "NULL", `{"1970-01-01 00:00:00+00"}`, `{"2000-01-01 00:00:00+00"}`}},
	{"da", arrow.ListOf(arrow.FixedWidthTypes.Date32), `[["1999-12-31", "0001-01-01"], [], null, [null, null], ["2000-01-01"]]`,
		[]string{"{1999-12-31,0001-01-01}", "{}", "NULL", "{NULL,NULL}", "{2000-01-01}"}},
	{"ba", arrow.ListOf(arrow.FixedWidthTypes.Boolean), `[[true, false, null], [], null, [true], [false]]`,
		[]string{"{t,f,NULL}", "{}", "NULL", "{t}", "{f}"}},
}

var jsonType = func() arrow.DataType {
	t, err := extensions.NewJSONType(arrow.BinaryTypes.String)
	if err != nil {
		panic(err)
	}
	return t
}()

// encBatches builds the columns' rows as record batches of at most size rows each.
func encBatches(t *testing.T, cols []encCol, size int) (*arrow.Schema, []arrow.RecordBatch) {
	t.Helper()
	var fields []arrow.Field
	var arrs []arrow.Array
	for _, c := range cols {
		var a arrow.Array
		if f, ok := prebuilt[c.json]; ok {
			a = f()
		} else {
			var err error
			a, _, err = array.FromJSON(memory.DefaultAllocator, c.typ, strings.NewReader(c.json))
			require.NoError(t, err, c.name)
		}
		fields = append(fields, arrow.Field{Name: c.name, Type: c.typ, Nullable: true})
		arrs = append(arrs, a)
	}
	sc := arrow.NewSchema(fields, nil)
	whole := array.NewRecordBatch(sc, arrs, int64(arrs[0].Len()))
	var out []arrow.RecordBatch
	for at := int64(0); at < whole.NumRows(); at += int64(size) {
		out = append(out, whole.NewSlice(at, min(at+int64(size), whole.NumRows())))
	}
	return sc, out
}

func encReader(t *testing.T, cols []encCol, size int) array.RecordReader {
	t.Helper()
	sc, batches := encBatches(t, cols, size)
	r, err := array.NewRecordReader(sc, batches)
	require.NoError(t, err)
	return r
}

// textRows reads every column of table as PostgreSQL's text of it (NULL for a NULL), row by row by id.
func textRows(t *testing.T, dsn, table string, cols []encCol) [][]string {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	require.NoError(t, err)
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "SET TimeZone = 'UTC'")
	require.NoError(t, err)
	var sel []string
	for _, c := range cols {
		sel = append(sel, "coalesce("+pgx.Identifier{c.name}.Sanitize()+"::text, 'NULL')")
	}
	rows, err := conn.Query(ctx, "SELECT "+strings.Join(sel, ", ")+" FROM "+table+" ORDER BY id")
	require.NoError(t, err)
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) ([]string, error) {
		v := make([]string, len(cols))
		ptrs := make([]any, len(cols))
		for i := range v {
			ptrs[i] = &v[i]
		}
		return v, r.Scan(ptrs...)
	})
	require.NoError(t, err)
	return out
}

func requireRows(t *testing.T, got [][]string, cols []encCol) {
	t.Helper()
	require.Len(t, got, len(cols[0].want))
	for i, c := range cols {
		col := make([]string, len(got))
		for r := range got {
			col[r] = got[r][i]
		}
		require.Equal(t, c.want, col, "column %s", c.name)
	}
}

// TestWriteTargetEncodesEveryType: every Arrow type the target writes reaches PostgreSQL value for value, in
// batches of two rows: into a table the target creates (COPY straight in), again into it (append), and
// through the temporary table (merge into a table with a key).
func TestWriteTargetEncodesEveryType(t *testing.T) {
	t.Parallel()
	dsn := testenv.PostgresDSN(t)
	db := pgDB(t, dsn)
	ctx := context.Background()
	n, err := WriteTarget(ctx, encReader(t, everyType, 2), TargetOptions{DSN: dsn, Table: "created"})
	require.NoError(t, err)
	require.Equal(t, int64(5), n)
	requireRows(t, textRows(t, dsn, "created", everyType), everyType)
	var types string
	require.NoError(t, db.QueryRow(`SELECT string_agg(format_type(atttypid, atttypmod), ',' ORDER BY attnum) FROM pg_attribute
		WHERE attrelid = 'created'::regclass AND attnum > 0`).Scan(&types))
	require.Equal(t, "integer,smallint,smallint,integer,bigint,real,double precision,boolean,text,text,bytea,bytea,date,"+
		"time without time zone,time without time zone,timestamp with time zone,timestamp without time zone,"+
		"timestamp without time zone,timestamp with time zone,numeric(38,10),numeric(5,-3),numeric(38,38),numeric(18,0),"+
		"numeric(9,4),uuid,json,interval,integer[],text[],double precision[],numeric(10,2)[],timestamp with time zone[],date[],boolean[]", types)

	seed(t, dsn, `CREATE TABLE merged (LIKE created)`, `ALTER TABLE merged ADD PRIMARY KEY (id)`)
	for i := 0; i < 2; i++ { // the second merge updates every row to itself
		_, err = WriteTarget(ctx, encReader(t, everyType, 2), TargetOptions{DSN: dsn, Table: "merged", Mode: "merge", Key: []string{"id"}})
		require.NoError(t, err)
	}
	requireRows(t, textRows(t, dsn, "merged", everyType), everyType)

	_, err = WriteTarget(ctx, encReader(t, everyType, 3), TargetOptions{DSN: dsn, Table: "created", Mode: "append"})
	require.NoError(t, err)
	var rows int
	require.NoError(t, db.QueryRow(`SELECT count(*) FROM created`).Scan(&rows))
	require.Equal(t, 10, rows)
}

// infinities are DuckDB's infinite dates and timestamps as they reach Arrow (the type's largest value and its
// negation, in every time unit), and one finite value each.
var infinities = []encCol{
	{"id", arrow.PrimitiveTypes.Int64, `[1, 2, 3]`, []string{"1", "2", "3"}},
	{"d", arrow.FixedWidthTypes.Date32, `[2147483647, -2147483647, 0]`, []string{"infinity", "-infinity", "1970-01-01"}},
	{"ts", &arrow.TimestampType{Unit: arrow.Microsecond}, `[9223372036854775807, -9223372036854775807, 0]`,
		[]string{"infinity", "-infinity", "1970-01-01 00:00:00"}},
	{"tz", &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, `[9223372036854775807, -9223372036854775807, 0]`,
		[]string{"infinity", "-infinity", "1970-01-01 00:00:00+00"}},
	{"tsn", &arrow.TimestampType{Unit: arrow.Nanosecond}, `[9223372036854775807, -9223372036854775807, 1000]`,
		[]string{"infinity", "-infinity", "1970-01-01 00:00:00.000001"}},
	{"tss", &arrow.TimestampType{Unit: arrow.Second}, `[9223372036854775807, -9223372036854775807, 1]`,
		[]string{"infinity", "-infinity", "1970-01-01 00:00:01"}},
}

// TestWriteTargetInfinities: infinite dates and timestamps arrive in PostgreSQL as its infinity and -infinity
// (until 2026-12-05 a timestamp's infinity was written as a date in the year 294247 and -infinity was refused).
func TestWriteTargetInfinities(t *testing.T) {
	t.Parallel()
	dsn := testenv.PostgresDSN(t)
	n, err := WriteTarget(context.Background(), encReader(t, infinities, 2), TargetOptions{DSN: dsn, Table: "infinities"})
	require.NoError(t, err)
	require.Equal(t, int64(3), n)
	requireRows(t, textRows(t, dsn, "infinities", infinities), infinities)
}

// crossTypes are columns whose Arrow type is written straight into another PostgreSQL type (no cast).
var crossTypes = []encCol{
	{"id", arrow.PrimitiveTypes.Int64, `[1, 2, 3]`, []string{"1", "2", "3"}},
	{"small", arrow.PrimitiveTypes.Int32, `[-32768, null, 32767]`, []string{"-32768", "NULL", "32767"}},
	{"wide", arrow.PrimitiveTypes.Int16, `[-32768, null, 32767]`, []string{"-32768", "NULL", "32767"}},
	{"f", arrow.PrimitiveTypes.Float32, `[0.1, "NaN", "-Inf"]`, []string{"0.10000000149011612", "NaN", "-Infinity"}},
	{"j", arrow.BinaryTypes.String, `["{\"a\": [1, 2]}", null, "3"]`, []string{`{"a": [1, 2]}`, "NULL", "3"}},
	{"jb", arrow.BinaryTypes.String, `["{\"b\": 1,  \"a\": \"☕\"}", null, "[]"]`, []string{`{"a": "☕", "b": 1}`, "NULL", "[]"}},
	{"jx", jsonType, `["{\"z\": null}", null, "true"]`, []string{`{"z": null}`, "NULL", "true"}},
	{"vc", arrow.BinaryTypes.String, `["Zoë", null, ""]`, []string{"Zoë", "NULL", ""}},
	{"u", &arrow.FixedSizeBinaryType{ByteWidth: 16}, `["oO68mZwLTvi7bWu5vTgKEQ==", null, "AAAAAAAAAAAAAAAAAAAAAQ=="]`,
		[]string{"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "NULL", "00000000-0000-0000-0000-000000000001"}},
	{"n", &arrow.Decimal128Type{Precision: 20, Scale: 4}, `["1.2345", null, "-0.0050"]`, []string{"1.2345", "NULL", "-0.0050"}},
	{"nr", &arrow.Decimal128Type{Precision: 20, Scale: 4}, `["1.2345", null, "-0.0050"]`, []string{"1.23", "NULL", "-0.01"}},
	{"la", arrow.ListOf(arrow.PrimitiveTypes.Int16), `[[1, null], null, []]`, []string{"{1,NULL}", "NULL", "{}"}},
	{"ts0", &arrow.TimestampType{Unit: arrow.Microsecond}, `["2026-01-01T00:00:00.6", null, "1999-12-31T23:59:59.4"]`,
		[]string{"2026-01-01 00:00:01", "NULL", "1999-12-31 23:59:59"}},
	{"tz2", &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "UTC"}, `[1, null, 7]`,
		[]string{"1970-01-01 00:00:00+00", "NULL", "1970-01-01 00:00:00.01+00"}},
	{"tm1", arrow.FixedWidthTypes.Time64us, `[150000, null, 0]`, []string{"00:00:00.2", "NULL", "00:00:00"}},
}

// TestWriteTargetCrossTypes: a column is written straight into a table column of another type when the value
// converts exactly (integers of any width in range, real into double, text into varchar, json and jsonb, 16
// bytes into uuid; a numeric into a numeric of another scale and a time or timestamp into one of fewer
// fractional digits, rounded as PostgreSQL does).
func TestWriteTargetCrossTypes(t *testing.T) {
	t.Parallel()
	dsn := testenv.PostgresDSN(t)
	seed(t, dsn, `CREATE TABLE cross_types (id bigint, small smallint, wide bigint, f float8, j json, jb jsonb, jx jsonb,
		vc varchar, u uuid, n numeric, nr numeric(8,2), la bigint[], ts0 timestamp(0), tz2 timestamptz(2), tm1 time(1),
		other text DEFAULT 'kept')`)
	ctx := context.Background()
	_, err := WriteTarget(ctx, encReader(t, crossTypes, 2), TargetOptions{DSN: dsn, Table: "cross_types"})
	require.NoError(t, err)
	requireRows(t, textRows(t, dsn, "cross_types", crossTypes), crossTypes)
	require.Equal(t, [][]string{{"kept"}, {"kept"}, {"kept"}}, textRows(t, dsn, "cross_types", []encCol{{name: "other"}}))

	types, ok := direct(arrow.NewSchema([]arrow.Field{{Name: "u", Type: arrow.BinaryTypes.String}, {Name: "v", Type: arrow.BinaryTypes.String}}, nil),
		map[string]string{"u": "uuid", "v": "character varying(3)"})
	require.False(t, ok, "text into uuid or varchar(n) takes the cast: %v", types)
	types, ok = direct(arrow.NewSchema([]arrow.Field{{Name: "t", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}}}, nil),
		map[string]string{"t": "timestamp(3) with time zone"})
	require.True(t, ok)
	require.Equal(t, []string{"timestamp(3) with time zone"}, types)
}

// TestWriteTargetRefusesBadValues: a value the target column cannot hold fails the write with an error naming
// its column and row (counted over the whole write, across batches), and nothing is written (nor the run's
// mark), whether the rows go straight in (append) or through the temporary table (merge, whose columns take
// the target's types where the encoder writes them).
func TestWriteTargetRefusesBadValues(t *testing.T) {
	t.Parallel()
	dsn := testenv.PostgresDSN(t)
	db := pgDB(t, dsn)
	seed(t, dsn, `CREATE TABLE bad (id int PRIMARY KEY, n numeric(5,2), t text, s smallint, j json)`, `INSERT INTO bad (id) VALUES (100)`)
	ctx := context.Background()
	good := func(name string, typ arrow.DataType, json string) encCol {
		return encCol{name: name, typ: typ, json: json}
	}
	ids := good("id", arrow.PrimitiveTypes.Int32, `[1, 2, 3]`)
	nums := good("n", &arrow.Decimal128Type{Precision: 10, Scale: 2}, `[1, 2, 3]`)
	texts := good("t", arrow.BinaryTypes.String, `["a", "b", "c"]`)
	smalls := good("s", arrow.PrimitiveTypes.Int32, `[1, 2, 3]`)
	jsons := good("j", arrow.BinaryTypes.String, `["1", "2", "3"]`)
	for _, c := range []struct {
		name  string
		cols  []encCol
		modes []string
		want  string
	}{
		{"numeric too large", []encCol{ids, good("n", nums.typ, `["1.00", "2.00", "12345.67"]`), texts, smalls, jsons},
			[]string{"append", "merge"}, `column "n", row 3: numeric field overflow`},
		{"NUL in text", []encCol{ids, nums, good("t", texts.typ, `["a", "b\u0000c", "d"]`), smalls, jsons},
			[]string{"append", "merge"}, `column "t", row 2: the text holds a NUL byte`},
		{"smallint out of range", []encCol{ids, nums, texts, good("s", smalls.typ, `[1, 2, 40000]`), jsons},
			[]string{"append", "merge"}, `column "s", row 3: 40000 is out of range for type smallint`},
		{"invalid json", []encCol{ids, nums, texts, smalls, good("j", jsons.typ, `["1", "{", "3"]`)},
			[]string{"append", "merge"}, `column "j", row 2: invalid input syntax for type json`},
		{"invalid utf-8", []encCol{ids, nums, good("t", texts.typ, "@invalid-utf8"), smalls, jsons},
			[]string{"append", "merge"}, `row 3: invalid byte sequence for encoding "UTF8"`},
	} {
		for _, mode := range c.modes {
			t.Run(c.name+"/"+mode, func(t *testing.T) {
				_, err := WriteTarget(ctx, encReader(t, c.cols, 2), TargetOptions{DSN: dsn, Table: "bad", Mode: mode, Key: []string{"id"},
					Mark: &Mark{Job: "j", Env: "dev", Run: "r"}})
				require.Equal(t, errs.BadData, errs.KindOf(err), err)
				require.ErrorContains(t, err, "postgres target bad: ")
				require.ErrorContains(t, err, c.want)
				var ids string
				require.NoError(t, db.QueryRow(`SELECT string_agg(id::text, ',') FROM bad`).Scan(&ids))
				require.Equal(t, "100", ids)
				_, ok, err := ReadMark(ctx, dsn, "bad", "j", "dev")
				require.NoError(t, err)
				require.False(t, ok)
			})
		}
	}
}

// FuzzEncodeNumericArray: a decimal of any scale (-38..38) and up to 38 digits, and arrays of decimals and of
// bigints (NULL elements, empty arrays) encoded for COPY read back from PostgreSQL exactly: as PostgreSQL's text
// and as pgx decodes them.
//
//	./scripts/test ./move/postgres -run XXX -fuzz FuzzEncodeNumericArray -fuzztime 60s
func FuzzEncodeNumericArray(f *testing.F) {
	f.Add(int64(0), uint64(0), int8(0), []byte{})
	f.Add(int64(0), uint64(1), int8(38), []byte{0, 1, 255})
	f.Add(int64(0x4B3B4CA85A86C47A), uint64(0x098A223FFFFFFFFF), int8(0), []byte{5})
	f.Add(int64(-0x4B3B4CA85A86C47B), uint64(0xF675DDC000000001), int8(10), []byte{128, 127, 10})
	f.Add(int64(0), uint64(123456789), int8(-5), []byte{7, 14})
	f.Add(int64(-1), uint64(1<<64-10001), int8(4), []byte{1, 2, 3, 4, 6})
	f.Add(int64(0), uint64(10000), int8(3), []byte{20})
	dsn := testenv.PostgresDSN(f)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	require.NoError(f, err)
	f.Cleanup(func() { _ = conn.Close(ctx) })
	_, err = conn.Exec(ctx, `CREATE TABLE fz (n numeric, a numeric[], i bigint[])`)
	require.NoError(f, err)
	limit := new(big.Int).Exp(big.NewInt(10), big.NewInt(38), nil)
	f.Fuzz(func(t *testing.T, hi int64, lo uint64, scale8 int8, elems []byte) {
		scale := int32(scale8) % 39
		v := decimal128.New(hi, lo).BigInt()
		v.Rem(v, limit) // at most 38 digits, sign kept
		if len(elems) > 20 {
			elems = elems[:20]
		}
		dt := &arrow.Decimal128Type{Precision: 38, Scale: scale}
		nb := array.NewDecimal128Builder(memory.DefaultAllocator, dt)
		nb.Append(decimal128.FromBigInt(v))
		ab := array.NewListBuilder(memory.DefaultAllocator, dt)
		ib := array.NewListBuilder(memory.DefaultAllocator, arrow.PrimitiveTypes.Int64)
		ab.Append(true)
		ib.Append(true)
		wantA, wantI := []string{}, []string{}
		for _, b := range elems {
			x := int64(int8(b)) * 1_000_003
			if b%5 == 0 {
				ab.ValueBuilder().AppendNull()
				ib.ValueBuilder().AppendNull()
				wantA, wantI = append(wantA, "NULL"), append(wantI, "NULL")
				continue
			}
			ab.ValueBuilder().(*array.Decimal128Builder).Append(decimal128.FromI64(x))
			ib.ValueBuilder().(*array.Int64Builder).Append(x)
			wantA, wantI = append(wantA, decimalText(big.NewInt(x), scale)), append(wantI, fmt.Sprint(x))
		}
		sc := arrow.NewSchema([]arrow.Field{{Name: "n", Type: dt}, {Name: "a", Type: arrow.ListOf(dt)},
			{Name: "i", Type: arrow.ListOf(arrow.PrimitiveTypes.Int64)}}, nil)
		rb := array.NewRecordBatch(sc, []arrow.Array{nb.NewArray(), ab.NewArray(), ib.NewArray()}, 1)
		rdr, err := array.NewRecordReader(sc, []arrow.RecordBatch{rb})
		require.NoError(t, err)
		tx, err := conn.Begin(ctx)
		require.NoError(t, err)
		defer func() { _ = tx.Rollback(ctx) }()
		_, err = copyIn(ctx, tx, pgx.Identifier{"fz"}, "fz", []string{"n", "a", "i"}, []string{"numeric", "numeric[]", "bigint[]"}, rdr)
		require.NoError(t, err)
		var nText, aText, iText string
		var n pgtype.Numeric
		var is []*int64
		require.NoError(t, tx.QueryRow(ctx, `SELECT n::text, a::text, i::text, n, i FROM fz`).Scan(&nText, &aText, &iText, &n, &is))
		require.Equal(t, decimalText(v, scale), nText)
		require.Equal(t, "{"+strings.Join(wantA, ",")+"}", aText)
		require.Equal(t, "{"+strings.Join(wantI, ",")+"}", iText)
		// pgx's value: n.Int × 10^n.Exp == v × 10^-scale.
		got, want := new(big.Int).Set(n.Int), new(big.Int).Set(v)
		if e := int64(n.Exp) + int64(scale); e >= 0 {
			got.Mul(got, new(big.Int).Exp(big.NewInt(10), big.NewInt(e), nil))
		} else {
			want.Mul(want, new(big.Int).Exp(big.NewInt(10), big.NewInt(-e), nil))
		}
		require.Zero(t, got.Cmp(want), "pgx read %s×10^%d for %s at scale %d", n.Int, n.Exp, v, scale)
		require.Len(t, is, len(wantI))
		for k, p := range is {
			if p == nil {
				require.Equal(t, "NULL", wantI[k])
			} else {
				require.Equal(t, wantI[k], fmt.Sprint(*p))
			}
		}
	})
}

// decimalText is PostgreSQL's text of unscaled × 10^-scale with max(scale, 0) decimals.
func decimalText(unscaled *big.Int, scale int32) string {
	neg := unscaled.Sign() < 0
	digits := new(big.Int).Abs(unscaled).String()
	if scale <= 0 {
		if digits != "0" {
			digits += strings.Repeat("0", int(-scale))
		}
	} else {
		if len(digits) <= int(scale) {
			digits = strings.Repeat("0", int(scale)-len(digits)+1) + digits
		}
		digits = digits[:len(digits)-int(scale)] + "." + digits[len(digits)-int(scale):]
	}
	if neg {
		return "-" + digits
	}
	return digits
}

// countingReader hands out the same batch n times, then fails with err if set; it counts its Next calls.
type countingReader struct {
	array.RecordReader
	batch arrow.RecordBatch
	n     int
	err   error
	calls atomic.Int64
}

func (c *countingReader) Next() bool {
	return c.calls.Add(1) <= int64(c.n)
}

func (c *countingReader) RecordBatch() arrow.RecordBatch { return c.batch }
func (c *countingReader) Schema() *arrow.Schema          { return c.batch.Schema() }
func (c *countingReader) Err() error {
	if c.calls.Load() > int64(c.n) {
		return c.err
	}
	return nil
}

// TestWriteTargetStopsReadingOnFailure: the source is read a few batches ahead of the COPY, no further: a bad
// value in the first batch stops the reading, and the source is not read once the write has returned; a source
// failing mid-stream fails the write with its error, and nothing is written.
func TestWriteTargetStopsReadingOnFailure(t *testing.T) {
	t.Parallel()
	dsn := testenv.PostgresDSN(t)
	db := pgDB(t, dsn)
	seed(t, dsn, `CREATE TABLE stop (id int, t text)`)
	ctx := context.Background()
	cols := []encCol{{"id", arrow.PrimitiveTypes.Int32, `[1, 2]`, nil}, {"t", arrow.BinaryTypes.String, `["a\u0000", "b"]`, nil}}
	_, batches := encBatches(t, cols, 2)
	src := &countingReader{batch: batches[0], n: 1000}
	_, err := WriteTarget(ctx, src, TargetOptions{DSN: dsn, Table: "stop"})
	require.ErrorContains(t, err, `column "t", row 1: the text holds a NUL byte`)
	calls := src.calls.Load()
	require.Less(t, calls, int64(readAheadDepth+3))
	time.Sleep(50 * time.Millisecond)
	require.Equal(t, calls, src.calls.Load())

	cols[1].json = `["a", "b"]`
	_, batches = encBatches(t, cols, 2)
	src = &countingReader{batch: batches[0], n: 100, err: errs.E(errs.Unavailable, "the source went away")}
	_, err = WriteTarget(ctx, src, TargetOptions{DSN: dsn, Table: "stop"})
	require.Equal(t, errs.Unavailable, errs.KindOf(err), err)
	require.ErrorContains(t, err, "the source went away")
	var n int
	require.NoError(t, db.QueryRow(`SELECT count(*) FROM stop`).Scan(&n))
	require.Zero(t, n)
}
