package passkey_test

import (
	"testing"
	"time"
)

// BenchmarkLogin is the verification of one sign-in with a passkey: the response parsed,
// its challenge's MAC checked, the record found (in memory here), the client data, the
// authenticator data and the ES256 signature verified by go-webauthn.
func BenchmarkLogin(b *testing.B) {
	e := newEnv(b)
	if _, err := e.tryRegister(alice, "seq-1"); err != nil {
		b.Fatal(err)
	}
	e.now = e.now.Add(time.Second)
	challenge, opts, err := e.rp.LoginOptions(ctx)
	if err != nil {
		b.Fatal(err)
	}
	resp, err := e.auth.Get(opts)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		// The use is not recorded, so the same assertion verifies every time.
		if _, _, err := e.rp.Login(ctx, challenge, resp, e.find); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLoginOptions is a sign-in page's request for a challenge: no store at all.
func BenchmarkLoginOptions(b *testing.B) {
	e := newEnv(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := e.rp.LoginOptions(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
