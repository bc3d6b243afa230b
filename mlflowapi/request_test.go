package mlflowapi

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
