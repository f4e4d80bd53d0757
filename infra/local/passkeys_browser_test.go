package main

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"
)

// virtualAuthenticator gives the tab a platform authenticator as Chromium's DevTools
// emulate one: it keeps resident keys (passkeys) and verifies the person (a PIN or a
// fingerprint, always right here).
func virtualAuthenticator() chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		if _, err := cdp.Call(ctx, tg, webauthn.Enable, webauthn.EnableParams{}); err != nil {
			return err
		}
		_, err := cdp.Call(ctx, tg, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{Options: &webauthn.VirtualAuthenticatorOptions{
			Protocol: webauthn.AuthenticatorProtocolCtap2, Ctap2version: webauthn.Ctap2versionCtap21, Transport: webauthn.AuthenticatorTransportInternal,
			HasResidentKey: true, HasUserVerification: true, IsUserVerified: true, AutomaticPresenceSimulation: true,
			DefaultBackupEligibility: true, DefaultBackupState: true}})
		return err
	})
}

// noAutofillWhenAsked makes the page's browser say it has no passkey autofill
// (conditional UI) once localStorage holds kagiya.test.no-autofill: the virtual
// authenticator answers an autofill request at once, so the button is tested that way.
func noAutofillWhenAsked() chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: `
if (localStorage.getItem("kagiya.test.no-autofill") && window.PublicKeyCredential) {
  PublicKeyCredential.isConditionalMediationAvailable = async () => false;
}`})
		return err
	})
}

// signedInOnSignInPage waits until the sign-in page shows its home section for id: the
// sign-in happened there (the home page itself has no sign-in title).
func signedInOnSignInPage(id string) chromedp.Action[chromedp.Void] {
	return poll(func(ctx context.Context, tg *chromedp.Target) (bool, string, error) {
		got, err := chromedp.Evaluate[string](`document.getElementById("signin-title") && !document.getElementById("home-section").hidden ? document.getElementById("me-login-id").textContent : ""`)(ctx, tg)
		return err == nil && got == id, fmt.Sprintf("waiting to be signed in as %s on the sign-in page (last %q)", id, got), nil
	})
}

// localhostOf is the local server's address with localhost for its host: the origin
// passkeys belong to (browsers take no IP address as a relying party).
func localhostOf(base string) string {
	_, port, _ := strings.Cut(strings.TrimPrefix(base, "http://"), ":")
	return "http://localhost:" + port
}

// A person adds a passkey on its security page, signs out, and signs in with the passkey
// alone (the browser's autofill of the login ID field offers it; then, where the browser
// has no autofill, the 「パスキーでログイン」 button), in Japanese and in English; then
// renames and removes it.
func TestBrowserPasskeys(t *testing.T) {
	base := localhostOf(startServer(t))
	for _, lang := range []struct {
		code, id, added, signin, renamed, removed, empty string
	}{
		{"ja", "kaori@example.com", "パスキー「仕事用の電話」を追加しました。", "パスキーでログイン", "名前を「私物の電話」に変更しました。", "パスキー「私物の電話」を削除しました。", "パスキーはまだありません。"},
		{"en", "kate@example.com", "The passkey “仕事用の電話” is added.", "Sign in with a passkey", "Renamed to “私物の電話”.", "The passkey “私物の電話” is removed.", "You have no passkeys."},
	} {
		t.Run(lang.code, func(t *testing.T) {
			const pw = "Fuji-Passw0rd-26!"
			createUser(t, base, lang.id, pw)
			ctx := browser(t)
			var lastUsed string
			err := chromedp.Do(ctx,
				chromedp.Navigate(base+"/index.html"),
				script(`localStorage.setItem("kagiya.lang", "`+lang.code+`")`),
				virtualAuthenticator(),
				noAutofillWhenAsked(),
				signIn(base, lang.id, pw),
				waitText("#me-login-id", lang.id),
				click("#security-link"),
				waitText("#passkeys .passkey-empty", lang.empty),
				fill("#passkey_name", "仕事用の電話"),
				fill("#passkey_password", pw),
				click("#passkey-add"),
				waitText("#passkey-message", lang.added),
				waitText("#passkeys tbody", "仕事用の電話"),
				// Signed out, the sign-in page's autofill offers the passkey (the virtual
				// authenticator takes it at once).
				chromedp.Navigate(base+"/home.html"),
				click("#signout"),
				signedInOnSignInPage(lang.id),
				// Without autofill, the button.
				script(`localStorage.setItem("kagiya.test.no-autofill", "1")`),
				chromedp.Navigate(base+"/home.html"),
				click("#signout"),
				chromedp.WaitVisible(css("#signin-form")),
				waitText("#passkey-signin", lang.signin),
				click("#passkey-signin"),
				signedInOnSignInPage(lang.id),
				script(`localStorage.removeItem("kagiya.test.no-autofill")`),
				// The security page shows its use; rename it, then remove it.
				click("#security-link"),
				waitText("#passkeys tbody tr:first-child td:nth-child(1)", "仕事用の電話"),
				read(chromedp.TextContent(css("#passkeys tbody tr:first-child td:nth-child(3)")), &lastUsed),
				click("#passkeys tbody button.rename"),
				fill("#passkeys form.inline-rename input", "私物の電話"),
				click("#passkeys form.inline-rename button[type=submit]"),
				waitText("#passkey-message", lang.renamed),
				click("#passkeys tbody button.remove"),
				click("#passkeys tbody button.remove-ok"),
				waitText("#passkey-message", lang.removed),
				waitText("#passkeys .passkey-empty", lang.empty),
			)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(lastUsed, "2026") && !strings.Contains(lastUsed, "20") || strings.Contains(lastUsed, "なし") || strings.Contains(lastUsed, "never") {
				t.Fatalf("the passkey's last use after signing in with it: %q", lastUsed)
			}
		})
	}
}

// A passkey given as the second factor after the password offers "remember this
// browser" as a code does: chosen, the next password sign-in in that browser skips the
// step; the security page counts the browser and forgets it, and the step is asked
// again. In Japanese and in English.
func TestBrowserPasskeyStepRemembersTheBrowser(t *testing.T) {
	base := localhostOf(startServer(t))
	for _, lang := range []struct {
		code, id, remember, added, forgotten string
	}{
		{"ja", "kenji@example.com", "このブラウザーを記憶する", "パスキー「鍵」を追加しました。", "記憶していたブラウザーをすべて消しました。"},
		{"en", "ken@example.com", "Remember this browser", "The passkey “鍵” is added.", "All remembered browsers are forgotten."},
	} {
		t.Run(lang.code, func(t *testing.T) {
			const pw = "Fuji-Passw0rd-26!"
			createUser(t, base, lang.id, pw)
			ctx := browser(t)
			signOutThenIn := chromedp.Steps(
				chromedp.Navigate(base+"/home.html"),
				click("#signout"),
				chromedp.WaitVisible(css("#signin-form")),
				signIn(base, lang.id, pw),
			)
			var remembered string
			err := chromedp.Do(ctx,
				chromedp.Navigate(base+"/index.html"),
				script(`localStorage.setItem("kagiya.lang", "`+lang.code+`"); localStorage.setItem("kagiya.test.no-autofill", "1")`),
				virtualAuthenticator(),
				noAutofillWhenAsked(),
				signIn(base, lang.id, pw),
				waitText("#me-login-id", lang.id),
				click("#security-link"),
				fill("#passkey_name", "鍵"),
				fill("#passkey_password", pw),
				click("#passkey-add"),
				waitText("#passkey-message", lang.added),
				// The password, then the passkey with "remember this browser".
				signOutThenIn,
				chromedp.WaitVisible(css("#mfa-passkey")),
				waitText("#remember-label", lang.remember),
				click("#remember_browser"),
				click("#mfa-passkey"),
				waitText("#me-login-id", lang.id),
				// The next password sign-in skips the step.
				signOutThenIn,
				signedInOnSignInPage(lang.id),
				// The security page counts the browser and forgets it.
				click("#security-link"),
				waitText("#mfa-remembered", "1"),
				read(chromedp.TextContent(css("#mfa-remembered")), &remembered),
				click("#forget"),
				waitText("#message", lang.forgotten),
				signOutThenIn,
				chromedp.WaitVisible(css("#mfa-passkey")),
			)
			if err != nil {
				t.Fatal(err)
			}
			if remembered != "1" {
				t.Errorf("remembered browsers: %q", remembered)
			}
		})
	}
}
