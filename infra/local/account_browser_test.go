package main

import (
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
