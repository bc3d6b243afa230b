package tracking

import (
	"bytes"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// maxRequestBytes bounds every JSON request body (MLflow itself caps log-batch at 1 MB; logged-model and
// registry requests are small). Larger bodies are rejected as INVALID_PARAMETER_VALUE.
const maxRequestBytes = 16 << 20

// Request is an MLflow API request message: the JSON body of a POST/PATCH/DELETE, or the query string of a GET
// (repeated keys are lists). Accessors validate types the way MLflow's proto parser does and return errors with
// MLflow's messages.
type Request struct {
	body  map[string]json.RawMessage
	query url.Values
	size  int
}

// ReadRequest parses r into a Request. A body that is not a JSON object is MALFORMED_REQUEST.
func ReadRequest(r *http.Request) (*Request, error) {
	if r.Method == http.MethodGet {
		return &Request{query: r.URL.Query()}, nil
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBytes+1))
	if err != nil {
		return nil, Errorf(ErrMalformed, "Failed to read the request body: %v", err)
	}
	if len(data) > maxRequestBytes {
		return nil, invalidf("Request body exceeds %d bytes", maxRequestBytes)
	}
	req := &Request{body: map[string]json.RawMessage{}, query: r.URL.Query(), size: len(data)}
	if len(bytes.TrimSpace(data)) == 0 {
		return req, nil
	}
	if err := json.Unmarshal(data, &req.body); err != nil {
		return nil, Errorf(ErrMalformed, "Malformed request: the body must be a JSON object (%v)", err)
	}
	if req.body == nil {
		req.body = map[string]json.RawMessage{}
	}
	return req, nil
}

// Size is the body's length in bytes.
func (q *Request) Size() int { return q.size }

func (q *Request) raw(name string) (json.RawMessage, bool) {
	if q.body != nil {
		v, ok := q.body[name]
		if ok && string(v) != "null" {
			return v, true
		}
		if !ok && q.query.Has(name) { // a few clients send query parameters on POST
			b, _ := json.Marshal(q.query.Get(name))
			return b, true
		}
		return nil, false
	}
	if !q.query.Has(name) {
		return nil, false
	}
	b, _ := json.Marshal(q.query.Get(name))
	return b, true
}

// Has reports whether the field is present and not null.
func (q *Request) Has(name string) bool { _, ok := q.raw(name); return ok }

// String returns a string field ("" when absent).
func (q *Request) String(name string) (string, error) {
	v, ok := q.raw(name)
	if !ok {
		return "", nil
	}
	return decodeString(name, v)
}

// RequiredString returns a string field that must be present.
func (q *Request) RequiredString(name string) (string, error) {
	if !q.Has(name) {
		return "", MissingParam(name)
	}
	return q.String(name)
}

// MissingParam is MLflow's error for an absent required field.
func MissingParam(name string) error {
	return invalidf("Missing value for required parameter '%s'. See the API docs for more information about request parameters.", name)
}

// InvalidValue is MLflow's error for a field of the wrong type or shape.
func InvalidValue(name string, raw json.RawMessage) error {
	return invalidf("Invalid value %s for parameter '%s' supplied.", compactJSON(raw), name)
}

func compactJSON(raw json.RawMessage) string {
	var b bytes.Buffer
	if json.Compact(&b, raw) != nil {
		return string(raw)
	}
	return b.String()
}

func decodeString(name string, v json.RawMessage) (string, error) {
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return "", InvalidValue(name, v)
	}
	return s, nil
}

// Int64 returns an integer field (JSON number or numeric string, as proto JSON allows) and whether it was set.
func (q *Request) Int64(name string) (int64, bool, error) {
	v, ok := q.raw(name)
	if !ok {
		return 0, false, nil
	}
	n, err := decodeInt64(name, v)
	return n, err == nil, err
}

func decodeInt64(name string, v json.RawMessage) (int64, error) {
	s := string(v)
	if strings.HasPrefix(s, `"`) {
		if err := json.Unmarshal(v, &s); err != nil {
			return 0, InvalidValue(name, v)
		}
	}
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil {
		f, ferr := strconv.ParseFloat(s, 64)
		if ferr != nil || f != math.Trunc(f) || math.Abs(f) > 1<<62 {
			return 0, InvalidValue(name, v)
		}
		n = int64(f)
	}
	return n, nil
}

// Bool returns a boolean field (JSON bool or "true"/"false").
func (q *Request) Bool(name string) (bool, error) {
	v, ok := q.raw(name)
	if !ok {
		return false, nil
	}
	return decodeBool(name, v)
}

func decodeBool(name string, v json.RawMessage) (bool, error) {
	switch strings.Trim(strings.ToLower(string(v)), `"`) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, InvalidValue(name, v)
}

// Float returns a double field: a JSON number or "NaN", "Infinity", "-Infinity" (or a numeric string).
func (q *Request) Float(name string) (float64, bool, error) {
	v, ok := q.raw(name)
	if !ok {
		return 0, false, nil
	}
	f, err := decodeFloat(name, v)
	return f, err == nil, err
}

func decodeFloat(name string, v json.RawMessage) (float64, error) {
	s := string(v)
	if strings.HasPrefix(s, `"`) {
		if err := json.Unmarshal(v, &s); err != nil {
			return 0, InvalidValue(name, v)
		}
		switch s {
		case "NaN":
			return math.NaN(), nil
		case "Infinity", "inf", "Inf":
			return math.Inf(1), nil
		case "-Infinity", "-inf", "-Inf":
			return math.Inf(-1), nil
		}
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil && !strings.Contains(err.Error(), "range") {
		return 0, InvalidValue(name, v)
	}
	return f, nil
}

// Strings returns a repeated string field (JSON array, or repeated query keys).
func (q *Request) Strings(name string) ([]string, error) {
	if q.body == nil {
		return q.query[name], nil
	}
	v, ok := q.raw(name)
	if !ok {
		return nil, nil
	}
	var out []string
	if err := json.Unmarshal(v, &out); err != nil {
		return nil, InvalidValue(name, v)
	}
	return out, nil
}

// Objects returns a repeated message field as raw JSON objects.
func (q *Request) Objects(name string) ([]*Request, error) {
	v, ok := q.raw(name)
	if !ok {
		return nil, nil
	}
	if q.body == nil { // query strings cannot carry messages
		return nil, InvalidValue(name, v)
	}
	var items []map[string]json.RawMessage
	if err := json.Unmarshal(v, &items); err != nil {
		return nil, InvalidValue(name, v)
	}
	out := make([]*Request, len(items))
	for i, it := range items {
		if it == nil {
			it = map[string]json.RawMessage{}
		}
		out[i] = &Request{body: it}
	}
	return out, nil
}

// Object returns a nested message field (nil when absent).
func (q *Request) Object(name string) (*Request, error) {
	v, ok := q.raw(name)
	if !ok {
		return nil, nil
	}
	var it map[string]json.RawMessage
	if err := json.Unmarshal(v, &it); err != nil || it == nil {
		return nil, InvalidValue(name, v)
	}
	return &Request{body: it}, nil
}

// KeyValues reads a repeated {key, value} field (tags, params); values may be absent (empty) but must be strings.
func (q *Request) KeyValues(name string) ([]KeyValue, error) {
	objs, err := q.Objects(name)
	if err != nil {
		return nil, err
	}
	out := make([]KeyValue, 0, len(objs))
	for _, o := range objs {
		k, err := o.String("key")
		if err != nil {
			return nil, err
		}
		if !o.Has("key") {
			return nil, MissingParam("key")
		}
		v, err := o.stringish("value")
		if err != nil {
			return nil, err
		}
		out = append(out, KeyValue{Key: k, Value: v})
	}
	return out, nil
}

// stringish accepts a string, or a number/bool rendered as text (MLflow stringifies registry tag values).
func (q *Request) stringish(name string) (string, error) {
	v, ok := q.raw(name)
	if !ok {
		return "", nil
	}
	if strings.HasPrefix(string(v), `"`) {
		return decodeString(name, v)
	}
	if strings.HasPrefix(string(v), "{") || strings.HasPrefix(string(v), "[") {
		return "", InvalidValue(name, v)
	}
	return string(v), nil
}

// Float is a double that encodes NaN and ±Inf the way MLflow's JSON does.
type Float float64

// MarshalJSON implements json.Marshaler.
func (f Float) MarshalJSON() ([]byte, error) {
	v := float64(f)
	switch {
	case math.IsNaN(v):
		return []byte(`"NaN"`), nil
	case math.IsInf(v, 1):
		return []byte(`"Infinity"`), nil
	case math.IsInf(v, -1):
		return []byte(`"-Infinity"`), nil
	}
	return json.Marshal(v)
}

// UnmarshalJSON implements json.Unmarshaler.
func (f *Float) UnmarshalJSON(b []byte) error {
	v, err := decodeFloat("value", b)
	*f = Float(v)
	return err
}

// KeyValuesOf reads the "value" field of a tag message, accepting numbers and booleans as text (the registry
// stringifies tag values).
func KeyValuesOf(req *Request) (string, error) { return req.stringish("value") }

// rawJSON is a response body that is already encoded.
type rawJSON []byte

// MarshalJSON implements json.Marshaler.
func (r rawJSON) MarshalJSON() ([]byte, error) { return r, nil }

// appendMetricList encodes {"metrics":[...],"next_page_token":"..."} by hand: a 25,000-point history page is
// the largest response the client asks for, and reflection-based encoding of it cost more than the query.
// strconv quoting is JSON-safe here: metric keys are validated to ASCII word characters, run ids are hex and
// tokens base64.
func appendMetricList(b []byte, ms []Metric, next string) []byte {
	b = append(b, '{')
	if len(ms) > 0 {
		b = append(b, `"metrics":[`...)
		for i, m := range ms {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"key":`...)
			b = strconv.AppendQuote(b, m.Key)
			b = append(b, `,"value":`...)
			b = appendFloat(b, float64(m.Value))
			b = append(b, `,"timestamp":`...)
			b = strconv.AppendInt(b, m.Timestamp, 10)
			b = append(b, `,"step":`...)
			b = strconv.AppendInt(b, m.Step, 10)
			if m.RunID != "" {
				b = append(b, `,"run_id":`...)
				b = strconv.AppendQuote(b, m.RunID)
			}
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	if next != "" {
		if len(ms) > 0 {
			b = append(b, ',')
		}
		b = append(b, `"next_page_token":`...)
		b = strconv.AppendQuote(b, next)
	}
	return append(b, '}')
}

func appendFloat(b []byte, v float64) []byte {
	switch {
	case math.IsNaN(v):
		return append(b, `"NaN"`...)
	case math.IsInf(v, 1):
		return append(b, `"Infinity"`...)
	case math.IsInf(v, -1):
		return append(b, `"-Infinity"`...)
	}
	// encoding/json's float format, without its allocation.
	format := byte('f')
	if abs := math.Abs(v); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, v, format, -1, 64)
	if n := len(b); format == 'e' && n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
		b[n-2] = b[n-1]
		b = b[:n-1]
	}
	return b
}

// SearchPage holds the fields every MLflow search request shares.
type SearchPage struct {
	Filter     string
	PageToken  string
	OrderBy    []string
	MaxResults int64
}

// SearchPage reads filter, page_token, order_by and max_results, in that order (the first bad one is reported).
func (q *Request) SearchPage() (SearchPage, error) {
	var p SearchPage
	var err error
	if p.Filter, err = q.String("filter"); err != nil {
		return p, err
	}
	if p.PageToken, err = q.String("page_token"); err != nil {
		return p, err
	}
	if p.OrderBy, err = q.Strings("order_by"); err != nil {
		return p, err
	}
	p.MaxResults, _, err = q.Int64("max_results")
	return p, err
}
