package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestOpenIDClientRelyingParty signs people in to an independent relying party,
// openid-client (a certified RP library, npm, installed with the test backends), through
// the local server in Chromium: discovery, code with PKCE, state and nonce, prompt=none
// and prompt=login, max_age with auth_time checked by the library, refresh rotation and
// reuse, revocation without a hint, introspection by the token's client and by another,
// 8 parallel exchanges of one code, UserInfo by scope, and RP-initiated logout.
func TestOpenIDClientRelyingParty(t *testing.T) {
	t.Parallel()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed; infra/test.sh installs the npm test backends with it")
	}
	backends, _ := filepath.Abs(filepath.Join("..", "backends"))
	if _, err := os.Stat(filepath.Join(backends, "node_modules", "openid-client")); err != nil {
		t.Skip("openid-client is not installed: npm ci in infra/backends (infra/test.sh does)")
	}
	chromiumPath(t) // skips without chromium
	base := startServer(t)
	const id, pw = "rp@example.com", "Fuji-Passw0rd-26!"
	createUser(t, base, id, pw)

	ctx, cancel := context.WithCancel(context.Background())
	rpCmd := exec.CommandContext(ctx, node, filepath.Join(backends, "oidc-rp.mjs"))
	rpCmd.Dir = backends
	rpCmd.Stderr = os.Stderr
	stdout, _ := rpCmd.StdoutPipe()
	if err := rpCmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); rpCmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("the relying party did not start: %v", err)
	}
	rp := strings.TrimSpace(line)

	owner := apiAs(t, base, "owner@example.com", "Kagi-2026-Tokyo!")
	register := func(name string) map[string]string {
		res := owner("POST", "/api/admin/oidc-clients", map[string]any{"name": name, "redirect_uris": []string{rp + "/callback"},
			"type": "confidential", "refresh_tokens": true, "confirm_password": "Kagi-2026-Tokyo!"})
		defer res.Body.Close()
		var out struct{ ClientID, ClientSecret string }
		json.NewDecoder(res.Body).Decode(&struct {
			ClientID     *string `json:"client_id"`
			ClientSecret *string `json:"client_secret"`
		}{&out.ClientID, &out.ClientSecret})
		if res.StatusCode != 201 {
			t.Fatalf("register %s: %d", name, res.StatusCode)
		}
		return map[string]string{"id": out.ClientID, "secret": out.ClientSecret}
	}
	cfg, _ := json.Marshal(map[string]any{"issuer": base, "app": register("Notes"), "other": register("Calendar")})
	res, err := http.Post(rp+"/config", "application/json", bytes.NewReader(cfg))
	if err != nil || res.StatusCode != 204 {
		t.Fatalf("configure the relying party (discovery): %v %v", err, res)
	}
	res.Body.Close()

	// result waits for a case's page and fails on any failed check.
	result := func(what string, out *string) chromedp.Action[chromedp.Void] {
		return chromedp.Steps(waitText("#result", "done"), read(chromedp.TextContent(css("#result")), out),
			chromedp.Func(func(context.Context, *chromedp.Target) error {
				if strings.Contains(*out, "FAIL") || !strings.Contains(*out, "ok ") && !strings.Contains(*out, "refused") {
					t.Errorf("%s:\n%s", what, *out)
				}
				return nil
			}))
	}
	signInForm := chromedp.Steps(chromedp.WaitVisible(css("#login_id")), fill("#login_id", id), fill("#password", pw), click("#signin-submit"))
	var full, parallel, openidOnly, maxAge, none, login, after, noneAfter string
	person := browser(t)
	err = chromedp.Do(person, japanese(base),
		chromedp.Navigate(rp+"/start?case=full"), signInForm, result("code flow, refresh, introspection, revocation", &full),
		chromedp.Navigate(rp+"/start?case=parallel"), result("parallel exchanges", &parallel),
		chromedp.Navigate(rp+"/start?case=openid-only"), result("userinfo by scope", &openidOnly),
		chromedp.Navigate(rp+"/start?case=basic&max_age=600"), result("max_age", &maxAge),
		chromedp.Navigate(rp+"/start?case=basic&prompt=none"), result("prompt=none, signed in", &none),
		chromedp.Navigate(rp+"/start?case=basic&prompt=login"), signInForm, result("prompt=login", &login),
		// RP-initiated logout: back at the application, and the Kagiya session is gone.
		chromedp.Navigate(rp+"/start?case=full"), result("before logout", &after),
		click("#logout"), waitText("#result", "signed out"),
		chromedp.Navigate(rp+"/start?case=basic&prompt=none"), waitText("#result", "done"), read(chromedp.TextContent(css("#result")), &noneAfter),
	)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(noneAfter, "refused: login_required") {
		t.Errorf("prompt=none after the logout: %s", noneAfter)
	}
	if !strings.Contains(none, "ok userinfo") || strings.Contains(none, "refused") {
		t.Errorf("prompt=none for a signed-in browser: %s", none)
	}
	var stranger string
	if err := chromedp.Do(browser(t), japanese(base), chromedp.Navigate(rp+"/start?case=basic&prompt=none"),
		waitText("#result", "done"), read(chromedp.TextContent(css("#result")), &stranger)); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stranger, "refused: login_required") {
		t.Errorf("prompt=none without a session: %s", stranger)
	}
	t.Logf("openid-client:\n%s\n%s\n%s\n%s\n%s", full, parallel, openidOnly, maxAge, login)
}
