package mlflowapi

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

// Raw returns a field's JSON as sent (a query parameter as a JSON string) and whether it is present and not
// null.
func (q *Request) Raw(name string) (json.RawMessage, bool) {
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
func (q *Request) Has(name string) bool { _, ok := q.Raw(name); return ok }

// String returns a string field ("" when absent).
func (q *Request) String(name string) (string, error) {
	v, ok := q.Raw(name)
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
	v, ok := q.Raw(name)
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
	v, ok := q.Raw(name)
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
	v, ok := q.Raw(name)
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
	v, ok := q.Raw(name)
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
	v, ok := q.Raw(name)
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
	v, ok := q.Raw(name)
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
		v, err := o.Text("value")
		if err != nil {
			return nil, err
		}
		out = append(out, KeyValue{Key: k, Value: v})
	}
	return out, nil
}

// Text returns a field as text: a string as is, a number or boolean as written ("" when absent). MLflow
// stringifies tag values and accepts enum fields by name or number this way; objects and arrays are invalid.
func (q *Request) Text(name string) (string, error) {
	v, ok := q.Raw(name)
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

// KeyValue is MLflow's key/value message: a param or a tag.
type KeyValue struct {
	Key   string `json:"key"`
	Value string `json:"value"`
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
