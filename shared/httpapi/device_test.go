package httpapi_test

import (
	"strings"
	"testing"

	"github.com/kagiya/kagiya/shared/account"
)

// The review's finding: after the owner resets its password, guesses from elsewhere
// re-lock the account at once, again and again. With known browsers (the default), the
// guesses lock the account for unknown clients only; the person's own browser keeps
// signing in, and its own wrong guesses count against it alone.
func TestKnownBrowsersKeepSigningInWhileGuessesLockOthersOut(t *testing.T) {
	e := newEnv(t, withConfig(noThrottle), withSettings(account.Settings{LockoutThreshold: 3}))
	e.withUser(userID, "user")
	home := e.client()
	if res := home.login(userID, userPW); res.status != 200 || home.device == nil || !home.device.HttpOnly || home.device.MaxAge < 300*24*3600 {
		t.Fatalf("first sign-in: %d device cookie %+v", res.status, home.device)
	}
	for range 5 {
		e.client().login(userID, "Guess-0000-Guess!")
	}
	if !e.account(userID).Locked() {
		t.Fatal("guesses from unknown clients did not lock the account")
	}
	if n := len(lockMails(e)); n != 1 {
		t.Fatalf("%d lock emails, want 1", n)
	}
	if res := e.client().login(userID, userPW); res.status != 401 {
		t.Fatalf("an unknown client signs in to a locked account: %d", res.status)
	}
	if res := home.login(userID, userPW); res.status != 200 {
		t.Fatalf("the known browser is locked out: %d %s", res.status, res.body)
	}
	if res := home.do("GET", "/api/me", nil); res.status != 200 {
		t.Fatalf("the known browser's session: %d", res.status)
	}
	if !e.account(userID).Locked() {
		t.Fatal("the known browser's sign-in lifted the lock for everyone")
	}
	// Another account's device cookie, or a forged one, is an unknown client.
	other := e.client()
	other.device = home.device
	if res := other.login(ownerID, ownerPW); res.status != 200 {
		t.Fatalf("owner sign-in: %d", res.status)
	}
	forged := e.client()
	fake := *home.device
	fake.Value = strings.Repeat("A", 22) + "." + strings.Repeat("B", 22)
	forged.device = &fake
	if res := forged.login(userID, userPW); res.status != 401 {
		t.Fatalf("a forged device cookie signs in to a locked account: %d", res.status)
	}
	// The known browser's own wrong guesses, at the threshold, end its trust.
	for range 3 {
		home.login(userID, "Typo-Typo-Typo-1!")
	}
	if res := home.login(userID, userPW); res.status != 401 {
		t.Fatalf("a browser that guessed wrong 3 times is still trusted: %d", res.status)
	}
	if !strings.Contains(e.auditActions(t), "device.untrusted:ok") {
		t.Fatalf("audit: %s", e.auditActions(t))
	}
}

func TestLockoutScopeAccountLocksEveryClient(t *testing.T) {
	e := newEnv(t, withConfig(noThrottle), withSettings(account.Settings{LockoutThreshold: 3, LockoutScope: account.ScopeAccount}))
	e.withUser(userID, "user")
	home := e.signedIn(userID, userPW)
	for range 3 {
		e.client().login(userID, "Guess-0000-Guess!")
	}
	if res := home.login(userID, userPW); res.status != 401 {
		t.Fatalf("a known browser signs in to an account locked for everyone: %d", res.status)
	}
	if res := home.do("GET", "/api/me", nil); res.status != 401 {
		t.Fatalf("a session survived a lock for everyone: %d", res.status)
	}
}

// A sign-in from a browser the account has not used sends a "new sign-in" email (not
// for the account's very first sign-in, not from a known browser, not when the tenant
// turns it off).
func TestASVS_2_2_3_NewDeviceEmail(t *testing.T) {
	e := newEnv(t, withConfig(noThrottle))
	e.withUser(userID, "user")
	home := e.client()
	home.login(userID, userPW)
	newDevice := func() int {
		n := 0
		for _, m := range e.mailbox.Messages(userID) {
			if strings.Contains(m.Subject, "新しい端末") {
				n++
			}
		}
		return n
	}
	if newDevice() != 0 {
		t.Fatal("an email for the account's first sign-in")
	}
	home.login(userID, userPW)
	if newDevice() != 0 {
		t.Fatal("an email for a known browser")
	}
	phone := e.client()
	phone.ip = "198.51.100.23"
	phone.login(userID, userPW)
	if newDevice() != 1 {
		t.Fatalf("%d new-device emails, want 1", newDevice())
	}
	last := e.mailbox.Messages(userID)[len(e.mailbox.Messages(userID))-1]
	if !strings.Contains(last.Text, "198.51.100.23") || !strings.Contains(last.Text, "/sessions.html") || strings.Contains(last.Text, userPW) {
		t.Fatalf("email %s", last.Text)
	}
	owner := e.signedIn(ownerID, ownerPW)
	set := owner.do("GET", "/api/admin/tenant", nil).json(t)
	set["notify_new_device"], set["confirm_password"] = false, ownerPW
	if res := owner.do("PUT", "/api/admin/tenant", set); res.status != 200 || res.json(t)["notify_new_device"] != false {
		t.Fatalf("turn off: %d %s", res.status, res.body)
	}
	e.client().login(userID, userPW)
	if newDevice() != 1 {
		t.Fatal("an email although the tenant turned them off")
	}
}

func lockMails(e *env) []string {
	var out []string
	for _, m := range e.mailbox.Messages(userID) {
		if strings.Contains(m.Text, "/unlock.html?token=") {
			out = append(out, m.Subject)
		}
	}
	return out
}

// Guesses through the service check (a mail server passing on whatever an attacker types
// into IMAP) lock the account for unknown clients only: the person's known browser keeps
// signing in to the site, and the lock is mailed once.
func TestServiceCheckGuessesDoNotLockAKnownBrowser(t *testing.T) {
	e := newEnv(t, withConfig(noThrottle), withSettings(account.Settings{LockoutThreshold: 3}))
	e.withUser(userID, "user")
	home := e.client()
	if res := home.login(userID, userPW); res.status != 200 || home.device == nil {
		t.Fatalf("first sign-in: %d", res.status)
	}
	secret := e.serviceCredential("mail")
	for i := range 5 {
		if res := e.verify(secret, userID, "Imap-Guess-000"+string(rune('0'+i))+"!"); res.status != 401 {
			t.Fatalf("a wrong password through IMAP: %d", res.status)
		}
	}
	if !e.account(userID).Locked() {
		t.Fatal("guesses through the service check did not lock the account")
	}
	if res := e.verify(secret, userID, userPW); res.status != 401 {
		t.Fatalf("the right password through IMAP while locked: %d", res.status)
	}
	if res := e.client().login(userID, userPW); res.status != 401 {
		t.Fatalf("an unknown browser while locked: %d", res.status)
	}
	if res := home.login(userID, userPW); res.status != 200 {
		t.Fatalf("the known browser is locked out by IMAP guesses: %d %s", res.status, res.body)
	}
	if n := len(lockMails(e)); n != 1 {
		t.Fatalf("%d lock emails, want 1", n)
	}
}
