package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/strata-data/strata/auth"
)

func (a *app) tokenCmd() *cobra.Command {
	c := &cobra.Command{Use: "token", Short: "Create, list and revoke API tokens (HTTP: Authorization: Bearer, MLFLOW_TRACKING_TOKEN)"}
	c.AddCommand(a.tokenCreateCmd(), a.tokenListCmd(), a.tokenRevokeCmd())
	return c
}

// createdToken is what token create prints: the token itself, shown this once, and its record.
type createdToken struct {
	Secret string `json:"token"`
	auth.Token
}

func (a *app) tokenCreateCmd() *cobra.Command {
	var user, name, expires string
	c := &cobra.Command{
		Use:   "create --user NAME",
		Short: "Create a token that acts as a user; it is printed once and stored only as a hash",
		Example: `  strata token create --user ci --name nightly --expires 30d
  export MLFLOW_TRACKING_TOKEN=$(strata token create --user ana -o json | jq -r .token)`,
		Args: exactArgs(0, "no arguments (the user is --user)"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if user == "" {
				return fmt.Errorf("%w: give the user the token acts as with --user", errUsage)
			}
			ttl, err := auth.ParseTTL(expires)
			if err != nil {
				return err
			}
			svc, err := a.openAuth(cmd.Context())
			if err != nil {
				return err
			}
			tok, info, err := svc.CreateToken(cmd.Context(), user, name, ttl)
			if err != nil {
				return err
			}
			return a.print(createdToken{Secret: tok, Token: info}, func(w io.Writer) {
				fmt.Fprintf(w, "%s\n", tok)
				fmt.Fprintf(a.stderr, "token %s for user %s, expires %s: copy it now, it is not shown again\n", info.ID, info.User, expiry(info))
			})
		},
	}
	c.Flags().StringVar(&user, "user", "", "the user the token acts as (required)")
	c.Flags().StringVar(&name, "name", "", "a name that says what the token is for")
	c.Flags().StringVar(&expires, "expires", "90d", "lifetime: 30d, 12h, 90m, or never")
	return c
}

func expiry(t auth.Token) string {
	if t.Expires == nil {
		return "never"
	}
	return t.Expires.Format("2006-01-02 15:04:05Z")
}

func (a *app) tokenListCmd() *cobra.Command {
	var user string
	c := &cobra.Command{
		Use:   "list",
		Short: "List tokens (never their secrets)",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			svc, err := a.openAuth(cmd.Context())
			if err != nil {
				return err
			}
			list, err := svc.Tokens(cmd.Context(), user)
			if err != nil {
				return err
			}
			return a.print(list, func(w io.Writer) {
				row(w, "ID", "USER", "NAME", "CREATED", "EXPIRES")
				for _, t := range list {
					row(w, t.ID, t.User, t.Name, t.Created.Format("2006-01-02 15:04:05Z"), expiry(t))
				}
			})
		},
	}
	c.Flags().StringVar(&user, "user", "", "only this user's tokens")
	return c
}

func (a *app) tokenRevokeCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "revoke ID",
		Short: "Revoke a token (a running server refuses it within auth.cache_ttl)",
		Args:  exactArgs(1, "a token id (strata token list)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			svc, err := a.openAuth(cmd.Context())
			if err != nil {
				return err
			}
			if err := svc.RevokeToken(cmd.Context(), args[0]); err != nil {
				return err
			}
			return a.print(map[string]any{"id": args[0], "revoked": true}, func(w io.Writer) {
				fmt.Fprintf(w, "revoked token %s\n", args[0])
			})
		},
	}
}
