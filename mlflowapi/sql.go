package mlflowapi

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"

	"github.com/strata-data/strata/meta"
)

// The SQL the MLflow stores (tracking and registry, over the same metadata database) share: positional
// arguments, filter clauses rendered for both dialects, and key/value tag tables.

// SQLArgs collects positional parameters for a query ($1, $2, ...).
type SQLArgs []any

// P adds a parameter and returns its placeholder.
func (a *SQLArgs) P(v any) string {
	*a = append(*a, v)
	return "$" + strconv.Itoa(len(*a))
}

// List adds parameters and returns "($i, $j, ...)".
func (a *SQLArgs) List(vals []string) string {
	ps := make([]string, len(vals))
	for i, v := range vals {
		ps[i] = a.P(v)
	}
	return "(" + strings.Join(ps, ", ") + ")"
}

// likeExpr renders a case-sensitive LIKE or case-insensitive ILIKE on both dialects (SQLite's LIKE ignores
// ASCII case, so case-sensitive matching uses GLOB there).
func likeExpr(d meta.Dialect, col, op, pattern string, a *SQLArgs) string {
	neg := ""
	if strings.HasPrefix(op, "NOT ") {
		neg, op = "NOT ", strings.TrimPrefix(op, "NOT ")
	}
	if d == meta.Postgres {
		return fmt.Sprintf("%s%s %s %s", neg, col, op, a.P(pattern))
	}
	if op == "ILIKE" {
		return fmt.Sprintf("%s%s LIKE %s", neg, col, a.P(pattern))
	}
	return fmt.Sprintf("%s%s GLOB %s", neg, col, a.P(likeToGlob(pattern)))
}

func likeToGlob(p string) string {
	var b strings.Builder
	for _, r := range p {
		switch r {
		case '%':
			b.WriteByte('*')
		case '_':
			b.WriteByte('?')
		case '*', '?', '[':
			b.WriteString("[" + string(r) + "]")
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// Compare renders `col op value` for =, !=, <, <=, >, >=, LIKE, ILIKE, IN, NOT IN (val is the value for the
// plain comparisons; LIKE/ILIKE use c.Str and IN lists c.List).
func Compare(d meta.Dialect, col string, c Clause, val any, a *SQLArgs) string {
	switch c.Op {
	case "LIKE", "ILIKE":
		return likeExpr(d, col, c.Op, c.Str, a)
	case "IN", "NOT IN":
		if len(c.List) == 0 {
			if c.Op == "IN" {
				return "1 = 0"
			}
			return "1 = 1"
		}
		return fmt.Sprintf("%s %s %s", col, c.Op, a.List(c.List))
	}
	return fmt.Sprintf("%s %s %s", col, c.Op, a.P(val))
}

// IsComparison reports whether op is one of = != < <= > >=.
func IsComparison(op string) bool {
	switch op {
	case "=", "!=", "<", "<=", ">", ">=":
		return true
	}
	return false
}

// IsStringOp reports whether op is one of = != LIKE ILIKE.
func IsStringOp(op string) bool { return op == "=" || op == "!=" || op == "LIKE" || op == "ILIKE" }

// TagClause renders a tag or param clause as an EXISTS subquery over table (aliased t) joined by link. With
// missingMatchesNotEqual, `!=` also matches entities without the key (registered models do this).
func TagClause(d meta.Dialect, filter string, c Clause, table, link string, a *SQLArgs, missingMatchesNotEqual bool) (string, error) {
	switch c.Op {
	case "IS NULL", "IS NOT NULL":
		ex := fmt.Sprintf("EXISTS (SELECT 1 FROM %s WHERE %s AND t.key = %s)", table, link, a.P(c.Key))
		if c.Op == "IS NULL" {
			return "NOT " + ex, nil
		}
		return ex, nil
	}
	if c.IsNum || !IsStringOp(c.Op) {
		return "", ClauseError(filter, c, "%s '%s' takes a quoted string and one of = != LIKE ILIKE", c.Type, c.Key)
	}
	if missingMatchesNotEqual && c.Op == "!=" {
		return fmt.Sprintf("NOT EXISTS (SELECT 1 FROM %s WHERE %s AND t.key = %s AND t.value = %s)",
			table, link, a.P(c.Key), a.P(c.Str)), nil
	}
	return fmt.Sprintf("EXISTS (SELECT 1 FROM %s WHERE %s AND t.key = %s AND %s)",
		table, link, a.P(c.Key), Compare(d, "t.value", c, c.Str, a)), nil
}

// Execer is what UpsertKV needs: a *sql.Tx or *sql.DB.
type Execer interface {
	ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error)
}

// UpsertKV sets kv in a (owner columns, key, value) table whose primary key is (owner columns, key): the
// tag and param tables of experiments, runs, logged models, registered models and model versions.
func UpsertKV(ctx context.Context, tx Execer, table string, ownerCols []string, owner []any, kv KeyValue) error {
	var a SQLArgs
	ps := make([]string, 0, len(ownerCols)+2)
	for _, o := range owner {
		ps = append(ps, a.P(o))
	}
	ps = append(ps, a.P(kv.Key), a.P(kv.Value))
	cols := strings.Join(ownerCols, ", ")
	_, err := tx.ExecContext(ctx, fmt.Sprintf("INSERT INTO %s (%s, key, value) VALUES (%s) ON CONFLICT (%s, key) DO UPDATE SET value = excluded.value",
		table, cols, strings.Join(ps, ", "), cols), a...)
	return err
}
