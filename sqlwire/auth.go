package sqlwire

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/strata-data/strata/auth"
)

// Authentication, as PostgreSQL does it with `scram-sha-256` in pg_hba.conf: without users (or without
// Options.Auth) a client on this machine, connected to a loopback listener, is trusted; otherwise (users exist,
// or the listener is reachable from other machines, 0.0.0.0 included) every client proves its password with
// SCRAM-SHA-256. A wrong password and an unknown user get the same answer (28P01), so users cannot be
// enumerated. After authentication the database (environment) must be one the user has a role in (42501).

// principal is THE accessor for who runs this session and what they may do (auth.Principal: CanRead,
// CanWrite(env, prod), CanPublish; Actor for the audit log). It is set before the session's first query and
// never nil then: a trusted session is an auth.TrustedPrincipal.
func (c *conn) principal() *auth.Principal { return c.who }

// authenticate decides whether user needs to prove a password and runs the SCRAM exchange if so; it sets
// c.who on success. On failure the client has been sent a FATAL error and the connection must end.
func (c *conn) authenticate(ctx context.Context, user string) bool {
	if user == "" {
		c.fatal("28000", "no PostgreSQL user name specified in startup packet")
		return false
	}
	svc := c.s.opts.Auth
	if svc == nil {
		c.who = auth.TrustedPrincipal(user)
		return true
	}
	has, err := svc.HasUsers(ctx)
	if err != nil {
		c.s.opts.Log.Error("sqlwire: cannot read the users", "err", err)
		c.fatal("XX000", "internal error; the server log has the details")
		return false
	}
	// Trust: no users, and a listener only this machine reaches (on 0.0.0.0 a client behind a local proxy or
	// port forward comes from 127.0.0.1 too), as HTTP decides by its listen address.
	if !has && c.localOnly && isLoopback(c.nc.RemoteAddr()) {
		c.who = auth.TrustedPrincipal(user)
		return true
	}
	p, err := c.scram(ctx, svc, user)
	if err != nil {
		c.s.opts.Log.Info("sqlwire: authentication failed", "user", user, "remote", c.nc.RemoteAddr().String(), "err", err)
		switch {
		case errors.Is(err, auth.ErrAuthFailed):
			c.fatal("28P01", fmt.Sprintf("password authentication failed for user %q", user))
		case isConnErr(err):
		case errors.Is(err, auth.ErrInvalid):
			c.fatal("08P01", err.Error())
		default:
			c.s.opts.Log.Error("sqlwire: authentication could not run", "user", user, "err", err)
			c.fatal("XX000", "internal error; the server log has the details")
		}
		return false
	}
	c.who = p
	return true
}

// scram runs SCRAM-SHA-256 with the client (AuthenticationSASL, SASLContinue, SASLFinal); AuthenticationOk
// follows in open.
func (c *conn) scram(ctx context.Context, svc *auth.Service, user string) (*auth.Principal, error) {
	x, err := svc.StartSCRAM(ctx, user)
	if err != nil {
		return nil, err
	}
	c.be.Send(&pgproto3.AuthenticationSASL{AuthMechanisms: []string{auth.Mechanism}})
	first, err := c.saslMessage(pgproto3.AuthTypeSASL)
	if err != nil {
		return nil, err
	}
	init, ok := first.(*pgproto3.SASLInitialResponse)
	if !ok || init.AuthMechanism != auth.Mechanism {
		return nil, fmt.Errorf("expected a SASLInitialResponse for %s: %w", auth.Mechanism, auth.ErrInvalid)
	}
	serverFirst, err := x.First(init.Data)
	if err != nil {
		return nil, err
	}
	c.be.Send(&pgproto3.AuthenticationSASLContinue{Data: serverFirst})
	final, err := c.saslMessage(pgproto3.AuthTypeSASLContinue)
	if err != nil {
		return nil, err
	}
	resp, ok := final.(*pgproto3.SASLResponse)
	if !ok {
		return nil, fmt.Errorf("expected a SASLResponse: %w", auth.ErrInvalid)
	}
	serverFinal, err := x.Final(resp.Data)
	if err != nil {
		return nil, err
	}
	p, err := svc.Principal(ctx, user)
	if err != nil {
		return nil, err
	}
	c.be.Send(&pgproto3.AuthenticationSASLFinal{Data: serverFinal})
	return p, nil
}

// saslMessage flushes what was sent and reads the client's next authentication message.
func (c *conn) saslMessage(authType uint32) (pgproto3.FrontendMessage, error) {
	if err := c.be.Flush(); err != nil {
		return nil, connErr{err}
	}
	if err := c.be.SetAuthType(authType); err != nil {
		return nil, err
	}
	msg, err := c.be.Receive()
	if err != nil {
		return nil, connErr{err} // psql without a password hangs up here to prompt for one
	}
	return msg, nil
}

// mayConnect checks that the authenticated user has a role in env, as PostgreSQL's CONNECT privilege.
func (c *conn) mayConnect(env string) bool {
	if c.principal().CanRead(env) {
		return true
	}
	c.be.Send(&pgproto3.ErrorResponse{Severity: "FATAL", SeverityUnlocalized: "FATAL", Code: "42501",
		Message: fmt.Sprintf("permission denied for database %q", env),
		Detail:  "User does not have CONNECT privilege.",
		Hint:    fmt.Sprintf("an admin gives a role with: strata user grant %s --env %s --role viewer", c.principal().User, env)})
	_ = c.be.Flush()
	return false
}

// unknownDatabase is the 3D000 message for a database that is no environment: it names the environments the
// user may connect to, and only those (the others are not the user's to know of).
func (c *conn) unknownDatabase(db string, known []string) string {
	var mine []string
	for _, n := range known {
		if c.principal().CanRead(n) {
			mine = append(mine, n)
		}
	}
	if len(mine) == 0 {
		return fmt.Sprintf("database %q does not exist: the databases are Strata's environments, and user %q has a role "+
			"in none; an admin gives one with: strata user grant %s --env ENV --role viewer", db, c.principal().User, c.principal().User)
	}
	return fmt.Sprintf("database %q does not exist: the databases are Strata's environments (%s); "+
		"connect to one of them, e.g. -d %s", db, strings.Join(mine, ", "), mine[0])
}

func isLoopback(a net.Addr) bool {
	tcp, ok := a.(*net.TCPAddr)
	return ok && tcp.IP.IsLoopback()
}

// roleMayWrite says whether the session's user may write its environment (prod: whether that environment is
// prod-kind): a developer in a dev-kind environment, an admin anywhere. The write path (mayWrite) calls it
// after its own checks; the refusal is ErrReadOnly (42501) and names the role that would be needed.
func (c *conn) roleMayWrite(prod bool) error {
	p := c.principal()
	if p.CanWrite(c.env, prod) {
		return nil
	}
	role := string(p.Role(c.env))
	if role == "" {
		role = "without a role"
	}
	need := "developer or admin"
	if prod {
		need = "admin"
	}
	return fmt.Errorf("user %q is %s in %q; writing there needs %s: %w", p.User, role, c.env, need, ErrReadOnly)
}
