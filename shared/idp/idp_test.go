package idp_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"github.com/pquerna/otp/totp"
	"github.com/truora/minidyn/server"
	"golang.org/x/oauth2"

	"github.com/kagiya/kagiya/shared/account"
	"github.com/kagiya/kagiya/shared/dnstest"
	"github.com/kagiya/kagiya/shared/faults"
	"github.com/kagiya/kagiya/shared/httpapi"
	"github.com/kagiya/kagiya/shared/idp"
	"github.com/kagiya/kagiya/shared/mail"
	"github.com/kagiya/kagiya/shared/password"
	"github.com/kagiya/kagiya/shared/store/boltstore"
	"github.com/kagiya/kagiya/shared/store/dynamostore"
)

const (
	ownerID, ownerPW = "owner@example.com", "Kagi-2026-Tokyo!"
	userPW           = "Mori-no-Kuma-42!"
	redirect         = "http://127.0.0.1:9/callback" // never called: the test stops at the redirect
)

// site is the API with the provider, as the local server and the Lambda serve it.
type site struct {
	t      *testing.T
	url    string
	store  account.Store
	svc    *account.Flows
	dns    *dnstest.Server // proves the tenants' domains
	faults *faults.Plan    // the store fails the calls it names
	// ahead moves the provider's clock (only the provider's) forward, to see a session
	// grow old without waiting.
	ahead *atomic.Int64
}

func newSite(t *testing.T, plain account.Store) *site {
	t.Helper()
	plan := &faults.Plan{}
	st := faults.NewStore(plain, plan)
	tmpl, err := mail.LoadTemplates()
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	dns, err := dnstest.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(dns.Close)
	svc, err := account.New(account.Deps{Store: st, Mailer: mail.NewMailbox(time.Now), Templates: tmpl, Now: time.Now, Log: log,
		SiteURL: srv.URL, SealKey: account.StaticKey(bytes.Repeat([]byte{7}, 32)), Resolver: dnstest.Resolver(dns.Addr)},
		account.Config{Hash: password.Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32}, LoginPerIPMinute: -1})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, owner := range []string{ownerID, "boss@other.example"} {
		if _, _, err := svc.SignIn.Bootstrap(ctx, owner, ownerPW, account.Settings{}); err != nil {
			t.Fatal(err)
		}
	}
	ahead := new(atomic.Int64)
	clock := func() time.Time { return time.Now().Add(time.Duration(ahead.Load())) }
	provider, err := idp.New(ctx, idp.Deps{Issuer: srv.URL, Integrations: svc.Integrations, Sessions: svc.SignIn, Store: st,
		SessionCookies: []string{httpapi.CookieName}, Now: clock, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	api := httpapi.New(httpapi.Deps{Services: svc, Log: log, OIDC: provider})
	mux.Handle("/", api)
	return &site{t: t, url: srv.URL, store: plain, svc: svc, dns: dns, faults: plan, ahead: ahead}
}

// browser is a cookie jar that stops at the client's redirect URI.
type browser struct {
	s    *site
	c    *http.Client
	csrf string
}

func (s *site) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{s: s, c: &http.Client{Jar: jar, CheckRedirect: func(req *http.Request, _ []*http.Request) error {
		if strings.HasPrefix(req.URL.String(), redirect) {
			return http.ErrUseLastResponse
		}
		return nil
	}}}
}

func (b *browser) call(method, path string, body any) (int, map[string]any) {
	b.s.t.Helper()
	var r io.Reader
	if body != nil {
		data, _ := json.Marshal(body)
		r = bytes.NewReader(data)
	}
	req, _ := http.NewRequest(method, b.s.url+path, r)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("X-CSRF-Token", b.csrf)
	res, err := b.c.Do(req)
	if err != nil {
		b.s.t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	json.NewDecoder(res.Body).Decode(&out)
	if c, ok := out["csrf_token"].(string); ok {
		b.csrf = c
	}
	return res.StatusCode, out
}

// signIn signs in with the password (and the code, when secret is set).
func (b *browser) signIn(id, pw, secret string) {
	b.s.t.Helper()
	status, out := b.call("POST", "/api/login", map[string]string{"login_id": id, "password": pw})
	if secret != "" && out["result"] == "mfa_required" {
		code, _ := totp.GenerateCode(secret, time.Now().Add(30*time.Second))
		status, out = b.call("POST", "/api/login/mfa", map[string]any{"challenge": out["challenge"], "code": code})
	}
	if status != 200 || out["result"] != "ok" {
		b.s.t.Fatalf("sign in %s: %d %v", id, status, out)
	}
}

// authorize follows the authorization request from url and returns where it ended.
func (b *browser) authorize(authURL string) *url.URL {
	b.s.t.Helper()
	res, err := b.c.Get(authURL)
	if err != nil {
		b.s.t.Fatal(err)
	}
	res.Body.Close()
	if loc := res.Header.Get("Location"); loc != "" {
		u, _ := url.Parse(loc)
		return u
	}
	return res.Request.URL
}

func (s *site) owner() *browser {
	b := s.browser()
	b.signIn(ownerID, ownerPW, "")
	return b
}

func (s *site) client(b *browser, typ string, refresh bool) (id, secret string) {
	s.t.Helper()
	status, out := b.call("POST", "/api/admin/oidc-clients", map[string]any{"name": "Wiki", "redirect_uris": []string{redirect},
		"type": typ, "refresh_tokens": refresh, "confirm_password": ownerPW})
	if status != 201 {
		s.t.Fatalf("create client: %d %v", status, out)
	}
	secret, _ = out["client_secret"].(string)
	return out["client_id"].(string), secret
}

func (s *site) user(b *browser, id string) {
	s.t.Helper()
	if status, out := b.call("POST", "/api/admin/accounts", map[string]any{"login_id": id, "role": "user", "password": userPW}); status != 201 {
		s.t.Fatalf("create %s: %d %v", id, status, out)
	}
}

func (s *site) audit(action, result string) bool {
	tenants := map[string]bool{}
	for _, id := range []string{ownerID, "boss@other.example"} {
		a, _ := account.FindAccount(context.Background(), s.store, id)
		tenants[a.TenantID] = true
	}
	for tid := range tenants {
		ev, _, _ := s.store.ListAudit(context.Background(), tid, "", 500)
		for _, e := range ev {
			if e.Action == action && strings.HasPrefix(e.Result, result) {
				return true
			}
		}
	}
	return false
}

// A real relying party (go-oidc and x/oauth2) signs people in through Kagiya.
func signInThroughKagiya(t *testing.T, s *site) {
	ctx := context.Background()
	owner := s.owner()
	s.user(owner, "taro@example.com")
	s.user(owner, "mfa@example.com")
	s.user(owner, "locked@example.com")
	clientID, clientSecret := s.client(owner, "confidential", true)
	if !strings.HasPrefix(clientID, clientIDPrefix(t, s)) {
		t.Fatalf("client id %q", clientID)
	}
	provider, err := gooidc.NewProvider(ctx, s.url)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	conf := oauth2.Config{ClientID: clientID, ClientSecret: clientSecret, Endpoint: provider.Endpoint(), RedirectURL: redirect,
		Scopes: []string{gooidc.ScopeOpenID, "email", gooidc.ScopeOfflineAccess}}
	verifier := provider.Verifier(&gooidc.Config{ClientID: clientID})

	// flow runs the code flow for a browser and returns the tokens and the ID token.
	flow := func(b *browser) (*oauth2.Token, *gooidc.IDToken) {
		t.Helper()
		pkce := oauth2.GenerateVerifier()
		end := b.authorize(conf.AuthCodeURL("state-123", oauth2.S256ChallengeOption(pkce), gooidc.Nonce("nonce-9")))
		code := end.Query().Get("code")
		if !strings.HasPrefix(end.String(), redirect) || code == "" || end.Query().Get("state") != "state-123" {
			t.Fatalf("authorize ended at %s", end)
		}
		if _, err := conf.Exchange(ctx, code); err == nil {
			t.Fatal("a code exchanged without its PKCE verifier")
		}
		tok, err := conf.Exchange(ctx, code, oauth2.VerifierOption(pkce))
		if err != nil {
			t.Fatalf("exchange: %v", err)
		}
		raw, _ := tok.Extra("id_token").(string)
		idt, err := verifier.Verify(ctx, raw)
		if err != nil {
			t.Fatalf("verify the ID token: %v", err)
		}
		if idt.Nonce != "nonce-9" {
			t.Fatalf("nonce %q", idt.Nonce)
		}
		return tok, idt // a second exchange would revoke these (CodeExchangedOnce)
	}
	claimsOf := func(idt *gooidc.IDToken) map[string]any {
		var c map[string]any
		idt.Claims(&c)
		return c
	}

	// A person without a second factor.
	taro := s.browser()
	taro.signIn("taro@example.com", userPW, "")
	tok, idt := flow(taro)
	acct, _ := account.FindAccount(ctx, s.store, "taro@example.com")
	c := claimsOf(idt)
	if idt.Subject != acct.ID || c["email"] != "taro@example.com" || c["tenant"] != acct.TenantID {
		t.Fatalf("ID token claims: %v", c)
	}
	info, err := provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
	if err != nil || info.Subject != acct.ID || info.Email != "taro@example.com" {
		t.Fatalf("userinfo: %+v %v", info, err)
	}
	// An address an administrator typed, nobody proved: not verified (the claim is left
	// out, as zitadel/oidc does for false).
	if v, ok := c["email_verified"]; ok && v != false || info.EmailVerified {
		t.Fatalf("email_verified of an unproven address: ID token %v, userinfo %v", c["email_verified"], info.EmailVerified)
	}
	// Refresh tokens rotate: the new one works, the old one no more.
	if tok.RefreshToken == "" {
		t.Fatal("no refresh token for a client allowed them")
	}
	old := &oauth2.Token{RefreshToken: tok.RefreshToken, Expiry: time.Now().Add(-time.Hour)}
	fresh, err := conf.TokenSource(ctx, old).Token()
	if err != nil || fresh.AccessToken == "" || fresh.RefreshToken == tok.RefreshToken {
		t.Fatalf("refresh: %+v %v", fresh, err)
	}
	if _, err := conf.TokenSource(ctx, old).Token(); err == nil {
		t.Fatal("a used refresh token worked again")
	}
	if !s.audit("oidc.token", "ok:Wiki") || !s.audit("oidc.authorize", "ok:Wiki") {
		t.Fatal("token issue and authorization are not audited")
	}
	// The person sees the application on its page, and revokes it: refresh stops.
	status, apps := taro.call("GET", "/api/me/applications", nil)
	list, _ := apps["applications"].([]any)
	if status != 200 || len(list) != 1 || list[0].(map[string]any)["name"] != "Wiki" || list[0].(map[string]any)["client_id"] != clientID {
		t.Fatalf("applications: %d %v", status, apps)
	}
	if status, _ := taro.call("DELETE", "/api/me/applications/"+clientID, nil); status != 204 {
		t.Fatalf("revoke: %d", status)
	}
	if _, err := conf.TokenSource(ctx, &oauth2.Token{RefreshToken: fresh.RefreshToken, Expiry: time.Now().Add(-time.Hour)}).Token(); err == nil {
		t.Fatal("a refresh token worked after the person revoked the application")
	}
	if !s.audit("oidc.revoke", "ok:Wiki") {
		t.Fatal("the revocation is not audited")
	}

	// A second factor: the flow goes through the code step of Kagiya's sign-in.
	mfa := s.browser()
	mfa.signIn("mfa@example.com", userPW, "")
	status, setup := mfa.call("POST", "/api/me/mfa/totp/setup", map[string]string{"current_password": userPW})
	secret, _ := setup["secret"].(string)
	code, _ := totp.GenerateCode(secret, time.Now())
	if status2, _ := mfa.call("POST", "/api/me/mfa/totp/confirm", map[string]string{"code": code}); status != 200 || status2 != 200 {
		t.Fatal("enrol")
	}
	mfaBrowser := s.browser()
	end := mfaBrowser.authorize(conf.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
	if end.Path != "/index.html" || end.Query().Get("oidc") == "" {
		t.Fatalf("a browser without a session went to %s, not the sign-in", end)
	}
	mfaBrowser.signIn("mfa@example.com", userPW, secret)
	_, idt = flow(mfaBrowser)
	if amr := claimsOf(idt)["amr"]; !strings.Contains(strings.Join(toStrings(amr), " "), "otp") {
		t.Fatalf("amr of a sign-in with a second factor: %v", amr)
	}

	// A locked account gets no code: its sign-in is refused, so the request stays at the site.
	locked := s.browser()
	for range 10 {
		locked.call("POST", "/api/login", map[string]string{"login_id": "locked@example.com", "password": "Wrong-Guess-999!"})
	}
	if status, _ := locked.call("POST", "/api/login", map[string]string{"login_id": "locked@example.com", "password": userPW}); status != 401 {
		t.Fatalf("locked sign-in: %d", status)
	}
	end = locked.authorize(conf.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
	if end.Query().Get("code") != "" || end.Path != "/index.html" {
		t.Fatalf("a locked account's browser ended at %s", end)
	}

	// Another tenant's person is refused by this tenant's client.
	boss := s.browser()
	boss.signIn("boss@other.example", ownerPW, "")
	end = boss.authorize(conf.AuthCodeURL("st", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
	if end.Query().Get("error") != "access_denied" || end.Query().Get("code") != "" || end.Query().Get("state") != "st" {
		t.Fatalf("another tenant's account ended at %s", end)
	}
	if !s.audit("oidc.authorize", "failed:other_tenant") {
		t.Fatal("the refusal is not audited")
	}

	// Without PKCE there is no code.
	end = taro.authorize(conf.AuthCodeURL("s"))
	if end.Query().Get("code") != "" {
		t.Fatalf("a request without PKCE got a code: %s", end)
	}

	// RP-initiated logout ends the Kagiya session too.
	raw, _ := tok.Extra("id_token").(string)
	logout := s.url + idp.Prefix + "end_session?" + url.Values{"id_token_hint": {raw}, "post_logout_redirect_uri": {redirect}}.Encode()
	end = taro.authorize(logout)
	if !strings.HasPrefix(end.String(), redirect) {
		t.Fatalf("logout ended at %s", end)
	}
	if status, _ := taro.call("GET", "/api/me", nil); status != 401 {
		t.Fatalf("the session outlived the logout: %d", status)
	}

	// Discovery and keys are cacheable at the edge; the key set has this month's and last month's.
	res, err := http.Get(s.url + idp.Discovery)
	if err != nil || !strings.Contains(res.Header.Get("Cache-Control"), "max-age") {
		t.Fatalf("discovery caching: %v %v", err, res.Header)
	}
	res.Body.Close()
	res, _ = http.Get(s.url + idp.Prefix + "keys")
	var jwks struct{ Keys []map[string]any }
	json.NewDecoder(res.Body).Decode(&jwks)
	res.Body.Close()
	if len(jwks.Keys) != 2 || jwks.Keys[0]["kid"] != time.Now().UTC().Format("2006-01") {
		t.Fatalf("key set: %v", jwks.Keys)
	}

	// A deleted client stops at once.
	if status, _ := owner.call("DELETE", "/api/admin/oidc-clients/"+clientID, map[string]string{"confirm_password": ownerPW}); status != 204 {
		t.Fatalf("delete client: %d", status)
	}
	if _, err := conf.TokenSource(ctx, &oauth2.Token{RefreshToken: fresh.RefreshToken, Expiry: time.Now().Add(-time.Hour)}).Token(); err == nil {
		t.Fatal("a deleted client's refresh token worked")
	}
	if !s.audit("oidc_client.create", "ok:confidential") || !s.audit("oidc_client.delete", "ok") {
		t.Fatal("client changes are not audited")
	}
}

func clientIDPrefix(t *testing.T, s *site) string {
	a, err := account.FindAccount(context.Background(), s.store, ownerID)
	if err != nil {
		t.Fatal(err)
	}
	return a.TenantID + ".oc_"
}

func toStrings(v any) []string {
	var out []string
	if l, ok := v.([]any); ok {
		for _, x := range l {
			s, _ := x.(string)
			out = append(out, s)
		}
	}
	return out
}

// Owners register clients; nobody else does, and bad redirect URIs are refused.
func clientsAreOwners(t *testing.T, s *site) {
	owner := s.owner()
	s.user(owner, "taro@example.com")
	taro := s.browser()
	taro.signIn("taro@example.com", userPW, "")
	if status, _ := taro.call("POST", "/api/admin/oidc-clients", map[string]any{"name": "x", "redirect_uris": []string{redirect},
		"type": "public", "confirm_password": userPW}); status != 403 {
		t.Fatalf("a user registers a client: %d", status)
	}
	for _, bad := range []string{"http://evil.example/cb", "https://app.example/cb#frag", "javascript:alert(1)", "/relative"} {
		if status, out := owner.call("POST", "/api/admin/oidc-clients", map[string]any{"name": "x", "redirect_uris": []string{bad},
			"type": "confidential", "confirm_password": ownerPW}); status != 422 {
			t.Fatalf("redirect %q: %d %v", bad, status, out)
		}
	}
	id, secret := s.client(owner, "public", false)
	if secret != "" {
		t.Fatal("a public client got a secret")
	}
	status, out := owner.call("GET", "/api/admin/oidc-clients", nil)
	list, _ := out["oidc_clients"].([]any)
	if status != 200 || len(list) != 1 || list[0].(map[string]any)["client_id"] != id || list[0].(map[string]any)["type"] != "public" {
		t.Fatalf("list: %d %v", status, out)
	}
}

// A client gets only the claims of the scopes its owner allowed it.
func scopesAreTheOwners(t *testing.T, s *site) {
	ctx := context.Background()
	owner := s.owner()
	s.user(owner, "taro@example.com")
	if status, _ := owner.call("POST", "/api/admin/oidc-clients", map[string]any{"name": "x", "redirect_uris": []string{redirect},
		"type": "confidential", "scopes": []string{"phone"}, "confirm_password": ownerPW}); status != 422 {
		t.Fatalf("an unknown scope: %d", status)
	}
	status, out := owner.call("POST", "/api/admin/oidc-clients", map[string]any{"name": "Directory", "redirect_uris": []string{redirect},
		"type": "confidential", "scopes": []string{"profile"}, "confirm_password": ownerPW})
	if status != 201 {
		t.Fatalf("create: %d %v", status, out)
	}
	clientID, secret := out["client_id"].(string), out["client_secret"].(string)
	provider, err := gooidc.NewProvider(ctx, s.url)
	if err != nil {
		t.Fatal(err)
	}
	conf := oauth2.Config{ClientID: clientID, ClientSecret: secret, Endpoint: provider.Endpoint(), RedirectURL: redirect,
		Scopes: []string{gooidc.ScopeOpenID, "email", "profile"}}
	taro := s.browser()
	taro.signIn("taro@example.com", userPW, "")
	pkce := oauth2.GenerateVerifier()
	end := taro.authorize(conf.AuthCodeURL("s", oauth2.S256ChallengeOption(pkce)))
	tok, err := conf.Exchange(ctx, end.Query().Get("code"), oauth2.VerifierOption(pkce))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	idt, err := provider.Verifier(&gooidc.Config{ClientID: clientID}).Verify(ctx, tok.Extra("id_token").(string))
	if err != nil {
		t.Fatal(err)
	}
	var claims map[string]any
	idt.Claims(&claims)
	if _, ok := claims["email"]; ok || claims["preferred_username"] != "taro@example.com" {
		t.Fatalf("ID token of a client without email: %v", claims)
	}
	info, err := provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
	if err != nil || info.Email != "" {
		t.Fatalf("userinfo of a client without email: %+v %v", info, err)
	}
}

// email_verified is true for an address in a domain the tenant verified (its TXT record),
// though the person never used an emailed link.
func emailVerifiedByDomain(t *testing.T, s *site) {
	ctx := context.Background()
	owner := s.owner()
	s.user(owner, "taro@example.com")
	clientID, secret := s.client(owner, "confidential", false)
	provider, err := gooidc.NewProvider(ctx, s.url)
	if err != nil {
		t.Fatal(err)
	}
	conf := oauth2.Config{ClientID: clientID, ClientSecret: secret, Endpoint: provider.Endpoint(), RedirectURL: redirect,
		Scopes: []string{gooidc.ScopeOpenID, "email"}}
	taro := s.browser()
	taro.signIn("taro@example.com", userPW, "")
	verified := func() (any, bool) {
		t.Helper()
		pkce := oauth2.GenerateVerifier()
		end := taro.authorize(conf.AuthCodeURL("s", oauth2.S256ChallengeOption(pkce)))
		tok, err := conf.Exchange(ctx, end.Query().Get("code"), oauth2.VerifierOption(pkce))
		if err != nil {
			t.Fatalf("exchange: %v", err)
		}
		idt, err := provider.Verifier(&gooidc.Config{ClientID: clientID}).Verify(ctx, tok.Extra("id_token").(string))
		if err != nil {
			t.Fatal(err)
		}
		var claims map[string]any
		idt.Claims(&claims)
		info, err := provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
		if err != nil {
			t.Fatal(err)
		}
		return claims["email_verified"], info.EmailVerified
	}
	if inToken, inInfo := verified(); inToken != nil && inToken != false || inInfo {
		t.Fatalf("before the domain is verified: %v %v", inToken, inInfo)
	}
	status, out := owner.call("POST", "/api/admin/tenant/domains", map[string]any{"domain": "example.com"})
	if status != 201 {
		t.Fatalf("add domain: %d %v", status, out)
	}
	s.dns.SetTXT("example.com", out["txt_value"].(string))
	if status, out := owner.call("POST", "/api/admin/tenant/domains/example.com/verify", nil); status != 200 {
		t.Fatalf("verify: %d %v", status, out)
	}
	if inToken, inInfo := verified(); inToken != true || !inInfo {
		t.Fatalf("after the domain is verified: %v %v", inToken, inInfo)
	}
}

var cases = map[string]func(*testing.T, *site){
	"EmailVerifiedByDomain": emailVerifiedByDomain,
	"SignInThroughKagiya":   signInThroughKagiya,
	"ClientsAreOwners":      clientsAreOwners,
	"ScopesAreTheOwners":    scopesAreTheOwners,
}

func TestProviderOnBolt(t *testing.T) {
	for name, run := range cases {
		t.Run(name, func(t *testing.T) {
			st, err := boltstore.Open(filepath.Join(t.TempDir(), "k.db"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			run(t, newSite(t, st))
		})
	}
}

func TestProviderOnDynamoDB(t *testing.T) {
	for name, run := range cases {
		t.Run(name, func(t *testing.T) {
			srv := httptest.NewServer(server.NewServer())
			t.Cleanup(srv.Close)
			db := dynamodb.New(dynamodb.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL),
				Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")})
			if err := dynamostore.CreateTable(context.Background(), db, "kagiya"); err != nil {
				t.Fatal(err)
			}
			run(t, newSite(t, dynamostore.New(db, "kagiya", 0)))
		})
	}
}

// TestTokenEndpointCapacity measures what the code exchange (the token endpoint) costs
// in DynamoDB units, against a sign-in's (README's table).
func TestTokenEndpointCapacity(t *testing.T) {
	srv := httptest.NewServer(server.NewServer())
	t.Cleanup(srv.Close)
	db := dynamodb.New(dynamodb.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL),
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")})
	if err := dynamostore.CreateTable(context.Background(), db, "kagiya"); err != nil {
		t.Fatal(err)
	}
	meter := dynamostore.NewMeter(db, "kagiya")
	s := newSite(t, dynamostore.New(meter, "kagiya", 0))
	ctx := context.Background()
	owner := s.owner()
	s.user(owner, "taro@example.com")
	clientID, clientSecret := s.client(owner, "confidential", false)
	provider, err := gooidc.NewProvider(ctx, s.url)
	if err != nil {
		t.Fatal(err)
	}
	conf := oauth2.Config{ClientID: clientID, ClientSecret: clientSecret, Endpoint: provider.Endpoint(), RedirectURL: redirect,
		Scopes: []string{gooidc.ScopeOpenID, "email"}}
	taro := s.browser()
	taro.signIn("taro@example.com", userPW, "")
	var reads, writes float64
	const n = 5
	for range n {
		pkce := oauth2.GenerateVerifier()
		end := taro.authorize(conf.AuthCodeURL("s", oauth2.S256ChallengeOption(pkce)))
		r0, w0 := meter.Units()
		if _, err := conf.Exchange(ctx, end.Query().Get("code"), oauth2.VerifierOption(pkce)); err != nil {
			t.Fatal(err)
		}
		r1, w1 := meter.Units()
		reads, writes = reads+r1-r0, writes+w1-w0
	}
	reads, writes = reads/n, writes/n
	t.Logf("token endpoint (code exchange): %.2f reads/op, %.2f writes/op", reads, writes)
	// A sign-in costs 0.5 R and 4 W: the exchange may read more but must cost no more
	// (a write unit costs five read units).
	if writes > 4 || reads+5*writes > 0.5+5*4 {
		t.Fatalf("the code exchange costs %.2f R, %.2f W: more than a sign-in", reads, writes)
	}
}
