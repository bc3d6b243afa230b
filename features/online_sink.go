package features

import (
	"context"

	"github.com/apache/arrow-go/v18/arrow/array"
)

// OnlineSink receives the latest row per entity of one view instance at the end of a materialisation.
type OnlineSink interface {
	// WriteRecomputed upserts rdr's rows into key space `space`. Columns: the view's join keys in declared order,
	// "event_ts" (timestamp us UTC), "created_ts" (timestamp us UTC, may be all null), then the features in
	// declared order. A stored row is replaced by a newer or an equal (event_ts, created_ts): a run that
	// recomputed a row at the time it had (window aggregations after late rows) replaces its old values, and a
	// run over an older range never replaces a newer row. online.Store implements it.
	WriteRecomputed(ctx context.Context, space string, keys []string, rdr array.RecordReader) error
}
