// Package artifacts stores MLflow artifacts (model files, plots, anything a run or logged model uploads) by
// slash-separated relative path. Store is the interface the tracking server serves the proxied artifact API
// from; backends live in subpackages (local disk in artifacts/local, S3-compatible storage in artifacts/s3), the
// factory that picks one from a URI in artifacts/backends, and the conformance suite every backend passes in
// artifacts/artifactstest.
package artifacts

import (
	"context"
	"fmt"
	"github.com/strata-data/strata/errs"
	"io"
	"net/url"
	"path"
	"strings"
)

// Sentinel errors returned (wrapped) by every backend.
var (
	ErrNotFound    = errs.New(errs.NotFound, "artifact not found")
	ErrInvalidPath = errs.New(errs.Invalid, "invalid artifact path")
)

// Entry is one child of a listed directory.
type Entry struct {
	Path  string // the child's name relative to the listed directory (no slashes)
	IsDir bool
	Size  int64 // bytes; 0 for directories
}

// Store holds artifacts by path. Paths are relative, slash-separated and already checked by CleanPath.
// Implementations are safe for concurrent use.
type Store interface {
	// Put stores the reader's bytes at path, replacing any file there. size is the byte count, or -1 if
	// unknown. A reader error aborts the write and leaves no partial file visible.
	Put(ctx context.Context, path string, r io.Reader, size int64) error
	// Get opens the file at path; the caller closes it. A missing file (or a directory) is ErrNotFound.
	Get(ctx context.Context, path string) (io.ReadCloser, error)
	// List returns the direct children of directory dir ("" is the root), sorted by name. A missing directory
	// lists as empty.
	List(ctx context.Context, dir string) ([]Entry, error)
	// Delete removes the file at path, or everything under it if it is a directory. Deleting nothing is not
	// an error.
	Delete(ctx context.Context, path string) error
}

// CleanPath checks a client-supplied artifact path and returns it normalised ("" for the root). It rejects
// absolute paths, "..", backslashes, NUL bytes and percent-encoded separators or dots that could be decoded
// later into any of those.
func CleanPath(p string) (string, error) {
	bad := func() (string, error) { return "", fmt.Errorf("%w: %q", ErrInvalidPath, p) }
	if strings.ContainsAny(p, "\\\x00") {
		return bad()
	}
	if strings.Contains(p, "%") {
		dec, err := url.PathUnescape(p)
		if err != nil || dec != p && (strings.ContainsAny(dec, "/\\\x00") || strings.Contains(dec, "..")) {
			return bad()
		}
	}
	if strings.HasPrefix(p, "/") || strings.Contains(p, "://") {
		return bad()
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == ".." {
			return bad()
		}
	}
	c := path.Clean("/" + p)[1:]
	return c, nil
}
