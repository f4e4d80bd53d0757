package idp_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"github.com/pquerna/otp/totp"
	"golang.org/x/oauth2"

	"github.com/kagiya/kagiya/shared/account"
	"github.com/kagiya/kagiya/shared/idp"
)

func init() {
	cases["PromptNoneWithoutSession"] = promptNoneWithoutSession
	cases["PromptLoginAndMaxAgeReauthenticate"] = promptLoginAndMaxAgeReauthenticate
	cases["AuthTimeAndAMRFromTheSession"] = authTimeAndAMRFromTheSession
}

// idToken exchanges a code and returns the ID token's claims.
func (r *rp) idToken(code, pkce string) map[string]any {
	r.s.t.Helper()
	status, out := r.exchange(code, pkce)
	raw, _ := out["id_token"].(string)
	if status != 200 || raw == "" {
		r.s.t.Fatalf("exchange: %d %v", status, out)
	}
	ctx := context.Background()
	provider, err := gooidc.NewProvider(ctx, r.s.url)
	if err != nil {
		r.s.t.Fatal(err)
	}
	idt, err := provider.Verifier(&gooidc.Config{ClientID: r.conf.ClientID}).Verify(ctx, raw)
	if err != nil {
		r.s.t.Fatal(err)
	}
	var c map[string]any
	idt.Claims(&c)
	return c
}

// start begins an authorization request and returns where the browser ended and the
// PKCE verifier.
func (r *rp) start(b *browser, opts ...oauth2.AuthCodeOption) (string, string) {
	pkce := oauth2.GenerateVerifier()
	return b.authorize(r.conf.AuthCodeURL("st", append(opts, oauth2.S256ChallengeOption(pkce))...)).String(), pkce
}

// back is the site's page going back to the provider with the browser's cookies (as
// login.js does: a same-origin navigation), and where that ended.
func (b *browser) back(page string) string {
	b.s.t.Helper()
	i := strings.Index(page, "oidc=")
	if i < 0 {
		b.s.t.Fatalf("not the sign-in page of a request: %s", page)
	}
	id, _, _ := strings.Cut(page[i+len("oidc="):], "&")
	req, _ := http.NewRequest("GET", b.s.url+idp.LoginPath+"?id="+id, nil)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	res, err := b.c.Do(req)
	if err != nil {
		b.s.t.Fatal(err)
	}
	res.Body.Close()
	if loc := res.Header.Get("Location"); loc != "" {
		return loc
	}
	return res.Request.URL.String()
}

func query(t *testing.T, u string) map[string]string {
	t.Helper()
	out := map[string]string{}
	_, q, _ := strings.Cut(u, "?")
	for _, kv := range strings.Split(q, "&") {
		k, v, _ := strings.Cut(kv, "=")
		out[k] = v
	}
	return out
}

// prompt=none: a browser without a session gets login_required back at the client (after
// the site's page came back with no cookie), never the sign-in page; a signed-in browser
// gets its code at once.
func promptNoneWithoutSession(t *testing.T, s *site) {
	owner := s.owner()
	taro := s.taro(owner)
	app := s.rp(owner)
	stranger := s.browser()
	end, _ := app.start(stranger, oauth2.SetAuthURLParam("prompt", "none"))
	if !strings.Contains(end, "/index.html?oidc=") || !strings.Contains(end, "prompt=none") {
		t.Fatalf("prompt=none without a cookie went to %s", end)
	}
	end = stranger.back(end)
	if q := query(t, end); !strings.HasPrefix(end, redirect) || q["error"] != "login_required" || q["state"] != "st" || q["code"] != "" {
		t.Fatalf("prompt=none without a session ended at %s", end)
	}
	// A browser that does not send Sec-Fetch-Site: the page's checked=1 says it has been.
	end, _ = app.start(stranger, oauth2.SetAuthURLParam("prompt", "none"))
	i := strings.Index(end, "oidc=")
	id, _, _ := strings.Cut(end[i+len("oidc="):], "&")
	res, err := stranger.c.Get(s.url + idp.LoginPath + "?id=" + id + "&checked=1")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if loc := res.Header.Get("Location"); query(t, loc)["error"] != "login_required" {
		t.Fatalf("prompt=none, checked, without a session: %d %s", res.StatusCode, loc)
	}
	end, _ = app.start(taro, oauth2.SetAuthURLParam("prompt", "none"))
	if q := query(t, end); !strings.HasPrefix(end, redirect) || q["code"] == "" {
		t.Fatalf("prompt=none with a session ended at %s", end)
	}
}

// prompt=login and max_age send a signed-in browser through the sign-in again; the code
// comes after it, and auth_time is the new sign-in's.
func promptLoginAndMaxAgeReauthenticate(t *testing.T, s *site) {
	owner := s.owner()
	taro := s.taro(owner)
	app := s.rp(owner)
	for _, opt := range []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("prompt", "login"), oauth2.SetAuthURLParam("max_age", "0")} {
		end, pkce := app.start(taro, opt)
		if !strings.Contains(end, "/index.html?oidc=") || !strings.Contains(end, "reauth=1") || strings.Contains(end, "code=") {
			t.Fatalf("a signed-in browser asked to sign in again ended at %s", end)
		}
		if again := taro.back(end); !strings.Contains(again, "reauth=1") {
			t.Fatalf("the old session went back to %s", again)
		}
		before := time.Now().Truncate(time.Second)
		taro.signIn("taro@example.com", userPW, "")
		end = taro.back(end)
		code := query(t, end)["code"]
		if !strings.HasPrefix(end, redirect) || code == "" {
			t.Fatalf("after signing in again: %s", end)
		}
		if at := int64(app.idToken(code, pkce)["auth_time"].(float64)); at < before.Unix() {
			t.Fatalf("auth_time %d is before the new sign-in (%d)", at, before.Unix())
		}
	}
	// max_age: a session younger than it gets its code; an older one signs in again, and
	// with prompt=none gets login_required.
	end, _ := app.start(taro, oauth2.SetAuthURLParam("max_age", "600"))
	if query(t, end)["code"] == "" {
		t.Fatalf("a fresh session with max_age=600 ended at %s", end)
	}
	s.ahead.Store(int64(20 * time.Minute))
	defer s.ahead.Store(0)
	end, _ = app.start(taro, oauth2.SetAuthURLParam("max_age", "600"))
	if !strings.Contains(end, "reauth=1") {
		t.Fatalf("a 20-minute-old session with max_age=600 ended at %s", end)
	}
	end, _ = app.start(taro, oauth2.SetAuthURLParam("max_age", "600"), oauth2.SetAuthURLParam("prompt", "none"))
	if q := query(t, end); q["error"] != "login_required" {
		t.Fatalf("prompt=none with a session older than max_age ended at %s", end)
	}
}

// auth_time is when the session signed in, not when the code was made; amr names only
// the factors given in that sign-in (a remembered browser gave no code).
func authTimeAndAMRFromTheSession(t *testing.T, s *site) {
	owner := s.owner()
	taro := s.taro(owner)
	app := s.rp(owner)
	acct, _ := account.FindAccount(context.Background(), s.store, "taro@example.com")
	sessions, _ := s.store.ListSessions(context.Background(), acct.ID)
	signedIn := sessions[len(sessions)-1].CreatedAt.Unix()
	s.ahead.Store(int64(10 * time.Minute))
	claims := app.idToken(app.code(taro))
	s.ahead.Store(0)
	if at := int64(claims["auth_time"].(float64)); at != signedIn {
		t.Fatalf("auth_time %d, the session signed in at %d", at, signedIn)
	}
	if amr := strings.Join(toStrings(claims["amr"]), " "); amr != "pwd" {
		t.Fatalf("amr of a password sign-in: %q", amr)
	}

	// A second factor: with the code, amr says so; from a remembered browser (no code),
	// it does not.
	status, setup := taro.call("POST", "/api/me/mfa/totp/setup", map[string]string{"current_password": userPW})
	secret, _ := setup["secret"].(string)
	code, _ := totp.GenerateCode(secret, time.Now())
	if status2, _ := taro.call("POST", "/api/me/mfa/totp/confirm", map[string]string{"code": code}); status != 200 || status2 != 200 {
		t.Fatal("enrol")
	}
	b := s.browser()
	status, out := b.call("POST", "/api/login", map[string]string{"login_id": "taro@example.com", "password": userPW})
	code, _ = totp.GenerateCode(secret, time.Now().Add(30*time.Second))
	status, out = b.call("POST", "/api/login/mfa", map[string]any{"challenge": out["challenge"], "code": code, "remember_browser": true})
	if status != 200 || out["result"] != "ok" {
		t.Fatalf("sign in with a code: %d %v", status, out)
	}
	if amr := strings.Join(toStrings(app.idToken(app.code(b))["amr"]), " "); amr != "pwd otp mfa" {
		t.Fatalf("amr of a sign-in with a code: %q", amr)
	}
	if status, out := b.call("POST", "/api/logout", nil); status != 204 && status != 200 {
		t.Fatalf("logout: %d %v", status, out)
	}
	status, out = b.call("POST", "/api/login", map[string]string{"login_id": "taro@example.com", "password": userPW})
	if status != 200 || out["result"] != "ok" {
		t.Fatalf("sign in from the remembered browser: %d %v", status, out)
	}
	if amr := strings.Join(toStrings(app.idToken(app.code(b))["amr"]), " "); amr != "pwd" {
		t.Fatalf("amr of a remembered browser's sign-in (no code): %q", amr)
	}
}
