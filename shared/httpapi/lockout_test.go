package httpapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kagiya/kagiya/shared/account"
	"github.com/kagiya/kagiya/shared/faults"
	"github.com/kagiya/kagiya/shared/mail"
	"github.com/kagiya/kagiya/shared/password"
)

const userID, userPW = "taro@example.com", "Mori-no-Kuma-42!"

// withUser creates taro@example.com (role user) through the API.
func (e *env) withUser(id, role string) {
	e.t.Helper()
	owner := e.signedIn(ownerID, ownerPW)
	if res := owner.do("POST", "/api/admin/accounts", map[string]any{"login_id": id, "role": role, "password": userPW, "confirm_password": ownerPW}); res.status != 201 {
		e.t.Fatalf("create %s: %d %s", id, res.status, res.body)
	}
}

func (e *env) account(id string) account.Account {
	e.t.Helper()
	a, err := account.FindAccount(context.Background(), e.store, id)
	if err != nil {
		e.t.Fatal(err)
	}
	return a
}

var linkToken = regexp.MustCompile(`/(unlock|reset)\.html\?token=([A-Za-z0-9_-]+)`)

// tokenFrom finds the link of the given page in a message and returns its token.
func tokenFrom(t testing.TB, m mail.Message, page string) string {
	t.Helper()
	for _, found := range linkToken.FindAllStringSubmatch(m.Text, -1) {
		if found[1] == page {
			if !strings.Contains(m.Text, "https://id.example.com/"+page+".html?token=") {
				t.Fatalf("link not built from the configured site URL:\n%s", m.Text)
			}
			if !strings.Contains(m.HTML, url.QueryEscape(found[2])) {
				t.Fatal("the HTML part lacks the link")
			}
			return found[2]
		}
	}
	t.Fatalf("no %s link in %q", page, m.Text)
	return ""
}

func noThrottle(c *account.Config) { c.LoginPerAcctMinute = 1 << 20; c.LoginPerIPMinute = -1 }

// The account lockout has no second-factor-style race: its lock is the store's own
// conditional write on a full counter (Attempts.Lock), so a counter ended between the
// wrong password that filled it and that password's lock (a sign-in elsewhere, as a
// passkey's, records the login and zeroes it) is not locked again: no lock, no lock
// event, no unlock email, and the right password signs in.
func TestPasswordLockLeavesAnEndedRunOfFailures(t *testing.T) {
	onPlannedStores(t, func(t *testing.T, e *env, plan *faults.Plan) {
		e.withUser(userID, "user")
		a := e.account(userID)
		const wrong = "Not-My-Passw0rd!"
		for i := range account.DefaultLockoutThreshold - 1 { // the tenant keeps the default
			if res := e.client().login(userID, wrong); res.status != 401 {
				t.Fatalf("wrong password %d: %d %s", i+1, res.status, res.body)
			}
		}
		var ended error = errors.New("the sign-in elsewhere did not run")
		plan.Add(faults.Rule{Method: "Lock", Times: 1, Before: func() {
			ended = e.store.RecordLogin(context.Background(), a.TenantID, a.ID, e.clock.Now())
		}})
		if res := e.client().login(userID, wrong); ended != nil || res.status != 401 {
			t.Fatalf("the wrong password that filled the counter: %d %s (sign-in elsewhere: %v)", res.status, res.body, ended)
		}
		if a := e.account(userID); a.Locked() || a.FailedAttempts != 0 {
			t.Fatalf("after the sign-in elsewhere: locked %v, failures %d", a.Locked(), a.FailedAttempts)
		}
		for _, ev := range strings.Split(e.auditActions(t), " | ") {
			if strings.HasPrefix(ev, "lock:") {
				t.Fatalf("a lock was audited: %s", ev)
			}
		}
		if m := e.mailbox.Messages(userID); len(m) != 0 {
			t.Fatalf("%d emails, the first %q", len(m), m[0].Subject)
		}
		if res := e.client().login(userID, userPW); res.status != 200 {
			t.Fatalf("the right password: %d %s", res.status, res.body)
		}
	}, withConfig(noThrottle))
}

func TestASVS_2_2_1_ParallelWrongPasswordsLockOnceAtThreshold(t *testing.T) {
	e := newEnv(t, withConfig(noThrottle))
	e.withUser(userID, "user")
	const attempts = 60
	var wg sync.WaitGroup
	statuses := make([]int, attempts)
	bodies := make([]string, attempts)
	for i := range attempts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res := e.client().login(userID, "wrong-password-"+string(rune('a'+i%26)))
			statuses[i], bodies[i] = res.status, string(res.body)
		}()
	}
	wg.Wait()
	for i := range attempts {
		if statuses[i] != 401 || bodies[i] != bodies[0] {
			t.Fatalf("attempt %d: %d %s", i, statuses[i], bodies[i])
		}
	}
	a := e.account(userID)
	if !a.Locked() || a.FailedAttempts != account.DefaultLockoutThreshold {
		t.Fatalf("after %d parallel wrong passwords: locked=%v failures=%d", attempts, a.Locked(), a.FailedAttempts)
	}
	mails := e.mailbox.Messages(userID)
	if len(mails) != 1 || mails[0].Subject != "【Kagiya】アカウントがロックされました" {
		t.Fatalf("%d lock emails: %+v", len(mails), mails)
	}
	// Locked: the right password answers exactly like a wrong one.
	if res := e.client().login(userID, userPW); res.status != 401 || string(res.body) != bodies[0] {
		t.Fatalf("right password on a locked account: %d %s", res.status, res.body)
	}
	// The emailed link unlocks, once.
	token := tokenFrom(t, mails[0], "unlock")
	anon := e.client()
	if res := anon.do("GET", "/api/unlock?token="+token, nil); res.status == 200 || !e.account(userID).Locked() {
		t.Fatalf("a GET unlocked: %d", res.status)
	}
	if res := anon.do("POST", "/api/unlock", map[string]string{"token": token}); res.status != 200 {
		t.Fatalf("unlock: %d %s", res.status, res.body)
	}
	if a := e.account(userID); a.Locked() || a.FailedAttempts != 0 {
		t.Fatalf("after unlock %+v", a)
	}
	if res := anon.do("POST", "/api/unlock", map[string]string{"token": token}); res.status != 400 || res.code(t) != "invalid_token" {
		t.Fatalf("reused token: %d %s", res.status, res.body)
	}
	if res := e.client().login(userID, userPW); res.status != 200 {
		t.Fatalf("sign-in after unlock: %d %s", res.status, res.body)
	}
	audit := e.auditActions(t)
	for _, want := range []string{"lock:ok:10 failures", "unlock:ok:link"} {
		if !strings.Contains(audit, want) {
			t.Errorf("audit lacks %q: %s", want, audit)
		}
	}
}

func (e *env) auditActions(t *testing.T) string {
	res := e.signedIn(ownerID, ownerPW).do("GET", "/api/admin/audit", nil)
	var out struct {
		Events []account.AuditEvent `json:"events"`
	}
	json.Unmarshal(res.body, &out)
	var parts []string
	for _, ev := range out.Events {
		parts = append(parts, ev.Action+":"+ev.Result)
	}
	return strings.Join(parts, " | ")
}

func TestOnlyConsecutiveFailuresCount(t *testing.T) {
	e := newEnv(t, withConfig(noThrottle), withSettings(account.Settings{LockoutThreshold: 3}))
	e.withUser(userID, "user")
	c := e.client()
	c.login(userID, "wrong-1")
	c.login(userID, "wrong-2")
	if res := c.login(userID, userPW); res.status != 200 {
		t.Fatalf("right password after 2 failures: %d", res.status)
	}
	if n := e.account(userID).FailedAttempts; n != 0 {
		t.Fatalf("a sign-in left the counter at %d", n)
	}
	// From here on c is a known browser, whose guesses count apart: unknown clients guess.
	e.client().login(userID, "wrong-3")
	e.client().login(userID, "wrong-4")
	if e.account(userID).Locked() {
		t.Fatal("locked after 2 consecutive failures with threshold 3")
	}
	e.client().login(userID, "wrong-5")
	if !e.account(userID).Locked() {
		t.Fatal("not locked after 3 consecutive failures")
	}
}

func TestLockIsPermanentByDefaultTemporaryWhenChosen(t *testing.T) {
	e := newEnv(t, withConfig(noThrottle), withSettings(quiet(account.Settings{LockoutThreshold: 2})))
	e.withUser(userID, "user")
	e.client().login(userID, "x-wrong-1")
	e.client().login(userID, "x-wrong-2")
	e.clock.Add(365 * 24 * time.Hour)
	if res := e.client().login(userID, userPW); res.status != 401 {
		t.Fatalf("a permanent lock lifted by itself after a year: %d", res.status)
	}

	tmp := newEnv(t, withConfig(noThrottle), withSettings(account.Settings{LockoutThreshold: 2, LockMinutes: 15}))
	tmp.withUser(userID, "user")
	tmp.client().login(userID, "x-wrong-1")
	tmp.client().login(userID, "x-wrong-2")
	if m := tmp.mailbox.Messages(userID); len(m) != 1 || !strings.Contains(m[0].Text, "自動で解除されます") {
		t.Fatalf("temporary lock email: %+v", m)
	}
	tmp.clock.Add(14*time.Minute + 59*time.Second)
	if res := tmp.client().login(userID, userPW); res.status != 401 {
		t.Fatalf("lock lifted before 15 minutes: %d", res.status)
	}
	tmp.clock.Add(time.Second)
	// Many sign-ins at once find the lock expired: it is lifted, and audited, once.
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() { defer wg.Done(); tmp.client().login(userID, userPW) }()
	}
	wg.Wait()
	if res := tmp.client().login(userID, userPW); res.status != 200 {
		t.Fatalf("lock not lifted after 15 minutes: %d %s\n%s\n%+v", res.status, res.body, tmp.auditActions(t), tmp.account(userID))
	}
	if n := strings.Count(tmp.auditActions(t), "unlock:ok:expired"); n != 1 {
		t.Fatalf("the expired lock was lifted %d times: %s", n, tmp.auditActions(t))
	}
}

func TestUnlockLinkLifetimeAndBadTokens(t *testing.T) {
	e := newEnv(t, withConfig(noThrottle), withSettings(account.Settings{LockoutThreshold: 1}))
	e.withUser(userID, "user")
	e.client().login(userID, "wrong")
	token := tokenFrom(t, e.mailbox.Messages(userID)[0], "unlock")
	c := e.client()
	bad := map[string]any{
		"empty":     "",
		"truncated": token[:20],
		"too long":  token + "A",
		"not b64":   strings.Repeat("!", 43),
		"unknown":   strings.Repeat("A", 43),
		"number":    12,
	}
	for name, tok := range bad {
		res := c.do("POST", "/api/unlock", map[string]any{"token": tok})
		if res.status/100 != 4 {
			t.Errorf("%s: %d %s", name, res.status, res.body)
		}
	}
	// Emailed link valid 14 days: just after that it answers like an unknown token.
	e.clock.Add(14*24*time.Hour + time.Second)
	if res := c.do("POST", "/api/unlock", map[string]string{"token": token}); res.status != 400 || res.code(t) != "invalid_token" {
		t.Fatalf("expired: %d %s", res.status, res.body)
	}
	if !e.account(userID).Locked() {
		t.Fatal("bad tokens changed the lock")
	}
}

func TestASVS_2_5_1_to_2_5_5_ForgotAndResetPassword(t *testing.T) {
	e := newEnv(t, withConfig(noThrottle), withSettings(quiet(account.Settings{LockoutThreshold: 2})))
	e.withUser(userID, "user")
	signedIn := e.signedIn(userID, userPW)
	e.client().login(userID, "wrong-1")
	e.client().login(userID, "wrong-2") // locked, one lock email
	anon := e.client()
	known := anon.do("POST", "/api/password/forgot", map[string]string{"login_id": "TARO@example.com"})
	unknown := anon.do("POST", "/api/password/forgot", map[string]string{"login_id": "nobody@example.com"})
	if known.status != 202 || unknown.status != 202 || string(known.body) != string(unknown.body) || string(known.body) != "{\"status\":\"accepted\"}\n" {
		t.Fatalf("known %d %s / unknown %d %s", known.status, known.body, unknown.status, unknown.body)
	}
	mails := e.mailbox.Messages(userID)
	if len(mails) != 2 || mails[1].Subject != "【Kagiya】パスワード再設定のご案内" || !strings.Contains(mails[1].Text, "60 分間") {
		t.Fatalf("mails %+v", mails)
	}
	token := tokenFrom(t, mails[1], "reset")
	if len(e.mailbox.Messages("nobody@example.com")) != 0 {
		t.Fatal("mail sent to an unknown account")
	}

	// A refused password does not use up the token.
	if res := anon.do("POST", "/api/password/reset", map[string]string{"token": token, "new_password": ""}); res.status != 422 || res.code(t) != "password_policy" {
		t.Fatalf("empty password: %d %s", res.status, res.body)
	}
	if res := anon.do("POST", "/api/password/reset", map[string]string{"token": "x", "new_password": "Brand-New-Passw0rd"}); res.status != 400 || res.code(t) != "invalid_token" {
		t.Fatalf("malformed token: %d %s", res.status, res.body)
	}
	if res := anon.do("POST", "/api/unlock", map[string]string{"token": token}); res.status != 400 {
		t.Fatalf("a reset token unlocked: %d", res.status)
	}
	res := anon.do("POST", "/api/password/reset", map[string]string{"token": token, "new_password": "Brand-New-Passw0rd"})
	if res.status != 200 || res.header.Get("Set-Cookie") != "" {
		t.Fatalf("reset: %d %s (cookie %q)", res.status, res.body, res.header.Get("Set-Cookie"))
	}
	if a := e.account(userID); a.Locked() || a.FailedAttempts != 0 {
		t.Fatalf("reset left the account locked: %+v", a)
	}
	if res := signedIn.do("GET", "/api/me", nil); res.status != 401 {
		t.Fatalf("a session survived the reset: %d", res.status)
	}
	if res := e.client().login(userID, userPW); res.status != 401 {
		t.Fatalf("old password still works: %d", res.status)
	}
	if res := e.client().login(userID, "Brand-New-Passw0rd"); res.status != 200 {
		t.Fatalf("new password: %d %s", res.status, res.body)
	}
	mails = e.mailbox.Messages(userID)
	if last := mails[len(mails)-1]; last.Subject != "【Kagiya】パスワードが変更されました" || strings.Contains(last.Text, "Brand-New") {
		t.Fatalf("notice %+v", last)
	}
	if res := anon.do("POST", "/api/password/reset", map[string]string{"token": token, "new_password": "Another-Passw0rd"}); res.status != 400 || res.code(t) != "invalid_token" {
		t.Fatalf("reused reset token: %d %s", res.status, res.body)
	}
	audit := e.auditActions(t)
	for _, want := range []string{"password.reset_requested:ok:sent", "unlock:ok:reset", "password.reset:ok"} {
		if !strings.Contains(audit, want) {
			t.Errorf("audit lacks %q: %s", want, audit)
		}
	}
	// An unknown login ID belongs to no tenant: the log keeps the request.
	if !strings.Contains(e.logs.String(), `"action":"password.reset_requested"`) || !strings.Contains(e.logs.String(), `"result":"ignored:unknown"`) {
		t.Error("the log lacks the request for an unknown login ID")
	}
}

func TestResetLinkExpiresAfterTheTenantsLifetime(t *testing.T) {
	e := newEnv(t, withSettings(account.Settings{ResetLinkMinutes: 30}))
	e.withUser(userID, "user")
	e.client().do("POST", "/api/password/forgot", map[string]string{"login_id": userID})
	token := tokenFrom(t, e.mailbox.Messages(userID)[0], "reset")
	e.clock.Add(30 * time.Minute)
	if res := e.client().do("POST", "/api/password/reset", map[string]string{"token": token, "new_password": "Brand-New-Passw0rd"}); res.status != 400 || res.code(t) != "invalid_token" {
		t.Fatalf("reset at expiry: %d %s", res.status, res.body)
	}
}

func TestForgotIsThrottledPerAccountSilently(t *testing.T) {
	e := newEnv(t)
	e.withUser(userID, "user")
	for i := range 6 {
		if res := e.client().do("POST", "/api/password/forgot", map[string]string{"login_id": userID}); res.status != 202 {
			t.Fatalf("request %d: %d", i, res.status)
		}
	}
	if n := len(e.mailbox.Messages(userID)); n != account.ForgotPerAccountHour {
		t.Fatalf("%d reset emails in an hour, want %d", n, account.ForgotPerAccountHour)
	}
	e.clock.Add(time.Hour)
	e.client().do("POST", "/api/password/forgot", map[string]string{"login_id": userID})
	if n := len(e.mailbox.Messages(userID)); n != account.ForgotPerAccountHour+1 {
		t.Fatalf("next hour: %d emails", n)
	}
	// Per IP, beyond the limit, the answer is 429 for everyone alike.
	c := e.client()
	c.ip = "203.0.113.9"
	var last response
	for range account.DefaultRecoveryPerIPMinute + 1 {
		last = c.do("POST", "/api/password/forgot", map[string]string{"login_id": "someone@example.com"})
	}
	if last.status != 429 || last.header.Get("Retry-After") == "" {
		t.Fatalf("per-IP limit: %d", last.status)
	}
}

func TestForgotTakesTheSameTimeForUnknownAccounts(t *testing.T) {
	const floor = 80 * time.Millisecond
	e := newEnv(t, func(s *setup) { s.floor = floor })
	e.withUser(userID, "user")
	for _, id := range []string{userID, "nobody@example.com"} {
		start := time.Now()
		e.client().do("POST", "/api/password/forgot", map[string]string{"login_id": id})
		if d := time.Since(start); d < floor {
			t.Errorf("%s answered in %v, under the %v floor", id, d, floor)
		}
	}
}

func TestAdminUnlocksSeveral(t *testing.T) {
	e := newEnv(t, withConfig(noThrottle), withSettings(account.Settings{LockoutThreshold: 2}))
	e.withUser("admin@example.com", "admin")
	e.withUser("a@example.com", "user")
	e.withUser("b@example.com", "user")
	e.withUser("c@example.com", "user")
	e.withUser("boss@example.com", "owner")
	for _, id := range []string{"a@example.com", "b@example.com", "boss@example.com"} {
		e.client().login(id, "wrong-1")
		e.client().login(id, "wrong-2")
	}
	admin := e.signedIn("admin@example.com", userPW)
	unlock := func(ids []string, pw string) response {
		return admin.do("POST", "/api/admin/unlock", map[string]any{"login_ids": ids, "confirm_password": pw})
	}
	res := unlock([]string{"a@example.com"}, "not-my-password")
	if res.status != 403 || res.code(t) != "invalid_confirm_password" {
		t.Fatalf("wrong confirmation: %d %s", res.status, res.body)
	}
	if n := e.account("admin@example.com").FailedAttempts; n != 1 {
		t.Fatalf("wrong confirmation counted %d failures on the admin", n)
	}
	if res := unlock([]string{"a@example.com", "x@other.example"}, userPW); res.status != 404 || res.code(t) != "not_found" {
		t.Fatalf("other tenant: %d %s", res.status, res.body)
	}
	if res := unlock([]string{"a@example.com", "boss@example.com"}, userPW); res.status != 403 || res.code(t) != "forbidden" {
		t.Fatalf("admin unlocking an owner: %d %s", res.status, res.body)
	}
	if !e.account("a@example.com").Locked() {
		t.Fatal("a refused request unlocked an account")
	}
	if res := unlock(nil, userPW); res.status != 422 {
		t.Fatalf("no IDs: %d", res.status)
	}
	res = unlock([]string{"A@example.com", "b@example.com", "c@example.com"}, userPW)
	var out struct {
		Unlocked  []string `json:"unlocked"`
		NotLocked []string `json:"not_locked"`
	}
	json.Unmarshal(res.body, &out)
	if res.status != 200 || strings.Join(out.Unlocked, ",") != "a@example.com,b@example.com" || strings.Join(out.NotLocked, ",") != "c@example.com" {
		t.Fatalf("unlock: %d %s", res.status, res.body)
	}
	if e.account("a@example.com").Locked() || e.account("b@example.com").Locked() || e.account("admin@example.com").FailedAttempts != 0 {
		t.Fatal("accounts still locked, or the admin's failure not cleared by its right confirmation")
	}
	if !strings.Contains(e.auditActions(t), "unlock:ok:admin") {
		t.Fatal("no audit of the admin unlock")
	}
	owner := e.signedIn(ownerID, ownerPW)
	if res := owner.do("POST", "/api/admin/unlock", map[string]any{"login_ids": []string{"boss@example.com"}, "confirm_password": ownerPW}); res.status != 200 {
		t.Fatalf("owner unlocks an owner: %d %s", res.status, res.body)
	}
}

func TestAdminListShowsLocks(t *testing.T) {
	e := newEnv(t, withConfig(noThrottle), withSettings(account.Settings{LockoutThreshold: 1}))
	e.withUser(userID, "user")
	e.client().login(userID, "wrong")
	res := e.signedIn(ownerID, ownerPW).do("GET", "/api/admin/accounts?q=taro", nil)
	accts := res.json(t)["accounts"].([]any)
	if len(accts) != 1 || accts[0].(map[string]any)["locked"] != true {
		t.Fatalf("list %s", res.body)
	}
}

func TestSignInRehashesOlderParameters(t *testing.T) {
	e := newEnv(t)
	older := fastHash
	older.MemoryKiB = 128
	h, err := password.Hash(older, userPW)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.store.CreateAccount(context.Background(), account.Account{ID: "acc_rehash", TenantID: e.tenant.ID, LoginID: userID, Role: account.RoleUser, PasswordHash: h}); err != nil {
		t.Fatal(err)
	}
	if res := e.client().login(userID, userPW); res.status != 200 {
		t.Fatalf("sign-in: %d %s", res.status, res.body)
	}
	if got := e.account(userID).PasswordHash; !strings.HasPrefix(got, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("not rehashed: %s", got[:30])
	}
	if res := e.client().login(userID, userPW); res.status != 200 {
		t.Fatalf("sign-in with the new hash: %d", res.status)
	}
}

// Right passwords arriving together fill the counter for a moment (each attempt is
// reserved before it is checked); that is not a lock. A counter left full by a writer
// that died is, once the attempt is long gone.
func TestParallelRightPasswordsDoNotLock(t *testing.T) {
	e := newEnv(t, withConfig(noThrottle), withSettings(account.Settings{LockoutThreshold: 3}))
	e.withUser(userID, "user")
	var wg sync.WaitGroup
	for range 12 {
		wg.Add(1)
		go func() { defer wg.Done(); e.client().login(userID, userPW) }()
	}
	wg.Wait()
	if a := e.account(userID); a.Locked() {
		t.Fatalf("parallel right passwords locked the account: %+v", a)
	}
	if res := e.client().login(userID, userPW); res.status != 200 {
		t.Fatalf("sign-in after the burst: %d", res.status)
	}
	// A writer died after filling the counter: a minute later the next attempt locks.
	a := e.account(userID)
	a.FailedAttempts, a.LastAttemptAt = 3, e.clock.Now()
	if _, err := e.store.UpdateAccount(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	if res := e.client().login(userID, userPW); res.status != 401 || e.account(userID).Locked() {
		t.Fatalf("a counter filled a moment ago: %d, locked %v", res.status, e.account(userID).Locked())
	}
	e.clock.Add(account.StalledAttempt + time.Second)
	e.client().login(userID, userPW)
	if !e.account(userID).Locked() || !strings.Contains(e.auditActions(t), "lock:ok") {
		t.Fatal("a counter left full by a dead writer was not locked")
	}
}

// With a pepper configured, plain hashes still sign in and are rehashed peppered.
func TestASVS_2_4_5_PepperMigratesAtSignIn(t *testing.T) {
	e := newEnv(t, withConfig(func(c *account.Config) {
		noThrottle(c)
		c.Hash.Pepper = strings.Repeat("s", 40)
	}))
	if h := e.account(ownerID).PasswordHash; !strings.Contains(h, ",keyid=") {
		t.Fatalf("the owner's hash is not peppered: %s", h)
	}
	plain, err := password.Hash(fastHash, userPW) // made before the pepper
	if err != nil {
		t.Fatal(err)
	}
	if err := e.store.CreateAccount(context.Background(), account.Account{ID: "acc_plain", TenantID: e.tenant.ID, LoginID: userID, Role: account.RoleUser, PasswordHash: plain}); err != nil {
		t.Fatal(err)
	}
	if res := e.client().login(userID, userPW); res.status != 200 {
		t.Fatalf("a plain hash under a pepper: %d %s", res.status, res.body)
	}
	if h := e.account(userID).PasswordHash; !strings.Contains(h, ",keyid=") {
		t.Fatalf("not rehashed with the pepper: %s", h)
	}
	if res := e.client().login(userID, userPW); res.status != 200 {
		t.Fatalf("the peppered hash: %d", res.status)
	}
}

// An imported hash above the cost caps already in the table (imported before the caps
// were read from the decoded digest) is not computed: the sign-in is refused like a
// wrong password, not a 500 and not seconds of work.
func TestStoredImportedHashAboveTheCapsSignsInAsWrong(t *testing.T) {
	e := newEnv(t, withConfig(noThrottle))
	over := "$scrypt$ln=14,r=8,p=100$ySYknWRq9On6wWfpsOUQQg$C28LpWaXQ3P0/dcbN0njxJx4VL/UCQIAWlnYAJgT/mY"
	if err := e.store.CreateAccount(context.Background(), account.Account{ID: "acc_overcap", TenantID: e.tenant.ID, LoginID: userID, Role: account.RoleUser, PasswordHash: over}); err != nil {
		t.Fatal(err)
	}
	if res := e.client().login(userID, "password"); res.status != 401 {
		t.Fatalf("sign-in: %d %s", res.status, res.body)
	}
}
