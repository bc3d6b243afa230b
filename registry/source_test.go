package registry_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/artifacts/backends"
	"github.com/strata-data/strata/registry"
	"github.com/strata-data/strata/tracking"
)

// Model version sources over HTTP, as MLflow's server accepts them (mlflow/server/handlers.py,
// _create_model_version in 3.17).
func TestModelVersionSources(t *testing.T) {
	forBackends(t, func(t *testing.T, s *registry.Store, ts *tracking.Store) {
		ctx := context.Background()
		arts, err := backends.Open(ctx, t.TempDir())
		require.NoError(t, err)
		r := chi.NewRouter()
		registry.NewHandler(s, arts, slog.New(slog.NewTextHandler(&bytes.Buffer{}, nil))).Routes(r)
		call := func(method, path string, body any) (int, map[string]any) {
			b, _ := json.Marshal(body)
			w := httptest.NewRecorder()
			r.ServeHTTP(w, httptest.NewRequest(method, "/api/2.0/mlflow/"+path, bytes.NewReader(b)))
			var out map[string]any
			require.NoError(t, json.Unmarshal(w.Body.Bytes(), &out), w.Body.String())
			return w.Code, out
		}
		create := func(body map[string]any) (int, map[string]any) {
			return call(http.MethodPost, "model-versions/create", body)
		}
		versions := func(name string) int {
			vs, _, err := s.SearchModelVersions(ctx, registry.SearchInput{Filter: "name = '" + name + "'"})
			require.NoError(t, err)
			return len(vs)
		}

		run, err := ts.CreateRun(ctx, tracking.CreateRunInput{ExperimentID: "0"})
		require.NoError(t, err)
		lm, err := ts.CreateLoggedModel(ctx, tracking.CreateLoggedModelInput{ExperimentID: "0", Name: "m", SourceRunID: run.Info.RunID})
		require.NoError(t, err)
		for _, n := range []string{"src", "dst"} {
			code, _ := call(http.MethodPost, "registered-models/create", map[string]any{"name": n})
			require.Equal(t, 200, code)
		}

		// models:/<model_id> needs the matching model_id.
		src := "models:/" + lm.Info.ModelID
		for _, body := range []map[string]any{{"name": "src", "source": src}, {"name": "src", "source": src, "model_id": "m-other"}} {
			code, out := create(body)
			require.Equal(t, 400, code, body)
			require.Equal(t, "INVALID_PARAMETER_VALUE", out["error_code"])
			require.Contains(t, out["message"], "model_id request parameter")
		}
		require.Zero(t, versions("src"), "a refused version writes nothing")
		code, out := create(map[string]any{"name": "src", "source": src, "model_id": lm.Info.ModelID})
		require.Equal(t, 200, code, out)
		mv := out["model_version"].(map[string]any)
		require.Equal(t, run.Info.RunID, mv["run_id"], "run_id comes from the logged model")
		code, out = create(map[string]any{"name": "src", "source": "models:/m-0123456789abcdef0123456789abcdef", "model_id": "m-0123456789abcdef0123456789abcdef"})
		require.Equal(t, 404, code)
		require.Equal(t, "RESOURCE_DOES_NOT_EXIST", out["error_code"])

		// models:/<name>/<version> (copy_model_version) keeps the source's files and run; @alias and /latest too.
		require.NoError(t, s.SetAlias(ctx, "src", "champion", 1))
		for i, source := range []string{"models:/src/1", "models:/src@champion", "models:/src/latest", "models:/src/None"} {
			code, out = create(map[string]any{"name": "dst", "source": source, "run_id": run.Info.RunID})
			require.Equal(t, 200, code, "%s: %v", source, out)
			mv = out["model_version"].(map[string]any)
			require.Equal(t, "models:/src/1", mv["source"], source)
			require.Equal(t, run.Info.RunID, mv["run_id"])
			uri, err := s.DownloadURI(ctx, "dst", int64(i+1))
			require.NoError(t, err)
			require.Equal(t, lm.Info.ArtifactURI, uri, "the copy downloads the source version's files")
		}
		for source, want := range map[string]int{"models:/src/7": 404, "models:/nope/1": 404, "models:/src@nope": 400,
			"models://other/src/1": 400, "models:/src/1/x": 400} {
			code, out = create(map[string]any{"name": "dst", "source": source})
			require.Equal(t, want, code, "%s: %v", source, out)
		}
		code, out = create(map[string]any{"name": "dst", "source": "models:/src/1", "run_id": "0123456789abcdef0123456789abcdef"})
		require.Equal(t, 400, code, "a run_id that is not the source version's is refused: %v", out)
		require.Equal(t, 4, versions("dst"))

		// Prompt versions carry a placeholder source; prompts are not model sources.
		prompt := []map[string]any{{"key": "mlflow.prompt.is_prompt", "value": "true"}}
		code, _ = call(http.MethodPost, "registered-models/create", map[string]any{"name": "greet", "tags": prompt})
		require.Equal(t, 200, code)
		for _, source := range []string{"dummy-source", "prompt-template"} {
			code, out = create(map[string]any{"name": "greet", "source": source, "tags": append(prompt, map[string]any{"key": "mlflow.prompt.text", "value": "Hi {{name}}"})})
			require.Equal(t, 200, code, out)
		}
		code, out = create(map[string]any{"name": "greet", "source": "/etc/passwd", "tags": prompt})
		require.Equal(t, 400, code)
		require.Contains(t, out["message"], "Invalid prompt source")
		code, _ = create(map[string]any{"name": "dst", "source": "dummy-source"})
		require.Equal(t, 400, code, "the placeholder is a prompt's source only")
		code, out = create(map[string]any{"name": "dst", "source": "models:/greet/1"})
		require.Equal(t, 400, code)
		require.Contains(t, out["message"], "Prompt versions cannot be used")
		require.Equal(t, 2, versions("greet"))
		require.Equal(t, 4, versions("dst"))
	})
}
