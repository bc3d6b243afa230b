package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/strata-data/strata/envs"
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

// hint is what a CLI user can do about err, in the CLI's own terms ("" when there is nothing to add). Domain
// errors say what was wrong; the commands and flags that fix it are named here, the one place the CLI adds them.
func hint(err error) string {
	var noEnv *envs.EnvNotFoundError
	var unreleased *envs.NotReleasedError
	var mismatch *envs.SchemaMismatchError
	var script *scriptError
	switch {
	case errors.As(err, &script) && errors.As(err, &mismatch):
		return "CREATE OR REPLACE TABLE keeps the table's columns: select them with their names, or DROP TABLE it first"
	case errors.As(err, &noEnv):
		return fmt.Sprintf("create it with `strata env create %s`", noEnv.Name)
	case errors.As(err, &unreleased):
		return fmt.Sprintf("publish it with `strata release publish --env %s %s`", unreleased.Env, unreleased.Table)
	case errors.As(err, &mismatch):
		return schemaHint(mismatch)
	case errors.Is(err, envs.ErrForbidden):
		return "an admin may write a prod environment directly with --force (the write is audited)"
	}
	return ""
}

func schemaHint(e *envs.SchemaMismatchError) string {
	switch {
	case len(e.Extra) > 0 && len(e.Missing) > 0:
		return "check the file's column names; --schema evolve adds new columns to the table, --allow-missing-columns writes NULL for missing ones"
	case len(e.Extra) > 0:
		return "--schema evolve adds the new columns to the table"
	}
	return "--allow-missing-columns writes NULL for the missing columns"
}
