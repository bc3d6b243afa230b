package sqlwire

import (
	"context"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/strata-data/strata/engine"
	"github.com/strata-data/strata/lakesql"
)

// Hints sqlwire adds to the engine's (engine.ColumnHints) for types the Arrow form cannot show.
const (
	hintOID    = "oid"    // an int64 column described and sent as oid (uint32)
	hintTimeTZ = "timetz" // a VARCHAR column holding DuckDB's text of TIME WITH TIME ZONE
)

// typedQuery runs a read (conn.query) and returns its result with the hints its columns are encoded by:
// the engine's, plus those of the types DuckDB's Arrow output loses. A time of day with a time zone comes
// out of Arrow as a plain time (the offset is dropped): the engine marks such columns (engine.HintTimeTZ,
// with "[]" per list level around them), and a query with any is run again with those columns cast to text
// (lists of text), which keeps the offset.
func (c *conn) typedQuery(ctx context.Context, sql string, params [][]byte, oids []uint32) (*engine.Result, []string, error) {
	res, err := c.query(ctx, sql, params, oids)
	if err != nil {
		return nil, nil, err
	}
	hints := append([]string{}, res.ColumnHints()...)
	clientHints(sql, res.Schema(), hints)
	tz := map[int]string{} // column: its list levels ("", "[]", ...)
	for j, h := range hints {
		if rest, ok := strings.CutPrefix(h, engine.HintTimeTZ); ok {
			tz[j] = rest
			hints[j] = "" // plain times, unless the query can be run again with the column as text
		}
	}
	if len(tz) == 0 || !wrappable(sql) {
		return res, hints, nil
	}
	wrapped := castColumns(sql, res.Schema(), tz)
	_ = res.Close()
	res, err = c.query(ctx, wrapped, params, oids)
	if err != nil {
		return nil, nil, err
	}
	for j, levels := range tz {
		hints[j] = hintTimeTZ + levels
	}
	return res, hints, nil
}

// wrappable reports whether sql is a query that can be the subquery of a SELECT.
func wrappable(sql string) bool {
	switch lakesql.FirstWord(sql) {
	case "SELECT", "WITH", "VALUES", "FROM", "TABLE":
		return true
	}
	return false
}

// castColumns wraps sql so that the columns at the positions of cast come out as text (with the list levels
// cast gives them: "[]" for a list of text); the others and every column's name stay as they were
// (positional aliases, so that duplicate names are no obstacle).
func castColumns(sql string, s *arrow.Schema, cast map[int]string) string {
	alias := make([]string, s.NumFields())
	cols := make([]string, s.NumFields())
	for j, f := range s.Fields() {
		alias[j] = "strata_c" + strconv.Itoa(j)
		expr := alias[j]
		if levels, ok := cast[j]; ok {
			expr = "CAST(" + expr + " AS VARCHAR" + levels + ")"
		}
		cols[j] = expr + " AS " + quoteIdent(f.Name)
	}
	return "SELECT " + strings.Join(cols, ", ") + " FROM (" + sql + "\n) AS strata_tz(" + strings.Join(alias, ", ") + ")"
}

// clientHints types the columns of the type-introspection queries drivers send and decode with built-in
// codecs only. asyncpg knows oid[] and text[] but no other array type without introspecting it, so its own
// introspection query (the one with typeinfo_tree) must describe attrtypoids as oid[] — as int8[] it
// introspects int8[] with the same query, forever.
func clientHints(sql string, s *arrow.Schema, hints []string) {
	if !strings.Contains(sql, "typeinfo_tree") {
		return
	}
	for j, f := range s.Fields() {
		switch f.Name {
		case "oid", "basetype", "elemtype", "range_subtype":
			hints[j] = hintOID
		case "attrtypoids":
			hints[j] = hintOID + "[]"
		}
	}
}

// castParamOIDs returns the PostgreSQL types of parameters the client's SQL casts itself ($1::oid[],
// $2::int4[]): those casts say what the client will send better than DuckDB's inference, which knows
// neither oid nor PostgreSQL's array type names.
func castParamOIDs(sql string) map[int]uint32 {
	out := map[int]uint32{}
	lakesql.Scan(sql, func(i int) {
		if sql[i] != '$' {
			return
		}
		j := i + 1
		for j < len(sql) && sql[j] >= '0' && sql[j] <= '9' {
			j++
		}
		n, err := strconv.Atoi(sql[i+1 : j])
		if err != nil || !strings.HasPrefix(sql[j:], "::") {
			return
		}
		k := j + 2
		for k < len(sql) && (isIdentByte(sql[k]) || sql[k] == '[' || sql[k] == ']' || sql[k] == '.') {
			k++
		}
		name := strings.TrimPrefix(strings.ToLower(sql[j+2:k]), "pg_catalog.")
		if oid, ok := pgTypeNames[name]; ok {
			out[n] = oid
		}
	})
	return out
}

func isIdentByte(b byte) bool {
	return b == '_' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9'
}

// pgTypeNames are the PostgreSQL names of parameter casts castParamOIDs recognises.
var pgTypeNames = map[string]uint32{
	"oid": oidOID, "oid[]": oidOIDArray, "_oid": oidOIDArray, "timetz": oidTimeTZ,
	"int2[]": 1005, "smallint[]": 1005, "int4[]": 1007, "int[]": 1007, "integer[]": 1007,
	"int8[]": 1016, "bigint[]": 1016, "text[]": 1009, "varchar[]": 1015, "float4[]": 1021, "real[]": 1021,
	"float8[]": 1022, "bool[]": 1000, "boolean[]": 1000, "numeric[]": 1231, "uuid[]": 2951,
}

// arrayElems maps an array type OID to its element type OID (the inverse of arrayOIDs).
var arrayElems = func() map[uint32]uint32 {
	m := map[uint32]uint32{}
	for e, a := range arrayOIDs {
		m[a] = e
	}
	return m
}()

// arrayLiteral turns the text form of a one-dimensional PostgreSQL array ({1,2,NULL}, {"a b",c}) into a
// DuckDB list of typed literals: [CAST('1' AS INTEGER), ..., NULL].
func arrayLiteral(v string, elemOID uint32) (string, error) {
	elems, err := parseArray(v)
	if err != nil {
		return "", err
	}
	lits := make([]string, len(elems))
	for i, e := range elems {
		lits[i] = literal(e, elemOID)
	}
	list := "[" + strings.Join(lits, ", ") + "]"
	if t, ok := duckCasts[elemOID]; ok {
		return "CAST(" + list + " AS " + t + "[])", nil
	}
	return list, nil
}

// parseArray splits a one-dimensional array literal into its elements; nil stands for NULL.
func parseArray(v string) ([][]byte, error) {
	v = strings.TrimSpace(v)
	if i := strings.Index(v, "="); strings.HasPrefix(v, "[") && i > 0 {
		v = v[i+1:] // explicit bounds: [1:3]={...}
	}
	if len(v) < 2 || v[0] != '{' || v[len(v)-1] != '}' {
		return nil, fmt.Errorf("array value %q: expected {elem,...}", v)
	}
	body := v[1 : len(v)-1]
	var out [][]byte
	for i := 0; i < len(body); {
		for i < len(body) && isSpace(body[i]) {
			i++
		}
		if i < len(body) && body[i] == '{' {
			return nil, fmt.Errorf("array value %q: multi-dimensional arrays are not supported as parameters", v)
		}
		var cur []byte
		quoted := false
		if i < len(body) && body[i] == '"' {
			quoted = true
			i++
			for i < len(body) && body[i] != '"' {
				if body[i] == '\\' && i+1 < len(body) {
					i++
				}
				cur = append(cur, body[i])
				i++
			}
			i++ // closing quote
		} else {
			for i < len(body) && body[i] != ',' {
				if body[i] == '\\' && i+1 < len(body) {
					i++
				}
				cur = append(cur, body[i])
				i++
			}
			cur = []byte(strings.TrimSpace(string(cur)))
		}
		if !quoted && strings.EqualFold(string(cur), "NULL") {
			cur = nil
		} else if cur == nil {
			cur = []byte{}
		}
		out = append(out, cur)
		for i < len(body) && body[i] != ',' {
			i++
		}
		i++ // the comma
	}
	return out, nil
}

// appendTimeTZ encodes DuckDB's text of a TIME WITH TIME ZONE ("12:00:00.5+05:30", "23:59:59-03") in
// PostgreSQL's binary form (timetz_send): microseconds of the day, then the zone in seconds west of UTC.
func appendTimeTZ(b []byte, s string) []byte {
	at := strings.LastIndexAny(s, "+-")
	clock, zone := s, ""
	if at > 0 {
		clock, zone = s[:at], s[at:]
	}
	var us int64
	parts := strings.SplitN(clock, ":", 3)
	units := []int64{3_600_000_000, 60_000_000}
	for k, p := range parts {
		if k < 2 {
			v, _ := strconv.ParseInt(p, 10, 64)
			us += v * units[k]
			continue
		}
		sec, frac, _ := strings.Cut(p, ".")
		v, _ := strconv.ParseInt(sec, 10, 64)
		us += v * 1_000_000
		if frac != "" {
			frac = (frac + "000000")[:6]
			f, _ := strconv.ParseInt(frac, 10, 64)
			us += f
		}
	}
	var off int64
	if zone != "" {
		zp := strings.SplitN(zone[1:], ":", 3)
		mul := []int64{3600, 60, 1}
		for k, p := range zp {
			v, _ := strconv.ParseInt(p, 10, 64)
			off += v * mul[k]
		}
		if zone[0] == '-' {
			off = -off
		}
	}
	b = binary.BigEndian.AppendUint64(b, uint64(us))
	return binary.BigEndian.AppendUint32(b, uint32(int32(-off)))
}

// timeTZText turns a binary timetz parameter (timetz_send) into its text form, "10:00:00+02".
func timeTZText(v []byte) ([]byte, error) {
	if len(v) != 12 {
		return nil, fmt.Errorf("timetz: binary value of %d bytes, want 12", len(v))
	}
	us := int64(binary.BigEndian.Uint64(v))
	west := int32(binary.BigEndian.Uint32(v[8:]))
	b := appendClock(nil, time.Duration(us)*time.Microsecond)
	t := time.Date(2000, 1, 1, 0, 0, 0, 0, time.FixedZone("", int(-west)))
	return appendOffset(b, t), nil
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
