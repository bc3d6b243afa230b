package auth

import (
	"encoding/base64"
	"testing"

	"github.com/stretchr/testify/require"
)

// rfc7677 is the SCRAM-SHA-256 example exchange of RFC 7677 §3 (user "user", password "pencil").
var rfc7677 = struct {
	clientFirst, serverFirst, clientFinal, serverFinal, salt, snonce string
}{
	clientFirst: "n,,n=user,r=rOprNGfwEbeRWgbNEkqO",
	serverFirst: "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
	clientFinal: "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
	serverFinal: "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=",
	salt:        "W22ZaJ0SNY7soEsUEjb6gQ==",
}

// exchangeWithRFCNonce runs First, then replaces the random server nonce with the RFC's so its proof applies.
func exchangeWithRFCNonce(t *testing.T, v Verifier, known bool) *Exchange {
	t.Helper()
	x := &Exchange{v: v, known: known}
	_, err := x.First([]byte(rfc7677.clientFirst))
	require.NoError(t, err)
	x.nonce = "rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
	x.serverFirst = rfc7677.serverFirst
	return x
}

func TestSCRAMMatchesRFC7677(t *testing.T) {
	salt, _ := base64.StdEncoding.DecodeString(rfc7677.salt)
	v, err := deriveVerifier("pencil", salt, 4096)
	require.NoError(t, err)
	final, err := exchangeWithRFCNonce(t, v, true).Final([]byte(rfc7677.clientFinal))
	require.NoError(t, err)
	require.Equal(t, rfc7677.serverFinal, string(final))

	// The verifier survives its stored form, and Check knows the password.
	back, err := ParseVerifier(v.String())
	require.NoError(t, err)
	require.Equal(t, v, back)
	require.True(t, v.Check("pencil"))
	require.False(t, v.Check("pencil "))

	wrong, err := deriveVerifier("crayon", salt, 4096)
	require.NoError(t, err)
	_, err = exchangeWithRFCNonce(t, wrong, true).Final([]byte(rfc7677.clientFinal))
	require.ErrorIs(t, err, ErrAuthFailed)
	// A decoy (unknown user) fails the same way even if the proof happened to match.
	_, err = exchangeWithRFCNonce(t, v, false).Final([]byte(rfc7677.clientFinal))
	require.ErrorIs(t, err, ErrAuthFailed)
}

func TestSCRAMRefusesMalformedMessages(t *testing.T) {
	v, err := NewVerifier("pencil-pencil", 4096)
	require.NoError(t, err)
	for _, first := range []string{"", "n,", "x,,n=,r=abc", "p=tls-server-end-point,,n=,r=abc", "n,,m=ext,n=,r=abc", "n,,n=,s=abc", "n,,n=,r="} {
		_, err := (&Exchange{v: v, known: true}).First([]byte(first))
		require.ErrorIs(t, err, ErrInvalid, first)
	}
	x := &Exchange{v: v, known: true}
	_, err = x.First([]byte("n,,n=,r=abc"))
	require.NoError(t, err)
	for _, final := range []string{"", "c=biws,r=abc,p=AAAA", "c=biws,r=" + x.nonce, "c=eHl6,r=" + x.nonce + ",p=" + base64.StdEncoding.EncodeToString(make([]byte, 32)),
		"c=biws,r=" + x.nonce + ",p=!!"} {
		_, err := x.Final([]byte(final))
		require.ErrorIs(t, err, ErrInvalid, final)
	}
	_, err = x.Final([]byte("c=biws,r=" + x.nonce + ",p=" + base64.StdEncoding.EncodeToString(make([]byte, 32))))
	require.ErrorIs(t, err, ErrAuthFailed)
	for _, s := range []string{"", "md5abc", "SCRAM-SHA-256$x:AA==$AA==:AA==", "SCRAM-SHA-256$4096:AA==$AA==:AA=="} {
		_, err := ParseVerifier(s)
		require.ErrorIs(t, err, ErrInvalid, s)
	}
}

// FuzzSCRAM feeds arbitrary client messages to an exchange: it must answer or refuse, never panic, and never
// accept a proof without the password.
func FuzzSCRAM(f *testing.F) {
	f.Add([]byte(rfc7677.clientFirst), []byte(rfc7677.clientFinal))
	f.Add([]byte("n,,n=,r=x"), []byte("c=biws,r=x,p="))
	f.Add([]byte("y,,n=a,r=b,ext"), []byte("c=eSws,r=b,p=AAAA"))
	v, err := NewVerifier("correct horse", MinIterations)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, first, final []byte) {
		x := &Exchange{v: v, known: true}
		if _, err := x.First(first); err != nil {
			return
		}
		if _, err := x.Final(final); err == nil {
			t.Fatalf("accepted a proof made without the password: %q %q", first, final)
		}
	})
}
