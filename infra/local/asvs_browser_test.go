package main

import (
	"context"
	"fmt"
	"testing"

	"github.com/chromedp/chromedp"
)

// ASVS 2.1.11: paste, browser password helpers and password managers are allowed (the
// fields name what they hold for password managers, and nothing blocks pasting).
// ASVS 2.1.12: the person can see the password it typed.
func TestASVS_2_1_11_and_2_1_12_PasswordFieldsHelpPeople(t *testing.T) {
	t.Parallel()
	base := startServer(t)
	ctx := browser(t)
	typeOf := func(want string) chromedp.Action[chromedp.Void] {
		return poll(func(ctx context.Context, tg *chromedp.Target) (bool, string, error) {
			got, err := chromedp.Evaluate[string](`document.getElementById("password").type`)(ctx, tg)
			return got == want, fmt.Sprintf("password field is %q, want %q", got, want), err
		})
	}
	var autocomplete string
	var pasted bool
	err := chromedp.Do(ctx,
		japanese(base),
		chromedp.Navigate(base+"/index.html"),
		chromedp.WaitVisible(css("#password")),
		read(chromedp.Evaluate[string](`document.getElementById("password").autocomplete + " " + document.getElementById("login_id").autocomplete`), &autocomplete),
		// A paste event that nobody cancels: the page does not block pasting.
		read(chromedp.Evaluate[bool](`(() => { const e = new ClipboardEvent("paste", {cancelable: true}); return document.getElementById("password").dispatchEvent(e) })()`), &pasted),
		chromedp.SendKeys(css("#password"), "Kagi-2026-Tokyo!"),
		typeOf("password"),
		waitText("#password + button.reveal", "表示"),
		click("#password + button.reveal"),
		typeOf("text"),
		waitText("#password + button.reveal", "隠す"),
		click("#password + button.reveal"),
		typeOf("password"),
	)
	if err != nil {
		t.Fatal(err)
	}
	if autocomplete != "current-password username webauthn" || !pasted { // webauthn: the login ID field offers passkeys (conditional UI)
		t.Fatalf("autocomplete %q, paste allowed %v", autocomplete, pasted)
	}
}
