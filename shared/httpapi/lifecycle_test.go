package httpapi_test

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kagiya/kagiya/shared/mail"
)

var pageToken = regexp.MustCompile(`/(invite|confirm-email)\.html\?token=([A-Za-z0-9_-]+)`)

// pageLink is the token of the newest link to page mailed to to.
func (e *env) pageLink(to, page string) (string, mail.Message) {
	e.t.Helper()
	m := e.mailbox.Messages(to)
	for i := len(m) - 1; i >= 0; i-- {
		for _, f := range pageToken.FindAllStringSubmatch(m[i].Text, -1) {
			if f[1] == page {
				return f[2], m[i]
			}
		}
	}
	e.t.Fatalf("no %s link mailed to %s", page, to)
	return "", mail.Message{}
}

func TestInvitations(t *testing.T) {
	e := newEnv(t, withConfig(noThrottle))
	owner := e.signedIn(ownerID, ownerPW)
	res := owner.do("POST", "/api/admin/accounts", map[string]any{"login_id": "shin@example.com", "invite": true})
	if res.status != 201 || res.json(t)["invited"] != true {
		t.Fatalf("invite: %d %s", res.status, res.body)
	}
	first, m := e.pageLink("shin@example.com", "invite")
	if !strings.Contains(m.Text, ownerID) || !strings.Contains(m.Text, "example.com") || !strings.Contains(m.Subject, "招待") {
		t.Fatalf("invitation: %s\n%s", m.Subject, m.Text)
	}
	// Not before it is accepted: no sign-in, no reset.
	if res := e.client().login("shin@example.com", "anything-at-all"); res.status != 401 {
		t.Fatalf("an invited account signs in: %d", res.status)
	}
	n := len(e.mailbox.Messages("shin@example.com"))
	e.client().do("POST", "/api/password/forgot", map[string]string{"login_id": "shin@example.com"})
	if len(e.mailbox.Messages("shin@example.com")) != n {
		t.Fatal("a reset link went to an invited account")
	}
	if list := owner.do("GET", "/api/admin/accounts?state=invited", nil).json(t); list["total"] != 1.0 {
		t.Fatalf("invited list: %v", list)
	}
	// A resend ends the earlier link.
	e.clock.Add(time.Minute)
	if res := owner.do("POST", "/api/admin/accounts/shin@example.com/invite", nil); res.status != 202 {
		t.Fatalf("resend: %d %s", res.status, res.body)
	}
	second, _ := e.pageLink("shin@example.com", "invite")
	accept := func(token, pw string) response {
		return e.client().do("POST", "/api/invitations/accept", map[string]string{"token": token, "new_password": pw})
	}
	if res := accept(first, "Hajimete-no-Pass-1!"); res.status != 400 || res.code(t) != "invalid_token" {
		t.Fatalf("the earlier link: %d %s", res.status, res.body)
	}
	if pol := e.client().do("GET", "/api/password/policy?token="+second, nil); pol.status != 200 || pol.json(t)["login_id"] != "shin@example.com" {
		t.Fatalf("rules for the invitation: %d %s", pol.status, pol.body)
	}
	if res := accept(second, "short"); res.status != 422 {
		t.Fatalf("a password breaking the rules: %d", res.status)
	}
	if res := accept(second, "Hajimete-no-Pass-1!"); res.status != 200 || res.json(t)["login_id"] != "shin@example.com" {
		t.Fatalf("accept: %d %s", res.status, res.body)
	}
	if res := e.client().login("shin@example.com", "Hajimete-no-Pass-1!"); res.json(t)["result"] != "ok" {
		t.Fatalf("sign-in after accepting: %s", res.body)
	}
	if res := accept(second, "Nidome-no-Pass-22!"); res.status != 400 {
		t.Fatalf("the link used twice: %d", res.status)
	}
	if res := owner.do("POST", "/api/admin/accounts/shin@example.com/invite", nil); res.status != 409 || res.code(t) != "not_invited" {
		t.Fatalf("resend to an active account: %d %s", res.status, res.body)
	}
	// An expired invitation.
	owner.do("POST", "/api/admin/accounts", map[string]any{"login_id": "osoi@example.com", "invite": true})
	late, _ := e.pageLink("osoi@example.com", "invite")
	e.clock.Add(15 * 24 * time.Hour)
	if res := accept(late, "Hajimete-no-Pass-1!"); res.status != 400 || res.code(t) != "invalid_token" {
		t.Fatalf("an expired invitation: %d %s", res.status, res.body)
	}
	if got := e.auditActions(t); !strings.Contains(got, "invitation.send:ok") || !strings.Contains(got, "invitation.accept:ok") {
		t.Fatalf("audit: %s", got)
	}
}

func TestLoginIDChange(t *testing.T) {
	e := newEnv(t, withConfig(noThrottle))
	e.withUser(userID, "user")
	c := e.signedIn(userID, userPW)
	ask := func(newID, pw string) response {
		return c.do("POST", "/api/me/login-id", map[string]string{"new_login_id": newID, "current_password": pw})
	}
	if res := ask("taro.new@example.com", "Wrong-Pass-123!"); res.status != 403 {
		t.Fatalf("a wrong password: %d", res.status)
	}
	if res := ask("taro@elsewhere.example", userPW); res.status != 422 {
		t.Fatalf("outside the tenant's domains: %d %s", res.status, res.body)
	}
	if res := ask(ownerID, userPW); res.status != 409 || res.code(t) != "login_id_taken" {
		t.Fatalf("taken: %d %s", res.status, res.body)
	}
	if res := ask("taro.new@example.com", userPW); res.status != 202 {
		t.Fatalf("request: %d %s", res.status, res.body)
	}
	token, m := e.pageLink("taro.new@example.com", "confirm-email")
	if !strings.Contains(m.Text, userID) {
		t.Fatalf("confirmation: %s", m.Text)
	}
	if old := e.mailbox.Messages(userID); !strings.Contains(old[len(old)-1].Text, "taro.new@example.com") {
		t.Fatal("no notice to the old address")
	}
	confirm := func(pw string) response {
		return e.client().do("POST", "/api/email/confirm", map[string]string{"token": token, "password": pw})
	}
	if res := confirm("Wrong-Pass-123!"); res.status != 403 {
		t.Fatalf("confirm with a wrong password: %d", res.status)
	}
	if res := confirm(userPW); res.status != 200 || res.json(t)["login_id"] != "taro.new@example.com" {
		t.Fatalf("confirm: %d %s", res.status, res.body)
	}
	if res := c.do("GET", "/api/me", nil); res.status != 200 || res.json(t)["login_id"] != "taro.new@example.com" {
		t.Fatalf("the session after the change: %d %s", res.status, res.body)
	}
	if res := e.client().login(userID, userPW); res.status != 401 {
		t.Fatal("the old login ID still signs in")
	}
	if res := e.client().login("taro.new@example.com", userPW); res.json(t)["result"] != "ok" {
		t.Fatal("the new login ID does not sign in")
	}
	if res := confirm(userPW); res.status != 400 {
		t.Fatalf("the link used twice: %d", res.status)
	}
	// Taken between request and confirmation; and by an administrator. (A link issued in
	// the very instant the last one was spent would be void with it: the clock moves on.)
	e.clock.Add(time.Second)
	owner := e.signedIn(ownerID, ownerPW)
	if res := owner.do("PATCH", "/api/admin/accounts/taro.new@example.com", map[string]any{"login_id": "taro2@example.com"}); res.status != 422 {
		t.Fatalf("without the administrator's password: %d", res.status)
	}
	if res := owner.do("PATCH", "/api/admin/accounts/taro.new@example.com", map[string]any{"login_id": "taro2@example.com", "confirm_password": ownerPW}); res.status != 200 {
		t.Fatalf("by an administrator: %d %s", res.status, res.body)
	}
	token, _ = e.pageLink("taro2@example.com", "confirm-email")
	owner.do("POST", "/api/admin/accounts", map[string]any{"login_id": "taro2@example.com", "password": "Saki-ni-Toru-42!"})
	if res := confirm(userPW); res.status != 409 || res.code(t) != "login_id_taken" {
		t.Fatalf("taken meanwhile: %d %s", res.status, res.body)
	}
	if res := owner.do("PATCH", "/api/admin/accounts/"+ownerID, map[string]any{"login_id": "boss@example.com", "confirm_password": ownerPW}); res.code(t) != "use_self_service" {
		t.Fatalf("one's own by PATCH: %d %s", res.status, res.body)
	}
	if got := e.auditActions(t); !strings.Contains(got, "login_id.change:ok:from "+userID) {
		t.Fatalf("audit: %s", got)
	}
}

func TestSuspendEndsSessionsAndSignIns(t *testing.T) {
	e := newEnv(t, withConfig(noThrottle))
	e.withUser(userID, "user")
	c := e.signedIn(userID, userPW)
	owner := e.signedIn(ownerID, ownerPW)
	res := owner.do("POST", "/api/admin/suspend", map[string]any{"login_ids": []string{userID}, "disabled": true, "confirm_password": ownerPW})
	if res.status != 200 || len(res.json(t)["changed"].([]any)) != 1 {
		t.Fatalf("suspend: %d %s", res.status, res.body)
	}
	if res := c.do("GET", "/api/me", nil); res.status != 401 {
		t.Fatalf("a suspended account's session: %d", res.status)
	}
	if res := e.client().login(userID, userPW); res.status != 401 || res.code(t) != "invalid_credentials" {
		t.Fatalf("a suspended account signs in: %d %s", res.status, res.body)
	}
	list := owner.do("GET", "/api/admin/accounts?state=disabled", nil).json(t)
	if list["total"] != 1.0 || !strings.Contains(string(owner.do("GET", "/api/admin/accounts?state=disabled", nil).body), `"disabled"`) {
		t.Fatalf("suspended list: %v", list)
	}
	if res := owner.do("POST", "/api/admin/suspend", map[string]any{"login_ids": []string{ownerID}, "disabled": true, "confirm_password": ownerPW}); res.status != 422 {
		t.Fatalf("suspending oneself: %d", res.status)
	}
	owner.do("POST", "/api/admin/suspend", map[string]any{"login_ids": []string{userID}, "disabled": false, "confirm_password": ownerPW})
	if res := e.client().login(userID, userPW); res.status != 200 {
		t.Fatalf("resumed: %d", res.status)
	}
}

func TestAccountListFiltersSortsAndCounts(t *testing.T) {
	e := newEnv(t, withConfig(noThrottle))
	owner := e.signedIn(ownerID, ownerPW)
	for _, id := range []string{"a1@example.com", "a2@example.com", "b1@example.com"} {
		owner.do("POST", "/api/admin/accounts", map[string]any{"login_id": id, "password": "Fuji-Passw0rd-26!", "comment": "営業 " + id[:1]})
		e.clock.Add(time.Minute)
	}
	body := owner.do("GET", "/api/admin/accounts?q=営業%20a&sort=created_at&order=desc&limit=1", nil).json(t)
	accts := body["accounts"].([]any)
	if body["total"] != 2.0 || len(accts) != 1 || accts[0].(map[string]any)["login_id"] != "a2@example.com" || body["next_cursor"] == nil {
		t.Fatalf("comment search, newest first: %v", body)
	}
	next := owner.do("GET", "/api/admin/accounts?q=営業%20a&sort=created_at&order=desc&limit=1&cursor="+body["next_cursor"].(string), nil).json(t)
	if a := next["accounts"].([]any); len(a) != 1 || a[0].(map[string]any)["login_id"] != "a1@example.com" {
		t.Fatalf("second page: %v", next)
	}
	for _, bad := range []string{"state=gone", "sort=name", "order=up", "role=boss", "limit=201"} {
		if res := owner.do("GET", "/api/admin/accounts?"+bad, nil); res.status != 422 {
			t.Errorf("%s: %d", bad, res.status)
		}
	}
	if body := owner.do("GET", "/api/admin/accounts?role=owner", nil).json(t); body["total"] != 1.0 {
		t.Fatalf("owners: %v", body)
	}
}

// Third security review (issue 23): after a login-ID change, reset links mailed to the
// old address still worked. The change ends them (unlock links and sign-in flows are
// held to the same tokens_after).
func TestLoginIDChangeEndsLinksMailedToTheOldAddress(t *testing.T) {
	e := newEnv(t, withConfig(noThrottle))
	e.withUser(userID, "user")
	c := e.signedIn(userID, userPW)
	e.client().do("POST", "/api/password/forgot", map[string]string{"login_id": userID})
	m := e.mailbox.Messages(userID)
	reset := tokenFrom(t, m[len(m)-1], "reset")
	e.clock.Add(time.Minute)
	if res := c.do("POST", "/api/me/login-id", map[string]string{"new_login_id": "taro.new@example.com", "current_password": userPW}); res.status != 202 {
		t.Fatalf("request: %d %s", res.status, res.body)
	}
	token, _ := e.pageLink("taro.new@example.com", "confirm-email")
	if res := e.client().do("POST", "/api/email/confirm", map[string]string{"token": token, "password": userPW}); res.status != 200 {
		t.Fatalf("confirm: %d %s", res.status, res.body)
	}
	if res := e.client().do("POST", "/api/password/reset", map[string]string{"token": reset, "new_password": "Nottori-Pass-77!"}); res.status != 400 || res.code(t) != "invalid_token" {
		t.Fatalf("a reset link mailed to the old address: %d %s", res.status, res.body)
	}
}
