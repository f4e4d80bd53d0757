package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// ruleState waits until the checklist item of code is in state (met, unmet, server).
func ruleState(list, code, state string) chromedp.Action[chromedp.Void] {
	expr := fmt.Sprintf(`(document.querySelector(%q + " li[data-code=%s]") || {}).className || ""`, list, code)
	return poll(func(ctx context.Context, tg *chromedp.Target) (bool, string, error) {
		got, err := chromedp.Evaluate[string](expr)(ctx, tg)
		return err == nil && got == "rule "+state, fmt.Sprintf("rule %s in %s: %q, want %q", code, list, got, state), nil
	})
}

// fill sets an input's value as typing would end up, firing its input event, once the
// page has settled (as click does): a form the page is still filling from the API would
// otherwise take the page's value over the one typed.
func fill(sel, value string) chromedp.Action[chromedp.Void] {
	expr := fmt.Sprintf(`(() => {
  if (document.readyState !== "complete" || Number(document.documentElement.dataset.pending || 0) > 0) return false;
  const el = document.querySelector(%q);
  if (!el) return false;
  el.value = %q;
  el.dispatchEvent(new Event("input", {bubbles: true}));
  return true;
})()`, sel, value)
	return poll(func(ctx context.Context, tg *chromedp.Target) (bool, string, error) {
		done, err := chromedp.Evaluate[bool](expr)(ctx, tg)
		return err == nil && done, fmt.Sprintf("waiting to fill %s (page settled, element there)", sel), nil
	})
}

// waitValue waits until a form control's value contains want.
func waitValue(sel, want string) chromedp.Action[chromedp.Void] {
	return poll(func(ctx context.Context, tg *chromedp.Target) (bool, string, error) {
		got, err := chromedp.Evaluate[string](fmt.Sprintf(`document.querySelector(%q).value`, sel))(ctx, tg)
		return err == nil && strings.Contains(got, want), fmt.Sprintf("waiting for value %q in %s (last %q)", want, sel, got), nil
	})
}

func TestBrowserChangeOwnPassword(t *testing.T) {
	t.Parallel()
	base := startServer(t)
	createUser(t, base, "hiro@example.com", "Fuji-Passw0rd!")
	ctx := browser(t)
	err := chromedp.Do(ctx,
		japanese(base),
		signIn(base, "hiro@example.com", "Fuji-Passw0rd!"),
		waitText("#me-login-id", "hiro@example.com"),
		click("#password-link"),
		waitText("#page-title", "パスワードの変更"),
		waitText("#rules", "12 文字以上"),
		// The checklist reacts as the person types.
		chromedp.SendKeys(css("#new_password"), "abc"),
		ruleState("#rules", "too_short", "unmet"),
		ruleState("#rules", "missing_lower", "met"),
		ruleState("#rules", "missing_upper", "unmet"),
		ruleState("#rules", "same_as_current", "server"),
		chromedp.SendKeys(css("#new_password"), "DEF-12345678"),
		ruleState("#rules", "too_short", "met"),
		ruleState("#rules", "missing_upper", "met"),
		ruleState("#rules", "digit_run", "unmet"),
		fill("#new_password", ""),
		chromedp.SendKeys(css("#new_password"), "xHiro-Kumo-7!"),
		ruleState("#rules", "contains_account", "unmet"),
		// Breaking only rules the server checks: its message is shown.
		fill("#new_password", "Fuji-Passw0rd!"),
		fill("#new_password2", "Fuji-Passw0rd!"),
		chromedp.SendKeys(css("#current_password"), "Fuji-Passw0rd!"),
		click("#submit"),
		waitText("#message", "現在のパスワードと異なる"),
		// A wrong current password is named as such.
		fill("#current_password", "not-it"),
		fill("#new_password", "Kaze-no-Oto-64!"),
		fill("#new_password2", "Kaze-no-Oto-64!"),
		click("#submit"),
		waitText("#message", "現在のパスワードが正しくありません"),
		fill("#current_password", "Fuji-Passw0rd!"),
		click("#submit"),
		waitText("#message", "パスワードを変更しました"),
		// Still signed in here; the new password works from now on.
		chromedp.Navigate(base+"/home.html"),
		waitText("#me-login-id", "hiro@example.com"),
		click("#signout"),
		chromedp.WaitVisible(css("#signin-form")),
		signIn(base, "hiro@example.com", "Kaze-no-Oto-64!"),
		waitText("#me-login-id", "hiro@example.com"),
	)
	if err != nil {
		t.Fatal(err)
	}
}

func TestBrowserAdminSetsPasswordThenForcedChange(t *testing.T) {
	t.Parallel()
	base := startServer(t)
	createUser(t, base, "mika@example.com", "Fuji-Passw0rd!")
	ctx := browser(t)
	row := `tr[data-login-id="mika@example.com"]`
	err := chromedp.Do(ctx,
		japanese(base),
		signIn(base, "owner@example.com", "Kagi-2026-Tokyo!"),
		waitText("#me-login-id", "owner@example.com"),
		chromedp.Navigate(base+"/admin.html"),
		waitText(row, "mika@example.com"),
		openRowAction("mika@example.com", "setpw"),
		chromedp.WaitVisible(css("#setpw-dialog")),
		chromedp.SendKeys(css("#setpw-new"), "short"),
		chromedp.SendKeys(css("#setpw-new2"), "short"),
		chromedp.SendKeys(css("#setpw-confirm"), "Kagi-2026-Tokyo!"),
		click("#setpw-ok"),
		waitText("#setpw-message", "12 文字以上"),
		fill("#setpw-new", "Kari-no-Pass-26!"),
		fill("#setpw-new2", "Kari-no-Pass-26!"),
		click("#setpw-ok"), // "change at next login" is ticked by default
		waitText("#list-message", "パスワードを設定しました"),
		waitText(row, "要パスワード変更"),
		chromedp.Navigate(base+"/home.html"),
		click("#signout"),
		chromedp.WaitVisible(css("#signin-form")),
		// The user signs in with the temporary password and must choose a new one.
		signIn(base, "mika@example.com", "Kari-no-Pass-26!"),
		chromedp.WaitVisible(css("#change-section")),
		waitText("#change-reason", "管理者が設定したパスワード"),
		waitText("#change-rules", "12 文字以上"),
		chromedp.SendKeys(css("#change_password"), "Kari-no-Pass-26!"),
		chromedp.SendKeys(css("#change_password2"), "Kari-no-Pass-26!"),
		click("#change-submit"),
		waitText("#change-message", "現在のパスワードと異なる"),
		fill("#change_password", "Mika-Jishin-no-88!"),
		fill("#change_password2", "Mika-Jishin-no-88!"),
		ruleState("#change-rules", "contains_account", "unmet"),
		fill("#change_password", "Jibun-no-Kagi-88!"),
		fill("#change_password2", "Jibun-no-Kagi-88!"),
		click("#change-submit"),
		waitText("#me-login-id", "mika@example.com"),
	)
	if err != nil {
		t.Fatal(err)
	}
}

func TestBrowserOwnerChangesTenantSettings(t *testing.T) {
	t.Parallel()
	base := startServer(t)
	ctx := browser(t)
	err := chromedp.Do(ctx,
		japanese(base),
		signIn(base, "owner@example.com", "Kagi-2026-Tokyo!"),
		waitText("#me-login-id", "owner@example.com"),
		click("#settings-link"),
		waitText("#tenant-name", "example.com"),
		waitText(`#domain-list li[data-domain="example.com"]`, "未確認"),
		fill("#name", "株式会社サンプル"),
		fill("#policy_preset", "basic8"),
		fill("#max_age_days", "90"),
		fill("#lockout_threshold", "1"),
		fill("#confirm_password", "Kagi-2026-Tokyo!"),
		click("#submit"),
		// basic8 is weaker than standard12: the owner is warned and goes on.
		waitText("#weaken-list", "ルールが弱く"),
		click("#weaken-ok"),
		waitText("#message", "ロックまでの連続失敗回数: 範囲外です"),
		fill("#lockout_threshold", "5"),
		click("#submit"),
		waitText("#weaken-list", "ルールが弱く"),
		click("#weaken-ok"),
		waitText("#message", "設定を保存しました"),
		waitText("#tenant-name", "株式会社サンプル"),
		chromedp.Navigate(base+"/password.html"),
		waitText("#rules", "8 文字以上"),
		waitText("#rules", "16 文字以下"),
		chromedp.Navigate(base+"/home.html"),
		// 90 days from the owner's creation, in Japan's time.
		waitText("#me-expires", time.Now().In(time.FixedZone("JST", 9*3600)).AddDate(0, 0, 90).Format("2006/1/2")),
	)
	if err != nil {
		t.Fatal(err)
	}
}

// A tenant moves to the nist preset; a person whose right password is on the breached
// list is told so at sign-in and chooses another before going on.
func TestBrowserCompromisedPasswordAtSignIn(t *testing.T) {
	t.Parallel()
	base := startServer(t)
	createUser(t, base, "kumi@example.com", "Password-2026!") // fine under standard12
	owner := apiAs(t, base, "owner@example.com", "Kagi-2026-Tokyo!")
	res := owner("GET", "/api/admin/tenant", nil)
	var set map[string]any
	json.NewDecoder(res.Body).Decode(&set)
	res.Body.Close()
	set["policy_preset"], set["confirm_password"] = "nist", "Kagi-2026-Tokyo!"
	if res := owner("PUT", "/api/admin/tenant", set); res.StatusCode != 200 {
		t.Fatalf("to nist: %d", res.StatusCode)
	}
	ctx := browser(t)
	err := chromedp.Do(ctx,
		japanese(base),
		signIn(base, "kumi@example.com", "Password-2026!"),
		waitText("#change-reason", "流出したパスワード"),
		chromedp.SendKeys(css("#change_password"), "kawa no sakana mori"),
		chromedp.SendKeys(css("#change_password2"), "kawa no sakana mori"),
		click("#change-submit"),
		waitText("#me-login-id", "kumi@example.com"),
	)
	if err != nil {
		t.Fatal(err)
	}
}
