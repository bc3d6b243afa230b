package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/extensions"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/strata-data/strata/errs"
)

// TargetOptions describe one write into a PostgreSQL table.
type TargetOptions struct {
	DSN   string
	Table string // name or schema.name
	// Mode is append (insert the rows), overwrite (replace the table's rows) or merge (upsert on Key: a row
	// replaces the table's row with an equal key; the table needs a primary key or unique index on Key).
	Mode string
	Key  []string
	// Mark, if set, is recorded in MarkTable in the transaction of the rows (see MarkTable).
	Mark *Mark
}

// WriteTarget writes rdr's rows into a PostgreSQL table in ONE transaction: the rows are copied with COPY
// FROM STDIN (binary) into a temporary table, then inserted into the target (cast to its column types, so a
// text column of the lake can fill a uuid, interval or json column), replacing the table's rows first
// (overwrite) or upserting on the key (merge, INSERT ... ON CONFLICT). A missing table is created with the
// rows' types (and the key as its primary key). On any error nothing is written. It returns the rows written.
func WriteTarget(ctx context.Context, rdr array.RecordReader, opts TargetOptions) (int64, error) {
	conn, err := pgx.Connect(ctx, opts.DSN)
	if err != nil {
		return 0, errs.E(errs.Unavailable, "connect to the postgres target: %s", err.Error())
	}
	defer func() { _ = conn.Close(context.WithoutCancel(ctx)) }()
	tx, err := conn.Begin(ctx)
	if err != nil {
		return 0, errs.E(errs.Unavailable, "postgres target: %s", err.Error())
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	n, err := writeTx(ctx, tx, rdr, opts)
	if err != nil {
		return 0, err
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, errs.E(errs.Unavailable, "postgres target: commit: %s", err.Error())
	}
	return n, nil
}

func writeTx(ctx context.Context, tx pgx.Tx, rdr array.RecordReader, opts TargetOptions) (int64, error) {
	ident := pgx.Identifier(strings.Split(opts.Table, "."))
	sc := rdr.Schema()
	pgTypes := make([]string, sc.NumFields())
	for i, f := range sc.Fields() {
		t, err := PGType(f.Type)
		if err != nil {
			return 0, errs.E(errs.Unsupported, "postgres target: column %q: %v", f.Name, err)
		}
		pgTypes[i] = t
	}
	target, err := targetColumns(ctx, tx, opts.Table)
	if err != nil {
		return 0, err
	}
	if target == nil {
		if err := createTable(ctx, tx, ident, sc, pgTypes, opts.Key); err != nil {
			return 0, err
		}
		if target, err = targetColumns(ctx, tx, opts.Table); err != nil {
			return 0, err
		}
	}
	var missing []string
	for _, f := range sc.Fields() {
		if _, ok := target[f.Name]; !ok {
			missing = append(missing, f.Name)
		}
	}
	if len(missing) > 0 {
		return 0, errs.E(errs.Invalid, "postgres target %s has no column %s: add it (ALTER TABLE) or drop it with columns:", opts.Table, strings.Join(missing, ", "))
	}
	names := make([]string, sc.NumFields())
	for i, f := range sc.Fields() {
		names[i] = f.Name
	}
	var n int64
	if types, ok := direct(rdr.Schema(), target); ok && opts.Mode != "merge" {
		n, err = copyDirect(ctx, tx, ident, names, types, rdr, opts)
	} else {
		n, err = copyThroughTemp(ctx, tx, ident, names, pgTypes, rdr, target, opts)
	}
	if err != nil {
		return 0, err
	}
	if opts.Mark != nil {
		return n, writeMark(ctx, tx, opts.Table, opts.Mark, n)
	}
	return n, nil
}

// copyDirect copies the rows straight into the target (append; overwrite deletes its rows first): every
// column is encoded in its target column's type (types), so nothing needs a cast.
func copyDirect(ctx context.Context, tx pgx.Tx, ident pgx.Identifier, names, types []string, rdr array.RecordReader, opts TargetOptions) (int64, error) {
	switch opts.Mode {
	case "", "append":
	case "overwrite":
		if _, err := tx.Exec(ctx, "DELETE FROM "+ident.Sanitize()); err != nil {
			return 0, fmt.Errorf("postgres target: %w", err)
		}
	default:
		return 0, errs.E(errs.Invalid, "postgres target mode %q: use append, overwrite or merge", opts.Mode)
	}
	return copyIn(ctx, tx, ident, opts.Table, names, types, rdr)
}

// copyThroughTemp copies the rows into a temporary table and inserts them from there into the target, cast to
// its column types (and upserted, for merge). A temporary column has its target column's type when the encoder
// writes that type (so COPY, not the INSERT, refuses a value that does not fit, naming its row), else the rows'
// own type (the INSERT's cast converts it: text into uuid, a varchar(n) cast).
func copyThroughTemp(ctx context.Context, tx pgx.Tx, ident pgx.Identifier, names, pgTypes []string, rdr array.RecordReader,
	target map[string]string, opts TargetOptions) (int64, error) {
	var cols []string
	types := make([]string, len(names))
	for i, name := range names {
		types[i] = target[name]
		if _, ok := encodingFor(rdr.Schema().Field(i).Type, types[i]); !ok {
			types[i] = formatType(pgTypes[i])
		}
		cols = append(cols, pgx.Identifier{name}.Sanitize()+" "+types[i])
	}
	if _, err := tx.Exec(ctx, "CREATE TEMP TABLE strata_move_in ("+strings.Join(cols, ", ")+") ON COMMIT DROP"); err != nil {
		return 0, fmt.Errorf("postgres target: %w", err)
	}
	n, err := copyIn(ctx, tx, pgx.Identifier{"strata_move_in"}, opts.Table, names, types, rdr)
	if err != nil {
		return 0, err
	}
	if err := insertRows(ctx, tx, ident, rdr.Schema(), target, opts); err != nil {
		return 0, err
	}
	return n, nil
}

// direct returns the target column types (format_type) of the rows' columns if every column can be encoded in
// its target column's type as it is (encodingFor), so that COPY can write the rows into the target: no column
// needs the cast of an INSERT from a temporary table (text into uuid or interval, a narrower varchar whose
// explicit cast truncates, ...). A numeric column fills any numeric column (PostgreSQL applies the column's
// precision and scale to each value it receives, as the cast does).
func direct(sc *arrow.Schema, target map[string]string) ([]string, bool) {
	types := make([]string, sc.NumFields())
	for i, f := range sc.Fields() {
		types[i] = target[f.Name]
		if _, ok := encodingFor(f.Type, types[i]); !ok {
			return nil, false
		}
	}
	return types, true
}

func isNumeric(t string) bool {
	return t == "numeric" || strings.HasPrefix(t, "numeric(") && strings.HasSuffix(t, ")")
}

// formatType is how PostgreSQL's format_type spells a type PGType names.
func formatType(t string) string {
	if e, ok := strings.CutSuffix(t, "[]"); ok {
		return formatType(e) + "[]"
	}
	switch t {
	case "timestamptz":
		return "timestamp with time zone"
	case "timestamp":
		return "timestamp without time zone"
	case "time":
		return "time without time zone"
	}
	return t
}

// insertRows moves the copied rows into the target, cast to its column types.
func insertRows(ctx context.Context, tx pgx.Tx, ident pgx.Identifier, sc *arrow.Schema, target map[string]string, opts TargetOptions) error {
	var names, casts, sets []string
	for _, f := range sc.Fields() {
		q := pgx.Identifier{f.Name}.Sanitize()
		names = append(names, q)
		casts = append(casts, q+"::"+target[f.Name])
		sets = append(sets, q+" = EXCLUDED."+q)
	}
	switch opts.Mode {
	case "overwrite":
		if _, err := tx.Exec(ctx, "DELETE FROM "+ident.Sanitize()); err != nil {
			return fmt.Errorf("postgres target: %w", err)
		}
	case "", "append", "merge":
	default:
		return errs.E(errs.Invalid, "postgres target mode %q: use append, overwrite or merge", opts.Mode)
	}
	q := fmt.Sprintf("INSERT INTO %s (%s) SELECT %s FROM strata_move_in", ident.Sanitize(), strings.Join(names, ", "), strings.Join(casts, ", "))
	if opts.Mode == "merge" {
		keys := make([]string, len(opts.Key))
		for i, k := range opts.Key {
			keys[i] = pgx.Identifier{k}.Sanitize()
		}
		q += fmt.Sprintf(" ON CONFLICT (%s) DO UPDATE SET %s", strings.Join(keys, ", "), strings.Join(sets, ", "))
	}
	if _, err := tx.Exec(ctx, q); err != nil {
		var pe *pgconn.PgError
		if errors.As(err, &pe) {
			switch pe.Code {
			case "21000":
				return errs.E(errs.BadData, "postgres target: the new rows hold a key (%s) twice: deduplicate them in the source", strings.Join(opts.Key, ", "))
			case "42P10":
				return errs.E(errs.Invalid, "postgres target %s: merge on (%s) needs a primary key or unique index on those columns", opts.Table, strings.Join(opts.Key, ", "))
			}
			return errs.E(errs.BadData, "postgres target %s: %s", opts.Table, pe.Message)
		}
		return fmt.Errorf("postgres target: %w", err)
	}
	return nil
}

// targetColumns returns the table's column types (format_type) by name, or nil if it does not exist.
func targetColumns(ctx context.Context, tx pgx.Tx, table string) (map[string]string, error) {
	var exists bool
	if err := tx.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", pgx.Identifier(strings.Split(table, ".")).Sanitize()).Scan(&exists); err != nil {
		return nil, fmt.Errorf("postgres target: %w", err)
	}
	if !exists {
		return nil, nil
	}
	rows, err := tx.Query(ctx, `SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute
		WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped`, pgx.Identifier(strings.Split(table, ".")).Sanitize())
	if err != nil {
		return nil, fmt.Errorf("postgres target: %w", err)
	}
	out := map[string]string{}
	for rows.Next() {
		var n, t string
		if err := rows.Scan(&n, &t); err != nil {
			return nil, err
		}
		out[n] = t
	}
	return out, rows.Err()
}

func createTable(ctx context.Context, tx pgx.Tx, ident pgx.Identifier, sc *arrow.Schema, types []string, key []string) error {
	var cols []string
	for i, f := range sc.Fields() {
		cols = append(cols, pgx.Identifier{f.Name}.Sanitize()+" "+types[i])
	}
	if len(key) > 0 {
		keys := make([]string, len(key))
		for i, k := range key {
			keys[i] = pgx.Identifier{k}.Sanitize()
		}
		cols = append(cols, "PRIMARY KEY ("+strings.Join(keys, ", ")+")")
	}
	if _, err := tx.Exec(ctx, "CREATE TABLE "+ident.Sanitize()+" ("+strings.Join(cols, ", ")+")"); err != nil {
		return fmt.Errorf("postgres target: create table %s: %w", ident.Sanitize(), err)
	}
	return nil
}

// PGType is the PostgreSQL type a column of Arrow type t is created with.
func PGType(t arrow.DataType) (string, error) {
	switch t := t.(type) {
	case *arrow.Int8Type, *arrow.Int16Type:
		return "smallint", nil
	case *arrow.Int32Type:
		return "integer", nil
	case *arrow.Int64Type:
		return "bigint", nil
	case *arrow.Float32Type:
		return "real", nil
	case *arrow.Float64Type:
		return "double precision", nil
	case *arrow.BooleanType:
		return "boolean", nil
	case *arrow.StringType, *arrow.LargeStringType:
		return "text", nil
	case *arrow.BinaryType, *arrow.LargeBinaryType, *arrow.FixedSizeBinaryType:
		return "bytea", nil
	case *extensions.UUIDType:
		return "uuid", nil
	case *extensions.JSONType:
		return "json", nil
	case *arrow.MonthDayNanoIntervalType:
		return "interval", nil
	case *arrow.Date32Type:
		return "date", nil
	case *arrow.Time64Type:
		return "time", nil
	case *arrow.TimestampType:
		if t.TimeZone != "" {
			return "timestamptz", nil
		}
		return "timestamp", nil
	case *arrow.Decimal128Type:
		return fmt.Sprintf("numeric(%d,%d)", t.Precision, t.Scale), nil
	case *arrow.ListType, *arrow.LargeListType:
		e, err := PGType(t.(arrow.ListLikeType).Elem())
		if err != nil || strings.HasSuffix(e, "[]") {
			return "", fmt.Errorf("type %s has no PostgreSQL column type", t)
		}
		return e + "[]", nil
	}
	return "", fmt.Errorf("type %s has no PostgreSQL column type yet: cast it with a columns: rule", t)
}
