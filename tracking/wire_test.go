package tracking

import (
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestFloatJSON(t *testing.T) {
	b, err := json.Marshal([]Float{Float(math.NaN()), Float(math.Inf(1)), Float(math.Inf(-1)), 1.5, 1e300})
	require.NoError(t, err)
	require.Equal(t, `["NaN","Infinity","-Infinity",1.5,1e+300]`, string(b))
	var fs []Float
	require.NoError(t, json.Unmarshal([]byte(`["NaN","Infinity","-Infinity",2,"3.5"]`), &fs))
	require.True(t, math.IsNaN(float64(fs[0])))
	require.Equal(t, []Float{Float(math.Inf(1)), Float(math.Inf(-1)), 2, 3.5}, fs[1:])
}

func TestWriteErrorStatuses(t *testing.T) {
	cases := []struct {
		err    error
		status int
		code   string
	}{
		{notFoundf("Run with id=x not found"), 404, "RESOURCE_DOES_NOT_EXIST"},
		{Errorf(ErrAlreadyExists, "dup"), 400, "RESOURCE_ALREADY_EXISTS"},
		{invalidf("bad"), 400, "INVALID_PARAMETER_VALUE"},
		{Errorf(ErrMalformed, "json"), 400, "MALFORMED_REQUEST"},
		{Errorf(ErrNotImplemented, "mpu"), 501, "NOT_IMPLEMENTED"},
		{errors.New("disk on fire"), 500, "INTERNAL_ERROR"},
	}
	for _, c := range cases {
		w := httptest.NewRecorder()
		WriteError(w, httptest.NewRequest(http.MethodGet, "/x", nil), c.err)
		require.Equal(t, c.status, w.Code)
		var body map[string]string
		require.NoError(t, json.Unmarshal(w.Body.Bytes(), &body))
		require.Equal(t, c.code, body["error_code"])
		require.NotContains(t, body["message"], "disk on fire", "internal errors are not shown to clients")
	}
}

func TestRequestTypes(t *testing.T) {
	r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(`{"run_id":31,"step":"7","ok":"x","v":"NaN","n":null}`))
	req, err := ReadRequest(r)
	require.NoError(t, err)
	_, err = req.String("run_id")
	require.ErrorContains(t, err, "Invalid value 31 for parameter 'run_id' supplied.")
	step, ok, err := req.Int64("step")
	require.NoError(t, err)
	require.True(t, ok)
	require.EqualValues(t, 7, step)
	v, _, err := req.Float("v")
	require.NoError(t, err)
	require.True(t, math.IsNaN(v))
	require.False(t, req.Has("n"))
	_, err = req.RequiredString("missing")
	require.ErrorContains(t, err, "Missing value for required parameter 'missing'")

	for _, body := range []string{"{", "[1]", `"s"`, "\x00"} {
		_, err := ReadRequest(httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body)))
		require.True(t, errors.Is(err, ErrMalformed), body)
	}
	q, err := ReadRequest(httptest.NewRequest(http.MethodGet, "/?run_ids=a&run_ids=b&max_results=5", nil))
	require.NoError(t, err)
	ids, err := q.Strings("run_ids")
	require.NoError(t, err)
	require.Equal(t, []string{"a", "b"}, ids)
}

func TestAppendMetricListMatchesEncodingJSON(t *testing.T) {
	ms := []Metric{{Key: "a", Value: 0.1, Timestamp: 1, Step: 2}, {Key: "b/c d", Value: Float(math.NaN())},
		{Key: "x", Value: 1e-7, RunID: "abc"}, {Key: "y", Value: 1e21}, {Key: "z", Value: -1.7976931348623157e308}, {Key: "i", Value: Float(math.Inf(1))}}
	want, err := json.Marshal(struct {
		Metrics       []Metric `json:"metrics,omitempty"`
		NextPageToken string   `json:"next_page_token,omitempty"`
	}{ms, "tok=="})
	require.NoError(t, err)
	require.JSONEq(t, string(want), string(appendMetricList(nil, ms, "tok==")))
	require.Equal(t, "{}", string(appendMetricList(nil, nil, "")))
	require.Equal(t, `1e-7`, string(appendFloat(nil, 1e-7)))
}
