package httpapi_test

import (
	"context"
	"strings"
	"testing"

	"github.com/kagiya/kagiya/shared/account"
)

// Dangerous administration needs the administrator's own password: missing is 422, wrong
// is 403 and counts toward the administrator's own lockout.
func TestASVS_3_7_1_DangerousAdministrationIsConfirmed(t *testing.T) {
	e := newEnv(t, withConfig(noThrottle), withSettings(account.Settings{LockoutThreshold: 5}))
	e.withUser(userID, "user")
	owner := e.signedIn(ownerID, ownerPW)
	path := "/api/admin/accounts/" + userID
	for name, body := range map[string]map[string]any{
		"role":     {"role": "admin"},
		"password": {"password": "Kari-Pass-2026!"},
		"disabled": {"disabled": true},
	} {
		res := owner.do("PATCH", path, body)
		if res.status != 422 || !strings.Contains(string(res.body), `"field":"confirm_password","code":"required"`) {
			t.Fatalf("%s without a confirmation: %d %s", name, res.status, res.body)
		}
		body["confirm_password"] = "Not-My-Passw0rd!"
		if res := owner.do("PATCH", path, body); res.status != 403 || res.code(t) != "invalid_confirm_password" {
			t.Fatalf("%s with a wrong confirmation: %d %s", name, res.status, res.body)
		}
	}
	if a := e.account(userID); a.Role != account.RoleUser || a.Disabled || a.ForceChange {
		t.Fatalf("a refused change was applied: %+v", a)
	}
	if n := e.account(ownerID).FailedAttempts; n != 3 {
		t.Fatalf("wrong confirmations counted %d, want 3", n)
	}
	// Harmless fields need none.
	if res := owner.do("PATCH", path, map[string]any{"comment": "営業部", "quota_gb": 5}); res.status != 200 {
		t.Fatalf("comment and quota: %d %s", res.status, res.body)
	}
	// A right confirmation ends the run of failures.
	res := owner.do("PATCH", path, map[string]any{"role": "admin", "confirm_password": ownerPW})
	if res.status != 200 || res.json(t)["role"] != "admin" || e.account(ownerID).FailedAttempts != 0 {
		t.Fatalf("role with a confirmation: %d %s", res.status, res.body)
	}
	if !strings.Contains(e.auditActions(t), "account.update:ok:role=admin") || !strings.Contains(e.auditActions(t), "account.update:failed:confirm_password") {
		t.Fatalf("audit: %s", e.auditActions(t))
	}
	// Wrong confirmations lock the administrator like wrong sign-ins.
	for range 5 {
		owner.do("PATCH", path, map[string]any{"role": "user", "confirm_password": "Not-My-Passw0rd!"})
	}
	if !e.account(ownerID).Locked() {
		t.Fatal("five wrong confirmations did not lock the administrator")
	}
}

func TestSuspendAndSignOutEverywhere(t *testing.T) {
	e := newEnv(t, withConfig(noThrottle))
	e.withUser(userID, "user")
	owner := e.signedIn(ownerID, ownerPW)
	user := e.signedIn(userID, userPW)
	path := "/api/admin/accounts/" + userID

	if res := owner.do("PATCH", "/api/admin/accounts/"+ownerID, map[string]any{"disabled": true, "confirm_password": ownerPW}); res.status != 422 {
		t.Fatalf("suspending oneself: %d %s", res.status, res.body)
	}
	res := owner.do("PATCH", path, map[string]any{"disabled": true, "confirm_password": ownerPW})
	if res.status != 200 || res.json(t)["disabled"] != true {
		t.Fatalf("suspend: %d %s", res.status, res.body)
	}
	if res := user.do("GET", "/api/me", nil); res.status != 401 {
		t.Fatalf("a suspended account's session: %d", res.status)
	}
	if res := e.client().login(userID, userPW); res.status != 401 || res.code(t) != "invalid_credentials" {
		t.Fatalf("a suspended account signs in: %d %s", res.status, res.body)
	}
	if res := owner.do("PATCH", path, map[string]any{"disabled": false, "confirm_password": ownerPW}); res.status != 200 {
		t.Fatalf("resume: %d %s", res.status, res.body)
	}
	user = e.signedIn(userID, userPW)
	other := e.signedIn(userID, userPW)

	revoke := "/api/admin/accounts/" + userID + "/sessions/revoke"
	if res := owner.do("POST", revoke, nil); res.status != 422 {
		t.Fatalf("revoke without a confirmation: %d %s", res.status, res.body)
	}
	if res := owner.do("POST", revoke, map[string]string{"confirm_password": ownerPW}); res.status != 204 {
		t.Fatalf("revoke: %d %s", res.status, res.body)
	}
	for _, c := range []*client{user, other} {
		if res := c.do("GET", "/api/me", nil); res.status != 401 {
			t.Fatalf("a session survived sign-out-everywhere: %d", res.status)
		}
	}
	if res := owner.do("POST", "/api/admin/accounts/"+ownerID+"/sessions/revoke", map[string]string{"confirm_password": ownerPW}); res.status != 403 || res.code(t) != "use_self_service" {
		t.Fatalf("revoking one's own sessions here: %d %s", res.status, res.body)
	}
	if res := e.client().login(userID, userPW); res.status != 200 {
		t.Fatalf("signing in again after sign-out-everywhere: %d", res.status)
	}
	audit := e.auditActions(t)
	for _, want := range []string{"account.update:ok:disabled=true", "account.update:ok:disabled=false", "account.revoke_sessions:ok"} {
		if !strings.Contains(audit, want) {
			t.Errorf("audit lacks %q: %s", want, audit)
		}
	}
}

// Third security review (issue 23): with only an owner's session and CSRF token, a
// second owner could be created or invited, unconfirmed and untold. Now creating or
// inviting an admin or owner needs the creator's own password, and every owner is mailed
// who was made what, by whom, when and from which address; a promotion is told too.
func TestCreatingAnOwnerNeedsConfirmPasswordAndMailsEveryOwner(t *testing.T) {
	e := newEnv(t, withConfig(noThrottle))
	owner := e.signedIn(ownerID, ownerPW)
	for name, body := range map[string]map[string]any{
		"create an owner":    {"login_id": "boss@example.com", "role": "owner", "password": "Kanri-Passw0rd-26!"},
		"invite an owner":    {"login_id": "boss@example.com", "role": "owner", "invite": true},
		"invite an admin":    {"login_id": "boss@example.com", "role": "admin", "invite": true},
		"create an admin":    {"login_id": "boss@example.com", "role": "admin", "password": "Kanri-Passw0rd-26!"},
		"wrong confirmation": {"login_id": "boss@example.com", "role": "owner", "password": "Kanri-Passw0rd-26!", "confirm_password": "Not-My-Passw0rd!"},
	} {
		res := owner.do("POST", "/api/admin/accounts", body)
		wrong := body["confirm_password"] != nil
		if !wrong && (res.status != 422 || !strings.Contains(string(res.body), `"field":"confirm_password","code":"required"`)) ||
			wrong && (res.status != 403 || res.code(t) != "invalid_confirm_password") {
			t.Fatalf("%s: %d %s", name, res.status, res.body)
		}
	}
	if _, err := account.FindAccount(context.Background(), e.store, "boss@example.com"); err == nil {
		t.Fatal("a refused creation wrote the account")
	}
	if n := len(e.mailbox.Messages("boss@example.com")); n != 0 {
		t.Fatalf("a refused invitation mailed %d messages", n)
	}
	// A user needs no confirmation, and no owner is told.
	if res := owner.do("POST", "/api/admin/accounts", map[string]any{"login_id": userID, "role": "user", "password": userPW}); res.status != 201 {
		t.Fatalf("create a user: %d %s", res.status, res.body)
	}
	if n := len(e.mailbox.Messages(ownerID)); n != 0 {
		t.Fatalf("creating a user mailed the owner %d messages", n)
	}

	res := owner.do("POST", "/api/admin/accounts", map[string]any{"login_id": "boss@example.com", "role": "owner", "password": "Kanri-Passw0rd-26!", "confirm_password": ownerPW})
	if res.status != 201 {
		t.Fatalf("create an owner, confirmed: %d %s", res.status, res.body)
	}
	told := func(to, event, target string) {
		t.Helper()
		msgs := e.mailbox.Messages(to)
		if len(msgs) == 0 {
			t.Fatalf("%s was not told", to)
		}
		m := msgs[len(msgs)-1]
		for _, want := range []string{target, ownerID, "192.0.2.10", "2026"} {
			if !strings.Contains(m.Subject+m.Text, want) || !strings.Contains(m.HTML, want) {
				t.Fatalf("mail to %s lacks %q:\n%s\n%s", to, want, m.Subject, m.Text)
			}
		}
		if !strings.Contains(m.Text, event) {
			t.Fatalf("mail to %s does not say %q:\n%s", to, event, m.Text)
		}
	}
	told(ownerID, "オーナーとして追加", "boss@example.com")
	if n := len(e.mailbox.Messages("boss@example.com")); n != 0 {
		t.Fatalf("the new owner was mailed about itself: %d", n)
	}
	// Both owners now hear of an invited administrator and of a promotion.
	if res := owner.do("POST", "/api/admin/accounts", map[string]any{"login_id": "kanri@example.com", "role": "admin", "invite": true, "confirm_password": ownerPW}); res.status != 201 {
		t.Fatalf("invite an admin, confirmed: %d %s", res.status, res.body)
	}
	told(ownerID, "管理者として追加", "kanri@example.com")
	told("boss@example.com", "管理者として追加", "kanri@example.com")
	if res := owner.do("PATCH", "/api/admin/accounts/"+userID, map[string]any{"role": "owner", "confirm_password": ownerPW}); res.status != 200 {
		t.Fatalf("promote: %d %s", res.status, res.body)
	}
	told("boss@example.com", "オーナーに変更", userID)
	if !strings.Contains(e.auditActions(t), "account.create:failed:confirm_password") {
		t.Fatalf("audit: %s", e.auditActions(t))
	}
}
