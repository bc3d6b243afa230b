package main

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/envs"
	"github.com/strata-data/strata/lake"
)

// TestHint: the CLI adds what to do, in its own commands and flags, to the domain errors that need it.
func TestHint(t *testing.T) {
	t.Parallel()
	orders := lake.Ident{Zone: "raw", Name: "orders"}
	col := []lake.Column{{Name: "x", Type: "long"}}
	for _, tc := range []struct {
		err  error
		want string
	}{
		{fmt.Errorf("x: %w", &envs.EnvNotFoundError{Name: "staging"}), "create it with `strata env create staging`"},
		{&envs.NotReleasedError{Env: "prod", Table: orders}, "publish it with `strata release publish --env prod raw.orders`"},
		{fmt.Errorf("environment prod: %w", envs.ErrForbidden), "--force"},
		{&envs.SchemaMismatchError{Table: orders, Extra: col}, "--schema evolve adds the new columns"},
		{&envs.SchemaMismatchError{Table: orders, Missing: col}, "--allow-missing-columns writes NULL"},
		{&envs.SchemaMismatchError{Table: orders, Extra: col, Missing: col}, "check the file's column names"},
		{errors.New("boom"), ""},
		{fmt.Errorf("release: %w", envs.ErrNotFound), ""},
	} {
		if tc.want == "" {
			require.Empty(t, hint(tc.err), "%v", tc.err)
			continue
		}
		require.Contains(t, hint(tc.err), tc.want, "%v", tc.err)
	}
}
