package s3_test

import (
	"net/http/httptest"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/artifacts"
	"github.com/strata-data/strata/artifacts/artifactstest"
	"github.com/strata-data/strata/artifacts/backends"
	"github.com/strata-data/strata/artifacts/s3"
)

// fakeS3 starts an in-process S3 on loopback with one bucket.
func fakeS3(t *testing.T) string {
	backend := s3mem.New()
	require.NoError(t, backend.CreateBucket("artifacts"))
	srv := httptest.NewServer(gofakes3.New(backend).Server())
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestConformance(t *testing.T) {
	artifactstest.Run(t, func(t *testing.T) artifacts.Store {
		s, err := s3.New(s3.Options{Endpoint: fakeS3(t), Region: "us-east-1", AccessKey: "k", SecretKey: "s",
			Bucket: "artifacts", Prefix: "/strata/mlflow/"})
		require.NoError(t, err)
		return s
	})
}

func TestOpenURI(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "k")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "s")
	artifactstest.Run(t, func(t *testing.T) artifacts.Store {
		s, err := backends.Open(t.Context(), "s3://artifacts/p?endpoint="+fakeS3(t)+"&region=us-east-1")
		require.NoError(t, err)
		return s
	})
}
