package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// totpCode is an authenticator app's code for secret (spaces allowed), steps of 30 s from now.
func totpCode(t *testing.T, secret string, steps int) string {
	t.Helper()
	c, err := totp.GenerateCodeCustom(strings.ReplaceAll(secret, " ", ""), time.Now().Add(time.Duration(steps)*30*time.Second),
		totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// fillCode types the app's code into sel when the action runs (steps from now).
func fillCode(t *testing.T, sel string, secret *string, steps int) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := fill(sel, totpCode(t, *secret, steps))(ctx, tg)
		return err
	})
}

// script runs a line of JavaScript in the page.
func script(js string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := chromedp.Evaluate[any](js)(ctx, tg)
		return err
	})
}

// enrolByAPI turns the second factor on for id through the API and returns its secret.
func enrolByAPI(t *testing.T, base, id, pw string) string {
	t.Helper()
	call := apiAs(t, base, id, pw)
	res := call("POST", "/api/me/mfa/totp/setup", map[string]string{"current_password": pw})
	var e struct {
		Secret string `json:"secret"`
	}
	json.NewDecoder(res.Body).Decode(&e)
	res.Body.Close()
	res = call("POST", "/api/me/mfa/totp/confirm", map[string]string{"code": totpCode(t, e.Secret, 0)})
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("enrol %s: %d", id, res.StatusCode)
	}
	return e.Secret
}

// The person turns the second factor on from its security page, keeps its recovery
// codes, signs in with a code and has the browser remembered, and signs in elsewhere
// with a recovery code.
func TestBrowserSecondFactor(t *testing.T) {
	t.Parallel()
	base := startServer(t)
	const id, pw = "mika@example.com", "Fuji-Passw0rd-26!"
	createUser(t, base, id, pw)
	ctx := browser(t)
	var secret string
	var codes []string
	codesShown := `[...document.querySelectorAll("#codes-section ol.codes li")].map((li) => li.textContent)`
	err := chromedp.Do(ctx,
		japanese(base),
		signIn(base, id, pw),
		waitText("#me-mfa", "無効"),
		click("#security-link"),
		waitText("#page-title", "セキュリティ"),
		waitText("#mfa-status", "無効"),
		fill("#enable_password", pw),
		click("#enable-submit"),
		chromedp.WaitVisible(css("#enrol img.qr")),
		waitText("#secret", " "),
		read(chromedp.TextContent(css("#secret")), &secret),
		fillCode(t, "#confirm_code", &secret, 0),
		click("#confirm-submit"),
		chromedp.WaitVisible(css("#codes-section")),
		read(chromedp.Evaluate[[]string](codesShown), &codes),
	)
	if err != nil {
		t.Fatal(err)
	}
	if len(codes) != 10 || len(strings.ReplaceAll(secret, " ", "")) != 32 {
		t.Fatalf("secret %q, codes %v", secret, codes)
	}
	var blocked bool
	err = chromedp.Do(ctx,
		read(chromedp.Evaluate[bool](`document.querySelector("#codes-section button.continue").disabled`), &blocked),
		click("#codes-saved"),
		click("#codes-section button.continue"),
		waitText("#mfa-status", "有効"),
		waitText("#mfa-codes-left", "10"),
		chromedp.Navigate(base+"/home.html"),
		waitText("#me-mfa", "有効"),
		click("#signout"),
		chromedp.WaitVisible(css("#signin-form")),
		// The password alone no longer signs in: the code screen comes, and this browser
		// is remembered.
		signIn(base, id, pw),
		chromedp.WaitVisible(css("#mfa_code")),
		waitText("#mfa-title", "2段階認証"),
		fill("#mfa_code", "000000"),
		click("#mfa-submit"),
		waitText("#mfa-message", "確認コードが正しくありません"),
		fillCode(t, "#mfa_code", &secret, 1),
		click("#remember_browser"),
		click("#mfa-submit"),
		waitText("#me-login-id", id),
		click("#signout"),
		chromedp.WaitVisible(css("#signin-form")),
		signIn(base, id, pw),
		waitText("#me-login-id", id), // remembered: no code
	)
	if err != nil {
		t.Fatal(err)
	}
	if !blocked {
		t.Fatal("the recovery codes could be left before saying they were saved")
	}

	// Another browser, in English, with a recovery code ("remember this browser" is for
	// the app's codes only, and goes).
	other := browser(t)
	var rememberShown bool
	err = chromedp.Do(other,
		chromedp.Navigate(base+"/index.html"),
		script(`localStorage.setItem("kagiya.lang", "en")`),
		signIn(base, id, pw),
		waitText("#mfa-title", "Two-step verification"),
		click("#use-recovery"),
		chromedp.WaitVisible(css("#recovery_code")),
		read(chromedp.Evaluate[bool](`document.getElementById("remember-label").checkVisibility()`), &rememberShown),
		fill("#recovery_code", strings.ToUpper(codes[2])),
		click("#mfa-submit"),
		waitText("#me-login-id", id),
		chromedp.Navigate(base+"/security.html"),
		waitText("#mfa-status", "On"),
		waitText("#mfa-codes-left", "9"),
	)
	if err != nil {
		t.Fatal(err)
	}
	if rememberShown {
		t.Fatal(`"remember this browser" is shown with a recovery code`)
	}
}

// Wrong codes lock the second factor; the administrator sees it in the account list and
// releases it, and the person's code works again.
func TestBrowserSecondFactorLockReleasedByAdministrator(t *testing.T) {
	t.Parallel()
	base := startServer(t)
	const id, pw = "kenji@example.com", "Fuji-Passw0rd-26!"
	createUser(t, base, id, pw)
	secret := enrolByAPI(t, base, id, pw)
	person := browser(t)
	steps := []chromedp.Action[chromedp.Void]{japanese(base), signIn(base, id, pw), chromedp.WaitVisible(css("#mfa_code"))}
	for i := range 5 {
		want := "確認コードが正しくありません"
		if i == 4 {
			want = "利用停止"
		}
		steps = append(steps, fill("#mfa_code", fmt.Sprintf("%06d", 111111*(i+1)%1000000)), click("#mfa-submit"),
			waitText("#mfa-message", want), script(`document.querySelector("#mfa-message").textContent = ""`))
	}
	if err := chromedp.Do(person, steps...); err != nil {
		t.Fatal(err)
	}
	admin := browser(t)
	err := chromedp.Do(admin,
		japanese(base),
		signIn(base, "owner@example.com", "Kagi-2026-Tokyo!"),
		waitText("#me-login-id", "owner@example.com"),
		chromedp.Navigate(base+"/admin.html"),
		waitText("#accounts", id),
		chromedp.SetValue(css("#state"), "mfa_locked"),
		click("#search-form button[type=submit]"),
		waitText("#accounts", "2段階認証 停止中"),
		// By script: the list may render again (its count, the language) between finding
		// the box and clicking it.
		script(`document.querySelector('#accounts input.pick[value="`+id+`"]').click()`),
		click("#mfa-unlock-selected"),
		waitText("#unlock-title", "2段階認証の利用停止の解除"),
		fill("#unlock-confirm", "Kagi-2026-Tokyo!"),
		click("#unlock-ok"),
		waitText("#list-message", "2段階認証の利用停止を解除しました: "+id),
	)
	if err != nil {
		t.Fatal(err)
	}
	err = chromedp.Do(person,
		fillCode(t, "#mfa_code", &secret, 1),
		click("#mfa-submit"),
		waitText("#me-login-id", id),
	)
	if err != nil {
		t.Fatal(err)
	}
	// The person lost its phone: the administrator resets the second factor.
	err = chromedp.Do(admin,
		chromedp.SetValue(css("#state"), "mfa_enabled"),
		click("#search-form button[type=submit]"),
		waitText("#accounts", id),
		openRowAction(id, "mfareset"),
		chromedp.WaitVisible(css("#mfareset-dialog")),
		fill("#mfareset-confirm", "Kagi-2026-Tokyo!"),
		click("#mfareset-ok"),
		waitText("#list-message", "2段階認証をリセットしました"),
		chromedp.Navigate(base+"/home.html"),
		click("#signout"),
		chromedp.WaitVisible(css("#signin-form")),
	)
	if err != nil {
		t.Fatal(err)
	}
	err = chromedp.Do(person,
		chromedp.Navigate(base+"/home.html"),
		click("#signout"),
		chromedp.WaitVisible(css("#signin-form")),
		signIn(base, id, pw),
		waitText("#me-mfa", "無効"),
	)
	if err != nil {
		t.Fatal(err)
	}
}

// With the tenant requiring a second factor, a person without one enrols during its
// sign-in and is signed in once it has kept its recovery codes.
func TestBrowserSecondFactorRequiredByTenant(t *testing.T) {
	t.Parallel()
	base := startServer(t)
	const id, pw = "yui@example.com", "Fuji-Passw0rd-26!"
	createUser(t, base, id, pw)
	owner := browser(t)
	const ownerPW = "Kagi-2026-Tokyo!"
	err := chromedp.Do(owner,
		japanese(base),
		signIn(base, "owner@example.com", ownerPW),
		waitText("#me-login-id", "owner@example.com"),
		chromedp.Navigate(base+"/settings.html"),
		waitValue("#otp_lock_threshold", "5"),
		waitValue("#remember_browser_days", "30"),
		click("#mfa_required"),
		fill("#confirm_password", ownerPW),
		click("#submit"),
		waitText("#message", "保存しました"),
	)
	if err != nil {
		t.Fatal(err)
	}
	ctx := browser(t)
	var secret string
	err = chromedp.Do(ctx,
		japanese(base),
		signIn(base, id, pw),
		waitText("#enrol-title", "2段階認証の設定が必要です"),
		chromedp.WaitVisible(css("#enrol-section img.qr")),
		waitText("#enrol-section code.secret", " "),
		read(chromedp.TextContent(css("#enrol-section code.secret")), &secret),
		fillCode(t, "#enrol_code", &secret, 0),
		click("#enrol-submit"),
		chromedp.WaitVisible(css("#codes-section ol.codes li")),
		click("#codes-saved"),
		click("#codes-section button.continue"),
		waitText("#me-login-id", id),
		waitText("#me-mfa", "有効"),
		chromedp.Navigate(base+"/security.html"),
		chromedp.WaitVisible(css("#mfa-required-note")),
	)
	if err != nil {
		t.Fatal(err)
	}
	var disableShown bool
	if err := chromedp.Do(ctx, read(chromedp.Evaluate[bool](`!document.querySelector("#disable-form").hidden`), &disableShown)); err != nil || disableShown {
		t.Fatalf("turning it off is offered where the tenant requires it (%v)", err)
	}
	// Turning the rule off shows the manual's warning first; "keep it" changes nothing.
	var required bool
	err = chromedp.Do(owner,
		click("#mfa_required"),
		fill("#confirm_password", ownerPW),
		click("#submit"),
		chromedp.WaitVisible(css("#mfa-off-dialog")),
		waitText("#mfa-off-dialog", "不正ログインのリスクが高まります"),
		click("#mfa-off-cancel"),
		chromedp.Navigate(base+"/settings.html"),
		waitValue("#otp_lock_threshold", "5"),
		read(chromedp.Evaluate[bool](`document.querySelector("#mfa_required").checked`), &required),
	)
	if err != nil || !required {
		t.Fatalf("kept after cancelling: %v (%v)", required, err)
	}
	err = chromedp.Do(owner,
		click("#mfa_required"),
		fill("#confirm_password", ownerPW),
		click("#submit"),
		chromedp.WaitVisible(css("#mfa-off-dialog")),
		click("#mfa-off-ok"),
		waitText("#message", "保存しました"),
		chromedp.Navigate(base+"/settings.html"),
		waitValue("#otp_lock_threshold", "5"),
		read(chromedp.Evaluate[bool](`document.querySelector("#mfa_required").checked`), &required),
	)
	if err != nil || required {
		t.Fatalf("still required after confirming: %v (%v)", required, err)
	}
}
