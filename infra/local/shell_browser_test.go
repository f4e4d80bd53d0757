package main

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// Every signed-in page has the app shell: the tenant, navigation by role with the
// current page marked, the account, sign-out, and a skip link to the content.
func TestBrowserAppShell(t *testing.T) {
	t.Parallel()
	base := startServer(t)
	createUser(t, base, "shell@example.com", "Fuji-Passw0rd-26!")
	owner := browser(t)
	var ownerLinks, userLinks, current, skip int
	err := chromedp.Do(owner,
		japanese(base),
		signIn(base, "owner@example.com", "Kagi-2026-Tokyo!"),
		waitText("#me-login-id", "owner@example.com"),
		waitText("header nav", "ホーム"),
		chromedp.Navigate(base+"/audit.html"),
		waitText("header nav", "監査ログ"),
		waitText("header .tenant", "example.com"),
		waitText("#shell-account", "owner@example.com"),
		waitText(`header nav a[aria-current="page"]`, "監査ログ"),
		read(chromedp.Evaluate[int](`document.querySelectorAll("header nav a").length`), &ownerLinks),
		read(chromedp.Evaluate[int](`document.querySelectorAll('header nav a[aria-current="page"]').length`), &current),
		read(chromedp.Evaluate[int](`document.querySelectorAll('a.skip[href="#main"]').length + (document.getElementById("main") ? 1 : 0)`), &skip),
		click("#lang-switch"),
		waitText(`header nav a[aria-current="page"]`, "Audit log"),
		click("#shell-signout"),
		chromedp.WaitVisible(css("#login_id")),
	)
	if err != nil {
		t.Fatal(err)
	}
	if ownerLinks != 8 || current != 1 || skip != 2 {
		t.Fatalf("owner's shell: %d links, %d current, skip link and target %d", ownerLinks, current, skip)
	}
	user := browser(t)
	err = chromedp.Do(user,
		japanese(base),
		signIn(base, "shell@example.com", "Fuji-Passw0rd-26!"),
		waitText("#me-login-id", "shell@example.com"),
		chromedp.Navigate(base+"/security.html"),
		waitText(`header nav a[aria-current="page"]`, "セキュリティ"),
		read(chromedp.Evaluate[int](`document.querySelectorAll("header nav a").length`), &userLinks),
	)
	if err != nil {
		t.Fatal(err)
	}
	if userLinks != 3 {
		t.Fatalf("a user's shell has %d links (home, password, security)", userLinks)
	}
}

// Only actions that can succeed: an administrator sees no actions on an owner's or
// another administrator's row, only "edit" on its own, everything on a user's, and can
// give only the user role.
func TestBrowserOnlyActionsThatCanSucceed(t *testing.T) {
	t.Parallel()
	base := startServer(t)
	owner := apiAs(t, base, "owner@example.com", "Kagi-2026-Tokyo!")
	for id, role := range map[string]string{"kanri@example.com": "admin", "other-admin@example.com": "admin", "riyou@example.com": "user"} {
		res := owner("POST", "/api/admin/accounts", map[string]any{"login_id": id, "role": role, "password": "Fuji-Passw0rd-26!", "confirm_password": "Kagi-2026-Tokyo!"})
		res.Body.Close()
		if res.StatusCode != 201 {
			t.Fatalf("create %s: %d", id, res.StatusCode)
		}
	}
	ctx := browser(t)
	row := func(id string) string { return `tr[data-login-id="` + id + `"] td.row-actions button` }
	var ownerRow, otherAdminRow, selfRow, userRow, roles int
	err := chromedp.Do(ctx,
		japanese(base),
		signIn(base, "kanri@example.com", "Fuji-Passw0rd-26!"),
		waitText("#me-login-id", "kanri@example.com"),
		chromedp.Navigate(base+"/admin.html"),
		waitText("#accounts", "riyou@example.com"),
		read(chromedp.Evaluate[int](`document.querySelectorAll('`+row("owner@example.com")+`').length`), &ownerRow),
		read(chromedp.Evaluate[int](`document.querySelectorAll('`+row("other-admin@example.com")+`').length`), &otherAdminRow),
		read(chromedp.Evaluate[int](`document.querySelectorAll('`+row("kanri@example.com")+`').length`), &selfRow),
		read(chromedp.Evaluate[int](`document.querySelectorAll('`+row("riyou@example.com")+`').length`), &userRow),
		read(chromedp.Evaluate[int](`document.querySelectorAll("#new-role option").length`), &roles),
	)
	if err != nil {
		t.Fatal(err)
	}
	if ownerRow != 0 || otherAdminRow != 0 || selfRow != 1 || userRow < 5 || roles != 1 {
		t.Fatalf("actions: owner %d, other admin %d, self %d, user %d; role options %d", ownerRow, otherAdminRow, selfRow, userRow, roles)
	}
}

// Settings in plain words: presets by their rules, not identifiers, with a live preview.
func TestBrowserSettingsPreviewPreset(t *testing.T) {
	t.Parallel()
	base := startServer(t)
	ctx := browser(t)
	var options string
	err := chromedp.Do(ctx,
		japanese(base),
		signIn(base, "owner@example.com", "Kagi-2026-Tokyo!"),
		waitText("#me-login-id", "owner@example.com"),
		chromedp.Navigate(base+"/settings.html"),
		waitText("#preset-rules", "12"),
		read(chromedp.Evaluate[string](`[...document.querySelectorAll("#policy_preset option")].map((o) => o.textContent).join("|")`), &options),
		chromedp.SetValue(css("#policy_preset"), "nist"),
		script(`document.getElementById("policy_preset").dispatchEvent(new Event("change"))`),
		waitText("#preset-rules", "15"),
	)
	if err != nil {
		t.Fatal(err)
	}
	if len(identifiers(options)) > 0 || strings.Contains(options, "standard12") || !strings.Contains(options, "標準") {
		t.Fatalf("preset names: %q", options)
	}
}

// Forms that help: the field an error names is marked invalid, described by the message,
// and focused.
func TestBrowserErrorsMarkAndFocusTheField(t *testing.T) {
	t.Parallel()
	base := startServer(t)
	ctx := browser(t)
	var settings, password, create, signin string
	state := `(() => { const el = document.activeElement; return el.id + "|" + el.getAttribute("aria-invalid") + "|" + (el.getAttribute("aria-describedby") || ""); })()`
	err := chromedp.Do(ctx,
		japanese(base),
		signIn(base, "owner@example.com", "Wrong-Pass-123!"),
		waitText("#signin-message", "正しくありません"),
		read(chromedp.Evaluate[string](state), &signin),
		signIn(base, "owner@example.com", "Kagi-2026-Tokyo!"),
		waitText("#me-login-id", "owner@example.com"),
		chromedp.Navigate(base+"/settings.html"),
		chromedp.WaitVisible(css("#lockout_threshold")),
		fill("#lockout_threshold", "1"),
		fill("#confirm_password", "Kagi-2026-Tokyo!"),
		click("#submit"),
		waitText("#message", "範囲外"),
		read(chromedp.Evaluate[string](state), &settings),
		chromedp.Navigate(base+"/password.html"),
		chromedp.WaitVisible(css("#current_password")),
		fill("#current_password", "Wrong-Pass-123!"),
		fill("#new_password", "Atarashii-Kagi-2026!"),
		fill("#new_password2", "Atarashii-Kagi-2026!"),
		click("#submit"),
		waitText("#message", "現在のパスワード"),
		read(chromedp.Evaluate[string](state), &password),
		// An account whose address is not the tenant's: the address field is marked.
		chromedp.Navigate(base+"/admin.html"),
		click("#create-open"),
		chromedp.WaitVisible(css("#new-login-id")),
		fill("#new-login-id", "someone@elsewhere.example"),
		click("#create-form button[type=submit]"),
		waitText("#create-message", "ドメイン"),
		read(chromedp.Evaluate[string](state), &create),
	)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(settings, "lockout_threshold|true|") || !strings.Contains(settings, "message") {
		t.Errorf("settings: focus %q", settings)
	}
	if !strings.HasPrefix(password, "current_password|true|") {
		t.Errorf("password: focus %q", password)
	}
	if signin != "password|true|signin-message" {
		t.Errorf("sign-in: focus %q", signin)
	}
	if !strings.HasPrefix(create, "new-login-id|true|") {
		t.Errorf("create account: focus %q", create)
	}
}

// Before weakening a setting, the owner sees what it weakens and may step back.
func TestBrowserSettingsWarnBeforeWeakening(t *testing.T) {
	t.Parallel()
	base := startServer(t)
	ctx := browser(t)
	var preset string
	var revokeShown, revokeKept bool
	err := chromedp.Do(ctx,
		japanese(base),
		signIn(base, "owner@example.com", "Kagi-2026-Tokyo!"),
		waitText("#me-login-id", "owner@example.com"),
		chromedp.Navigate(base+"/settings.html"),
		waitText("#preset-rules", "12"),
		chromedp.SetValue(css("#policy_preset"), "legacy3to30"),
		fill("#lockout_threshold", "50"),
		read(chromedp.Evaluate[bool](`document.getElementById("revoke_app_passwords_on_change").checked`), &revokeShown),
		click("#revoke_app_passwords_on_change"),
		fill("#confirm_password", "Kagi-2026-Tokyo!"),
		click("#submit"),
		waitText("#weaken-list", "ルールが弱く"),
		waitText("#weaken-list", "10 回から 50 回"),
		waitText("#weaken-list", "アプリパスワードが使えたまま"),
		click("#weaken-cancel"),
		chromedp.Navigate(base+"/settings.html"),
		waitText("#preset-rules", "12"),
		read(chromedp.Evaluate[string](`document.getElementById("policy_preset").value`), &preset),
		read(chromedp.Evaluate[bool](`document.getElementById("revoke_app_passwords_on_change").checked`), &revokeKept),
	)
	if err != nil {
		t.Fatal(err)
	}
	if preset != "standard12" {
		t.Fatalf("stepping back saved the weaker preset: %s", preset)
	}
	if !revokeShown || !revokeKept {
		t.Fatalf("revoking app passwords on a change: shown on %v, kept on after stepping back %v", revokeShown, revokeKept)
	}
}

// Pages give times in Japan's zone, named, like the emails.
func TestBrowserTimesNameTheirZone(t *testing.T) {
	t.Parallel()
	base := startServer(t)
	ctx := browser(t)
	var ja, en string
	err := chromedp.Do(ctx,
		japanese(base),
		signIn(base, "owner@example.com", "Kagi-2026-Tokyo!"),
		waitText("#me-login-id", "owner@example.com"),
		chromedp.Navigate(base+"/sessions.html"),
		waitText("#sessions", "日本時間"),
		read(chromedp.TextContent(css("#sessions")), &ja),
		click("#lang-switch"),
		waitText("#sessions", "JST"),
		read(chromedp.TextContent(css("#sessions")), &en),
	)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(ja, "UTC") || strings.Contains(en, "UTC") {
		t.Fatalf("a time without Japan's zone: %q / %q", ja, en)
	}
}
