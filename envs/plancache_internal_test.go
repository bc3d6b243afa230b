package envs

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/lake"
)

func testPlan(files int) *lake.Plan {
	p := &lake.Plan{Ident: lake.Ident{Zone: "raw", Name: "t"}, SnapshotID: 1, Columns: []lake.Column{{FieldID: 1, Name: "id", Type: "long"}}}
	for i := range files {
		p.Files = append(p.Files, fmt.Sprintf("/lake/raw/t/data/%05d.parquet", i))
	}
	return p
}

func TestPlanCacheEvictsLeastRecentlyUsed(t *testing.T) {
	c := newPlanCache(3, 0)
	key := func(i int) planKey { return planKey{env: "dev", zone: "raw", name: "t", metadataLoc: fmt.Sprint(i)} }
	for i := range 3 {
		c.put(key(i), testPlan(1))
	}
	_, ok := c.get(key(0)) // 0 becomes the most recently used; 1 is now the oldest
	require.True(t, ok)
	c.put(key(3), testPlan(1))
	require.Equal(t, 3, c.len())
	_, ok = c.get(key(1))
	require.False(t, ok, "the least recently used plan is evicted")
	for _, i := range []int{0, 2, 3} {
		_, ok = c.get(key(i))
		require.True(t, ok, "plan %d", i)
	}
}

func TestPlanCacheBoundedByBytes(t *testing.T) {
	one := planBytes(planKey{env: "dev", zone: "raw", name: "t", metadataLoc: "0"}, testPlan(100))
	c := newPlanCache(1000, 3*one)
	for i := range 10 {
		c.put(planKey{env: "dev", zone: "raw", name: "t", metadataLoc: fmt.Sprint(i)}, testPlan(100))
	}
	require.Equal(t, 3, c.len())
	require.LessOrEqual(t, c.bytes, 3*one)

	c.put(planKey{env: "dev", zone: "raw", name: "big"}, testPlan(10000)) // larger than the whole cache
	_, ok := c.get(planKey{env: "dev", zone: "raw", name: "big"})
	require.False(t, ok)
	require.Equal(t, 3, c.len(), "an oversized plan evicts nothing")
}

func TestPlanCacheHandsOutCopies(t *testing.T) {
	c := newPlanCache(0, 0)
	k := planKey{env: "dev", zone: "raw", name: "t", metadataLoc: "m"}
	p := testPlan(2)
	c.put(k, p)
	p.Files[0] = "changed by the caller after put"
	got, ok := c.get(k)
	require.True(t, ok)
	require.Equal(t, "/lake/raw/t/data/00000.parquet", got.Files[0])
	got.Files[1] = "changed by the caller after get"
	got.Columns[0].Name = "x"
	again, _ := c.get(k)
	require.Equal(t, testPlan(2), again)
}

func TestPlanCacheDisabled(t *testing.T) {
	c := newPlanCache(-1, 0)
	require.Nil(t, c)
	c.put(planKey{}, testPlan(1))
	_, ok := c.get(planKey{})
	require.False(t, ok)
}
