package sqlwire

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-data/strata/auth"
)

func TestRoleMayWrite(t *testing.T) {
	ana := auth.NewPrincipal("ana", []auth.Grant{{Env: "dev", Role: auth.Developer}, {Env: "prod", Role: auth.Viewer}})
	root := auth.NewPrincipal("root", []auth.Grant{{Env: "*", Role: auth.Admin}})
	for _, c := range []struct {
		who  *auth.Principal
		env  string
		prod bool
		want string // "" = allowed
	}{
		{ana, "dev", false, ""},
		{ana, "prod", true, `user "ana" is viewer in "prod"; writing there needs admin`},
		{ana, "other", false, `user "ana" is without a role in "other"; writing there needs developer or admin`},
		{root, "prod", true, ""},
		{auth.TrustedPrincipal("me"), "prod", true, ""},
	} {
		err := (&conn{who: c.who, env: c.env}).roleMayWrite(c.prod)
		if c.want == "" {
			require.NoError(t, err, c.env)
			continue
		}
		require.ErrorIs(t, err, ErrReadOnly)
		require.ErrorContains(t, err, c.want)
		require.Equal(t, "42501", sqlState(err))
	}
}
