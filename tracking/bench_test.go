package tracking_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/strata-data/strata/artifacts/local"
	"github.com/strata-data/strata/internal/testenv"
	"github.com/strata-data/strata/tracking"
)

func batchMetrics(c int) []tracking.Metric {
	ms := make([]tracking.Metric, 1000)
	for i := range ms {
		ms[i] = tracking.Metric{Key: fmt.Sprintf("m%d", i%50), Value: tracking.Float(float64(i) * 0.1), Timestamp: int64(1000 + c), Step: int64(c*20 + i/50)}
	}
	return ms
}

// BenchmarkLogBatchStore is one log-batch of 1000 metrics straight into the SQLite store.
func BenchmarkLogBatchStore(b *testing.B) {
	s := newStore(b, testenv.Backends()[0])
	ctx := context.Background()
	run, err := s.CreateRun(ctx, tracking.CreateRunInput{})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := s.LogBatch(ctx, run.Info.RunID, batchMetrics(i), nil, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLogBatchHTTP is the same through the HTTP handler (JSON parsing included).
func BenchmarkLogBatchHTTP(b *testing.B) {
	s := newStore(b, testenv.Backends()[0])
	arts, _ := local.New(b.TempDir())
	r := chi.NewRouter()
	tracking.NewHandler(s, arts, tracking.Options{}).Routes(r)
	run, err := s.CreateRun(context.Background(), tracking.CreateRunInput{})
	if err != nil {
		b.Fatal(err)
	}
	bodies := make([][]byte, 64)
	for i := range bodies {
		bodies[i], _ = json.Marshal(map[string]any{"run_id": run.Info.RunID, "metrics": batchMetrics(i)})
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		req := httptest.NewRequest(http.MethodPost, "/api/2.0/mlflow/runs/log-batch", bytes.NewReader(bodies[i%64]))
		w := httptest.NewRecorder()
		r.ServeHTTP(w, req)
		if w.Code != 200 {
			b.Fatal(w.Body.String())
		}
	}
}

// BenchmarkLogMetricHTTP is one runs/log-metric call through the handler into SQLite.
func BenchmarkLogMetricHTTP(b *testing.B) {
	s := newStore(b, testenv.Backends()[0])
	arts, _ := local.New(b.TempDir())
	r := chi.NewRouter()
	tracking.NewHandler(s, arts, tracking.Options{}).Routes(r)
	run, err := s.CreateRun(context.Background(), tracking.CreateRunInput{})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		body := fmt.Sprintf(`{"run_id":%q,"key":"loss","value":%d,"timestamp":%d,"step":%d}`, run.Info.RunID, i, 1000+i, i)
		req := httptest.NewRequest(http.MethodPost, "/api/2.0/mlflow/runs/log-metric", bytes.NewReader([]byte(body)))
		w := httptest.NewRecorder()
		r.ServeHTTP(w, req)
		if w.Code != 200 {
			b.Fatal(w.Body.String())
		}
	}
}
