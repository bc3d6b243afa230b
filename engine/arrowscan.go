//go:build duckdb_arrow

package engine

/*
#include <stdlib.h>
*/
import "C"

import (
	"context"
	"fmt"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/cdata"
	duckdb "github.com/duckdb/duckdb-go-bindings"
)

// registerArrow makes rdr readable as the view name in the instance, through DuckDB's Arrow stream scan (the
// same call duckdb-go's RegisterView makes). DuckDB pulls batches with rdr.Next from its worker threads, one
// at a time; an error rdr reports after its last batch fails the statement reading the view, so a failed input
// never looks like a short one. The view can be read once. Call the returned release after the last statement
// that reads the view has ended: it frees the C stream and drops the stream's reference to rdr.
func (in *instance) registerArrow(ctx context.Context, rdr array.RecordReader, name string) (release func(), err error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// The stream struct must live in C memory (DuckDB keeps the pointer past this call) and start zeroed.
	stream := C.calloc(1, C.size_t(unsafe.Sizeof(cdata.CArrowArrayStream{})))
	release = func() {
		cdata.ReleaseCArrowArrayStream((*cdata.CArrowArrayStream)(stream))
		C.free(stream)
	}
	cdata.ExportRecordReader(rdr, (*cdata.CArrowArrayStream)(stream))
	if duckdb.ArrowScan(in.conn, name, duckdb.ArrowStream{Ptr: stream}) == duckdb.StateError {
		release()
		return nil, fmt.Errorf("engine: DuckDB cannot scan the Arrow data (schema %s): %w", rdr.Schema(), ErrInvalid)
	}
	return release, nil
}
