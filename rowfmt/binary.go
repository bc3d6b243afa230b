package rowfmt

import (
	"fmt"
	"io"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	pqschema "github.com/apache/arrow-go/v18/parquet/schema"
)

// arrowSink writes the Arrow IPC stream format (what pyarrow.ipc.open_stream and Arrow Flight read).
type arrowSink struct{ w *ipc.Writer }

func newArrowSink(w io.Writer, schema *arrow.Schema) *arrowSink {
	return &arrowSink{w: ipc.NewWriter(w, ipc.WithSchema(schema))}
}

func (s *arrowSink) write(rec arrow.RecordBatch) error { return s.w.Write(rec) }
func (s *arrowSink) close(int64) error                 { return s.w.Close() }
func (s *arrowSink) abort() error                      { return nil }

// A Parquet stream buffers its current row group until the row group is complete, and a client that stops
// reading holds that buffer until the server gives up on it: with many streams at once, their buffers are
// the server's memory. These limits keep one stream's to a few MB whatever the table's length
// (BenchmarkParquetStream/mixed, 1M rows: ~56 MB of live heap at the peak before, ~10 MB after).
const (
	// parquetRowGroupRows is the most rows per row group: DuckDB's default.
	parquetRowGroupRows = 122_880
	// parquetRowGroupBytes ends a row group early once its encoded pages pass it (wide or incompressible
	// rows). Typical rows reach parquetRowGroupRows first, at 1-3 MB.
	parquetRowGroupBytes = 8 << 20
	// parquetPageBytes is the data page size. Below zstd's 128 KB block, a page is compressed as one
	// block, which needs no history window (at the default level a window is 8 MB, allocated twice over).
	parquetPageBytes = 64 << 10
	// parquetDictBytes is how large a string column's dictionary may grow before the column falls back to
	// plain encoding (small, so the dictionary page too is one zstd block). Other columns are never
	// dictionary-encoded: their hash tables grew to several MB per column for unique values (ids,
	// timestamps, measurements), and zstd compresses their plain pages about as well.
	parquetDictBytes = 64 << 10
	// parquetBatchValues is how many values a column writer encodes between checks of the page and
	// dictionary limits, so that long strings overshoot them by little.
	parquetBatchValues = 256
	// parquetSliceRows is the most rows written at once, so that the row group's size is checked often.
	parquetSliceRows = 4096
)

// parquetSink writes one Parquet file, zstd-compressed, with the Arrow schema stored so that readers get
// the exact Arrow types back.
type parquetSink struct {
	w *pqarrow.FileWriter
	// full is set when the current row group reached parquetRowGroupBytes: the next write starts another.
	full bool
}

// nopCloser keeps the Parquet writer from closing the caller's writer (a file or an HTTP response).
type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

func newParquetSink(w io.Writer, schema *arrow.Schema) (*parquetSink, error) {
	opts := []parquet.WriterProperty{
		parquet.WithCompression(compress.Codecs.Zstd),
		parquet.WithMaxRowGroupLength(parquetRowGroupRows),
		parquet.WithDataPageSize(parquetPageBytes),
		parquet.WithDictionaryDefault(false),
		parquet.WithDictionaryPageSizeLimit(parquetDictBytes),
		parquet.WithBatchSize(parquetBatchValues),
	}
	arrowProps := pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema())
	pqSchema, err := pqarrow.ToParquet(schema, parquet.NewWriterProperties(opts...), arrowProps)
	if err != nil {
		return nil, fmt.Errorf("parquet: %w", err)
	}
	for i := 0; i < pqSchema.NumColumns(); i++ {
		if col := pqSchema.Column(i); isParquetString(col) {
			opts = append(opts, parquet.WithDictionaryFor(col.Path(), true))
		}
	}
	fw, err := pqarrow.NewFileWriter(schema, nopCloser{w}, parquet.NewWriterProperties(opts...), arrowProps)
	if err != nil {
		return nil, fmt.Errorf("parquet: %w", err)
	}
	return &parquetSink{w: fw}, nil
}

// isParquetString reports whether a leaf column holds strings (at any depth: list elements, map keys).
func isParquetString(col *pqschema.Column) bool {
	if col.PhysicalType() != parquet.Types.ByteArray {
		return false
	}
	_, ok := col.LogicalType().(pqschema.StringLogicalType)
	return ok
}

func (s *parquetSink) write(rec arrow.RecordBatch) error {
	n := rec.NumRows()
	if n <= parquetSliceRows {
		return s.writeSlice(rec)
	}
	for off := int64(0); off < n; off += parquetSliceRows {
		part := rec.NewSlice(off, min(off+parquetSliceRows, n))
		err := s.writeSlice(part)
		part.Release()
		if err != nil {
			return err
		}
	}
	return nil
}

func (s *parquetSink) writeSlice(rec arrow.RecordBatch) error {
	if s.full {
		if err := s.w.NewBufferedRowGroupChecked(); err != nil {
			return fmt.Errorf("parquet: %w", err)
		}
		s.full = false
	}
	if err := s.w.WriteBuffered(rec); err != nil {
		return err
	}
	s.full = s.w.RowGroupTotalBytesWritten() >= parquetRowGroupBytes
	return nil
}

func (s *parquetSink) close(int64) error { return s.w.Close() }
func (s *parquetSink) abort() error      { return nil }
