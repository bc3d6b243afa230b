//go:build duckdb_arrow

package engine

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// ReadOptions tune ReadFile. Zero values mean: detect.
type ReadOptions struct {
	// Format is "csv", "json" (JSON lines, or one JSON array of objects), "jsonl" or "parquet"; "" picks it from
	// the extension: .csv .tsv .json .jsonl .ndjson .parquet, with .gz allowed for CSV and JSON.
	Format string
	// Columns, if set, replace type inference: a name and a DuckDB type (BIGINT, DOUBLE, VARCHAR, DATE,
	// TIMESTAMP, DECIMAL(18,2), ...) per column. For CSV they name the file's columns in order; for JSON
	// they pick those keys; for Parquet they select and cast those columns.
	Columns []ColumnDef
	// MaxBadRows is how many malformed rows may be skipped (and reported by BadRows) before the read fails;
	// 0 means any malformed row fails it.
	MaxBadRows int
	// Delimiter and Header override CSV sniffing.
	Delimiter string
	Header    *bool
	// TableTypes are the DuckDB types of the columns of the table the file is appended to, by column name.
	// File columns with those names are read as those types, so a value that does not fit is a malformed row
	// (not a reason to infer a wider type); other columns are inferred. Ignored when Columns is set.
	TableTypes map[string]string
}

// ColumnDef is a user-given column: a name and a DuckDB type.
type ColumnDef struct {
	Name, Type string
}

// FileReader streams one import file as Arrow record batches in types the lake can store (see lakeType).
// It implements array.RecordReader plus Close, Rows and BadRows; like Result, a batch is valid until the
// next Next and the reader must be closed.
//
// Its promise to importers: Next returns false with a nil Err only when the whole file has been read and
// the malformed rows are within ReadOptions.MaxBadRows. Too many bad rows surface as a *BadInputError from
// ReadFile or from Err after the last Next, never after a clean end, so a consumer that commits only on a
// clean end commits only good imports.
type FileReader struct {
	reader
	file string
	bad  []BadRow
	scan *jsonScan // the JSON pre-pass, done once even when the file is bound twice (TableTypes)
	// query is the SELECT the stream runs, which WriteParquet copies to Parquet instead when nothing was read.
	query string
}

// BadRows returns the malformed rows that were skipped. It is complete once Next has returned false
// without error.
func (r *FileReader) BadRows() []BadRow {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]BadRow(nil), r.bad...)
}

// The input formats.
const (
	formatCSV     = "csv"
	formatJSON    = "json"
	formatParquet = "parquet"
)

// ReadFile opens a CSV, JSON-lines or Parquet file for import. Schema and dialect are inferred unless
// given: CSV types are sniffed from the whole file when it is at most 64 MiB (16 MiB gzipped) and from the
// first million rows otherwise, JSON alike; values later in a larger file that do not fit the sniffed type
// are malformed rows.
//
// Malformed rows are: a CSV row with the wrong number of columns, a value that does not parse as its
// column's type, invalid UTF-8; a JSON line that is not valid JSON, not an object, or not UTF-8. Each is
// reported with file, line and column. A Parquet file is read as it is.
//
// Some files are refused whole rather than repaired, naming the line: a CSV header that names a column twice,
// a CSV quote that never closes (at the line where it opens), a NUL byte, a CSV row longer than 2,000,000
// bytes, a JSON key whose values have different types in the file unless the options give the column's type
// (VARCHAR then takes each value's raw text), an empty, truncated or non-Parquet file, a cut gzip stream.
//
// Every rejection of the file's data matches ErrBadData (kind errs.BadData; *BadInputError for too many
// malformed rows), a missing file ErrNotFound, and wrong options ErrInvalid. Messages name the file, line and
// column in the user's terms and say what to do; they name no command-line flag but --max-bad-rows.
func (e *Engine) ReadFile(ctx context.Context, path string, opts ReadOptions) (*FileReader, error) {
	format, size, err := checkInput(path, opts)
	if err != nil {
		return nil, err
	}
	in, err := e.open(ctx)
	if err != nil {
		return nil, err
	}
	fr := &FileReader{file: path}
	s, err := e.startRead(ctx, in, fr, path, format, size, opts)
	if err != nil {
		e.retire(in)
		return nil, err
	}
	fr.init(in, s, e.retire)
	return fr, nil
}

func (e *Engine) startRead(ctx context.Context, in *instance, fr *FileReader, path, format string, size int64, opts ReadOptions) (*stream, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	if err := e.sandboxRead(ctx, in, abs); err != nil {
		return nil, err
	}
	var plan *csvPlan
	if format == formatCSV {
		if plan, err = checkCSV(ctx, in, abs, fr.file, size, opts); err != nil {
			return nil, err
		}
	}
	if len(opts.Columns) == 0 && len(opts.TableTypes) > 0 {
		if opts.Columns, err = e.typedColumns(ctx, in, fr, abs, format, size, opts, plan); err != nil {
			return nil, err
		}
	}
	if err := checkColumnTypes(ctx, in, opts.Columns); err != nil {
		return nil, err
	}
	src, err := fileSource(ctx, in, fr, abs, format, size, opts, plan)
	if err != nil {
		return nil, err
	}
	return e.streamSource(ctx, in, fr, path, src)
}

// typedColumns infers the file's columns and replaces the inferred types of the table's columns with the
// table's types.
func (e *Engine) typedColumns(ctx context.Context, in *instance, fr *FileReader, abs, format string, size int64, opts ReadOptions, plan *csvPlan) ([]ColumnDef, error) {
	src, err := fileSource(ctx, in, fr, abs, format, size, opts, plan)
	if err != nil {
		return nil, err
	}
	rows, err := in.queryStrings(ctx, "SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM "+src.from+")")
	if err != nil {
		return nil, src.explain(err)
	}
	cols := make([]ColumnDef, len(rows))
	for i, r := range rows {
		cols[i] = ColumnDef{Name: r[0], Type: r[1]}
		if t, ok := opts.TableTypes[r[0]]; ok {
			cols[i].Type = t
		}
	}
	return cols, nil
}

func fileSource(ctx context.Context, in *instance, fr *FileReader, abs, format string, size int64, opts ReadOptions, plan *csvPlan) (source, error) {
	var src source
	var err error
	switch format {
	case formatCSV:
		src = csvSource(ctx, abs, fr.file, size, opts, plan)
	case formatJSON:
		src, err = jsonSource(ctx, in, fr, abs, size, opts)
	case formatParquet:
		src = parquetSource(abs, fr.file, opts)
	}
	return src, err
}

func (e *Engine) streamSource(ctx context.Context, in *instance, fr *FileReader, path string, src source) (*stream, error) {
	fr.query = "SELECT * FROM " + src.from
	ps, err := in.prepareLast(ctx, fr.query)
	if err != nil {
		return nil, src.explain(err)
	}
	if src.check != nil {
		if paths := in.jsonColumns(ps); len(paths) > 0 {
			if err := src.check(ctx, paths); err != nil {
				destroyPrepared(&ps)
				return nil, err
			}
		}
	}
	schema, err := in.columnTypes(ps)
	if err != nil {
		destroyPrepared(&ps)
		return nil, err
	}
	proj, err := lakeProjection(schema)
	if err != nil {
		destroyPrepared(&ps)
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if proj != "" {
		destroyPrepared(&ps)
		fr.query = "SELECT " + proj + " FROM " + src.from
		if ps, err = in.prepareLast(ctx, fr.query); err != nil {
			return nil, src.explain(err)
		}
	}
	s, err := in.startStream(ctx, ps)
	if err != nil {
		return nil, src.explain(err)
	}
	s.explain = src.explain
	if src.atEnd != nil {
		s.atEnd = func() error { return src.atEnd(ctx, in, fr) }
	}
	return s, nil
}

// source is how one format is read: the FROM clause, what to check when the scan ends, and how to turn
// DuckDB's errors into ones that name the file and line.
type source struct {
	from    string
	atEnd   func(ctx context.Context, in *instance, fr *FileReader) error
	explain func(error) error
	// check, if set, vets the parts of the result that have DuckDB's JSON type before the scan starts.
	check func(ctx context.Context, paths []jsonPath) error
}

// declaredColumns returns the lower-cased names of the columns whose types the options give.
func declaredColumns(opts ReadOptions) map[string]bool {
	out := map[string]bool{}
	for _, c := range opts.Columns {
		out[strings.ToLower(c.Name)] = true
	}
	for name := range opts.TableTypes {
		out[strings.ToLower(name)] = true
	}
	return out
}

// sandboxRead lets the instance read the input file (and its scratch dir) and nothing else.
func (e *Engine) sandboxRead(ctx context.Context, in *instance, abs string) error {
	// Progress tracking (never printed) lets a file copied by WriteParquet report its rows while it runs.
	return in.exec(ctx, fmt.Sprintf("SET allowed_paths = %s; SET allowed_directories = %s; "+
		"SET enable_progress_bar = true; SET enable_progress_bar_print = false; "+
		"SET enable_external_access = false; SET lock_configuration = true",
		sqlStringList([]string{abs}), sqlStringList([]string{in.tmpDir + string(filepath.Separator)})))
}

// checkInput validates the path and options and returns the format and the file's size.
func checkInput(path string, opts ReadOptions) (format string, size int64, err error) {
	if opts.MaxBadRows < 0 {
		return "", 0, fmt.Errorf("max bad rows must be >= 0, got %d: %w", opts.MaxBadRows, ErrInvalid)
	}
	st, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "", 0, fmt.Errorf("%s does not exist: check the path: %w", path, ErrNotFound)
	case err != nil:
		return "", 0, fmt.Errorf("%s: %w", path, err)
	case st.IsDir():
		return "", 0, fmt.Errorf("%s is a directory: name one file: %w", path, ErrInvalid)
	}
	format, err = detectFormat(path, opts.Format)
	if err != nil {
		return "", 0, err
	}
	if st.Size() == 0 {
		return "", 0, fmt.Errorf("%s is empty: there is nothing to import: %w", path, ErrBadData)
	}
	if format != formatCSV && (opts.Delimiter != "" || opts.Header != nil) {
		return "", 0, fmt.Errorf("the delimiter and header options apply to CSV only, and %s is %s: %w", path, format, ErrInvalid)
	}
	if len(opts.Delimiter) > 1 && opts.Delimiter != `\t` {
		return "", 0, fmt.Errorf("delimiter %q: use one character: %w", opts.Delimiter, ErrInvalid)
	}
	return format, st.Size(), nil
}

// detectFormat resolves the format from the option or the extension.
func detectFormat(path, format string) (string, error) {
	switch strings.ToLower(format) {
	case "csv", "tsv":
		return formatCSV, nil
	case "json", "jsonl", "ndjson":
		return formatJSON, nil
	case "parquet":
		if strings.HasSuffix(strings.ToLower(path), ".gz") {
			return "", fmt.Errorf("%s: a Parquet file cannot be gzipped (Parquet compresses its pages itself): %w", path, ErrInvalid)
		}
		return formatParquet, nil
	case "":
	default:
		return "", fmt.Errorf("unknown format %q: use csv, json, jsonl or parquet: %w", format, ErrInvalid)
	}
	name := strings.ToLower(filepath.Base(path))
	gz := strings.HasSuffix(name, ".gz")
	ext := filepath.Ext(strings.TrimSuffix(name, ".gz"))
	switch {
	case ext == ".csv" || ext == ".tsv":
		return formatCSV, nil
	case ext == ".json" || ext == ".jsonl" || ext == ".ndjson":
		return formatJSON, nil
	case ext == ".parquet" && !gz:
		return formatParquet, nil
	case ext == ".parquet":
		return "", fmt.Errorf("%s: a Parquet file cannot be gzipped: %w", path, ErrInvalid)
	}
	return "", fmt.Errorf("cannot tell the format of %s from its extension: pass the format (--format csv, json or parquet): %w", path, ErrInvalid)
}

var badTypeText = regexp.MustCompile(`;|--|/\*`)

// checkColumnTypes makes sure each user type is a DuckDB type, with an error that says what to write.
func checkColumnTypes(ctx context.Context, in *instance, cols []ColumnDef) error {
	seen := map[string]bool{}
	for _, c := range cols {
		if c.Name == "" || strings.TrimSpace(c.Type) == "" {
			return fmt.Errorf("column %q: a column needs a name and a type: %w", c.Name, ErrInvalid)
		}
		if seen[strings.ToLower(c.Name)] {
			return fmt.Errorf("column %q is given twice: %w", c.Name, ErrInvalid)
		}
		seen[strings.ToLower(c.Name)] = true
		err := fmt.Errorf("column %q: %q is not a DuckDB type: use one such as BIGINT, DOUBLE, VARCHAR, BOOLEAN, DATE, TIMESTAMP, TIMESTAMPTZ or DECIMAL(18,2): %w",
			c.Name, c.Type, ErrInvalid)
		if badTypeText.MatchString(c.Type) {
			return err
		}
		if in.exec(ctx, "SELECT CAST(NULL AS "+c.Type+")") != nil {
			return err
		}
	}
	return nil
}

// sampleRows is the sniffing sample: the whole file when it is small enough to read twice cheaply.
func sampleRows(path string, size int64) int64 {
	limit := int64(64 << 20)
	if strings.HasSuffix(strings.ToLower(path), ".gz") {
		limit = 16 << 20
	}
	if size <= limit {
		return -1
	}
	return 1_000_000
}

// columnsParam renders user columns as read_csv/read_json's columns = {...} parameter.
func columnsParam(cols []ColumnDef) string {
	items := make([]string, len(cols))
	for i, c := range cols {
		items[i] = sqlString(c.Name) + ": " + sqlString(c.Type)
	}
	return "{" + strings.Join(items, ", ") + "}"
}

func parquetSource(abs, file string, opts ReadOptions) source {
	from := "read_parquet(" + sqlString(abs) + ")"
	if len(opts.Columns) > 0 {
		cols := make([]string, len(opts.Columns))
		for i, c := range opts.Columns {
			cols[i] = fmt.Sprintf("CAST(%s AS %s) AS %s", sqlIdent(c.Name), c.Type, sqlIdent(c.Name))
		}
		from = "(SELECT " + strings.Join(cols, ", ") + " FROM " + from + ")"
	}
	return source{from: from, explain: func(err error) error { return explainParquet(file, opts.Columns, err) }}
}

// explainParquet says why a file cannot be read as Parquet: a damaged or non-Parquet file is bad data; a
// column the options name that the file lacks is an invalid option.
func explainParquet(file string, cols []ColumnDef, err error) error {
	var de *Error
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || !errors.As(err, &de) {
		return err
	}
	reason := duckReason(de.Msg)
	switch {
	case de.Kind == "Binder" && len(cols) > 0:
		names := make([]string, len(cols))
		for i, c := range cols {
			names[i] = strconv.Quote(c.Name)
		}
		return fmt.Errorf("%s: a column given (%s) is not in the Parquet file: check the names: %w", file, strings.Join(names, ", "), ErrInvalid)
	case strings.Contains(de.Msg, "No magic bytes") || strings.Contains(de.Msg, "too small to be a Parquet file"):
		reason = "it is not a Parquet file, or it is truncated (no Parquet footer at its end)"
	}
	return fmt.Errorf("%s: cannot read it as Parquet: %s: check that the file is complete and is Parquet: %w", file, reason, ErrBadData)
}
