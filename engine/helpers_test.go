//go:build duckdb_arrow

package engine

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/stretchr/testify/require"
)

// newEngine returns an engine closed at the end of the test.
func newEngine(t testing.TB, opts Options) *Engine {
	t.Helper()
	if opts.Threads == 0 {
		opts.Threads = 2
	}
	if opts.TempDir == "" {
		opts.TempDir = t.TempDir()
	}
	e, err := New(opts)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, e.Close()) })
	return e
}

// duck runs SQL with full file access (to write fixtures) and returns the rows as strings.
func duck(t testing.TB, sql string) [][]string {
	t.Helper()
	e := newEngine(t, Options{ExternalAccess: true})
	res, err := e.Query(context.Background(), sql, nil)
	require.NoError(t, err)
	defer func() { require.NoError(t, res.Close()) }()
	return drain(t, res)
}

// drain reads every batch of rdr and renders each row as strings (NULL for nulls).
func drain(t testing.TB, rdr array.RecordReader) [][]string {
	t.Helper()
	var rows [][]string
	for rdr.Next() {
		rows = append(rows, render(rdr.RecordBatch())...)
	}
	require.NoError(t, rdr.Err())
	return rows
}

func render(rec arrow.RecordBatch) [][]string {
	var rows [][]string
	for i := 0; i < int(rec.NumRows()); i++ {
		row := make([]string, rec.NumCols())
		for c := range row {
			col := rec.Column(c)
			if col.IsNull(i) {
				row[c] = "NULL"
			} else {
				row[c] = strings.Clone(col.ValueStr(i)) // the batch memory is freed on the next Next
			}
		}
		rows = append(rows, row)
	}
	return rows
}

// writeParquet writes the rows of a SELECT to a Parquet file with the given Iceberg field ids.
func writeParquet(t testing.TB, dir, name, selectSQL, fieldIDs string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	duck(t, fmt.Sprintf("COPY (%s) TO %s (FORMAT parquet, FIELD_IDS %s)", selectSQL, sqlString(p), fieldIDs))
	return p
}

func query(t testing.TB, e *Engine, sql string, tables ...Table) [][]string {
	t.Helper()
	res, err := e.Query(context.Background(), sql, tables)
	require.NoError(t, err)
	defer func() { require.NoError(t, res.Close()) }()
	return drain(t, res)
}

func schemaString(s *arrow.Schema) string {
	parts := make([]string, s.NumFields())
	for i, f := range s.Fields() {
		parts[i] = f.Name + " " + f.Type.String()
	}
	return strings.Join(parts, ", ")
}
