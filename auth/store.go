package auth

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"time"
)

// User is a stored user (its password verifier stays inside the package).
type User struct {
	Name            string    `json:"name"`
	Grants          []Grant   `json:"grants"`
	Created         time.Time `json:"created"`
	PasswordChanged time.Time `json:"password_changed"`
}

var userNameRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.@-]{0,62}$`)

// CheckUserName reports whether name can be a user name (what a PostgreSQL client may send as its user).
func CheckUserName(name string) error {
	if !userNameRe.MatchString(name) {
		return fmt.Errorf("user name %q: use 1-63 letters, digits, _ . @ - starting with a letter or _: %w", name, ErrInvalid)
	}
	return nil
}

// CheckPassword refuses passwords too short to protect anything.
func CheckPassword(password string) error {
	if len(password) < 8 {
		return fmt.Errorf("the password must have at least 8 characters: %w", ErrInvalid)
	}
	return nil
}

func checkGrant(g Grant) error {
	if _, err := ParseRole(string(g.Role)); err != nil {
		return err
	}
	if g.Env == "" {
		return fmt.Errorf("a grant needs an environment (or * for every one): %w", ErrInvalid)
	}
	return nil
}

// AddUser creates user name with a password and its grants (at least one).
func (s *Service) AddUser(ctx context.Context, name, password string, grants []Grant) error {
	if err := CheckUserName(name); err != nil {
		return err
	}
	if err := CheckPassword(password); err != nil {
		return err
	}
	if len(grants) == 0 {
		return fmt.Errorf("user %q needs a role in at least one environment: %w", name, ErrInvalid)
	}
	for _, g := range grants {
		if err := checkGrant(g); err != nil {
			return err
		}
	}
	v, err := NewVerifier(password, s.opts.Iterations)
	if err != nil {
		return err
	}
	now := s.now().UnixMilli()
	defer s.forget()
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM strata_users WHERE name = $1`, name).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("user %q: %w (change its password with strata user passwd, its roles with strata user grant)", name, ErrExists)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO strata_users (name, verifier, created_ms, changed_ms) VALUES ($1, $2, $3, $3)`,
			name, v.String(), now); err != nil {
			return err
		}
		for _, g := range grants {
			if err := upsertGrant(ctx, tx, name, g); err != nil {
				return err
			}
		}
		return nil
	})
}

func upsertGrant(ctx context.Context, tx *sql.Tx, name string, g Grant) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO strata_grants (user_name, env, role) VALUES ($1, $2, $3)
		ON CONFLICT (user_name, env) DO UPDATE SET role = excluded.role`, name, g.Env, string(g.Role))
	return err
}

// SetPassword replaces user name's password. Its tokens stay valid (revoke them with RevokeToken).
func (s *Service) SetPassword(ctx context.Context, name, password string) error {
	if err := CheckPassword(password); err != nil {
		return err
	}
	v, err := NewVerifier(password, s.opts.Iterations)
	if err != nil {
		return err
	}
	defer s.forget()
	res, err := s.db.SQL.ExecContext(ctx, `UPDATE strata_users SET verifier = $1, changed_ms = $2 WHERE name = $3`,
		v.String(), s.now().UnixMilli(), name)
	return mustChange(res, err, name)
}

func mustChange(res sql.Result, err error, name string) error {
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return fmt.Errorf("user %q: %w (strata user list shows the users)", name, ErrNotFound)
	}
	return nil
}

// RemoveUser deletes user name, its grants and its tokens.
func (s *Service) RemoveUser(ctx context.Context, name string) error {
	defer s.forget()
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		for _, q := range []string{`DELETE FROM strata_tokens WHERE user_name = $1`, `DELETE FROM strata_grants WHERE user_name = $1`} {
			if _, err := tx.ExecContext(ctx, q, name); err != nil {
				return err
			}
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM strata_users WHERE name = $1`, name)
		return mustChange(res, err, name)
	})
}

// Grant gives user name role g.Role in g.Env, replacing the role it had there.
func (s *Service) Grant(ctx context.Context, name string, g Grant) error {
	if err := checkGrant(g); err != nil {
		return err
	}
	defer s.forget()
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := s.userTx(ctx, tx, name); err != nil {
			return err
		}
		return upsertGrant(ctx, tx, name, g)
	})
}

// Revoke removes user name's role in env. When role is not "", the user must hold exactly that role there.
func (s *Service) Revoke(ctx context.Context, name, env string, role Role) error {
	defer s.forget()
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		u, err := s.userTx(ctx, tx, name)
		if err != nil {
			return err
		}
		for _, g := range u.Grants {
			if g.Env != env {
				continue
			}
			if role != "" && g.Role != role {
				return fmt.Errorf("user %q is %s in %q, not %s: %w", name, g.Role, env, role, ErrNotFound)
			}
			_, err := tx.ExecContext(ctx, `DELETE FROM strata_grants WHERE user_name = $1 AND env = $2`, name, env)
			return err
		}
		return fmt.Errorf("user %q has no role in %q: %w", name, env, ErrNotFound)
	})
}

// Users lists the users by name, with their grants.
func (s *Service) Users(ctx context.Context) ([]User, error) {
	rows, err := s.db.SQL.QueryContext(ctx, `SELECT name, created_ms, changed_ms FROM strata_users ORDER BY name`)
	if err != nil {
		return nil, err
	}
	var out []User
	for rows.Next() {
		var u User
		var created, changed int64
		if err := rows.Scan(&u.Name, &created, &changed); err != nil {
			_ = rows.Close()
			return nil, err
		}
		u.Created, u.PasswordChanged = time.UnixMilli(created).UTC(), time.UnixMilli(changed).UTC()
		out = append(out, u)
	}
	if err := rows.Close(); err != nil {
		return nil, err
	}
	for i := range out {
		if out[i].Grants, err = grants(ctx, s.db.SQL, out[i].Name); err != nil {
			return nil, err
		}
	}
	return out, rows.Err()
}

// User returns one user.
func (s *Service) User(ctx context.Context, name string) (User, error) {
	var u User
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		u, err = s.userTx(ctx, tx, name)
		return err
	})
	return u, err
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func (s *Service) userTx(ctx context.Context, q querier, name string) (User, error) {
	u := User{Name: name}
	var created, changed int64
	err := q.QueryRowContext(ctx, `SELECT created_ms, changed_ms FROM strata_users WHERE name = $1`, name).Scan(&created, &changed)
	if errors.Is(err, sql.ErrNoRows) {
		return u, fmt.Errorf("user %q: %w (strata user list shows the users)", name, ErrNotFound)
	}
	if err != nil {
		return u, err
	}
	u.Created, u.PasswordChanged = time.UnixMilli(created).UTC(), time.UnixMilli(changed).UTC()
	u.Grants, err = grants(ctx, q, name)
	return u, err
}

func grants(ctx context.Context, q querier, name string) ([]Grant, error) {
	rows, err := q.QueryContext(ctx, `SELECT env, role FROM strata_grants WHERE user_name = $1 ORDER BY env`, name)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	out := []Grant{}
	for rows.Next() {
		var g Grant
		if err := rows.Scan(&g.Env, &g.Role); err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	return out, rows.Err()
}

// verifier loads user name's verifier; ok is false when there is no such user.
func (s *Service) verifier(ctx context.Context, name string) (v Verifier, ok bool, err error) {
	var text string
	err = s.db.SQL.QueryRowContext(ctx, `SELECT verifier FROM strata_users WHERE name = $1`, name).Scan(&text)
	if errors.Is(err, sql.ErrNoRows) {
		return v, false, nil
	}
	if err != nil {
		return v, false, err
	}
	v, err = ParseVerifier(text)
	return v, err == nil, err
}
