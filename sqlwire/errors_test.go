package sqlwire

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/errs"
)

// TestSQLStateOfEveryKind: the one mapper covers every errs kind; nothing falls through to a wrong code.
func TestSQLStateOfEveryKind(t *testing.T) {
	want := map[errs.Kind]string{
		errs.Internal: "XX000", errs.NotFound: "42P01", errs.Exists: "42P07", errs.Conflict: "40001",
		errs.Invalid: "42601", errs.BadData: "22000", errs.Forbidden: "42501", errs.Unavailable: "57014",
		errs.Unsupported: "0A000",
	}
	for _, k := range errs.Kinds() {
		code, ok := want[k]
		require.True(t, ok, "kind %v has no expected SQLSTATE: add it", k)
		var err error = errs.New(k, "x")
		if k == errs.Internal {
			err = errors.New("boom")
		}
		require.Equal(t, code, sqlState(fmt.Errorf("wrapped: %w", err)), k.String())
	}
	require.Equal(t, "57014", sqlState(fmt.Errorf("query: %w", context.Canceled)))
	require.Equal(t, "22023", sqlState(fmt.Errorf("bad: %w", errBadValue)))
	require.Equal(t, "42704", sqlState(fmt.Errorf("bad: %w", errUndefinedObject)))
	require.Equal(t, "42501", sqlState(ErrReadOnly))

	internal := errorResponse(errors.New("secret dsn postgres://u:pw@h"), "ERROR")
	require.Equal(t, "XX000", internal.Code)
	require.NotContains(t, internal.Message, "pw", "internal errors do not show their text")
}

// TestParamCount: $n parameters are counted outside literals and comments.
func TestParamCount(t *testing.T) {
	require.Equal(t, 2, paramCount("SELECT $1::INT, $2 FROM t WHERE x = '$3' -- $4"))
}
