package sqlwire

import (
	"fmt"
	"strings"

	"github.com/strata-data/strata/lakesql"
)

// deallocate answers "DEALLOCATE [PREPARE] name | ALL": it forgets prepared statements as a protocol Close
// does. psqlODBC sends it as a simple query before it prepares a statement handle's next query under the same
// name (_PLAN0x…); without it the second query of an ODBC cursor fails with 42P05.
func (c *conn) deallocate(sql string) (*cursor, error) {
	var toks []string
	for _, t := range copyTokens(sql)[1:] {
		if t != ";" {
			toks = append(toks, t)
		}
	}
	if len(toks) > 0 && strings.EqualFold(toks[0], "PREPARE") {
		toks = toks[1:]
	}
	if len(toks) != 1 {
		return nil, fmt.Errorf("DEALLOCATE takes one name or ALL (DEALLOCATE [PREPARE] name | ALL): %w", ErrInvalid)
	}
	if strings.EqualFold(toks[0], "ALL") {
		for name := range c.stmts {
			if name != "" {
				delete(c.stmts, name)
			}
		}
		return &cursor{tag: "DEALLOCATE ALL"}, nil
	}
	name := lakesql.IdentName(toks[0])
	if _, ok := c.stmts[name]; !ok || name == "" {
		return nil, fmt.Errorf("prepared statement %q does not exist: %w", name, errUndefinedStatement)
	}
	delete(c.stmts, name)
	return &cursor{tag: "DEALLOCATE"}, nil
}
