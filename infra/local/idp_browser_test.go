package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/kagiya/kagiya/shared/dnstest"
)

const upOwnerPW = "Kagi-2026-Tokyo!" // startServer's -owner-password

// verifyDomainByAPI proves example.com for the owner's tenant at base through dns.
func verifyDomainByAPI(t *testing.T, dns *dnstest.Server, owner func(method, path string, body any) *http.Response) {
	t.Helper()
	res := owner("POST", "/api/admin/tenant/domains", map[string]any{"domain": "example.com"})
	var claim struct {
		TXT string `json:"txt_value"`
	}
	json.NewDecoder(res.Body).Decode(&claim)
	res.Body.Close()
	if res.StatusCode != 201 || claim.TXT == "" {
		t.Fatalf("claim example.com: %d %+v", res.StatusCode, claim)
	}
	dns.SetTXT("example.com", claim.TXT)
	res = owner("POST", "/api/admin/tenant/domains/example.com/verify", nil)
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("verify example.com: %d", res.StatusCode)
	}
}

// decodeAs calls and decodes a JSON answer, failing unless it has status want.
func decodeAs(t *testing.T, res *http.Response, want int) map[string]any {
	t.Helper()
	defer res.Body.Close()
	var out map[string]any
	json.NewDecoder(res.Body).Decode(&out)
	if res.StatusCode != want {
		t.Fatalf("%s %s: %d %v", res.Request.Method, res.Request.URL.Path, res.StatusCode, out)
	}
	return out
}

// federatedPair starts two local servers: the upstream (on 127.0.0.2, so that the two
// servers' cookies stay apart) with hanako and taro as password accounts and a client for
// the downstream, whose tenant has the upstream as the identity provider of example.com
// ("本社 Kagiya") and hanako as an idp account. Both owners are owner@example.com.
func federatedPair(t *testing.T) (down, up string) {
	t.Helper()
	dns, err := dnstest.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(dns.Close)
	down = startServer(t, "-dns", dns.Addr)
	up = startServer(t, "-dns", dns.Addr, "-addr", "127.0.0.2:0")
	upOwner := apiAs(t, up, "owner@example.com", upOwnerPW)
	verifyDomainByAPI(t, dns, upOwner)
	for _, id := range []string{"hanako@example.com", "taro@example.com"} {
		decodeAs(t, upOwner("POST", "/api/admin/accounts", map[string]any{"login_id": id, "role": "user", "password": "Mori-no-Kuma-42!"}), 201)
	}
	client := decodeAs(t, upOwner("POST", "/api/admin/oidc-clients", map[string]any{"name": "子会社のポータル",
		"redirect_uris": []string{down + "/api/login/idp/callback"}, "type": "confidential", "confirm_password": upOwnerPW}), 201)

	downOwner := apiAs(t, down, "owner@example.com", upOwnerPW)
	verifyDomainByAPI(t, dns, downOwner)
	decodeAs(t, downOwner("POST", "/api/admin/identity-providers", map[string]any{"name": "本社 Kagiya", "issuer": up,
		"client_id": client["client_id"], "client_secret": client["client_secret"], "domains": []string{"example.com"},
		"confirm_password": upOwnerPW}), 201)
	decodeAs(t, downOwner("POST", "/api/admin/accounts", map[string]any{"login_id": "hanako@example.com", "role": "user", "login_method": "idp"}), 201)
	return down, up
}

// TestBrowserSignInThroughTheUpstreamKagiya: a person of an organization whose identity
// provider is another Kagiya (the upstream, on 127.0.0.2 so that the two servers' cookies
// stay apart) types the login ID on the sign-in page, in Japanese on a 390 px phone, is
// offered the provider's button, signs in on the upstream's own page, and lands at home;
// on the security page she makes an app password without a password (the page offers a
// new sign-in at the provider instead); someone the organization has no account for comes back to the sign-in page with the
// reason in words.
func TestBrowserSignInThroughTheUpstreamKagiya(t *testing.T) {
	t.Parallel()
	chromiumPath(t) // skips without chromium
	down, up := federatedPair(t)

	ctx := browser(t)
	var width int
	var reauth string
	var passwordShown, sessionsPasswordShown bool
	var sessionsReauth string
	err := chromedp.Do(ctx,
		chromedp.EmulateViewport(390, 844),
		japanese(up),
		japanese(down),
		chromedp.Navigate(down+"/index.html"),
		chromedp.WaitVisible(css("#login_id")),
		chromedp.SendKeys(css("#login_id"), "hanako@example.com"),
		chromedp.SendKeys(css("#login_id"), "\t"), // leaving the field asks how this login ID signs in
		waitText("#idp-start", "本社 Kagiya でログイン"),
		// In English too, then back.
		click("#lang-switch"),
		waitText("#idp-start", "Sign in with 本社 Kagiya"),
		click("#lang-switch"),
		waitText("#idp-start", "本社 Kagiya でログイン"),
		read(chromedp.Evaluate[int](`document.documentElement.scrollWidth`), &width),
		chromedp.Func(func(context.Context, *chromedp.Target) error {
			if width > 390 {
				return fmt.Errorf("the sign-in page is %d px wide on a 390 px phone", width)
			}
			return nil
		}),
		click("#idp-start"),
		// The upstream's own sign-in page, in Japanese, says it signs in to an application.
		waitText("#oidc-note", "アプリケーションへのログインです"),
		chromedp.SendKeys(css("#login_id"), "hanako@example.com"),
		chromedp.SendKeys(css("#password"), "Mori-no-Kuma-42!"),
		click("#signin-submit"),
		// Back at the organization's Kagiya, signed in.
		waitText("#me-login-id", "hanako@example.com"),
		waitText("#me-role", "利用者"),
		// She has no password: an app password for her mail app is made on the strength
		// of this sign-in, and the page offers a new one at the provider for later.
		chromedp.Navigate(down+"/security.html"),
		waitText("#app-passwords-reauth", "本社 Kagiya でログインし直す"),
		read(chromedp.Evaluate[string](`document.querySelector("#app-passwords-reauth").getAttribute("href")`), &reauth),
		read(chromedp.Evaluate[bool](`["#app-passwords-password", "#enable_password", "#passkey_password"].some((s) => document.querySelector(s).checkVisibility())`), &passwordShown),
		fill("#app-passwords-name", "iPhone のメール"),
		click("#app-passwords form.cred-create button[type=submit]"),
		waitText("#app-passwords .cred-secret", "-"),
		waitText("#app-passwords tbody", "iPhone のメール"),
		chromedp.Navigate(down+"/sessions.html"),
		waitText("#sessions-reauth", "本社 Kagiya でログインし直す"),
		read(chromedp.Evaluate[string](`document.querySelector("#sessions-reauth").getAttribute("href")`), &sessionsReauth),
		read(chromedp.Evaluate[bool](`document.querySelector("#current_password").checkVisibility()`), &sessionsPasswordShown),
		chromedp.Navigate(down+"/home.html"),
		click("#signout"),
		chromedp.WaitVisible(css("#login_id")),
		// Signed out of the upstream too, taro (an upstream account, none here) tries.
		chromedp.Navigate(up+"/home.html"),
		click("#signout"),
		chromedp.WaitVisible(css("#login_id")),
		chromedp.Navigate(down+"/index.html"),
		chromedp.WaitVisible(css("#login_id")),
		chromedp.SendKeys(css("#login_id"), "taro@example.com\t"),
		click("#idp-start"),
		waitText("#oidc-note", "アプリケーションへのログインです"),
		chromedp.SendKeys(css("#login_id"), "taro@example.com"),
		chromedp.SendKeys(css("#password"), "Mori-no-Kuma-42!"),
		click("#signin-submit"),
		waitText("#signin-message", "このアカウントでログインできる利用者が見つかりません"),
	)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(reauth, "/api/login/idp/") || !strings.HasSuffix(reauth, "&to=security") || passwordShown {
		t.Errorf("app passwords of an idp account: sign in again at %q, password field shown %v", reauth, passwordShown)
	}
	if sessionsPasswordShown || !strings.HasPrefix(sessionsReauth, "/api/login/idp/") || !strings.HasSuffix(sessionsReauth, "&to=sessions") {
		t.Errorf("the sessions page of an idp account: password field shown %v, sign in again at %q", sessionsPasswordShown, sessionsReauth)
	}
}

// TestBrowserSecondFactorAfterTheUpstreamKagiya: the owner asks, on the settings page (in
// Japanese and English), for Kagiya's own second factor after the identity provider, with
// a second factor required (and sees on the account list and hanako's page that she signs
// in there); hanako, signing in through the upstream Kagiya, then enrols
// on the sign-in page before she reaches home, and her next sign-in (the upstream answers
// at once: it still has her session) asks her code, without offering to remember the
// browser (which a provider's way back cannot carry).
func TestBrowserSecondFactorAfterTheUpstreamKagiya(t *testing.T) {
	t.Parallel()
	chromiumPath(t) // skips without chromium
	down, up := federatedPair(t)
	downOwner := apiAs(t, down, "owner@example.com", upOwnerPW)
	decodeAs(t, downOwner("POST", "/api/admin/accounts", map[string]any{"login_id": "jiro@example.com", "role": "user", "password": "Mori-no-Kuma-42!"}), 201)
	// The API refuses a password for hanako, as the list's menu does not offer one.
	decodeAs(t, downOwner("PATCH", "/api/admin/accounts/hanako@example.com", map[string]any{"password": "Mori-no-Kuma-42!",
		"confirm_password": upOwnerPW}), 422)

	owner := browser(t)
	var noSetPassword bool
	err := chromedp.Do(owner,
		japanese(down),
		signIn(down, "owner@example.com", upOwnerPW),
		waitText("#me-login-id", "owner@example.com"),
		chromedp.Navigate(down+"/settings.html"),
		waitValue("#otp_lock_threshold", "5"),
		waitText("label:has(#idp_requires_mfa)", "ID プロバイダー（組織のアカウント）でのログインにも、この2段階認証を求める"),
		click("#lang-switch"),
		waitText("label:has(#idp_requires_mfa)", "Sign-ins through the identity provider (the organization's accounts) also give this two-step verification"),
		click("#lang-switch"),
		waitText("label:has(#idp_requires_mfa)", "ID プロバイダー"),
		click("#mfa_required"),
		click("#idp_requires_mfa"),
		fill("#confirm_password", upOwnerPW),
		click("#submit"),
		waitText("#message", "保存しました"),
		// The account list and hanako's page say how she signs in; her row's menu offers no
		// password to set (she has none: the API refuses one), jiro's does.
		chromedp.Navigate(down+"/admin.html"),
		waitText(`#accounts tr[data-login-id="hanako@example.com"] [data-state=idp]`, "ID プロバイダー"),
		chromedp.WaitReady(css(`#accounts tr[data-login-id="jiro@example.com"] .menu button.setpw`)),
		read(chromedp.Evaluate[bool](`document.querySelector('#accounts tr[data-login-id="hanako@example.com"] .menu button.setpw') === null && `+
			`document.querySelector('#accounts tr[data-login-id="hanako@example.com"] .menu button.loginid') !== null`), &noSetPassword),
		chromedp.Navigate(down+"/account.html?login_id=hanako@example.com"),
		waitText("#acct-method", "ID プロバイダー（組織のアカウント）"),
	)
	if err != nil {
		t.Fatal(err)
	}
	if !noSetPassword {
		t.Fatal("the idp account's row offers a password to set")
	}

	ctx := browser(t)
	var secret string
	var rememberShown bool
	err = chromedp.Do(ctx,
		japanese(up),
		japanese(down),
		chromedp.Navigate(down+"/index.html"),
		chromedp.WaitVisible(css("#login_id")),
		chromedp.SendKeys(css("#login_id"), "hanako@example.com\t"),
		click("#idp-start"),
		waitText("#oidc-note", "アプリケーションへのログインです"),
		chromedp.SendKeys(css("#login_id"), "hanako@example.com"),
		chromedp.SendKeys(css("#password"), "Mori-no-Kuma-42!"),
		click("#signin-submit"),
		// Back at the organization's Kagiya: not signed in yet, the enrolment first.
		waitText("#enrol-title", "2段階認証の設定が必要です"),
		waitText("#enrol-section code.secret", " "),
		read(chromedp.TextContent(css("#enrol-section code.secret")), &secret),
		fillCode(t, "#enrol_code", &secret, 0),
		click("#enrol-submit"),
		chromedp.WaitVisible(css("#codes-section ol.codes li")),
		click("#codes-saved"),
		click("#codes-section button.continue"),
		waitText("#me-login-id", "hanako@example.com"),
		waitText("#me-mfa", "有効"),
		click("#signout"),
		chromedp.WaitVisible(css("#login_id")),
		chromedp.SendKeys(css("#login_id"), "hanako@example.com\t"),
		click("#idp-start"),
		chromedp.WaitVisible(css("#mfa_code")),
		read(chromedp.Evaluate[bool](`document.querySelector("#remember-label").checkVisibility()`), &rememberShown),
		fillCode(t, "#mfa_code", &secret, 1),
		click("#mfa-submit"),
		waitText("#me-login-id", "hanako@example.com"),
	)
	if err != nil {
		t.Fatal(err)
	}
	if rememberShown {
		t.Error("remember this browser is offered after the provider")
	}
}
