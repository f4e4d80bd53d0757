package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"regexp"
	"testing"

	"github.com/chromedp/chromedp"
)

// apiAs signs in over HTTP (not the browser) and returns a function that calls the API
// with that session and its CSRF token.
func apiAs(t *testing.T, base, id, pw string) func(method, path string, body any) *http.Response {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	csrf := ""
	call := func(method, path string, body any) *http.Response {
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest(method, base+path, bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-CSRF-Token", csrf)
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	res := call("POST", "/api/login", map[string]string{"login_id": id, "password": pw})
	defer res.Body.Close()
	var out struct {
		CSRF string `json:"csrf_token"`
	}
	json.NewDecoder(res.Body).Decode(&out)
	if res.StatusCode != 200 {
		t.Fatalf("sign in %s: %d", id, res.StatusCode)
	}
	csrf = out.CSRF
	return call
}

func createUser(t *testing.T, base, id, pw string) {
	t.Helper()
	res := apiAs(t, base, "owner@example.com", "Kagi-2026-Tokyo!")("POST", "/api/admin/accounts", map[string]any{"login_id": id, "role": "user", "password": pw})
	res.Body.Close()
	if res.StatusCode != 201 {
		t.Fatalf("create %s: %d", id, res.StatusCode)
	}
}

var devLink = regexp.MustCompile(`https?://[^\s]+/(unlock|reset|invite|confirm-email)\.html\?token=[A-Za-z0-9_-]+`)

// mailedLink returns the newest link to page in the dev mailbox for to.
func mailedLink(t *testing.T, base, to, page string) string {
	t.Helper()
	res, err := http.Get(base + "/_dev/mail?to=" + to)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var mails []struct {
		Text string `json:"text"`
	}
	json.NewDecoder(res.Body).Decode(&mails)
	for i := len(mails) - 1; i >= 0; i-- {
		for _, m := range devLink.FindAllStringSubmatch(mails[i].Text, -1) {
			if m[1] == page {
				return m[0]
			}
		}
	}
	t.Fatalf("no %s link mailed to %s (%d mails)", page, to, len(mails))
	return ""
}

func TestBrowserLockedOutThenUnlockByEmail(t *testing.T) {
	t.Parallel()
	base := startServer(t)
	createUser(t, base, "jiro@example.com", "Fuji-Passw0rd!")
	ctx := browser(t)
	// attempt types a password, submits, and waits for this attempt's answer.
	attempt := func(pw string) chromedp.Action[chromedp.Void] {
		return chromedp.Steps(
			chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
				_, err := chromedp.Evaluate[any](`document.getElementById("signin-message").textContent = ""`)(ctx, tg)
				return err
			}),
			chromedp.SetValue(css("#password"), pw),
			click("#signin-submit"),
			waitText("#signin-message", "正しくありません"),
			chromedp.WaitEnabled(css("#signin-submit")),
		)
	}
	steps := []chromedp.Action[chromedp.Void]{japanese(base), chromedp.Navigate(base + "/index.html"),
		chromedp.SendKeys(css("#login_id"), "jiro@example.com")}
	for range 10 {
		steps = append(steps, attempt("wrong-password"))
	}
	// Locked now: even the right password is refused, with the same message.
	steps = append(steps, attempt("Fuji-Passw0rd!"))
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatal(err)
	}
	res := apiAs(t, base, "owner@example.com", "Kagi-2026-Tokyo!")("GET", "/api/admin/accounts?q=jiro", nil)
	var list struct {
		Accounts []struct {
			Locked bool `json:"locked"`
		} `json:"accounts"`
	}
	json.NewDecoder(res.Body).Decode(&list)
	res.Body.Close()
	if len(list.Accounts) != 1 || !list.Accounts[0].Locked {
		t.Fatalf("not locked after 10 wrong passwords in the browser: %+v", list)
	}
	link := mailedLink(t, base, "jiro@example.com", "unlock")
	var addr string
	err := chromedp.Do(ctx,
		chromedp.Navigate(link),
		waitText("#page-title", "アカウントのロック解除"),
		read(chromedp.Evaluate[string](`location.href`), &addr),
		click("#submit"),
		waitText("#message", "ロックを解除しました"),
		waitText("#for-account", "@example.com"), // which account
		signIn(base, "jiro@example.com", "Fuji-Passw0rd!"),
		waitText("#me-login-id", "jiro@example.com"),
	)
	if err != nil {
		t.Fatal(err)
	}
	if regexp.MustCompile(`token=`).MatchString(addr) {
		t.Errorf("the token stayed in the address bar: %s", addr)
	}
}

func TestBrowserForgotPasswordReset(t *testing.T) {
	t.Parallel()
	base := startServer(t)
	createUser(t, base, "saburo@example.com", "Kawa-Passw0rd!")
	ctx := browser(t)
	err := chromedp.Do(ctx,
		japanese(base),
		chromedp.Navigate(base+"/index.html"),
		click("#forgot-link"),
		waitText("#page-title", "パスワードの再設定"),
		chromedp.SendKeys(css("#login_id"), "saburo@example.com"),
		click("#submit"),
		waitText("#message", "受け付けました"),
	)
	if err != nil {
		t.Fatal(err)
	}
	link := mailedLink(t, base, "saburo@example.com", "reset")
	err = chromedp.Do(ctx,
		chromedp.Navigate(link),
		waitText("#page-title", "新しいパスワードの設定"),
		waitText("#for-account", "saburo@example.com"), // which account the link is for
		chromedp.SendKeys(css("#new_password"), "Umi-New-Passw0rd"),
		chromedp.SendKeys(css("#new_password2"), "Umi-New-Passw0rX"),
		click("#submit"),
		waitText("#message", "一致しません"),
		chromedp.SetValue(css("#new_password2"), "Umi-New-Passw0rd"),
		click("#submit"),
		waitText("#message", "パスワードを変更しました"),
		// The old password is refused, the new one signs in.
		signIn(base, "saburo@example.com", "Kawa-Passw0rd!"),
		waitText("#signin-message", "正しくありません"),
		chromedp.SendKeys(css("#password"), "Umi-New-Passw0rd"),
		click("#signin-submit"),
		waitText("#me-login-id", "saburo@example.com"),
		// The used link turns its form off and says why.
		chromedp.Navigate(link),
		waitText("#message", "リンク"),
		poll(func(ctx context.Context, tg *chromedp.Target) (bool, string, error) {
			off, err := chromedp.Evaluate[bool](`document.getElementById("new_password").disabled && document.getElementById("submit").disabled`)(ctx, tg)
			return err == nil && off, "the form is still on", err
		}),
	)
	if err != nil {
		t.Fatal(err)
	}
}

func TestBrowserAdminUnlocksSelected(t *testing.T) {
	t.Parallel()
	base := startServer(t)
	createUser(t, base, "shiro@example.com", "Yama-Passw0rd!")
	createUser(t, base, "goro@example.com", "Sora-Passw0rd!")
	for range 10 {
		res, err := http.Post(base+"/api/login", "application/json", bytes.NewReader([]byte(`{"login_id":"shiro@example.com","password":"nope-nope"}`)))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
	}
	ctx := browser(t)
	row := func(id string) string { return `tr[data-login-id="` + id + `"]` }
	err := chromedp.Do(ctx,
		japanese(base),
		signIn(base, "owner@example.com", "Kagi-2026-Tokyo!"),
		waitText("#me-login-id", "owner@example.com"),
		chromedp.Navigate(base+"/admin.html"),
		waitText(row("shiro@example.com"), "ロック中"),
		click(row("shiro@example.com")+" input.pick"),
		click(row("goro@example.com")+" input.pick"),
		click("#unlock-selected"),
		chromedp.WaitVisible(css("#unlock-dialog")),
		waitText("#unlock-list", "shiro@example.com"),
		chromedp.SendKeys(css("#unlock-confirm"), "not-my-password"),
		click("#unlock-ok"),
		waitText("#unlock-message", "確認のためのパスワードが正しくありません"),
		chromedp.SendKeys(css("#unlock-confirm"), "Kagi-2026-Tokyo!"),
		click("#unlock-ok"),
		waitText("#list-message", "ロックを解除しました: shiro@example.com"),
		waitText("#list-message", "ロックされていなかったアカウント: goro@example.com"),
		waitText(row("shiro@example.com"), "利用可"),
	)
	if err != nil {
		t.Fatal(err)
	}
	res := apiAs(t, base, "shiro@example.com", "Yama-Passw0rd!")("GET", "/api/me", nil)
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("shiro cannot sign in after the unlock: %d", res.StatusCode)
	}
}
