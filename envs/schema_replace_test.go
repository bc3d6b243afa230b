package envs_test

import (
	"context"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/envs"
	"github.com/strata-data/strata/internal/testenv"
	"github.com/strata-data/strata/lake"
)

func planColumns(t *testing.T, p *lake.Plan) []string {
	t.Helper()
	var out []string
	for _, c := range p.Columns {
		out = append(out, c.Name)
	}
	return out
}

// TestWriteReplaceSchema: an overwrite with ReplaceSchema leaves the table with the data's columns only
// (reported as added and removed, in the result and the audit entry); readers of the earlier snapshot still get
// its columns; in prod the write is staged, so readers keep the released columns until a release publishes it.
// ReplaceSchema without a plain overwrite is refused and commits nothing.
func TestWriteReplaceSchema(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			svc := newService(t, b.DSN(t))
			id := ident(t, "datasets.train")
			f := func(name string, typ arrow.DataType) arrow.Field { return arrow.Field{Name: name, Type: typ} }
			id64, score := f("id", arrow.PrimitiveTypes.Int64), f("score", arrow.PrimitiveTypes.Float64)

			for _, env := range []string{"dev", "prod"} {
				v1, err := svc.Write(ctx, env, id, rows(0, 3), envs.WriteOptions{Force: true, CreateIfMissing: true})
				require.NoError(t, err)
				if env == "prod" {
					_, err = svc.Publish(ctx, "prod", nil, envs.PublishOptions{Actor: "a"})
					require.NoError(t, err)
				}
				before := snapshotsOf(t, svc, env, "datasets.train")

				// Refused: not a plain overwrite.
				for _, opts := range []envs.WriteOptions{
					{Force: true, ReplaceSchema: true},
					{Force: true, Mode: envs.Append, ReplaceSchema: true},
					{Force: true, Mode: envs.Overwrite, ReplaceSchema: true, BasedOn: &v1.SnapshotID, Replace: []string{}},
				} {
					_, err = svc.Write(ctx, env, id, columns(id64, score), opts)
					require.ErrorIs(t, err, envs.ErrInvalid)
					require.ErrorContains(t, err, "ReplaceSchema) needs an overwrite of all its rows")
				}
				require.Equal(t, before, snapshotsOf(t, svc, env, "datasets.train"), "a refused write commits nothing")

				res, err := svc.Write(ctx, env, id, columns(id64, score),
					envs.WriteOptions{Force: true, Mode: envs.Overwrite, ReplaceSchema: true, Action: "dataset"})
				require.NoError(t, err)
				require.Equal(t, []string{"score"}, res.AddedColumns)
				require.Equal(t, []string{"value"}, res.RemovedColumns)
				require.Equal(t, env == "prod", res.Staged)
				action := "table.dataset"
				if env == "prod" {
					action += ".forced"
				}
				entries := auditOf(t, svc, env, action)
				last := entries[len(entries)-1]
				require.Equal(t, []any{"value"}, last["removed_columns"])
				require.Equal(t, []any{"score"}, last["added_columns"])

				info, err := svc.Lake().Describe(ctx, env, id)
				require.NoError(t, err)
				require.Equal(t, []string{"id", "score"}, colNamesOnly(info.Columns), "the table's columns are the data's")

				old, err := svc.Resolve(ctx, env, id, lake.SnapshotRef{ID: v1.SnapshotID})
				require.NoError(t, err)
				require.Equal(t, []string{"id", "value"}, planColumns(t, old), "the earlier snapshot keeps its columns")
				require.EqualValues(t, 3, old.Rows)

				cur, err := svc.Resolve(ctx, env, id, lake.SnapshotRef{})
				require.NoError(t, err)
				if env == "prod" {
					require.Equal(t, v1.SnapshotID, cur.SnapshotID, "prod readers see the release, not the staged write")
					require.Equal(t, []string{"id", "value"}, planColumns(t, cur))
					_, err = svc.Publish(ctx, "prod", nil, envs.PublishOptions{Actor: "a"})
					require.NoError(t, err)
					cur, err = svc.Resolve(ctx, env, id, lake.SnapshotRef{})
					require.NoError(t, err)
				}
				require.Equal(t, res.SnapshotID, cur.SnapshotID)
				require.Equal(t, []string{"id", "score"}, planColumns(t, cur))
				require.EqualValues(t, 1, cur.Rows)
			}
		})
	}
}

func colNamesOnly(cols []lake.Column) []string {
	var out []string
	for _, c := range cols {
		out = append(out, c.Name)
	}
	return out
}
