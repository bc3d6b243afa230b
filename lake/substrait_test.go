package lake

import (
	"testing"

	"github.com/apache/iceberg-go"
	icesubstrait "github.com/apache/iceberg-go/table/substrait"
	"github.com/stretchr/testify/require"
)

// TestIcebergSubstraitFilters: iceberg-go converts every kind of filter it supports to Substrait with the
// trimmed extension files of third_party/substrait (go.mod's replace): comparisons, NULL and NaN tests, set
// membership, starts_with, and, or, not.
func TestIcebergSubstraitFilters(t *testing.T) {
	schema := iceberg.NewSchema(1,
		iceberg.NestedField{ID: 1, Name: "id", Type: iceberg.PrimitiveTypes.Int64, Required: true},
		iceberg.NestedField{ID: 2, Name: "name", Type: iceberg.PrimitiveTypes.String},
		iceberg.NestedField{ID: 3, Name: "score", Type: iceberg.PrimitiveTypes.Float64},
	)
	id, name, score := iceberg.Reference("id"), iceberg.Reference("name"), iceberg.Reference("score")
	for _, e := range []iceberg.BooleanExpression{
		iceberg.EqualTo(id, int64(1)),
		iceberg.NotEqualTo(id, int64(1)),
		iceberg.LessThan(id, int64(5)),
		iceberg.GreaterThanEqual(score, 2.5),
		iceberg.IsNull(name),
		iceberg.NotNull(name),
		iceberg.IsNaN(score),
		iceberg.IsIn(id, int64(1), int64(2), int64(3)),
		iceberg.StartsWith(name, "ab"),
		iceberg.NewAnd(iceberg.EqualTo(id, int64(1)), iceberg.NewOr(iceberg.IsNull(name), iceberg.NewNot(iceberg.StartsWith(name, "x")))),
	} {
		bound, err := iceberg.BindExpr(schema, e, true)
		require.NoError(t, err, e.String())
		_, out, err := icesubstrait.ConvertExpr(schema, bound, true)
		require.NoError(t, err, e.String())
		require.NotNil(t, out, e.String())
	}
}
