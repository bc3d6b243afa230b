package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/strata-data/strata/auth"
)

// authService opens the users and tokens store (after a.open).
func (a *app) authService() *auth.Service {
	ttl := a.cfg.Auth.CacheTTL
	if ttl == 0 {
		ttl = -1 // auth.cache_ttl 0 = no cache
	}
	return auth.New(a.db, auth.Options{Iterations: a.cfg.Auth.ScramIterations, CacheTTL: ttl})
}

func (a *app) userCmd() *cobra.Command {
	c := &cobra.Command{Use: "user", Short: "Manage users and their roles per environment (viewer, developer, admin)",
		Long: `Manage the users of strata serve's HTTP API, MLflow endpoints and PostgreSQL endpoint.

A user has a role per environment: viewer (read), developer (read; write dev-kind environments; log runs,
models and artifacts), admin (everything, including writing prod and publishing or rolling back releases).
Without users, clients on this machine need no credentials; once one exists, every client authenticates.
Passwords are stored only as SCRAM-SHA-256 verifiers and are never given as flag values: they are asked on the
terminal, or read from standard input with --password-stdin.`}
	c.AddCommand(a.userAddCmd(), a.userListCmd(), a.userRmCmd(), a.userPasswdCmd(), a.userGrantCmd(), a.userRevokeCmd())
	return c
}

// userResult is what the user commands print as JSON: the user after the change.
type userResult struct {
	auth.User
	Removed bool `json:"removed,omitempty"`
}

func (a *app) printUsers(list []auth.User) error {
	return a.print(list, func(w io.Writer) {
		row(w, "USER", "ROLES", "CREATED")
		for _, u := range list {
			row(w, u.Name, grantsText(u.Grants), u.Created.Format("2006-01-02 15:04:05Z"))
		}
	})
}

func grantsText(gs []auth.Grant) string {
	parts := make([]string, 0, len(gs))
	for _, g := range gs {
		parts = append(parts, g.Env+"="+string(g.Role))
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, ",")
}

// openAuth opens the stores and the users service.
func (a *app) openAuth(ctx context.Context) (*auth.Service, error) {
	if err := a.open(ctx); err != nil {
		return nil, err
	}
	return a.authService(), nil
}

// checkEnvs makes sure every environment named in a grant exists (* = every environment).
func (a *app) checkEnvs(ctx context.Context, names []string) error {
	for _, n := range names {
		if n == auth.AllEnvs {
			continue
		}
		if _, err := a.envs.Get(ctx, n); err != nil {
			return err
		}
	}
	return nil
}

func (a *app) userAddCmd() *cobra.Command {
	var role string
	var envNames []string
	var fromStdin bool
	c := &cobra.Command{
		Use:   "add NAME",
		Short: "Add a user with a role in the given environments (every environment without --env)",
		Example: `  strata user add ana --role developer --env dev      # asks for the password
  echo "$PW" | strata user add ci --role admin --password-stdin`,
		Args: exactArgs(1, "a user name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := auth.ParseRole(role)
			if err != nil {
				return err
			}
			if len(envNames) == 0 {
				envNames = []string{auth.AllEnvs}
			}
			if err := auth.CheckUserName(args[0]); err != nil {
				return err
			}
			svc, err := a.openAuth(cmd.Context())
			if err != nil {
				return err
			}
			if err := a.checkEnvs(cmd.Context(), envNames); err != nil {
				return err
			}
			pw, err := a.readPassword(cmd, fromStdin)
			if err != nil {
				return err
			}
			var grants []auth.Grant
			for _, e := range envNames {
				grants = append(grants, auth.Grant{Env: e, Role: r})
			}
			if err := svc.AddUser(cmd.Context(), args[0], pw, grants); err != nil {
				return err
			}
			return a.printUser(cmd.Context(), svc, args[0], "added user")
		},
	}
	c.Flags().StringVar(&role, "role", "viewer", "viewer, developer or admin")
	c.Flags().StringArrayVar(&envNames, "env", nil, "an environment the role applies in (repeat it; * or none = every environment)")
	c.Flags().BoolVar(&fromStdin, "password-stdin", false, "read the password from the first line of standard input")
	return c
}

// printUser prints the user after a change: its grants in a table, or the user as JSON/YAML.
func (a *app) printUser(ctx context.Context, svc *auth.Service, name, verb string) error {
	u, err := svc.User(ctx, name)
	if err != nil {
		return err
	}
	return a.print(userResult{User: u}, func(w io.Writer) {
		fmt.Fprintf(w, "%s %s: %s\n", verb, u.Name, grantsText(u.Grants))
	})
}

func (a *app) userListCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the users and their roles",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			svc, err := a.openAuth(cmd.Context())
			if err != nil {
				return err
			}
			list, err := svc.Users(cmd.Context())
			if err != nil {
				return err
			}
			return a.printUsers(list)
		},
	}
}

func (a *app) userRmCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "rm NAME",
		Short: "Remove a user, its roles and its tokens",
		Args:  exactArgs(1, "a user name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			svc, err := a.openAuth(cmd.Context())
			if err != nil {
				return err
			}
			u, err := svc.User(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if err := svc.RemoveUser(cmd.Context(), args[0]); err != nil {
				return err
			}
			return a.print(userResult{User: u, Removed: true}, func(w io.Writer) {
				fmt.Fprintf(w, "removed user %s and its tokens\n", u.Name)
			})
		},
	}
}

func (a *app) userPasswdCmd() *cobra.Command {
	var fromStdin bool
	c := &cobra.Command{
		Use:   "passwd NAME",
		Short: "Set a user's password (its tokens stay valid: revoke them with strata token revoke)",
		Args:  exactArgs(1, "a user name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			svc, err := a.openAuth(cmd.Context())
			if err != nil {
				return err
			}
			if _, err := svc.User(cmd.Context(), args[0]); err != nil {
				return err
			}
			pw, err := a.readPassword(cmd, fromStdin)
			if err != nil {
				return err
			}
			if err := svc.SetPassword(cmd.Context(), args[0], pw); err != nil {
				return err
			}
			return a.printUser(cmd.Context(), svc, args[0], "changed the password of")
		},
	}
	c.Flags().BoolVar(&fromStdin, "password-stdin", false, "read the password from the first line of standard input")
	return c
}

func (a *app) userGrantCmd() *cobra.Command {
	var env, role string
	c := &cobra.Command{
		Use:     "grant NAME --env ENV --role ROLE",
		Short:   "Give a user a role in an environment (replacing the role it had there)",
		Example: `  strata user grant ana --env prod --role viewer`,
		Args:    exactArgs(1, "a user name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := auth.ParseRole(role)
			if err != nil {
				return err
			}
			if env == "" {
				return fmt.Errorf("%w: give the environment with --env (or --env '*' for every one)", errUsage)
			}
			svc, err := a.openAuth(cmd.Context())
			if err != nil {
				return err
			}
			if err := a.checkEnvs(cmd.Context(), []string{env}); err != nil {
				return err
			}
			if err := svc.Grant(cmd.Context(), args[0], auth.Grant{Env: env, Role: r}); err != nil {
				return err
			}
			return a.printUser(cmd.Context(), svc, args[0], "granted")
		},
	}
	c.Flags().StringVar(&env, "env", "", "the environment (* = every environment)")
	c.Flags().StringVar(&role, "role", "", "viewer, developer or admin")
	return c
}

func (a *app) userRevokeCmd() *cobra.Command {
	var env, role string
	c := &cobra.Command{
		Use:   "revoke NAME --env ENV [--role ROLE]",
		Short: "Take a user's role in an environment away (with --role: only if it is that role)",
		Args:  exactArgs(1, "a user name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			var r auth.Role
			if role != "" {
				var err error
				if r, err = auth.ParseRole(role); err != nil {
					return err
				}
			}
			if env == "" {
				return fmt.Errorf("%w: give the environment with --env", errUsage)
			}
			svc, err := a.openAuth(cmd.Context())
			if err != nil {
				return err
			}
			if err := svc.Revoke(cmd.Context(), args[0], env, r); err != nil {
				return err
			}
			return a.printUser(cmd.Context(), svc, args[0], "revoked; now")
		},
	}
	c.Flags().StringVar(&env, "env", "", "the environment (* = the grant for every environment)")
	c.Flags().StringVar(&role, "role", "", "the role the user must have there (optional)")
	return c
}

// readPassword reads a password from standard input's first line (--password-stdin) or, on a terminal, asks for
// it twice. A password is never a flag value: flags end up in shell history and ps output.
func (a *app) readPassword(cmd *cobra.Command, fromStdin bool) (string, error) {
	in := cmd.InOrStdin()
	if fromStdin {
		line, err := bufio.NewReader(in).ReadString('\n')
		if err != nil && (err != io.EOF || line == "") {
			return "", fmt.Errorf("%w: --password-stdin: read the password from standard input: %v", errUsage, err)
		}
		return strings.TrimRight(line, "\r\n"), nil
	}
	f, ok := in.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return "", fmt.Errorf("%w: no terminal to ask for the password on: pipe it in with --password-stdin", errUsage)
	}
	ask := func(prompt string) (string, error) {
		fmt.Fprint(a.stderr, prompt)
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(a.stderr)
		return string(b), err
	}
	pw, err := ask("Password: ")
	if err != nil {
		return "", err
	}
	again, err := ask("Repeat the password: ")
	if err != nil {
		return "", err
	}
	if again != pw {
		return "", fmt.Errorf("%w: the two passwords differ; nothing was changed", errUsage)
	}
	return pw, nil
}
