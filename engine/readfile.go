//go:build duckdb_arrow

package engine

// FileReader streams one import file as Arrow record batches.
type FileReader struct {
	reader
}
