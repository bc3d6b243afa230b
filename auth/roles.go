package auth

import (
	"context"
	"fmt"
	"sort"
	"strings"
)

// Role is what a user may do in one environment. Roles are ordered: each includes the one before.
type Role string

// The roles, weakest first.
const (
	// Viewer reads the environment's tables, releases and the tracking server.
	Viewer Role = "viewer"
	// Developer also writes dev-kind environments' tables and logs runs, models and artifacts.
	Developer Role = "developer"
	// Admin may do everything in the environment: write prod, publish and roll back releases.
	Admin Role = "admin"
)

// AllEnvs is the environment name of a grant that applies to every environment.
const AllEnvs = "*"

// Roles lists the roles, weakest first.
func Roles() []Role { return []Role{Viewer, Developer, Admin} }

func (r Role) rank() int {
	switch r {
	case Viewer:
		return 1
	case Developer:
		return 2
	case Admin:
		return 3
	}
	return 0
}

// ParseRole checks a role name.
func ParseRole(s string) (Role, error) {
	r := Role(strings.ToLower(strings.TrimSpace(s)))
	if r.rank() == 0 {
		return "", fmt.Errorf("role %q: use viewer, developer or admin: %w", s, ErrInvalid)
	}
	return r, nil
}

// Grant gives a user a role in one environment (or in every one: Env = AllEnvs).
type Grant struct {
	Env  string `json:"env"`
	Role Role   `json:"role"`
}

// Principal is who makes a request and what they may do. A nil *Principal is nobody: it may do nothing.
// Its methods are safe for concurrent use (a Principal never changes once built).
type Principal struct {
	// User is the authenticated user's name ("" when Trusted and the client named nobody).
	User string
	// Trusted marks a request that needs no credentials: no users exist and the client is on this machine.
	// It may do everything, as before Strata had users.
	Trusted bool
	grants  map[string]Role
}

// NewPrincipal builds the principal of user with its grants.
func NewPrincipal(user string, grants []Grant) *Principal {
	p := &Principal{User: user, grants: map[string]Role{}}
	for _, g := range grants {
		if g.Role.rank() > p.grants[g.Env].rank() {
			p.grants[g.Env] = g.Role
		}
	}
	return p
}

// TrustedPrincipal is the principal of a request that needs no credentials (see Principal.Trusted).
func TrustedPrincipal(user string) *Principal { return &Principal{User: user, Trusted: true} }

// Role is the user's role in env: the highest of its grant there and its grant for every environment; ""
// when it has none. A trusted principal is an admin everywhere.
func (p *Principal) Role(env string) Role {
	switch {
	case p == nil:
		return ""
	case p.Trusted:
		return Admin
	}
	r, all := p.grants[env], p.grants[AllEnvs]
	if all.rank() > r.rank() {
		return all
	}
	return r
}

// CanRead says whether the principal may read env (any role there).
func (p *Principal) CanRead(env string) bool { return p.Role(env) != "" }

// CanWrite says whether the principal may write env's tables: a developer in a dev-kind environment, an admin
// in any (prod says whether env is prod-kind).
func (p *Principal) CanWrite(env string, prod bool) bool {
	r := p.Role(env)
	return r == Admin || (r == Developer && !prod)
}

// CanPublish says whether the principal may publish or roll back env's releases (admins only).
func (p *Principal) CanPublish(env string) bool { return p.Role(env) == Admin }

// highest is the principal's highest role in any environment.
func (p *Principal) highest() Role {
	if p == nil {
		return ""
	}
	if p.Trusted {
		return Admin
	}
	var best Role
	for _, r := range p.grants {
		if r.rank() > best.rank() {
			best = r
		}
	}
	return best
}

// CanTrack says whether the principal may log runs, models and artifacts on the tracking server, which is
// shared by every environment: developer or admin somewhere.
func (p *Principal) CanTrack() bool { return p.highest().rank() >= Developer.rank() }

// CanSee says whether the principal may read what every environment shares (the tracking server, the API's
// description): any role somewhere.
func (p *Principal) CanSee() bool { return p.highest() != "" }

// Grants lists the principal's grants sorted by environment (nil for a trusted principal).
func (p *Principal) Grants() []Grant {
	if p == nil {
		return nil
	}
	out := make([]Grant, 0, len(p.grants))
	for env, r := range p.grants {
		out = append(out, Grant{Env: env, Role: r})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Env < out[j].Env })
	return out
}

// Actor is the name the audit log records for the principal's writes; fallback when it names nobody.
func (p *Principal) Actor(fallback string) string {
	if p == nil || p.User == "" {
		return fallback
	}
	return p.User
}

type ctxKey struct{}

// NewContext returns ctx carrying p.
func NewContext(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, ctxKey{}, p)
}

// FromContext returns the principal ctx carries, or nil.
func FromContext(ctx context.Context) *Principal {
	p, _ := ctx.Value(ctxKey{}).(*Principal)
	return p
}

// ActorFrom is the audit actor of the request ctx belongs to: the authenticated user, else fallback.
func ActorFrom(ctx context.Context, fallback string) string { return FromContext(ctx).Actor(fallback) }
