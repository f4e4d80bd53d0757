package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// A person sees where it is signed in and ends every other device from the browser.
func TestBrowserSignedInDevices(t *testing.T) {
	t.Parallel()
	base := startServer(t)
	createUser(t, base, "hiro@example.com", "Fuji-Passw0rd-26!")
	phone := apiAs(t, base, "hiro@example.com", "Fuji-Passw0rd-26!") // another device, signed in already
	ctx := browser(t)
	rows := func(want int) chromedp.Action[chromedp.Void] {
		return poll(func(ctx context.Context, tg *chromedp.Target) (bool, string, error) {
			n, err := chromedp.Evaluate[int](`document.querySelectorAll("#sessions tr").length`)(ctx, tg)
			return n == want, fmt.Sprintf("%d rows, want %d", n, want), err
		})
	}
	var cleared string
	err := chromedp.Do(ctx,
		japanese(base),
		signIn(base, "hiro@example.com", "Fuji-Passw0rd-26!"),
		waitText("#me-login-id", "hiro@example.com"),
		click("#sessions-link"),
		waitText("#page-title", "ログイン中の端末"),
		rows(2),
		waitText("#sessions", "この端末"),
		waitText("#sessions", "127.0.0.1"),
		// Ending the others asks the current password (ASVS 3.3.4, issue 23).
		click("#end-others"),
		waitText("#message", "現在のパスワード: 入力してください"),
		chromedp.SendKeys(css("#current_password"), "Not-My-Passw0rd!"),
		click("#end-others"),
		waitText("#message", "現在のパスワードが正しくありません"),
		rows(2),
		read(chromedp.Evaluate[string](`document.getElementById("current_password").value = ""`), &cleared),
		chromedp.SendKeys(css("#current_password"), "Fuji-Passw0rd-26!"),
		click("#end-others"),
		waitText("#message", "この端末以外のログインをすべて終了しました"),
		rows(1),
	)
	if err != nil {
		t.Fatal(err)
	}
	res := phone("GET", "/api/me", nil)
	res.Body.Close()
	if res.StatusCode != 401 {
		t.Fatalf("the other device is still signed in: %d", res.StatusCode)
	}
	// In English, and signing this device out from the list.
	err = chromedp.Do(ctx,
		click("#lang-switch"),
		waitText("#page-title", "Signed-in devices"),
		waitText("#sessions", "this device"),
		click("#sessions button"),
		chromedp.WaitVisible(css("#signin-form")),
	)
	if err != nil {
		t.Fatal(err)
	}
}

// Someone guesses the person's password from elsewhere until the account locks; the
// person's own browser, which has signed in before, still signs in.
func TestBrowserKnownBrowserSignsInWhileLocked(t *testing.T) {
	t.Parallel()
	base := startServer(t)
	createUser(t, base, "aki@example.com", "Fuji-Passw0rd-26!")
	ctx := browser(t)
	err := chromedp.Do(ctx,
		japanese(base),
		signIn(base, "aki@example.com", "Fuji-Passw0rd-26!"),
		waitText("#me-login-id", "aki@example.com"),
		click("#signout"),
		chromedp.WaitVisible(css("#signin-form")),
	)
	if err != nil {
		t.Fatal(err)
	}
	for range 12 { // from a client without the browser's device cookie
		res, err := http.Post(base+"/api/login", "application/json", strings.NewReader(`{"login_id":"aki@example.com","password":"Guess-0000-Guess!"}`))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
	}
	res, err := http.Post(base+"/api/login", "application/json", strings.NewReader(`{"login_id":"aki@example.com","password":"Fuji-Passw0rd-26!"}`))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 401 {
		t.Fatalf("an unknown client signs in to the locked account: %d", res.StatusCode)
	}
	if err := chromedp.Do(ctx,
		signIn(base, "aki@example.com", "Fuji-Passw0rd-26!"),
		waitText("#me-login-id", "aki@example.com"),
	); err != nil {
		t.Fatal(err)
	}
}
