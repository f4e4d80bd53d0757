package main

import (
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// snake finds identifiers a person should never read: ASCII snake_case words. IDs that
// are shown on purpose (tenant, account, client, credential IDs) are not words.
var snake = regexp.MustCompile(`\b[a-z][a-z0-9]*_[a-z0-9_]+\b`)

func identifiers(text string) []string {
	var out []string
	for _, w := range snake.FindAllString(text, -1) {
		switch {
		case strings.HasPrefix(w, "ten_"), strings.HasPrefix(w, "acc_"), strings.HasPrefix(w, "oc_"), strings.HasPrefix(w, "svc_"), strings.HasPrefix(w, "apw_"),
			w == "x86_64": // a browser's own description (sessions page)
		default:
			out = append(out, w)
		}
	}
	return out
}

// The signed-in pages, in Japanese, show words, not codes or field names, also after a
// refused form.
func TestBrowserPagesShowWordsNotCodes(t *testing.T) {
	t.Parallel()
	base := startServer(t)
	createUser(t, base, "words@example.com", "Fuji-Passw0rd-26!")
	ctx := browser(t)
	steps := []chromedp.Action[chromedp.Void]{
		japanese(base),
		signIn(base, "owner@example.com", "Kagi-2026-Tokyo!"),
		waitText("#me-login-id", "owner@example.com"),
	}
	texts := map[string]*string{}
	for _, page := range []string{"home", "password", "sessions", "security", "admin", "bulk", "audit", "settings", "integrations"} {
		var text string
		texts[page] = &text
		steps = append(steps, chromedp.Navigate(base+"/"+page+".html"), waitText("header nav", "ホーム"), settled(),
			read(chromedp.Evaluate[string](`document.body.innerText`), &text))
	}
	// Refused forms: a wrong current password, settings out of range, a bad redirect URI.
	var pwErr, settingsErr, oidcErr string
	steps = append(steps,
		chromedp.Navigate(base+"/security.html"),
		fill("#app-passwords-name", "x"),
		fill("#app-passwords-password", "Wrong-Pass-123!"),
		click("#app-passwords button[type=submit]"),
		waitText("#app-passwords [data-cred=message]", "パスワード"),
		read(chromedp.TextContent(css("#app-passwords [data-cred=message]")), &pwErr),
		chromedp.Navigate(base+"/settings.html"),
		chromedp.WaitVisible(css("#lockout_threshold")),
		fill("#lockout_threshold", "1"),
		fill("#confirm_password", "Kagi-2026-Tokyo!"),
		click("#submit"),
		waitText("#message", "範囲外"),
		read(chromedp.TextContent(css("#message")), &settingsErr),
		chromedp.Navigate(base+"/integrations.html"),
		chromedp.WaitVisible(css("#oidc-name")),
		fill("#oidc-name", "x"),
		fill("#oidc-redirects", "http://evil.example/cb"),
		fill("#oidc-password", "Kagi-2026-Tokyo!"),
		click("#oidc-submit"),
		waitText("#oidc-message", "リダイレクト URI"),
		read(chromedp.TextContent(css("#oidc-message")), &oidcErr),
	)
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatal(err)
	}
	for page, text := range texts {
		if ids := identifiers(*text); len(ids) > 0 {
			t.Errorf("%s shows identifiers: %v", page, ids)
		}
	}
	for name, msg := range map[string]string{"wrong password": pwErr, "settings": settingsErr, "redirect URI": oidcErr} {
		if ids := identifiers(msg); len(ids) > 0 || strings.Contains(msg, "(") {
			t.Errorf("%s error shows identifiers: %q", name, msg)
		}
	}
}
