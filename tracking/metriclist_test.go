package tracking

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

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
