package tracking

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/strata-data/strata/mlflowapi"
)

// The one-pass decoder of log-batch metrics must give exactly what the field-by-field path gives, and step
// aside for anything it does not handle.
func TestFastMetricsMatchesFieldByField(t *testing.T) {
	body := func(metrics string) *mlflowapi.Request {
		req, err := mlflowapi.ReadRequest(httptest.NewRequest(http.MethodPost, "/", strings.NewReader(`{"metrics":`+metrics+`}`)))
		if err != nil {
			t.Fatal(err)
		}
		return req
	}
	same := `[{"key":"loss","value":0.25,"timestamp":1700000000000,"step":3},
		{"key":"acc","value":1,"timestamp":1700000000001,"model_id":"m-1","dataset_name":"d","dataset_digest":"x"},
		{"key":"auc","value":-2.5e-3,"timestamp":5,"step":null}]`
	fast, ok := fastMetrics(body(same))
	if !ok {
		t.Fatal("fast path refused a well-formed batch")
	}
	slow, err := batchMetrics(body(same))
	if err != nil {
		t.Fatal(err)
	}
	if len(fast) != len(slow) {
		t.Fatalf("fast %d metrics, slow %d", len(fast), len(slow))
	}
	for i := range fast {
		if fast[i] != slow[i] {
			t.Errorf("metric %d: fast %+v, slow %+v", i, fast[i], slow[i])
		}
	}
	for _, odd := range []string{
		`[{"key":"x","value":"NaN","timestamp":1}]`,
		`[{"key":"x","value":1,"timestamp":"1700000000000"}]`,
		`[{"key":"x","value":1}]`,
		`[{"value":1,"timestamp":1}]`,
		`[{"key":"x","value":1,"timestamp":1.5}]`,
		`{"not":"a list"}`,
	} {
		if _, ok := fastMetrics(body(odd)); ok {
			t.Errorf("fast path accepted %s; it must leave it to the field-by-field path", odd)
		}
	}
}
