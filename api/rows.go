package api

import (
	"context"
	"fmt"
	"net/http"
	"strconv"

	"github.com/go-chi/chi/v5/middleware"

	"github.com/strata-data/strata/engine"
	"github.com/strata-data/strata/envs"
	"github.com/strata-data/strata/errs"
	"github.com/strata-data/strata/internal/cpus"
	"github.com/strata-data/strata/lake"
	"github.com/strata-data/strata/rowfmt"
)

var contentTypes = map[rowfmt.Format]string{
	rowfmt.JSON:    "application/json",
	rowfmt.JSONL:   "application/x-ndjson",
	rowfmt.CSV:     "text/csv; charset=utf-8",
	rowfmt.Arrow:   "application/vnd.apache.arrow.stream",
	rowfmt.Parquet: "application/vnd.apache.parquet",
}

// errTooManyStreams is the 503 a row request gets while Options.MaxStreams streams are running.
var errTooManyStreams = errs.New(errs.Unavailable, "the server is streaming as many tables as it allows at once (server.max_streams): retry shortly")

// getRows is GET /envs/{env}/tables/{zone.table}/rows: the rows of the snapshot readers see (or the one asked
// for with snapshot or as_of, in the formats the CLI takes), streamed in the chosen format.
func (a *API) getRows(in *request) (any, error) {
	env := in.path("env")
	id, err := lake.ParseIdent(in.path("table"))
	if err != nil {
		return nil, err
	}
	format, limit, err := rowsFormat(in.param("format"), in.param("limit"))
	if err != nil {
		return nil, err
	}
	ref, err := envs.ParseSnapshotRef(in.param("snapshot"), in.param("as_of"))
	if err != nil {
		return nil, fmt.Errorf("time travel (snapshot, as_of): %w", err)
	}
	plan, err := a.envs.Resolve(in.ctx(), env, id, ref)
	if err != nil {
		return nil, err
	}
	release, err := a.takeStream()
	if err != nil {
		return nil, err
	}
	query := fmt.Sprintf(`SELECT * FROM "%s"."%s"`, id.Zone, id.Name)
	if limit >= 0 {
		query += fmt.Sprintf(" LIMIT %d", limit)
	}
	res, err := a.engine.Query(in.ctx(), query, []engine.Table{envs.EngineTable(plan)})
	if err != nil {
		release()
		return nil, err
	}
	return &rowStream{api: a, env: env, id: id, format: format, snapshot: plan.SnapshotID, res: res, release: release}, nil
}

// takeStream takes one of the MaxStreams tokens, or fails at once when none is free (a queue would hold the
// waiting requests' memory instead). The returned func gives it back.
func (a *API) takeStream() (func(), error) {
	if a.streams == nil {
		return func() {}, nil
	}
	select {
	case a.streams <- struct{}{}:
		return func() { <-a.streams }, nil
	default:
		return nil, errTooManyStreams
	}
}

// rowStream is a query result on its way to the client.
type rowStream struct {
	api      *API
	env      string
	id       lake.Ident
	format   rowfmt.Format
	snapshot int64
	res      *engine.Result
	release  func()
}

// serveStream writes the rows. The server's write timeout ends a stream whose client stops reading, which
// frees the query and the stream token here.
func (s *rowStream) serveStream(w http.ResponseWriter, r *http.Request) {
	defer s.release()
	defer s.res.Close()
	w.Header().Set("Content-Type", contentTypes[s.format])
	w.Header().Set("X-Strata-Snapshot-Id", strconv.FormatInt(s.snapshot, 10))
	if s.format == rowfmt.Parquet || s.format == rowfmt.Arrow || s.format == rowfmt.CSV {
		w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s.%s"`, s.id, s.format))
	}
	out, err := takeEncodeSlot(r.Context(), w)
	if err != nil {
		panic(http.ErrAbortHandler) // the client is gone before its first row
	}
	defer out.done()
	if _, err := rowfmt.Write(out, s.res, s.format, rowfmt.Options{}); err != nil {
		// Headers are gone; abort the response so the client sees a broken stream, not a short success.
		s.api.log.Warn("rows stream aborted", "env", s.env, "table", s.id.String(),
			"request_id", middleware.GetReqID(r.Context()), "err", err.Error())
		panic(http.ErrAbortHandler)
	}
}

// rowsFormat checks the format and limit parameters; limit -1 means all rows.
func rowsFormat(format, limit string) (rowfmt.Format, int64, error) {
	if format == "" {
		format = "json"
	}
	f, err := rowfmt.ParseFormat(format)
	if _, ok := contentTypes[f]; err != nil || !ok {
		return f, 0, errs.E(errs.Invalid, "format %q: use json, jsonl, csv, arrow or parquet", format)
	}
	n := int64(-1)
	if limit != "" {
		if n, err = strconv.ParseInt(limit, 10, 64); err != nil || n < 0 {
			return f, 0, errs.E(errs.Invalid, "limit %q: give a non-negative integer", limit)
		}
	}
	return f, n, nil
}

// encodeSlots lets as many row streams read and encode rows at once as the process started with Go processors
// (one per CPU): `strata serve` runs more processors than CPUs for its request latency, and without the slots
// every stream would encode at once and hold its row group's memory at the same time (8 stalled, 2 slow and 1
// full Parquet stream: 415 MB peak RSS with 2 processors, 457–487 MB with 8). A stream holds its slot while it
// reads and encodes, never while it writes to its client, so a stalled client holds none.
var encodeSlots = make(chan struct{}, max(1, cpus.N))

// slotWriter is the response of a stream that holds an encode slot: each write gives the slot up until it is done.
type slotWriter struct {
	ctx context.Context
	w   http.ResponseWriter
	// held says whether the stream holds its slot.
	held bool
}

// takeEncodeSlot waits for an encode slot (or the request's end) and returns w wrapped to give the slot up
// during writes; call done at the end.
func takeEncodeSlot(ctx context.Context, w http.ResponseWriter) (*slotWriter, error) {
	sw := &slotWriter{ctx: ctx, w: w}
	return sw, sw.take()
}

func (sw *slotWriter) take() error {
	select {
	case encodeSlots <- struct{}{}:
		sw.held = true
		return nil
	case <-sw.ctx.Done():
		return context.Cause(sw.ctx)
	}
}

func (sw *slotWriter) Write(p []byte) (int, error) {
	if sw.held {
		<-encodeSlots
		sw.held = false
	}
	n, err := sw.w.Write(p)
	if err != nil {
		return n, err
	}
	return n, sw.take()
}

func (sw *slotWriter) done() {
	if sw.held {
		<-encodeSlots
		sw.held = false
	}
}
