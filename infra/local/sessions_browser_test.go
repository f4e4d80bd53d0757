package main

import (
	"context"
	"fmt"
	"testing"

	"github.com/chromedp/chromedp"
)

// A person sees where it is signed in and ends every other device from the browser.
func TestBrowserSignedInDevices(t *testing.T) {
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
	err := chromedp.Do(ctx,
		japanese(base),
		signIn(base, "hiro@example.com", "Fuji-Passw0rd-26!"),
		waitText("#me-login-id", "hiro@example.com"),
		chromedp.Click(css("#sessions-link")),
		waitText("#page-title", "ログイン中の端末"),
		rows(2),
		waitText("#sessions", "この端末"),
		waitText("#sessions", "127.0.0.1"),
		chromedp.Click(css("#end-others")),
		waitText("#message", "この端末以外のサインインをすべて終了しました"),
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
		chromedp.Click(css("#lang-switch")),
		waitText("#page-title", "Signed-in devices"),
		waitText("#sessions", "this device"),
		chromedp.Click(css("#sessions button")),
		chromedp.WaitVisible(css("#signin-form")),
	)
	if err != nil {
		t.Fatal(err)
	}
}
