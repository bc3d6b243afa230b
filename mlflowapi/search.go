package mlflowapi

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
)

// Search is the shared part of MLflow's searches (experiments, runs, logged models, registered models, model
// versions): the parsed filter, the page the token names and the page size. A search validates its own
// clauses and order_by, renders them with Compare and TagClause, selects with LimitOffset and finishes with
// Paginate.
type Search struct {
	Filter  string
	Clauses []Clause
	Offset  int64 // rows to skip (from the page token)
	Max     int64 // page size
}

// NewSearch decodes the page token and parses the filter; max is the page size the search settled on.
// Errors are INVALID_PARAMETER_VALUE.
func NewSearch(filter, pageToken string, max int64) (*Search, error) {
	offset, err := DecodePageToken(pageToken)
	if err != nil {
		return nil, err
	}
	clauses, err := ParseFilter(filter)
	if err != nil {
		return nil, err
	}
	return &Search{Filter: filter, Clauses: clauses, Offset: offset, Max: max}, nil
}

// LimitOffset renders "LIMIT <max+1> OFFSET <offset>": one row more than a page tells whether another page
// follows.
func (s *Search) LimitOffset(a *SQLArgs) string {
	return "LIMIT " + a.P(s.Max+1) + " OFFSET " + a.P(s.Offset)
}

// Paginate trims rows selected with LimitOffset to one page and returns the next page's token ("" on the last
// page, also when it is exactly full).
func Paginate[T any](s *Search, rows []T) ([]T, string) {
	if int64(len(rows)) <= s.Max {
		return rows, ""
	}
	return rows[:s.Max], EncodePageToken(s.Offset + s.Max)
}

// ClauseError is the INVALID_PARAMETER_VALUE error for a clause that parsed but is not allowed in a search.
func (s *Search) ClauseError(c Clause, format string, args ...any) error {
	return ClauseError(s.Filter, c, format, args...)
}

// ClauseError is the INVALID_PARAMETER_VALUE error for a clause of filter that a search does not support.
func ClauseError(filter string, c Clause, format string, args ...any) error {
	return invalidf("Invalid filter '%s': %s (at position %d)", filter, fmt.Sprintf(format, args...), c.Pos)
}

type pageToken struct {
	Offset int64 `json:"offset"`
}

// EncodePageToken is the opaque token of the page at offset: base64 {"offset": N}, as MLflow's.
func EncodePageToken(offset int64) string {
	b, _ := json.Marshal(pageToken{Offset: offset})
	return base64.StdEncoding.EncodeToString(b)
}

// DecodePageToken is the inverse of EncodePageToken ("" is offset 0).
func DecodePageToken(tok string) (int64, error) {
	if tok == "" {
		return 0, nil
	}
	b, err := base64.StdEncoding.DecodeString(tok)
	if err != nil {
		b, err = base64.URLEncoding.DecodeString(tok)
	}
	var t pageToken
	if err != nil || json.Unmarshal(b, &t) != nil || t.Offset < 0 {
		return 0, invalidf("Invalid page token, could not base64-decode")
	}
	return t.Offset, nil
}

// Dir renders an order direction: " ASC" or " DESC".
func Dir(asc bool) string {
	if asc {
		return " ASC"
	}
	return " DESC"
}

// ParseOrderBy splits an order_by entry "key [ASC|DESC]" into key and direction (the key possibly quoted
// with backticks or double quotes: metrics.`my metric`, params."a b").
func ParseOrderBy(s string) (string, bool, error) {
	s = strings.TrimSpace(s)
	asc := true
	up := strings.ToUpper(s)
	switch {
	case strings.HasSuffix(up, " DESC"):
		asc, s = false, strings.TrimSpace(s[:len(s)-5])
	case strings.HasSuffix(up, " ASC"):
		s = strings.TrimSpace(s[:len(s)-4])
	}
	if s == "" {
		return "", false, invalidf("Invalid order_by clause '%s'. Could not be parsed.", s)
	}
	if typ, key, ok := strings.Cut(s, "."); ok && len(key) >= 2 && (key[0] == '`' || key[0] == '"') && key[len(key)-1] == key[0] {
		s = typ + "." + key[1:len(key)-1]
	} else if len(s) >= 2 && (s[0] == '`' || s[0] == '"') && s[len(s)-1] == s[0] {
		s = s[1 : len(s)-1]
	}
	if strings.ContainsAny(strings.SplitN(s, ".", 2)[0], " '") {
		return "", false, invalidf("Invalid order_by clause '%s'. Could not be parsed.", s)
	}
	return s, asc, nil
}
