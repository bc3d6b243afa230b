package sqlwire

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/strata-data/strata/auth"
	"github.com/strata-data/strata/engine"
	"github.com/strata-data/strata/envs"
	"github.com/strata-data/strata/lakesql"
)

// conn is one client connection: its environment, session variables, prepared statements and portals.
// All its methods run on the connection's goroutine.
type conn struct {
	s   *Server
	nc  net.Conn
	rd  *sockReader // what be reads from
	be  *pgproto3.Backend
	env string
	who *auth.Principal // who authenticated; read it through principal() (auth.go)
	// localOnly: the listener's address is loopback, so only this machine reaches it (trust needs it: auth.go).
	localOnly bool
	// vars are the session variables by lower-case name (SET / SHOW / RESET).
	vars    map[string]setting
	loc     *time.Location // TimeZone: timestamptz is printed in it
	inTx    bool           // between BEGIN and COMMIT/ROLLBACK: portals survive Sync
	failed  bool           // an extended-protocol message failed: skip to Sync
	greeted bool           // the startup answer went out: SET reports changes with ParameterStatus
	out     []byte         // encoded rows not yet written (rows.go)
	stmts   map[string]*prepared
	portals map[string]*portal
	// bound are the columns of the lake tables the session's last statement bound, as it read them: its
	// RowDescription's table OIDs and attnums come from these (columnOrigins), never from another session's
	// statement, which may have read another version of a table whatever its time travel.
	bound map[engine.QualifiedName][]engine.Column

	pid    uint32
	secret []byte
	// cancelMu guards cancelRun, which cancels the statements running now (CancelRequest from another
	// connection's goroutine).
	leave     context.CancelFunc // cancels the connection's context: the client closed the socket
	cancelMu  sync.Mutex
	cancelRun context.CancelFunc
	runCtx    context.Context
}

// statementContext returns the context statements run under until the connection's next message: a
// CancelRequest cancels it. A portal's result lives as long as the portal, so it is cancelled too.
func (c *conn) statementContext(ctx context.Context) context.Context {
	c.cancelMu.Lock()
	defer c.cancelMu.Unlock()
	if c.cancelRun == nil {
		ctx, c.cancelRun = context.WithCancel(ctx)
		c.runCtx = ctx
	}
	return c.runCtx
}

// interrupt cancels what runs now; the next statement gets a fresh context.
func (c *conn) interrupt() {
	c.cancelMu.Lock()
	defer c.cancelMu.Unlock()
	if c.cancelRun != nil {
		c.cancelRun()
		c.cancelRun, c.runCtx = nil, nil
	}
}

func newConn(s *Server, nc net.Conn) *conn {
	c := &conn{s: s, vars: defaultSettings(), loc: time.UTC, stmts: map[string]*prepared{}, portals: map[string]*portal{}}
	c.useConn(nc)
	return c
}

// useConn makes nc the connection the session reads and writes (the TCP socket, then TLS over it).
func (c *conn) useConn(nc net.Conn) {
	c.nc, c.rd = nc, &sockReader{nc: nc}
	c.be = pgproto3.NewBackend(c.rd, nc)
	c.be.SetMaxBodyLen(c.s.opts.MaxMessage)
}

// serve runs the connection until the client terminates or leaves, or ctx ends.
func (c *conn) serve(ctx context.Context) {
	ctx, c.leave = context.WithCancel(ctx) // the client left: what runs for it stops
	defer c.leave()
	defer c.closeAllPortals()
	defer c.interrupt()
	ok, err := c.startup(ctx)
	if c.pid != 0 {
		defer c.s.unregister(c.pid)
	}
	if err != nil {
		c.s.opts.Log.Debug("sqlwire: startup failed", "remote", c.nc.RemoteAddr().String(), "err", err)
	}
	if !ok {
		return
	}
	err = c.loop(ctx) // always a reason: Terminate, the client left, a protocol error
	c.s.opts.Log.Debug("sqlwire: connection ended", "remote", c.nc.RemoteAddr().String(), "err", err)
}

// fatal sends a FATAL error; the caller then closes the connection.
func (c *conn) fatal(code, msg string) {
	c.be.Send(&pgproto3.ErrorResponse{Severity: "FATAL", SeverityUnlocalized: "FATAL", Code: code, Message: msg})
	_ = c.be.Flush()
}

// startup negotiates SSL (refused: 'N'), reads the startup packet and opens the session. It reports whether
// the session is ready for queries.
func (c *conn) startup(ctx context.Context) (bool, error) {
	for {
		msg, err := c.be.ReceiveStartupMessage()
		if err != nil {
			c.fatal("08P01", "invalid startup packet: "+err.Error())
			return false, err
		}
		switch m := msg.(type) {
		case *pgproto3.SSLRequest:
			if err := c.startTLS(ctx); err != nil {
				return false, err
			}
		case *pgproto3.GSSEncRequest:
			// No GSSAPI: 'N' tells the client to go on (libpq then tries SSL or plain text).
			if _, err := c.nc.Write([]byte{'N'}); err != nil {
				return false, err
			}
		case *pgproto3.CancelRequest:
			c.s.cancel(m.ProcessID, m.SecretKey)
			return false, nil // the client expects the connection to close
		case *pgproto3.StartupMessage:
			return c.open(ctx, m.Parameters)
		default:
			c.fatal("08P01", fmt.Sprintf("unexpected startup message %T", m))
			return false, nil
		}
	}
}

// startTLS answers an SSLRequest: 'S' and a TLS handshake when the server has a certificate, else 'N'
// (libpq's sslmode=prefer goes on in plain text). After the handshake the session runs over TLS.
func (c *conn) startTLS(ctx context.Context) error {
	if c.s.opts.TLS == nil {
		_, err := c.nc.Write([]byte{'N'})
		return err
	}
	if _, err := c.nc.Write([]byte{'S'}); err != nil {
		return err
	}
	tc := tls.Server(c.nc, c.s.opts.TLS)
	hctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := tc.HandshakeContext(hctx); err != nil {
		return fmt.Errorf("TLS handshake: %w", err)
	}
	c.useConn(tc)
	return nil
}

// open checks the database (an environment), applies the startup parameters and greets the client.
func (c *conn) open(ctx context.Context, params map[string]string) (bool, error) {
	db := params["database"]
	if db == "" {
		db = params["user"] // PostgreSQL's default
	}
	if !c.authenticate(ctx, params["user"]) {
		return false, nil
	}
	if _, err := c.s.opts.Envs.Get(ctx, db); err != nil {
		msg := fmt.Sprintf("database %q does not exist: %v", db, err)
		var nf *envs.EnvNotFoundError
		if errors.As(err, &nf) {
			msg = c.unknownDatabase(db, nf.Known)
		}
		c.fatal("3D000", msg)
		return false, nil
	}
	if !c.mayConnect(db) {
		return false, nil
	}
	c.env = db
	c.vars["session_authorization"] = setting{"session_authorization", params["user"]}
	settings := startupOptions(params["options"])
	for k, v := range params {
		if k != "user" && k != "database" && k != "options" && k != "replication" {
			settings = append(settings, [2]string{k, v})
		}
	}
	for _, kv := range settings {
		if err := c.set(kv[0], kv[1]); err != nil && sqlState(err) != "42704" { // unknown startup options are ignored
			c.fatal(sqlState(err), err.Error())
			return false, nil
		}
	}
	c.be.Send(&pgproto3.AuthenticationOk{})
	for _, name := range reported {
		st := c.vars[strings.ToLower(name)]
		c.be.Send(&pgproto3.ParameterStatus{Name: st.name, Value: st.value})
	}
	c.pid, c.secret = uint32(c.s.nextID.Add(1)), make([]byte, 4)
	_, _ = rand.Read(c.secret)
	c.s.register(c.pid, c)
	c.be.Send(&pgproto3.BackendKeyData{ProcessID: c.pid, SecretKey: c.secret})
	c.be.Send(&pgproto3.ReadyForQuery{TxStatus: 'I'})
	c.greeted = true
	return true, c.be.Flush()
}

// startupOptions reads the startup packet's options ("-c TimeZone=UTC --DateStyle=ISO", as libpq's
// PGOPTIONS sends them; a backslash escapes a space) as name/value pairs.
func startupOptions(opts string) [][2]string {
	var words []string
	var cur strings.Builder
	for i := 0; i < len(opts); i++ {
		switch ch := opts[i]; {
		case ch == '\\' && i+1 < len(opts):
			i++
			cur.WriteByte(opts[i])
		case ch == ' ' || ch == '\t':
			if cur.Len() > 0 {
				words = append(words, cur.String())
				cur.Reset()
			}
		default:
			cur.WriteByte(ch)
		}
	}
	if cur.Len() > 0 {
		words = append(words, cur.String())
	}
	var out [][2]string
	for i := 0; i < len(words); i++ {
		w := words[i]
		switch {
		case w == "-c" && i+1 < len(words):
			i++
			w = words[i]
		case strings.HasPrefix(w, "--"):
			w = w[2:]
		case strings.HasPrefix(w, "-c"):
			w = w[2:]
		default:
			continue
		}
		if k, v, ok := strings.Cut(w, "="); ok {
			out = append(out, [2]string{strings.ReplaceAll(k, "-", "_"), v})
		}
	}
	return out
}

// loop reads and answers messages until Terminate, a read error or an oversized message.
func (c *conn) loop(ctx context.Context) error {
	for {
		msg, err := c.be.Receive()
		if err != nil {
			var tooBig *pgproto3.ExceededMaxBodyLenErr
			var netErr net.Error
			switch {
			case errors.As(err, &tooBig):
				c.fatal("54000", fmt.Sprintf("message of %d bytes is larger than the limit of %d bytes", tooBig.ActualBodyLen, tooBig.MaxExpectedBodyLen))
			case !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.As(err, &netErr):
				// a message pgproto3 cannot decode: say so, as PostgreSQL does, before closing
				c.fatal("08P01", fmt.Sprintf("invalid frontend message: %v", err))
			}
			return err
		}
		if err := c.handle(ctx, msg); err != nil {
			return err
		}
	}
}

var errTerminate = errors.New("client terminated the session")

// handle answers one message. Only errors of the connection itself are returned; SQL errors are sent.
func (c *conn) handle(ctx context.Context, msg pgproto3.FrontendMessage) error {
	switch m := msg.(type) {
	case *pgproto3.Query:
		defer c.rd.watch(c.leave)()
		return c.simpleQuery(ctx, m.String)
	case *pgproto3.Sync:
		c.failed = false
		if !c.inTx {
			c.closePortals()
		}
		c.ready()
		return c.be.Flush()
	case *pgproto3.Flush:
		return c.be.Flush()
	case *pgproto3.Terminate:
		return errTerminate
	case *pgproto3.Parse, *pgproto3.Bind, *pgproto3.Describe, *pgproto3.Execute, *pgproto3.Close:
		if c.failed {
			return nil
		}
		switch m.(type) {
		case *pgproto3.Execute, *pgproto3.Describe: // both may run the query
			defer c.rd.watch(c.leave)()
		}
		err := c.extended(ctx, m)
		if err != nil && !isConnErr(err) {
			c.failed = true
			c.sendError(err)
			return nil
		}
		return err
	}
	c.fatal("08P01", fmt.Sprintf("unsupported protocol message %T: this endpoint speaks the simple and extended query protocols", msg))
	return fmt.Errorf("unsupported message %T", msg)
}

// connErr marks a failure to write to the client: the connection is gone.
type connErr struct{ error }

func (e connErr) Unwrap() error { return e.error }

func isConnErr(err error) bool {
	var ce connErr
	return errors.As(err, &ce)
}

func (c *conn) sendError(err error) {
	if sqlState(err) == "XX000" {
		c.s.opts.Log.Error("sqlwire: query failed", "env", c.env, "err", err)
	}
	c.be.Send(errorResponse(err, "ERROR"))
}

func (c *conn) ready() {
	status := byte('I')
	if c.inTx {
		status = 'T'
	}
	c.be.Send(&pgproto3.ReadyForQuery{TxStatus: status})
}

// simpleQuery runs every statement of a Query message in order; the first error ends the message.
func (c *conn) simpleQuery(ctx context.Context, sql string) error {
	stmts := lakesql.Split(sql)
	if len(stmts) == 0 {
		c.be.Send(&pgproto3.EmptyQueryResponse{})
	}
	for _, st := range stmts {
		st, err := c.unqualify(ctx, st)
		var cur *cursor
		if err == nil {
			cur, err = c.run(ctx, st, nil, nil)
		}
		if err == nil {
			cur.describeRows(c)
			_, err = cur.send(c, 0)
			cur.close()
		}
		if isConnErr(err) {
			return err
		}
		if err != nil {
			c.sendError(err)
			break
		}
	}
	c.ready()
	return c.be.Flush()
}

// location is the session's TimeZone.
func (c *conn) location() *time.Location { return c.loc }

// closePortals closes the open portals at a transaction's end, but WITH HOLD cursors.
func (c *conn) closePortals() {
	for name, p := range c.portals {
		if !p.hold {
			p.close()
			delete(c.portals, name)
		}
	}
}

// closeAllPortals closes every portal, WITH HOLD cursors too (the session ends, DISCARD ALL).
func (c *conn) closeAllPortals() {
	for name, p := range c.portals {
		p.close()
		delete(c.portals, name)
	}
}
