package main

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/errs"
)

// TestExitCodeEveryKind table-tests the CLI's one error mapper against every kind.
func TestExitCodeEveryKind(t *testing.T) {
	t.Parallel()
	want := map[errs.Kind]int{
		errs.Internal:    exitError,
		errs.NotFound:    exitNotFound,
		errs.Exists:      exitConflict,
		errs.Conflict:    exitConflict,
		errs.Invalid:     exitUsage,
		errs.BadData:     exitBadInput,
		errs.Forbidden:   exitConflict,
		errs.Unavailable: exitError,
		errs.Unsupported: exitUsage,
	}
	for _, k := range errs.Kinds() {
		code, ok := want[k]
		require.True(t, ok, "kind %s has no expected exit code in this test", k)
		require.Equal(t, code, exitCode(fmt.Errorf("ctx: %w", errs.New(k, "x"))), "kind %s", k)
	}
	require.Equal(t, exitOK, exitCode(nil))
	require.Equal(t, exitCancelled, exitCode(fmt.Errorf("q: %w", context.Canceled)))
	require.Equal(t, exitCancelled, exitCode(errCancelled))
	require.Equal(t, exitError, exitCode(errors.New("boom")))
}
