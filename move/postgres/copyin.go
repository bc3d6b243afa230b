package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/strata-data/strata/errs"
)

// copyIn streams rdr's rows into table (its columns names, of the types types, format_type spelling) with
// COPY ... FROM STDIN (FORMAT binary), encoded straight from the Arrow columns (encode.go) a chunk at a time:
// memory stays within the batches read ahead (readAheadDepth) and one chunk. Every column must have an encoding (encodingFor). A value that
// cannot be encoded, or that the server refuses, fails the COPY with an error naming its column and row (the
// caller's transaction then rolls back). It returns the rows copied.
func copyIn(ctx context.Context, tx pgx.Tx, table pgx.Identifier, label string, names, types []string, rdr array.RecordReader) (int64, error) {
	s := &copyStream{names: names, label: label}
	for i, f := range rdr.Schema().Fields() {
		e, ok := encodingFor(f.Type, types[i])
		if !ok {
			return 0, errs.E(errs.Unsupported, "postgres target %s: column %q: %s cannot be written into %s", label, f.Name, f.Type, types[i])
		}
		s.encs = append(s.encs, e)
	}
	cols := make([]string, len(names))
	for i, n := range names {
		cols[i] = pgx.Identifier{n}.Sanitize()
	}
	sql := "COPY " + table.Sanitize() + " (" + strings.Join(cols, ", ") + ") FROM STDIN (FORMAT binary)"
	s.ahead = readAhead(rdr, readAheadDepth)
	tag, err := tx.Conn().PgConn().CopyFrom(ctx, s, sql)
	if serr := s.close(); serr != nil {
		return 0, serr
	}
	if err != nil {
		return 0, copyInError(err, label)
	}
	return tag.RowsAffected(), nil
}

// copyChunk is the size of encoded rows the stream gathers before handing them to pgconn (which sends them as
// CopyData messages of up to 64 KiB).
const copyChunk = 256 << 10

// copyStream is an io.Reader of the binary COPY stream of a RecordReader's rows: the header, each row (field
// count, then each field), and the trailer.
type copyStream struct {
	ahead *ahead
	names []string
	label string
	encs  []encoding

	batch arrow.RecordBatch
	cols  []arrow.Array // the batch's columns that hold NULLs, nil for the others
	fns   []fieldFunc
	row   int   // next row of batch
	rows  int64 // rows encoded so far
	buf   []byte
	off   int
	begun bool
	done  bool
	err   error // the stream's own failure (pgconn reports it to the server as CopyFail)

	// mu keeps Read (on pgconn's goroutine) and close apart: pgconn can return from CopyFrom on a broken
	// connection before its goroutine's last Read, and the caller's reader must not be read after that.
	mu     sync.Mutex
	closed bool
}

// close ends the stream (a later Read fails) and returns its own failure, if any.
func (s *copyStream) close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	if s.batch != nil {
		s.batch.Release()
		s.batch = nil
	}
	s.ahead.close()
	return s.err
}

var copyHeader = []byte("PGCOPY\n\377\r\n\000\000\000\000\000\000\000\000\000")

func (s *copyStream) Read(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, errors.New("the COPY ended")
	}
	for s.off >= len(s.buf) {
		if s.done {
			return 0, io.EOF
		}
		if err := s.fill(); err != nil {
			s.err = err
			return 0, err
		}
	}
	n := copy(p, s.buf[s.off:])
	s.off += n
	return n, nil
}

// fill encodes the next chunk of rows into buf.
func (s *copyStream) fill() error {
	s.buf, s.off = s.buf[:0], 0
	if !s.begun {
		s.buf, s.begun = append(s.buf, copyHeader...), true
	}
	for len(s.buf) < copyChunk {
		if s.batch == nil || s.row >= int(s.batch.NumRows()) {
			if s.batch != nil {
				s.batch.Release()
				s.batch = nil
			}
			b, err := s.ahead.next()
			if err != nil {
				return err
			}
			if b == nil {
				s.buf, s.done = append(s.buf, 0xff, 0xff), true
				return nil
			}
			s.bind(b)
			continue
		}
		if err := s.encodeRow(); err != nil {
			return err
		}
	}
	return nil
}

func (s *copyStream) bind(b arrow.RecordBatch) {
	s.batch, s.row = b, 0
	s.cols, s.fns = s.cols[:0], s.fns[:0]
	for i, e := range s.encs {
		c := b.Column(i)
		if c.NullN() == 0 {
			c = nil // no row to check for NULL (appendField)
		}
		s.cols = append(s.cols, c)
		s.fns = append(s.fns, e.bind(b.Column(i)))
	}
}

func (s *copyStream) encodeRow() error {
	buf := append(s.buf, byte(len(s.fns)>>8), byte(len(s.fns)))
	var err error
	for i, f := range s.fns {
		if buf, err = appendField(buf, s.cols[i], f, s.row); err != nil {
			return errs.E(errs.BadData, "postgres target %s: column %q, row %d: %s", s.label, s.names[i], s.rows+1, err.Error())
		}
	}
	s.buf = buf
	s.row++
	s.rows++
	return nil
}

// copyWhere is the context PostgreSQL gives a COPY error: "COPY t, line 5, column n: ...".
var copyWhere = regexp.MustCompile(`COPY [^,]+, line (\d+), column ([^:]+)`)

// copyInError turns the server's refusal of a row into an error naming its column and row (the COPY's line).
func copyInError(err error, label string) error {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return fmt.Errorf("postgres target %s: copy: %w", label, err)
	}
	msg := pe.Message
	if pe.Detail != "" {
		msg += " (" + pe.Detail + ")"
	}
	if m := copyWhere.FindStringSubmatch(pe.Where); m != nil {
		row, _ := strconv.ParseInt(m[1], 10, 64)
		return errs.E(errs.BadData, "postgres target %s: column %q, row %d: %s", label, m[2], row, msg)
	}
	return errs.E(errs.BadData, "postgres target %s: %s", label, msg)
}

// readAheadDepth is how many batches the source may be read ahead of the encoder: reading the next batch (a
// lake table decoded by DuckDB) overlaps with encoding and sending the current one.
const readAheadDepth = 4

// ahead reads a RecordReader in a goroutine of its own, up to depth batches ahead; each batch it hands over
// is retained for the taker, who releases it.
type ahead struct {
	ready chan arrow.RecordBatch
	stop  chan struct{}
	done  chan struct{}
	err   error // the reader's Err, written before ready is closed
	once  sync.Once
}

func readAhead(rdr array.RecordReader, depth int) *ahead {
	a := &ahead{ready: make(chan arrow.RecordBatch, depth), stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(a.done)
		defer close(a.ready)
		for rdr.Next() {
			b := rdr.RecordBatch()
			b.Retain()
			select {
			case a.ready <- b:
			case <-a.stop:
				b.Release()
				return
			}
		}
		a.err = rdr.Err()
	}()
	return a
}

// next returns the next batch, or nil and the reader's error at the end.
func (a *ahead) next() (arrow.RecordBatch, error) {
	if b, ok := <-a.ready; ok {
		return b, nil
	}
	return nil, a.err
}

// close stops the goroutine and waits for it: the reader is no longer read once close returns.
func (a *ahead) close() {
	a.once.Do(func() { close(a.stop) })
	for b := range a.ready {
		b.Release()
	}
	<-a.done
}
