package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
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

// TestBrowserSignInThroughTheUpstreamKagiya: a person of an organization whose identity
// provider is another Kagiya (the upstream, on 127.0.0.2 so that the two servers' cookies
// stay apart) types the login ID on the sign-in page, in Japanese on a 390 px phone, is
// offered the provider's button, signs in on the upstream's own page, and lands at home;
// someone the organization has no account for comes back to the sign-in page with the
// reason in words.
func TestBrowserSignInThroughTheUpstreamKagiya(t *testing.T) {
	t.Parallel()
	chromiumPath(t) // skips without chromium
	dns, err := dnstest.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(dns.Close)
	down := startServer(t, "-dns", dns.Addr)
	up := startServer(t, "-dns", dns.Addr, "-addr", "127.0.0.2:0")

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

	ctx := browser(t)
	var width int
	err = chromedp.Do(ctx,
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
}
