package envs

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/strata-data/strata/lake"
)

// StagingBranch is the Iceberg branch that writes to a prod-kind environment commit to until a release
// publishes them (lake.WriteOptions.Branch).
const StagingBranch = "staging"

// ReleaseTag is the Iceberg tag that names release id on every table it pins.
func ReleaseTag(id int64) string { return fmt.Sprintf("release-%d", id) }

// BranchFor returns the Iceberg branch that writes to env commit to: StagingBranch in a prod-kind environment,
// "" (main) in a dev-kind one.
func (s *Service) BranchFor(ctx context.Context, env string) (string, error) {
	e, err := s.Get(ctx, env)
	if err != nil {
		return "", err
	}
	if e.Kind == KindProd {
		return StagingBranch, nil
	}
	return "", nil
}

// SyncRefs makes the Iceberg refs of every table of env say what env's releases say: main at the current
// release's pin, release-N tags at every release's pins, the staging branch removed where main has its work,
// gc.enabled=false. It does nothing for a dev-kind environment. Tables that were dropped are skipped. Errors of
// single tables are joined; the others are still synced.
//
// Why: Strata's own readers resolve a prod table through the current release's pins in the metadata database.
// Other engines (Spark, PyIceberg, Trino) open the same Iceberg catalog and read each table's main branch, so
// the refs must say the same thing as the releases:
//
//   - main is the table's pin in the current release (tables the current release does not pin keep their main);
//   - writes to a prod-kind environment are staged on the branch StagingBranch (Iceberg's write-audit-publish):
//     main, and so every engine's default read, does not move until a publish;
//   - release N is also the tag release-N on every table it pins: `VERSION AS OF 'release-12'`;
//   - publish and rollback move main to the new release's pins and remove a staging branch whose work is now
//     on main. A write that landed on main directly (from Spark, or a writer that does not stage) is not lost
//     when main moves back to the pin: it is kept on the staging branch (see lake.PublishRefs), and the next
//     publish pins it.
//
// Crash safety: a release is published by one metadata-database transaction (its pins); the refs are moved
// afterwards, table by table. A crash in between leaves other engines on the previous release — never on
// unpublished data — until SyncRefs runs again: every Publish and Rollback ends with it (a publish that finds
// nothing new too), and it is idempotent and cheap when the refs are already right (one metadata read per
// table, no commit), so a process start may call it as well.
func (s *Service) SyncRefs(ctx context.Context, env string) error {
	e, err := s.Get(ctx, env)
	if err != nil || e.Kind != KindProd {
		return err
	}
	want, err := s.wantedRefs(ctx, env)
	if err != nil {
		return err
	}
	var errs []error
	for _, name := range sortedTables(want) {
		id, err := lake.ParseIdent(name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		_, err = s.lake.PublishRefs(ctx, env, id, want[name])
		if err != nil && !errors.Is(err, lake.ErrNotFound) {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("move the Iceberg refs of %s to its releases: %w", env, errors.Join(errs...))
	}
	return nil
}

// wantedRefs reads every pin of env's releases: per table, main (the current release's pin, if any) and the
// release tags.
func (s *Service) wantedRefs(ctx context.Context, env string) (map[string]lake.PublishedRefs, error) {
	cur, err := latestID(ctx, s.db.SQL, env)
	if err != nil {
		return nil, err
	}
	rows, err := s.db.SQL.QueryContext(ctx, `SELECT release_id, table_name, snapshot_id FROM strata_release_pins
		WHERE env = $1 ORDER BY release_id`, env)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	want := map[string]lake.PublishedRefs{}
	for rows.Next() {
		var rel, sid int64
		var name string
		if err := rows.Scan(&rel, &name, &sid); err != nil {
			return nil, err
		}
		w, ok := want[name]
		if !ok {
			w = lake.PublishedRefs{Tags: map[string]int64{}, Staging: StagingBranch}
		}
		w.Tags[ReleaseTag(rel)] = sid
		if rel == cur {
			w.Main = sid
		}
		want[name] = w
	}
	return want, rows.Err()
}

func sortedTables[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// refsError words a failed ref sync after a release was committed: the release stands for Strata's readers.
func refsError(env string, id int64, err error) error {
	return fmt.Errorf("%s release %d is published for Strata's readers, but other engines still see the previous "+
		"release: %w (the refs are repaired by the next publish or rollback)", env, id, err)
}

// pinsEqual reports whether two pin lists (sorted by table) pin the same snapshots.
func pinsEqual(a, b []Pin) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Table != b[i].Table || a[i].SnapshotID != b[i].SnapshotID {
			return false
		}
	}
	return true
}

func tableNames(pins []Pin) string {
	var out []string
	for _, p := range pins {
		out = append(out, p.Table)
	}
	return strings.Join(out, ", ")
}
