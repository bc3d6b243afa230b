package auth

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"sync"
	"time"

	"github.com/strata-data/strata/errs"
	"github.com/strata-data/strata/meta"
)

// Sentinel errors; match them with errors.Is.
var (
	// ErrInvalid: a bad name, role, password, duration or protocol message.
	ErrInvalid = errs.New(errs.Invalid, "invalid")
	// ErrNotFound: no such user, grant or token.
	ErrNotFound = errs.New(errs.NotFound, "not found")
	// ErrExists: the user exists already.
	ErrExists = errs.New(errs.Exists, "already exists")
	// ErrAuthFailed: wrong credentials, an unknown user, or an expired or revoked token — the same error for
	// all, so a client cannot learn which users exist.
	ErrAuthFailed = errs.New(errs.Forbidden, "authentication failed")
)

// Options tune a Service.
type Options struct {
	// Iterations is the PBKDF2 iteration count of new password verifiers; below MinIterations means MinIterations.
	Iterations int
	// CacheTTL is how long a verified credential, a principal's roles and "are there users?" are reused without
	// reading the database; 0 = 2s, negative = no cache.
	CacheTTL time.Duration
	// Now is the clock (tests); nil = time.Now.
	Now func() time.Time
}

// Service stores users, grants and tokens in the metadata database and authenticates requests. It is safe for
// concurrent use.
type Service struct {
	db    *meta.DB
	opts  Options
	decoy []byte // keys the decoy salt of unknown users: the same name always gets the same salt

	mu       sync.Mutex
	verified map[[32]byte]cached // by SHA-256 of the credential (token, or user + password)
	hasUsers cachedBool
}

type cached struct {
	p     *Principal
	until time.Time
}

type cachedBool struct {
	v     bool
	until time.Time
}

// New returns a Service over db (migrated by meta.Open).
func New(db *meta.DB, opts Options) *Service {
	if opts.CacheTTL == 0 {
		opts.CacheTTL = 2 * time.Second
	}
	if opts.Iterations < MinIterations {
		opts.Iterations = MinIterations
	}
	decoy := make([]byte, 32)
	_, _ = rand.Read(decoy)
	return &Service{db: db, opts: opts, decoy: decoy, verified: map[[32]byte]cached{}}
}

func (s *Service) now() time.Time {
	if s.opts.Now != nil {
		return s.opts.Now()
	}
	return time.Now()
}

// forget drops every cached answer: the users, grants or tokens just changed.
func (s *Service) forget() {
	s.mu.Lock()
	s.verified = map[[32]byte]cached{}
	s.hasUsers = cachedBool{}
	s.mu.Unlock()
}

// HasUsers says whether any user exists. Without users, clients on this machine need no credentials.
func (s *Service) HasUsers(ctx context.Context) (bool, error) {
	now := s.now()
	s.mu.Lock()
	c := s.hasUsers
	s.mu.Unlock()
	if now.Before(c.until) {
		return c.v, nil
	}
	var n int
	if err := s.db.SQL.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT 1 FROM strata_users LIMIT 1) u`).Scan(&n); err != nil {
		return false, fmt.Errorf("read the users: %w", err)
	}
	s.mu.Lock()
	s.hasUsers = cachedBool{v: n > 0, until: now.Add(s.opts.CacheTTL)}
	s.mu.Unlock()
	return n > 0, nil
}

// Principal loads user name's grants (ErrAuthFailed when the user does not exist).
func (s *Service) Principal(ctx context.Context, name string) (*Principal, error) {
	g, err := grants(ctx, s.db.SQL, name)
	if err != nil {
		return nil, err
	}
	var n int
	if err := s.db.SQL.QueryRowContext(ctx, `SELECT count(*) FROM strata_users WHERE name = $1`, name).Scan(&n); err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, ErrAuthFailed
	}
	return NewPrincipal(name, g), nil
}

// remember caches p under a credential's key; lookup finds it until the TTL passes.
func (s *Service) remember(key [32]byte, p *Principal) {
	if s.opts.CacheTTL < 0 {
		return
	}
	s.mu.Lock()
	if len(s.verified) > 10000 { // bound the memory a flood of distinct valid credentials could take
		s.verified = map[[32]byte]cached{}
	}
	s.verified[key] = cached{p: p, until: s.now().Add(s.opts.CacheTTL)}
	s.mu.Unlock()
}

func (s *Service) lookup(key [32]byte) *Principal {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.verified[key]
	if !ok || !s.now().Before(c.until) {
		return nil
	}
	return c.p
}

// CheckPassword authenticates user name by its password (HTTP basic auth); ErrAuthFailed when the user does
// not exist or the password is wrong. A decoy derivation runs for unknown users so both take as long.
func (s *Service) CheckPassword(ctx context.Context, name, password string) (*Principal, error) {
	key := sha256.Sum256([]byte("password\x00" + name + "\x00" + password))
	if p := s.lookup(key); p != nil {
		return p, nil
	}
	v, ok, err := s.verifier(ctx, name)
	if err != nil {
		return nil, err
	}
	if !ok {
		v = s.decoyVerifier(name)
	}
	if !v.Check(password) || !ok {
		return nil, ErrAuthFailed
	}
	p, err := s.Principal(ctx, name)
	if err != nil {
		return nil, err
	}
	s.remember(key, p)
	return p, nil
}

// decoyVerifier is what an unknown user's exchange runs against: a salt derived from the name (stable, as a
// real user's is) and keys no password matches.
func (s *Service) decoyVerifier(name string) Verifier {
	h := hmac.New(sha256.New, s.decoy)
	h.Write([]byte(name))
	sum := h.Sum(nil)
	return Verifier{Salt: sum[:16], Iterations: s.opts.Iterations, StoredKey: mac(sum, "stored"), ServerKey: mac(sum, "server")}
}

// StartSCRAM begins a SCRAM-SHA-256 exchange for user name. An unknown user gets an exchange that fails at
// the end exactly as a wrong password does.
func (s *Service) StartSCRAM(ctx context.Context, name string) (*Exchange, error) {
	v, ok, err := s.verifier(ctx, name)
	if err != nil {
		return nil, err
	}
	if !ok {
		v = s.decoyVerifier(name)
	}
	return &Exchange{v: v, known: ok}, nil
}
