package sqlwire

import (
	"context"
	"sync"
	"time"

	"github.com/strata-data/strata/lakesql"
)

// Database-qualified names: a client may name a table database.zone.name (DataGrip, JDBC code generators),
// the database being the session's environment. lakesql.Unqualify rewrites them to zone.name before anything
// else reads the statement; another environment's name is refused as PostgreSQL refuses a cross-database
// reference (0A000).

// envNamesTTL is how long the list of environments Unqualify refuses by name is reused.
const envNamesTTL = 5 * time.Second

// envNameCache holds the names of the environments, read at most once per envNamesTTL.
type envNameCache struct {
	mu    sync.Mutex
	names []string
	at    time.Time
}

// envNames returns the environments' names; on an error reading them, the last list (a read still runs: a
// name qualified by an unknown environment is left to the engine, which does not know that catalog).
func (s *Server) envNames(ctx context.Context) []string {
	s.envNameCache.mu.Lock()
	defer s.envNameCache.mu.Unlock()
	if s.envNameCache.names != nil && time.Since(s.envNameCache.at) < envNamesTTL {
		return s.envNameCache.names
	}
	list, err := s.opts.Envs.List(ctx)
	if err != nil {
		return s.envNameCache.names
	}
	names := make([]string, len(list))
	for i, e := range list {
		names[i] = e.Name
	}
	s.envNameCache.names, s.envNameCache.at = names, time.Now()
	return names
}

// unqualify rewrites the session's database.zone.name names to zone.name (see lakesql.Unqualify).
func (c *conn) unqualify(ctx context.Context, sql string) (string, error) {
	out, err := lakesql.Unqualify(sql, c.env, c.s.envNames(ctx))
	if err != nil {
		return "", wireError(err)
	}
	return out, nil
}
