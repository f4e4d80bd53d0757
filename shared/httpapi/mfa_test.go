package httpapi_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/kagiya/kagiya/shared/account"
	"github.com/kagiya/kagiya/shared/faults"
)

// code is the app's code for secret at the env's clock, offset by steps of 30 s.
func (e *env) code(secret string, steps int) string {
	e.t.Helper()
	c, err := totp.GenerateCodeCustom(secret, e.clock.Now().Add(time.Duration(steps)*30*time.Second),
		totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// enrol turns the second factor on for the signed-in c (password pw) and returns the
// secret and the recovery codes.
func (e *env) enrol(c *client, pw string) (string, []string) {
	e.t.Helper()
	res := c.do("POST", "/api/me/mfa/totp/setup", map[string]string{"current_password": pw})
	body := res.json(e.t)
	secret, _ := body["secret"].(string)
	if res.status != 200 || len(secret) != 32 || !strings.HasPrefix(body["qr_png"].(string), "data:image/png;base64,") ||
		!strings.HasPrefix(body["otpauth_url"].(string), "otpauth://totp/Kagiya:") || !strings.Contains(body["otpauth_url"].(string), "issuer=Kagiya") {
		e.t.Fatalf("setup: %d %s", res.status, res.body)
	}
	res = c.do("POST", "/api/me/mfa/totp/confirm", map[string]string{"code": e.code(secret, 0)})
	var codes []string
	for _, v := range res.json(e.t)["recovery_codes"].([]any) {
		codes = append(codes, v.(string))
	}
	if res.status != 200 || len(codes) != 10 {
		e.t.Fatalf("confirm: %d %s", res.status, res.body)
	}
	e.clock.Add(30 * time.Second) // the code is used; the next sign-in takes the next one
	return secret, codes
}

// mfaLogin signs in with the password and answers the challenge of the code step.
func (c *client) mfaLogin(id, pw string) string {
	t := c.e.t
	t.Helper()
	c.cookie = nil // signed out: no session comes before the code
	res := c.login(id, pw)
	body := res.json(t)
	if res.status != 200 || body["result"] != "mfa_required" || c.cookie != nil || body["challenge"] == "" {
		t.Fatalf("login with a second factor: %d %s", res.status, res.body)
	}
	if m, _ := body["methods"].([]any); len(m) != 2 || m[0] != "totp" || m[1] != "recovery_code" {
		t.Fatalf("methods: %v", body["methods"])
	}
	return body["challenge"].(string)
}

func (c *client) giveCode(challenge string, body map[string]any) response {
	body["challenge"] = challenge
	res := c.do("POST", "/api/login/mfa", body)
	if csrf, ok := res.json(c.e.t)["csrf_token"].(string); ok && res.status == 200 {
		c.csrf = csrf
	}
	return res
}

func secondFactorEnrolmentAndSignIn(t *testing.T, e *env) {
	e.withUser(userID, "user")
	c := e.signedIn(userID, userPW)
	if res := c.do("POST", "/api/me/mfa/totp/setup", map[string]string{"current_password": "Wrong-Pass-123!"}); res.status != 403 || res.code(t) != "invalid_current_password" {
		t.Fatalf("setup with a wrong password: %d %s", res.status, res.body)
	}
	res := c.do("POST", "/api/me/mfa/totp/setup", map[string]string{"current_password": userPW})
	pending := res.json(t)["secret"].(string)
	if res := c.do("POST", "/api/me/mfa/totp/confirm", map[string]string{"code": e.code(pending, 3)}); res.status != 401 || res.code(t) != "invalid_code" {
		t.Fatalf("confirm with a wrong code: %d %s", res.status, res.body)
	}
	if res := c.do("GET", "/api/me", nil); res.json(t)["mfa_enabled"] != false {
		t.Fatal("a pending enrolment counts as on")
	}
	secret, codes := e.enrol(c, userPW)
	if secret == pending {
		t.Fatal("a second setup kept the first secret")
	}
	st := c.do("GET", "/api/me/mfa", nil).json(t)
	if st["totp_enabled"] != true || st["recovery_codes_left"] != 10.0 || st["required"] != false {
		t.Fatalf("status: %v", st)
	}
	// Sealed at rest, and never in a log.
	a := e.account(userID)
	if !a.MFAEnabled() || strings.Contains(a.MFA.Secret, secret) || !strings.HasPrefix(a.MFA.Secret, "v1.") {
		t.Fatalf("stored secret: %q", a.MFA.Secret)
	}
	if logs := e.logs.String(); strings.Contains(logs, secret) || strings.Contains(logs, codes[0]) {
		t.Fatal("a secret reached the log")
	}
	if m := e.mailbox.Messages(userID); !strings.Contains(m[len(m)-1].Subject, "2段階認証を有効にしました") {
		t.Fatalf("no notice of the second factor: %q", m[len(m)-1].Subject)
	}

	// The password alone no longer signs in.
	b := e.client()
	challenge := b.mfaLogin(userID, userPW)
	if res := b.giveCode(challenge, map[string]any{"code": e.code(secret, 2)}); res.status != 401 || res.code(t) != "invalid_code" || b.cookie != nil {
		t.Fatalf("a code two steps ahead: %d %s", res.status, res.body)
	}
	if res := b.giveCode(challenge, map[string]any{"code": "12345"}); res.status != 422 {
		t.Fatalf("a malformed code: %d %s", res.status, res.body)
	}
	good := e.code(secret, 1) // one step of skew
	if res := b.giveCode(challenge, map[string]any{"code": good}); res.status != 200 || res.json(t)["result"] != "ok" || b.cookie == nil {
		t.Fatalf("the right code after a wrong one: %d %s", res.status, res.body)
	}
	if res := b.do("GET", "/api/me", nil); res.status != 200 || res.json(t)["mfa_enabled"] != true {
		t.Fatalf("me: %d %s", res.status, res.body)
	}
	if res := b.giveCode(challenge, map[string]any{"code": e.code(secret, 0)}); res.status != 400 || res.code(t) != "invalid_token" {
		t.Fatalf("the challenge used twice: %d %s", res.status, res.body)
	}
	// A used code is good once, even in a new sign-in, and so are the codes before it.
	d := e.client()
	ch := d.mfaLogin(userID, userPW)
	for _, replay := range []string{good, e.code(secret, 0)} {
		if res := d.giveCode(ch, map[string]any{"code": replay}); res.status != 401 || res.code(t) != "invalid_code" {
			t.Fatalf("a used code: %d %s", res.status, res.body)
		}
	}
	e.clock.Add(60 * time.Second)
	if res := d.giveCode(ch, map[string]any{"code": e.code(secret, 0)}); res.status != 200 {
		t.Fatalf("the next code: %d %s", res.status, res.body)
	}
	if got := e.auditActions(t); !strings.Contains(got, "mfa.verify:failed:replay") || !strings.Contains(got, "login:ok:totp") ||
		!strings.Contains(got, "login:step_due:mfa") || !strings.Contains(got, "mfa.enable:ok:totp") {
		t.Fatalf("audit: %s", got)
	}

	// The nist preset's 12-character minimum applies once the second factor is on.
	if res := c.do("POST", "/api/me/password", map[string]string{"current_password": userPW, "new_password": "Kawa-no-Saka"}); res.status != 422 {
		t.Fatalf("12 characters under standard12: %d", res.status)
	}
}

func secondFactorRecoveryCodes(t *testing.T, e *env) {
	e.withUser(userID, "user")
	c := e.signedIn(userID, userPW)
	_, codes := e.enrol(c, userPW)
	b := e.client()
	ch := b.mfaLogin(userID, userPW)
	if res := b.giveCode(ch, map[string]any{"recovery_code": "aaaa-bbbb-cccc"}); res.status != 401 || res.code(t) != "invalid_code" {
		t.Fatalf("a wrong recovery code: %d %s", res.status, res.body)
	}
	typed := strings.ToUpper(strings.ReplaceAll(codes[3], "-", " ")) // as people type it
	if res := b.giveCode(ch, map[string]any{"recovery_code": typed}); res.status != 200 || b.cookie == nil {
		t.Fatalf("a recovery code: %d %s", res.status, res.body)
	}
	if left := b.do("GET", "/api/me/mfa", nil).json(t)["recovery_codes_left"]; left != 9.0 {
		t.Fatalf("left: %v", left)
	}
	m := e.mailbox.Messages(userID)
	if last := m[len(m)-1]; !strings.Contains(last.Subject, "リカバリーコード") || !strings.Contains(last.Text, "9 個") {
		t.Fatalf("recovery-code notice: %s\n%s", last.Subject, last.Text)
	}
	ch = e.client().mfaLogin(userID, userPW)
	if res := e.client().giveCode(ch, map[string]any{"recovery_code": codes[3]}); res.status != 401 {
		t.Fatalf("a recovery code used twice: %d %s", res.status, res.body)
	}
	// New codes replace the old ones.
	res := c.do("POST", "/api/me/mfa/recovery-codes", map[string]string{"current_password": userPW})
	fresh := res.json(t)["recovery_codes"].([]any)
	if res.status != 200 || len(fresh) != 10 {
		t.Fatalf("regenerate: %d %s", res.status, res.body)
	}
	if res := e.client().giveCode(e.client().mfaLogin(userID, userPW), map[string]any{"recovery_code": codes[4]}); res.status != 401 {
		t.Fatalf("an old code after regenerating: %d", res.status)
	}
	if res := e.client().giveCode(e.client().mfaLogin(userID, userPW), map[string]any{"recovery_code": fresh[0]}); res.status != 200 {
		t.Fatalf("a new code: %d %s", res.status, res.body)
	}
}

func secondFactorRememberedBrowser(t *testing.T, e *env) {
	e.withUser(userID, "user")
	c := e.signedIn(userID, userPW)
	secret, _ := e.enrol(c, userPW)
	home := e.client()
	if res := home.giveCode(home.mfaLogin(userID, userPW), map[string]any{"code": e.code(secret, 0), "remember_browser": true}); res.status != 200 || len(home.remember) != 1 {
		t.Fatalf("remember: %d %s (%d cookies)", res.status, res.body, len(home.remember))
	}
	for _, ck := range home.remember {
		if !ck.HttpOnly || ck.MaxAge != 30*24*3600 {
			t.Fatalf("remember cookie: %+v", ck)
		}
	}
	e.clock.Add(29 * 24 * time.Hour)
	if res := home.login(userID, userPW); res.json(t)["result"] != "ok" {
		t.Fatalf("a remembered browser: %s", res.body)
	}
	e.clock.Add(29 * 24 * time.Hour) // 58 days since it was remembered, 29 since its last sign-in
	if res := home.login(userID, userPW); res.json(t)["result"] != "ok" {
		t.Fatalf("a remembered browser, counted from its last sign-in: %s", res.body)
	}
	if res := e.client().login(userID, userPW); res.json(t)["result"] != "mfa_required" {
		t.Fatalf("another browser: %s", res.body)
	}
	if st := home.do("GET", "/api/me/mfa", nil).json(t); st["remembered_browsers"] != 1.0 {
		t.Fatalf("remembered: %v", st)
	}
	e.clock.Add(31 * 24 * time.Hour)
	home.mfaLogin(userID, userPW) // away longer than 30 days
	if res := home.giveCode(home.mfaLogin(userID, userPW), map[string]any{"code": e.code(secret, 0), "remember_browser": true}); res.status != 200 {
		t.Fatalf("remember again: %d %s", res.status, res.body)
	}
	if res := home.do("POST", "/api/me/mfa/forget-browsers", nil); res.status != 204 {
		t.Fatalf("forget: %d %s", res.status, res.body)
	}
	home.mfaLogin(userID, userPW)
	// A forged or another account's cookie is nothing.
	for name, ck := range home.remember {
		forged := *ck
		forged.Value = strings.Replace(ck.Value, ".1.", ".9.", 1)
		home.remember[name] = &forged
	}
	home.mfaLogin(userID, userPW)
}

func secondFactorLocksAndIsReleased(t *testing.T, e *env) {
	e.withUser(userID, "user")
	c := e.signedIn(userID, userPW)
	secret, codes := e.enrol(c, userPW)
	b := e.client()
	ch := b.mfaLogin(userID, userPW)
	for i := range 5 {
		res := b.giveCode(ch, map[string]any{"code": e.code(secret, 5)})
		want := "invalid_code"
		if i == 4 {
			want = "mfa_locked"
		}
		if res.code(t) != want {
			t.Fatalf("wrong code %d: %d %s", i+1, res.status, res.body)
		}
	}
	if res := b.giveCode(ch, map[string]any{"code": e.code(secret, 0)}); res.status != 403 || res.code(t) != "mfa_locked" {
		t.Fatalf("the right code while locked: %d %s", res.status, res.body)
	}
	if got := e.auditActions(t); strings.Count(got, "mfa.lock:") != 1 {
		t.Fatalf("lock events: %s", got)
	}
	m := e.mailbox.Messages(userID)
	if !strings.Contains(m[len(m)-1].Subject, "利用停止") {
		t.Fatalf("lock notice: %s", m[len(m)-1].Subject)
	}
	owner := e.signedIn(ownerID, ownerPW)
	list := owner.do("GET", "/api/admin/accounts?state=mfa_locked", nil).json(t)["accounts"].([]any)
	if len(list) != 1 || list[0].(map[string]any)["login_id"] != userID || list[0].(map[string]any)["mfa_locked"] != true || list[0].(map[string]any)["mfa_enabled"] != true {
		t.Fatalf("locked list: %v", list)
	}
	if res := owner.do("POST", "/api/admin/accounts/"+userID+"/mfa/unlock", map[string]string{"confirm_password": "Wrong-Pass-123!"}); res.status != 403 {
		t.Fatalf("release with a wrong password: %d", res.status)
	}
	if e.account(userID).MFALocked() == false {
		t.Fatal("released without the administrator's password")
	}
	res := owner.do("POST", "/api/admin/mfa/unlock", map[string]any{"login_ids": []string{userID, ownerID}, "confirm_password": ownerPW})
	if body := res.json(t); res.status != 200 || len(body["unlocked"].([]any)) != 1 || len(body["not_locked"].([]any)) != 1 {
		t.Fatalf("release: %d %s", res.status, res.body)
	}
	if res := b.giveCode(ch, map[string]any{"code": e.code(secret, 0)}); res.status != 200 {
		t.Fatalf("a code after the release: %d %s", res.status, res.body)
	}
	// A recovery code signs in through a lock and releases it.
	e.clock.Add(30 * time.Second)
	d := e.client()
	ch = d.mfaLogin(userID, userPW)
	for range 5 {
		d.giveCode(ch, map[string]any{"code": e.code(secret, 7)})
	}
	if !e.account(userID).MFALocked() {
		t.Fatal("not locked")
	}
	if res := d.giveCode(ch, map[string]any{"recovery_code": codes[0]}); res.status != 200 {
		t.Fatalf("a recovery code through the lock: %d %s", res.status, res.body)
	}
	if a := e.account(userID); a.MFALocked() || a.MFA.Failures != 0 {
		t.Fatal("the recovery code did not release the lock")
	}
	if got := e.auditActions(t); !strings.Contains(got, "mfa.unlock:ok:recovery_code") || !strings.Contains(got, "mfa.unlock:ok:admin") {
		t.Fatalf("audit: %s", got)
	}
}

func secondFactorParallelCodes(t *testing.T, e *env) {
	e.withUser(userID, "user")
	secret, _ := e.enrol(e.signedIn(userID, userPW), userPW)
	// The same valid code from ten browsers at once: exactly one signs in.
	code := e.code(secret, 0)
	var mu sync.Mutex
	ok := 0
	var wg sync.WaitGroup
	for range 10 {
		b := e.client()
		ch := b.mfaLogin(userID, userPW)
		wg.Go(func() {
			if res := b.giveCode(ch, map[string]any{"code": code}); res.status == 200 {
				mu.Lock()
				ok++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if ok != 1 {
		t.Fatalf("%d sign-ins with one code", ok)
	}
	// Thirty wrong codes at once: never more than the threshold of them are checked.
	e.clock.Add(30 * time.Second)
	b := e.client()
	ch := b.mfaLogin(userID, userPW)
	for i := range 30 {
		wg.Go(func() { b.giveCode(ch, map[string]any{"code": e.code(secret, 3+i%3)}) })
	}
	wg.Wait()
	a := e.account(userID)
	checked := strings.Count(e.auditActions(t), "mfa.verify:failed:code")
	if !a.MFALocked() || checked > 5 || a.MFA.Failures > 5 {
		t.Fatalf("locked %v, %d codes checked, counter %d", a.MFALocked(), checked, a.MFA.Failures)
	}
}

// Third security review (issue 23): 40 parallel wrong codes locked the second factor
// with two lock emails and two audit events, and the tries against the locked factor were
// audited with no tenant (so its administrators never saw them). One lock reports once;
// every try is in the tenant's log.
func secondFactorParallelWrongCodesLockOnce(t *testing.T, e *env) {
	e.withUser(userID, "user")
	secret, _ := e.enrol(e.signedIn(userID, userPW), userPW)
	e.clock.Add(30 * time.Second)
	var wg sync.WaitGroup
	b := e.client()
	ch := b.mfaLogin(userID, userPW)
	for i := range 40 {
		wg.Go(func() { b.giveCode(ch, map[string]any{"code": e.code(secret, 3+i%3)}) })
	}
	wg.Wait()
	if !e.account(userID).MFALocked() {
		t.Fatal("40 wrong codes did not lock the second factor")
	}
	// One more try, against the locked factor.
	if res := b.giveCode(ch, map[string]any{"code": e.code(secret, 4)}); res.status != 403 || res.code(t) != "mfa_locked" {
		t.Fatalf("a try against the locked factor: %d %s", res.status, res.body)
	}
	lockMails := 0
	for _, m := range e.mailbox.Messages(userID) {
		if strings.Contains(m.Subject, "2段階認証が利用停止になりました") {
			lockMails++
		}
	}
	owner := e.signedIn(ownerID, ownerPW)
	events := func(q string) int {
		var out struct {
			Events []map[string]any `json:"events"`
		}
		json.Unmarshal(owner.do("GET", "/api/admin/audit?"+q, nil).body, &out) //nolint:errcheck
		return len(out.Events)
	}
	if n := events("action=mfa.lock"); n != 1 || lockMails != 1 {
		t.Fatalf("%d lock events and %d lock emails, want 1 and 1", n, lockMails)
	}
	if n := events("action=mfa.verify&result=failed%3Alocked"); n < 1 {
		t.Fatalf("the tries against the locked factor are not in the tenant's log (%d)", n)
	}
}

// An administrator's release that lands between a wrong code's counted try and the lock
// that try would write stands: the code is a wrong code like the others the release
// forgave (invalid_code, audited as one), with no lock, no lock event and no lock email.
// Before, the lock write's guard checked only that the factor was not locked yet: the
// account was locked again with a zero counter, and the person mailed a lock for guesses
// an administrator had forgiven. The release runs just before the code's second account
// write, the lock's (the first counts the try).
func TestSecondFactorLockLeavesARelease(t *testing.T) {
	onPlannedStores(t, func(t *testing.T, e *env, plan *faults.Plan) {
		e.withUser(userID, "user")
		secret, _ := e.enrol(e.signedIn(userID, userPW), userPW)
		owner := e.signedIn(ownerID, ownerPW)
		b := e.client()
		ch := b.mfaLogin(userID, userPW)
		wrong := map[string]any{"code": e.code(secret, 5)}
		threshold := account.DefaultOTPLockThreshold // the tenant keeps the default
		for i := range threshold - 1 {
			if res := b.giveCode(ch, wrong); res.status != 401 || res.code(t) != "invalid_code" {
				t.Fatalf("wrong code %d: %d %s", i+1, res.status, res.body)
			}
		}
		var release response
		plan.Add(faults.Rule{Method: "UpdateAccount", Skip: 1, Times: 1, Before: func() {
			release = owner.do("POST", "/api/admin/mfa/unlock", map[string]any{"login_ids": []string{userID}, "confirm_password": ownerPW})
		}})
		res := b.giveCode(ch, wrong)
		// The release finds the factor not locked yet (its counter full) and zeroes the counter.
		if notLocked, _ := release.json(t)["not_locked"].([]any); release.status != 200 || len(notLocked) != 1 || notLocked[0] != userID {
			t.Fatalf("the release: %d %s", release.status, release.body)
		}
		if res.status != 401 || res.code(t) != "invalid_code" {
			t.Fatalf("the code whose try the release forgave: %d %s", res.status, res.body)
		}
		if a := e.account(userID); a.MFALocked() || a.MFA.Failures != 0 {
			t.Fatalf("after the release: second factor locked %v, failures %d", a.MFALocked(), a.MFA.Failures)
		}
		audit := e.auditActions(t)
		if strings.Contains(audit, "mfa.lock:") || strings.Count(audit, "mfa.verify:failed:code") != threshold {
			t.Fatalf("audit: %s", audit)
		}
		for _, m := range e.mailbox.Messages(userID) {
			if strings.Contains(m.Subject, "利用停止") {
				t.Fatalf("a lock email: %s", m.Subject)
			}
		}
		e.clock.Add(30 * time.Second) // the enrolment used this step's code
		if res := b.giveCode(ch, map[string]any{"code": e.code(secret, 0)}); res.status != 200 {
			t.Fatalf("the right code after the release: %d %s", res.status, res.body)
		}
	}, withConfig(noThrottle))
}

func TestTenantRequiresSecondFactor(t *testing.T) {
	e := newEnv(t, withConfig(noThrottle))
	e.withUser(userID, "user")
	owner := e.signedIn(ownerID, ownerPW)
	tenant := owner.do("GET", "/api/admin/tenant", nil).json(t)
	tenant["mfa_required"], tenant["confirm_password"] = true, ownerPW
	if res := owner.do("PUT", "/api/admin/tenant", tenant); res.status != 200 || res.json(t)["mfa_required"] != true || res.json(t)["otp_lock_threshold"] != 5.0 {
		t.Fatalf("require a second factor: %d %s", res.status, res.body)
	}
	b := e.client()
	res := b.login(userID, userPW)
	body := res.json(t)
	if body["result"] != "mfa_enrollment_required" || b.cookie != nil {
		t.Fatalf("login without a second factor: %s", res.body)
	}
	ch := body["challenge"].(string)
	res = b.do("POST", "/api/login/mfa/setup", map[string]string{"challenge": ch})
	secret, _ := res.json(t)["secret"].(string)
	if res.status != 200 || secret == "" {
		t.Fatalf("setup in the flow: %d %s", res.status, res.body)
	}
	if res := b.do("POST", "/api/login/mfa/confirm", map[string]string{"challenge": ch, "code": e.code(secret, 4)}); res.status != 401 {
		t.Fatalf("a wrong code: %d %s", res.status, res.body)
	}
	res = b.do("POST", "/api/login/mfa/confirm", map[string]string{"challenge": ch, "code": e.code(secret, 0)})
	body = res.json(t)
	if res.status != 200 || body["result"] != "ok" || len(body["recovery_codes"].([]any)) != 10 || b.cookie == nil {
		t.Fatalf("confirm in the flow: %d %s", res.status, res.body)
	}
	b.csrf = body["csrf_token"].(string)
	if res := b.do("POST", "/api/me/mfa/totp/disable", map[string]string{"current_password": userPW}); res.status != 403 || res.code(t) != "mfa_required_by_tenant" {
		t.Fatalf("disable under the tenant's rule: %d %s", res.status, res.body)
	}
	if st := b.do("GET", "/api/me/mfa", nil).json(t); st["required"] != true {
		t.Fatalf("status: %v", st)
	}
	e.clock.Add(30 * time.Second)
	e.client().mfaLogin(userID, userPW)

	// An administrator's reset: the next sign-in enrols again.
	if res := owner.do("POST", "/api/admin/accounts/"+userID+"/mfa/reset", map[string]string{"confirm_password": ownerPW}); res.status != 200 {
		t.Fatalf("reset: %d %s", res.status, res.body)
	}
	if res := owner.do("POST", "/api/admin/accounts/"+ownerID+"/mfa/reset", map[string]string{"confirm_password": ownerPW}); res.code(t) != "use_self_service" {
		t.Fatalf("one's own reset: %d %s", res.status, res.body)
	}
	if res := e.client().login(userID, userPW); res.json(t)["result"] != "mfa_enrollment_required" {
		t.Fatalf("after the reset: %s", res.body)
	}
	if st := b.do("GET", "/api/me/mfa", nil); st.status == 200 && st.json(t)["totp_enabled"] == true {
		t.Fatal("still enabled after the reset")
	}
}

func TestSecondFactorAndPasswordReset(t *testing.T) {
	for _, clears := range []bool{false, true} {
		e := newEnv(t, withConfig(noThrottle), withSettings(account.Settings{ResetClearsMFA: clears}))
		e.withUser(userID, "user")
		c := e.signedIn(userID, userPW)
		secret, _ := e.enrol(c, userPW)
		home := e.client()
		home.giveCode(home.mfaLogin(userID, userPW), map[string]any{"code": e.code(secret, 0), "remember_browser": true})
		e.client().do("POST", "/api/password/forgot", map[string]string{"login_id": userID})
		m := e.mailbox.Messages(userID)
		token := tokenFrom(t, m[len(m)-1], "reset")
		if res := e.client().do("POST", "/api/password/reset", map[string]string{"token": token, "new_password": "Atarashii-Pass-9!"}); res.status != 200 {
			t.Fatalf("reset: %d %s", res.status, res.body)
		}
		want := "mfa_required" // kept, and the remembered browser forgotten
		if clears {
			want = "ok"
		}
		if res := home.login(userID, "Atarashii-Pass-9!"); res.json(t)["result"] != want {
			t.Fatalf("reset_clears_mfa=%v: %s", clears, res.body)
		}
		if a := e.account(userID); a.MFAEnabled() == clears {
			t.Fatalf("reset_clears_mfa=%v: enabled %v", clears, a.MFAEnabled())
		}
	}
}

func secondFactorTurnedOff(t *testing.T, e *env) {
	e.withUser(userID, "user")
	c := e.signedIn(userID, userPW)
	e.enrol(c, userPW)
	if res := c.do("POST", "/api/me/mfa/totp/disable", map[string]string{"current_password": "Wrong-Pass-123!"}); res.status != 403 {
		t.Fatalf("disable with a wrong password: %d", res.status)
	}
	if res := c.do("POST", "/api/me/mfa/totp/disable", map[string]string{"current_password": userPW}); res.status != 204 {
		t.Fatalf("disable: %d %s", res.status, res.body)
	}
	if res := e.client().login(userID, userPW); res.json(t)["result"] != "ok" {
		t.Fatalf("after turning it off: %s", res.body)
	}
	if n, _ := e.store.RecoveryCodes(context.Background(), e.tenant.ID, e.account(userID).ID); len(n) != 0 {
		t.Fatal("recovery codes kept")
	}
	if got := e.auditActions(t); !strings.Contains(got, "mfa.disable:ok") {
		t.Fatalf("audit: %s", got)
	}
}

// secondFactorRememberedAfterRecoveryCode: a browser remembered at a sign-in with a
// recovery code skips the step as one remembered with a code from the app does, and the
// security page counts it.
func secondFactorRememberedAfterRecoveryCode(t *testing.T, e *env) {
	e.withUser(userID, "user")
	_, codes := e.enrol(e.signedIn(userID, userPW), userPW)
	home := e.client()
	ch := home.mfaLogin(userID, userPW)
	if res := home.giveCode(ch, map[string]any{"recovery_code": codes[0], "remember_browser": true}); res.status != 200 || len(home.remember) != 1 {
		t.Fatalf("remember with a recovery code: %d %s (%d cookies)", res.status, res.body, len(home.remember))
	}
	if st := home.do("GET", "/api/me/mfa", nil).json(t); st["remembered_browsers"] != 1.0 {
		t.Fatalf("remembered: %v", st)
	}
	if res := home.login(userID, userPW); res.json(t)["result"] != "ok" {
		t.Fatalf("the remembered browser: %s", res.body)
	}
}

// secondFactorCases run on the embedded store and on DynamoDB (minidyn).
var secondFactorCases = map[string]func(*testing.T, *env){
	"EnrolmentAndSignIn":          secondFactorEnrolmentAndSignIn,
	"RecoveryCodes":               secondFactorRecoveryCodes,
	"RememberedBrowser":           secondFactorRememberedBrowser,
	"RememberedAfterRecoveryCode": secondFactorRememberedAfterRecoveryCode,
	"LocksAndIsReleased":          secondFactorLocksAndIsReleased,
	"ParallelCodes":               secondFactorParallelCodes,
	"ParallelWrongCodesLockOnce":  secondFactorParallelWrongCodesLockOnce,
	"TurnedOff":                   secondFactorTurnedOff,
}

func TestSecondFactor(t *testing.T) {
	for name, run := range secondFactorCases {
		t.Run(name, func(t *testing.T) { run(t, newEnv(t, withConfig(noThrottle))) })
	}
}

func TestSecondFactorOnDynamoDB(t *testing.T) {
	for name, run := range secondFactorCases {
		t.Run(name, func(t *testing.T) { run(t, newDynamoEnv(t, withConfig(noThrottle)).env) })
	}
}
