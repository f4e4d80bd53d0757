package httpapi_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/kagiya/kagiya/shared/account"
)

// The reproduction of the identity-core issue: an owner deletes an account and creates it
// again with the same login ID. Nothing of the old account may carry over: its browser
// session, its emailed reset and unlock links, its sign-in challenge.
func TestDeleteAndRecreateKillsEverythingOfTheOldAccount(t *testing.T) {
	e := newEnv(t, withConfig(noThrottle), withSettings(account.Settings{LockoutThreshold: 3}))
	owner := e.signedIn(ownerID, ownerPW)
	e.withUser(userID, "user")
	oldID := e.account(userID).ID

	browser := e.signedIn(userID, userPW) // the old account's session
	anon := e.client()
	if res := anon.do("POST", "/api/password/forgot", map[string]string{"login_id": userID}); res.status != 202 {
		t.Fatalf("forgot: %d", res.status)
	}
	resetToken := tokenFrom(t, e.mailbox.Messages(userID)[0], "reset")
	for range 3 {
		e.client().login(userID, "Wrong-Guess-000!")
	}
	mails := e.mailbox.Messages(userID)
	unlockToken := tokenFrom(t, mails[len(mails)-1], "unlock")
	// A challenge of the old account: an administrator's password with a forced change.
	if res := owner.do("POST", "/api/admin/unlock", map[string]any{"login_ids": []string{userID}, "confirm_password": ownerPW}); res.status != 200 {
		t.Fatalf("unlock: %d %s", res.status, res.body)
	}
	if res := owner.do("PATCH", "/api/admin/accounts/"+userID, map[string]any{"password": "Kari-Pass-2026!", "force_change": true, "confirm_password": ownerPW}); res.status != 200 {
		t.Fatalf("set: %d %s", res.status, res.body)
	}
	challenge := e.client().login(userID, "Kari-Pass-2026!").json(t)["challenge"].(string)
	browser = e.signedIn(userID, "Kari-Pass-2026!") // the admin's set signed it out; a fresh old session
	_ = browser
	if res := owner.do("DELETE", "/api/admin/accounts/"+userID, map[string]string{"confirm_password": ownerPW}); res.status != 204 {
		t.Fatalf("delete: %d %s", res.status, res.body)
	}
	res := owner.do("POST", "/api/admin/accounts", map[string]any{"login_id": userID, "role": "user", "password": "Atarashii-Hito-9!"})
	if res.status != 201 {
		t.Fatalf("re-create: %d %s", res.status, res.body)
	}
	newID := res.json(t)["account_id"].(string)
	if newID == "" || newID == oldID || e.account(userID).ID != newID {
		t.Fatalf("account ids: old %q, new %q", oldID, newID)
	}

	if res := browser.do("GET", "/api/me", nil); res.status != 401 {
		t.Fatalf("the old account's session reads the new account: %d %s", res.status, res.body)
	}
	if res := anon.do("POST", "/api/password/reset", map[string]string{"token": resetToken, "new_password": "Nottori-Pass-77!"}); res.status != 400 || res.code(t) != "invalid_token" {
		t.Fatalf("the old reset link: %d %s", res.status, res.body)
	}
	if res := anon.do("POST", "/api/unlock", map[string]string{"token": unlockToken}); res.status != 400 || res.code(t) != "invalid_token" {
		t.Fatalf("the old unlock link: %d %s", res.status, res.body)
	}
	if res := anon.do("POST", "/api/login/password", map[string]string{"challenge": challenge, "new_password": "Nottori-Pass-77!"}); res.status != 400 || res.code(t) != "invalid_token" {
		t.Fatalf("the old challenge: %d %s", res.status, res.body)
	}
	if res := e.client().login(userID, "Atarashii-Hito-9!"); res.status != 200 || res.json(t)["account"].(map[string]any)["account_id"] != newID {
		t.Fatalf("the new account signs in: %d %s", res.status, res.body)
	}
	if res := e.client().login(userID, "Nottori-Pass-77!"); res.status != 401 {
		t.Fatal("a dead link set the new account's password")
	}
}

// A second tenant, as infra/bootstrap or -owner makes one: named after its domain.
func (e *env) secondTenant(ownerLogin string) (account.Tenant, *client) {
	e.t.Helper()
	tn, created, err := e.svc.SignIn.Bootstrap(context.Background(), ownerLogin, ownerPW, account.Settings{})
	if err != nil || !created {
		e.t.Fatalf("bootstrap %s: %v %v", ownerLogin, created, err)
	}
	return tn, e.signedIn(ownerLogin, ownerPW)
}

func TestTenantDomainsAndDeploymentWideLoginIDs(t *testing.T) {
	e := newEnv(t)
	owner := e.signedIn(ownerID, ownerPW)
	cloud, boss := e.secondTenant("boss@cloud.example")
	if cloud.ID == e.tenant.ID || cloud.Name != "cloud.example" {
		t.Fatalf("second tenant %+v", cloud)
	}

	// With domains, login IDs must be in them.
	res := owner.do("POST", "/api/admin/accounts", map[string]any{"login_id": "someone@cloud.example", "role": "user"})
	if res.status != 422 || !strings.Contains(string(res.body), `"field":"login_id","code":"other_tenant"`) {
		t.Fatalf("outside the tenant's domains: %d %s", res.status, res.body)
	}
	// Another tenant's account answers 404, exactly as if absent.
	if res := owner.do("PATCH", "/api/admin/accounts/boss@cloud.example", map[string]any{"comment": "x"}); res.status != 404 {
		t.Fatalf("another tenant's account: %d %s", res.status, res.body)
	}

	// The cloud tenant drops its domains: any address may join, but a login ID stays
	// unique across the deployment.
	set := boss.do("GET", "/api/admin/tenant", nil).json(t)
	set["domains"], set["name"], set["confirm_password"] = []string{}, "Cloud Storage Inc.", ownerPW
	if res := boss.do("PUT", "/api/admin/tenant", set); res.status != 200 || res.json(t)["name"] != "Cloud Storage Inc." {
		t.Fatalf("drop domains: %d %s", res.status, res.body)
	}
	if res := boss.do("POST", "/api/admin/accounts", map[string]any{"login_id": "Hanako@Gmail.example", "role": "user", "password": "Sakura-Saku-Pass-8!"}); res.status != 201 {
		t.Fatalf("any address: %d %s", res.status, res.body)
	}
	// A login ID of another tenant is refused as any address outside the tenant's domains
	// is (domains_test.go): the answer does not tell that the account exists.
	res = boss.do("POST", "/api/admin/accounts", map[string]any{"login_id": "OWNER@example.com", "role": "user"})
	if res.status != 422 || !strings.Contains(string(res.body), `"field":"login_id","code":"other_tenant"`) {
		t.Fatalf("a login ID of another tenant: %d %s", res.status, res.body)
	}
	// Sign-in finds the account wherever it is, and the answer names its tenant.
	res = e.client().login("hanako@gmail.example", "Sakura-Saku-Pass-8!")
	me := res.json(t)["account"].(map[string]any)
	if res.status != 200 || me["tenant"] != cloud.ID || me["tenant_name"] != "Cloud Storage Inc." {
		t.Fatalf("sign-in to the cloud tenant: %d %s", res.status, res.body)
	}
	// Listing stays within each tenant.
	list := owner.do("GET", "/api/admin/accounts", nil).json(t)["accounts"].([]any)
	for _, a := range list {
		if id := a.(map[string]any)["login_id"].(string); !strings.HasSuffix(id, "@example.com") {
			t.Fatalf("example.com lists %s", id)
		}
	}

	// Domains are checked and normalized.
	set["domains"] = []string{"Cloud.Example", "cloud.example", "bad domain"}
	if res := boss.do("PUT", "/api/admin/tenant", set); res.status != 422 || !strings.Contains(string(res.body), `"field":"domains"`) {
		t.Fatalf("a bad domain: %d %s", res.status, res.body)
	}
	// A domain comes back only with its proof (domains_test.go).
	set["domains"] = []string{"Cloud.Example", "cloud.example"}
	if res := boss.do("PUT", "/api/admin/tenant", set); res.status != 422 || !strings.Contains(string(res.body), `"field":"domains","code":"unverified"`) {
		t.Fatalf("a domain added without proof: %d %s", res.status, res.body)
	}
	if err := e.store.UpdateTenant(context.Background(), account.Tenant{ID: cloud.ID, Name: "Cloud Storage Inc.", Domains: []string{"cloud.example", "cloud.co.jp"}}); err != nil {
		t.Fatal(err) // as a tenant that listed them before proof was needed
	}
	set["domains"] = []string{"Cloud.Co.JP", "cloud.example", "cloud.co.jp"}
	if res := boss.do("PUT", "/api/admin/tenant", set); res.status != 200 || strings.Join(toStrings(res.json(t)["domains"]), ",") != "cloud.co.jp,cloud.example" {
		t.Fatalf("domains normalized and reordered: %d %s", res.status, res.body)
	}
	// The account made while the tenant took any address still signs in.
	if res := e.client().login("hanako@gmail.example", "Sakura-Saku-Pass-8!"); res.status != 200 {
		t.Fatalf("an existing login ID outside the new domains: %d", res.status)
	}
	// Each tenant's audit log has its own events, with the account_id of the target.
	hanako := e.account("hanako@gmail.example")
	if a := string(boss.do("GET", "/api/admin/audit", nil).body); !strings.Contains(a, `"action":"account.create"`) || !strings.Contains(a, `"target_id":"`+hanako.ID+`"`) {
		t.Fatalf("cloud audit: %s", a)
	}
	if a := string(owner.do("GET", "/api/admin/audit", nil).body); strings.Contains(a, "gmail.example") || strings.Contains(a, "cloud.example") {
		t.Fatalf("example.com's audit shows another tenant's events: %s", a)
	}
}

func toStrings(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}

// staleStore answers eventually consistent account reads from before the last write, as
// DynamoDB may for about a second.
type staleStore struct {
	account.Store
}

func (s staleStore) GetAccountEventually(ctx context.Context, tenantID, id string) (account.Account, error) {
	a, err := s.GetAccount(ctx, tenantID, id)
	if err == nil && a.SessionEpoch > 0 {
		a.SessionEpoch-- // what the account looked like before its last password change
	}
	return a, err
}

// A read a moment behind the write that made a session must not sign the person out:
// after a password change the new session is newer than a lagging read of the account.
func TestALaggingReadDoesNotEndAFreshSession(t *testing.T) {
	e := newEnv(t)
	lagging := newEnvOn(t, staleStore{e.store})
	lagging.withUser(userID, "user")
	c := lagging.signedIn(userID, userPW)
	res := c.do("POST", "/api/me/password", map[string]string{"current_password": userPW, "new_password": "Kawa-no-Sakana-7!"})
	if res.status != 204 {
		t.Fatalf("change: %d %s", res.status, res.body)
	}
	c.csrf = res.header.Get("X-CSRF-Token")
	if res := c.do("GET", "/api/me", nil); res.status != 200 {
		t.Fatalf("signed out by a lagging read: %d %s", res.status, res.body)
	}
	// (A session older than the account still ends, once the read catches up: the
	// revocation tests run on stores whose reads are current.)
}

// A PUT without name or domains (a client that does not know them) keeps them.
func TestTenantPutWithoutNameOrDomainsKeepsThem(t *testing.T) {
	e := newEnv(t)
	owner := e.signedIn(ownerID, ownerPW)
	body := map[string]any{"policy_preset": "basic8", "history_depth": 0, "max_age_days": 0, "lockout_threshold": 10,
		"lock_minutes": 0, "unlock_link_hours": 336, "reset_link_minutes": 60, "language": "ja", "confirm_password": ownerPW}
	res := owner.do("PUT", "/api/admin/tenant", body)
	got := res.json(t)
	if res.status != 200 || got["name"] != "example.com" || strings.Join(toStrings(got["domains"]), ",") != "example.com" || got["policy_preset"] != "basic8" {
		t.Fatalf("put without name and domains: %d %s", res.status, res.body)
	}
	if res := owner.do("POST", "/api/admin/accounts", map[string]any{"login_id": "x@elsewhere.example", "role": "user"}); res.status != 422 {
		t.Fatalf("the domain rule was dropped: %d %s", res.status, res.body)
	}
}

// Using one reset link ends every other outstanding one, and any sign-in challenge in
// flight: a password change voids what was issued before it.
func TestAResetEndsTheOtherLinksAndChallenges(t *testing.T) {
	e := newEnv(t, withConfig(noThrottle))
	e.withUser(userID, "user")
	owner := e.signedIn(ownerID, ownerPW)
	anon := e.client()
	var links []string
	for range 2 {
		if res := anon.do("POST", "/api/password/forgot", map[string]string{"login_id": userID}); res.status != 202 {
			t.Fatalf("forgot: %d", res.status)
		}
		m := e.mailbox.Messages(userID)
		links = append(links, tokenFrom(t, m[len(m)-1], "reset"))
		e.clock.Add(time.Second)
	}
	if res := owner.do("PATCH", "/api/admin/accounts/"+userID, map[string]any{"force_change": true}); res.status != 200 {
		t.Fatalf("force change: %d %s", res.status, res.body)
	}
	challenge := e.client().login(userID, userPW).json(t)["challenge"].(string)
	e.clock.Add(time.Second)
	if res := anon.do("POST", "/api/password/reset", map[string]string{"token": links[1], "new_password": "Atarashii-Pass-77!"}); res.status != 200 {
		t.Fatalf("reset: %d %s", res.status, res.body)
	}
	if res := anon.do("POST", "/api/password/reset", map[string]string{"token": links[0], "new_password": "Nottori-Pass-78!"}); res.status != 400 || res.code(t) != "invalid_token" {
		t.Fatalf("the other reset link: %d %s", res.status, res.body)
	}
	if res := anon.do("POST", "/api/login/password", map[string]string{"challenge": challenge, "new_password": "Nottori-Pass-78!"}); res.status != 400 || res.code(t) != "invalid_token" {
		t.Fatalf("the challenge in flight: %d %s", res.status, res.body)
	}
	// A link asked for after the reset works.
	e.clock.Add(time.Second)
	anon.do("POST", "/api/password/forgot", map[string]string{"login_id": userID})
	m := e.mailbox.Messages(userID)
	fresh := tokenFrom(t, m[len(m)-1], "reset")
	if res := anon.do("POST", "/api/password/reset", map[string]string{"token": fresh, "new_password": "Mata-Atarashii-79!"}); res.status != 200 {
		t.Fatalf("a link after the reset: %d %s", res.status, res.body)
	}
}

// A password typed into the login-ID field never reaches the log.
func TestAMalformedLoginIDIsLoggedAsAHash(t *testing.T) {
	e := newEnv(t)
	if res := e.client().login("Himitsu-no-Pass-42!", ownerPW); res.status != 401 {
		t.Fatalf("%d %s", res.status, res.body)
	}
	logs := e.logs.String()
	if strings.Contains(logs, "Himitsu") || !strings.Contains(logs, `"actor":"malformed:`) {
		t.Fatalf("log: %s", logs)
	}
	// Invisible characters in a login ID are refused when an account is made.
	owner := e.signedIn(ownerID, ownerPW)
	res := owner.do("POST", "/api/admin/accounts", map[string]any{"login_id": "ta\u200bro@example.com", "role": "user"})
	if res.status != 422 || !strings.Contains(string(res.body), `"field":"login_id","code":"invalid"`) {
		t.Fatalf("a zero-width space in a login ID: %d %s", res.status, res.body)
	}
	res = owner.do("POST", "/api/admin/accounts", map[string]any{"login_id": "taro@example.com", "role": "user", "comment": "a\u202eb"})
	if res.status != 422 || !strings.Contains(string(res.body), `"field":"comment","code":"invalid"`) {
		t.Fatalf("a bidi control in a comment: %d %s", res.status, res.body)
	}
}
