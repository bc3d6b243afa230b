package sqlwire

import (
	"context"
	"crypto/subtle"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"

	"github.com/strata-data/strata/auth"
	"github.com/strata-data/strata/engine"
	"github.com/strata-data/strata/envs"
)

// Options configure a Server.
type Options struct {
	Envs   *envs.Service  // resolves environments and the tables a query names; required
	Engine *engine.Engine // runs the SQL; required. Open it without ExternalAccess (as strata serve does): its sandbox keeps SQL from reading files
	Auth   *auth.Service  // users and their roles (auth.go); nil = trust every client, as with no users on loopback
	Log    *slog.Logger   // nil = slog.Default()
	// MaxMessage caps a client message's size in bytes; larger ones end the connection. 0 = 16 MiB.
	MaxMessage int
	// Version is reported as server_version's Strata part; "" = "Strata".
	Version string
	// TLS, when set, answers a client's SSLRequest with 'S' and a TLS handshake; nil answers 'N' (the
	// client goes on in plain text or, with sslmode=require, gives up).
	TLS *tls.Config
	// Datasets lists the training-set datasets strata.datasets shows; nil = none.
	Datasets DatasetLister
	// Features and JobRuns list what strata.features and strata.job_runs show; nil = none (catalog_platform.go).
	Features FeatureLister
	JobRuns  JobRunLister

	afterBind      func(sql string)  // tests: called after a statement bound its tables, before it runs
	onCatalogBuild func(pooled bool) // tests: called when a catalog statement's script is built (pooled: the long-lived database's)
	onCatalogRekey func()            // tests: called when a pooled catalog database was updated to a new key (catalog_rekey.go)
}

// Server answers PostgreSQL clients. It is safe for concurrent use; each connection is served by its own
// goroutine and shares nothing with the others but the engine and envs.
type Server struct {
	opts   Options
	nextID atomic.Int32

	mu       sync.Mutex
	conns    map[net.Conn]struct{}
	sessions map[uint32]*conn // by BackendKeyData process id, for CancelRequest

	catalog catalogCache  // table columns for the emulated pg_catalog (catalog_env.go)
	builds  catalogBuilds // the last pooled catalog database of each family, to update after a write (catalog_rekey.go)

	envNameCache envNameCache // the environments' names, for database-qualified names (qualified.go)
}

// New checks the options and returns a Server.
func New(opts Options) (*Server, error) {
	if opts.Envs == nil || opts.Engine == nil {
		return nil, fmt.Errorf("sqlwire: Envs and Engine are required: %w", ErrInvalid)
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	if opts.MaxMessage <= 0 {
		opts.MaxMessage = 16 << 20
	}
	if opts.Version == "" {
		opts.Version = "Strata"
	}
	return &Server{opts: opts, conns: map[net.Conn]struct{}{}, sessions: map[uint32]*conn{}}, nil
}

// Serve accepts connections on ln until ctx ends, then closes ln and every open connection (their queries
// are cancelled) and returns once all of them have finished. It returns nil after ctx ended.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	go func() {
		<-ctx.Done()
		_ = ln.Close()
		s.closeAll()
	}()
	defer wg.Wait()
	for {
		nc, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			return fmt.Errorf("sqlwire: accept: %w", err)
		}
		if !s.track(nc) {
			_ = nc.Close()
			return nil
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer s.untrack(nc)
			c := newConn(s, nc)
			c.localOnly = isLoopback(ln.Addr())
			c.serve(ctx)
		}()
	}
}

func (s *Server) track(nc net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conns == nil {
		return false
	}
	s.conns[nc] = struct{}{}
	return true
}

func (s *Server) untrack(nc net.Conn) {
	s.mu.Lock()
	delete(s.conns, nc)
	s.mu.Unlock()
	_ = nc.Close()
}

func (s *Server) closeAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for nc := range s.conns {
		_ = nc.Close()
	}
	s.conns = nil
}

func (s *Server) register(pid uint32, c *conn) {
	s.mu.Lock()
	s.sessions[pid] = c
	s.mu.Unlock()
}

func (s *Server) unregister(pid uint32) {
	s.mu.Lock()
	delete(s.sessions, pid)
	s.mu.Unlock()
}

// cancel interrupts the running statement of the session with pid if the secret matches (CancelRequest);
// a wrong secret is ignored, as PostgreSQL does.
func (s *Server) cancel(pid uint32, secret []byte) {
	s.mu.Lock()
	c := s.sessions[pid]
	s.mu.Unlock()
	if c != nil && subtle.ConstantTimeCompare(c.secret, secret) == 1 {
		c.interrupt()
	}
}
