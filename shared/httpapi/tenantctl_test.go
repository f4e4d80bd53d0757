package httpapi_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/kagiya/kagiya/shared/account"
	"github.com/kagiya/kagiya/shared/faults"
)

// The manuals' tenant controls (docs/api.md, "Tenant controls from the manuals"): allowed
// networks and the separate confirmation password. Each case runs on the embedded store
// and on DynamoDB (minidyn).

const (
	adminID        = "kanri@example.com"
	adminConfirmPW = "Kakunin-Sora-77!"
	ownerConfirmPW = "Kakunin-Mori-88!"
)

// onBothStores runs f on bbolt and on minidyn, with the options given.
func onBothStores(t *testing.T, f func(*testing.T, *env), opts ...option) {
	t.Run("bbolt", func(t *testing.T) { f(t, newEnv(t, opts...)) })
	t.Run("minidyn", func(t *testing.T) { f(t, newDynamoEnv(t, opts...).env) })
}

// separate is a tenant whose dangerous actions are confirmed with a separate password.
func separate(threshold int) option {
	return withSettings(account.Settings{LockoutThreshold: threshold, ConfirmationPassword: account.ConfirmWithSeparate})
}

// putTenant changes the owner's tenant settings as the settings page does: what GET
// gave, with changes.
func putTenant(t *testing.T, c *client, confirm string, change map[string]any) response {
	t.Helper()
	set := c.do("GET", "/api/admin/tenant", nil).json(t)
	for k, v := range change {
		set[k] = v
	}
	set["confirm_password"] = confirm
	return c.do("PUT", "/api/admin/tenant", set)
}

func TestTenantControlSettingsAreValidated(t *testing.T) {
	onBothStores(t, func(t *testing.T, e *env) {
		owner := e.signedIn(ownerID, ownerPW)
		got := owner.do("GET", "/api/admin/tenant", nil).json(t)
		if nets, ok := got["allowed_networks"].([]any); !ok || len(nets) != 0 || got["confirmation_password"] != "login" || got["trusted_networks_skip_mfa"] != false {
			t.Fatalf("defaults: %v %v %v", got["allowed_networks"], got["confirmation_password"], got["trusted_networks_skip_mfa"])
		}
		res := putTenant(t, owner, ownerPW, map[string]any{"allowed_networks": []string{"10.0.0.0/8", "192.0.2.0/33", "2001:db8::/32"}})
		if res.status != 422 || !strings.Contains(string(res.body), `{"field":"allowed_networks[1]","code":"invalid"}`) {
			t.Fatalf("an invalid range: %d %s", res.status, res.body)
		}
		for _, bad := range []string{"", "example.com", "10.0.0.0/8/8", "fe80::1%eth0", "10.0.0.256"} {
			res := putTenant(t, owner, ownerPW, map[string]any{"allowed_networks": []string{bad}})
			if res.status != 422 || !strings.Contains(string(res.body), `"allowed_networks[0]"`) {
				t.Fatalf("%q: %d %s", bad, res.status, res.body)
			}
		}
		many := make([]string, account.MaxAllowedNetworks+1)
		for i := range many {
			many[i] = fmt.Sprintf("10.0.%d.0/24", i)
		}
		if res := putTenant(t, owner, ownerPW, map[string]any{"allowed_networks": many}); res.status != 422 || !strings.Contains(string(res.body), `{"field":"allowed_networks","code":"too_many"}`) {
			t.Fatalf("101 ranges: %d %s", res.status, res.body)
		}
		if res := putTenant(t, owner, ownerPW, map[string]any{"confirmation_password": "both"}); res.status != 422 || !strings.Contains(string(res.body), `"confirmation_password"`) {
			t.Fatalf("an unknown mode: %d %s", res.status, res.body)
		}
		if nets := e.account(ownerID); nets.FailedAttempts != 0 {
			t.Fatal("refused settings were confirmed")
		}
		// Valid ranges are kept in canonical form, without repeats.
		res = putTenant(t, owner, ownerPW, map[string]any{
			"allowed_networks":          []string{"192.0.2.77/24", " 2001:DB8::1 ", "192.0.2.0/24", "::ffff:198.51.100.0/120"},
			"trusted_networks_skip_mfa": true, "confirmation_password": "separate"})
		got = res.json(t)
		if res.status != 200 || fmt.Sprint(got["allowed_networks"]) != "[192.0.2.0/24 2001:db8::1/128 198.51.100.0/24]" ||
			got["trusted_networks_skip_mfa"] != true || got["confirmation_password"] != "separate" {
			t.Fatalf("valid settings: %d %s", res.status, res.body)
		}
		if !strings.Contains(e.auditActions(t), "allowed_networks=192.0.2.0/24,2001:db8::1/128,198.51.100.0/24 skip_mfa=true confirmation_password=separate") {
			t.Fatalf("audit: %s", e.auditActions(t))
		}
	}, withConfig(noThrottle))
}

// setOwnConfirmation sets c's confirmation password with its login password.
func setOwnConfirmation(t *testing.T, c *client, loginPW, confirmPW string) {
	t.Helper()
	if res := c.do("PUT", "/api/me/confirmation-password", map[string]any{"current_password": loginPW, "new_password": confirmPW}); res.status != 204 {
		t.Fatalf("set confirmation password: %d %s", res.status, res.body)
	}
}

func TestSeparateConfirmationPassword(t *testing.T) {
	onBothStores(t, func(t *testing.T, e *env) {
		owner := e.signedIn(ownerID, ownerPW)
		// Switched on with the login password (the mode it is in until then).
		if res := putTenant(t, owner, ownerPW, map[string]any{"confirmation_password": "separate"}); res.status != 200 {
			t.Fatalf("switch: %d %s", res.status, res.body)
		}
		revoke := func(c *client, confirm string) response {
			return c.do("POST", "/api/admin/accounts/"+userID+"/sessions/revoke", map[string]any{"confirm_password": confirm})
		}
		if res := owner.do("POST", "/api/admin/accounts", map[string]any{"login_id": userID, "role": "user", "password": userPW}); res.status != 201 {
			t.Fatalf("create a user: %d %s", res.status, res.body)
		}
		if res := revoke(owner, ownerPW); res.status != 409 || res.code(t) != "confirmation_password_not_set" {
			t.Fatalf("before it is set: %d %s", res.status, res.body)
		}
		me := owner.do("GET", "/api/me", nil).json(t)
		if me["confirmation_password"] != "separate" || me["confirmation_password_set"] != false {
			t.Fatalf("me: %v", me)
		}
		put := func(current, next string) response {
			return owner.do("PUT", "/api/me/confirmation-password", map[string]any{"current_password": current, "new_password": next})
		}
		if res := put("Not-My-Passw0rd!", ownerConfirmPW); res.status != 403 || res.code(t) != "invalid_current_password" {
			t.Fatalf("wrong login password: %d %s", res.status, res.body)
		}
		if res := put(ownerPW, ownerPW); res.status != 422 || !strings.Contains(string(res.body), `{"field":"new_password","code":"same_as_login"}`) {
			t.Fatalf("the login password as confirmation password: %d %s", res.status, res.body)
		}
		if res := put(ownerPW, "short"); res.status != 422 || res.code(t) != "password_policy" {
			t.Fatalf("against the policy: %d %s", res.status, res.body)
		}
		setOwnConfirmation(t, owner, ownerPW, ownerConfirmPW)
		if me := owner.do("GET", "/api/me", nil).json(t); me["confirmation_password_set"] != true {
			t.Fatalf("me after: %v", me)
		}
		// The login password no longer confirms, and its wrong use counts only toward
		// the confirmation password's lock.
		if res := revoke(owner, ownerPW); res.status != 403 || res.code(t) != "invalid_confirm_password" {
			t.Fatalf("login password as confirmation: %d %s", res.status, res.body)
		}
		if a := e.account(ownerID); a.FailedAttempts != 0 || a.Confirmation.Failures != 1 {
			t.Fatalf("counters: login %d, confirmation %d", a.FailedAttempts, a.Confirmation.Failures)
		}
		if res := revoke(owner, ownerConfirmPW); res.status != 204 {
			t.Fatalf("confirmation password: %d %s", res.status, res.body)
		}
		if a := e.account(ownerID); a.Confirmation.Failures != 0 {
			t.Fatalf("a right one left %d failures", a.Confirmation.Failures)
		}
		if audit := e.auditActions(t); !strings.Contains(audit, "account.revoke_sessions:failed:confirmation_password") ||
			!strings.Contains(audit, "confirmation.change:ok") || !strings.Contains(audit, "account.revoke_sessions:ok") {
			t.Fatalf("audit: %s", audit)
		}
		// A user has no administrative actions, but may set its own.
		user := e.signedIn(userID, userPW)
		setOwnConfirmation(t, user, userPW, "Kakunin-User-99!")
		// Back to the login password: it confirms again.
		if res := putTenant(t, owner, ownerConfirmPW, map[string]any{"confirmation_password": "login"}); res.status != 200 {
			t.Fatalf("switch back: %d %s", res.status, res.body)
		}
		if res := revoke(owner, ownerPW); res.status != 204 {
			t.Fatalf("login mode again: %d %s", res.status, res.body)
		}
	}, withConfig(noThrottle))
}

func TestConfirmationPasswordLocksExactlyAtThresholdUnderParallelAttempts(t *testing.T) {
	onBothStores(t, func(t *testing.T, e *env) {
		e.withUser(userID, "user")
		owner := e.signedIn(ownerID, ownerPW)
		if res := owner.do("POST", "/api/admin/accounts", map[string]any{"login_id": adminID, "role": "admin", "password": userPW, "confirm_password": ownerPW}); res.status != 409 || res.code(t) != "confirmation_password_not_set" {
			t.Fatalf("an admin made before the owner has a confirmation password: %d %s", res.status, res.body)
		}
		setOwnConfirmation(t, owner, ownerPW, ownerConfirmPW)
		if res := owner.do("POST", "/api/admin/accounts", map[string]any{"login_id": adminID, "role": "admin", "password": userPW, "confirm_password": ownerConfirmPW}); res.status != 201 {
			t.Fatalf("create admin: %d %s", res.status, res.body)
		}
		admin := e.signedIn(adminID, userPW)
		setOwnConfirmation(t, admin, userPW, adminConfirmPW)

		const attempts = 12
		var wg sync.WaitGroup
		codes := make([]string, attempts)
		for i := range attempts {
			wg.Add(1)
			go func() {
				defer wg.Done()
				res := admin.do("POST", "/api/admin/accounts/"+userID+"/sessions/revoke", map[string]any{"confirm_password": "Not-Kakunin-00!"})
				codes[i] = fmt.Sprint(res.status, " ", res.code(t))
			}()
		}
		wg.Wait()
		count := map[string]int{}
		for _, c := range codes {
			count[c]++
		}
		// Threshold 3: two wrong ones are told so, the third locks, the rest find it locked.
		if count["403 invalid_confirm_password"] != 2 || count["403 confirmation_locked"] != attempts-2 {
			t.Fatalf("answers: %v", count)
		}
		a := e.account(adminID)
		if !a.ConfirmationLocked() || a.Confirmation.Failures != 3 || a.FailedAttempts != 0 || a.Locked() {
			t.Fatalf("admin after: confirmation %+v, login failures %d, locked %v", a.Confirmation, a.FailedAttempts, a.Locked())
		}
		var lockMails int
		for _, m := range e.mailbox.Messages(adminID) {
			if strings.Contains(m.Subject, "確認用パスワードが利用停止") {
				lockMails++
			}
		}
		if lockMails != 1 {
			t.Fatalf("%d lock emails, want 1", lockMails)
		}
		if audit := e.auditActions(t); strings.Count(audit, "confirmation.lock:ok:3 failures") != 1 {
			t.Fatalf("audit: %s", audit)
		}
		// The right one is refused while locked; the login password still signs in.
		if res := admin.do("POST", "/api/admin/accounts/"+userID+"/sessions/revoke", map[string]any{"confirm_password": adminConfirmPW}); res.status != 403 || res.code(t) != "confirmation_locked" {
			t.Fatalf("right one while locked: %d %s", res.status, res.body)
		}
		if res := admin.do("PUT", "/api/me/confirmation-password", map[string]any{"current_password": userPW, "new_password": "Kakunin-Atarashii-1!"}); res.status != 403 || res.code(t) != "confirmation_locked" {
			t.Fatalf("the person cannot lift it by setting another: %d %s", res.status, res.body)
		}
		e.signedIn(adminID, userPW)
		// The account list shows the state and filters by it.
		list := owner.do("GET", "/api/admin/accounts?state=confirmation_locked", nil).json(t)
		items, _ := list["accounts"].([]any)
		if len(items) != 1 || items[0].(map[string]any)["login_id"] != adminID || items[0].(map[string]any)["confirmation_locked"] != true {
			t.Fatalf("list: %v", list)
		}
		// The owner releases it (confirmed with its own).
		res := owner.do("POST", "/api/admin/accounts/"+adminID+"/confirmation/unlock", map[string]any{"confirm_password": ownerConfirmPW})
		if res.status != 200 || fmt.Sprint(res.json(t)["unlocked"]) != "["+adminID+"]" {
			t.Fatalf("release: %d %s", res.status, res.body)
		}
		if res := admin.do("POST", "/api/admin/accounts/"+userID+"/sessions/revoke", map[string]any{"confirm_password": adminConfirmPW}); res.status != 204 {
			t.Fatalf("after release: %d %s", res.status, res.body)
		}
		if audit := e.auditActions(t); !strings.Contains(audit, "confirmation.unlock:ok:admin") {
			t.Fatalf("audit: %s", audit)
		}
		if n := len(e.mailbox.Messages(adminID)); n < 2 {
			t.Fatalf("no release email: %d messages", n)
		}
	}, withConfig(noThrottle), separate(3))
}

// An owner's release of an administrator's confirmation password that lands just
// before the lock a wrong one would write stands, and the attempt is answered as the
// release leaves it: the wrong one that filled the counter is a wrong one like the others
// the release forgave (invalid_confirm_password, no lock, no lock email), and an attempt
// that found the counter full long after it filled (its lock never written) is counted
// and checked like any other. Before, both were answered confirmation_locked though
// nothing was locked.
func TestConfirmationLockLeavesARelease(t *testing.T) {
	onPlannedStores(t, func(t *testing.T, e *env, plan *faults.Plan) {
		e.withUser(userID, "user")
		owner := e.signedIn(ownerID, ownerPW)
		setOwnConfirmation(t, owner, ownerPW, ownerConfirmPW)
		if res := owner.do("POST", "/api/admin/accounts", map[string]any{"login_id": adminID, "role": "admin", "password": userPW, "confirm_password": ownerConfirmPW}); res.status != 201 {
			t.Fatalf("create admin: %d %s", res.status, res.body)
		}
		admin := e.signedIn(adminID, userPW)
		setOwnConfirmation(t, admin, userPW, adminConfirmPW)
		revoke := func(confirm string) response {
			return admin.do("POST", "/api/admin/accounts/"+userID+"/sessions/revoke", map[string]any{"confirm_password": confirm})
		}
		var release response
		releaseBefore := func(skip int) {
			plan.Add(faults.Rule{Method: "UpdateAccount", Skip: skip, Times: 1, Before: func() {
				release = owner.do("POST", "/api/admin/confirmation/unlock", map[string]any{"login_ids": []string{adminID}, "confirm_password": ownerConfirmPW})
			}})
		}
		released := func(what string) {
			t.Helper()
			if notLocked, _ := release.json(t)["not_locked"].([]any); release.status != 200 || len(notLocked) != 1 || notLocked[0] != adminID {
				t.Fatalf("%s: the release: %d %s", what, release.status, release.body)
			}
			release = response{}
		}
		const wrong = "Not-Kakunin-00!"
		for i := range 2 { // the tenant's threshold is 3
			if res := revoke(wrong); res.status != 403 || res.code(t) != "invalid_confirm_password" {
				t.Fatalf("wrong one %d: %d %s", i+1, res.status, res.body)
			}
		}
		// The third: its attempt is counted (the request's first account write), then the
		// release lands before its lock.
		releaseBefore(1)
		res := revoke(wrong)
		released("the third wrong one")
		if res.status != 403 || res.code(t) != "invalid_confirm_password" {
			t.Fatalf("the wrong one the release forgave: %d %s", res.status, res.body)
		}
		if a := e.account(adminID); a.ConfirmationLocked() || a.Confirmation.Failures != 0 {
			t.Fatalf("after the release: %+v", a.Confirmation)
		}

		// A counter left full without its lock (the lock's write failed), found a
		// minute later: the release lands before the lock that attempt would write.
		for range 2 {
			revoke(wrong)
		}
		plan.FailNth("UpdateAccount", 2, faults.Throttling("DynamoDB", "UpdateItem"))
		if res := revoke(wrong); res.status != 403 || res.code(t) != "confirmation_locked" {
			t.Fatalf("the third wrong one, its lock failing: %d %s", res.status, res.body)
		}
		plan.Clear()
		if a := e.account(adminID); a.ConfirmationLocked() || a.Confirmation.Failures != 3 {
			t.Fatalf("a full counter without its lock: %+v", a.Confirmation)
		}
		e.clock.Add(2 * account.StalledAttempt)
		releaseBefore(0)
		res = revoke(adminConfirmPW)
		released("the stalled lock")
		if res.status != 204 {
			t.Fatalf("the right one after the release: %d %s", res.status, res.body)
		}
		if a := e.account(adminID); a.ConfirmationLocked() || a.Confirmation.Failures != 0 {
			t.Fatalf("after the right one: %+v", a.Confirmation)
		}
		if audit := e.auditActions(t); strings.Contains(audit, "confirmation.lock:") {
			t.Fatalf("a lock was audited: %s", audit)
		}
		for _, m := range e.mailbox.Messages(adminID) {
			if strings.Contains(m.Subject, "確認用パスワードが利用停止") {
				t.Fatalf("a lock email: %s", m.Subject)
			}
		}
	}, withConfig(noThrottle), separate(3))
}

func TestAdministratorSetsAnothersConfirmationPassword(t *testing.T) {
	onBothStores(t, func(t *testing.T, e *env) {
		owner := e.signedIn(ownerID, ownerPW)
		setOwnConfirmation(t, owner, ownerPW, ownerConfirmPW)
		if res := owner.do("POST", "/api/admin/accounts", map[string]any{"login_id": adminID, "role": "admin", "password": userPW, "confirm_password": ownerConfirmPW}); res.status != 201 {
			t.Fatalf("create admin: %d %s", res.status, res.body)
		}
		path := "/api/admin/accounts/" + adminID
		if res := owner.do("PATCH", path, map[string]any{"confirmation_password": "Kari-Kakunin-55!"}); res.status != 422 || !strings.Contains(string(res.body), `"confirm_password","code":"required"`) {
			t.Fatalf("unconfirmed: %d %s", res.status, res.body)
		}
		if res := owner.do("PATCH", path, map[string]any{"confirmation_password": userPW, "confirm_password": ownerConfirmPW}); res.status != 422 || !strings.Contains(string(res.body), `{"field":"confirmation_password","code":"same_as_login"}`) {
			t.Fatalf("the login password: %d %s", res.status, res.body)
		}
		if res := owner.do("PATCH", "/api/admin/accounts/"+ownerID, map[string]any{"confirmation_password": "Kari-Kakunin-55!", "confirm_password": ownerConfirmPW}); res.status != 403 || res.code(t) != "use_self_service" {
			t.Fatalf("one's own: %d %s", res.status, res.body)
		}
		// Set with "change at next use": it cannot confirm until the person sets its own.
		res := owner.do("PATCH", path, map[string]any{"confirmation_password": "Kari-Kakunin-55!", "confirmation_force_change": true, "confirm_password": ownerConfirmPW})
		if res.status != 200 {
			t.Fatalf("set: %d %s", res.status, res.body)
		}
		admin := e.signedIn(adminID, userPW)
		unlock := func(confirm string) response {
			return admin.do("POST", "/api/admin/unlock", map[string]any{"login_ids": []string{adminID}, "confirm_password": confirm})
		}
		if res := unlock("Kari-Kakunin-55!"); res.status != 409 || res.code(t) != "confirmation_password_not_set" {
			t.Fatalf("to be changed: %d %s", res.status, res.body)
		}
		setOwnConfirmation(t, admin, userPW, adminConfirmPW)
		if res := unlock(adminConfirmPW); res.status != 200 {
			t.Fatalf("own one: %d %s", res.status, res.body)
		}
		// Without change at next use, the one the owner sets works at once.
		if res := owner.do("PATCH", path, map[string]any{"confirmation_password": "Kari-Kakunin-66!", "confirm_password": ownerConfirmPW}); res.status != 200 {
			t.Fatalf("set again: %d %s", res.status, res.body)
		}
		if res := unlock("Kari-Kakunin-66!"); res.status != 200 {
			t.Fatalf("set by the owner: %d %s", res.status, res.body)
		}
		if audit := e.auditActions(t); !strings.Contains(audit, "account.update:ok:confirmation_password confirmation_force_change=true") {
			t.Fatalf("audit: %s", audit)
		}
		// An administrator does not set an owner's.
		if res := admin.do("PATCH", "/api/admin/accounts/"+ownerID, map[string]any{"confirmation_password": "Kari-Kakunin-77!", "confirm_password": "Kari-Kakunin-66!"}); res.status != 403 {
			t.Fatalf("admin sets the owner's: %d %s", res.status, res.body)
		}
	}, withConfig(noThrottle), separate(5))
}
