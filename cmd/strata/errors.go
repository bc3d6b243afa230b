package main

import (
	"context"
	"errors"

	"github.com/strata-data/strata/errs"
)

// Exit codes scripts can rely on.
const (
	exitOK        = 0
	exitError     = 1 // anything unexpected
	exitUsage     = 2 // bad flags, arguments, configuration or request
	exitNotFound  = 3 // unknown environment, table, snapshot or release
	exitConflict  = 4 // refused: conflicts with the current state, or not allowed without --force
	exitBadInput  = 5 // input data rejected (malformed rows beyond --max-bad-rows)
	exitCancelled = 130
)

// exitCode is the one place errors become exit codes: by the kind (package errs) the error wraps.
func exitCode(err error) int {
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, errCancelled), errors.Is(err, context.Canceled):
		return exitCancelled
	}
	switch errs.KindOf(err) {
	case errs.NotFound:
		return exitNotFound
	case errs.Exists, errs.Conflict, errs.Forbidden:
		return exitConflict
	case errs.Invalid, errs.Unsupported:
		return exitUsage
	case errs.BadData:
		return exitBadInput
	}
	return exitError
}

var (
	errUsage     = errs.New(errs.Invalid, "usage")
	errNotFound  = errs.New(errs.NotFound, "not found")
	errCancelled = errors.New("cancelled")
)
