package sqlwire

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/strata-data/strata/engine"
	"github.com/strata-data/strata/envs"
	"github.com/strata-data/strata/lake"
	"github.com/strata-data/strata/lakesql"
)

// The table-function form of time travel, for one table of one statement (strata.as_of / strata.snapshot
// are the session-wide form):
//
//	SELECT * FROM strata.at('raw.orders', '2026-11-25T10:00:00Z')   -- as of an instant (envs.ParseTime's formats)
//	SELECT * FROM strata.at('raw.orders', 'release 3')              -- at release 3's pin
//	SELECT * FROM strata.at('raw.orders', 5937117119577207079)      -- at a snapshot id
//
// Each call is replaced by a view of that snapshot in the schema atSchema; in a prod-kind environment only
// snapshots some release pinned are found (envs.Resolve), as for every other read.
const (
	atFunc   = "strata.at"
	atSchema = "strata_at"
)

// tableFunctions rewrites the strata.at calls of sql into views of the snapshots they name, and returns the
// tables those views read. sql without a call is returned as it is.
func (c *conn) tableFunctions(ctx context.Context, sql string) (string, []engine.Table, error) {
	calls := atCalls(sql)
	if len(calls) == 0 {
		return sql, nil, nil
	}
	var b strings.Builder
	var tables []engine.Table
	seen := map[string]bool{}
	last := 0
	for _, call := range calls {
		table, when, err := atArgs(sql[call.args[0]:call.args[1]])
		if err != nil {
			return "", nil, err
		}
		p, err := c.resolveAt(ctx, table, when)
		if err != nil {
			return "", nil, err
		}
		t := envs.EngineTable(p)
		t.Schema, t.Name = atSchema, fmt.Sprintf("%s.%s@%d", p.Ident.Zone, p.Ident.Name, p.SnapshotID)
		if !seen[t.Name] {
			seen[t.Name] = true
			tables = append(tables, t)
		}
		b.WriteString(sql[last:call.start])
		b.WriteString(atSchema + `."` + t.Name + `"`)
		last = call.end
	}
	b.WriteString(sql[last:])
	return b.String(), tables, nil
}

// resolveAt resolves zone.table at when: an instant, 'release N' or a snapshot id.
func (c *conn) resolveAt(ctx context.Context, table, when string) (*lake.Plan, error) {
	zone, name, ok := strings.Cut(table, ".")
	if !ok || zone == "" || name == "" || strings.Contains(name, ".") {
		return nil, fmt.Errorf("%s: %q is not zone.table: %w", atFunc, table, errBadValue)
	}
	id := lake.Ident{Zone: strings.ToLower(zone), Name: strings.ToLower(name)}
	svc := c.s.opts.Envs
	var ref lake.SnapshotRef
	if n, err := strconv.ParseInt(strings.TrimSpace(when), 10, 64); err == nil {
		if n <= 0 {
			return nil, fmt.Errorf("%s(%q, %s): a snapshot id is a positive number: %w", atFunc, table, when, errBadValue)
		}
		ref.ID = n
	} else {
		release, at, err := parseAsOf(when)
		if err != nil || release == 0 && at.AsOf.IsZero() {
			return nil, fmt.Errorf("%s(%q, %q): give an instant ('2026-11-25T10:00:00Z', '2026-11-25'), 'release N' "+
				"or a snapshot id: %w", atFunc, table, when, errBadValue)
		}
		ref = at
		if release > 0 {
			r, err := svc.Release(ctx, c.env, release)
			if err != nil {
				return nil, fmt.Errorf("%s(%q, %q): %w", atFunc, table, when, err)
			}
			ref = lake.SnapshotRef{}
			for _, pin := range r.Pins {
				if pin.Table == id.Zone+"."+id.Name {
					ref.ID = pin.SnapshotID
				}
			}
			if ref.ID == 0 {
				return nil, fmt.Errorf("%s(%q, %q): table %s is not in release %d of %s: %w", atFunc, table, when, id, release, c.env, lake.ErrNotFound)
			}
		}
	}
	p, err := svc.Resolve(ctx, c.env, id, ref)
	if err != nil {
		return nil, fmt.Errorf("%s(%q, %q): %w", atFunc, table, when, err)
	}
	return p, nil
}

// atCall is one strata.at(...) in a statement: its byte range and its arguments' range (inside the
// parentheses).
type atCall struct {
	start, end int
	args       [2]int
}

// atCalls finds the strata.at( calls of sql outside literals and comments.
func atCalls(sql string) []atCall {
	var out []atCall
	skipTo := -1
	lakesql.Scan(sql, func(i int) {
		if i < skipTo || !strings.EqualFold(sql[i:min(i+len(atFunc), len(sql))], atFunc) {
			return
		}
		if i > 0 && (lakesql.IsWordByte(sql[i-1]) || sql[i-1] == '.' || sql[i-1] == '"') {
			return
		}
		j := i + len(atFunc)
		for j < len(sql) && strings.IndexByte(" \t\r\n\f", sql[j]) >= 0 {
			j++
		}
		if j >= len(sql) || sql[j] != '(' {
			return
		}
		end := lakesql.ClosingParen(sql[j:])
		if end < 0 {
			return
		}
		out = append(out, atCall{start: i, end: j + end + 1, args: [2]int{j + 1, j + end}})
		skipTo = j + end + 1
	})
	return out
}

// atArgs reads strata.at's two arguments: a string literal naming zone.table, then a string literal (an
// instant or 'release N') or an integer (a snapshot id). Parameters and expressions are not accepted: the
// snapshot must be known before the statement is planned.
func atArgs(s string) (table, when string, err error) {
	var args []string
	rest := strings.TrimSpace(s)
	for rest != "" {
		var arg string
		switch {
		case rest[0] == '\'':
			end := lakesql.SkipQuoted(rest, 0, '\'')
			if end > len(rest) || end < 2 || rest[end-1] != '\'' {
				return "", "", atUsage(s)
			}
			arg, rest = strings.ReplaceAll(rest[1:end-1], "''", "'"), rest[end:]
		default:
			end := strings.IndexByte(rest, ',')
			if end < 0 {
				end = len(rest)
			}
			arg, rest = strings.TrimSpace(rest[:end]), rest[end:]
			if _, err := strconv.ParseInt(arg, 10, 64); err != nil {
				return "", "", atUsage(s)
			}
		}
		args = append(args, arg)
		rest = strings.TrimSpace(rest)
		if rest != "" {
			if rest[0] != ',' {
				return "", "", atUsage(s)
			}
			rest = strings.TrimSpace(rest[1:])
			if rest == "" {
				return "", "", atUsage(s)
			}
		}
	}
	if len(args) != 2 {
		return "", "", atUsage(s)
	}
	return strings.TrimSpace(args[0]), args[1], nil
}

func atUsage(args string) error {
	return fmt.Errorf("%s(%s): give literals: %s('zone.table', '2026-11-25T10:00:00Z' | 'release N' | snapshot_id): %w",
		atFunc, strings.TrimSpace(args), atFunc, errBadValue)
}
