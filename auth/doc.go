// Package auth holds Strata's users, their roles per environment, and API tokens, and authenticates the
// requests of both network endpoints: PostgreSQL clients by SCRAM-SHA-256 (package sqlwire), HTTP clients by a
// bearer token or basic user:password (package server).
//
// A user has a role per environment (viewer, developer, admin; Grant, or "*" for every environment). A
// password is kept only as its SCRAM-SHA-256 verifier (RFC 5802/7677, PostgreSQL's pg_authid format), a token
// only as the SHA-256 of its secret, and the secret is shown once. A request is a Principal: who, and what
// it may do where (Principal.CanRead, CanWrite, CanPublish, CanTrack); protocols carry it in the context
// (NewContext, FromContext) so writes record the authenticated user as their audit actor.
//
// Without users, a client on this machine needs no credentials (TrustedPrincipal): a laptop needs no setup.
// Verified credentials are cached for Options.CacheTTL, so a check costs a map lookup, not a key derivation;
// a removed user, a changed password or a revoked token is refused in this process at once, and in other
// processes (`strata serve` while the CLI changes users) after at most CacheTTL.
package auth
