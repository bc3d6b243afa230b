//go:build duckdb_arrow

package engine

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// exportOptions are DuckDB COPY options per export format.
var exportOptions = map[string]string{
	"parquet": "FORMAT parquet, COMPRESSION zstd",
	"csv":     "FORMAT csv, HEADER true",
	"json":    "FORMAT json, ARRAY true",
	"jsonl":   "FORMAT json",
}

// Export runs one SELECT over tables and writes its result to the file path with DuckDB's COPY, in format
// "parquet" (zstd), "csv" (with a header), "json" (one array of objects) or "jsonl" (an object per line).
// DuckDB writes into a scratch directory beside path and the file is renamed into place when complete, so a
// failed or cancelled export leaves no partial file and an existing file is replaced only by a whole one.
func (e *Engine) Export(ctx context.Context, sql string, tables []Table, format, path string) error {
	opts, ok := exportOptions[strings.ToLower(format)]
	if !ok {
		return fmt.Errorf("engine: export format %q: use parquet, csv, json or jsonl: %w", format, ErrInvalid)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	scratch, err := os.MkdirTemp(filepath.Dir(abs), ".strata-export-")
	if err != nil {
		return fmt.Errorf("engine: export to %s: %w (is the directory there and writable?)", path, err)
	}
	defer os.RemoveAll(scratch)
	in, err := e.prepare(ctx, tables, []string{scratch + string(filepath.Separator)})
	if err != nil {
		return err
	}
	defer e.retire(in)
	tmp := filepath.Join(scratch, "out")
	query := strings.TrimRight(strings.TrimSpace(sql), "; \t\n")
	if err := in.exec(ctx, fmt.Sprintf("COPY (%s\n) TO %s (%s)", query, sqlString(tmp), opts)); err != nil {
		return fmt.Errorf("engine: export: %w", err)
	}
	if err := os.Rename(tmp, abs); err != nil {
		return fmt.Errorf("engine: export: %w", err)
	}
	return nil
}
