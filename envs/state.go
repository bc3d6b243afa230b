package envs

import (
	"context"
	"fmt"
	"strings"
)

// TablesState returns a text that changes whenever what env's readers see of its tables at the current view
// changes (Tables, and Resolve without a selector), and for a prod-kind environment only then. It reads the
// metadata database only, never a metadata file, so callers (sqlwire's catalog) can key what they derive from
// the tables by it at every statement.
//
// In a dev-kind environment it is each table's current metadata location, which every commit moves (a write,
// a schema change, an expiry, a drop and re-create). A prod-kind environment's readers see only its current
// release's pins — snapshots, whose rows and schema never change, of tables that cannot be dropped while
// pinned and whose history is never replaced — so there it is the current release alone: a staged write or
// a staged new table leaves it as it was; a publish or a rollback (a new current release) changes it.
func (s *Service) TablesState(ctx context.Context, env string) (string, error) {
	e, err := s.Get(ctx, env)
	if err != nil {
		return "", err
	}
	header := fmt.Sprintf("%s %s %d\n", e.Name, e.Kind, e.CurrentRelease)
	if e.Kind != KindDev {
		return header, nil
	}
	rows, err := s.db.SQL.QueryContext(ctx, `SELECT table_namespace, table_name, metadata_location FROM iceberg_tables
		WHERE catalog_name = $1 AND (iceberg_type IS NULL OR iceberg_type = 'TABLE') AND metadata_location IS NOT NULL
		ORDER BY table_namespace, table_name`, env)
	if err != nil {
		return "", fmt.Errorf("list tables of environment %q: %w", env, err)
	}
	defer rows.Close()
	var b strings.Builder
	b.WriteString(header)
	for rows.Next() {
		var zone, name, loc string
		if err := rows.Scan(&zone, &name, &loc); err != nil {
			return "", fmt.Errorf("list tables of environment %q: %w", env, err)
		}
		fmt.Fprintf(&b, "%s.%s %s\n", zone, name, loc)
	}
	return b.String(), rows.Err()
}
