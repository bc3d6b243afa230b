package move

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/errs"
)

const ordersJob = `name: orders_daily
params:
  day: {type: date, default: today}
  min_amount: {type: float, default: 0}
source:
  type: postgres
  dsn: ${WAREHOUSE_DSN}
  query: SELECT * FROM sales.orders WHERE amount >= {{ min_amount }} AND updated_at > {{ watermark }}
incremental: {column: updated_at}
target: {type: lake, table: raw.orders}
on_error: {max_bad_rows: 10}
columns:
  - {name: amt, rename: amount}
  - {name: note, drop: true}
schema: evolve
`

func TestParseJob(t *testing.T) {
	t.Parallel()
	s, err := Parse("jobs/orders.yaml", []byte(ordersJob))
	require.NoError(t, err)
	require.Equal(t, "orders_daily", s.Name)
	require.Equal(t, []string{"day", "min_amount"}, s.ParamOrder)
	require.Equal(t, TypeDate, s.Params["day"].Type)
	require.Equal(t, "${WAREHOUSE_DSN}", s.Source.DSN)
	require.Equal(t, "append", s.Target.Mode)
	require.Equal(t, "updated_at", s.Incremental.Column)
	require.Equal(t, 10, s.OnError.MaxBadRows)
	require.Equal(t, "evolve", s.Schema)
	require.Len(t, s.Columns, 2)
	require.True(t, s.Columns[1].Drop)
}

// TestParseJobRefusesBadSpecs: every mistake names the file, the line and the field.
func TestParseJobRefusesBadSpecs(t *testing.T) {
	t.Parallel()
	base := "name: j\nsource: {type: files, path: x.csv}\ntarget: {type: lake, table: raw.x}\n"
	cases := []struct{ name, body, want string }{
		{"unknown top key", base + "shedule: daily\n", `jobs/j.yaml:4: unknown field "shedule" in the job`},
		{"unknown source key", "name: j\nsource:\n  type: files\n  paht: x.csv\ntarget: {type: lake, table: raw.x}\n", `jobs/j.yaml:4: unknown field "paht" in source`},
		{"unknown param key", base + "params:\n  day: {type: date, defualt: today}\n", `jobs/j.yaml:5: unknown field "defualt" in params`},
		{"unknown column key", base + "columns:\n  - {name: a, renmae: b}\n", `jobs/j.yaml:5: unknown field "renmae" in columns`},
		{"bad param type", base + "params:\n  day: {type: datetime}\n", `jobs/j.yaml:5: param "day": type "datetime"`},
		{"wrong value type", base + "on_error: {max_bad_rows: many}\n", `jobs/j.yaml:4: on_error.max_bad_rows: "many" is not a whole number`},
		{"a list for a number", base + "on_error:\n  max_bad_rows: [1]\n", `jobs/j.yaml:5: on_error.max_bad_rows: a list is not a whole number`},
		{"a scalar for a list", "name: j\nsource: {type: files, path: x.csv}\ntarget: {type: lake, table: raw.x, mode: merge, key: id}\n",
			`jobs/j.yaml:3: target.key: "id" is not a list, e.g. [a, b]`},
		{"a list for a value", "name: j\nsource: {type: files, path: [a.csv, b.csv]}\ntarget: {type: lake, table: raw.x}\n",
			`jobs/j.yaml:2: source.path: a list is not a single value`},
		{"a word for a snapshot", "name: j\nsource: {type: lake, table: raw.y, snapshot: latest}\ntarget: {type: lake, table: raw.x}\n",
			`jobs/j.yaml:2: source.snapshot: "latest" is not a whole number`},
		{"a word for a bool", base + "columns:\n  - {name: a, drop: maybe}\n", `jobs/j.yaml:5: columns[0].drop: "maybe" is not true or false`},
		{"no name", "source: {type: files, path: x.csv}\ntarget: {type: lake, table: raw.x}\n", "a job needs a name"},
		{"bad source type", "name: j\nsource: {type: ftp}\ntarget: {type: lake, table: raw.x}\n", `source type "ftp"`},
		{"bad mode", "name: j\nsource: {type: files, path: x.csv}\ntarget: {type: lake, table: raw.x, mode: upsert}\n", `mode "upsert"`},
		{"merge without key", "name: j\nsource: {type: files, path: x.csv}\ntarget: {type: lake, table: raw.x, mode: merge}\n", "mode merge needs key:"},
		{"partition without columns", "name: j\nsource: {type: files, path: x.csv}\ntarget: {type: lake, table: raw.x, mode: overwrite-partition}\n", "needs partition:"},
		{"key without merge", "name: j\nsource: {type: files, path: x.csv}\ntarget: {type: lake, table: raw.x, key: [id]}\n", "key: is for mode merge"},
		{"partition without its mode", "name: j\nsource: {type: files, path: x.csv}\ntarget: {type: lake, table: raw.x, mode: merge, key: [id], partition: [d]}\n", "partition: is for mode overwrite-partition"},
		{"files target without path", "name: j\nsource: {type: files, path: x.csv}\ntarget: {type: files}\n", "a files target needs path:"},
		{"files target merge", "name: j\nsource: {type: files, path: x.csv}\ntarget: {type: files, path: out, mode: merge, key: [a]}\n", `a files target takes append, overwrite`},
		{"files target bad size", "name: j\nsource: {type: files, path: x.csv}\ntarget: {type: files, path: out, max_file_size: big}\n", `"big" is not a size`},
		{"files target bad format", "name: j\nsource: {type: files, path: x.csv}\ntarget: {type: files, path: out, format: xml}\n", `writes csv, jsonl or parquet`},
		{"postgres target without dsn", "name: j\nsource: {type: files, path: x.csv}\ntarget: {type: postgres, table: t}\n", "needs dsn:"},
		{"partition_by on lake", "name: j\nsource: {type: files, path: x.csv}\ntarget: {type: lake, table: raw.x, partition_by: [d]}\n", "belong to a files target"},
		{"quarantine not a table", "name: j\nsource: {type: files, path: x.csv}\ntarget: {type: lake, table: raw.x}\non_error: {max_bad_rows: 1, quarantine: x}\n", `quarantine "x"`},
		{"quarantine without bad rows", "name: j\nsource: {type: files, path: x.csv}\ntarget: {type: lake, table: raw.x}\non_error: {quarantine: raw.q}\n", "needs on_error.max_bad_rows above 0"},
		{"files incremental by column", "name: j\nsource: {type: files, path: x.csv}\nincremental: {column: a}\ntarget: {type: lake, table: raw.x}\n", "incremental: {by: name}"},
		{"lake incremental without by", "name: j\nsource: {type: lake, table: raw.y}\nincremental: {by: name}\ntarget: {type: lake, table: raw.x}\n", "incremental: {by: snapshot}"},
		{"key twice", "name: j\nsource: {type: files, path: x.csv}\ntarget: {type: lake, table: raw.x, mode: merge, key: [id, id]}\n", `column "id" is listed twice`},
		{"undeclared placeholder", "name: j\nsource: {type: files, path: 'x{{ day }}.csv'}\ntarget: {type: lake, table: raw.x}\n", "{{ day }} names no param"},
		{"incremental without watermark", "name: j\nsource: {type: postgres, dsn: x, query: SELECT 1}\nincremental: {column: u}\ntarget: {type: lake, table: raw.x}\n", "must use {{ watermark }}"},
		{"not a mapping", "- a\n- b\n", "a YAML mapping"},
		{"bad cast", base + "columns:\n  - {name: a, cast: varchar}\n", `cast "varchar"`},
		{"env var in a path", "name: j\nsource: {type: files, path: '${DATA}/x.csv'}\ntarget: {type: lake, table: raw.x}\n",
			"jobs/j.yaml:2: source.path: ${DATA}: only dsn: reads the environment"},
		{"env var in a query", "name: j\nsource:\n  type: postgres\n  dsn: ${PG}\n  query: SELECT * FROM ${SCHEMA}.t\ntarget: {type: lake, table: raw.x}\n",
			"jobs/j.yaml:5: source.query: ${SCHEMA}: only dsn: reads the environment"},
		{"bad env var name", "name: j\nsource:\n  type: postgres\n  dsn: ${WAREHOUSE-DSN}\n  query: SELECT 1\ntarget: {type: lake, table: raw.x}\n",
			`jobs/j.yaml:4: source.dsn: "${WAREHOUSE"... is not a ${VAR}: write ${NAME}`},
		{"unclosed env var", "name: j\nsource: {type: files, path: x.csv}\ntarget: {type: postgres, table: t, dsn: 'postgres://u:${PW@h/db'}\n",
			`jobs/j.yaml:3: target.dsn: "${PW"... is not a ${VAR}`},
		{"bad yaml", "name: [\n", "jobs/j.yaml:1: did not find expected node content"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse("jobs/j.yaml", []byte(tc.body))
			require.Error(t, err)
			require.ErrorIs(t, err, ErrInvalid)
			require.Equal(t, errs.Invalid, errs.KindOf(err))
			require.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"256MB": 256 << 20, "1GB": 1 << 30, "512 KiB": 512 << 10, "1048576": 1 << 20, "10b": 10} {
		got, err := ParseSize(in)
		require.NoError(t, err, in)
		require.Equal(t, want, got, in)
	}
	for _, in := range []string{"", "0", "-1MB", "MB", "1TB"} {
		_, err := ParseSize(in)
		require.Error(t, err, in)
	}
}

func TestResolveParams(t *testing.T) {
	t.Parallel()
	s, err := Parse("j.yaml", []byte(`name: j
params:
  day: {type: date, default: today}
  n: {type: int, default: 5}
  f: {type: float, default: 0.5}
  ok: {type: bool, default: true}
  ts: {type: timestamp, default: now}
  who: {type: string}
source: {type: files, path: x.csv}
target: {type: lake, table: raw.x}
`))
	require.NoError(t, err)
	now := time.Date(2026, 11, 24, 10, 30, 0, 0, time.UTC)

	_, err = ResolveParams(s, nil, now)
	require.ErrorContains(t, err, `param "who" (string) has no default: pass --param who=VALUE`)

	ps, err := ResolveParams(s, map[string]string{"who": "ann", "n": "7"}, now)
	require.NoError(t, err)
	require.Equal(t, map[string]string{"day": "2026-11-24", "n": "7", "f": "0.5", "ok": "true",
		"ts": "2026-11-24T10:30:00Z", "who": "ann"}, ps.Map())
	n, _ := ps.Get("n")
	require.Equal(t, int64(7), n.Value)
	d, _ := ps.Get("day")
	require.Equal(t, time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC), d.Value)

	for _, tc := range []struct{ k, v, want string }{
		{"n", "seven", `param "n": "seven" is not an int`},
		{"f", "1,5", `param "f": "1,5" is not a float`},
		{"day", "24/11/2026", `param "day": "24/11/2026" is not a date`},
		{"ok", "maybe", `param "ok": "maybe" is not a bool`},
		{"ts", "yesterday", `param "ts": "yesterday" is not a timestamp`},
		{"nope", "1", "--param nope: job j has no such param"},
	} {
		_, err := ResolveParams(s, map[string]string{"who": "x", tc.k: tc.v}, now)
		require.ErrorIs(t, err, ErrInvalid, tc.k)
		require.ErrorContains(t, err, tc.want)
	}
	_, err = ParseOverrides([]string{"novalue"})
	require.ErrorContains(t, err, `--param "novalue": write name=value`)
}

// TestBindQueryNeverPastesValues: a param's text, however hostile, becomes a bound argument, not SQL.
func TestBindQueryNeverPastesValues(t *testing.T) {
	t.Parallel()
	evil := "x'; DROP TABLE users; --"
	ps := Params{{Name: "who", Type: TypeString, Value: evil, Text: evil}, {Name: "n", Type: TypeInt, Value: int64(3), Text: "3"}}
	sql, args, err := bindQuery("SELECT * FROM t WHERE who = {{ who }} AND n > {{n}} AND who <> {{ who }} AND u > {{ watermark }}", ps, "W")
	require.NoError(t, err)
	require.Equal(t, "SELECT * FROM t WHERE who = $1 AND n > $2 AND who <> $1 AND u > $3", sql)
	require.Equal(t, []any{evil, int64(3), "W"}, args)
	require.NotContains(t, sql, "DROP")
}

func TestSecrets(t *testing.T) {
	t.Parallel()
	env := map[string]string{"PW": "hunter22"}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	out, secrets, err := expandSecrets("postgres://u:${PW}@h/db", "source.dsn", lookup)
	require.NoError(t, err)
	require.Equal(t, "postgres://u:hunter22@h/db", out)
	require.Equal(t, "connect to postgres://u:***@h/db failed", scrub("connect to "+out+" failed", secrets))
	_, _, err = expandSecrets("${NOPE}", "source.dsn", lookup)
	require.ErrorContains(t, err, "environment variable NOPE is not set")
}

// TestSecretPasswordsAreScrubbedAlone: a DSN read from the environment is a secret as a whole, and its
// password alone too (URL form, percent-encoded or not, and key=value form).
func TestSecretPasswordsAreScrubbedAlone(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ dsn, msg string }{
		{"postgres://mover:Hunter2Secret@h:5432/db", "auth failed for mover with password Hunter2Secret"},
		{"postgres://mover:Hunter2%40Secret@h/db", "password Hunter2@Secret or Hunter2%40Secret"},
		{"host=h user=mover password=Hunter2Secret dbname=db", "password=Hunter2Secret rejected"},
		{"host=h user=mover password='Hunter2 Secret' dbname=db", "password 'Hunter2 Secret' and Hunter2 Secret"},
	} {
		_, secrets, err := expandSecrets("${DSN}", "source.dsn", func(string) (string, bool) { return tc.dsn, true })
		require.NoError(t, err)
		got := scrub(tc.msg, secrets)
		require.NotContains(t, got, "Hunter2", tc.dsn)
		require.Contains(t, got, "***", tc.dsn)
	}
}

// TestMissingSecretNamesFileLineAndVariable: a ${VAR} that is not set is named with the job file, the line and
// the field that reads it; the values of the variables that are set are never in the message.
func TestMissingSecretNamesFileLineAndVariable(t *testing.T) {
	t.Parallel()
	s, err := Parse("jobs/pg.yaml", []byte("name: pg\nsource:\n  type: postgres\n  dsn: postgres://u:${PW}@${HOST}/db\n"+
		"  query: SELECT 1\ntarget:\n  type: postgres\n  table: t\n  dsn: ${TARGET_DSN}\n"))
	require.NoError(t, err)
	lookup := func(k string) (string, bool) { return "hunter22", k == "PW" }
	_, _, err = expandSecrets(s.Source.DSN, s.where("source", "dsn"), lookup)
	require.ErrorIs(t, err, ErrInvalid)
	require.ErrorContains(t, err, "jobs/pg.yaml:4: source.dsn: environment variable HOST is not set (the job reads it with ${HOST})")
	require.NotContains(t, err.Error(), "hunter22")
	_, _, err = expandSecrets(s.Target.DSN, s.where("target", "dsn"), lookup)
	require.ErrorContains(t, err, "jobs/pg.yaml:9: target.dsn: environment variable TARGET_DSN is not set")
	require.Equal(t, "source.dsn", (&Spec{}).where("source", "dsn"), "a spec built in Go has no file")
}

func TestSubstitutePath(t *testing.T) {
	t.Parallel()
	ps := Params{{Name: "day", Text: "2026-11-24"}, {Name: "evil", Text: "../../etc"}}
	p, err := substitutePath("in/orders_{{ day }}.csv", ps)
	require.NoError(t, err)
	require.Equal(t, "in/orders_2026-11-24.csv", p)
	_, err = substitutePath("in/{{ evil }}/x.csv", ps)
	require.True(t, errors.Is(err, ErrInvalid))
}

// FuzzParse: no input makes the parser panic, and every refusal is ErrInvalid.
func FuzzParse(f *testing.F) {
	f.Add([]byte(ordersJob))
	f.Add([]byte("name: j\nsource: {type: files, path: x.csv}\ntarget: {type: lake, table: raw.x}\n"))
	f.Add([]byte("name: j\ncolumns: {a: b}\n"))
	f.Add([]byte("params: [1, 2]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse("f.yaml", data)
		if err != nil {
			require.ErrorIs(t, err, ErrInvalid)
			return
		}
		require.NotEmpty(t, s.Name)
		require.NotEmpty(t, s.Source.Type)
	})
}

func TestResolvePaths(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ source, target, wantSource, wantTarget string }{
		{"in/a_{{ day }}.csv", "out", "/p/in/a_{{ day }}.csv", "/p/out"},
		{"/abs/in", "s3://b/out", "/abs/in", "s3://b/out"},
		{"s3://b/in/*.csv", "../shared/out", "s3://b/in/*.csv", "/shared/out"},
	} {
		s, err := Parse("j.yaml", []byte("name: j\nparams: {day: {type: date}}\nsource: {type: files, path: '"+tc.source+
			"'}\ntarget: {type: files, path: '"+tc.target+"'}\n"))
		require.NoError(t, err)
		s.ResolvePaths("/p")
		require.Equal(t, tc.wantSource, s.Source.Path)
		require.Equal(t, tc.wantTarget, s.Target.Path)
	}
	s, err := Parse("j.yaml", []byte("name: j\nsource: {type: lake, table: raw.x}\ntarget: {type: lake, table: raw.y}\n"))
	require.NoError(t, err)
	s.ResolvePaths("/p")
	require.Empty(t, s.Source.Path)
}
