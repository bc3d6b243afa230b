package api

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/errs"
)

// TestStatusOfEveryKind pins the one /api/v1 mapping of error kinds; a new kind fails here until it is mapped.
func TestStatusOfEveryKind(t *testing.T) {
	t.Parallel()
	want := map[errs.Kind]struct {
		status int
		code   string
	}{
		errs.Internal:    {http.StatusInternalServerError, "INTERNAL_ERROR"},
		errs.NotFound:    {http.StatusNotFound, "NOT_FOUND"},
		errs.Exists:      {http.StatusConflict, "CONFLICT"},
		errs.Conflict:    {http.StatusConflict, "CONFLICT"},
		errs.Invalid:     {http.StatusBadRequest, "INVALID_ARGUMENT"},
		errs.BadData:     {http.StatusBadRequest, "INVALID_ARGUMENT"},
		errs.Forbidden:   {http.StatusForbidden, "FORBIDDEN"},
		errs.Unavailable: {http.StatusServiceUnavailable, "UNAVAILABLE"},
		errs.Unsupported: {http.StatusNotImplemented, "NOT_IMPLEMENTED"},
	}
	require.Len(t, want, len(errs.Kinds()), "a kind without an expected mapping")
	for _, k := range errs.Kinds() {
		w, ok := want[k]
		require.True(t, ok, "kind %s has no expected mapping", k)
		// Through an error wrapped the way domain packages wrap their sentinels.
		err := fmt.Errorf("table %q: %w", "raw.orders", errs.New(k, "sentinel"))
		status, code := statusOf(errs.KindOf(err))
		require.Equal(t, w.status, status, "kind %s", k)
		require.Equal(t, w.code, code, "kind %s", k)
	}
	for _, err := range []error{context.Canceled, context.DeadlineExceeded, fmt.Errorf("query: %w", context.Canceled)} {
		status, code := statusOf(errs.KindOf(err))
		require.Equal(t, http.StatusServiceUnavailable, status, "%v", err)
		require.Equal(t, "UNAVAILABLE", code, "%v", err)
	}
}
