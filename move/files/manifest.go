//go:build duckdb_arrow

package files

import (
	"context"
	"encoding/json"
	"path"
	"strings"
)

// A files target publishes each write with a manifest, committed after its last data file: the object
// _strata_run-<run>.manifest at the root of the target (JSON: run, rows, files). Data files are named
// part-<run>-NNNNN.<ext> (below hive folders when partitioned). A write killed before its manifest leaves complete
// files without one; readers of an object store should read only the files a manifest lists (Strata's next run
// of the job removes such files, see RemoveRun), while local readers see files appear as each is complete.
const manifestPrefix, manifestExt = "_strata_run-", ".manifest"

// ManifestName is the manifest of run's write.
func ManifestName(run string) string { return manifestPrefix + run + manifestExt }

type manifest struct {
	Run   string   `json:"run"`
	Rows  int64    `json:"rows"`
	Files []string `json:"files"`
}

func writeManifest(ctx context.Context, store Store, run string, res *TargetResult) error {
	up, err := store.Create(ctx, ManifestName(run))
	if err != nil {
		return err
	}
	if err := json.NewEncoder(up).Encode(manifest{Run: run, Rows: res.Rows, Files: res.Files}); err != nil {
		up.Abort()
		return err
	}
	return up.Commit()
}

func isManifest(name string) bool {
	return strings.HasPrefix(name, manifestPrefix) && strings.HasSuffix(name, manifestExt) && !strings.Contains(name, "/")
}

// ofRun says whether name is a data file or the manifest that run wrote.
func ofRun(name, run string) bool {
	return name == ManifestName(run) || strings.HasPrefix(path.Base(name), "part-"+run+"-")
}

// RemoveRun deletes from store every file the write of run left (its data files and manifest); it returns how
// many it removed. A job's next run calls it for runs that did not succeed (killed ones), so that re-reading
// their rows replaces their files instead of duplicating them.
func RemoveRun(ctx context.Context, store Store, run string) (int, error) {
	all, err := store.List(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, f := range all {
		if ofRun(f, run) {
			if err := store.Remove(ctx, f); err != nil {
				return n, err
			}
			n++
		}
	}
	return n, nil
}
