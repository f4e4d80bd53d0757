package idp_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/kagiya/kagiya/shared/account"
	"github.com/kagiya/kagiya/shared/faults"
	"github.com/kagiya/kagiya/shared/idp"
)

// Regression tests of issue 22's findings, one a finding, run on every store (cases).
func init() {
	cases["CodeExchangedOnce"] = codeExchangedOnce
	cases["RevocationWhateverTheHint"] = revocationWhateverTheHint
	cases["IntrospectionOnlyForItsClient"] = introspectionOnlyForItsClient
	cases["RefreshTokenUsedOnce"] = refreshTokenUsedOnce
	cases["RevokedGrantStaysRevoked"] = revokedGrantStaysRevoked
	cases["ClaimsByGrantedScopes"] = claimsByGrantedScopes
}

// rp is a registered confidential client with refresh tokens, as a relying party uses it.
type rp struct {
	s    *site
	conf oauth2.Config
}

func (s *site) rp(owner *browser, scopes ...string) *rp {
	s.t.Helper()
	id, secret := s.client(owner, "confidential", true)
	if len(scopes) == 0 {
		scopes = []string{gooidc.ScopeOpenID, "email", "profile", gooidc.ScopeOfflineAccess}
	}
	return &rp{s: s, conf: oauth2.Config{ClientID: id, ClientSecret: secret, RedirectURL: redirect, Scopes: scopes,
		Endpoint: oauth2.Endpoint{AuthURL: s.url + idp.Prefix + "authorize", TokenURL: s.url + idp.Prefix + "token",
			AuthStyle: oauth2.AuthStyleInHeader}}}
}

// code runs the authorization request for a signed-in browser and returns the code and
// its PKCE verifier.
func (r *rp) code(b *browser, opts ...oauth2.AuthCodeOption) (string, string) {
	r.s.t.Helper()
	pkce := oauth2.GenerateVerifier()
	end := b.authorize(r.conf.AuthCodeURL("st", append(opts, oauth2.S256ChallengeOption(pkce))...))
	code := end.Query().Get("code")
	if code == "" {
		r.s.t.Fatalf("authorize ended at %s", end)
	}
	return code, pkce
}

// post sends a form to one of the provider's endpoints as client id/secret and returns
// the status and the JSON answer.
func (r *rp) post(endpoint, id, secret string, form url.Values) (int, map[string]any) {
	r.s.t.Helper()
	req, _ := http.NewRequest("POST", r.s.url+idp.Prefix+endpoint, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		r.s.t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	json.NewDecoder(res.Body).Decode(&out)
	return res.StatusCode, out
}

// postForm sends a form to an endpoint with no Basic header (client_secret_post).
func (r *rp) postForm(endpoint string, form url.Values) (int, map[string]any) {
	r.s.t.Helper()
	res, err := http.PostForm(r.s.url+idp.Prefix+endpoint, form)
	if err != nil {
		r.s.t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	json.NewDecoder(res.Body).Decode(&out)
	return res.StatusCode, out
}

func (r *rp) exchange(code, pkce string) (int, map[string]any) {
	return r.post("token", r.conf.ClientID, r.conf.ClientSecret, url.Values{"grant_type": {"authorization_code"}, "code": {code},
		"redirect_uri": {redirect}, "code_verifier": {pkce}})
}

func (r *rp) refresh(token string) (int, map[string]any) {
	return r.post("token", r.conf.ClientID, r.conf.ClientSecret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {token}})
}

// tokens runs the code flow for b and returns the access and refresh tokens.
func (r *rp) tokens(b *browser) (access, refresh string) {
	r.s.t.Helper()
	status, out := r.exchange(r.code(b))
	access, _ = out["access_token"].(string)
	refresh, _ = out["refresh_token"].(string)
	if status != 200 || access == "" || refresh == "" {
		r.s.t.Fatalf("exchange: %d %v", status, out)
	}
	return access, refresh
}

// userinfo returns UserInfo's status and answer for an access token.
func (r *rp) userinfo(access string) (int, map[string]any) {
	r.s.t.Helper()
	req, _ := http.NewRequest("GET", r.s.url+idp.Prefix+"userinfo", nil)
	req.Header.Set("Authorization", "Bearer "+access)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		r.s.t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	json.NewDecoder(res.Body).Decode(&out)
	return res.StatusCode, out
}

// wantInvalidGrant fails unless a token endpoint answered 400 invalid_grant.
func wantInvalidGrant(t *testing.T, what string, status int, out map[string]any) {
	t.Helper()
	if status != 400 || out["error"] != "invalid_grant" {
		t.Fatalf("%s: %d %v, want 400 invalid_grant", what, status, out)
	}
}

// taro is a user of the owner's tenant, signed in.
func (s *site) taro(owner *browser) *browser {
	s.user(owner, "taro@example.com")
	b := s.browser()
	b.signIn("taro@example.com", userPW, "")
	return b
}

// A code is used up by one conditional write before anything is minted: of 8 parallel
// exchanges exactly one succeeds, and a code presented again revokes what it gave.
func codeExchangedOnce(t *testing.T, s *site) {
	owner := s.owner()
	taro := s.taro(owner)
	app := s.rp(owner)

	code, pkce := app.code(taro)
	type answer struct {
		status int
		out    map[string]any
	}
	answers := make([]answer, 8)
	var wg sync.WaitGroup
	for i := range answers {
		wg.Go(func() {
			status, out := app.exchange(code, pkce)
			answers[i] = answer{status, out}
		})
	}
	wg.Wait()
	ok := 0
	for _, a := range answers {
		if a.status == 200 {
			ok++
			continue
		}
		wantInvalidGrant(t, "a parallel exchange", a.status, a.out)
	}
	if ok != 1 {
		t.Fatalf("%d of 8 parallel exchanges of one code succeeded", ok)
	}

	// One exchange, then the same code again: the second is refused, and the tokens of
	// the first stop working.
	code, pkce = app.code(taro)
	status, first := app.exchange(code, pkce)
	access, _ := first["access_token"].(string)
	refresh, _ := first["refresh_token"].(string)
	if status != 200 {
		t.Fatalf("exchange: %d %v", status, first)
	}
	if status, _ := app.userinfo(access); status != 200 {
		t.Fatalf("userinfo before the replay: %d", status)
	}
	status, out := app.exchange(code, pkce)
	wantInvalidGrant(t, "the code again", status, out)
	if status, _ := app.userinfo(access); status != 401 {
		t.Fatalf("the first exchange's access token after the replay: %d, want 401", status)
	}
	status, out = app.refresh(refresh)
	wantInvalidGrant(t, "the first exchange's refresh token after the replay", status, out)
	if !s.audit("oidc.token", "failed:code reused") {
		t.Fatal("the replay is not audited")
	}

	// A store that fails to read the code's request is not a replay: 500, and the code
	// still works once the store is back, its tokens alive.
	code, pkce = app.code(taro)
	s.faults.FailNth("PeekToken", 2, faults.Throttling("DynamoDB", "GetItem")) // the code, then its request
	status, out = app.exchange(code, pkce)
	s.faults.Clear()
	if status != 500 {
		t.Fatalf("the request unreadable: %d %v", status, out)
	}
	status, out = app.exchange(code, pkce)
	access, _ = out["access_token"].(string)
	if status != 200 {
		t.Fatalf("the code after the store came back: %d %v", status, out)
	}
	if status, _ := app.userinfo(access); status != 200 {
		t.Fatalf("a store failure revoked the code's tokens: userinfo %d", status)
	}
}

// RFC 7009: a revoked refresh token is dead whatever the hint (none, refresh_token, even
// access_token); revoking an access token revokes its refresh token too; another
// client cannot revoke a client's tokens.
func revocationWhateverTheHint(t *testing.T, s *site) {
	owner := s.owner()
	taro := s.taro(owner)
	app := s.rp(owner)
	other := s.rp(owner)
	for _, hint := range []string{"", "refresh_token", "access_token"} {
		access, refresh := app.tokens(taro)
		form := url.Values{"token": {refresh}}
		if hint != "" {
			form.Set("token_type_hint", hint)
		}
		if status, out := other.post("revoke", other.conf.ClientID, other.conf.ClientSecret, form); status != 401 || out["error"] != "invalid_client" {
			t.Fatalf("another client revokes (hint %q): %d %v", hint, status, out)
		}
		if status, out := app.post("revoke", app.conf.ClientID, app.conf.ClientSecret, form); status != 200 {
			t.Fatalf("revoke (hint %q): %d %v", hint, status, out)
		}
		status, out := app.refresh(refresh)
		wantInvalidGrant(t, "a revoked refresh token (hint "+hint+")", status, out)
		if status, _ := app.userinfo(access); status != 401 {
			t.Fatalf("the access token of a revoked refresh token (hint %q): %d", hint, status)
		}
	}
	access, refresh := app.tokens(taro)
	if status, out := app.post("revoke", app.conf.ClientID, app.conf.ClientSecret, url.Values{"token": {access}}); status != 200 {
		t.Fatalf("revoke an access token: %d %v", status, out)
	}
	if status, _ := app.userinfo(access); status != 401 {
		t.Fatalf("a revoked access token: %d", status)
	}
	status, out := app.refresh(refresh)
	wantInvalidGrant(t, "the refresh token of a revoked access token", status, out)
	if status, out := app.post("revoke", app.conf.ClientID, app.conf.ClientSecret, url.Values{"token": {"no-such-token"}}); status != 200 {
		t.Fatalf("revoke an unknown token: %d %v", status, out)
	}
	if !s.audit("oidc.revoke", "ok:Wiki (revocation endpoint)") {
		t.Fatal("revocation is not audited")
	}
}

// RFC 7662: introspection answers only the client the token was issued to; to another
// client of the tenant, or of another tenant, the token is inactive. client_id and aud
// come from the token.
func introspectionOnlyForItsClient(t *testing.T, s *site) {
	owner := s.owner()
	taro := s.taro(owner)
	app := s.rp(owner)
	other := s.rp(owner)
	boss := s.browser()
	boss.signIn("boss@other.example", ownerPW, "")
	elsewhere := s.rp(boss)
	access, _ := app.tokens(taro)
	form := url.Values{"token": {access}}
	status, out := app.post("introspect", app.conf.ClientID, app.conf.ClientSecret, form)
	if status != 200 || out["active"] != true || out["client_id"] != app.conf.ClientID || out["email"] != "taro@example.com" {
		t.Fatalf("introspection by the token's client: %d %v", status, out)
	}
	if aud := toStrings(out["aud"]); len(aud) != 1 || aud[0] != app.conf.ClientID {
		if s, ok := out["aud"].(string); !ok || s != app.conf.ClientID {
			t.Fatalf("aud: %v", out["aud"])
		}
	}
	// client_secret_post, as discovery offers and as openid-client sends it.
	status, out = app.postForm("introspect", url.Values{"token": {access}, "client_id": {app.conf.ClientID}, "client_secret": {app.conf.ClientSecret}})
	if status != 200 || out["active"] != true || out["client_id"] != app.conf.ClientID {
		t.Fatalf("introspection with client_secret_post: %d %v", status, out)
	}
	status, out = app.postForm("introspect", url.Values{"token": {access}, "client_id": {app.conf.ClientID}, "client_secret": {"wrong"}})
	if status != 401 || out["error"] != "invalid_client" {
		t.Fatalf("introspection with a wrong client_secret_post: %d %v", status, out)
	}
	for name, c := range map[string]*rp{"another client": other, "another tenant's client": elsewhere} {
		status, out := c.post("introspect", c.conf.ClientID, c.conf.ClientSecret, form)
		if status != 200 || out["active"] != false || len(out) != 1 {
			t.Fatalf("introspection by %s: %d %v, want only active:false", name, status, out)
		}
	}
}

// A used refresh token is 400 invalid_grant; of 10 parallel uses of one, one succeeds and
// the others are 400 invalid_grant, never 500.
func refreshTokenUsedOnce(t *testing.T, s *site) {
	owner := s.owner()
	taro := s.taro(owner)
	app := s.rp(owner)
	_, refresh := app.tokens(taro)
	status, out := app.refresh(refresh)
	if status != 200 {
		t.Fatalf("refresh: %d %v", status, out)
	}
	status, again := app.refresh(refresh)
	wantInvalidGrant(t, "a used refresh token", status, again)

	refresh, _ = out["refresh_token"].(string)
	statuses := make([]int, 10)
	outs := make([]map[string]any, 10)
	var wg sync.WaitGroup
	for i := range statuses {
		wg.Go(func() { statuses[i], outs[i] = app.refresh(refresh) })
	}
	wg.Wait()
	ok := 0
	for i, st := range statuses {
		if st == 200 {
			ok++
			continue
		}
		wantInvalidGrant(t, "a parallel refresh", st, outs[i])
	}
	if ok != 1 {
		t.Fatalf("%d of 10 parallel refreshes succeeded: %v", ok, statuses)
	}
}

// A revoked application, a lock, "sign out everywhere" and a suspension end refresh
// tokens for good: a new grant (signing in to the application again), an unlock or the
// end of the suspension does not revive them.
func revokedGrantStaysRevoked(t *testing.T, s *site) {
	owner := s.owner()
	taro := s.taro(owner)
	app := s.rp(owner)

	_, old := app.tokens(taro)
	if status, _ := taro.call("DELETE", "/api/me/applications/"+app.conf.ClientID, nil); status != 204 {
		t.Fatalf("revoke the application: %d", status)
	}
	_, fresh := app.tokens(taro) // signs in to it again: a new grant
	status, out := app.refresh(old)
	wantInvalidGrant(t, "a refresh token of a revoked application after a new grant", status, out)
	if status, out := app.refresh(fresh); status != 200 {
		t.Fatalf("the new grant's refresh token: %d %v", status, out)
	}

	// A lock (wrong guesses), then an administrator's unlock.
	_, old = app.tokens(taro)
	guesser := s.browser()
	for range 10 {
		guesser.call("POST", "/api/login", map[string]string{"login_id": "taro@example.com", "password": "Wrong-Guess-999!"})
	}
	acct, _ := account.FindAccount(context.Background(), s.store, "taro@example.com")
	if !acct.Locked() {
		t.Fatal("ten wrong guesses did not lock the account")
	}
	if status, out := owner.call("POST", "/api/admin/unlock", map[string]any{"login_ids": []string{"taro@example.com"}, "confirm_password": ownerPW}); status != 200 {
		t.Fatalf("unlock: %d %v", status, out)
	}
	status, out = app.refresh(old)
	wantInvalidGrant(t, "a refresh token from before a lock, after the unlock", status, out)
	if !s.audit("oidc.revoke", "ok:Wiki (lock)") {
		t.Fatal("the lock's end of the grant is not audited")
	}

	// Signed out everywhere by an administrator, then signed in again.
	taro = s.browser()
	taro.signIn("taro@example.com", userPW, "")
	_, old = app.tokens(taro)
	if status, out := owner.call("POST", "/api/admin/accounts/taro@example.com/sessions/revoke", map[string]any{"confirm_password": ownerPW}); status != 204 {
		t.Fatalf("sign out everywhere: %d %v", status, out)
	}
	taro = s.browser()
	taro.signIn("taro@example.com", userPW, "")
	app.tokens(taro)
	status, out = app.refresh(old)
	wantInvalidGrant(t, "a refresh token from before sign-out-everywhere", status, out)

	// Suspended by an administrator, then resumed.
	_, old = app.tokens(taro)
	for _, disabled := range []bool{true, false} {
		if status, out := owner.call("PATCH", "/api/admin/accounts/taro@example.com", map[string]any{"disabled": disabled, "confirm_password": ownerPW}); status != 200 {
			t.Fatalf("suspend %v: %d %v", disabled, status, out)
		}
	}
	taro = s.browser()
	taro.signIn("taro@example.com", userPW, "")
	app.tokens(taro)
	status, out = app.refresh(old)
	wantInvalidGrant(t, "a refresh token from before a suspension, after it ended", status, out)
}

// UserInfo and introspection give the claims of the scopes the token was granted: a
// token granted only openid gets neither email nor username, even from a client allowed
// them.
func claimsByGrantedScopes(t *testing.T, s *site) {
	owner := s.owner()
	taro := s.taro(owner)
	app := s.rp(owner, gooidc.ScopeOpenID, gooidc.ScopeOfflineAccess)
	access, _ := app.tokens(taro)
	acct, _ := account.FindAccount(context.Background(), s.store, "taro@example.com")
	status, info := app.userinfo(access)
	if status != 200 || info["sub"] != acct.ID || info["email"] != nil || info["preferred_username"] != nil {
		t.Fatalf("userinfo of an openid-only token: %d %v", status, info)
	}
	status, out := app.post("introspect", app.conf.ClientID, app.conf.ClientSecret, url.Values{"token": {access}})
	if status != 200 || out["active"] != true || out["email"] != nil || out["username"] != nil || out["preferred_username"] != nil {
		t.Fatalf("introspection of an openid-only token: %d %v", status, out)
	}
	app.conf.Scopes = []string{gooidc.ScopeOpenID, "email"}
	access, _ = app.tokensNoRefresh(taro)
	if status, info := app.userinfo(access); status != 200 || info["email"] != "taro@example.com" || info["preferred_username"] != nil {
		t.Fatalf("userinfo of an openid+email token: %d %v", status, info)
	}
	_ = time.Now
}

// tokensNoRefresh runs the code flow without offline_access.
func (r *rp) tokensNoRefresh(b *browser) (string, map[string]any) {
	r.s.t.Helper()
	status, out := r.exchange(r.code(b))
	access, _ := out["access_token"].(string)
	if status != 200 || access == "" {
		r.s.t.Fatalf("exchange: %d %v", status, out)
	}
	return access, out
}
