//go:build duckdb_arrow

package move_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/internal/testenv"
	"github.com/strata-data/strata/move"
)

// TestFilesSourceReadsOnlyPublishedFiles: a folder written by a files target (local and on S3) is read by a
// files source as exactly the files its manifests list: a complete data file of a killed write (no manifest,
// not removed yet) is not read; appends add their files; an overwrite hides what came before it. A folder
// without manifests is read whole, as before.
func TestFilesSourceReadsOnlyPublishedFiles(t *testing.T) {
	t.Parallel()
	for _, store := range []string{"local", "s3"} {
		t.Run(store, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, testenv.SQLiteDSN(t))
			ctx := context.Background()
			d := f.deps("dev")
			out := f.dir + "/out"
			stray := func(name, body string) { f.file(t, "out/"+name, body) }
			if store == "s3" {
				c, lookup := fakeS3(t, "data")
				d.Lookup = lookup
				out = "s3://data/out"
				stray = func(name, body string) { putObject(t, c, "data", "out/"+name, body) }
			}
			run := func(body string) *move.RunRecord {
				spec, ps := f.job(t, body, nil)
				rec, err := move.Run(ctx, d, spec, ps)
				require.NoError(t, err)
				return rec
			}
			run("name: load\nsource: {type: files, path: '" + f.file(t, "a.csv", "id\n1\n2\n3\n") + "'}\ntarget: {type: lake, table: raw.src}\n")
			export := "name: export\nsource: {type: lake, table: raw.src}\ntarget: {type: files, path: '" + out + "', format: csv%s}\n"
			back := func() []string {
				run("name: back\nsource: {type: files, path: '" + out + "'}\ntarget: {type: lake, table: raw.back, mode: overwrite}\n")
				return f.query(t, "dev", "SELECT count(*), sum(id) FROM raw.back")
			}

			run(fmt.Sprintf(export, ""))
			// A killed write's complete part (its run never wrote a manifest) and a file of another tool.
			stray("part-0123456789abcdef-00000.csv", "id\n1000\n")
			stray("notes.csv", "id\n5000\n")
			require.Equal(t, []string{"3|6"}, back(), "only the files the manifest lists")

			run(fmt.Sprintf(export, ""))
			require.Equal(t, []string{"6|12"}, back(), "an append adds its files")

			run(fmt.Sprintf(export, ", mode: overwrite"))
			require.Equal(t, []string{"3|6"}, back(), "an overwrite replaces the earlier files")
		})
	}
}

// TestFilesSourceWithoutManifestsReadsEveryFile: a folder no files target wrote is read whole.
func TestFilesSourceWithoutManifestsReadsEveryFile(t *testing.T) {
	t.Parallel()
	f := newFixture(t, testenv.SQLiteDSN(t))
	f.file(t, "in/a.csv", "id\n1\n")
	f.file(t, "in/part-0123456789abcdef-00000.csv", "id\n10\n")
	spec, ps := f.job(t, "name: in\nsource: {type: files, path: '"+f.dir+"/in'}\ntarget: {type: lake, table: raw.in}\n", nil)
	_, err := move.Run(context.Background(), f.deps("dev"), spec, ps)
	require.NoError(t, err)
	require.Equal(t, []string{"2|11"}, f.query(t, "dev", "SELECT count(*), sum(id) FROM raw.in"))
}
