package httpapi_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

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

// Third security review (issue 23): browsers that signed in with the old password kept
// their device cookies after a reset, and each one had its own budget of guesses (6
// cookies gave 60 with no lock and no email). A reset or change moves the device epoch:
// those browsers are unknown clients again, and their guesses lock the account.
func TestAResetMakesKnownBrowsersUnknownAgain(t *testing.T) {
	e := newEnv(t, withConfig(noThrottle), withSettings(account.Settings{LockoutThreshold: 3}))
	e.withUser(userID, "user")
	var thief []*client
	for range 6 {
		c := e.client()
		if res := c.login(userID, userPW); res.status != 200 || c.device == nil {
			t.Fatalf("sign-in with the old password: %d", res.status)
		}
		thief = append(thief, c)
	}
	e.client().do("POST", "/api/password/forgot", map[string]string{"login_id": userID})
	m := e.mailbox.Messages(userID)
	token := tokenFrom(t, m[len(m)-1], "reset")
	const fresh = "Atarashii-Pass-2026!"
	if res := e.client().do("POST", "/api/password/reset", map[string]string{"token": token, "new_password": fresh}); res.status != 200 {
		t.Fatalf("reset: %d %s", res.status, res.body)
	}
	before := len(lockMails(e))
	for i := range 6 {
		thief[i].login(userID, "Guess-0000-Guess!")
	}
	a := e.account(userID)
	if !a.Locked() || len(a.DeviceFailures) != 0 {
		t.Fatalf("6 guesses from browsers of the old password: locked %t, device counters %v", a.Locked(), a.DeviceFailures)
	}
	if n := len(lockMails(e)) - before; n != 1 {
		t.Fatalf("%d lock emails after the guesses, want 1", n)
	}
	// A browser that signs in with the new password is known from then on; a
	// self-service change (which signs the other sessions out) moves the epoch again.
	if res := e.signedIn(ownerID, ownerPW).do("POST", "/api/admin/unlock", map[string]any{"login_ids": []string{userID}, "confirm_password": ownerPW}); res.status != 200 {
		t.Fatalf("unlock: %d %s", res.status, res.body)
	}
	home := e.client()
	if res := home.login(userID, fresh); res.status != 200 {
		t.Fatalf("sign-in with the new password: %d", res.status)
	}
	stale := *home.device
	home.login(userID, "Typo-Typo-Typo-1!")
	if a := e.account(userID); a.FailedAttempts != 0 || a.DeviceFailures == nil {
		t.Fatalf("a known browser's typo counted against the account: %+v", a.DeviceFailures)
	}
	if res := home.do("POST", "/api/me/password", map[string]string{"current_password": fresh, "new_password": "Mata-Atarashii-2026!"}); res.status != 204 {
		t.Fatalf("change: %d %s", res.status, res.body)
	}
	if home.device.Value == stale.Value {
		t.Fatal("the browser that changed the password was not given a new device cookie")
	}
	old := e.client()
	old.device = &stale
	old.login(userID, "Guess-0000-Guess!")
	if a := e.account(userID); a.FailedAttempts != 1 || len(a.DeviceFailures) != 0 {
		t.Fatalf("a browser from before the change is still known: failed %d, devices %v", a.FailedAttempts, a.DeviceFailures)
	}
	home.login(userID, "Typo-Typo-Typo-2!")
	if a := e.account(userID); a.FailedAttempts != 1 || len(a.DeviceFailures) != 1 {
		t.Fatalf("the browser that made the change is not known: failed %d, devices %v", a.FailedAttempts, a.DeviceFailures)
	}
}

// ASVS 2.2.1: no more than 100 failed attempts an hour. Known browsers each have their
// own threshold, so many of them together are held to an hourly ceiling per account;
// past it, their guesses count as an unknown client's and lock the account.
func TestASVS_2_2_1_KnownBrowsersHaveAnHourlyCeiling(t *testing.T) {
	e := newEnv(t, withConfig(noThrottle), withSettings(account.Settings{LockoutThreshold: 10}))
	e.withUser(userID, "user")
	var known []*client
	for range account.MaxKnownDevices {
		c := e.client()
		if res := c.login(userID, userPW); res.status != 200 {
			t.Fatalf("sign-in: %d", res.status)
		}
		known = append(known, c)
	}
	// 16 browsers × 9 guesses = 144 attempts: each browser stays under its own threshold.
	for round := range 9 {
		for _, c := range known {
			c.login(userID, fmt.Sprintf("Guess-%04d-Guess!", round))
		}
	}
	a := e.account(userID)
	if a.DeviceHourAttempts != account.KnownBrowserAttemptsPerHour {
		t.Fatalf("known-browser attempts this hour: %d, want the ceiling %d", a.DeviceHourAttempts, account.KnownBrowserAttemptsPerHour)
	}
	if !a.Locked() {
		t.Fatalf("guesses past the hourly ceiling did not lock the account (failed %d)", a.FailedAttempts)
	}
	if res := e.signedIn(ownerID, ownerPW).do("GET", "/api/admin/audit?action=device.ceiling", nil); !strings.Contains(string(res.body), "100 attempts from known browsers this hour") {
		t.Fatalf("audit: %s", res.body)
	}
	// The next hour, the browsers have their attempts again (the lock for unknown
	// clients stays until it lifts or is released).
	e.clock.Add(time.Hour)
	if res := known[0].login(userID, userPW); res.status != 200 {
		t.Fatalf("a known browser the next hour: %d %s", res.status, res.body)
	}
}

// The devices an account tracks are capped: entries go when their browser signs in,
// and a browser beyond the cap counts as an unknown client.
func TestKnownBrowsersTrackedPerAccountAreCapped(t *testing.T) {
	e := newEnv(t, withConfig(noThrottle), withSettings(account.Settings{LockoutThreshold: 10}))
	e.withUser(userID, "user")
	var known []*client
	for range account.MaxKnownDevices + 1 {
		c := e.client()
		c.login(userID, userPW)
		known = append(known, c)
	}
	if a := e.account(userID); len(a.DeviceFailures) != 0 {
		t.Fatalf("browsers without failures are tracked: %v", a.DeviceFailures)
	}
	for _, c := range known {
		c.login(userID, "Guess-0000-Guess!")
	}
	a := e.account(userID)
	if len(a.DeviceFailures) != account.MaxKnownDevices || a.FailedAttempts != 1 {
		t.Fatalf("%d browsers tracked, account counter %d; want %d and 1", len(a.DeviceFailures), a.FailedAttempts, account.MaxKnownDevices)
	}
	// A sign-in drops its browser's entry, making room.
	known[0].login(userID, userPW)
	if a := e.account(userID); len(a.DeviceFailures) != account.MaxKnownDevices-1 {
		t.Fatalf("after a sign-in: %d tracked", len(a.DeviceFailures))
	}
}

// A mail client at an address where the main password passed before keeps working while
// guesses from elsewhere lock the account (as a known browser does); its own wrong
// guesses end its trust; a password change makes every address unknown again.
func TestKnownMailClientKeepsWorkingWhileGuessesLockOthersOut(t *testing.T) {
	opts := []option{withConfig(noThrottle), withSettings(account.Settings{LockoutThreshold: 3})}
	t.Run("bbolt", func(t *testing.T) { knownMailClient(t, newEnv(t, opts...)) })
	t.Run("minidyn", func(t *testing.T) { knownMailClient(t, newDynamoEnv(t, opts...).env) })
}

func knownMailClient(t *testing.T, e *env) {
	e.withUser(userID, "user")
	secret := e.serviceCredential("mail")
	const home, office, attacker = "203.0.113.9", "203.0.113.10", "198.51.100.99"
	if res := e.verifyFrom(secret, userID, userPW, home); res.status != 200 {
		t.Fatalf("first check from home: %d", res.status)
	}
	for i := range 5 {
		e.verifyFrom(secret, userID, fmt.Sprintf("Guess-%04d-Guess!", i), attacker)
	}
	if !e.account(userID).Locked() {
		t.Fatal("guesses from elsewhere did not lock the account")
	}
	if res := e.verifyFrom(secret, userID, userPW, office); res.status != 401 {
		t.Fatalf("a new address while locked: %d", res.status)
	}
	if res := e.verifyFrom(secret, userID, userPW, home); res.status != 200 || !e.auditHas("service.verify", "ok:imap:known_client") {
		t.Fatalf("the known mail client is locked out: %d %s", res.status, res.body)
	}
	if !e.account(userID).Locked() {
		t.Fatal("the known client's check lifted the lock for everyone")
	}
	if n := len(lockMails(e)); n != 1 {
		t.Fatalf("%d lock emails, want 1", n)
	}
	// Its own wrong guesses, at the threshold, end its trust.
	for range 3 {
		e.verifyFrom(secret, userID, "Typo-Typo-Typo-1!", home)
	}
	if res := e.verifyFrom(secret, userID, userPW, home); res.status != 401 {
		t.Fatalf("an address that guessed wrong 3 times is still trusted: %d", res.status)
	}

	// A password change (here the reset of the lock's aftermath) makes the address unknown.
	e.withUser("jiro@example.com", "user")
	if res := e.verifyFrom(secret, "jiro@example.com", userPW, home); res.status != 200 {
		t.Fatalf("jiro from home: %d", res.status)
	}
	c := e.signedIn("jiro@example.com", userPW)
	const next = "Kawa-no-Sakana-7!"
	if res := c.do("POST", "/api/me/password", map[string]string{"current_password": userPW, "new_password": next}); res.status != 204 {
		t.Fatalf("change: %d %s", res.status, res.body)
	}
	for i := range 3 {
		e.verifyFrom(secret, "jiro@example.com", fmt.Sprintf("Guess-%04d-Guess!", i), attacker)
	}
	if res := e.verifyFrom(secret, "jiro@example.com", next, home); res.status != 401 {
		t.Fatalf("an address known before the password change is still trusted: %d", res.status)
	}
}
