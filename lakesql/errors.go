package lakesql

import (
	"fmt"

	"github.com/strata-data/strata/errs"
)

// Rule names the rule a refused write broke, for protocols that report more than the error's kind (the
// PostgreSQL endpoint's SQLSTATEs).
type Rule uint8

// The rules.
const (
	RuleReadOnlyEnv     Rule = iota + 1 // a write in a prod-kind environment (kind Forbidden)
	RuleBadName                         // the table name is not a valid zone.name (Invalid)
	RuleExists                          // CREATE TABLE of an existing table (Exists)
	RuleNoTable                         // INSERT INTO or DROP TABLE of a missing table (NotFound)
	RuleNoColumn                        // INSERT names a column the table lacks (Invalid)
	RuleDuplicateColumn                 // INSERT names a column twice (Invalid)
	RuleColumnCount                     // INSERT gives another number of values than target columns (Invalid)
	RuleUnsupported                     // a form of the statement that is not supported (Unsupported)
	RuleOneRead                         // the rows written do not come from one query (Forbidden)
)

// Sentinel errors of refused writes; match them with errors.Is (an *Error wraps one).
var (
	// ErrReadOnlyEnv: a write in a prod-kind environment, whose tables change only through releases.
	ErrReadOnlyEnv = errs.New(errs.Forbidden, "read-only environment")
	// ErrInvalid: a bad table or column name in the statement.
	ErrInvalid = errs.New(errs.Invalid, "invalid")
	// ErrExists: the table to create exists.
	ErrExists = errs.New(errs.Exists, "already exists")
	// ErrNotFound: the table to write or drop does not exist.
	ErrNotFound = errs.New(errs.NotFound, "not found")
	// ErrUnsupported: a form of the statement Strata does not implement.
	ErrUnsupported = errs.New(errs.Unsupported, "not supported")
	// ErrNotOneRead: the rows of a write must come from one query.
	ErrNotOneRead = errs.New(errs.Forbidden, "not one query")
)

var ruleErrs = map[Rule]error{RuleReadOnlyEnv: ErrReadOnlyEnv, RuleBadName: ErrInvalid, RuleExists: ErrExists,
	RuleNoTable: ErrNotFound, RuleNoColumn: ErrInvalid, RuleDuplicateColumn: ErrInvalid, RuleColumnCount: ErrInvalid,
	RuleUnsupported: ErrUnsupported, RuleOneRead: ErrNotOneRead}

// Error is a write refused before anything was written: Msg says what was wrong and what to do.
type Error struct {
	Rule Rule
	Msg  string
}

func (e *Error) Error() string { return e.Msg }

// Unwrap gives the error its rule's sentinel, and so its kind.
func (e *Error) Unwrap() error { return ruleErrs[e.Rule] }

func refuse(r Rule, format string, args ...any) error {
	return &Error{Rule: r, Msg: fmt.Sprintf(format, args...)}
}
