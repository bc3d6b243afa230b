// Package local stores artifacts in a directory on the local disk.
package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"

	"github.com/strata-data/strata/artifacts"
)

// Store keeps artifacts as files under a root directory.
type Store struct {
	root string
}

var _ artifacts.Store = (*Store)(nil)

// New returns a store rooted at dir, creating the directory.
func New(dir string) (*Store, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return nil, fmt.Errorf("create artifact directory: %w", err)
	}
	return &Store{root: abs}, nil
}

func (s *Store) file(p string) (string, error) {
	c, err := artifacts.CleanPath(p)
	if err != nil {
		return "", err
	}
	return filepath.Join(s.root, filepath.FromSlash(c)), nil
}

// Put writes to a temporary file beside the target and renames it into place.
func (s *Store) Put(ctx context.Context, p string, r io.Reader, size int64) error {
	name, err := s.file(p)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(name), ".upload-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := io.Copy(tmp, ctxReader{ctx, r}); err != nil {
		_ = tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), name)
}

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// Get opens a file.
func (s *Store) Get(_ context.Context, p string) (io.ReadCloser, error) {
	name, err := s.file(p)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s", artifacts.ErrNotFound, p)
	}
	if err != nil {
		return nil, err
	}
	if st, err := f.Stat(); err != nil || st.IsDir() {
		_ = f.Close()
		return nil, fmt.Errorf("%w: %s", artifacts.ErrNotFound, p)
	}
	return f, nil
}

// List reads a directory.
func (s *Store) List(_ context.Context, dir string) ([]artifacts.Entry, error) {
	name, err := s.file(dir)
	if err != nil {
		return nil, err
	}
	des, err := os.ReadDir(name)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrInvalid) || err != nil && isNotDir(name) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	out := make([]artifacts.Entry, 0, len(des))
	for _, de := range des {
		if len(de.Name()) > 8 && de.Name()[:8] == ".upload-" {
			continue
		}
		e := artifacts.Entry{Path: de.Name(), IsDir: de.IsDir()}
		if !e.IsDir {
			info, err := de.Info()
			if err != nil {
				continue
			}
			e.Size = info.Size()
		}
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

func isNotDir(name string) bool {
	st, err := os.Stat(name)
	return err == nil && !st.IsDir()
}

// Delete removes a file or a directory tree.
func (s *Store) Delete(_ context.Context, p string) error {
	name, err := s.file(p)
	if err != nil {
		return err
	}
	if name == s.root {
		return fmt.Errorf("%w: refusing to delete the artifact root", artifacts.ErrInvalidPath)
	}
	return os.RemoveAll(name)
}
