//go:build duckdb_arrow

package files

import (
	"context"
	"encoding/json"
	"io"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/strata-data/strata/errs"
)

// A files target publishes each write with a manifest, committed after its last data file: the object
// _strata_run-<run>.manifest at the root of the target (JSON: run, rows, files, when it was written and
// whether the write replaced the target's earlier files). Data files are named part-<run>-NNNNN.<ext> (below
// hive folders when partitioned). A write killed before its manifest leaves complete files without one; a files
// source reading the folder reads only the files the manifests list (see PublishedFiles), and the job's next run
// removes such files (see RemoveRun).
const manifestPrefix, manifestExt = "_strata_run-", ".manifest"

// ManifestName is the manifest of run's write.
func ManifestName(run string) string { return manifestPrefix + run + manifestExt }

type manifest struct {
	Run   string   `json:"run"`
	Rows  int64    `json:"rows"`
	Files []string `json:"files"`
	// Written orders the manifests of a target; Overwrite says the write replaced every file written before
	// it (the files of earlier manifests are removed after it is committed, and ignored by readers until then).
	// Manifests of earlier versions have neither: they sort first, as appends.
	Written   time.Time `json:"written,omitzero"`
	Overwrite bool      `json:"overwrite,omitempty"`
}

func writeManifest(ctx context.Context, store Store, run string, res *TargetResult, overwrite bool) error {
	up, err := store.Create(ctx, ManifestName(run))
	if err != nil {
		return err
	}
	m := manifest{Run: run, Rows: res.Rows, Files: res.Files, Written: time.Now().UTC(), Overwrite: overwrite}
	if err := json.NewEncoder(up).Encode(m); err != nil {
		up.Abort()
		return err
	}
	return up.Commit()
}

// ReadStore is a store whose files can be read (Dir, an S3 bucket prefix).
type ReadStore interface {
	// List returns every file below the root (slash-separated paths relative to it).
	List(ctx context.Context) ([]string, error)
	// Open reads a file below the root.
	Open(ctx context.Context, name string) (io.ReadCloser, error)
}

// PublishedFiles returns the data files of store that the manifests at its root list, sorted by name (paths
// relative to the root): the files of the completed writes of a files target, since its last overwrite. Files
// no manifest lists (a killed or failing write's, not yet removed) are left out. ok is false when the root
// holds no manifest (the folder was not written by a files target: its files are read as they are). A file a
// manifest lists that is missing is a BadData error.
func PublishedFiles(ctx context.Context, store ReadStore) (names []string, ok bool, err error) {
	all, err := store.List(ctx)
	if err != nil {
		return nil, false, err
	}
	have := map[string]bool{}
	var ms []manifest
	for _, name := range all {
		have[name] = true
		if !isManifest(name) {
			continue
		}
		m, err := readManifest(ctx, store, name)
		if err != nil {
			return nil, true, err
		}
		ms = append(ms, m)
	}
	if len(ms) == 0 {
		return nil, false, nil
	}
	sort.SliceStable(ms, func(i, j int) bool { return ms[i].Written.Before(ms[j].Written) })
	from := 0
	for i, m := range ms {
		if m.Overwrite {
			from = i
		}
	}
	for _, m := range ms[from:] {
		for _, f := range m.Files {
			if !have[f] {
				return nil, true, errs.E(errs.BadData, "files source: %s lists %s, which is missing: was it removed by hand? "+
					"Remove that manifest to read the folder without that write", ManifestName(m.Run), f)
			}
			names = append(names, f)
		}
	}
	sort.Strings(names)
	return names, true, nil
}

func readManifest(ctx context.Context, store ReadStore, name string) (manifest, error) {
	rc, err := store.Open(ctx, name)
	if err != nil {
		return manifest{}, err
	}
	defer rc.Close()
	var m manifest
	if err := json.NewDecoder(rc).Decode(&m); err != nil {
		return manifest{}, errs.E(errs.BadData, "files source: manifest %s: %v", name, err)
	}
	return m, nil
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
