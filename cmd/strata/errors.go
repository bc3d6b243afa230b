package main

import (
	"errors"

	"github.com/strata-data/strata/config"
	"github.com/strata-data/strata/engine"
	"github.com/strata-data/strata/envs"
	"github.com/strata-data/strata/lake"
	"github.com/strata-data/strata/meta"
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

// exitCode is the one place errors become exit codes.
func exitCode(err error) int {
	var bad *engine.BadInputError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &bad):
		return exitBadInput
	case errors.Is(err, lake.ErrNotFound), errors.Is(err, envs.ErrNotFound), errors.Is(err, meta.ErrNotFound),
		errors.Is(err, engine.ErrNotFound), errors.Is(err, errNotFound):
		return exitNotFound
	case errors.Is(err, lake.ErrConflict), errors.Is(err, lake.ErrExists), errors.Is(err, envs.ErrConflict),
		errors.Is(err, envs.ErrForbidden):
		return exitConflict
	case errors.Is(err, lake.ErrInvalid), errors.Is(err, envs.ErrInvalid), errors.Is(err, config.ErrInvalid),
		errors.Is(err, meta.ErrInvalid), errors.Is(err, errUsage), errors.Is(err, engine.ErrInvalid):
		return exitUsage
	case errors.Is(err, errCancelled):
		return exitCancelled
	}
	return exitError
}

var (
	errUsage     = errors.New("usage")
	errNotFound  = errors.New("not found")
	errCancelled = errors.New("cancelled")
)
