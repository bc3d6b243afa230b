// Package artifactstest is the conformance suite every artifacts.Store backend runs.
package artifactstest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/artifacts"
)

// Run checks the artifacts.Store contract on stores made by newStore (each call returns an empty store).
func Run(t *testing.T, newStore func(t *testing.T) artifacts.Store) {
	ctx := context.Background()
	t.Run("PutGetList", func(t *testing.T) {
		s := newStore(t)
		require.NoError(t, s.Put(ctx, "0/run/artifacts/a.txt", strings.NewReader("hello"), 5))
		require.NoError(t, s.Put(ctx, "0/run/artifacts/nested/b.bin", bytes.NewReader([]byte{0, 1, 2}), 3))
		require.NoError(t, s.Put(ctx, "0/run/artifacts/unknown-size.txt", strings.NewReader("streamed"), -1))
		requireContent(t, s, "0/run/artifacts/a.txt", "hello")
		requireContent(t, s, "0/run/artifacts/nested/b.bin", "\x00\x01\x02")
		requireContent(t, s, "0/run/artifacts/unknown-size.txt", "streamed")

		entries, err := s.List(ctx, "0/run/artifacts")
		require.NoError(t, err)
		require.Equal(t, []artifacts.Entry{{Path: "a.txt", Size: 5}, {Path: "nested", IsDir: true}, {Path: "unknown-size.txt", Size: 8}}, entries)
		entries, err = s.List(ctx, "0/run/artifacts/nested/")
		require.NoError(t, err)
		require.Equal(t, []artifacts.Entry{{Path: "b.bin", Size: 3}}, entries)
		entries, err = s.List(ctx, "0/missing")
		require.NoError(t, err)
		require.Empty(t, entries)
	})
	t.Run("Overwrite", func(t *testing.T) {
		s := newStore(t)
		require.NoError(t, s.Put(ctx, "f", strings.NewReader("one"), 3))
		require.NoError(t, s.Put(ctx, "f", strings.NewReader("second"), 6))
		requireContent(t, s, "f", "second")
	})
	t.Run("NotFound", func(t *testing.T) {
		s := newStore(t)
		_, err := s.Get(ctx, "nope/x")
		require.True(t, errors.Is(err, artifacts.ErrNotFound), "got %v", err)
		require.NoError(t, s.Put(ctx, "dir/x", strings.NewReader("x"), 1))
		_, err = s.Get(ctx, "dir")
		require.True(t, errors.Is(err, artifacts.ErrNotFound), "a directory is not a file: %v", err)
	})
	t.Run("Delete", func(t *testing.T) {
		s := newStore(t)
		require.NoError(t, s.Put(ctx, "d/x", strings.NewReader("x"), 1))
		require.NoError(t, s.Put(ctx, "d/sub/y", strings.NewReader("y"), 1))
		require.NoError(t, s.Put(ctx, "keep", strings.NewReader("k"), 1))
		require.NoError(t, s.Delete(ctx, "d/x"))
		_, err := s.Get(ctx, "d/x")
		require.True(t, errors.Is(err, artifacts.ErrNotFound))
		require.NoError(t, s.Delete(ctx, "d"))
		entries, err := s.List(ctx, "")
		require.NoError(t, err)
		require.Equal(t, []artifacts.Entry{{Path: "keep", Size: 1}}, entries)
		require.NoError(t, s.Delete(ctx, "never-there"))
	})
	t.Run("Traversal", func(t *testing.T) {
		s := newStore(t)
		for _, p := range []string{"../x", "a/../../x", "/etc/passwd", "a\\b", "..%2fx", "a%2F..%2Fb", "x\x00y"} {
			require.True(t, errors.Is(s.Put(ctx, p, strings.NewReader("x"), 1), artifacts.ErrInvalidPath), p)
			_, err := s.Get(ctx, p)
			require.True(t, errors.Is(err, artifacts.ErrInvalidPath), p)
			_, err = s.List(ctx, p)
			require.True(t, errors.Is(err, artifacts.ErrInvalidPath), p)
			require.True(t, errors.Is(s.Delete(ctx, p), artifacts.ErrInvalidPath), p)
		}
	})
	t.Run("Concurrent", func(t *testing.T) {
		s := newStore(t)
		var wg sync.WaitGroup
		for i := 0; i < 8; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				body := strings.Repeat(string(rune('a'+i)), 1000)
				require.NoError(t, s.Put(ctx, "same", strings.NewReader(body), int64(len(body))))
			}(i)
		}
		wg.Wait()
		rc, err := s.Get(ctx, "same")
		require.NoError(t, err)
		b, err := io.ReadAll(rc)
		require.NoError(t, rc.Close())
		require.NoError(t, err)
		require.Len(t, b, 1000)
		require.Equal(t, strings.Repeat(string(b[0]), 1000), string(b), "no interleaved writes")
	})
}

func requireContent(t *testing.T, s artifacts.Store, p, want string) {
	t.Helper()
	rc, err := s.Get(context.Background(), p)
	require.NoError(t, err)
	defer rc.Close()
	b, err := io.ReadAll(rc)
	require.NoError(t, err)
	require.Equal(t, want, string(b))
}
