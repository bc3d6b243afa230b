package features

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/internal/testenv"
)

// TestParseEveryViewField: every field the issue lists for a view and a feature is read, stored by apply and
// read back from the registry: owner, tags, description, a feature's description and tags, online, the
// created-time column; a change to any of them alone is a change plan names.
func TestParseEveryViewField(t *testing.T) {
	text := strings.Replace(goodDefs, "      - name: total\n        type: double\n        description: money spent\n",
		"      - name: total\n        type: double\n        description: money spent\n        tags: {pii: \"no\", unit: eur}\n", 1)
	text = strings.Replace(text, "    owner: growth\n", "    owner: growth\n    description: what users spent\n", 1)
	d, err := Parse("features/a.yaml", []byte(text))
	require.NoError(t, err)
	v := d.Views[0]
	require.Equal(t, "growth", v.Owner)
	require.Equal(t, "what users spent", v.Description)
	require.Equal(t, map[string]string{"team": "growth"}, v.Tags)
	require.Equal(t, "created_ts", v.CreatedTime)
	require.True(t, v.Online)
	require.Equal(t, Feature{Name: "total", Type: "double", Description: "money spent", Tags: map[string]string{"pii": "no", "unit": "eur"}}, v.Features[0])
	require.False(t, d.Views[1].Online, "online defaults to false")

	ctx := context.Background()
	r := NewRegistry(openDB(t, testenv.SQLiteDSN(t)))
	_, err = r.Apply(ctx, "dev", d, "ann")
	require.NoError(t, err)
	def, err := r.Get(ctx, "dev", KindView, "user_stats")
	require.NoError(t, err)
	stored, err := def.View()
	require.NoError(t, err)
	require.Equal(t, v.Owner, stored.Owner)
	require.Equal(t, v.Description, stored.Description)
	require.Equal(t, v.Tags, stored.Tags)
	require.Equal(t, v.Features, stored.Features)

	for _, edit := range []struct{ from, to, field string }{
		{"owner: growth", "owner: risk", "owner"},
		{"unit: eur", "unit: usd", "features"},
		{"{team: growth}", "{team: risk}", "tags"},
		{"online: true", "online: false", "online"},
	} {
		changed, err := Parse("features/a.yaml", []byte(strings.Replace(text, edit.from, edit.to, 1)))
		require.NoError(t, err, edit.from)
		plan, err := r.Plan(ctx, "dev", changed)
		require.NoError(t, err)
		require.Len(t, plan, 1, edit.from)
		require.Equal(t, OpChange, plan[0].Op)
		require.Contains(t, plan[0].Details, edit.field, edit.from)
	}
}
