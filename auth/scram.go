package auth

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
)

// SCRAM-SHA-256 (RFC 5802, RFC 7677) as PostgreSQL speaks it: the server keeps a verifier (salt, iteration
// count, StoredKey, ServerKey), never the password; the client proves it knows the password without sending
// it, and the server proves it knows the verifier. No channel binding (the endpoint has no TLS yet).

// Mechanism is the SASL mechanism name offered to clients.
const Mechanism = "SCRAM-SHA-256"

// MinIterations is the least PBKDF2 iteration count a verifier may use (RFC 7677's minimum).
const MinIterations = 4096

// Verifier is a password's SCRAM-SHA-256 verifier.
type Verifier struct {
	Salt       []byte
	Iterations int
	StoredKey  []byte
	ServerKey  []byte
}

// NewVerifier derives a verifier for password with a fresh random salt.
func NewVerifier(password string, iterations int) (Verifier, error) {
	if iterations < MinIterations {
		iterations = MinIterations
	}
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return Verifier{}, err
	}
	return deriveVerifier(password, salt, iterations)
}

func deriveVerifier(password string, salt []byte, iterations int) (Verifier, error) {
	salted, err := pbkdf2.Key(sha256.New, password, salt, iterations, sha256.Size)
	if err != nil {
		return Verifier{}, fmt.Errorf("derive the password verifier: %w", err)
	}
	clientKey := mac(salted, "Client Key")
	stored := sha256.Sum256(clientKey)
	return Verifier{Salt: salt, Iterations: iterations, StoredKey: stored[:], ServerKey: mac(salted, "Server Key")}, nil
}

// Check says whether password is the one v was derived from (HTTP basic auth); constant time in the keys.
func (v Verifier) Check(password string) bool {
	got, err := deriveVerifier(password, v.Salt, v.Iterations)
	return err == nil && subtle.ConstantTimeCompare(got.StoredKey, v.StoredKey) == 1
}

// String is the verifier in PostgreSQL's pg_authid format: SCRAM-SHA-256$iter:salt$StoredKey:ServerKey.
func (v Verifier) String() string {
	b := base64.StdEncoding.EncodeToString
	return fmt.Sprintf("%s$%d:%s$%s:%s", Mechanism, v.Iterations, b(v.Salt), b(v.StoredKey), b(v.ServerKey))
}

// ParseVerifier reads a verifier written by String.
func ParseVerifier(s string) (Verifier, error) {
	bad := fmt.Errorf("stored password verifier is malformed (set the password again with strata user passwd): %w", ErrInvalid)
	mech, rest, ok := strings.Cut(s, "$")
	iterSalt, keys, ok2 := strings.Cut(rest, "$")
	iter, salt, ok3 := strings.Cut(iterSalt, ":")
	stored, server, ok4 := strings.Cut(keys, ":")
	if !ok || !ok2 || !ok3 || !ok4 || mech != Mechanism {
		return Verifier{}, bad
	}
	var v Verifier
	var err error
	if v.Iterations, err = strconv.Atoi(iter); err != nil || v.Iterations < 1 {
		return Verifier{}, bad
	}
	for _, f := range []struct {
		in  string
		out *[]byte
	}{{salt, &v.Salt}, {stored, &v.StoredKey}, {server, &v.ServerKey}} {
		if *f.out, err = base64.StdEncoding.DecodeString(f.in); err != nil {
			return Verifier{}, bad
		}
	}
	if len(v.StoredKey) != sha256.Size || len(v.ServerKey) != sha256.Size {
		return Verifier{}, bad
	}
	return v, nil
}

func mac(key []byte, msg string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(msg))
	return h.Sum(nil)
}

// Exchange is the server's side of one SCRAM-SHA-256 authentication: First answers the client-first-message,
// Final checks the client-final-message. It is used by one connection's goroutine.
type Exchange struct {
	v           Verifier
	known       bool // false: v is a decoy for an unknown user, Final always fails the same way
	nonce       string
	clientFirst string // client-first-message-bare
	serverFirst string
}

// First parses the client-first-message and returns the server-first-message.
func (x *Exchange) First(msg []byte) ([]byte, error) {
	s := string(msg)
	_, bare, err := splitGS2(s)
	if err != nil {
		return nil, err
	}
	attrs := strings.Split(bare, ",")
	if strings.HasPrefix(bare, "m=") {
		return nil, fmt.Errorf("SCRAM extensions are not supported: %w", ErrInvalid)
	}
	if len(attrs) < 2 || !strings.HasPrefix(attrs[0], "n=") || !strings.HasPrefix(attrs[1], "r=") || len(attrs[1]) < 3 {
		return nil, fmt.Errorf("malformed SCRAM client-first-message: want n=...,r=...: %w", ErrInvalid)
	}
	snonce := make([]byte, 18)
	if _, err := rand.Read(snonce); err != nil {
		return nil, err
	}
	x.clientFirst = bare
	x.nonce = attrs[1][2:] + base64.StdEncoding.EncodeToString(snonce)
	x.serverFirst = fmt.Sprintf("r=%s,s=%s,i=%d", x.nonce, base64.StdEncoding.EncodeToString(x.v.Salt), x.v.Iterations)
	return []byte(x.serverFirst), nil
}

// splitGS2 splits "n,,n=user,r=nonce" into the GS2 header ("n,,") and the bare message. Channel binding
// ("p=...") is refused: no mechanism with -PLUS is offered.
func splitGS2(s string) (string, string, error) {
	parts := strings.SplitN(s, ",", 3)
	if len(parts) != 3 {
		return "", "", fmt.Errorf("malformed SCRAM client-first-message: %w", ErrInvalid)
	}
	switch {
	case parts[0] == "n", parts[0] == "y":
	case strings.HasPrefix(parts[0], "p="):
		return "", "", fmt.Errorf("SCRAM channel binding is not supported by this server (no TLS): %w", ErrInvalid)
	default:
		return "", "", fmt.Errorf("malformed SCRAM GS2 header %q: %w", parts[0], ErrInvalid)
	}
	return parts[0] + "," + parts[1] + ",", parts[2], nil
}

// Final checks the client-final-message; it returns the server-final-message on success and ErrAuthFailed
// for a wrong password or an unknown user alike.
func (x *Exchange) Final(msg []byte) ([]byte, error) {
	s := string(msg)
	i := strings.LastIndex(s, ",p=")
	if x.serverFirst == "" || i < 0 {
		return nil, fmt.Errorf("malformed SCRAM client-final-message: %w", ErrInvalid)
	}
	withoutProof, proofB64 := s[:i], s[i+3:]
	attrs := strings.Split(withoutProof, ",")
	if len(attrs) < 2 || !strings.HasPrefix(attrs[0], "c=") || attrs[1] != "r="+x.nonce {
		return nil, fmt.Errorf("malformed SCRAM client-final-message (channel binding or nonce): %w", ErrInvalid)
	}
	if cb, err := base64.StdEncoding.DecodeString(attrs[0][2:]); err != nil || (string(cb) != "n,," && string(cb) != "y,,") {
		return nil, fmt.Errorf("SCRAM channel binding data is not supported: %w", ErrInvalid)
	}
	proof, err := base64.StdEncoding.DecodeString(proofB64)
	if err != nil || len(proof) != sha256.Size {
		return nil, fmt.Errorf("malformed SCRAM proof: %w", ErrInvalid)
	}
	authMsg := x.clientFirst + "," + x.serverFirst + "," + withoutProof
	sig := mac(x.v.StoredKey, authMsg)
	clientKey := make([]byte, len(proof))
	for j := range proof {
		clientKey[j] = proof[j] ^ sig[j]
	}
	got := sha256.Sum256(clientKey)
	if subtle.ConstantTimeCompare(got[:], x.v.StoredKey) != 1 || !x.known {
		return nil, ErrAuthFailed
	}
	return []byte("v=" + base64.StdEncoding.EncodeToString(mac(x.v.ServerKey, authMsg))), nil
}
