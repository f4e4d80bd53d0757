package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// An administrator invites a person, who sets its first password from the link and
// signs in with it.
func TestBrowserInvitation(t *testing.T) {
	t.Parallel()
	base := startServer(t)
	admin := browser(t)
	err := chromedp.Do(admin,
		japanese(base),
		signIn(base, "owner@example.com", "Kagi-2026-Tokyo!"),
		waitText("#me-login-id", "owner@example.com"),
		chromedp.Navigate(base+"/admin.html"),
		click("#create-open"),
		chromedp.WaitVisible(css("#new-login-id")),
		chromedp.SendKeys(css("#new-login-id"), "haru@example.com"),
		click("#create-form button[type=submit]"),
		waitText("#create-message", "招待メールを送りました"),
		waitText("#accounts", "招待中"),
	)
	if err != nil {
		t.Fatal(err)
	}
	link := mailedLink(t, base, "haru@example.com", "invite")
	person := browser(t)
	err = chromedp.Do(person,
		japanese(base),
		chromedp.Navigate(link),
		waitText("#page-title", "パスワードの設定"),
		chromedp.WaitVisible(css("#rules li")),
		fill("#new_password", "Sakura-Fubuki-2026!"),
		fill("#new_password2", "Sakura-Fubuki-2026!"),
		click("#submit"),
		waitText("#message", "パスワードを設定しました"),
		waitText("#signin-link", "haru@example.com"),
		signIn(base, "haru@example.com", "Sakura-Fubuki-2026!"),
		waitText("#me-login-id", "haru@example.com"),
	)
	if err != nil {
		t.Fatal(err)
	}
}

// A person changes its own login ID from the security page; an administrator changes
// another's from the list; each change completes at the link with the password.
func TestBrowserLoginIDChange(t *testing.T) {
	t.Parallel()
	base := startServer(t)
	createUser(t, base, "natsu@example.com", "Fuji-Passw0rd-26!")
	createUser(t, base, "aki@example.com", "Fuji-Passw0rd-26!")
	ctx := browser(t)
	confirm := func(link string) chromedp.Action[chromedp.Void] {
		return chromedp.Steps(
			chromedp.Navigate(link),
			waitText("#page-title", "ログインIDの変更の確認"),
			fill("#password", "Fuji-Passw0rd-26!"),
			click("#submit"),
			waitText("#message", "ログインIDを変更しました"),
		)
	}
	err := chromedp.Do(ctx,
		japanese(base),
		signIn(base, "natsu@example.com", "Fuji-Passw0rd-26!"),
		waitText("#me-login-id", "natsu@example.com"),
		click("#security-link"),
		chromedp.WaitVisible(css("#new_login_id")),
		fill("#new_login_id", "natsu.yasumi@example.com"),
		fill("#loginid_password", "Fuji-Passw0rd-26!"),
		click("#loginid-submit"),
		waitText("#loginid-message", "natsu.yasumi@example.com に確認のメールを送りました"),
	)
	if err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, confirm(mailedLink(t, base, "natsu.yasumi@example.com", "confirm-email")),
		chromedp.Navigate(base+"/home.html"), waitText("#me-login-id", "natsu.yasumi@example.com")); err != nil {
		t.Fatal(err)
	}
	admin := browser(t)
	err = chromedp.Do(admin,
		japanese(base),
		signIn(base, "owner@example.com", "Kagi-2026-Tokyo!"),
		waitText("#me-login-id", "owner@example.com"),
		chromedp.Navigate(base+"/admin.html"),
		waitText("#accounts", "aki@example.com"),
		openRowAction("aki@example.com", "loginid"),
		chromedp.WaitVisible(css("#loginid-dialog")),
		fill("#loginid-new", "aki.matsuri@example.com"),
		fill("#loginid-confirm", "Kagi-2026-Tokyo!"),
		click("#loginid-ok"),
		waitText("#list-message", "aki.matsuri@example.com に確認のメールを送りました"),
	)
	if err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(browser(t), japanese(base), confirm(mailedLink(t, base, "aki.matsuri@example.com", "confirm-email"))); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(admin, chromedp.Navigate(base+"/admin.html"), waitText("#accounts", "aki.matsuri@example.com")); err != nil {
		t.Fatal(err)
	}
}

// The administrator finds the locked accounts with the filter, selects all of them and
// unlocks them at once; and suspends an account from its row.
func TestBrowserFilterLockedUnlockAllSuspend(t *testing.T) {
	t.Parallel()
	base := startServer(t)
	for i := range 4 {
		createUser(t, base, fmt.Sprintf("fuyu%d@example.com", i), "Fuji-Passw0rd-26!")
	}
	for _, id := range []string{"fuyu1@example.com", "fuyu3@example.com"} {
		for range 10 {
			res, err := http.Post(base+"/api/login", "application/json", strings.NewReader(`{"login_id":"`+id+`","password":"Guess-0000-Guess!"}`))
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
		}
	}
	ctx := browser(t)
	err := chromedp.Do(ctx,
		japanese(base),
		signIn(base, "owner@example.com", "Kagi-2026-Tokyo!"),
		waitText("#me-login-id", "owner@example.com"),
		chromedp.Navigate(base+"/admin.html"),
		waitText("#count", "5件"),
		chromedp.SetValue(css("#state"), "locked"),
		click("#search-form button[type=submit]"),
		waitText("#count", "2件"),
		click("#select-page"),
		waitText("#selection", "2件を選択中"),
		click("#unlock-selected"),
		fill("#unlock-confirm", "Kagi-2026-Tokyo!"),
		click("#unlock-ok"),
		waitText("#list-message", "2件のロックを解除しました"),
		waitText("#count", "0件"),
		chromedp.SetValue(css("#state"), ""),
		click("#search-form button[type=submit]"),
		waitText("#count", "5件"),
		openRowAction("fuyu2@example.com", "suspend"),
		waitText("#unlock-title", "アカウントの停止"),
		fill("#unlock-confirm", "Kagi-2026-Tokyo!"),
		click("#unlock-ok"),
		waitText("#list-message", "1件を停止しました: fuyu2@example.com"),
		poll(func(ctx context.Context, tg *chromedp.Target) (bool, string, error) {
			got, err := chromedp.TextContent(css(`#accounts tr[data-login-id="fuyu2@example.com"]`))(ctx, tg)
			return err == nil && strings.Contains(got, "停止中"), "the suspended badge: " + got, nil
		}),
	)
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.Post(base+"/api/login", "application/json", strings.NewReader(`{"login_id":"fuyu2@example.com","password":"Fuji-Passw0rd-26!"}`))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 401 {
		t.Fatalf("a suspended account signs in: %d", res.StatusCode)
	}
}
