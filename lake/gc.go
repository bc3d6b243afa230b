package lake

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	icebergio "github.com/apache/iceberg-go/io"
	"github.com/apache/iceberg-go/table"
)

// fileSet is a set of local file paths.
type fileSet map[string]struct{}

func (s fileSet) add(loc string) {
	if p, ok := localPath(loc); ok {
		s[p] = struct{}{}
	}
}

// snapshotFiles adds the files snapshot s references to out: its manifest list, its manifests and the data and
// delete files in them. With liveOnly, entries marked DELETED are skipped (the file belongs to an earlier
// snapshot, which is read on its own). seen caches manifests already read (their content never changes).
func snapshotFiles(fsys icebergio.IO, s table.Snapshot, liveOnly bool, seen fileSet, out fileSet) error {
	if s.ManifestList == "" {
		return nil
	}
	out.add(s.ManifestList)
	mans, err := s.Manifests(fsys)
	if err != nil {
		return fmt.Errorf("read manifest list of snapshot %d: %w", s.SnapshotID, err)
	}
	for _, m := range mans {
		out.add(m.FilePath())
		if _, ok := seen[m.FilePath()]; ok {
			continue
		}
		for e, err := range m.Entries(fsys, liveOnly) {
			if err != nil {
				return fmt.Errorf("read manifest %s: %w", m.FilePath(), err)
			}
			out.add(e.DataFile().FilePath())
		}
		seen[m.FilePath()] = struct{}{}
	}
	return nil
}

// liveFiles returns every file that a snapshot of any table of any environment (any catalog in the database)
// references, plus every table's current metadata file. It fails rather than guess when a table cannot be read.
func (l *Lake) liveFiles(ctx context.Context) (fileSet, error) {
	entries, err := l.catalogEntries(ctx, "", "")
	if err != nil {
		return nil, err
	}
	live, seen := fileSet{}, fileSet{}
	for _, e := range entries {
		live.add(e.metadataLoc)
		md, err := readMetadata(ctx, e.metadataLoc)
		if err != nil {
			return nil, fmt.Errorf("table %s.%s of environment %q: %w", e.zone, e.name, e.env, err)
		}
		fsys, err := icebergio.LoadFS(ctx, nil, e.metadataLoc)
		if err != nil {
			return nil, err
		}
		for _, s := range md.Snapshots() {
			if err := snapshotFiles(fsys, s, true, seen, live); err != nil {
				return nil, fmt.Errorf("table %s.%s of environment %q: %w", e.zone, e.name, e.env, err)
			}
		}
	}
	return live, nil
}

// GCResult counts the outcome of a file collection.
type GCResult struct {
	DeletedFiles int   // files removed
	DeletedBytes int64 // their size
	SharedFiles  int   // candidates kept because another snapshot (possibly of another environment) uses them
}

// collect deletes the candidates that no snapshot of any table references. It must run after the catalog
// change that released them is committed. Directories left empty below the warehouse are removed.
func (l *Lake) collect(ctx context.Context, candidates fileSet) (GCResult, error) {
	var res GCResult
	if len(candidates) == 0 {
		return res, nil
	}
	l.gcMu.Lock()
	defer l.gcMu.Unlock()
	live, err := l.liveFiles(ctx)
	if err != nil {
		return res, fmt.Errorf("no file deleted: cannot tell which files are still in use: %w", err)
	}
	dirs := map[string]struct{}{}
	for path := range candidates {
		if _, ok := live[path]; ok {
			res.SharedFiles++
			continue
		}
		info, err := os.Stat(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return res, fmt.Errorf("delete %s: %w", path, err)
		}
		res.DeletedFiles++
		if info != nil {
			res.DeletedBytes += info.Size()
		}
		dirs[filepath.Dir(path)] = struct{}{}
	}
	for dir := range dirs {
		l.removeEmptyDirs(dir)
	}
	return res, nil
}

// removeEmptyDirs removes dir and its parents while they are empty, never the warehouse, environment or zone
// directories.
func (l *Lake) removeEmptyDirs(dir string) {
	for {
		rel, err := filepath.Rel(l.warehouse, dir)
		if err != nil || strings.HasPrefix(rel, "..") || len(strings.Split(rel, string(filepath.Separator))) <= 2 {
			return
		}
		if os.Remove(dir) != nil { // fails when not empty
			return
		}
		dir = filepath.Dir(dir)
	}
}

// removeLocal deletes a local file best-effort.
func removeLocal(loc string) {
	if p, ok := localPath(loc); ok {
		_ = os.Remove(p)
	}
}
