package sqlwire

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // TimeZone names resolve on hosts without a zoneinfo database

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/strata-data/strata/lakesql"
)

// setting is one session variable: its canonical name (as SHOW prints it) and value.
type setting struct{ name, value string }

// reported are the variables sent as ParameterStatus at startup and when SET changes them (PostgreSQL's
// GUC_REPORT set): drivers parse server_version, integer_datetimes, standard_conforming_strings and DateStyle.
var reported = []string{"server_version", "server_encoding", "client_encoding", "DateStyle", "IntervalStyle",
	"integer_datetimes", "standard_conforming_strings", "TimeZone", "application_name", "is_superuser",
	"session_authorization", "default_transaction_read_only", "in_hot_standby"}

// defaultSettings are the values a session starts with. Results are printed in DateStyle ISO (other styles
// are refused) and timestamptz in the session's TimeZone.
func defaultSettings() map[string]setting {
	vals := [][2]string{
		{"server_version", "15.0 (Strata)"}, {"server_version_num", "150000"}, {"server_encoding", "UTF8"},
		{"client_encoding", "UTF8"}, {"DateStyle", "ISO, MDY"}, {"IntervalStyle", "postgres"},
		{"integer_datetimes", "on"}, {"standard_conforming_strings", "on"}, {"TimeZone", "UTC"},
		{"application_name", ""}, {"is_superuser", "off"}, {"session_authorization", ""},
		{"default_transaction_read_only", "on"}, {"transaction_read_only", "on"}, {"in_hot_standby", "off"},
		{"transaction_isolation", "read committed"}, {"default_transaction_isolation", "read committed"},
		{"extra_float_digits", "1"}, {"search_path", `"$user", public`}, {"max_identifier_length", "63"},
		{"bytea_output", "hex"}, {"client_min_messages", "notice"}, {"statement_timeout", "0"},
		{"lock_timeout", "0"}, {"idle_in_transaction_session_timeout", "0"}, {"ssl_renegotiation_limit", "0"},
		{"lc_messages", "C"}, {"lc_monetary", "C"}, {"lc_numeric", "C"}, {"lc_time", "C"},
	}
	m := make(map[string]setting, len(vals))
	for _, v := range vals {
		m[strings.ToLower(v[0])] = setting{v[0], v[1]}
	}
	return m
}

// readOnlyVars cannot be SET: they describe the server.
var readOnlyVars = map[string]bool{"server_version": true, "server_version_num": true, "server_encoding": true,
	"integer_datetimes": true, "max_identifier_length": true, "is_superuser": true, "in_hot_standby": true,
	hotVar: true}

// hotVar is a read-only variable that reports the engine's in-memory table copies, "<n> loaded, <n> loading,
// <bytes> bytes": a client that times queries (bench/sql) reads it to wait until the tables it warmed up are in
// memory instead of sleeping.
const hotVar = "strata.hot_tables"

// set changes a session variable; names with a dot are custom (extension) variables and always accepted.
func (c *conn) set(name, value string) error {
	key := strings.ToLower(name)
	value = unquote(value)
	if key == "session_authorization" || key == "role" {
		if err := c.checkIdentity(key, value); err != nil {
			return err
		}
		if key == "role" {
			return nil // roles are Strata's (per environment), not PostgreSQL's: one's own name or NONE changes nothing
		}
	}
	st, known := c.vars[key]
	switch {
	case !known && duckFileSettings[key]:
		return fmt.Errorf("DuckDB setting %q reaches files, extensions or the network and cannot be set on this "+
			"endpoint: %w", name, ErrReadOnly)
	case !known && !strings.Contains(key, "."):
		return fmt.Errorf("unrecognized configuration parameter %q: %w", name, errUndefinedObject)
	case readOnlyVars[key]:
		return fmt.Errorf("parameter %q cannot be changed: %w", name, ErrReadOnly)
	case key == "client_encoding" && strings.EqualFold(value, "SQL_ASCII"):
		value = "SQL_ASCII" // no conversion, as PostgreSQL does for it: ANSI ODBC apps in the C locale ask for it
	case key == "client_encoding" && !isUTF8(value):
		return fmt.Errorf("client_encoding %q is not supported: this server speaks UTF8 only: %w", value, errBadValue)
	case key == "client_encoding":
		value = "UTF8"
	case key == "timezone":
		loc, err := parseTimeZone(value)
		if err != nil {
			return err
		}
		c.loc = loc
	case key == "datestyle":
		if u := strings.ToUpper(value); strings.Contains(u, "SQL") || strings.Contains(u, "POSTGRES") || strings.Contains(u, "GERMAN") {
			return fmt.Errorf("DateStyle %q is not supported: this server prints dates in ISO style only (SET DateStyle = 'ISO, MDY'): %w", value, errBadValue)
		}
		value = "ISO, " + dateOrder(value)
	}
	if err := checkStrataVar(key, value); err != nil { // strata.as_of, strata.snapshot (catalog_timetravel.go)
		return err
	}
	if !known {
		st.name = key
	}
	st.value = value
	c.vars[key] = st
	for _, r := range reported {
		if c.greeted && strings.EqualFold(r, key) { // at startup, all are sent after AuthenticationOk
			c.be.Send(&pgproto3.ParameterStatus{Name: st.name, Value: st.value})
		}
	}
	return nil
}

var errBadValue = &stateError{state: "22023"}

// checkIdentity refuses, for an authenticated session, SET SESSION AUTHORIZATION / SET ROLE to any name but
// its own user's (as PostgreSQL refuses a user who is not a superuser): the catalog's current_user and
// pg_roles follow session_authorization, and a session must not claim another user's name.
func (c *conn) checkIdentity(name, value string) error {
	p := c.principal()
	if p == nil || p.Trusted || value == "" || strings.EqualFold(value, "NONE") || value == p.User {
		return nil
	}
	return fmt.Errorf("permission denied to set %s to %q: this session is user %q; connect as the other user instead: %w",
		name, value, p.User, ErrReadOnly)
}

// duckFileSettings are DuckDB settings that open files, load extensions, reach the network or widen the
// sandbox. SET never reaches DuckDB here (and the engine locks its configuration), but a client that tries
// one is told 42501, as for every other way around the platform, rather than "unrecognized".
var duckFileSettings = func() map[string]bool {
	m := map[string]bool{}
	for _, n := range strings.Fields(`access_mode allow_community_extensions allow_extensions_metadata_mismatch
		allow_persistent_secrets allow_unredacted_secrets allow_unsigned_extensions allowed_directories allowed_paths
		autoinstall_extension_repository autoinstall_known_extensions autoload_known_extensions custom_extension_repository
		default_secret_storage disabled_filesystems enable_external_access enable_external_file_cache enable_http_logging
		enable_logging enable_profiling extension_directories extension_directory file_search_path force_mbedtls_unsafe
		home_directory http_logging_output http_proxy http_proxy_password http_proxy_username lock_configuration
		log_query_path logging_storage max_temp_directory_size profile_output profiling_output secret_directory
		temp_directory temp_file_encryption`) {
		m[n] = true
	}
	return m
}()

// parseTimeZone accepts what clients send as TimeZone: IANA names (Europe/Berlin), UTC and its aliases, and
// ISO offsets (+05:30, -3) as SET TIME ZONE takes them.
func parseTimeZone(v string) (*time.Location, error) {
	switch strings.ToUpper(v) {
	case "UTC", "GMT", "Z", "ZULU", "UCT", "ETC/UTC", "ETC/GMT", "DEFAULT", "LOCAL", "LOCALTIME", "":
		return time.UTC, nil
	}
	if v[0] == '+' || v[0] == '-' || v[0] >= '0' && v[0] <= '9' {
		if d, err := parseOffset(v); err == nil {
			return time.FixedZone(v, d), nil
		}
	}
	loc, err := time.LoadLocation(v)
	if err != nil {
		return nil, fmt.Errorf("invalid value for parameter \"TimeZone\": %q: name a time zone such as UTC or Europe/Berlin: %w", v, errBadValue)
	}
	return loc, nil
}

// parseOffset reads [+-]H[H][:MM] as seconds east of UTC.
func parseOffset(v string) (int, error) {
	sign := 1
	switch v[0] {
	case '-':
		sign, v = -1, v[1:]
	case '+':
		v = v[1:]
	}
	h, m, _ := strings.Cut(v, ":")
	hh, err := strconv.Atoi(h)
	if err != nil || hh > 15 {
		return 0, fmt.Errorf("bad offset")
	}
	mm := 0
	if m != "" {
		if mm, err = strconv.Atoi(m); err != nil || mm > 59 {
			return 0, fmt.Errorf("bad offset")
		}
	}
	return sign * (hh*3600 + mm*60), nil
}

// dateOrder keeps the client's field order for DateStyle's second part (only ISO output is printed).
func dateOrder(v string) string {
	u := strings.ToUpper(v)
	for _, o := range []string{"DMY", "YMD"} {
		if strings.Contains(u, o) {
			return o
		}
	}
	return "MDY"
}

func isUTF8(v string) bool {
	switch strings.ToUpper(v) {
	case "UTF8", "UTF-8", "UNICODE":
		return true
	}
	return false
}

func unquote(v string) string {
	v = strings.TrimSpace(v)
	if len(v) >= 2 && (v[0] == '\'' && v[len(v)-1] == '\'' || v[0] == '"' && v[len(v)-1] == '"') {
		v = strings.ReplaceAll(v[1:len(v)-1], string(v[0])+string(v[0]), string(v[0]))
	}
	return v
}

// sessionCommand answers the statements that concern the session, not the lake: transaction verbs, SET,
// RESET, SHOW, DISCARD. ok is false for any other statement.
func (c *conn) sessionCommand(sql string) (cur *cursor, ok bool, err error) {
	w := lakesql.Words(sql, 4)
	if len(w) == 0 {
		return nil, false, nil
	}
	tag := func(t string) (*cursor, bool, error) { return &cursor{tag: t}, true, nil }
	switch w[0] {
	case "BEGIN", "START":
		c.inTx = true
		if w[0] == "START" {
			return tag("START TRANSACTION")
		}
		return tag("BEGIN")
	case "COMMIT", "END":
		c.inTx = false
		c.closePortals() // cursors end with their transaction, but WITH HOLD ones
		return tag("COMMIT")
	case "ROLLBACK", "ABORT":
		if len(w) > 1 && w[1] == "TO" {
			return tag("ROLLBACK")
		}
		c.inTx = false
		c.closePortals()
		return tag("ROLLBACK")
	case "SAVEPOINT", "RELEASE", "UNLISTEN":
		return tag(w[0])
	case "DISCARD":
		user := c.vars["session_authorization"] // the session's user stays, as in PostgreSQL
		c.vars, c.loc = defaultSettings(), time.UTC
		c.vars["session_authorization"] = user
		c.closeAllPortals()
		return tag("DISCARD ALL")
	case "SET":
		return c.setCommand(sql)
	case "RESET":
		return c.resetCommand(sql)
	case "SHOW":
		return c.showCommand(sql)
	case "DEALLOCATE": // deallocate.go
		cur, err := c.deallocate(sql)
		return cur, true, err
	}
	return nil, false, nil
}

// setArgs splits "SET [SESSION|LOCAL] name {=|TO} value" into name and value.
func (c *conn) setCommand(sql string) (*cursor, bool, error) {
	rest := strings.TrimSpace(sql[len("SET"):])
	for _, p := range []string{"SESSION ", "LOCAL "} {
		if len(rest) >= len(p) && strings.EqualFold(rest[:len(p)], p) {
			rest = strings.TrimSpace(rest[len(p):])
		}
	}
	upper := strings.ToUpper(rest)
	switch {
	case strings.HasPrefix(upper, "CHARACTERISTICS"), strings.HasPrefix(upper, "TRANSACTION"),
		strings.HasPrefix(upper, "SESSION CHARACTERISTICS"):
		return &cursor{tag: "SET"}, true, nil
	case strings.HasPrefix(upper, "TIME ZONE"):
		return &cursor{tag: "SET"}, true, c.set("TimeZone", rest[len("TIME ZONE"):])
	case strings.HasPrefix(upper, "NAMES"):
		return &cursor{tag: "SET"}, true, c.set("client_encoding", rest[len("NAMES"):])
	case strings.HasPrefix(upper, "AUTHORIZATION ") || strings.HasPrefix(upper, "ROLE "): // SET [SESSION] AUTHORIZATION x, SET ROLE x
		name, value, _ := strings.Cut(rest, " ")
		if value = strings.TrimSpace(value); strings.EqualFold(value, "DEFAULT") {
			return &cursor{tag: "SET"}, true, nil
		}
		if strings.EqualFold(name, "AUTHORIZATION") {
			name = "session_authorization"
		}
		return &cursor{tag: "SET"}, true, c.set(name, value)
	}
	name, value, found := strings.Cut(rest, "=")
	if !found {
		i := strings.Index(upper, " TO ")
		if i < 0 {
			return nil, true, fmt.Errorf("SET needs a value: SET name = value: %w", ErrInvalid)
		}
		name, value = rest[:i], rest[i+4:]
	}
	name, value = strings.TrimSpace(name), strings.TrimSpace(value)
	if strings.EqualFold(value, "DEFAULT") {
		c.reset(name)
		return &cursor{tag: "SET"}, true, nil
	}
	return &cursor{tag: "SET"}, true, c.set(name, value)
}

func (c *conn) resetCommand(sql string) (*cursor, bool, error) {
	name := strings.TrimSpace(sql[len("RESET"):])
	if strings.EqualFold(name, "ALL") {
		user := c.vars["session_authorization"]
		c.vars, c.loc = defaultSettings(), time.UTC
		c.vars["session_authorization"] = user
	} else {
		c.reset(name)
	}
	return &cursor{tag: "RESET"}, true, nil
}

func (c *conn) reset(name string) {
	key := strings.ToLower(name)
	if d, ok := defaultSettings()[key]; ok && !readOnlyVars[key] && key != "session_authorization" {
		c.vars[key] = d
		if key == "timezone" {
			c.loc = time.UTC
		}
	} else if !ok && strings.Contains(key, ".") {
		delete(c.vars, key) // a custom setting (strata.as_of) goes back to unset
	}
}

// showCommand answers SHOW name and SHOW ALL with text rows.
func (c *conn) showCommand(sql string) (*cursor, bool, error) {
	name := strings.ToLower(strings.Join(strings.Fields(sql[len("SHOW"):]), " "))
	switch name {
	case "transaction isolation level":
		name = "transaction_isolation"
	case "time zone":
		name = "timezone"
	case "all":
		keys := make([]string, 0, len(c.vars))
		for k := range c.vars {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		cur := &cursor{tag: "SHOW", fields: textFields("name", "setting")}
		for _, k := range keys {
			cur.static = append(cur.static, [][]byte{[]byte(c.vars[k].name), []byte(c.vars[k].value)})
		}
		return cur, true, nil
	case hotVar:
		e := c.s.opts.Engine
		v := fmt.Sprintf("%d loaded, %d loading, %d bytes", e.HotLoads(), e.HotLoading(), e.HotBytes())
		return &cursor{tag: "SHOW", fields: textFields(hotVar), static: [][][]byte{{[]byte(v)}}}, true, nil
	}
	st, ok := c.vars[name]
	if !ok {
		return nil, true, fmt.Errorf("unrecognized configuration parameter %q: %w", name, errUndefinedObject)
	}
	return &cursor{tag: "SHOW", fields: textFields(st.name), static: [][][]byte{{[]byte(st.value)}}}, true, nil
}
