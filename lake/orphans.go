package lake

import (
	"context"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"time"
)

// RemoveOrphans deletes the files under env/id's data and metadata directories that no snapshot of any table of
// any environment references and that were last modified before olderThan: the data files of writes that were
// killed or failed before their commit, and manifests of commits that lost a race. Table metadata JSON files are
// never touched. olderThan must leave room for writes still in progress (a day is a safe default): a file of a
// write that has not committed yet is an orphan until it does.
func (l *Lake) RemoveOrphans(ctx context.Context, env string, id Ident, olderThan time.Time) (GCResult, error) {
	info, err := l.Describe(ctx, env, id)
	if err != nil {
		return GCResult{}, err
	}
	root, ok := localPath(info.Location)
	if !ok {
		return GCResult{}, fmt.Errorf("table %s in %s: %w: its files are not on the local disk (%s)", id, env, ErrInvalid, info.Location)
	}
	candidates := fileSet{}
	for _, sub := range []string{"data", "metadata"} {
		err := filepath.WalkDir(filepath.Join(root, sub), func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				if d == nil { // the directory itself is missing: nothing to sweep
					return filepath.SkipDir
				}
				return err
			}
			if d.IsDir() || (sub == "metadata" && !strings.HasSuffix(path, ".avro")) {
				return nil
			}
			fi, err := d.Info()
			if err != nil {
				return err
			}
			if fi.ModTime().Before(olderThan) {
				candidates[path] = struct{}{}
			}
			return nil
		})
		if err != nil {
			return GCResult{}, fmt.Errorf("table %s in %s: list files: %w", id, env, err)
		}
	}
	return l.collect(ctx, candidates)
}
