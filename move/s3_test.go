//go:build duckdb_arrow

package move_test

import (
	"bytes"
	"context"
	"io"
	"net/http/httptest"
	"sort"
	"sync"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/errs"
	"github.com/strata-data/strata/internal/testenv"
	"github.com/strata-data/strata/move"
)

// fakeS3 starts an in-process S3 on loopback with a bucket and returns a client of it and the environment a
// job reads its endpoint and credentials from.
func fakeS3(t *testing.T, bucket string) (*minio.Client, func(string) (string, bool)) {
	t.Helper()
	backend := s3mem.New()
	require.NoError(t, backend.CreateBucket(bucket))
	srv := httptest.NewServer(gofakes3.New(backend).Server())
	t.Cleanup(srv.Close)
	env := map[string]string{"AWS_ENDPOINT_URL": srv.URL, "AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s", "AWS_REGION": "us-east-1"}
	c, err := minio.New(srv.Listener.Addr().String(), &minio.Options{Creds: credentials.NewStaticV4("k", "s", ""),
		Region: "us-east-1", BucketLookup: minio.BucketLookupPath})
	require.NoError(t, err)
	return c, func(k string) (string, bool) { v, ok := env[k]; return v, ok }
}

func putObject(t *testing.T, c *minio.Client, bucket, key, body string) {
	t.Helper()
	_, err := c.PutObject(context.Background(), bucket, key, bytes.NewReader([]byte(body)), int64(len(body)), minio.PutObjectOptions{})
	require.NoError(t, err)
}

func objectKeys(t *testing.T, c *minio.Client, bucket, prefix string) []string {
	t.Helper()
	var out []string
	for o := range c.ListObjects(context.Background(), bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		require.NoError(t, o.Err)
		out = append(out, o.Key)
	}
	sort.Strings(out)
	return out
}

// TestS3SourceAndTarget: a files source reads the objects of a bucket prefix (or a glob), a files target
// writes objects (hive partitions); an object removed while the run reads fails the run with nothing committed.
func TestS3SourceAndTarget(t *testing.T) {
	t.Parallel()
	c, lookup := fakeS3(t, "data")
	putObject(t, c, "data", "in/a.csv", "id,day\n1,2026-11-01\n2,2026-11-02\n")
	putObject(t, c, "data", "in/b.csv", "id,day\n3,2026-11-02\n")
	putObject(t, c, "data", "in/c.csv", "id,day\n4,2026-11-03\n")
	putObject(t, c, "data", "in/readme.txt", "not data")
	putObject(t, c, "data", "in/sub/d.csv", "id,day\n99,2026-11-09\n")
	f := newFixture(t, testenv.SQLiteDSN(t))
	ctx := context.Background()
	d := f.deps("dev")
	d.Lookup = lookup
	run := func(d move.Deps, body string) (*move.RunRecord, error) {
		spec, ps := f.job(t, body, nil)
		return move.Run(ctx, d, spec, ps)
	}
	in := "name: in\nsource: {type: files, path: 's3://data/in/'}\nincremental: {by: name}\ntarget: {type: lake, table: raw.s}\n"
	rec, err := run(d, in)
	require.NoError(t, err)
	require.Equal(t, int64(4), rec.RowsWritten)
	rec, err = run(d, "name: glob\nsource: {type: files, path: 's3://data/in/[ab].csv'}\ntarget: {type: lake, table: raw.g}\n")
	require.NoError(t, err)
	require.Equal(t, int64(3), rec.RowsWritten)

	rec, err = run(d, "name: out\nsource: {type: lake, table: raw.s}\ntarget: {type: files, path: 's3://data/out', format: csv, partition_by: [day]}\n")
	require.NoError(t, err)
	require.Len(t, rec.Files, 3)
	keys := objectKeys(t, c, "data", "out/")
	require.Equal(t, "out/_strata_run-"+rec.ID+".manifest", keys[0], "the write is published by its manifest, written last")
	keys = keys[1:]
	require.Len(t, keys, 3)
	require.Regexp(t, `^out/day=2026-11-02/part-`+rec.ID+`-\d+\.csv$`, keys[1])
	obj, err := c.GetObject(ctx, "data", keys[1], minio.GetObjectOptions{})
	require.NoError(t, err)
	body, err := io.ReadAll(obj)
	require.NoError(t, err)
	require.Equal(t, "id\n2\n3\n", string(body))

	// f.csv disappears after e.csv was opened: the run fails, the table and the watermark are unchanged; the
	// next run reads both new objects, exactly once.
	putObject(t, c, "data", "in/e.csv", "id,day\n5,2026-11-05\n")
	putObject(t, c, "data", "in/f.csv", "id,day\n6,2026-11-06\n")
	wm, _, err := move.Watermark(ctx, f.db, "in", "dev")
	require.NoError(t, err)
	require.Equal(t, "s3://data/in/c.csv", wm)
	before := f.snapshots(t, "dev", "raw.s")
	var once sync.Once
	killer := d
	killer.Hook = func(p string) {
		if p == "source:file" {
			once.Do(func() { require.NoError(t, c.RemoveObject(ctx, "data", "in/f.csv", minio.RemoveObjectOptions{})) })
		}
	}
	rec, err = run(killer, in)
	require.Error(t, err)
	require.Equal(t, errs.Unavailable, errs.KindOf(err))
	require.ErrorContains(t, err, "s3://data/in/f.csv: it is gone")
	require.Equal(t, move.StatusFailed, rec.Status)
	require.Equal(t, before, f.snapshots(t, "dev", "raw.s"), "nothing committed")
	after, _, err := move.Watermark(ctx, f.db, "in", "dev")
	require.NoError(t, err)
	require.Equal(t, wm, after, "the watermark did not move")
	putObject(t, c, "data", "in/f.csv", "id,day\n6,2026-11-06\n")
	rec, err = run(d, in)
	require.NoError(t, err)
	require.Equal(t, int64(2), rec.RowsWritten)
	require.Equal(t, []string{"6|6"}, f.query(t, "dev", "SELECT count(*), count(DISTINCT id) FROM raw.s"))

	_, err = run(d, "name: none\nsource: {type: files, path: 's3://data/nothing/'}\ntarget: {type: lake, table: raw.n}\n")
	require.Equal(t, errs.NotFound, errs.KindOf(err))

	// Malformed rows of objects are quarantined with their raw text, read before the local copy went.
	putObject(t, c, "data", "bad/x.csv", "id,day\n1,2026-11-01\n2,2026-11-02,extra\n3,2026-11-03\n")
	rec, err = run(d, "name: q\nsource: {type: files, path: 's3://data/bad/'}\ntarget: {type: lake, table: raw.q}\n"+
		"on_error: {max_bad_rows: 1, quarantine: raw.q_rejected}\n")
	require.NoError(t, err)
	require.Equal(t, int64(2), rec.RowsWritten)
	require.Equal(t, []string{"s3://data/bad/x.csv|3|2,2026-11-02,extra"}, f.query(t, "dev", "SELECT file, line, raw FROM raw.q_rejected"))
}
