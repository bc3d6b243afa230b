package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Token is a stored API token (never its secret).
type Token struct {
	ID      string     `json:"id"`
	User    string     `json:"user"`
	Name    string     `json:"name"`
	Created time.Time  `json:"created"`
	Expires *time.Time `json:"expires"` // nil = never
}

// tokenPrefix starts every token, so secret scanners and people recognise one.
const tokenPrefix = "strata_"

// ParseTTL reads a token lifetime: a Go duration ("12h", "90m"), a number of days ("30d"), or "never" (0).
func ParseTTL(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "never" || s == "0" {
		return 0, nil
	}
	if d, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(d)
		if err == nil && n > 0 {
			return time.Duration(n) * 24 * time.Hour, nil
		}
	} else if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return d, nil
	}
	return 0, fmt.Errorf("expiry %q: give a duration such as 30d, 12h or 90m, or never: %w", s, ErrInvalid)
}

// CreateToken makes a token for user, valid for ttl (0 = no expiry), and returns it: the only time its
// secret is shown. Only its SHA-256 is stored.
func (s *Service) CreateToken(ctx context.Context, user, name string, ttl time.Duration) (string, Token, error) {
	if name == "" {
		name = "token"
	}
	idb, secret := make([]byte, 6), make([]byte, 24)
	if _, err := rand.Read(idb); err != nil {
		return "", Token{}, err
	}
	if _, err := rand.Read(secret); err != nil {
		return "", Token{}, err
	}
	now := s.now()
	t := Token{ID: hex.EncodeToString(idb), User: user, Name: name, Created: now.UTC().Truncate(time.Millisecond)}
	var expires int64
	if ttl > 0 {
		e := now.Add(ttl).UTC().Truncate(time.Millisecond)
		t.Expires, expires = &e, e.UnixMilli()
	}
	sum := sha256.Sum256(secret)
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := s.userTx(ctx, tx, user); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO strata_tokens (id, user_name, name, secret_hash, created_ms, expires_ms)
			VALUES ($1, $2, $3, $4, $5, $6)`, t.ID, user, name, hex.EncodeToString(sum[:]), now.UnixMilli(), expires)
		return err
	})
	if err != nil {
		return "", Token{}, err
	}
	return tokenPrefix + t.ID + "_" + hex.EncodeToString(secret), t, nil
}

// Tokens lists the tokens of user ("" = every user's), oldest first.
func (s *Service) Tokens(ctx context.Context, user string) ([]Token, error) {
	rows, err := s.db.SQL.QueryContext(ctx, `SELECT id, user_name, name, created_ms, expires_ms FROM strata_tokens
		WHERE $1 = '' OR user_name = $1 ORDER BY created_ms, id`, user)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	out := []Token{}
	for rows.Next() {
		var t Token
		var created, expires int64
		if err := rows.Scan(&t.ID, &t.User, &t.Name, &created, &expires); err != nil {
			return nil, err
		}
		t.Created = time.UnixMilli(created).UTC()
		if expires > 0 {
			e := time.UnixMilli(expires).UTC()
			t.Expires = &e
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// RevokeToken deletes the token with id; it stops working at once in this process and within CacheTTL in others.
func (s *Service) RevokeToken(ctx context.Context, id string) error {
	defer s.forget()
	res, err := s.db.SQL.ExecContext(ctx, `DELETE FROM strata_tokens WHERE id = $1`, id)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return fmt.Errorf("token %q: %w (strata token list shows the tokens)", id, ErrNotFound)
	}
	return nil
}

// CheckToken authenticates a bearer token; ErrAuthFailed for a malformed, unknown, expired or revoked one.
// The secret's hash is compared in constant time, and a verified token is cached for CacheTTL.
func (s *Service) CheckToken(ctx context.Context, token string) (*Principal, error) {
	key := sha256.Sum256([]byte("token\x00" + token))
	if p := s.lookup(key); p != nil {
		return p, nil
	}
	id, secretHex, ok := strings.Cut(strings.TrimPrefix(token, tokenPrefix), "_")
	secret, err := hex.DecodeString(secretHex)
	if !ok || !strings.HasPrefix(token, tokenPrefix) || err != nil {
		return nil, ErrAuthFailed
	}
	var user, stored string
	var expires int64
	err = s.db.SQL.QueryRowContext(ctx, `SELECT user_name, secret_hash, expires_ms FROM strata_tokens WHERE id = $1`, id).
		Scan(&user, &stored, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrAuthFailed
	}
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(secret)
	want, _ := hex.DecodeString(stored)
	if subtle.ConstantTimeCompare(sum[:], want) != 1 || (expires > 0 && s.now().UnixMilli() >= expires) {
		return nil, ErrAuthFailed
	}
	p, err := s.Principal(ctx, user)
	if err != nil {
		return nil, err
	}
	if expires > 0 {
		// The cache must not outlive the token.
		if left := time.UnixMilli(expires).Sub(s.now()); left < s.opts.CacheTTL {
			return p, nil
		}
	}
	s.remember(key, p)
	return p, nil
}
