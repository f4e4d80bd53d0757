package httpapi_test

import (
	"context"
	"encoding/csv"
	"fmt"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/kagiya/kagiya/shared/account"
)

// serviceCredential makes a service credential as the owner and returns its secret.
func (e *env) serviceCredential(name string) string {
	e.t.Helper()
	owner := e.signedIn(ownerID, ownerPW)
	res := owner.do("POST", "/api/admin/service-credentials", map[string]string{"name": name, "confirm_password": ownerPW})
	secret, _ := res.json(e.t)["secret"].(string)
	if res.status != 201 || !strings.HasPrefix(secret, e.tenant.ID+".svc_") {
		e.t.Fatalf("create service credential: %d %s", res.status, res.body)
	}
	return secret
}

// verify is a mail server's check through the service endpoint, for a mail client at
// 203.0.113.9.
func (e *env) verify(secret, id, pw string) response {
	return e.verifyFrom(secret, id, pw, "203.0.113.9")
}

// verifyFrom is verify for a mail client at clientIP.
func (e *env) verifyFrom(secret, id, pw, clientIP string) response {
	req := httptest.NewRequest("POST", "/api/service/verify", strings.NewReader(
		`{"login_id":`+quote(id)+`,"password":`+quote(pw)+`,"protocol":"imap","client_ip":"`+clientIP+`"}`))
	req.Header.Set("Content-Type", "application/json")
	if secret != "" {
		req.Header.Set("Authorization", "Bearer "+secret)
	}
	rec := httptest.NewRecorder()
	e.handler.ServeHTTP(rec, req)
	return response{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
}

func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		if r == '"' || r == '\\' {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	b.WriteByte('"')
	return b.String()
}

func (e *env) auditHas(action, resultPrefix string) bool {
	ev, _, _ := e.store.ListAudit(context.Background(), e.tenant.ID, "", 500)
	for _, x := range ev {
		if x.Action == action && strings.HasPrefix(x.Result, resultPrefix) {
			return true
		}
	}
	return false
}

func serviceCredentialsAreOwnersAndRevocable(t *testing.T, e *env) {
	e.withUser("admin@example.com", "admin")
	admin := e.signedIn("admin@example.com", userPW)
	if res := admin.do("POST", "/api/admin/service-credentials", map[string]string{"name": "mail", "confirm_password": userPW}); res.status != 403 {
		t.Fatalf("an admin makes a service credential: %d %s", res.status, res.body)
	}
	owner := e.signedIn(ownerID, ownerPW)
	if res := owner.do("POST", "/api/admin/service-credentials", map[string]string{"name": "mail"}); res.status != 422 {
		t.Fatalf("without confirmation: %d %s", res.status, res.body)
	}
	if res := owner.do("POST", "/api/admin/service-credentials", map[string]string{"name": "mail", "confirm_password": "Wrong-Pass-1!"}); res.status != 403 || res.code(t) != "invalid_confirm_password" {
		t.Fatalf("wrong confirmation: %d %s", res.status, res.body)
	}
	if res := owner.do("POST", "/api/admin/service-credentials", map[string]string{"name": " ", "confirm_password": ownerPW}); res.status != 422 {
		t.Fatalf("blank name: %d %s", res.status, res.body)
	}
	secret := e.serviceCredential("Dovecot mx1")
	for name, s := range map[string]string{"none": "", "garbage": "abc", "wrong random": secret[:len(secret)-4] + "AAAA"} {
		if res := e.verify(s, ownerID, ownerPW); res.status != 401 || res.code(t) != "invalid_service_credential" {
			t.Fatalf("%s credential: %d %s", name, res.status, res.body)
		}
	}
	if !e.auditHas("service.verify", "failed:service_credential") {
		t.Fatal("a wrong secret of a real credential is not audited")
	}
	if res := e.verify(secret, ownerID, ownerPW); res.status != 200 {
		t.Fatalf("verify: %d %s", res.status, res.body)
	}
	list := owner.do("GET", "/api/admin/service-credentials", nil)
	creds := list.json(t)["service_credentials"].([]any)
	first := creds[0].(map[string]any)
	if list.status != 200 || len(creds) != 1 || first["name"] != "Dovecot mx1" || first["last_used_at"] == nil || strings.Contains(string(list.body), secret) ||
		strings.Contains(string(list.body), "secret") {
		t.Fatalf("list: %d %s", list.status, list.body)
	}
	id := first["credential_id"].(string)
	if res := owner.do("DELETE", "/api/admin/service-credentials/"+id, map[string]string{"confirm_password": "Wrong-Pass-1!"}); res.status != 403 {
		t.Fatalf("revoke with a wrong password: %d", res.status)
	}
	if res := owner.do("DELETE", "/api/admin/service-credentials/"+id, map[string]string{"confirm_password": ownerPW}); res.status != 204 {
		t.Fatalf("revoke: %d %s", res.status, res.body)
	}
	if res := e.verify(secret, ownerID, ownerPW); res.status != 401 || res.code(t) != "invalid_service_credential" {
		t.Fatalf("revoked credential: %d %s", res.status, res.body)
	}
	if res := owner.do("DELETE", "/api/admin/service-credentials/"+id, map[string]string{"confirm_password": ownerPW}); res.status != 404 {
		t.Fatalf("revoke twice: %d", res.status)
	}
	if !e.auditHas("service_credential.create", "ok") || !e.auditHas("service_credential.delete", "ok") {
		t.Fatal("credential changes are not audited")
	}
	if strings.Contains(e.logs.String(), secret) {
		t.Fatal("a service secret reached the log")
	}
}

func serviceCheckHonoursSignInRules(t *testing.T, e *env) {
	secret := e.serviceCredential("mail")
	e.withUser(userID, "user")
	res := e.verify(secret, userID, userPW)
	body := res.json(t)
	if res.status != 200 || body["account_id"] != e.account(userID).ID || body["login_id"] != userID || body["quota_gb"] != float64(e.account(userID).QuotaGB) {
		t.Fatalf("right password: %d %s", res.status, res.body)
	}
	if !e.auditHas("service.verify", "ok:imap") {
		t.Fatal("a passed check is not audited")
	}
	// Another tenant's account is a stranger to this tenant's credential.
	if _, _, err := e.svc.SignIn.Bootstrap(context.Background(), "boss@other.example", ownerPW, account.Settings{}); err != nil {
		t.Fatal(err)
	}
	if res := e.verify(secret, "boss@other.example", ownerPW); res.status != 401 || res.code(t) != "invalid_credentials" {
		t.Fatalf("another tenant's account: %d %s", res.status, res.body)
	}
	refused := e.verify(secret, "nobody@example.com", userPW)
	if refused.status != 401 || refused.code(t) != "invalid_credentials" {
		t.Fatalf("unknown account: %d %s", refused.status, refused.body)
	}
	req := httptest.NewRequest("POST", "/api/service/verify", strings.NewReader(`{"login_id":"a@example.com","password":"x","protocol":"gopher","client_ip":"not-an-ip"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+secret)
	rec := httptest.NewRecorder()
	e.handler.ServeHTTP(rec, req)
	if rec.Code != 422 || !strings.Contains(rec.Body.String(), "protocol") || !strings.Contains(rec.Body.String(), "client_ip") {
		t.Fatalf("bad fields: %d %s", rec.Code, rec.Body)
	}
	// Guesses through the mail server (from an address the password never passed from)
	// count toward the lockout, which then holds for the site too.
	for i := range 10 {
		if res := e.verifyFrom(secret, userID, "Wrong-Guess-99!", "192.0.2.66"); res.status != 401 || res.code(t) != "invalid_credentials" {
			t.Fatalf("guess %d: %d %s", i, res.status, res.body)
		}
	}
	if !e.account(userID).Locked() {
		t.Fatal("ten wrong passwords through the mail server did not lock the account")
	}
	if m := e.mailbox.Messages(userID); len(m) == 0 || tokenFrom(t, m[len(m)-1], "unlock") == "" {
		t.Fatal("no unlock email after a lock through the mail server")
	}
	if res := e.verifyFrom(secret, userID, userPW, "192.0.2.67"); res.status != 401 {
		t.Fatalf("locked account, right password: %d %s", res.status, res.body)
	}
	if res := e.client().login(userID, userPW); res.status != 401 {
		t.Fatalf("site sign-in of an account locked through IMAP: %d", res.status)
	}
	if !e.auditHas("service.verify", "failed:imap:locked") {
		t.Fatal("the refusal of a locked account is not audited with its reason")
	}
	// Suspended, and due a password change: refused.
	owner := e.signedIn(ownerID, ownerPW)
	e.withUser("hanako@example.com", "user")
	if res := owner.do("PATCH", "/api/admin/accounts/hanako@example.com", map[string]any{"disabled": true, "confirm_password": ownerPW}); res.status != 200 {
		t.Fatalf("suspend: %d %s", res.status, res.body)
	}
	if res := e.verify(secret, "hanako@example.com", userPW); res.status != 401 {
		t.Fatalf("suspended: %d", res.status)
	}
	e.withUser("jiro@example.com", "user")
	if res := owner.do("PATCH", "/api/admin/accounts/jiro@example.com", map[string]any{"force_change": true, "confirm_password": ownerPW}); res.status != 200 {
		t.Fatalf("force change: %d %s", res.status, res.body)
	}
	if res := e.verify(secret, "jiro@example.com", userPW); res.status != 401 || !e.auditHas("service.verify", "failed:imap:password_change_required") {
		t.Fatalf("due a change: %d", res.status)
	}
}

func appPasswordsForASecondFactor(t *testing.T, e *env) {
	secret := e.serviceCredential("mail")
	e.withUser(userID, "user")
	c := e.signedIn(userID, userPW)
	e.enrol(c, userPW)
	// The main password is not enough, and a mail client still set to it does not lock
	// the person out.
	for range 12 {
		if res := e.verify(secret, userID, userPW); res.status != 401 || res.code(t) != "invalid_credentials" {
			t.Fatalf("main password with a second factor: %d %s", res.status, res.body)
		}
	}
	if a := e.account(userID); a.Locked() || a.FailedAttempts != 0 {
		t.Fatalf("the main password through IMAP counted: %+v", a.FailedAttempts)
	}
	if !e.auditHas("service.verify", "failed:imap:app_password_required") {
		t.Fatal("not audited")
	}
	if res := c.do("POST", "/api/me/app-passwords", map[string]string{"name": "iPhone メール", "current_password": "Wrong-Pass-1!"}); res.status != 403 {
		t.Fatalf("wrong current password: %d", res.status)
	}
	res := c.do("POST", "/api/me/app-passwords", map[string]string{"name": "iPhone メール", "current_password": userPW})
	pw, _ := res.json(t)["password"].(string)
	if res.status != 201 || len(pw) != 19 || strings.Count(pw, "-") != 3 {
		t.Fatalf("create: %d %s", res.status, res.body)
	}
	// Issue 23: a new app password (which passes the service check without the second
	// factor) is mailed to the person, named, with when and from where; never the secret.
	m := e.mailbox.Messages(userID)
	if last := m[len(m)-1]; !strings.Contains(last.Subject, "アプリパスワードが作成されました") || !strings.Contains(last.Text, "iPhone メール") ||
		!strings.Contains(last.Text, "192.0.2.10") || strings.Contains(last.Text+last.HTML, pw) {
		t.Fatalf("app password mail: %s\n%s", last.Subject, last.Text)
	}
	id := res.json(t)["app_password_id"].(string)
	typed := strings.ToUpper(strings.ReplaceAll(pw, "-", " "))
	ok := e.verify(secret, userID, typed)
	if ok.status != 200 || ok.json(t)["account_id"] != e.account(userID).ID {
		t.Fatalf("app password (typed in capitals with spaces): %d %s", ok.status, ok.body)
	}
	if !e.auditHas("service.verify", "ok:imap:app_password iPhone メール") {
		t.Fatal("the app password used is not in the audit")
	}
	if res := e.client().login(userID, pw); res.status != 401 {
		t.Fatalf("an app password signs in to the site: %d", res.status)
	}
	list := c.do("GET", "/api/me/app-passwords", nil)
	aps := list.json(t)["app_passwords"].([]any)
	if len(aps) != 1 || aps[0].(map[string]any)["last_used_at"] == nil || aps[0].(map[string]any)["name"] != "iPhone メール" || strings.Contains(string(list.body), pw) {
		t.Fatalf("list: %s", list.body)
	}
	// Another account's app password is not this one's.
	e.withUser("hanako@example.com", "user")
	if res := e.verify(secret, "hanako@example.com", pw); res.status != 401 {
		t.Fatalf("someone else's app password: %d", res.status)
	}
	// The administrator sees and revokes it; then it no longer works.
	owner := e.signedIn(ownerID, ownerPW)
	if res := owner.do("GET", "/api/admin/accounts/"+userID+"/app-passwords", nil); res.status != 200 || !strings.Contains(string(res.body), id) {
		t.Fatalf("admin list: %d %s", res.status, res.body)
	}
	if res := owner.do("DELETE", "/api/admin/accounts/"+userID+"/app-passwords/"+id, map[string]string{"confirm_password": ownerPW}); res.status != 204 {
		t.Fatalf("admin revoke: %d %s", res.status, res.body)
	}
	if res := e.verify(secret, userID, pw); res.status != 401 {
		t.Fatalf("revoked app password: %d", res.status)
	}
	// The person's own revoke, and deletion with the account.
	res = c.do("POST", "/api/me/app-passwords", map[string]string{"name": "Thunderbird", "current_password": userPW})
	id2 := res.json(t)["app_password_id"].(string)
	if res := c.do("DELETE", "/api/me/app-passwords/"+id2, nil); res.status != 204 {
		t.Fatalf("own revoke: %d", res.status)
	}
	if res := c.do("DELETE", "/api/me/app-passwords/"+id2, nil); res.status != 404 {
		t.Fatalf("own revoke twice: %d", res.status)
	}
	c.do("POST", "/api/me/app-passwords", map[string]string{"name": "Outlook", "current_password": userPW})
	acctID := e.account(userID).ID
	if res := owner.do("DELETE", "/api/admin/accounts/"+userID, map[string]string{"confirm_password": ownerPW}); res.status != 204 {
		t.Fatalf("delete account: %d", res.status)
	}
	if left, _ := e.store.ListCredentials(context.Background(), account.CredAppPassword, acctID); len(left) != 0 {
		t.Fatalf("app passwords outlive their account: %v", left)
	}
	if !e.auditHas("app_password.create", "ok:iPhone") || !e.auditHas("app_password.delete", "ok:Thunderbird") {
		t.Fatal("app password changes are not audited")
	}
	if strings.Contains(e.logs.String(), pw) {
		t.Fatal("an app password reached the log")
	}
}

// App passwords are no lockout lever: wrong app-password-shaped guesses are for the rate
// limits and never lock the account, and the person's right app passwords keep working
// while guesses at the main password (through the service check) lock it; a suspension
// stops them. A right app password leaves the counter as it is.
func appPasswordsAreNoLockoutLever(t *testing.T, e *env) {
	secret := e.serviceCredential("mail")
	e.withUser(userID, "user")
	c := e.signedIn(userID, userPW)
	e.enrol(c, userPW)
	pw := c.do("POST", "/api/me/app-passwords", map[string]string{"name": "iPhone", "current_password": userPW}).json(t)["password"].(string)
	for i := range 15 {
		guess := fmt.Sprintf("abcd-efgh-ijkl-mn%c%c", 'a'+i/26, 'a'+i%26)
		if res := e.verify(secret, userID, guess); res.status != 401 {
			t.Fatalf("a wrong app password: %d", res.status)
		}
	}
	if a := e.account(userID); a.Locked() || a.FailedAttempts != 0 {
		t.Fatalf("wrong app passwords counted toward the lock: %d failures, locked %v", a.FailedAttempts, a.Locked())
	}
	if !e.auditHas("service.verify", "failed:imap:app_password") {
		t.Fatal("wrong app passwords not audited")
	}

	// Without a second factor: ten wrong main passwords through IMAP lock the account;
	// the app password still works, and does not clear the run of failures.
	e.withUser("jiro@example.com", "user")
	jiro := e.signedIn("jiro@example.com", userPW)
	jpw := jiro.do("POST", "/api/me/app-passwords", map[string]string{"name": "Thunderbird", "current_password": userPW}).json(t)["password"].(string)
	for i := range 10 {
		e.verify(secret, "jiro@example.com", fmt.Sprintf("Wrong-Guess-%04d!", i))
	}
	if a := e.account("jiro@example.com"); !a.Locked() {
		t.Fatalf("ten wrong main passwords did not lock: %d failures", a.FailedAttempts)
	}
	if res := e.verify(secret, "jiro@example.com", userPW); res.status != 401 {
		t.Fatalf("the main password of a locked account: %d", res.status)
	}
	if res := e.verify(secret, "jiro@example.com", jpw); res.status != 200 {
		t.Fatalf("the app password of a locked account: %d %s", res.status, res.body)
	}
	if a := e.account("jiro@example.com"); !a.Locked() {
		t.Fatal("a right app password lifted the lock")
	}

	// A suspension stops app passwords.
	owner := e.signedIn(ownerID, ownerPW)
	if res := owner.do("PATCH", "/api/admin/accounts/"+userID, map[string]any{"disabled": true, "confirm_password": ownerPW}); res.status != 200 {
		t.Fatalf("suspend: %d %s", res.status, res.body)
	}
	if res := e.verify(secret, userID, pw); res.status != 401 || !e.auditHas("service.verify", "failed:imap:disabled") {
		t.Fatalf("the app password of a suspended account: %d", res.status)
	}
}

// A change of the main password revokes the account's app passwords (whoever knew the
// old one may have made one), audited; a tenant may keep them instead.
func appPasswordsRevokedByAPasswordChange(t *testing.T, e *env) {
	secret := e.serviceCredential("mail")
	e.withUser(userID, "user")
	c := e.signedIn(userID, userPW)
	pw := c.do("POST", "/api/me/app-passwords", map[string]string{"name": "iPhone", "current_password": userPW}).json(t)["password"].(string)
	if res := e.verify(secret, userID, pw); res.status != 200 {
		t.Fatalf("app password: %d", res.status)
	}
	const next = "Kawa-no-Sakana-7!"
	if res := c.do("POST", "/api/me/password", map[string]string{"current_password": userPW, "new_password": next}); res.status != 204 {
		t.Fatalf("change: %d %s", res.status, res.body)
	}
	if res := e.verify(secret, userID, pw); res.status != 401 {
		t.Fatalf("the app password after the change: %d", res.status)
	}
	if left, _ := e.store.ListCredentials(context.Background(), account.CredAppPassword, e.account(userID).ID); len(left) != 0 {
		t.Fatalf("%d app passwords left", len(left))
	}
	if !e.auditHas("app_password.delete", "ok:1 revoked by the password change") {
		t.Fatal("the revocation is not audited")
	}

	// The tenant keeps them: an administrator's new password leaves them working.
	owner := e.signedIn(ownerID, ownerPW)
	set := owner.do("GET", "/api/admin/tenant", nil).json(t)
	if set["revoke_app_passwords_on_change"] != true {
		t.Fatalf("default: %v", set["revoke_app_passwords_on_change"])
	}
	set["revoke_app_passwords_on_change"], set["confirm_password"] = false, ownerPW
	if res := owner.do("PUT", "/api/admin/tenant", set); res.status != 200 || res.json(t)["revoke_app_passwords_on_change"] != false {
		t.Fatalf("turn off: %d %s", res.status, res.body)
	}
	c = e.signedIn(userID, next)
	pw = c.do("POST", "/api/me/app-passwords", map[string]string{"name": "iPad", "current_password": next}).json(t)["password"].(string)
	if res := owner.do("PATCH", "/api/admin/accounts/"+userID, map[string]any{"password": "Yama-no-Kumo-8!", "confirm_password": ownerPW}); res.status != 200 {
		t.Fatalf("admin sets a password: %d %s", res.status, res.body)
	}
	if res := e.verify(secret, userID, pw); res.status != 200 {
		t.Fatalf("the app password kept by the tenant's choice: %d", res.status)
	}
}

// The service check keeps where a login ID led, proven by each account read: after its
// account is deleted and the login ID made again, the check answers for the account that
// has it now, never the one it had.
func serviceCheckFollowsTheLoginID(t *testing.T, e *env) {
	secret := e.serviceCredential("mail")
	owner := e.signedIn(ownerID, ownerPW)
	e.withUser("hanako@example.com", "user")
	if res := e.verify(secret, "hanako@example.com", userPW); res.status != 200 {
		t.Fatalf("hanako: %d", res.status)
	}
	first := e.account("hanako@example.com").ID
	if res := owner.do("DELETE", "/api/admin/accounts/hanako@example.com", map[string]string{"confirm_password": ownerPW}); res.status != 204 {
		t.Fatalf("delete: %d", res.status)
	}
	if res := e.verify(secret, "hanako@example.com", userPW); res.status != 401 {
		t.Fatalf("a deleted account: %d", res.status)
	}
	const other = "Mizu-no-Oto-2026!"
	if res := owner.do("POST", "/api/admin/accounts", map[string]any{"login_id": "hanako@example.com", "role": "user", "password": other, "confirm_password": ownerPW}); res.status != 201 {
		t.Fatalf("hanako made again: %d %s", res.status, res.body)
	}
	if res := e.verify(secret, "hanako@example.com", userPW); res.status != 401 {
		t.Fatalf("the deleted account's password: %d", res.status)
	}
	res := e.verify(secret, "hanako@example.com", other)
	if res.status != 200 || res.json(t)["account_id"] == first || res.json(t)["account_id"] != e.account("hanako@example.com").ID {
		t.Fatalf("the new account: %d %s", res.status, res.body)
	}
}

var integrationCases = map[string]func(*testing.T, *env){
	"ServiceCheckFollowsTheLoginID":           serviceCheckFollowsTheLoginID,
	"AppPasswordsRevokedByAPasswordChange":    appPasswordsRevokedByAPasswordChange,
	"AppPasswordsAreNoLockoutLever":           appPasswordsAreNoLockoutLever,
	"ServiceCredentialsAreOwnersAndRevocable": serviceCredentialsAreOwnersAndRevocable,
	"ServiceCheckHonoursSignInRules":          serviceCheckHonoursSignInRules,
	"AppPasswordsForASecondFactor":            appPasswordsForASecondFactor,
}

func TestIntegrations(t *testing.T) {
	for name, run := range integrationCases {
		t.Run(name, func(t *testing.T) { run(t, newEnv(t, withConfig(noThrottle))) })
	}
}

func TestIntegrationsOnDynamoDB(t *testing.T) {
	for name, run := range integrationCases {
		t.Run(name, func(t *testing.T) { run(t, newDynamoEnv(t, withConfig(noThrottle)).env) })
	}
}

// The settings page previews another preset's rules.
func TestPolicyPreviewOfAPreset(t *testing.T) {
	e := newEnv(t)
	owner := e.signedIn(ownerID, ownerPW)
	res := owner.do("GET", "/api/password/policy?preset=nist", nil)
	if res.status != 200 || res.json(t)["preset"] != "nist" || !strings.Contains(string(res.body), "15") {
		t.Fatalf("nist preview: %d %s", res.status, res.body)
	}
	if res := owner.do("GET", "/api/password/policy?preset=bogus", nil); res.status != 422 {
		t.Fatalf("unknown preset: %d", res.status)
	}
	if res := e.client().do("GET", "/api/password/policy?preset=nist", nil); res.status != 401 {
		t.Fatalf("without a session: %d", res.status)
	}
}

// The audit log's filters combine; bulk rows hide behind their job's summary unless
// asked for; the export is CSV with a BOM.
func TestAuditFiltersAndExport(t *testing.T) {
	e := newEnv(t, withConfig(noThrottle))
	e.withUser(userID, "user")
	for range 3 {
		e.client().login(userID, "Wrong-Guess-99!")
	}
	e.client().login(ownerID, "Wrong-Guess-99!")
	ctx := context.Background()
	for i := range 5 {
		e.store.AppendAudit(ctx, account.AuditEvent{TenantID: e.tenant.ID, At: e.clock.Now(), Actor: ownerID, Action: "bulk.update",
			Target: fmt.Sprintf("row%d@example.com", i), Result: "ok:password job j1"})
	}
	e.store.AppendAudit(ctx, account.AuditEvent{TenantID: e.tenant.ID, At: e.clock.Now(), Actor: ownerID, Action: "bulk.job", Target: "a.csv", Result: "ok:5 rows"})
	owner := e.signedIn(ownerID, ownerPW)
	events := func(query string) []map[string]any {
		t.Helper()
		res := owner.do("GET", "/api/admin/audit"+query, nil)
		if res.status != 200 {
			t.Fatalf("%s: %d %s", query, res.status, res.body)
		}
		var out []map[string]any
		for _, v := range res.json(t)["events"].([]any) {
			out = append(out, v.(map[string]any))
		}
		return out
	}
	failed := events("?action=login&result=failed")
	if len(failed) != 4 {
		t.Fatalf("failed sign-ins: %d", len(failed))
	}
	if got := events("?action=login&result=failed&target=TARO"); len(got) != 3 || got[0]["target"] != userID {
		t.Fatalf("target filter: %v", got)
	}
	for _, ev := range events("") {
		if ev["action"] == "bulk.update" {
			t.Fatal("bulk rows in the default view")
		}
	}
	if got := events("?bulk_rows=true&action=bulk."); len(got) != 6 {
		t.Fatalf("bulk rows asked for: %d", len(got))
	}
	if got := events("?from=" + e.clock.Now().Add(time.Hour).Format(time.RFC3339)); len(got) != 0 {
		t.Fatalf("from the future: %d", len(got))
	}
	if res := owner.do("GET", "/api/admin/audit?from=yesterday", nil); res.status != 422 {
		t.Fatalf("bad from: %d", res.status)
	}
	res := owner.do("GET", "/api/admin/audit/export.csv?action=login&result=failed", nil)
	body := string(res.body)
	if res.status != 200 || !strings.HasPrefix(body, "\ufeffat,actor,action,target,target_id,ip,result,actor_label,action_label,result_label\n") || strings.Count(body, "\n") != 5 {
		t.Fatalf("export: %d %q", res.status, body)
	}
	// Times are Japan's, with the offset: the first row is the newest failure.
	at := strings.SplitN(strings.Split(body, "\n")[1], ",", 2)[0]
	when, err := time.Parse(time.RFC3339, at)
	newest, _ := time.Parse(time.RFC3339Nano, failed[0]["at"].(string))
	if err != nil || !strings.HasSuffix(at, "+09:00") || !when.Equal(newest.Truncate(time.Second)) {
		t.Fatalf("export time %q (%v), want %v in Japan's time", at, err, failed[0]["at"])
	}
	// Beside the codes, who, what and the result with its reason in words: Japanese by
	// default (no Accept-Language), the browser's language, or the page's (lang).
	rows := func(res response) [][]string {
		t.Helper()
		out, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(string(res.body), "\ufeff"))).ReadAll()
		if res.status != 200 || err != nil || len(out) < 2 {
			t.Fatalf("export: %d %v %s", res.status, err, res.body)
		}
		return out
	}
	ja := rows(res)[1]
	if ja[2] != "login" || ja[6] != "failed:password" || ja[7] != ja[1] || ja[8] != "ログイン" || ja[9] != "失敗（パスワード誤り）" {
		t.Fatalf("a failed sign-in in Japanese: %q", ja)
	}
	english := owner.do("GET", "/api/admin/audit/export.csv?action=login&result=failed&lang=en", nil)
	if en := rows(english)[1]; en[2] != "login" || en[6] != "failed:password" || en[8] != "Sign-in" || en[9] != "Failed（wrong password）" {
		t.Fatalf("a failed sign-in in English: %q", en)
	}
	owner.lang = "en-US,en;q=0.9"
	browsers := rows(owner.do("GET", "/api/admin/audit/export.csv?bulk_rows=true&action=bulk.", nil))
	owner.lang = ""
	labels := map[string]string{} // a bulk job's and its rows' action → their words
	for _, row := range browsers[1:] {
		labels[row[2]+" "+row[6]] = row[8] + " | " + row[9]
	}
	if got := labels["bulk.job ok:5 rows"]; got != "CSV bulk job | OK（5 rows）" {
		t.Fatalf("a bulk job in the browser's English: %q (%v)", got, labels)
	}
	if got := labels["bulk.update ok:password job j1"]; got != "CSV bulk change (row) | OK（password / bulk job j1）" {
		t.Fatalf("a bulk row in the browser's English: %q (%v)", got, labels)
	}
	if res := owner.do("GET", "/api/admin/audit/export.csv?lang=fr", nil); res.status != 422 || !strings.Contains(string(res.body), `"field":"lang"`) {
		t.Fatalf("a language it has no words in: %d %s", res.status, res.body)
	}
}

// The table keeps audit events AuditTableDays (90 by default): the audit page and its
// export reach back that far, and a range that starts before it is answered with the
// events the table keeps and a notice (audit_archived) that older ones are in the
// operator's archive; a range wholly older is a 422 audit_archived, in words.
func TestAuditReachesBackTheTableDays(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	now := e.clock.Now()
	for _, days := range []int{100, 10} {
		e.store.AppendAudit(ctx, account.AuditEvent{TenantID: e.tenant.ID, At: now.Add(-time.Duration(days) * 24 * time.Hour),
			Actor: ownerID, Action: "account.update", Target: fmt.Sprintf("d%d@example.com", days), Result: "ok"})
	}
	owner := e.signedIn(ownerID, ownerPW)
	day := func(d int) string {
		return url.QueryEscape(now.Add(-time.Duration(d) * 24 * time.Hour).Format(time.RFC3339))
	}
	list := func(query string) (targets string, body map[string]any) {
		t.Helper()
		res := owner.do("GET", "/api/admin/audit?action=account.update"+query, nil)
		if res.status != 200 {
			t.Fatalf("%s: %d %s", query, res.status, res.body)
		}
		body = res.json(t)
		for _, v := range body["events"].([]any) {
			targets += v.(map[string]any)["target"].(string) + " "
		}
		return targets, body
	}
	targets, body := list("")
	if targets != "d10@example.com " || body["notice"] != nil {
		t.Fatalf("all events: %q, notice %v", targets, body["notice"])
	}
	if since, err := time.Parse(time.RFC3339, body["kept_since"].(string)); err != nil || !since.Equal(now.Add(-90*24*time.Hour).Truncate(time.Second)) && !since.Equal(now.Add(-90*24*time.Hour)) {
		t.Fatalf("kept_since %v (%v), want 90 days ago", body["kept_since"], err)
	}
	if targets, body = list("&from=" + day(120)); targets != "d10@example.com " || body["notice"] != "audit_archived" {
		t.Fatalf("from 120 days ago: %q, notice %v", targets, body["notice"])
	}
	if targets, body = list("&from=" + day(30)); targets != "d10@example.com " || body["notice"] != nil {
		t.Fatalf("from 30 days ago: %q, notice %v", targets, body["notice"])
	}
	for _, path := range []string{"/api/admin/audit", "/api/admin/audit/export.csv"} {
		res := owner.do("GET", path+"?from="+day(120)+"&to="+day(95), nil)
		if res.status != 422 || res.json(t)["error"].(map[string]any)["code"] != "audit_archived" ||
			!strings.Contains(res.json(t)["error"].(map[string]any)["message"].(string), "アーカイブ") {
			t.Fatalf("%s, a range wholly older: %d %s", path, res.status, res.body)
		}
	}
	res := owner.do("GET", "/api/admin/audit/export.csv?action=account.update&from="+day(120), nil)
	if res.status != 200 || res.header.Get("Kagiya-Notice") != "audit_archived" || res.header.Get("Kagiya-Audit-Kept-Since") == "" ||
		!strings.Contains(string(res.body), "d10@example.com") || strings.Contains(string(res.body), "d100@example.com") {
		t.Fatalf("export from 120 days ago: %d %v %q", res.status, res.header, res.body)
	}

	// A deployment that keeps them 400 days shows both, without a notice.
	e = newEnv(t, withConfig(func(c *account.Config) { c.AuditTableDays = 400 }))
	now = e.clock.Now()
	for _, days := range []int{100, 10} {
		e.store.AppendAudit(ctx, account.AuditEvent{TenantID: e.tenant.ID, At: now.Add(-time.Duration(days) * 24 * time.Hour),
			Actor: ownerID, Action: "account.update", Target: fmt.Sprintf("d%d@example.com", days), Result: "ok"})
	}
	owner = e.signedIn(ownerID, ownerPW)
	if targets, body = list("&from=" + day(120)); targets != "d10@example.com d100@example.com " || body["notice"] != nil {
		t.Fatalf("400 days kept, from 120 days ago: %q, notice %v", targets, body["notice"])
	}
}
