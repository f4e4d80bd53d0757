package httpapi_test

import (
	"strings"
	"testing"
)

// A person sees its signed-in browsers and ends any of them, or all but this one.
func TestASVS_3_3_4_PeopleSeeAndEndTheirSessions(t *testing.T) {
	e := newEnv(t, withConfig(noThrottle))
	e.withUser(userID, "user")
	phone := e.client()
	phone.ip = "198.51.100.7"
	if res := phone.login(userID, userPW); res.status != 200 {
		t.Fatalf("phone: %d", res.status)
	}
	laptop := e.signedIn(userID, userPW)
	tablet := e.signedIn(userID, userPW)
	someoneElse := e.signedIn(ownerID, ownerPW)

	res := laptop.do("GET", "/api/me/sessions", nil)
	list := res.json(t)["sessions"].([]any)
	if res.status != 200 || len(list) != 3 {
		t.Fatalf("sessions: %d %s", res.status, res.body)
	}
	var current, phoneID string
	for _, x := range list {
		s := x.(map[string]any)
		if s["current"] == true {
			current = s["session_id"].(string)
		}
		if s["ip"] == "198.51.100.7" {
			phoneID = s["session_id"].(string)
		}
		if s["created_at"] == nil || s["last_seen_at"] == nil {
			t.Fatalf("session without times: %v", s)
		}
	}
	if current == "" || phoneID == "" || current == phoneID || strings.Contains(string(res.body), laptop.cookie.Value) {
		t.Fatalf("current %q, phone %q: %s", current, phoneID, res.body)
	}
	// Another account's session IDs mean nothing here.
	ownerList := someoneElse.do("GET", "/api/me/sessions", nil).json(t)["sessions"].([]any)
	if res := laptop.do("DELETE", "/api/me/sessions/"+ownerList[0].(map[string]any)["session_id"].(string), nil); res.status != 404 {
		t.Fatalf("ending another account's session: %d", res.status)
	}
	if res := laptop.do("DELETE", "/api/me/sessions/"+phoneID, nil); res.status != 204 {
		t.Fatalf("end the phone: %d %s", res.status, res.body)
	}
	if res := phone.do("GET", "/api/me", nil); res.status != 401 {
		t.Fatalf("the phone is still signed in: %d", res.status)
	}
	// Issue 23: ending the others needs the current password (ASVS 3.3.4).
	if res := laptop.do("POST", "/api/me/sessions/revoke-others", map[string]string{}); res.status != 422 || !strings.Contains(string(res.body), `"field":"current_password"`) {
		t.Fatalf("end the others without the password: %d %s", res.status, res.body)
	}
	if res := laptop.do("POST", "/api/me/sessions/revoke-others", map[string]string{"current_password": "Not-My-Passw0rd!"}); res.status != 403 || res.code(t) != "invalid_current_password" {
		t.Fatalf("end the others with a wrong password: %d %s", res.status, res.body)
	}
	if res := tablet.do("GET", "/api/me", nil); res.status != 200 {
		t.Fatalf("a refused request ended the tablet's session: %d", res.status)
	}
	if res := laptop.do("POST", "/api/me/sessions/revoke-others", map[string]string{"current_password": userPW}); res.status != 204 {
		t.Fatalf("end the others: %d %s", res.status, res.body)
	}
	if res := tablet.do("GET", "/api/me", nil); res.status != 401 {
		t.Fatalf("the tablet is still signed in: %d", res.status)
	}
	if res := laptop.do("GET", "/api/me/sessions", nil); len(res.json(t)["sessions"].([]any)) != 1 {
		t.Fatalf("after ending the others: %s", res.body)
	}
	if res := someoneElse.do("GET", "/api/me", nil); res.status != 200 {
		t.Fatal("another account's session ended")
	}
	// Ending the current session signs this browser out.
	res = laptop.do("DELETE", "/api/me/sessions/"+current, nil)
	if res.status != 204 || laptop.cookie != nil {
		t.Fatalf("end the current session: %d cookie %v", res.status, laptop.cookie)
	}
	audit := e.auditActions(t)
	if !strings.Contains(audit, "session.end:ok") || !strings.Contains(audit, "session.end_others:ok:1 ended") {
		t.Fatalf("audit: %s", audit)
	}
	// A session token from before does not come back.
	if res := tablet.do("GET", "/api/me/sessions", nil); res.status != 401 {
		t.Fatalf("an ended session lists sessions: %d", res.status)
	}
}

// An administrator sees the sessions of an account it manages and ends one: that browser
// is signed out, the others stay, and the end is audited. Its own sessions are on its
// own page, an owner's are not an administrator's to see, and another tenant's account
// and its sessions answer 404 as absent ones do.
func TestAdministratorSeesAndEndsAnAccountsSessions(t *testing.T) {
	e := newEnv(t, withConfig(noThrottle))
	e.withUser(userID, "user")
	e.withUser("admin@example.com", "admin")
	phone := e.client()
	phone.ip = "198.51.100.7"
	if res := phone.login(userID, userPW); res.status != 200 {
		t.Fatalf("phone: %d", res.status)
	}
	laptop := e.signedIn(userID, userPW)
	owner := e.signedIn(ownerID, ownerPW)
	path := "/api/admin/accounts/" + userID + "/sessions"

	res := owner.do("GET", path, nil)
	list, _ := res.json(t)["sessions"].([]any)
	if res.status != 200 || len(list) != 2 {
		t.Fatalf("an account's sessions: %d %s", res.status, res.body)
	}
	var phoneID string
	for _, x := range list {
		s := x.(map[string]any)
		if s["ip"] == "198.51.100.7" {
			phoneID, _ = s["session_id"].(string)
		}
		if s["created_at"] == nil || s["last_seen_at"] == nil || s["current"] != false {
			t.Fatalf("session: %v", s)
		}
	}
	if phoneID == "" || strings.Contains(string(res.body), phone.cookie.Value) {
		t.Fatalf("the phone's session: %s", res.body)
	}

	// Refused: one's own, an owner's for an administrator, without or with a wrong
	// password, a session the account does not have; nothing ends.
	if res := owner.do("GET", "/api/admin/accounts/"+ownerID+"/sessions", nil); res.status != 403 || res.code(t) != "use_self_service" {
		t.Fatalf("one's own sessions: %d %s", res.status, res.body)
	}
	admin := e.signedIn("admin@example.com", userPW)
	if res := admin.do("GET", "/api/admin/accounts/"+ownerID+"/sessions", nil); res.status != 403 || res.code(t) != "forbidden" {
		t.Fatalf("an owner's sessions for an administrator: %d %s", res.status, res.body)
	}
	if res := laptop.do("GET", path, nil); res.status != 403 {
		t.Fatalf("a user asking: %d %s", res.status, res.body)
	}
	if res := owner.do("DELETE", path+"/"+phoneID, map[string]string{}); res.status != 422 || !strings.Contains(string(res.body), `"field":"confirm_password"`) {
		t.Fatalf("without the password: %d %s", res.status, res.body)
	}
	if res := owner.do("DELETE", path+"/"+phoneID, map[string]string{"confirm_password": "Not-My-Passw0rd!"}); res.status != 403 || res.code(t) != "invalid_confirm_password" {
		t.Fatalf("with a wrong password: %d %s", res.status, res.body)
	}
	if res := owner.do("DELETE", path+"/nosuchsession", map[string]string{"confirm_password": ownerPW}); res.status != 404 {
		t.Fatalf("a session it does not have: %d %s", res.status, res.body)
	}

	// Another tenant: 404, for the list and for the end, and the phone stays signed in.
	_, boss := e.secondTenant("boss@cloud.example")
	if res := boss.do("GET", path, nil); res.status != 404 {
		t.Fatalf("another tenant's list: %d %s", res.status, res.body)
	}
	if res := boss.do("DELETE", path+"/"+phoneID, map[string]string{"confirm_password": ownerPW}); res.status != 404 {
		t.Fatalf("another tenant's end: %d %s", res.status, res.body)
	}
	if res := phone.do("GET", "/api/me", nil); res.status != 200 {
		t.Fatalf("a refused end signed the phone out: %d", res.status)
	}

	// An administrator ends the phone's session: signed out there alone.
	if res := admin.do("DELETE", path+"/"+phoneID, map[string]string{"confirm_password": userPW}); res.status != 204 {
		t.Fatalf("end the phone: %d %s", res.status, res.body)
	}
	if res := phone.do("GET", "/api/me", nil); res.status != 401 {
		t.Fatalf("the phone is still signed in: %d", res.status)
	}
	if res := laptop.do("GET", "/api/me", nil); res.status != 200 {
		t.Fatalf("the laptop was signed out too: %d", res.status)
	}
	if res := owner.do("GET", path, nil); len(res.json(t)["sessions"].([]any)) != 1 {
		t.Fatalf("after the end: %s", res.body)
	}
	if !e.auditHas("session.end", "ok:"+phoneID) {
		t.Fatalf("no audit of the end: %s", e.auditActions(t))
	}
}
