// Package infinity recognises DuckDB's infinite dates and timestamps in Arrow data. DuckDB keeps infinity as
// the largest value of the type and -infinity as its negation (one above the smallest), and its Arrow export
// passes them on unchanged, in every time unit: a date32 of 2147483647 is infinity, not a day in the year
// 5881580. PostgreSQL's infinities are the largest and the smallest value (its binary format), printed as
// infinity and -infinity; the readers of Arrow results (the PostgreSQL endpoint, the row formats, the PostgreSQL
// target of data movement) map one to the other here.
package infinity

import "math"

// Date reports whether days (since 1970-01-01, Arrow's date32) is infinite: 1 for infinity, -1 for -infinity,
// 0 for a date.
func Date(days int32) int {
	switch {
	case days == math.MaxInt32:
		return 1
	case days <= -math.MaxInt32:
		return -1
	}
	return 0
}

// Timestamp is Date for a timestamp value of any unit.
func Timestamp(v int64) int {
	switch {
	case v == math.MaxInt64:
		return 1
	case v <= -math.MaxInt64:
		return -1
	}
	return 0
}

// Text is PostgreSQL's (and DuckDB's) text of an infinity Date or Timestamp reported: "infinity" for 1,
// "-infinity" for -1.
func Text(sign int) string {
	if sign < 0 {
		return "-infinity"
	}
	return "infinity"
}

// PGDate returns PostgreSQL's binary form of an infinite date (int32's largest or smallest value); ok is false
// for a date, which the caller shifts to PostgreSQL's epoch itself.
func PGDate(days int32) (pg int32, ok bool) {
	switch Date(days) {
	case 1:
		return math.MaxInt32, true
	case -1:
		return math.MinInt32, true
	}
	return 0, false
}

// PGTimestamp is PGDate for a timestamp value of any unit (int64's ends): no epoch shift or unit change may
// touch an infinity.
func PGTimestamp(v int64) (pg int64, ok bool) {
	switch Timestamp(v) {
	case 1:
		return math.MaxInt64, true
	case -1:
		return math.MinInt64, true
	}
	return 0, false
}
