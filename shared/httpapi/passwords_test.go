package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/kagiya/kagiya/shared/account"
	"github.com/kagiya/kagiya/shared/password"
)

func policyCodes(t *testing.T, r response) string {
	t.Helper()
	if r.status != 422 || r.code(t) != "password_policy" {
		t.Fatalf("want 422 password_policy, got %d %s", r.status, r.body)
	}
	var body struct {
		Error struct {
			Fields []account.FieldError `json:"fields"`
		} `json:"error"`
	}
	json.Unmarshal(r.body, &body)
	var codes []string
	for _, f := range body.Error.Fields {
		codes = append(codes, f.Field+":"+f.Code)
	}
	sort.Strings(codes)
	return strings.Join(codes, " ")
}

func TestASVS_2_1_6_and_3_3_3_SelfServiceChange(t *testing.T) {
	e := newEnv(t, withConfig(noThrottle), withSettings(quiet(account.Settings{HistoryDepth: 2, LockoutThreshold: 3})))
	e.withUser(userID, "user")
	c := e.signedIn(userID, userPW)
	other := e.signedIn(userID, userPW)
	change := func(cur, next string) response {
		return c.do("POST", "/api/me/password", map[string]string{"current_password": cur, "new_password": next})
	}
	// Every broken rule at once, in the tenant's policy (standard12).
	if got := policyCodes(t, change(userPW, "taro12")); got != "new_password:contains_account new_password:missing_symbol new_password:missing_upper new_password:too_short" {
		t.Fatalf("codes %s", got)
	}
	if got := policyCodes(t, change(userPW, userPW)); got != "new_password:same_as_current" {
		t.Fatalf("same as current: %s", got)
	}
	if res := change("wrong-current", "Kumo-no-Ue-77!"); res.status != 403 || res.code(t) != "invalid_current_password" {
		t.Fatalf("wrong current: %d %s", res.status, res.body)
	}
	if n := e.account(userID).FailedAttempts; n != 1 {
		t.Fatalf("a wrong current password counted %d", n)
	}
	res := change(userPW, "Kumo-no-Ue-77!")
	if res.status != 204 || c.cookie == nil || res.header.Get("X-CSRF-Token") == "" {
		t.Fatalf("change: %d %s", res.status, res.body)
	}
	c.csrf = res.header.Get("X-CSRF-Token")
	if res := c.do("GET", "/api/me", nil); res.status != 200 {
		t.Fatalf("this browser was signed out: %d", res.status)
	}
	if res := other.do("GET", "/api/me", nil); res.status != 401 {
		t.Fatalf("another session survived: %d", res.status)
	}
	a := e.account(userID)
	history, _ := e.store.GetHistory(context.Background(), a.TenantID, a.ID)
	if a.FailedAttempts != 0 || !a.PasswordChangedAt.Equal(e.clock.Now()) || len(history) != 1 {
		t.Fatalf("after change %+v, history %v", a, history)
	}
	if m := e.mailbox.Messages(userID); len(m) != 1 || !strings.Contains(m[0].Subject, "パスワードが変更されました") {
		t.Fatalf("notice %+v", m)
	}
	// History of 2: the first password may not come back until two others followed.
	if got := policyCodes(t, change("Kumo-no-Ue-77!", userPW)); got != "new_password:reused" {
		t.Fatalf("reuse: %s", got)
	}
	if res := change("Kumo-no-Ue-77!", "Hoshi-no-Umi-88!"); res.status != 204 {
		t.Fatalf("second change: %d %s", res.status, res.body)
	}
	c.csrf = res.header.Get("X-CSRF-Token")
	c.csrf = c.do("GET", "/api/me", nil).json(t)["csrf_token"].(string)
	if got := policyCodes(t, change("Hoshi-no-Umi-88!", userPW)); got != "new_password:reused" {
		t.Fatalf("reuse within depth 2: %s", got)
	}
	if res := change("Hoshi-no-Umi-88!", "Tsuki-no-Mori-99!"); res.status != 204 {
		t.Fatalf("third change: %d", res.status)
	}
	c.csrf = c.do("GET", "/api/me", nil).json(t)["csrf_token"].(string)
	if res := change("Tsuki-no-Mori-99!", userPW); res.status != 204 {
		t.Fatalf("the first password, three changes later: %d %s", res.status, res.body)
	}
	if audit := e.auditActions(t); !strings.Contains(audit, "password.change:ok") || !strings.Contains(audit, "password.change:failed:current_password") {
		t.Fatalf("audit %s", audit)
	}
}

// Wrong current passwords lock the account like wrong sign-ins. Where a lock applies to
// every client (lockout_scope account) it also ends the session; under the default
// (untrusted_devices) the person's own signed-in browser keeps its session.
func TestWrongCurrentPasswordsLockTheAccount(t *testing.T) {
	for scope, sessionKept := range map[string]bool{account.ScopeAccount: false, account.ScopeUntrustedDevices: true} {
		t.Run(scope, func(t *testing.T) {
			e := newEnv(t, withConfig(noThrottle), withSettings(quiet(account.Settings{LockoutThreshold: 3, LockoutScope: scope})))
			e.withUser(userID, "user")
			c := e.signedIn(userID, userPW)
			for range 3 {
				c.do("POST", "/api/me/password", map[string]string{"current_password": "nope", "new_password": "Kumo-no-Ue-77!"})
			}
			if !e.account(userID).Locked() {
				t.Fatal("not locked")
			}
			if kept := c.cookie != nil && c.do("GET", "/api/me", nil).status == 200; kept != sessionKept {
				t.Fatalf("session kept = %v, want %v", kept, sessionKept)
			}
			if len(e.mailbox.Messages(userID)) != 1 {
				t.Fatal("no lock email")
			}
		})
	}
}

// quiet turns off the new-device email, for tests that count other emails.
func quiet(s account.Settings) account.Settings {
	off := false
	s.NotifyNewDevice = &off
	return s
}

func TestAdminSetsPasswordWithForcedChange(t *testing.T) {
	e := newEnv(t, withConfig(noThrottle))
	e.withUser(userID, "user")
	owner := e.signedIn(ownerID, ownerPW)
	if got := policyCodes(t, owner.do("PATCH", "/api/admin/accounts/"+userID, map[string]any{"password": "short", "confirm_password": ownerPW})); !strings.Contains(got, "password:too_short") {
		t.Fatalf("policy on admin-set password: %s", got)
	}
	if res := owner.do("PATCH", "/api/admin/accounts/"+userID, map[string]any{"password": "Kari-Pass-2026!", "force_change": true, "confirm_password": ownerPW}); res.status != 200 {
		t.Fatalf("set: %d %s", res.status, res.body)
	}
	c := e.client()
	res := c.login(userID, "Kari-Pass-2026!")
	body := res.json(t)
	if res.status != 200 || body["result"] != "password_change_required" || body["reason"] != "forced" || body["challenge"] == "" || c.cookie != nil {
		t.Fatalf("forced login: %d %s", res.status, res.body)
	}
	challenge := body["challenge"].(string)
	complete := func(pw string) response {
		return c.do("POST", "/api/login/password", map[string]string{"challenge": challenge, "new_password": pw})
	}
	if got := policyCodes(t, complete("Kari-Pass-2026!")); got != "new_password:same_as_current" {
		t.Fatalf("same as the admin's: %s", got)
	}
	pol := c.do("GET", "/api/password/policy?token="+challenge, nil)
	if pol.status != 200 || pol.json(t)["login_id"] != userID || pol.json(t)["preset"] != "standard12" {
		t.Fatalf("policy by challenge: %d %s", pol.status, pol.body)
	}
	res = complete("Jibun-no-Pass-31!")
	if res.status != 200 || res.json(t)["result"] != "ok" || c.cookie == nil {
		t.Fatalf("complete: %d %s", res.status, res.body)
	}
	c.csrf = res.json(t)["csrf_token"].(string)
	if res := c.do("GET", "/api/me", nil); res.status != 200 {
		t.Fatalf("me after the forced change: %d", res.status)
	}
	if res := complete("Mata-Betsu-no-42!"); res.status != 400 || res.code(t) != "invalid_token" {
		t.Fatalf("challenge reused: %d %s", res.status, res.body)
	}
	if a := e.account(userID); a.ForceChange {
		t.Fatal("force_change still set")
	}
	if res := e.client().login(userID, "Jibun-no-Pass-31!"); res.json(t)["result"] != "ok" {
		t.Fatalf("next sign-in: %s", res.body)
	}
}

func TestExpiredPasswordMustChange(t *testing.T) {
	e := newEnv(t, withConfig(noThrottle), withSettings(account.Settings{MaxAgeDays: 90}))
	e.withUser(userID, "user")
	e.clock.Add(89 * 24 * time.Hour)
	if res := e.client().login(userID, userPW); res.json(t)["result"] != "ok" {
		t.Fatalf("day 89: %s", res.body)
	}
	e.clock.Add(24 * time.Hour)
	res := e.client().login(userID, userPW)
	if res.json(t)["result"] != "password_change_required" || res.json(t)["reason"] != "expired" {
		t.Fatalf("day 90: %s", res.body)
	}
	challenge := res.json(t)["challenge"].(string)
	e.clock.Add(account.ChallengeTTL)
	if res := e.client().do("POST", "/api/login/password", map[string]string{"challenge": challenge, "new_password": "Atarashii-Pass-5!"}); res.status != 400 {
		t.Fatalf("challenge after 10 minutes: %d", res.status)
	}
	res = e.client().login(userID, userPW)
	c := e.client()
	if res := c.do("POST", "/api/login/password", map[string]string{"challenge": res.json(t)["challenge"].(string), "new_password": "Atarashii-Pass-5!"}); res.status != 200 {
		t.Fatalf("complete: %d %s", res.status, res.body)
	}
	me := c.do("GET", "/api/me", nil).json(t)
	if me["password_expires_at"] == nil || !strings.HasPrefix(me["password_expires_at"].(string), e.clock.Now().AddDate(0, 0, 90).Format("2006-01-02")) {
		t.Fatalf("me %v", me)
	}
}

func TestResetFollowsThePolicy(t *testing.T) {
	e := newEnv(t)
	e.withUser(userID, "user")
	e.client().do("POST", "/api/password/forgot", map[string]string{"login_id": userID})
	token := tokenFrom(t, e.mailbox.Messages(userID)[0], "reset")
	c := e.client()
	if got := policyCodes(t, c.do("POST", "/api/password/reset", map[string]string{"token": token, "new_password": "taro-taro"})); !strings.Contains(got, "contains_account") {
		t.Fatalf("reset policy: %s", got)
	}
	c.lang = "en"
	pol := c.do("GET", "/api/password/policy?token="+token, nil)
	if pol.status != 200 || !strings.Contains(string(pol.body), "At least 12 characters") {
		t.Fatalf("policy by reset token: %s", pol.body)
	}
	if res := c.do("POST", "/api/password/reset", map[string]string{"token": token, "new_password": "Yoi-Pass-2026!!"}); res.status != 200 {
		t.Fatalf("reset after a refusal: %d %s", res.status, res.body)
	}
	if res := c.do("GET", "/api/password/policy?token="+token, nil); res.status != 400 {
		t.Fatalf("policy by a used token: %d", res.status)
	}
	if res := c.do("GET", "/api/password/policy", nil); res.status != 401 {
		t.Fatalf("policy without session or token: %d", res.status)
	}
}

func TestTenantSettings(t *testing.T) {
	e := newEnv(t)
	e.withUser("admin@example.com", "admin")
	owner := e.signedIn(ownerID, ownerPW)
	res := owner.do("GET", "/api/admin/tenant", nil)
	got := res.json(t)
	if res.status != 200 || got["policy_preset"] != "standard12" || got["lockout_threshold"] != 10.0 || got["tenant_id"] != e.tenant.ID ||
		got["name"] != "example.com" || fmt.Sprint(got["domains"]) != "[example.com]" {
		t.Fatalf("get: %d %s", res.status, res.body)
	}
	got["policy_preset"], got["history_depth"], got["max_age_days"], got["lockout_threshold"] = "nist", 5, 180, 5
	if res := owner.do("PUT", "/api/admin/tenant", got); res.status != 422 || !strings.Contains(string(res.body), "confirm_password") {
		t.Fatalf("put without a confirmation: %d %s", res.status, res.body)
	}
	got["confirm_password"] = ownerPW
	if res := owner.do("PUT", "/api/admin/tenant", got); res.status != 200 || res.json(t)["policy_preset"] != "nist" {
		t.Fatalf("put: %d %s", res.status, res.body)
	}
	pol := owner.do("GET", "/api/password/policy", nil).json(t)
	if pol["preset"] != "nist" {
		t.Fatalf("policy after the change: %v", pol)
	}
	bad := map[string]any{}
	for k, v := range got {
		bad[k] = v
	}
	bad["policy_preset"], bad["lockout_threshold"], bad["history_depth"] = "weak", 0, 99
	res = owner.do("PUT", "/api/admin/tenant", bad)
	if res.status != 422 || !strings.Contains(string(res.body), "policy_preset") || !strings.Contains(string(res.body), "lockout_threshold") || !strings.Contains(string(res.body), "history_depth") {
		t.Fatalf("bad settings: %d %s", res.status, res.body)
	}
	if res := owner.do("GET", "/api/admin/tenant", nil); res.json(t)["policy_preset"] != "nist" {
		t.Fatal("a refused PUT changed the settings")
	}
	admin := e.signedIn("admin@example.com", userPW)
	if res := admin.do("PUT", "/api/admin/tenant", got); res.status != 403 {
		t.Fatalf("admin changes tenant settings: %d", res.status)
	}
	if res := admin.do("GET", "/api/admin/tenant", nil); res.status != 200 {
		t.Fatalf("admin reads tenant settings: %d", res.status)
	}
	if !strings.Contains(e.auditActions(t), "tenant.update:ok:preset=nist") {
		t.Fatal("no audit of the settings change")
	}
}

// Under nist, a right password that is on the breached list must be changed at that
// sign-in (reason compromised), and the new one may not be on it either.
func TestASVS_2_1_7_CompromisedPasswordMustChangeAtSignIn(t *testing.T) {
	e := newEnv(t, withConfig(noThrottle), withSettings(account.Settings{PolicyPreset: "nist"}))
	e.withUser(userID, "user") // created under nist: userPW is fine
	a := e.account(userID)
	h, err := password.Hash(fastHash, "password12345678") // imported before the rules, say
	if err != nil {
		t.Fatal(err)
	}
	a.PasswordHash = h
	if _, err := e.store.UpdateAccount(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	c := e.client()
	res := c.login(userID, "password12345678")
	body := res.json(t)
	if res.status != 200 || body["result"] != "password_change_required" || body["reason"] != "compromised" || c.cookie != nil {
		t.Fatalf("compromised sign-in: %d %s", res.status, res.body)
	}
	challenge := body["challenge"].(string)
	if got := policyCodes(t, c.do("POST", "/api/login/password", map[string]string{"challenge": challenge, "new_password": "iloveyou2026!!!!"})); !strings.Contains(got, "new_password:common") {
		t.Fatalf("another breached password: %s", got)
	}
	res = c.do("POST", "/api/login/password", map[string]string{"challenge": challenge, "new_password": "kawa no sakana mori"})
	if res.status != 200 || res.json(t)["result"] != "ok" || c.cookie == nil {
		t.Fatalf("complete: %d %s", res.status, res.body)
	}
	if !strings.Contains(e.auditActions(t), "password.change:ok:compromised") {
		t.Fatalf("audit: %s", e.auditActions(t))
	}
	if res := e.client().login(userID, "kawa no sakana mori"); res.json(t)["result"] != "ok" {
		t.Fatalf("next sign-in: %s", res.body)
	}
}
