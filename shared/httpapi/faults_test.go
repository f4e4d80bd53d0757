package httpapi_test

import (
	"strings"
	"testing"
	"time"

	"github.com/kagiya/kagiya/shared/account"
	"github.com/kagiya/kagiya/shared/faults"
	"github.com/kagiya/kagiya/shared/faults/faulttest"
)

// faultCases run the real handlers over a store that fails the calls a plan chooses, with
// the errors the AWS SDK returns, on the embedded store and on DynamoDB (minidyn).
var faultCases = map[string]func(*testing.T, *env, *faults.Plan){
	"RightPasswordsDuringAnOutageNeverLock": faultRightPasswordsNeverLock,
	"RightCodesDuringAnOutageNeverLock":     faultRightCodesNeverLock,
	"ForgotAnswersTheSameWhateverTheStore":  faultForgotAnswersTheSame,
	"BatchActionsAnswerPerLoginID":          faultBatchActionsAnswerPerLoginID,
	"LinksSurviveAFailedChange":             faultLinksSurviveAFailedChange,
	"NoLockWithoutAnUnlockLink":             faultNoLockWithoutALink,
}

func TestFaults(t *testing.T) {
	for name, run := range faultCases {
		for storeName, open := range faulttest.Stores() {
			t.Run(name+"/"+storeName, func(t *testing.T) {
				plan := &faults.Plan{}
				run(t, newEnvOn(t, faults.NewStore(open(t), plan), withConfig(noThrottle)), plan)
			})
		}
	}
}

// onPlannedStores runs f on bbolt and on minidyn, each through a plan (faults.NewStore)
// that the test fills: faults, or another writer's work landing between two calls.
func onPlannedStores(t *testing.T, f func(*testing.T, *env, *faults.Plan), opts ...option) {
	for storeName, open := range faulttest.Stores() {
		t.Run(storeName, func(t *testing.T) {
			plan := &faults.Plan{}
			f(t, newEnvOn(t, faults.NewStore(open(t), plan), opts...), plan)
		})
	}
}

// internalOnly checks that res is the plain 500 of a fault: no store or SDK text.
func internalOnly(t *testing.T, what string, res response) {
	t.Helper()
	body := string(res.body)
	if res.status != 500 || res.code(t) != "internal" {
		t.Fatalf("%s: %d %s, want 500 internal", what, res.status, body)
	}
	if leak := faulttest.Shows(body); leak != "" {
		t.Fatalf("%s: the body shows %q: %s", what, leak, body)
	}
}

// Right passwords whose success write fails are given back: once the fault clears the
// right password signs in, and the account was never locked (before, the reservations
// stayed counted, and a minute later the full counter locked the account).
func faultRightPasswordsNeverLock(t *testing.T, e *env, plan *faults.Plan) {
	e.withUser(userID, "user")
	threshold := account.DefaultLockoutThreshold // the tenant keeps the default
	plan.Fail("RecordLogin", faults.Throttling("DynamoDB", "UpdateItem"))
	for range threshold {
		internalOnly(t, "right password during the fault", e.client().login(userID, userPW))
	}
	plan.Clear()
	e.clock.Add(2 * account.StalledAttempt) // long past any attempt in flight
	if res := e.client().login(userID, userPW); res.status != 200 {
		t.Fatalf("the right password after the fault: %d %s", res.status, res.body)
	}
	a := e.account(userID)
	if a.Locked() || a.FailedAttempts != 0 {
		t.Fatalf("after the fault: locked %v, counter %d", a.Locked(), a.FailedAttempts)
	}
	if got := e.auditActions(t); strings.Contains(got, "lock:") {
		t.Fatalf("a lock was audited: %s", got)
	}
}

// Right codes whose write fails give their counted try back: after as many as lock the
// second factor, the right code still signs in once the fault clears.
func faultRightCodesNeverLock(t *testing.T, e *env, plan *faults.Plan) {
	e.withUser(userID, "user")
	c := e.signedIn(userID, userPW)
	secret, _ := e.enrol(c, userPW)
	b := e.client()
	ch := b.mfaLogin(userID, userPW)
	for range account.DefaultOTPLockThreshold + 1 {
		// A code is two account writes: its try counted, then the right code's own write.
		plan.FailNth("UpdateAccount", 2, faults.Timeout("DynamoDB", "UpdateItem"))
		internalOnly(t, "right code during the fault", b.giveCode(ch, map[string]any{"code": e.code(secret, 0)}))
	}
	plan.Clear()
	if res := b.giveCode(ch, map[string]any{"code": e.code(secret, 0)}); res.status != 200 {
		t.Fatalf("the right code after the fault: %d %s", res.status, res.body)
	}
	if a := e.account(userID); a.MFALocked() || a.MFA.Failures != 0 {
		t.Fatalf("after the fault: second factor locked %v, failures %d", a.MFALocked(), a.MFA.Failures)
	}
}

// forgot answers 202 with the same body for a known and an unknown account whichever of
// its store calls fails (before, a failure after the lookup, which only a known account
// reaches, was a 500: it told the two apart); once the fault clears, the link is mailed.
func faultForgotAnswersTheSame(t *testing.T, e *env, plan *faults.Plan) {
	e.withUser(userID, "user")
	forgot := func(id string) response {
		return e.client().do("POST", "/api/password/forgot", map[string]string{"login_id": id})
	}
	for _, method := range []string{"LookupLogin", "GetAccount", "Hit", "GetTenant", "CreateToken", "AppendAudit"} {
		e.clock.Add(time.Hour) // a fresh hour: the per-account and per-IP counters start again
		plan.Fail(method, faults.Throttling("DynamoDB", "Query"))
		known, unknown := forgot(userID), forgot("nobody@example.com")
		plan.Clear()
		if known.status != 202 || unknown.status != 202 || string(known.body) != string(unknown.body) {
			t.Fatalf("%s failing: known %d %s, unknown %d %s", method, known.status, known.body, unknown.status, unknown.body)
		}
	}
	before := len(e.mailbox.Messages(userID))
	e.clock.Add(time.Hour)
	if res := forgot(userID); res.status != 202 || len(e.mailbox.Messages(userID)) != before+1 {
		t.Fatalf("after the fault: %d, mails %d then %d", res.status, before, len(e.mailbox.Messages(userID)))
	}
}

// Batch actions whose write fails for one account go on with the others and answer, per
// login ID, which changed, which did not need to, and which failed (before: a 500 with no
// result, the first account changed and the others not).
func faultBatchActionsAnswerPerLoginID(t *testing.T, e *env, plan *faults.Plan) {
	ids := []string{"a@example.com", "b@example.com", "c@example.com"}
	for _, id := range ids {
		e.withUser(id, "user")
	}
	owner := e.signedIn(ownerID, ownerPW)
	list := func(v any) string {
		var out []string
		for _, x := range v.([]any) {
			out = append(out, x.(string))
		}
		return strings.Join(out, ",")
	}
	// Suspend: b's write fails.
	plan.Add(faults.Rule{Method: "UpdateAccount", Skip: 1, Times: 1, Err: faults.Throttling("DynamoDB", "UpdateItem")})
	res := owner.do("POST", "/api/admin/suspend", map[string]any{"login_ids": ids, "disabled": true, "confirm_password": ownerPW})
	plan.Clear()
	body := res.json(t)
	if res.status != 200 || list(body["changed"]) != "a@example.com,c@example.com" || list(body["failed"]) != "b@example.com" || list(body["unchanged"]) != "" {
		t.Fatalf("suspend with a fault: %d %s", res.status, res.body)
	}
	if e.account("b@example.com").Disabled || !e.account("a@example.com").Disabled || !e.account("c@example.com").Disabled {
		t.Fatal("the accounts are not as the answer says")
	}
	// Unlock: a and b locked, a's unlock fails.
	owner.do("POST", "/api/admin/suspend", map[string]any{"login_ids": ids, "disabled": false, "confirm_password": ownerPW})
	for _, id := range ids[:2] {
		for range account.DefaultLockoutThreshold {
			e.client().login(id, "Wrong-Pass-123!")
		}
	}
	if !e.account("a@example.com").Locked() || !e.account("b@example.com").Locked() {
		t.Fatal("not locked")
	}
	plan.FailNth("Unlock", 1, faults.Timeout("DynamoDB", "UpdateItem"))
	res = owner.do("POST", "/api/admin/unlock", map[string]any{"login_ids": ids, "confirm_password": ownerPW})
	plan.Clear()
	body = res.json(t)
	if res.status != 200 || list(body["unlocked"]) != "b@example.com" || list(body["failed"]) != "a@example.com" || list(body["not_locked"]) != "c@example.com" {
		t.Fatalf("unlock with a fault: %d %s", res.status, res.body)
	}
	if !e.account("a@example.com").Locked() || e.account("b@example.com").Locked() {
		t.Fatal("the locks are not as the answer says")
	}
	if got := e.auditActions(t); !strings.Contains(got, "unlock:failed:error") {
		t.Fatalf("the failure is not audited: %s", got)
	}
}

// A reset or unlock link whose change fails is still usable once the fault clears, then
// spent (before, it was used up first: 500, then invalid_token, and the person stayed
// locked out).
func faultLinksSurviveAFailedChange(t *testing.T, e *env, plan *faults.Plan) {
	e.withUser(userID, "user")
	for range account.DefaultLockoutThreshold {
		e.client().login(userID, "Wrong-Pass-123!")
	}
	m := e.mailbox.Messages(userID)
	unlock := tokenFrom(t, m[len(m)-1], "unlock")
	// The lock is lifted by an account write (UpdateAccount; before, Attempts.Unlock).
	plan.FailNth("UpdateAccount", 1, faults.Throttling("DynamoDB", "UpdateItem"))
	plan.FailNth("Unlock", 1, faults.Throttling("DynamoDB", "UpdateItem"))
	internalOnly(t, "unlock during the fault", e.client().do("POST", "/api/unlock", map[string]string{"token": unlock}))
	plan.Clear()
	if !e.account(userID).Locked() {
		t.Fatal("unlocked by a failed write")
	}
	if res := e.client().do("POST", "/api/unlock", map[string]string{"token": unlock}); res.status != 200 || e.account(userID).Locked() {
		t.Fatalf("the unlock link after the fault: %d %s", res.status, res.body)
	}
	if res := e.client().do("POST", "/api/unlock", map[string]string{"token": unlock}); res.code(t) != "invalid_token" {
		t.Fatalf("the unlock link a second time: %d %s", res.status, res.body)
	}

	e.clock.Add(time.Second)
	e.client().do("POST", "/api/password/forgot", map[string]string{"login_id": userID})
	m = e.mailbox.Messages(userID)
	reset := tokenFrom(t, m[len(m)-1], "reset")
	const next = "Kawa-no-Sakana-77!"
	plan.FailNth("UpdateAccount", 1, faults.Timeout("DynamoDB", "UpdateItem"))
	internalOnly(t, "reset during the fault", e.client().do("POST", "/api/password/reset", map[string]string{"token": reset, "new_password": next}))
	plan.Clear()
	if res := e.client().login(userID, userPW); res.status != 200 {
		t.Fatalf("the old password after a failed reset: %d", res.status)
	}
	if res := e.client().do("POST", "/api/password/reset", map[string]string{"token": reset, "new_password": next}); res.status != 200 {
		t.Fatalf("the reset link after the fault: %d %s", res.status, res.body)
	}
	if res := e.client().do("POST", "/api/password/reset", map[string]string{"token": reset, "new_password": "Yama-no-Tori-88!"}); res.code(t) != "invalid_token" {
		t.Fatalf("the reset link a second time: %d %s", res.status, res.body)
	}
	if res := e.client().login(userID, next); res.status != 200 {
		t.Fatalf("the new password: %d", res.status)
	}

	// An invitation, and a login-ID change.
	e.clock.Add(time.Second)
	owner := e.signedIn(ownerID, ownerPW)
	if res := owner.do("POST", "/api/admin/accounts", map[string]any{"login_id": "shin@example.com", "invite": true}); res.status != 201 {
		t.Fatalf("invite: %d %s", res.status, res.body)
	}
	invite, _ := e.pageLink("shin@example.com", "invite")
	accept := func() response {
		return e.client().do("POST", "/api/invitations/accept", map[string]string{"token": invite, "new_password": next})
	}
	plan.FailNth("UpdateAccount", 1, faults.Throttling("DynamoDB", "UpdateItem"))
	internalOnly(t, "invitation during the fault", accept())
	plan.Clear()
	if res := accept(); res.status != 200 {
		t.Fatalf("the invitation after the fault: %d %s", res.status, res.body)
	}
	if res := accept(); res.code(t) != "invalid_token" {
		t.Fatalf("the invitation a second time: %d %s", res.status, res.body)
	}
	c := e.signedIn(userID, next)
	if res := c.do("POST", "/api/me/login-id", map[string]string{"new_login_id": "taro.new@example.com", "current_password": next}); res.status != 202 {
		t.Fatalf("login-ID change: %d %s", res.status, res.body)
	}
	change, _ := e.pageLink("taro.new@example.com", "confirm-email")
	confirm := func() response {
		return e.client().do("POST", "/api/email/confirm", map[string]string{"token": change, "password": next})
	}
	plan.FailNth("ChangeLoginID", 1, faults.Timeout("DynamoDB", "TransactWriteItems"))
	internalOnly(t, "login-ID change during the fault", confirm())
	plan.Clear()
	if res := confirm(); res.status != 200 {
		t.Fatalf("the login-ID link after the fault: %d %s", res.status, res.body)
	}
	if res := confirm(); res.code(t) != "invalid_token" {
		t.Fatalf("the login-ID link a second time: %d %s", res.status, res.body)
	}
}

// A lock comes with its unlock link: if the link cannot be stored, the account is not
// locked (before: locked, and no link ever sent); a later attempt locks it with a link.
// A lock whose link has expired gets a new one at the next attempt.
func faultNoLockWithoutALink(t *testing.T, e *env, plan *faults.Plan) {
	e.withUser(userID, "user")
	for range account.DefaultLockoutThreshold - 1 {
		e.client().login(userID, "Wrong-Pass-123!")
	}
	mails := len(e.mailbox.Messages(userID))
	plan.Fail("CreateToken", faults.Throttling("DynamoDB", "PutItem"))
	internalOnly(t, "the locking attempt while links cannot be stored", e.client().login(userID, "Wrong-Pass-123!"))
	plan.Clear()
	if e.account(userID).Locked() {
		t.Fatal("locked without an unlock link")
	}
	e.clock.Add(2 * account.StalledAttempt) // the full counter is now left over, not in flight
	e.client().login(userID, "Wrong-Pass-123!")
	m := e.mailbox.Messages(userID)
	if !e.account(userID).Locked() || len(m) != mails+1 {
		t.Fatalf("the next attempt: locked %v, mails %d then %d", e.account(userID).Locked(), mails, len(m))
	}
	first := tokenFrom(t, m[len(m)-1], "unlock")
	// The link expires (14 days by default) with the lock still on: the next attempt,
	// and only that one, mails a new link, which works.
	e.clock.Add(15 * 24 * time.Hour)
	e.client().login(userID, userPW)
	e.client().login(userID, userPW)
	m = e.mailbox.Messages(userID)
	if len(m) != mails+2 {
		t.Fatalf("after the link expired: %d mails, want %d", len(m), mails+2)
	}
	second := tokenFrom(t, m[len(m)-1], "unlock")
	if res := e.client().do("POST", "/api/unlock", map[string]string{"token": first}); res.code(t) != "invalid_token" {
		t.Fatalf("the expired link: %d %s", res.status, res.body)
	}
	if res := e.client().do("POST", "/api/unlock", map[string]string{"token": second}); res.status != 200 || e.account(userID).Locked() {
		t.Fatalf("the new link: %d %s", res.status, res.body)
	}
	if got := e.auditActions(t); !strings.Contains(got, "lock:ok:unlock_link_reissued") {
		t.Fatalf("the new link is not audited: %s", got)
	}
}
