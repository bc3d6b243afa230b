package errs_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/errs"
)

func TestKindOf(t *testing.T) {
	t.Parallel()
	errA := errs.New(errs.NotFound, "not found")
	errB := errs.New(errs.NotFound, "not found")
	for _, tc := range []struct {
		name string
		err  error
		want errs.Kind
	}{
		{"nil", nil, errs.Internal},
		{"plain", errors.New("boom"), errs.Internal},
		{"sentinel", errA, errs.NotFound},
		{"wrapped sentinel", fmt.Errorf("table x: %w", errA), errs.NotFound},
		{"kind itself", fmt.Errorf("x: %w", errs.Conflict), errs.Conflict},
		{"E", errs.E(errs.Forbidden, "prod %s", "x"), errs.Forbidden},
		{"E wrapping another", errs.E(errs.Invalid, "bad: %w", errors.New("inner")), errs.Invalid},
		{"bad data", fmt.Errorf("f: %w", errs.New(errs.BadData, "rejected")), errs.BadData},
		{"canceled", fmt.Errorf("q: %w", context.Canceled), errs.Unavailable},
		{"deadline", context.DeadlineExceeded, errs.Unavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, errs.KindOf(tc.err))
		})
	}
	require.True(t, errors.Is(fmt.Errorf("w: %w", errA), errA))
	require.False(t, errors.Is(fmt.Errorf("w: %w", errA), errB), "sentinels of two packages stay distinct")
	require.True(t, errors.Is(errs.New(errs.BadData, "x"), errs.Invalid), "BadData is also Invalid")
	require.False(t, errors.Is(errs.New(errs.Invalid, "x"), errs.BadData))
	require.Equal(t, "table x: not found", fmt.Errorf("table x: %w", errA).Error())
}
