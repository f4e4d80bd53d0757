package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// serviceVerify asks the service check as a mail server would; it returns the status.
func serviceVerify(t *testing.T, base, secret, id, pw string) int {
	t.Helper()
	b, _ := json.Marshal(map[string]string{"login_id": id, "password": pw, "protocol": "imap", "client_ip": "203.0.113.5"})
	req, _ := http.NewRequest("POST", base+"/api/service/verify", bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+secret)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

// The owner makes a service credential on the integrations page and a person with a
// second factor makes an app password on its security page; the mail server's check
// passes with them, and fails once each is revoked from the page.
func TestBrowserAppPasswordsAndServiceCredentials(t *testing.T) {
	t.Parallel()
	base := startServer(t)
	const id, pw = "mail@example.com", "Fuji-Passw0rd-26!"
	createUser(t, base, id, pw)
	mfaSecret := enrolByAPI(t, base, id, pw)
	ctx := browser(t)
	var secret, appPW string
	err := chromedp.Do(ctx,
		japanese(base),
		signIn(base, "owner@example.com", "Kagi-2026-Tokyo!"),
		waitText("#me-login-id", "owner@example.com"),
		click("#integrations-link"),
		waitText("#page-title", "連携"),
		waitText("#service-credentials .cred-empty", "まだありません"),
		fill("#service-credentials-name", "メールサーバー mx1"),
		fill("#service-credentials-password", "Kagi-2026-Tokyo!"),
		click("#service-credentials button[type=submit]"),
		chromedp.WaitVisible(css("#service-credentials .cred-shown")),
		read(chromedp.TextContent(css("#service-credentials .cred-secret")), &secret),
		waitText("#service-credentials tbody", "メールサーバー mx1"),
		click("#service-credentials .cred-done"),
	)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(secret, "ten_") {
		t.Fatalf("secret shown: %q", secret)
	}
	if got := serviceVerify(t, base, secret, id, pw); got != 401 {
		t.Fatalf("the main password of an account with a second factor: %d", got)
	}
	// The person signs in with its code, then makes an app password.
	mailer := browser(t)
	err = chromedp.Do(mailer,
		japanese(base),
		signIn(base, id, pw),
		chromedp.WaitVisible(css("#mfa_code")),
		fillCode(t, "#mfa_code", &mfaSecret, 1),
		click("#mfa-submit"),
		waitText("#me-login-id", id),
		chromedp.Navigate(base+"/security.html"),
		waitText("#app-passwords-title", "アプリパスワード"),
		fill("#app-passwords-name", "Thunderbird"),
		fill("#app-passwords-password", pw),
		click("#app-passwords button[type=submit]"),
		chromedp.WaitVisible(css("#app-passwords .cred-shown")),
		read(chromedp.TextContent(css("#app-passwords .cred-secret")), &appPW),
		waitText("#app-passwords tbody", "Thunderbird"),
	)
	if err != nil {
		t.Fatal(err)
	}
	if got := serviceVerify(t, base, secret, id, appPW); got != 200 {
		t.Fatalf("the app password: %d", got)
	}
	err = chromedp.Do(mailer,
		chromedp.Navigate(base+"/security.html"),
		waitText("#app-passwords tbody", "Thunderbird"),
		chromedp.WaitVisible(css("#app-passwords .revoke")),
		script(`document.querySelector("#app-passwords .revoke").click()`),
		waitText("#app-passwords [data-cred=message]", "取り消しました"),
		chromedp.WaitVisible(css("#app-passwords .cred-empty")),
	)
	if err != nil {
		t.Fatal(err)
	}
	if got := serviceVerify(t, base, secret, id, appPW); got != 401 {
		t.Fatalf("a revoked app password: %d", got)
	}
	// Revoking a service credential needs the owner's password; in English this time.
	err = chromedp.Do(ctx,
		chromedp.Navigate(base+"/integrations.html"),
		click("#lang-switch"),
		waitText("#page-title", "Integrations"),
		waitText("#service-credentials tbody", "Revoke"), // the list, drawn again in English
		click("#service-credentials .revoke"),
		waitText("#service-credentials [data-cred=message]", "enter your own sign-in password"),
		fill("#service-credentials-password", "Kagi-2026-Tokyo!"),
		click("#service-credentials .revoke"),
		waitText("#service-credentials [data-cred=message]", "is revoked"),
	)
	if err != nil {
		t.Fatal(err)
	}
	if got := serviceVerify(t, base, secret, id, pw); got != 401 {
		t.Fatalf("a revoked service credential: %d", got)
	}
}
