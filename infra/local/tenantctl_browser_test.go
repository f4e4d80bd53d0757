package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/chromedp/chromedp"
)

// The manuals' tenant controls on the site (issue 25), in Japanese and English.

// tenantWords are what the pages say in one language.
type tenantWords struct {
	lang                                string
	warned, saved, invalid, confirmName string
	notSet, confirmSaved, unlocked      string
	unset, set                          string
}

var tenantLangs = []tenantWords{
	{lang: "ja", warned: "今の接続元（127.0.0.1）は", saved: "設定を保存しました", invalid: "接続を許可するネットワーク: 正しくありません",
		confirmName: "確認のため、あなたの確認用パスワード", notSet: "確認用パスワードが設定されていない", confirmSaved: "確認用パスワードを保存しました",
		unlocked: "1件のロックを解除しました", unset: "未設定", set: "設定済み"},
	{lang: "en", warned: "Your current address (127.0.0.1) is not", saved: "Settings saved", invalid: "Allowed networks: ",
		confirmName: "To confirm, your confirmation password", notSet: "You have no confirmation password yet", confirmSaved: "Your confirmation password is saved",
		unlocked: "1 unlocked", unset: "Not set", set: "Set"},
}

// inLanguage starts a browser profile in lang.
func inLanguage(base, lang string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(chromedp.Navigate(base+"/index.html"), script(`localStorage.setItem("kagiya.lang", "`+lang+`")`))
}

// tenantSettings reads the owner's tenant through the API.
func tenantSettings(t *testing.T, call func(method, path string, body any) *http.Response) map[string]any {
	t.Helper()
	res := call("GET", "/api/admin/tenant", nil)
	defer res.Body.Close()
	var set map[string]any
	json.NewDecoder(res.Body).Decode(&set)
	return set
}

// The owner lists allowed networks on the settings page: a range that is no range is
// named, a list without the owner's current address (127.0.0.1, the peer locally) is
// saved only after a warning, and one with it is saved without.
func TestBrowserOwnerSetsAllowedNetworksWithAWarning(t *testing.T) {
	for _, w := range tenantLangs {
		t.Run(w.lang, func(t *testing.T) {
			base := startServer(t)
			owner := apiAs(t, base, "owner@example.com", "Kagi-2026-Tokyo!")
			ctx := browser(t)
			var open bool
			err := chromedp.Do(ctx,
				inLanguage(base, w.lang),
				signIn(base, "owner@example.com", "Kagi-2026-Tokyo!"),
				waitText("#me-login-id", "owner@example.com"),
				chromedp.Navigate(base+"/settings.html"),
				settled(),
				fill("#allowed_networks", "192.0.2.0/33"),
				fill("#confirm_password", "Kagi-2026-Tokyo!"),
				click("#submit"),
				waitText("#message", w.invalid),
				// Outside the list: warned, and nothing saved when the owner stops.
				fill("#allowed_networks", "192.0.2.0/24\n2001:db8::/32"),
				fill("#confirm_password", "Kagi-2026-Tokyo!"),
				click("#submit"),
				chromedp.WaitVisible(css("#routes-dialog")),
				waitText("#routes-warning", w.warned),
				click("#routes-cancel"),
				chromedp.WaitNotVisible(css("#routes-dialog")),
			)
			if err != nil {
				t.Fatal(err)
			}
			if nets := tenantSettings(t, owner)["allowed_networks"].([]any); len(nets) != 0 {
				t.Fatalf("saved after the owner stopped: %v", nets)
			}
			err = chromedp.Do(ctx,
				click("#submit"),
				chromedp.WaitVisible(css("#routes-dialog")),
				click("#routes-ok"),
				waitText("#message", w.saved),
				waitValue("#allowed_networks", "2001:db8::/32"),
			)
			if err != nil {
				t.Fatal(err)
			}
			if nets := tenantSettings(t, owner)["allowed_networks"].([]any); len(nets) != 2 || nets[0] != "192.0.2.0/24" {
				t.Fatalf("after the warning: %v", nets)
			}
			// A list with the owner's address is saved without a warning.
			err = chromedp.Do(ctx,
				script(`document.getElementById("message").textContent = ""`),
				fill("#allowed_networks", "127.0.0.0/8"),
				fill("#confirm_password", "Kagi-2026-Tokyo!"),
				click("#submit"),
				waitValue("#allowed_networks", "127.0.0.0/8"),
				waitText("#message", w.saved),
				read(chromedp.Evaluate[bool](`document.getElementById("routes-dialog").open`), &open),
			)
			if err != nil {
				t.Fatal(err)
			}
			if nets := tenantSettings(t, owner)["allowed_networks"].([]any); open || len(nets) != 1 || nets[0] != "127.0.0.0/8" {
				t.Fatalf("with the owner's address: warned %t, saved %v", open, nets)
			}
		})
	}
}

// An administrator of a tenant that confirms with a separate password is told to set it,
// sets it on the security page, and confirms an unlock with it; every confirmation field
// names the confirmation password.
func TestBrowserAdminConfirmsAnUnlockWithItsConfirmationPassword(t *testing.T) {
	for _, w := range tenantLangs {
		t.Run(w.lang, func(t *testing.T) {
			base := startServer(t)
			const adminID, adminPW, confirmPW = "kanri@example.com", "Sakura-Passw0rd-9", "Kakunin-Sora-77!"
			createUser(t, base, "taro@example.com", "Fuji-Passw0rd-26!")
			owner := apiAs(t, base, "owner@example.com", "Kagi-2026-Tokyo!")
			res := owner("POST", "/api/admin/accounts", map[string]any{"login_id": adminID, "role": "admin", "password": adminPW, "confirm_password": "Kagi-2026-Tokyo!"})
			res.Body.Close()
			if res.StatusCode != 201 {
				t.Fatalf("create admin: %d", res.StatusCode)
			}
			set := tenantSettings(t, owner)
			set["confirmation_password"], set["confirm_password"] = "separate", "Kagi-2026-Tokyo!"
			if res := owner("PUT", "/api/admin/tenant", set); res.StatusCode != 200 {
				t.Fatalf("separate: %d", res.StatusCode)
			}
			for range 10 { // taro is locked by wrong passwords
				res, err := http.Post(base+"/api/login", "application/json", bytes.NewReader([]byte(`{"login_id":"taro@example.com","password":"wrong-password"}`)))
				if err != nil {
					t.Fatal(err)
				}
				res.Body.Close()
			}
			pick := `#accounts tr[data-login-id="taro@example.com"] input.pick`
			ctx := browser(t)
			err := chromedp.Do(ctx,
				inLanguage(base, w.lang),
				signIn(base, adminID, adminPW),
				waitText("#me-login-id", adminID),
				chromedp.Navigate(base+"/admin.html"),
				waitText("#accounts", "taro@example.com"),
				click(pick),
				click("#unlock-selected"),
				chromedp.WaitVisible(css("#unlock-dialog")),
				waitText(`label[for="unlock-confirm"]`, w.confirmName),
				fill("#unlock-confirm", adminPW),
				click("#unlock-ok"),
				waitText("#unlock-message", w.notSet),
				chromedp.Navigate(base+"/security.html"),
				chromedp.WaitVisible(css("#confirmation-section")),
				waitText("#confirmation-status", w.unset),
				fill("#confirmation_current", adminPW),
				fill("#confirmation_new", adminPW),
				fill("#confirmation_new2", adminPW),
				click("#confirmation-submit"),
				waitText("#confirmation-message", map[string]string{"ja": "ログインパスワードと同じです", "en": "It is the sign-in password"}[w.lang]),
				fill("#confirmation_current", adminPW),
				fill("#confirmation_new", confirmPW),
				fill("#confirmation_new2", confirmPW),
				click("#confirmation-submit"),
				waitText("#confirmation-message", w.confirmSaved),
				waitText("#confirmation-status", w.set),
				chromedp.Navigate(base+"/admin.html"),
				waitText("#accounts", "taro@example.com"),
				click(pick),
				click("#unlock-selected"),
				chromedp.WaitVisible(css("#unlock-dialog")),
				waitText(`label[for="unlock-confirm"]`, w.confirmName),
				fill("#unlock-confirm", confirmPW),
				click("#unlock-ok"),
				waitText("#list-message", w.unlocked),
			)
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}

// A person outside the allowed networks (the browser comes from 127.0.0.1; only
// 127.0.0.2 is allowed) is told at the sign-in page to come from an allowed network or
// ask the administrator.
func TestBrowserSignInOutsideAllowedNetworksIsExplained(t *testing.T) {
	for lang, want := range map[string]string{"ja": "管理者にお問い合わせください", "en": "contact your administrator"} {
		t.Run(lang, func(t *testing.T) {
			base := startServer(t)
			createUser(t, base, "taro@example.com", "Fuji-Passw0rd-26!")
			owner := apiAs(t, base, "owner@example.com", "Kagi-2026-Tokyo!")
			set := tenantSettings(t, owner)
			set["allowed_networks"], set["confirm_password"] = []string{"127.0.0.2/32"}, "Kagi-2026-Tokyo!"
			if res := owner("PUT", "/api/admin/tenant", set); res.StatusCode != 200 {
				t.Fatalf("allowed networks: %d", res.StatusCode)
			}
			err := chromedp.Do(browser(t),
				inLanguage(base, lang),
				signIn(base, "taro@example.com", "Fuji-Passw0rd-26!"),
				waitText("#signin-message", want),
			)
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}
