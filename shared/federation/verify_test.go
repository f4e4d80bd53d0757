package federation_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc/oidctest"

	"github.com/kagiya/kagiya/shared/federation"
)

// fakeProvider is a provider whose token endpoint answers what a case sets: go-oidc's
// oidctest serves discovery and keys; the ID token is signed here.
type fakeProvider struct {
	t      *testing.T
	url    string
	key    *rsa.PrivateKey
	mu     sync.Mutex
	answer func(r *http.Request) (int, map[string]any)
	seen   url.Values // the last token request's form
}

func newFakeProvider(t *testing.T) *fakeProvider {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	p := &fakeProvider{t: t, key: key}
	op := &oidctest.Server{PublicKeys: []oidctest.PublicKey{{PublicKey: key.Public(), KeyID: "k1", Algorithm: "RS256"}}}
	mux := http.NewServeMux()
	mux.Handle("/", op)
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		p.mu.Lock()
		p.seen = r.PostForm
		if id, secret, ok := r.BasicAuth(); ok {
			p.seen.Set("basic", id+":"+secret)
		}
		answer := p.answer
		p.mu.Unlock()
		status, body := answer(r)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(body)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	op.SetIssuer(srv.URL)
	p.url = srv.URL
	return p
}

// token signs claims with key as kid k1.
func (p *fakeProvider) token(key *rsa.PrivateKey, claims map[string]any) string {
	data, _ := json.Marshal(claims)
	return oidctest.SignIDToken(key, "k1", "RS256", string(data))
}

// TestFinishVerifiesTheIDToken: the code is exchanged with the PKCE verifier and the
// client's secret, and an ID token is taken only when its signature, issuer, audience,
// expiry and nonce hold; a provider that refuses the code is ErrRejected, one that fails
// or cannot be reached ErrUnavailable.
func TestFinishVerifiesTheIDToken(t *testing.T) {
	p := newFakeProvider(t)
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	c := federation.New(federation.Config{AllowLoopback: true, Timeout: 5 * time.Second})
	prov := federation.Provider{Issuer: p.url, ClientID: "kagiya", ClientSecret: "s3cret", RedirectURI: "http://127.0.0.1:1/cb"}
	ctx := context.Background()
	req, err := c.Start(ctx, prov, "alice@corp.test", false)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(req.URL)
	q := u.Query()
	if q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" || q.Get("nonce") != req.Nonce || q.Get("state") != req.State ||
		q.Get("login_hint") != "alice@corp.test" || q.Get("client_id") != "kagiya" || q.Get("response_type") != "code" {
		t.Fatalf("authorization request: %s", req.URL)
	}
	now := time.Now()
	claims := func(change func(map[string]any)) map[string]any {
		m := map[string]any{"iss": p.url, "aud": "kagiya", "sub": "s-1", "nonce": req.Nonce, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
			"email": "alice@corp.test", "email_verified": true}
		if change != nil {
			change(m)
		}
		return m
	}
	withToken := func(tok string) func(*http.Request) (int, map[string]any) {
		return func(*http.Request) (int, map[string]any) {
			return 200, map[string]any{"access_token": "at", "token_type": "Bearer", "expires_in": 60, "id_token": tok}
		}
	}
	for _, tc := range []struct {
		name   string
		answer func(*http.Request) (int, map[string]any)
		want   error
	}{
		{"good", withToken(p.token(p.key, claims(nil))), nil},
		{"email_verified as a string", withToken(p.token(p.key, claims(func(m map[string]any) { m["email_verified"] = "true" }))), nil},
		{"another nonce", withToken(p.token(p.key, claims(func(m map[string]any) { m["nonce"] = "replayed" }))), federation.ErrRejected},
		{"no nonce", withToken(p.token(p.key, claims(func(m map[string]any) { delete(m, "nonce") }))), federation.ErrRejected},
		{"another audience", withToken(p.token(p.key, claims(func(m map[string]any) { m["aud"] = "someone-else" }))), federation.ErrRejected},
		{"another issuer", withToken(p.token(p.key, claims(func(m map[string]any) { m["iss"] = "https://evil.example" }))), federation.ErrRejected},
		{"expired", withToken(p.token(p.key, claims(func(m map[string]any) { m["exp"] = now.Add(-time.Hour).Unix() }))), federation.ErrRejected},
		{"signed by another key", withToken(p.token(other, claims(nil))), federation.ErrRejected},
		{"no ID token", func(*http.Request) (int, map[string]any) {
			return 200, map[string]any{"access_token": "at", "token_type": "Bearer"}
		}, federation.ErrRejected},
		{"code refused", func(*http.Request) (int, map[string]any) {
			return 400, map[string]any{"error": "invalid_grant"}
		}, federation.ErrRejected},
		{"provider failing", func(*http.Request) (int, map[string]any) {
			return 503, map[string]any{"error": "temporarily_unavailable"}
		}, federation.ErrUnavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p.mu.Lock()
			p.answer = tc.answer
			p.mu.Unlock()
			who, err := c.Finish(ctx, prov, "the-code", req.Verifier, req.Nonce)
			if !errors.Is(err, tc.want) || tc.want == nil && err != nil {
				t.Fatalf("Finish: %v, want %v", err, tc.want)
			}
			if tc.want == nil && (who.Subject != "s-1" || who.Email != "alice@corp.test" || !who.EmailVerified) {
				t.Fatalf("identity: %+v", who)
			}
			p.mu.Lock()
			seen := p.seen
			p.mu.Unlock()
			if seen.Get("code") != "the-code" || seen.Get("code_verifier") != req.Verifier || seen.Get("basic") != "kagiya:s3cret" && seen.Get("client_secret") != "s3cret" {
				t.Fatalf("token request: %v", seen)
			}
		})
	}
	// A provider that cannot be reached (discovery fails): unavailable, within the timeout.
	down := federation.Provider{Issuer: closedPort(t), ClientID: "kagiya", ClientSecret: "s", RedirectURI: prov.RedirectURI}
	if _, err := c.Start(ctx, down, "", false); !errors.Is(err, federation.ErrUnavailable) {
		t.Fatalf("start at a provider that is down: %v", err)
	}
	// Issuers that are not https are refused before any request.
	strict := federation.New(federation.Config{})
	if _, err := strict.Start(ctx, prov, "", false); !errors.Is(err, federation.ErrBadIssuer) {
		t.Fatalf("http issuer without loopback allowed: %v", err)
	}
}

// TestReauthAsksForAFreshLogin: a re-authentication's request asks the provider for a
// fresh login (max_age=0, prompt=login) and an ordinary one does not; Finish gives the
// ID token's auth_time (a whole or a fractional number), zero without one.
func TestReauthAsksForAFreshLogin(t *testing.T) {
	p := newFakeProvider(t)
	c := federation.New(federation.Config{AllowLoopback: true, Timeout: 5 * time.Second})
	prov := federation.Provider{Issuer: p.url, ClientID: "kagiya", ClientSecret: "s3cret", RedirectURI: "http://127.0.0.1:1/cb"}
	ctx := context.Background()
	for _, reauth := range []bool{false, true} {
		req, err := c.Start(ctx, prov, "", reauth)
		if err != nil {
			t.Fatal(err)
		}
		u, _ := url.Parse(req.URL)
		q := u.Query()
		if asked := q.Get("max_age") == "0" && q.Get("prompt") == "login"; asked != reauth || !reauth && (q.Has("max_age") || q.Has("prompt")) {
			t.Fatalf("reauth %v: authorization request %s", reauth, req.URL)
		}
	}
	req, err := c.Start(ctx, prov, "", true)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for _, tc := range []struct {
		name     string
		authTime any
		want     time.Time
	}{
		{"whole seconds", now.Add(-5 * time.Second).Unix(), time.Unix(now.Add(-5*time.Second).Unix(), 0)},
		{"a fraction", float64(now.Unix()) + 0.25, time.Unix(now.Unix(), 0)},
		{"none", nil, time.Time{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := map[string]any{"iss": p.url, "aud": "kagiya", "sub": "s-1", "nonce": req.Nonce, "iat": now.Unix(),
				"exp": now.Add(time.Hour).Unix(), "email": "alice@corp.test", "email_verified": true}
			if tc.authTime != nil {
				m["auth_time"] = tc.authTime
			}
			tok := p.token(p.key, m)
			p.mu.Lock()
			p.answer = func(*http.Request) (int, map[string]any) {
				return 200, map[string]any{"access_token": "at", "token_type": "Bearer", "expires_in": 60, "id_token": tok}
			}
			p.mu.Unlock()
			who, err := c.Finish(ctx, prov, "the-code", req.Verifier, req.Nonce)
			if err != nil || !who.AuthTime.Equal(tc.want) {
				t.Fatalf("Finish: auth time %v (%v), want %v", who.AuthTime, err, tc.want)
			}
		})
	}
}
