package main

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// The list's login ID leads to the account's page: its states (a lock with its time and
// reason), role, last sign-in, second factor, login method, app passwords and recent
// events in words; from there the owner unlocks it, changes its role (with its own
// password; a wrong one is refused in place), revokes an app password and signs it out
// everywhere, each shown on the page.
func TestBrowserAccountPage(t *testing.T) {
	base := startServer(t, "-rate-limit=false")
	const id, pw = "yamada@example.com", "Fuji-Passw0rd-26!"
	createUser(t, base, id, pw)
	user := apiAs(t, base, id, pw)
	res := user("POST", "/api/me/app-passwords", map[string]string{"name": "Thunderbird", "current_password": pw})
	res.Body.Close()
	if res.StatusCode != 201 {
		t.Fatalf("app password: %d", res.StatusCode)
	}
	for range 10 {
		if got := apiAs0(t, base, id, "Wrong-Guess-2026!"); got != 401 {
			t.Fatalf("wrong password: %d", got)
		}
	}
	ctx := browser(t)
	var state, method, lockedRow, apw, roleErr string
	err := chromedp.Do(ctx,
		japanese(base),
		signIn(base, "owner@example.com", "Kagi-2026-Tokyo!"),
		waitText("#me-login-id", "owner@example.com"),
		chromedp.Navigate(base+"/admin.html"),
		click(`#accounts tr[data-login-id="`+id+`"] a.trunc`),
		waitText("#acct-login-id", id),
		settled(),
		waitText("#acct-state", "ロック中"),
		read(chromedp.TextContent(css("#acct-state")), &state),
		read(chromedp.TextContent(css("#acct-method")), &method),
		read(chromedp.TextContent(css("#apw-list")), &apw),
		read(chromedp.Evaluate[string](`[...document.querySelectorAll("#recent tr")].map((tr) => tr.textContent).find((s) => s.includes("ロックしました")) || ""`), &lockedRow),
		// Unlock.
		click("#act-unlock"),
		chromedp.WaitVisible(css("#act-dialog")),
		fill("#act-confirm", "Kagi-2026-Tokyo!"),
		click("#act-ok"),
		waitText("#message", "ロックを解除しました"),
		waitText("#acct-state", "利用可"),
		// The role: a wrong password is refused in the dialog; the right one changes it.
		click("#act-role"),
		chromedp.WaitVisible(css("#act-role-value")),
		chromedp.SetValue(css("#act-role-value"), "admin"),
		fill("#act-confirm", "Wrong-Pass-123!"),
		click("#act-ok"),
		waitText("#act-message", "パスワード"),
		read(chromedp.TextContent(css("#act-message")), &roleErr),
		fill("#act-confirm", "Kagi-2026-Tokyo!"),
		click("#act-ok"),
		waitText("#message", "権限を変更しました"),
		waitText("#acct-role", "管理者"),
		waitText("#recent", "権限: 管理者"),
		// The app password.
		click("#apw-list button.revoke"),
		fill("#act-confirm", "Kagi-2026-Tokyo!"),
		click("#act-ok"),
		waitText("#message", "アプリパスワードを取り消しました"),
		waitText("#apw-empty", "ありません"),
		// Signed out everywhere.
		click("#act-signout"),
		fill("#act-confirm", "Kagi-2026-Tokyo!"),
		click("#act-ok"),
		waitText("#message", "すべての端末からログアウトさせました"),
		waitText("#recent", "全端末からログアウト"),
		// The rest of the actions are in the list's menu: the page opens the list at its row.
		click("#acct-row"),
		waitText("#count", "1件"),
		openRowAction(id, "setpw"),
		chromedp.WaitVisible(css("#setpw-dialog")),
	)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(state, "（ロックしました（10回続けて失敗））") {
		t.Errorf("state %q: no lock time and reason", state)
	}
	if method != "パスワード" || !strings.Contains(apw, "Thunderbird") {
		t.Errorf("method %q, app passwords %q", method, apw)
	}
	if lockedRow == "" || strings.Contains(lockedRow, "成功") {
		t.Errorf("the lock in the recent events: %q", lockedRow)
	}
	if !strings.Contains(roleErr, "あなたのログインパスワード") {
		t.Errorf("wrong confirmation: %q", roleErr)
	}
	// The session the person had is gone.
	res = user("GET", "/api/me", nil)
	res.Body.Close()
	if res.StatusCode != 401 {
		t.Errorf("the person's session after sign-out everywhere: %d", res.StatusCode)
	}
}

// An account's passkeys on the administrators' pages: the list's row and the account
// page give their count, and the second-factor reset (offered for an account whose only
// second factor is a passkey) says it removes them, then does; in Japanese, then in
// English.
func TestBrowserAdministratorSeesPasskeys(t *testing.T) {
	base := localhostOf(startServer(t))
	const pw = "Fuji-Passw0rd-26!"
	for _, lang := range []struct {
		code, id, added, badge, none, lead, done string
	}{
		{"ja", "hana@example.com", "パスキー「電話」を追加しました。", "パスキー 1件", "なし", "登録されたパスキーがすべて削除されます", "2段階認証をリセットしました。"},
		{"en", "hannah@example.com", "The passkey “電話” is added.", "1 passkey", "none", "recovery codes and passkeys are all removed", "Two-step verification was reset."},
	} {
		t.Run(lang.code, func(t *testing.T) {
			createUser(t, base, lang.id, pw)
			row := `#accounts tr[data-login-id="` + lang.id + `"]`
			ctx := browser(t)
			var listDialog string
			err := chromedp.Do(ctx,
				chromedp.Navigate(base+"/index.html"),
				script(`localStorage.setItem("kagiya.lang", "`+lang.code+`"); localStorage.setItem("kagiya.test.no-autofill", "1")`),
				virtualAuthenticator(),
				noAutofillWhenAsked(),
				// The person adds a passkey, and signs out.
				signIn(base, lang.id, pw),
				waitText("#me-login-id", lang.id),
				click("#security-link"),
				fill("#passkey_name", "電話"),
				fill("#passkey_password", pw),
				click("#passkey-add"),
				waitText("#passkey-message", lang.added),
				chromedp.Navigate(base+"/home.html"),
				click("#signout"),
				chromedp.WaitVisible(css("#signin-form")),
				// The owner sees the count on the list, and the reset says what it removes.
				signIn(base, "owner@example.com", "Kagi-2026-Tokyo!"),
				waitText("#me-login-id", "owner@example.com"),
				chromedp.Navigate(base+"/admin.html?q="+lang.id),
				waitText(row+` .badge[data-state="passkeys"]`, lang.badge),
				openRowAction(lang.id, "mfareset"),
				chromedp.WaitVisible(css("#mfareset-dialog")),
				read(chromedp.TextContent(css("#mfareset-dialog")), &listDialog),
				click("#mfareset-cancel"),
				// The account page: the count, and the reset from there.
				click(row+" a.trunc"),
				waitText("#acct-passkeys", lang.badge),
				click("#act-mfa-reset"),
				waitText("#act-lead", lang.lead),
				fill("#act-confirm", "Kagi-2026-Tokyo!"),
				click("#act-ok"),
				waitText("#message", lang.done),
				waitText("#acct-passkeys", lang.none),
			)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(listDialog, lang.lead) || !strings.Contains(listDialog, lang.badge) {
				t.Errorf("the list's reset dialog: %q", listDialog)
			}
		})
	}
}

// The account page lists the account's signed-in browsers (browser, IP address, sign-in
// and last use) and ends one after the administrator's password: the person is signed
// out in that browser alone; signing it out everywhere empties the list. In Japanese at
// 1280 px, in English on a 390 px phone.
func TestBrowserAccountSessions(t *testing.T) {
	base := startServer(t, "-rate-limit=false")
	const pw = "Fuji-Passw0rd-26!"
	for _, v := range []struct {
		w, h                       int64
		lang, id, ended, all, none string
	}{
		{1280, 800, "ja", "sato@example.com", "その端末からログアウトさせました。", "すべての端末からログアウトさせました。", "ログイン中の端末はありません。"},
		{390, 844, "en", "sam@example.com", "That device is signed out.", "Signed out everywhere.", "No device is signed in."},
	} {
		t.Run(v.lang, func(t *testing.T) {
			createUser(t, base, v.id, pw)
			first, second := apiAs(t, base, v.id, pw), apiAs(t, base, v.id, pw)
			ctx := browser(t)
			rows := func(n int) chromedp.Action[chromedp.Void] {
				return poll(func(ctx context.Context, tg *chromedp.Target) (bool, string, error) {
					got, err := chromedp.Evaluate[int](`document.querySelectorAll("#sess-list tr").length`)(ctx, tg)
					return err == nil && got == n, fmt.Sprintf("waiting for %d sessions (last %d)", n, got), nil
				})
			}
			var list string
			err := chromedp.Do(ctx,
				chromedp.EmulateViewport(v.w, v.h),
				chromedp.Navigate(base+"/index.html"),
				script(`localStorage.setItem("kagiya.lang", "`+v.lang+`")`),
				signIn(base, "owner@example.com", "Kagi-2026-Tokyo!"),
				waitText("#me-login-id", "owner@example.com"),
				chromedp.Navigate(base+"/account.html?login_id="+v.id),
				waitText("#acct-login-id", v.id),
				rows(2),
				read(chromedp.TextContent(css("#sess-list")), &list),
				// End the newest (the first row).
				click("#sess-list tr:first-child button.end-session"),
				chromedp.WaitVisible(css("#act-dialog")),
				fill("#act-confirm", "Kagi-2026-Tokyo!"),
				click("#act-ok"),
				waitText("#message", v.ended),
				rows(1),
			)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(list, "Go-http-client") || !strings.Contains(list, "127.0.0.1") {
				t.Errorf("the sessions' browser and address: %q", list)
			}
			firstRes, secondRes := first("GET", "/api/me", nil), second("GET", "/api/me", nil)
			firstRes.Body.Close()
			secondRes.Body.Close()
			if firstRes.StatusCode != 200 || secondRes.StatusCode != 401 {
				t.Errorf("after ending the newest session: the older %d, the newer %d", firstRes.StatusCode, secondRes.StatusCode)
			}
			err = chromedp.Do(ctx,
				click("#act-signout"),
				chromedp.WaitVisible(css("#act-dialog")),
				fill("#act-confirm", "Kagi-2026-Tokyo!"),
				click("#act-ok"),
				waitText("#message", v.all),
				waitText("#sess-empty", v.none),
				rows(0),
			)
			if err != nil {
				t.Fatal(err)
			}
			res := first("GET", "/api/me", nil)
			res.Body.Close()
			if res.StatusCode != 401 {
				t.Errorf("after signing out everywhere: %d", res.StatusCode)
			}
		})
	}
}
