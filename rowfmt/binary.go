package rowfmt

import (
	"fmt"
	"io"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// arrowSink writes the Arrow IPC stream format (what pyarrow.ipc.open_stream and Arrow Flight read).
type arrowSink struct{ w *ipc.Writer }

func newArrowSink(w io.Writer, schema *arrow.Schema) *arrowSink {
	return &arrowSink{w: ipc.NewWriter(w, ipc.WithSchema(schema))}
}

func (s *arrowSink) write(rec arrow.RecordBatch) error { return s.w.Write(rec) }
func (s *arrowSink) close(int64) error                 { return s.w.Close() }
func (s *arrowSink) abort() error                      { return nil }

// parquetRowGroup is the rows per row group, the unit the writer buffers: DuckDB's default size, small
// enough to keep memory bounded for wide rows.
const parquetRowGroup = 122_880

// parquetSink writes one Parquet file, zstd-compressed, with the Arrow schema stored so that readers get
// the exact Arrow types back.
type parquetSink struct{ w *pqarrow.FileWriter }

// nopCloser keeps the Parquet writer from closing the caller's writer (a file or an HTTP response).
type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

func newParquetSink(w io.Writer, schema *arrow.Schema) (*parquetSink, error) {
	props := parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Zstd),
		parquet.WithMaxRowGroupLength(parquetRowGroup))
	fw, err := pqarrow.NewFileWriter(schema, nopCloser{w}, props,
		pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	if err != nil {
		return nil, fmt.Errorf("parquet: %w", err)
	}
	return &parquetSink{w: fw}, nil
}

func (s *parquetSink) write(rec arrow.RecordBatch) error { return s.w.WriteBuffered(rec) }
func (s *parquetSink) close(int64) error                 { return s.w.Close() }
func (s *parquetSink) abort() error                      { return nil }
