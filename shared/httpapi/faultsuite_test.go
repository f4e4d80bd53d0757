package httpapi_test

import (
	"context"
	"testing"

	"github.com/kagiya/kagiya/shared/account"
	"github.com/kagiya/kagiya/shared/faults/faulttest"
)

// A writeFlow is one flow that writes, for the fault suite. prepare makes what the flow
// needs (no fault yet) and returns the flow's request, which the suite sends once under a
// fault and again once the fault has cleared; after checks what the flow leaves.
type writeFlow struct {
	name    string
	prepare func(t *testing.T, e *env) (act func() response)
	after   func(t *testing.T, e *env)
}

// TestFaultSuite runs every flow that writes with a failure (DynamoDB's throttling after
// the SDK's retries) at each of its store writes in turn, on the embedded store and on
// DynamoDB (minidyn): the flow either succeeds all the same or answers a plain 500 with
// nothing of the store in it; once the fault clears the same request succeeds (its link
// was not used up, its attempt not left counted); and the flow's own check holds (no
// account locked by a failure alone).
func TestFaultSuite(t *testing.T) {
	for _, f := range writeFlows {
		for storeName, open := range faulttest.Stores() {
			t.Run(f.name+"/"+storeName, func(t *testing.T) {
				t.Parallel()
				faulttest.EachWrite(t, open, func(status int) bool { return status < 300 || status == 401 },
					func(t *testing.T, st account.Store) (func() faulttest.Answer, func(*testing.T)) {
						e := newEnvOn(t, st, withConfig(noThrottle))
						act := f.prepare(t, e)
						send := func() faulttest.Answer {
							res := act()
							if res.status == 500 && res.code(t) != "internal" {
								t.Fatalf("%s: a 500 that is not internal: %s", f.name, res.body)
							}
							return faulttest.Answer{Status: res.status, Body: string(res.body)}
						}
						return send, func(t *testing.T) { f.after(t, e) }
					})
			})
		}
	}
}

// notLocked checks that id's account is neither locked nor holds counted attempts.
func notLocked(id string) func(t *testing.T, e *env) {
	return func(t *testing.T, e *env) {
		t.Helper()
		if a := e.account(id); a.Locked() || a.MFALocked() {
			t.Fatalf("%s is locked (password %v, second factor %v)", id, a.Locked(), a.MFALocked())
		}
	}
}

// secondFactorOn checks that id is not locked and has its second factor on with codes
// recovery codes.
func secondFactorOn(id string, codes int) func(t *testing.T, e *env) {
	return func(t *testing.T, e *env) {
		t.Helper()
		notLocked(id)(t, e)
		a := e.account(id)
		hashes, err := e.store.RecoveryCodes(context.Background(), a.TenantID, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !a.MFAEnabled() || len(hashes) != codes {
			t.Fatalf("%s: second factor on %v with %d recovery codes, want on with %d", id, a.MFAEnabled(), len(hashes), codes)
		}
	}
}

// signsIn checks that id signs in with one of pws and is not locked.
func signsIn(id string, pws ...string) func(t *testing.T, e *env) {
	return func(t *testing.T, e *env) {
		t.Helper()
		notLocked(id)(t, e)
		for _, pw := range pws {
			if e.client().login(id, pw).status == 200 {
				return
			}
		}
		t.Fatalf("%s signs in with none of its passwords", id)
	}
}

const nextPW = "Kawa-no-Sakana-77!"

var writeFlows = []writeFlow{
	{name: "SignIn",
		prepare: func(t *testing.T, e *env) func() response {
			e.withUser(userID, "user")
			return func() response { return e.client().login(userID, userPW) }
		},
		after: func(t *testing.T, e *env) {
			if a := e.account(userID); a.Locked() || a.FailedAttempts != 0 {
				t.Fatalf("after a right password: locked %v, counter %d", a.Locked(), a.FailedAttempts)
			}
		}},
	{name: "WrongPassword",
		prepare: func(t *testing.T, e *env) func() response {
			e.withUser(userID, "user")
			return func() response { return e.client().login(userID, "Wrong-Pass-123!") }
		},
		after: signsIn(userID, userPW)},
	{name: "Lock",
		prepare: func(t *testing.T, e *env) func() response {
			e.withUser(userID, "user")
			for range account.DefaultLockoutThreshold - 1 {
				e.client().login(userID, "Wrong-Pass-123!")
			}
			return func() response { return e.client().login(userID, "Wrong-Pass-123!") }
		},
		after: func(t *testing.T, e *env) {
			// Locked, and then with its unlock link mailed; the link works.
			if !e.account(userID).Locked() {
				return
			}
			m := e.mailbox.Messages(userID)
			if len(m) == 0 {
				t.Fatal("locked without an unlock email")
			}
			if res := e.client().do("POST", "/api/unlock", map[string]string{"token": tokenFrom(t, m[len(m)-1], "unlock")}); res.status != 200 {
				t.Fatalf("the unlock link: %d %s", res.status, res.body)
			}
			signsIn(userID, userPW)(t, e)
		}},
	{name: "Unlock",
		prepare: func(t *testing.T, e *env) func() response {
			e.withUser(userID, "user")
			for range account.DefaultLockoutThreshold {
				e.client().login(userID, "Wrong-Pass-123!")
			}
			m := e.mailbox.Messages(userID)
			token := tokenFrom(t, m[len(m)-1], "unlock")
			return func() response { return e.client().do("POST", "/api/unlock", map[string]string{"token": token}) }
		},
		after: signsIn(userID, userPW)},
	{name: "Forgot",
		prepare: func(t *testing.T, e *env) func() response {
			e.withUser(userID, "user")
			return func() response {
				return e.client().do("POST", "/api/password/forgot", map[string]string{"login_id": userID})
			}
		},
		after: signsIn(userID, userPW)},
	{name: "Reset",
		prepare: func(t *testing.T, e *env) func() response {
			e.withUser(userID, "user")
			e.client().do("POST", "/api/password/forgot", map[string]string{"login_id": userID})
			m := e.mailbox.Messages(userID)
			token := tokenFrom(t, m[len(m)-1], "reset")
			return func() response {
				return e.client().do("POST", "/api/password/reset", map[string]string{"token": token, "new_password": nextPW})
			}
		},
		after: signsIn(userID, nextPW)},
	{name: "SelfChange",
		prepare: func(t *testing.T, e *env) func() response {
			e.withUser(userID, "user")
			c := e.signedIn(userID, userPW)
			return func() response {
				return c.do("POST", "/api/me/password", map[string]string{"current_password": userPW, "new_password": nextPW})
			}
		},
		after: signsIn(userID, nextPW)},
	{name: "AdminSet",
		prepare: func(t *testing.T, e *env) func() response {
			e.withUser(userID, "user")
			owner := e.signedIn(ownerID, ownerPW)
			return func() response {
				return owner.do("PATCH", "/api/admin/accounts/"+userID, map[string]any{"password": nextPW, "confirm_password": ownerPW})
			}
		},
		after: signsIn(userID, nextPW)},
	{name: "Invitation",
		prepare: func(t *testing.T, e *env) func() response {
			owner := e.signedIn(ownerID, ownerPW)
			if res := owner.do("POST", "/api/admin/accounts", map[string]any{"login_id": "shin@example.com", "invite": true}); res.status != 201 {
				t.Fatalf("invite: %d %s", res.status, res.body)
			}
			invite, _ := e.pageLink("shin@example.com", "invite")
			return func() response {
				return e.client().do("POST", "/api/invitations/accept", map[string]string{"token": invite, "new_password": nextPW})
			}
		},
		after: signsIn("shin@example.com", nextPW)},
	{name: "LoginIDChange",
		prepare: func(t *testing.T, e *env) func() response {
			e.withUser(userID, "user")
			c := e.signedIn(userID, userPW)
			if res := c.do("POST", "/api/me/login-id", map[string]string{"new_login_id": "taro.new@example.com", "current_password": userPW}); res.status != 202 {
				t.Fatalf("login-ID change: %d %s", res.status, res.body)
			}
			change, _ := e.pageLink("taro.new@example.com", "confirm-email")
			return func() response {
				return e.client().do("POST", "/api/email/confirm", map[string]string{"token": change, "password": userPW})
			}
		},
		after: signsIn("taro.new@example.com", userPW)},
	{name: "TOTPStep",
		prepare: func(t *testing.T, e *env) func() response {
			e.withUser(userID, "user")
			secret, _ := e.enrol(e.signedIn(userID, userPW), userPW)
			b := e.client()
			ch := b.mfaLogin(userID, userPW)
			return func() response { return b.giveCode(ch, map[string]any{"code": e.code(secret, 0)}) }
		},
		after: secondFactorOn(userID, account.RecoveryCodeN)},
	{name: "RecoveryCodeStep",
		prepare: func(t *testing.T, e *env) func() response {
			e.withUser(userID, "user")
			_, codes := e.enrol(e.signedIn(userID, userPW), userPW)
			b := e.client()
			ch := b.mfaLogin(userID, userPW)
			return func() response { return b.giveCode(ch, map[string]any{"recovery_code": codes[0]}) }
		},
		after: secondFactorOn(userID, account.RecoveryCodeN-1)},
	{name: "EnrolSecondFactor",
		prepare: func(t *testing.T, e *env) func() response {
			e.withUser(userID, "user")
			c := e.signedIn(userID, userPW)
			res := c.do("POST", "/api/me/mfa/totp/setup", map[string]string{"current_password": userPW})
			secret, _ := res.json(t)["secret"].(string)
			return func() response {
				return c.do("POST", "/api/me/mfa/totp/confirm", map[string]string{"code": e.code(secret, 0)})
			}
		},
		after: secondFactorOn(userID, account.RecoveryCodeN)},
	{name: "EnrolAtSignIn",
		prepare: func(t *testing.T, e *env) func() response {
			e.withUser(userID, "user")
			owner := e.signedIn(ownerID, ownerPW)
			tenant := owner.do("GET", "/api/admin/tenant", nil).json(t)
			tenant["mfa_required"], tenant["confirm_password"] = true, ownerPW
			if res := owner.do("PUT", "/api/admin/tenant", tenant); res.status != 200 {
				t.Fatalf("require a second factor: %d %s", res.status, res.body)
			}
			b := e.client()
			ch, _ := b.login(userID, userPW).json(t)["challenge"].(string)
			res := b.do("POST", "/api/login/mfa/setup", map[string]string{"challenge": ch})
			secret, _ := res.json(t)["secret"].(string)
			return func() response {
				return b.do("POST", "/api/login/mfa/confirm", map[string]string{"challenge": ch, "code": e.code(secret, 0)})
			}
		},
		after: secondFactorOn(userID, account.RecoveryCodeN)},
	{name: "BatchUnlock",
		prepare: func(t *testing.T, e *env) func() response {
			ids := []string{"a@example.com", "b@example.com"}
			for _, id := range ids {
				e.withUser(id, "user")
				for range account.DefaultLockoutThreshold {
					e.client().login(id, "Wrong-Pass-123!")
				}
			}
			owner := e.signedIn(ownerID, ownerPW)
			return func() response {
				return owner.do("POST", "/api/admin/unlock", map[string]any{"login_ids": ids, "confirm_password": ownerPW})
			}
		},
		after: func(t *testing.T, e *env) {
			// Those the answer says failed are unlocked when the batch is sent again.
			owner := e.signedIn(ownerID, ownerPW)
			if res := owner.do("POST", "/api/admin/unlock", map[string]any{"login_ids": []string{"a@example.com", "b@example.com"}, "confirm_password": ownerPW}); res.status != 200 {
				t.Fatalf("the batch again: %d %s", res.status, res.body)
			}
			signsIn("a@example.com", userPW)(t, e)
			signsIn("b@example.com", userPW)(t, e)
		}},
}
