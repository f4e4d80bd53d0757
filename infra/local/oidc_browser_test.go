package main

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"
	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// relyingParty is a small web application that signs people in through Kagiya with
// go-oidc and x/oauth2 (PKCE, state, nonce, ID token verification, UserInfo).
type relyingParty struct {
	url  string
	mu   sync.Mutex
	conf oauth2.Config
	ver  *gooidc.IDTokenVerifier
	prov *gooidc.Provider
	pkce string
}

func startRelyingParty(t *testing.T) *relyingParty {
	rp := &relyingParty{}
	mux := http.NewServeMux()
	mux.HandleFunc("/start", func(w http.ResponseWriter, r *http.Request) {
		rp.mu.Lock()
		defer rp.mu.Unlock()
		rp.pkce = oauth2.GenerateVerifier()
		opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(rp.pkce), gooidc.Nonce("nn")}
		if p := r.URL.Query().Get("prompt"); p != "" {
			opts = append(opts, oauth2.SetAuthURLParam("prompt", p))
		}
		http.Redirect(w, r, rp.conf.AuthCodeURL("st", opts...), http.StatusFound)
	})
	mux.HandleFunc("/callback", func(w http.ResponseWriter, r *http.Request) {
		rp.mu.Lock()
		defer rp.mu.Unlock()
		ctx := r.Context()
		if e := r.URL.Query().Get("error"); e != "" {
			fmt.Fprintf(w, `<p id="result">refused: %s</p>`, html.EscapeString(e))
			return
		}
		tok, err := rp.conf.Exchange(ctx, r.URL.Query().Get("code"), oauth2.VerifierOption(rp.pkce))
		if err != nil || r.URL.Query().Get("state") != "st" {
			fmt.Fprintf(w, `<p id="result">exchange failed: %s</p>`, html.EscapeString(fmt.Sprint(err)))
			return
		}
		raw, _ := tok.Extra("id_token").(string)
		idt, err := rp.ver.Verify(ctx, raw)
		if err != nil || idt.Nonce != "nn" {
			fmt.Fprintf(w, `<p id="result">bad ID token: %s</p>`, html.EscapeString(fmt.Sprint(err)))
			return
		}
		var claims struct {
			Email  string `json:"email"`
			Tenant string `json:"tenant"`
		}
		idt.Claims(&claims)
		info, err := rp.prov.UserInfo(ctx, oauth2.StaticTokenSource(tok))
		if err != nil {
			fmt.Fprintf(w, `<p id="result">userinfo failed: %s</p>`, html.EscapeString(err.Error()))
			return
		}
		fmt.Fprintf(w, `<p id="result">hello %s (%s, %s, userinfo %s)</p>`, html.EscapeString(claims.Email), html.EscapeString(idt.Subject),
			html.EscapeString(claims.Tenant), html.EscapeString(info.Email))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	rp.url = srv.URL
	return rp
}

// The owner registers a web application on the integrations page; a person with a second
// factor signs in to it through Kagiya's own sign-in, and, signed in, goes straight back
// the next time.
func TestBrowserSignInToAnApplication(t *testing.T) {
	t.Parallel()
	base := startServer(t)
	const id, pw = "wiki@example.com", "Fuji-Passw0rd-26!"
	createUser(t, base, id, pw)
	mfaSecret := enrolByAPI(t, base, id, pw)
	rp := startRelyingParty(t)

	owner := browser(t)
	var clientID, clientSecret string
	err := chromedp.Do(owner,
		japanese(base),
		signIn(base, "owner@example.com", "Kagi-2026-Tokyo!"),
		waitText("#me-login-id", "owner@example.com"),
		chromedp.Navigate(base+"/integrations.html"),
		waitText("#oidc-clients-title", "OpenID Connect"),
		waitText("#oidc-empty", "まだありません"),
		fill("#oidc-name", "社内 Wiki"),
		fill("#oidc-redirects", rp.url+"/callback"),
		fill("#oidc-password", "Kagi-2026-Tokyo!"),
		click("#oidc-submit"),
		chromedp.WaitVisible(css("#oidc-shown")),
		read(chromedp.TextContent(css("#oidc-shown-id")), &clientID),
		read(chromedp.TextContent(css("#oidc-shown-secret")), &clientSecret),
		waitText("#oidc-rows", "社内 Wiki"),
	)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	prov, err := gooidc.NewProvider(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	rp.conf = oauth2.Config{ClientID: clientID, ClientSecret: clientSecret, Endpoint: prov.Endpoint(), RedirectURL: rp.url + "/callback",
		Scopes: []string{gooidc.ScopeOpenID, "email"}}
	rp.ver, rp.prov = prov.Verifier(&gooidc.Config{ClientID: clientID}), prov

	person := browser(t)
	var result string
	err = chromedp.Do(person,
		japanese(base),
		chromedp.Navigate(rp.url+"/start"),
		chromedp.WaitVisible(css("#login_id")),
		waitText("#oidc-note", "アプリケーション"),
		fill("#login_id", id),
		fill("#password", pw),
		click("#signin-submit"),
		chromedp.WaitVisible(css("#mfa_code")),
		fillCode(t, "#mfa_code", &mfaSecret, 1),
		click("#mfa-submit"),
		waitText("#result", "hello "+id),
		waitText("#result", "userinfo "+id),
		// Signed in at Kagiya: the next sign-in to the application asks nothing, nor does
		// one with prompt=none (the cross-site navigation carries no cookie: the sign-in
		// page goes back with it).
		chromedp.Navigate(rp.url+"/start"),
		waitText("#result", "hello "+id),
		read(chromedp.TextContent(css("#result")), &result),
		chromedp.Navigate(rp.url+"/start?prompt=none"),
		waitText("#result", "hello "+id),
		// The person's security page lists the application, and revokes it.
		chromedp.Navigate(base+"/security.html"),
		waitText("#applications tbody", "社内 Wiki"),
		chromedp.WaitVisible(css("#applications .revoke")),
		script(`document.querySelector("#applications .revoke").click()`),
		waitText("#applications [data-cred=message]", "取り消しました"),
		chromedp.WaitVisible(css("#applications .cred-empty")),
	)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(result, "acc_") || !strings.Contains(result, "ten_") {
		t.Fatalf("claims: %q", result)
	}
	// prompt=login: the sign-in page again, though signed in, then back to the
	// application (a person without a second factor: the other's code of this half
	// minute is used).
	const other = "notes@example.com"
	createUser(t, base, other, pw)
	signInToApp := []chromedp.Action[chromedp.Void]{chromedp.WaitVisible(css("#login_id")), waitText("#oidc-note", "アプリケーション"),
		fill("#login_id", other), fill("#password", pw), chromedp.Click(css("#signin-submit")), waitText("#result", "hello "+other)}
	steps := []chromedp.Action[chromedp.Void]{japanese(base), chromedp.Navigate(rp.url + "/start")}
	steps = append(steps, signInToApp...)
	steps = append(steps, chromedp.Navigate(rp.url+"/start?prompt=login"))
	if err := chromedp.Do(browser(t), append(steps, signInToApp...)...); err != nil {
		t.Fatal(err)
	}
	// A browser without a session, with prompt=none: login_required at the application,
	// no sign-in page.
	if err := chromedp.Do(browser(t), japanese(base), chromedp.Navigate(rp.url+"/start?prompt=none"),
		waitText("#result", "refused: login_required")); err != nil {
		t.Fatal(err)
	}
	// The owner removes the client: the password first, then it is gone from the list.
	if err := chromedp.Do(owner,
		click("#oidc-rows button.remove"),
		waitText("#oidc-message", "パスワード"),
		fill("#oidc-password", "Kagi-2026-Tokyo!"),
		click("#oidc-rows button.remove"),
		waitText("#oidc-message", "「社内 Wiki」を取り消しました。"),
		waitText("#oidc-empty", "まだありません"),
	); err != nil {
		t.Fatal(err)
	}
}
