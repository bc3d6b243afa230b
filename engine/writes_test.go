package engine

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestWrittenNames(t *testing.T) {
	for sql, want := range map[string][]QualifiedName{
		"INSERT INTO clean.orders SELECT 1":                                           {{"clean", "orders"}},
		"with a as (select 1) insert into Clean . Orders select * from a":             {{"clean", "orders"}},
		`CREATE OR REPLACE TABLE IF NOT EXISTS "Raw"."X y" AS SELECT 1`:               {{"Raw", "X y"}},
		"create table raw.x as select 1; drop table if exists clean.y":                {{"raw", "x"}, {"clean", "y"}},
		"UPDATE features.f SET a = 1; DELETE FROM datasets.d":                         {{"features", "f"}, {"datasets", "d"}},
		"alter table raw.t add column c int; truncate table raw.u":                    {{"raw", "t"}, {"raw", "u"}},
		"INSERT OR REPLACE INTO raw.t VALUES (1)":                                     {{"raw", "t"}},
		"CREATE TEMP TABLE t AS SELECT * FROM raw.orders; SELECT * FROM t":            nil,
		"SELECT 'insert into clean.x' AS s -- update clean.y\n/* drop table raw.z */": nil,
		"SELECT update_ts FROM raw.t":                                                 nil,
		"CREATE MACRO m(x) AS x + 1; SELECT m(2)":                                     nil,
		"insert into": nil,
	} {
		require.Equal(t, want, WrittenNames(sql), sql)
	}
}
