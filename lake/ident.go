package lake

import (
	"fmt"
	"strings"
)

// maxNameLen bounds environment, zone and table names.
const maxNameLen = 128

// Ident names a table inside an environment: zone and table name.
type Ident struct {
	Zone string
	Name string
}

// ParseIdent parses "zone.name". Both parts must be valid names (see Validate).
func ParseIdent(s string) (Ident, error) {
	zone, name, ok := strings.Cut(s, ".")
	if !ok {
		return Ident{}, fmt.Errorf("%w: table %q must be written zone.name (e.g. clean.orders)", ErrInvalid, s)
	}
	id := Ident{Zone: zone, Name: name}
	if err := id.Validate(); err != nil {
		return Ident{}, err
	}
	return id, nil
}

// String returns "zone.name".
func (id Ident) String() string { return id.Zone + "." + id.Name }

// Validate checks both parts: lower-case letters, digits and underscores, not starting with a digit, at most
// 128 characters.
func (id Ident) Validate() error {
	if err := validateName("zone", id.Zone); err != nil {
		return err
	}
	return validateName("table name", id.Name)
}

// ValidateEnv checks an environment name (same rule as zones and tables).
func ValidateEnv(env string) error { return validateName("environment", env) }

func validateName(what, s string) error {
	switch {
	case s == "":
		return fmt.Errorf("%w: %s is empty", ErrInvalid, what)
	case len(s) > maxNameLen:
		return fmt.Errorf("%w: %s %q is %d characters long; the limit is %d", ErrInvalid, what, s, len(s), maxNameLen)
	case s[0] >= '0' && s[0] <= '9':
		return fmt.Errorf("%w: %s %q starts with a digit; use [a-z_][a-z0-9_]*", ErrInvalid, what, s)
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return fmt.Errorf("%w: %s %q contains %q; use lower-case letters, digits and underscores ([a-z_][a-z0-9_]*)",
				ErrInvalid, what, s, string(c))
		}
	}
	return nil
}

// MarshalText renders the identifier as "zone.name" (so JSON shows "raw.orders").
func (id Ident) MarshalText() ([]byte, error) { return []byte(id.String()), nil }

// UnmarshalText parses "zone.name".
func (id *Ident) UnmarshalText(b []byte) error {
	v, err := ParseIdent(string(b))
	if err != nil {
		return err
	}
	*id = v
	return nil
}
