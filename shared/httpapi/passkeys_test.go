package httpapi_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kagiya/kagiya/shared/account"
	"github.com/kagiya/kagiya/shared/passkey/passkeytest"
)

// The site these tests' passkeys belong to (the env's SITE_URL).
const siteOrigin = "https://id.example.com"

// addPasskey adds a passkey of auth to c's account with the account's password pw.
func (c *client) addPasskey(auth *passkeytest.Authenticator, pw, name string) response {
	t := c.e.t
	t.Helper()
	res := c.do("POST", "/api/me/passkeys/options", map[string]string{"current_password": pw})
	if res.status != 200 {
		t.Fatalf("passkey options: %d %s", res.status, res.body)
	}
	var opts struct {
		PublicKey json.RawMessage `json:"public_key"`
	}
	json.Unmarshal(res.body, &opts)
	cred, err := auth.Create(opts.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return c.do("POST", "/api/me/passkeys", map[string]any{"name": name, "credential": json.RawMessage(cred)})
}

// passkeyOptions asks for a sign-in's challenge and options.
func (c *client) passkeyOptions() (string, json.RawMessage) {
	t := c.e.t
	t.Helper()
	res := c.do("POST", "/api/login/passkey/options", map[string]any{})
	var o struct {
		Challenge string          `json:"challenge"`
		PublicKey json.RawMessage `json:"public_key"`
	}
	if res.status != 200 || json.Unmarshal(res.body, &o) != nil || o.Challenge == "" {
		t.Fatalf("passkey login options: %d %s", res.status, res.body)
	}
	return o.Challenge, o.PublicKey
}

// sendPasskey posts a sign-in's credential.
func (c *client) sendPasskey(challenge string, cred []byte) response {
	res := c.do("POST", "/api/login/passkey", map[string]any{"challenge": challenge, "credential": json.RawMessage(cred)})
	if csrf, ok := res.json(c.e.t)["csrf_token"].(string); ok && res.status == 200 {
		c.csrf = csrf
	}
	return res
}

// passkeyLogin signs in with one of auth's passkeys (a second later than the last
// sign-in: a passkey takes each challenge once, newest last).
func (c *client) passkeyLogin(auth *passkeytest.Authenticator) response {
	c.e.t.Helper()
	c.e.clock.Add(time.Second)
	challenge, opts := c.passkeyOptions()
	cred, err := auth.Get(opts)
	if err != nil {
		c.e.t.Fatal(err)
	}
	return c.sendPasskey(challenge, cred)
}

// sessionAMR is the amr of c's session as the store keeps it.
func (c *client) sessionAMR() []string {
	t := c.e.t
	t.Helper()
	id, _, _ := strings.Cut(c.cookie.Value, ".")
	s, err := c.e.store.GetSession(context.Background(), id, account.HashToken(c.cookie.Value))
	if err != nil {
		t.Fatal(err)
	}
	return s.AMR
}

func (e *env) mailsAbout(to, subject string) int {
	n := 0
	for _, m := range e.mailbox.Messages(to) {
		if strings.Contains(m.Subject, subject) {
			n++
		}
	}
	return n
}

// passkeyCases run on the embedded store and on DynamoDB (minidyn).
var passkeyCases = map[string]func(*testing.T, *env){
	"RegisterThenSignInWithoutPassword": passkeyRegisterThenSignIn,
	"FailuresNeverCountTowardLockout":   passkeyFailuresNeverLock,
	"SuspendedAndRemoved":               passkeySuspendedAndRemoved,
	"SecondFactorStep":                  passkeySecondFactor,
	"Counters":                          passkeyCounters,
	"AdministratorsCountAndReset":       passkeyAdministrators,
	"RememberedAfterPasskeyStep":        passkeyRememberedBrowser,
	"MailServersAskAnAppPassword":       passkeyServiceCheck,
	"NoWayPastTheIdentityProvider":      passkeyIdPAccount,
}

func TestPasskeys(t *testing.T) {
	for name, run := range passkeyCases {
		t.Run(name, func(t *testing.T) { run(t, newEnv(t, withConfig(noThrottle))) })
	}
}

func TestPasskeysDynamo(t *testing.T) {
	for name, run := range passkeyCases {
		t.Run(name, func(t *testing.T) { run(t, newDynamoEnv(t, withConfig(noThrottle)).env) })
	}
}

func passkeyRegisterThenSignIn(t *testing.T, e *env) {
	e.withUser(userID, "user")
	c := e.signedIn(userID, userPW)
	auth := passkeytest.New(siteOrigin)
	if res := c.do("POST", "/api/me/passkeys/options", map[string]string{"current_password": "Wrong-Pass-123!"}); res.status != 403 || res.code(t) != "invalid_current_password" {
		t.Fatalf("options with a wrong password: %d %s", res.status, res.body)
	}
	res := c.addPasskey(auth, userPW, "仕事用の MacBook")
	body := res.json(t)
	if res.status != 201 || body["name"] != "仕事用の MacBook" || body["passkey_id"] == "" || body["created_at"] == nil {
		t.Fatalf("add: %d %s", res.status, res.body)
	}
	id := body["passkey_id"].(string)
	if e.mailsAbout(userID, "パスキーが追加されました") != 1 || !e.auditHas("passkey.add", "ok:仕事用の MacBook") {
		t.Fatalf("the addition was not mailed and audited: %s", e.auditActions(t))
	}
	// The registration's challenge registers one passkey at most.
	e.clock.Add(time.Second)
	res = c.do("POST", "/api/me/passkeys/options", map[string]string{"current_password": userPW})
	var opts struct {
		PublicKey json.RawMessage `json:"public_key"`
	}
	json.Unmarshal(res.body, &opts)
	if !bytes.Contains(opts.PublicKey, []byte(`"excludeCredentials"`)) {
		t.Fatalf("the account's passkey is not excluded: %s", opts.PublicKey)
	}
	second := passkeytest.New(siteOrigin)
	cred, _ := second.Create(opts.PublicKey)
	if res := c.do("POST", "/api/me/passkeys", map[string]any{"name": "two", "credential": json.RawMessage(cred)}); res.status != 201 {
		t.Fatalf("second passkey: %d %s", res.status, res.body)
	}
	cred, _ = passkeytest.New(siteOrigin).Create(opts.PublicKey)
	if res := c.do("POST", "/api/me/passkeys", map[string]any{"name": "three", "credential": json.RawMessage(cred)}); res.status != 400 || res.code(t) != "passkey_rejected" {
		t.Fatalf("the same registration challenge again: %d %s", res.status, res.body)
	}
	// Rename, list.
	if res := c.do("PATCH", "/api/me/passkeys/"+id, map[string]string{"name": "MacBook"}); res.status != 200 || res.json(t)["name"] != "MacBook" {
		t.Fatalf("rename: %d %s", res.status, res.body)
	}
	if res := c.do("PATCH", "/api/me/passkeys/nope", map[string]string{"name": "x"}); res.status != 404 {
		t.Fatalf("rename of an unknown passkey: %d", res.status)
	}

	// Signed out, the passkey alone signs in: both factors, no password.
	out := e.client()
	res = out.passkeyLogin(auth)
	if res.status != 200 || res.json(t)["result"] != "ok" || out.cookie == nil {
		t.Fatalf("passkey sign-in: %d %s", res.status, res.body)
	}
	if me := out.do("GET", "/api/me", nil); me.status != 200 || me.json(t)["login_id"] != userID {
		t.Fatalf("me after a passkey sign-in: %d %s", me.status, me.body)
	}
	if amr := out.sessionAMR(); !slices.Equal(amr, []string{"swk", "mfa"}) {
		t.Fatalf("amr of a synced passkey alone: %v", amr)
	}
	if !e.auditHas("login", "ok:passkey") {
		t.Fatalf("the sign-in is not audited: %s", e.auditActions(t))
	}
	list := out.do("GET", "/api/me/passkeys", nil)
	var l struct {
		Passkeys []struct {
			PasskeyID  string     `json:"passkey_id"`
			Name       string     `json:"name"`
			CreatedAt  time.Time  `json:"created_at"`
			LastUsedAt *time.Time `json:"last_used_at"`
		} `json:"passkeys"`
	}
	json.Unmarshal(list.body, &l)
	if len(l.Passkeys) != 2 || l.Passkeys[0].Name != "MacBook" || l.Passkeys[0].LastUsedAt == nil || l.Passkeys[1].LastUsedAt != nil {
		t.Fatalf("list: %s", list.body)
	}
	// A device-bound passkey (not backup eligible) is a hardware-secured key.
	bound := passkeytest.New(siteOrigin)
	bound.Backup = false
	if res := c.addPasskey(bound, userPW, "security key"); res.status != 201 {
		t.Fatalf("add a device-bound passkey: %d %s", res.status, res.body)
	}
	hw := e.client()
	if res := hw.passkeyLogin(bound); res.status != 200 || !slices.Equal(hw.sessionAMR(), []string{"hwk", "mfa"}) {
		t.Fatalf("device-bound passkey: %d %v", res.status, hw.sessionAMR())
	}
	// Removal: mailed, audited, and the passkey signs in no more.
	if res := c.do("DELETE", "/api/me/passkeys/"+id, nil); res.status != 204 {
		t.Fatalf("remove: %d %s", res.status, res.body)
	}
	if res := c.do("DELETE", "/api/me/passkeys/"+id, nil); res.status != 404 {
		t.Fatalf("remove twice: %d", res.status)
	}
	if e.mailsAbout(userID, "パスキーが削除されました") != 1 || !e.auditHas("passkey.remove", "ok:MacBook") {
		t.Fatalf("the removal was not mailed and audited")
	}
	gone := e.client()
	e.clock.Add(time.Second)
	challenge, _ := gone.passkeyOptions()
	cred, _ = auth.Sign(auth.Credentials()[0], challenge)
	if res := gone.sendPasskey(challenge, cred); res.status != 401 || res.code(t) != "invalid_credentials" {
		t.Fatalf("removed passkey: %d %s", res.status, res.body)
	}
}

func passkeyFailuresNeverLock(t *testing.T, e *env) {
	e.withUser(userID, "user")
	auth := passkeytest.New(siteOrigin)
	if res := e.signedIn(userID, userPW).addPasskey(auth, userPW, "phone"); res.status != 201 {
		t.Fatal(res.status)
	}
	c := e.client()
	refused := func(what string, res response) {
		t.Helper()
		if res.status != 401 || res.code(t) != "invalid_credentials" || c.cookie != nil {
			t.Fatalf("%s: %d %s", what, res.status, res.body)
		}
	}
	// Replayed: the same assertion twice.
	e.clock.Add(time.Second)
	challenge, opts := c.passkeyOptions()
	cred, _ := auth.Get(opts)
	if res := c.sendPasskey(challenge, cred); res.status != 200 {
		t.Fatalf("first use: %d %s", res.status, res.body)
	}
	c.cookie = nil
	for range 12 { // more than the lockout threshold
		refused("replayed assertion", c.sendPasskey(challenge, cred))
	}
	// Another origin, another RP ID, a tampered signature, an unknown credential.
	e.clock.Add(time.Second)
	auth.Origin = "https://id.example.com.evil.example"
	challenge, opts = c.passkeyOptions()
	cred, _ = auth.Get(opts)
	refused("wrong origin", c.sendPasskey(challenge, cred))
	auth.Origin, auth.RPID = siteOrigin, "example.com"
	challenge, _ = c.passkeyOptions()
	cred, _ = auth.Sign(auth.Credentials()[0], challenge)
	refused("wrong RP ID", c.sendPasskey(challenge, cred))
	auth.RPID = "id.example.com"
	challenge, opts = c.passkeyOptions()
	cred, _ = auth.Get(opts)
	var m map[string]any
	json.Unmarshal(cred, &m)
	r := m["response"].(map[string]any)
	sig, _ := base64.RawURLEncoding.DecodeString(r["signature"].(string))
	sig[len(sig)-1] ^= 1
	r["signature"] = base64.RawURLEncoding.EncodeToString(sig)
	tampered, _ := json.Marshal(m)
	refused("tampered signature", c.sendPasskey(challenge, tampered))
	stranger := passkeytest.New(siteOrigin)
	stranger.Create([]byte(`{"user":{"id":"` + base64.RawURLEncoding.EncodeToString([]byte(e.account(userID).ID)) + `"},"challenge":"AAAAAAAAAAAAAAAAAAAAAA","pubKeyCredParams":[{"alg":-7}]}`))
	challenge, opts = c.passkeyOptions()
	cred, _ = stranger.Get(opts)
	refused("unknown credential", c.sendPasskey(challenge, cred))
	refused("malformed credential", c.sendPasskey(challenge, []byte(`{"id":"x"}`)))

	// None of it counted: the right password still signs in, the counter untouched.
	if a := e.account(userID); a.FailedAttempts != 0 || a.Locked() {
		t.Fatalf("passkey failures counted toward the lockout: %+v", a)
	}
	if !e.auditHas("login", "failed:passkey") {
		t.Fatalf("failures are not audited: %s", e.auditActions(t))
	}
	if res := e.client().login(userID, userPW); res.status != 200 || res.json(t)["result"] != "mfa_required" {
		t.Fatalf("the password after passkey failures: %d %s", res.status, res.body)
	}
}

func passkeySuspendedAndRemoved(t *testing.T, e *env) {
	e.withUser(userID, "user")
	auth := passkeytest.New(siteOrigin)
	if res := e.signedIn(userID, userPW).addPasskey(auth, userPW, "phone"); res.status != 201 {
		t.Fatal(res.status)
	}
	owner := e.signedIn(ownerID, ownerPW)
	if res := owner.do("POST", "/api/admin/suspend", map[string]any{"login_ids": []string{userID}, "disabled": true, "confirm_password": ownerPW}); res.status != 200 {
		t.Fatalf("suspend: %d %s", res.status, res.body)
	}
	c := e.client()
	if res := c.passkeyLogin(auth); res.status != 401 || res.code(t) != "invalid_credentials" {
		t.Fatalf("a suspended account's passkey: %d %s", res.status, res.body)
	}
	if !e.auditHas("login", "failed:passkey:disabled") {
		t.Fatalf("the refusal is not audited with its reason: %s", e.auditActions(t))
	}
	owner.do("POST", "/api/admin/suspend", map[string]any{"login_ids": []string{userID}, "disabled": false, "confirm_password": ownerPW})
	if res := c.passkeyLogin(auth); res.status != 200 {
		t.Fatalf("after the suspension ends: %d %s", res.status, res.body)
	}
	// A forced password change is still asked for, as a step of the passkey's flow.
	if res := owner.do("PATCH", "/api/admin/accounts/"+userID, map[string]any{"force_change": true}); res.status != 200 {
		t.Fatalf("force change: %d %s", res.status, res.body)
	}
	c = e.client()
	res := c.passkeyLogin(auth)
	if res.status != 200 || res.json(t)["result"] != "password_change_required" || c.cookie != nil {
		t.Fatalf("a due change after a passkey: %d %s", res.status, res.body)
	}
	res = c.do("POST", "/api/login/password", map[string]any{"challenge": res.json(t)["challenge"], "new_password": "Kawa-no-Nagare-77!"})
	if res.status != 200 || c.cookie == nil || !slices.Equal(c.sessionAMR(), []string{"swk", "mfa"}) {
		t.Fatalf("change after a passkey: %d %s", res.status, res.body)
	}
}

func passkeySecondFactor(t *testing.T, e *env) {
	e.withUser(userID, "user")
	auth := passkeytest.New(siteOrigin)
	if res := e.signedIn(userID, userPW).addPasskey(auth, userPW, "phone"); res.status != 201 {
		t.Fatal(res.status)
	}
	c := e.client()
	res := c.login(userID, userPW)
	body := res.json(t)
	if res.status != 200 || body["result"] != "mfa_required" || c.cookie != nil {
		t.Fatalf("password of an account with a passkey: %d %s", res.status, res.body)
	}
	if m, _ := body["methods"].([]any); len(m) != 1 || m[0] != "passkey" {
		t.Fatalf("methods: %v", body["methods"])
	}
	challenge := body["challenge"].(string)
	e.clock.Add(time.Second)
	res = c.do("POST", "/api/login/mfa/passkey-options", map[string]string{"challenge": challenge})
	var o struct {
		PublicKey json.RawMessage `json:"public_key"`
	}
	if res.status != 200 || json.Unmarshal(res.body, &o) != nil || !bytes.Contains(o.PublicKey, []byte("allowCredentials")) {
		t.Fatalf("passkey options of the step: %d %s", res.status, res.body)
	}
	// Another account's passkey, or a tampered one, does not complete it (and leaves it).
	cred, _ := auth.Get(o.PublicKey)
	var m map[string]any
	json.Unmarshal(cred, &m)
	m["response"].(map[string]any)["signature"] = "AAAA"
	bad, _ := json.Marshal(m)
	if res := c.giveCode(challenge, map[string]any{"credential": json.RawMessage(bad)}); res.status != 401 || res.code(t) != "invalid_credentials" {
		t.Fatalf("a tampered passkey as the second factor: %d %s", res.status, res.body)
	}
	if res := c.giveCode(challenge, map[string]any{"credential": json.RawMessage(cred), "code": "123456"}); res.status != 422 {
		t.Fatalf("a passkey and a code: %d %s", res.status, res.body)
	}
	if res := c.giveCode(challenge, map[string]any{"credential": json.RawMessage(cred)}); res.status != 200 || c.cookie == nil {
		t.Fatalf("passkey as the second factor: %d %s", res.status, res.body)
	}
	if amr := c.sessionAMR(); !slices.Equal(amr, []string{"pwd", "swk", "mfa"}) {
		t.Fatalf("amr: %v", amr)
	}
	// The step's challenge is used up.
	if res := c.giveCode(challenge, map[string]any{"credential": json.RawMessage(cred)}); res.status != 400 || res.code(t) != "invalid_token" {
		t.Fatalf("the step again: %d %s", res.status, res.body)
	}
	if a := e.account(userID); a.MFALocked() || a.FailedAttempts != 0 {
		t.Fatalf("after the step: %+v", a)
	}

	// A tenant that requires a second factor takes the passkey: no enrolment is asked.
	owner := e.signedIn(ownerID, ownerPW)
	set := owner.do("GET", "/api/admin/tenant", nil).json(t)
	set["mfa_required"], set["confirm_password"] = true, ownerPW
	if res := owner.do("PUT", "/api/admin/tenant", set); res.status != 200 || res.json(t)["mfa_required"] != true {
		t.Fatalf("require a second factor: %d %s", res.status, res.body)
	}
	res = e.client().login(userID, userPW)
	if m, _ := res.json(t)["methods"].([]any); res.json(t)["result"] != "mfa_required" || len(m) != 1 || m[0] != "passkey" {
		t.Fatalf("a required second factor with a passkey: %d %s", res.status, res.body)
	}
	// ... and the last passkey cannot be removed while it is the only second factor.
	signed := e.client()
	if res := signed.passkeyLogin(auth); res.status != 200 {
		t.Fatalf("passkey sign-in: %d %s", res.status, res.body)
	}
	id := account.PasskeyID(auth.Credentials()[0].ID)
	if res := signed.do("DELETE", "/api/me/passkeys/"+id, nil); res.status != 403 || res.code(t) != "mfa_required_by_tenant" {
		t.Fatalf("removing the only second factor a tenant requires: %d %s", res.status, res.body)
	}
}

func passkeyCounters(t *testing.T, e *env) {
	e.withUser(userID, "user")
	auth := passkeytest.New(siteOrigin)
	auth.Counter, auth.Backup = true, false
	if res := e.signedIn(userID, userPW).addPasskey(auth, userPW, "key"); res.status != 201 {
		t.Fatal(res.status)
	}
	for range 2 {
		if res := e.client().passkeyLogin(auth); res.status != 200 {
			t.Fatalf("counted sign-in: %d %s", res.status, res.body)
		}
	}
	pk, _ := e.store.ListPasskeys(context.Background(), e.account(userID).ID)
	if len(pk) != 1 || pk[0].SignCount != 2 {
		t.Fatalf("counter kept: %+v", pk)
	}
	// A clone made when the counter was 1 signs with 2 again.
	auth.Credentials()[0].Count = 1
	if res := e.client().passkeyLogin(auth); res.status != 401 {
		t.Fatalf("a counter that did not move on: %d %s", res.status, res.body)
	}
}

func passkeyAdministrators(t *testing.T, e *env) {
	e.withUser(userID, "user")
	auth := passkeytest.New(siteOrigin)
	c := e.signedIn(userID, userPW)
	if res := c.addPasskey(auth, userPW, "phone"); res.status != 201 {
		t.Fatal(res.status)
	}
	owner := e.signedIn(ownerID, ownerPW)
	list := owner.do("GET", "/api/admin/accounts?q=taro", nil)
	var l struct {
		Accounts []struct {
			LoginID  string `json:"login_id"`
			Passkeys *int   `json:"passkeys"`
		} `json:"accounts"`
	}
	json.Unmarshal(list.body, &l)
	if len(l.Accounts) != 1 || l.Accounts[0].Passkeys == nil || *l.Accounts[0].Passkeys != 1 {
		t.Fatalf("passkey count in the account list: %s", list.body)
	}
	if res := owner.do("POST", "/api/admin/accounts/"+userID+"/mfa/reset", map[string]string{"confirm_password": ownerPW}); res.status != 200 {
		t.Fatalf("second-factor reset: %d %s", res.status, res.body)
	}
	if a := e.account(userID); a.Passkeys != 0 {
		t.Fatalf("count after the reset: %d", a.Passkeys)
	}
	if ps, _ := e.store.ListPasskeys(context.Background(), e.account(userID).ID); len(ps) != 0 {
		t.Fatalf("passkeys after the reset: %+v", ps)
	}
	if res := e.client().passkeyLogin(auth); res.status != 401 {
		t.Fatalf("a reset passkey: %d %s", res.status, res.body)
	}
	// The password alone signs in again: no second factor is left.
	if res := e.client().login(userID, userPW); res.status != 200 || res.json(t)["result"] != "ok" {
		t.Fatalf("after the reset: %d %s", res.status, res.body)
	}
}

// passkeyStep signs c in with the password, then gives one of auth's passkeys as the
// second factor, with extra in the step's body.
func (c *client) passkeyStep(auth *passkeytest.Authenticator, extra map[string]any) response {
	t := c.e.t
	t.Helper()
	c.cookie = nil
	res := c.login(userID, userPW)
	if res.json(t)["result"] != "mfa_required" {
		t.Fatalf("password of an account with a passkey: %d %s", res.status, res.body)
	}
	challenge := res.json(t)["challenge"].(string)
	c.e.clock.Add(time.Second)
	res = c.do("POST", "/api/login/mfa/passkey-options", map[string]string{"challenge": challenge})
	var o struct {
		PublicKey json.RawMessage `json:"public_key"`
	}
	if res.status != 200 || json.Unmarshal(res.body, &o) != nil {
		t.Fatalf("passkey options of the step: %d %s", res.status, res.body)
	}
	cred, err := auth.Get(o.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	extra["credential"] = json.RawMessage(cred)
	return c.giveCode(challenge, extra)
}

// A passkey's second-factor step remembers the browser as a code's does: the cookie
// skips the step for the tenant's days from the browser's last sign-in, only in that
// browser; forgetting browsers ends it, and so does the account's first second factor
// after its last one was removed (a cookie from before counts for nothing).
func passkeyRememberedBrowser(t *testing.T, e *env) {
	e.withUser(userID, "user")
	auth := passkeytest.New(siteOrigin)
	if res := e.signedIn(userID, userPW).addPasskey(auth, userPW, "phone"); res.status != 201 {
		t.Fatal(res.status)
	}
	plain := e.client()
	if res := plain.passkeyStep(auth, map[string]any{}); res.status != 200 || len(plain.remember) != 0 {
		t.Fatalf("a passkey step without remember: %d %s (%d cookies)", res.status, res.body, len(plain.remember))
	}
	home := e.client()
	if res := home.passkeyStep(auth, map[string]any{"remember_browser": true}); res.status != 200 || len(home.remember) != 1 {
		t.Fatalf("a passkey step with remember: %d %s (%d cookies)", res.status, res.body, len(home.remember))
	}
	for _, ck := range home.remember {
		if !ck.HttpOnly || ck.MaxAge != 30*24*3600 {
			t.Fatalf("remember cookie: %+v", ck)
		}
	}
	e.clock.Add(29 * 24 * time.Hour)
	if res := home.login(userID, userPW); res.json(t)["result"] != "ok" {
		t.Fatalf("a browser remembered after a passkey: %s", res.body)
	}
	if res := plain.login(userID, userPW); res.json(t)["result"] != "mfa_required" {
		t.Fatalf("a browser not remembered: %s", res.body)
	}
	if st := home.do("GET", "/api/me/mfa", nil).json(t); st["remembered_browsers"] != 1.0 {
		t.Fatalf("remembered: %v", st)
	}
	if res := home.do("POST", "/api/me/mfa/forget-browsers", nil); res.status != 204 {
		t.Fatalf("forget: %d %s", res.status, res.body)
	}
	if res := home.login(userID, userPW); res.json(t)["result"] != "mfa_required" {
		t.Fatalf("after forgetting browsers: %s", res.body)
	}

	// Remembered again; the passkey removed (no second factor left), then a new one
	// added: the old cookie does not skip the new factor's step.
	if res := home.passkeyStep(auth, map[string]any{"remember_browser": true}); res.status != 200 {
		t.Fatalf("remember again: %d %s", res.status, res.body)
	}
	id := account.PasskeyID(auth.Credentials()[0].ID)
	if res := home.do("DELETE", "/api/me/passkeys/"+id, nil); res.status != 204 {
		t.Fatalf("remove the passkey: %d %s", res.status, res.body)
	}
	if res := home.login(userID, userPW); res.json(t)["result"] != "ok" {
		t.Fatalf("no second factor left: %s", res.body)
	}
	other := passkeytest.New(siteOrigin)
	if res := home.addPasskey(other, userPW, "key"); res.status != 201 {
		t.Fatalf("a new passkey: %d %s", res.status, res.body)
	}
	if res := home.login(userID, userPW); res.json(t)["result"] != "mfa_required" {
		t.Fatalf("a cookie from before the new second factor: %s", res.body)
	}
}

// A passkey is a second factor for the mail-server check too: the main password alone
// is refused there (never checked, so it locks no one out), and an app password passes.
func passkeyServiceCheck(t *testing.T, e *env) {
	secret := e.serviceCredential("mail")
	e.withUser(userID, "user")
	c := e.signedIn(userID, userPW)
	if res := e.verify(secret, userID, userPW); res.status != 200 {
		t.Fatalf("main password without a second factor: %d %s", res.status, res.body)
	}
	if res := c.addPasskey(passkeytest.New(siteOrigin), userPW, "phone"); res.status != 201 {
		t.Fatalf("add: %d %s", res.status, res.body)
	}
	for range 12 {
		if res := e.verify(secret, userID, userPW); res.status != 401 || res.code(t) != "invalid_credentials" {
			t.Fatalf("main password with a passkey: %d %s", res.status, res.body)
		}
	}
	if a := e.account(userID); a.Locked() || a.FailedAttempts != 0 {
		t.Fatalf("the main password through IMAP counted: %d", a.FailedAttempts)
	}
	if !e.auditHas("service.verify", "failed:imap:app_password_required") {
		t.Fatal("not audited")
	}
	res := c.do("POST", "/api/me/app-passwords", map[string]string{"name": "Thunderbird", "current_password": userPW})
	pw, _ := res.json(t)["password"].(string)
	if res.status != 201 || pw == "" {
		t.Fatalf("app password: %d %s", res.status, res.body)
	}
	if res := e.verify(secret, userID, pw); res.status != 200 {
		t.Fatalf("app password with a passkey: %d %s", res.status, res.body)
	}
}

// An idp account's passkey is its second factor after the provider, never a way in on its
// own: a person the organization suspended at its provider must not get in with it.
func passkeyIdPAccount(t *testing.T, e *env) {
	e.withUser(userID, "user")
	auth := passkeytest.New(siteOrigin)
	if res := e.signedIn(userID, userPW).addPasskey(auth, userPW, "phone"); res.status != 201 {
		t.Fatalf("add: %d %s", res.status, res.body)
	}
	if res := e.client().passkeyLogin(auth); res.status != 200 {
		t.Fatalf("a password account's passkey: %d %s", res.status, res.body)
	}
	a := e.account(userID)
	a.LoginMethod, a.PasswordHash = account.LoginMethodIdP, ""
	if _, err := e.store.UpdateAccount(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	if res := e.client().passkeyLogin(auth); res.status != 401 || res.code(t) != "invalid_credentials" {
		t.Fatalf("an idp account's passkey alone: %d %s", res.status, res.body)
	}
	if !e.auditHas("login", "failed:passkey:idp") {
		t.Fatalf("not audited: %s", e.auditActions(t))
	}
}
