package feastapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
)

// Request bodies are read into pooled buffers and, for /get-online-features, decoded by a small hand-written
// decoder of Feast's request shape (fastGetRequest). It accepts only a plain subset of JSON — exact field
// names, no duplicates, strings without escapes or non-ASCII bytes, scalar entity values — and hands anything
// else to encoding/json, so every answer, accepted or refused, is encoding/json's (FuzzFastDecodeMatchesJSON).
// Profile that justified it (BenchmarkGetOnlineFeatures/1x50): encoding/json was 18% of the handler's CPU and
// most of its allocations.

var bodyPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// readBody reads r's body within the size limit into a pooled buffer; the caller returns it with putBody once
// nothing refers into it.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) (*bytes.Buffer, error) {
	buf := bodyPool.Get().(*bytes.Buffer)
	buf.Reset()
	_, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, s.o.MaxBodyBytes))
	if err != nil {
		putBody(buf)
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			return nil, s.tooLarge()
		}
		return nil, fmt.Errorf("reading the body: %v: %w", err, ErrInvalid)
	}
	return buf, nil
}

func putBody(b *bytes.Buffer) {
	if b.Cap() <= 1<<20 { // a rare huge body is not kept
		bodyPool.Put(b)
	}
}

func (s *Server) tooLarge() error {
	return fmt.Errorf("the body is larger than serving.max_body_bytes (%d bytes): send fewer rows per request: %w", s.o.MaxBodyBytes, ErrTooLarge)
}

// decodeJSON decodes body into v as encoding/json does, refusing unknown fields and trailing values.
func decodeJSON(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("the body is not a valid request: %v: %w", err, ErrInvalid)
	}
	if dec.More() {
		return fmt.Errorf("the body holds more than one JSON value: %w", ErrInvalid)
	}
	return nil
}

// decodeGetRequest decodes a /get-online-features body: the fast decoder, else encoding/json. The request's
// raw entity values point into body.
func decodeGetRequest(body []byte, req *getRequest) error {
	if fastGetRequest(body, req) {
		return nil
	}
	*req = getRequest{}
	return decodeJSON(body, req)
}

// scanner walks a JSON text; any method returning false means "not in the fast subset".
type scanner struct {
	b []byte
	i int
}

func (s *scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// peek returns the next non-space byte (0 at the end).
func (s *scanner) peek() byte {
	s.ws()
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

func (s *scanner) eat(c byte) bool {
	if s.peek() == c {
		s.i++
		return true
	}
	return false
}

func (s *scanner) lit(word string) bool {
	if s.peek() != word[0] || !bytes.HasPrefix(s.b[s.i:], []byte(word)) {
		return false
	}
	s.i += len(word)
	return true
}

// plainString reads a string of printable ASCII without escapes and returns its raw bytes with the quotes.
func (s *scanner) plainString() ([]byte, bool) {
	if s.peek() != '"' {
		return nil, false
	}
	start := s.i
	for j := s.i + 1; j < len(s.b); j++ {
		switch c := s.b[j]; {
		case c == '"':
			s.i = j + 1
			return s.b[start:s.i], true
		case c == '\\' || c < 0x20 || c >= 0x7f:
			return nil, false
		}
	}
	return nil, false
}

// number reads a JSON number (RFC 8259 grammar) and returns its bytes.
func (s *scanner) number() ([]byte, bool) {
	s.ws()
	b, i := s.b, s.i
	digits := func() bool {
		j := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		return i > j
	}
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case !digits():
		return nil, false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if !digits() {
			return nil, false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if !digits() {
			return nil, false
		}
	}
	if i < len(b) && !delim(b[i]) {
		return nil, false
	}
	out := b[s.i:i]
	s.i = i
	return out, true
}

// delim tells whether c may follow a scalar.
func delim(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\r', ',', ']', '}':
		return true
	}
	return false
}

// scalar reads a number, plain string, true, false or null as raw bytes.
func (s *scanner) scalar() ([]byte, bool) {
	switch c := s.peek(); {
	case c == '"':
		return s.plainString()
	case c == '-' || c >= '0' && c <= '9':
		return s.number()
	}
	for _, w := range []string{"true", "false", "null"} {
		start := s.i
		if s.lit(w) {
			if s.i < len(s.b) && !delim(s.b[s.i]) {
				return nil, false
			}
			return s.b[start:s.i], true
		}
	}
	return nil, false
}

// list calls item for each element of an array.
func (s *scanner) list(item func() bool) bool {
	if !s.eat('[') {
		return false
	}
	if s.eat(']') {
		return true
	}
	for {
		if !item() {
			return false
		}
		if s.eat(']') {
			return true
		}
		if !s.eat(',') {
			return false
		}
	}
}

// object calls member for each key of an object (the key without its quotes; the scanner is after the colon).
func (s *scanner) object(member func(key []byte) bool) bool {
	if !s.eat('{') {
		return false
	}
	if s.eat('}') {
		return true
	}
	for {
		k, ok := s.plainString()
		if !ok || !s.eat(':') || !member(k[1:len(k)-1]) {
			return false
		}
		if s.eat('}') {
			return true
		}
		if !s.eat(',') {
			return false
		}
	}
}

func (s *scanner) boolean() (bool, bool) {
	if s.lit("true") {
		return true, s.i == len(s.b) || delim(s.b[s.i])
	}
	if s.lit("false") {
		return false, s.i == len(s.b) || delim(s.b[s.i])
	}
	return false, false
}

// fastGetRequest decodes body into req when it is in the fast subset; false leaves req to encoding/json.
func fastGetRequest(body []byte, req *getRequest) bool {
	s := &scanner{b: body}
	var seen [5]bool
	once := func(i int) bool {
		if seen[i] {
			return false
		}
		seen[i] = true
		return true
	}
	ok := s.object(func(key []byte) bool {
		switch string(key) {
		case "features":
			s.ws()
			start := s.i
			ok := once(0) && s.list(func() bool {
				_, ok := s.plainString()
				return ok
			})
			req.Features, req.rawFeatures = nil, body[start:s.i]
			return ok
		case "feature_service":
			if s.lit("null") {
				req.FeatureService = nil
				return once(1)
			}
			v, ok := s.plainString()
			if ok {
				name := string(v[1 : len(v)-1])
				req.FeatureService = &name
			}
			return ok && once(1)
		case "entities":
			return once(2) && s.entities(&req.Entities)
		case "full_feature_names":
			var ok bool
			req.FullFeatureNames, ok = s.boolean()
			return ok && once(3)
		case "include_feature_view_version_metadata":
			var ok bool
			req.IncludeVersionMetadata, ok = s.boolean()
			return ok && once(4)
		}
		return false
	})
	return ok && s.peek() == 0
}

// entities reads the column-major entity object, each column a list of scalars, reusing e's memory.
func (s *scanner) entities(e *entities) bool {
	e.cols = e.cols[:0]
	return s.object(func(key []byte) bool {
		for i := range e.cols {
			if e.cols[i].name == string(key) {
				return false // given twice
			}
		}
		if len(e.cols) < cap(e.cols) {
			e.cols = e.cols[:len(e.cols)+1]
		} else {
			e.cols = append(e.cols, entityCol{})
		}
		c := &e.cols[len(e.cols)-1]
		if c.name != string(key) {
			c.name = string(key)
		}
		c.vals = c.vals[:0]
		if c.vals == nil {
			c.vals = []json.RawMessage{}
		}
		return s.list(func() bool {
			v, ok := s.scalar()
			c.vals = append(c.vals, v)
			return ok
		})
	})
}

// decode reads a JSON body within the size limit into v as encoding/json does, refusing unknown fields.
func (s *Server) decode(w http.ResponseWriter, r *http.Request, v any) error {
	buf, err := s.readBody(w, r)
	if err != nil {
		return err
	}
	defer putBody(buf) // encoding/json copies what it keeps (json.RawMessage included)
	return decodeJSON(buf.Bytes(), v)
}
