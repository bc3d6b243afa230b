package embedded

import (
	"context"
	"encoding/binary"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"

	"github.com/strata-data/strata/online/record"
)

func leafPages(t *testing.T, s *Store, space string) int {
	var n int
	require.NoError(t, s.db.View(func(tx *bolt.Tx) error {
		n = tx.Bucket([]byte(space)).Stats().LeafPageN
		return nil
	}))
	return n
}

// TestPutFillsPagesWhenAppending: a fresh space filled in key order (Put, in several transactions) packs its
// leaf pages full, about half the pages of the same rows upserted (bbolt's default half-full split); Puts of
// interleaved keys (a load in chunks of entities) store every row in no more pages than upserts.
func TestPutFillsPagesWhenAppending(t *testing.T) {
	ctx := context.Background()
	s, err := Open(filepath.Join(t.TempDir(), "store.db"))
	require.NoError(t, err)
	defer s.Close()
	entries := func(from, to, step int) []record.Entry {
		var out []record.Entry
		for i := from; i < to; i += step {
			val := make([]byte, 120)
			val[0] = 1
			out = append(out, record.Entry{Key: binary.BigEndian.AppendUint64(nil, uint64(i)), Val: val})
		}
		return out
	}
	for _, chunk := range [][2]int{{0, 10000}, {10000, 20000}} {
		require.NoError(t, s.Put(ctx, "dev/fill", entries(chunk[0], chunk[1], 1)))
		require.NoError(t, s.Upsert(ctx, "dev/upsert", entries(chunk[0], chunk[1], 1), false))
		require.NoError(t, s.MarkEvent(ctx, "dev/fill", 1)) // the marker key sorts last: appends still append
	}
	filled, upserted := leafPages(t, s, "dev/fill"), leafPages(t, s, "dev/upsert")
	require.Less(t, filled*10, upserted*6, "full pages: %d vs %d", filled, upserted)

	require.NoError(t, s.Put(ctx, "dev/chunks", entries(0, 20000, 2)))
	require.NoError(t, s.Put(ctx, "dev/chunks", entries(1, 20000, 2)))
	require.LessOrEqual(t, leafPages(t, s, "dev/chunks"), upserted*11/10, "interleaved chunks")
	got, _, err := s.Lookup(ctx, "dev/chunks", [][]byte{binary.BigEndian.AppendUint64(nil, 19999), binary.BigEndian.AppendUint64(nil, 20000)}, nil)
	require.NoError(t, err)
	require.NotNil(t, got[0])
	require.Nil(t, got[1])
}
