package httpapi_test

// OWASP ASVS 4.0.3, chapters V2 (authentication) and V3 (session management): each
// level-2 requirement that applies is pinned by a test named TestASVS_<chapter>_<section>_
// <item>_... (here, or beside the feature it checks); docs/security.md lists every
// requirement with its test or why it does not apply.

import (
	"context"
	"strings"
	"testing"

	"github.com/kagiya/kagiya/shared/account"
)

// changeOwn changes the signed-in person's password and returns the answer.
func changeOwn(c *client, current, next string) response {
	res := c.do("POST", "/api/me/password", map[string]string{"current_password": current, "new_password": next})
	if res.status == 204 {
		c.csrf = res.header.Get("X-CSRF-Token")
	}
	return res
}

// 2.1.1: at least 12 characters (15 under nist), counting runs of spaces once.
func TestASVS_2_1_1_MinimumLength(t *testing.T) {
	e := newEnv(t, withConfig(noThrottle))
	e.withUser(userID, "user")
	c := e.signedIn(userID, userPW)
	if res := changeOwn(c, userPW, "Kawa-no-Sa1!"); res.status != 204 { // 12: the standard12 minimum
		t.Fatalf("12 characters refused: %d %s", res.status, res.body)
	}
	if got := policyCodes(t, changeOwn(c, "Kawa-no-Sa1!", "Kawa-no-S1!")); !strings.Contains(got, "too_short") {
		t.Fatalf("11 characters: %s", got)
	}
	n := newEnv(t, withConfig(noThrottle), withSettings(account.Settings{PolicyPreset: "nist"}))
	n.withUser(userID, "user")
	d := n.signedIn(userID, userPW)
	if got := policyCodes(t, changeOwn(d, userPW, "kawa  no     sak")); !strings.Contains(got, "too_short") {
		t.Fatalf("padding with spaces made a short password long enough: %s", got)
	}
}

// 2.1.2 and 2.1.3: at least 64 characters are allowed, more than 128 refused, nothing
// truncated.
func TestASVS_2_1_2_and_2_1_3_LongPasswordsWholeAndBounded(t *testing.T) {
	e := newEnv(t, withConfig(noThrottle), withSettings(account.Settings{PolicyPreset: "nist"}))
	e.withUser(userID, "user")
	c := e.signedIn(userID, userPW)
	long := strings.Repeat("kawa no sakana ", 8) // 120 characters
	if res := changeOwn(c, userPW, long); res.status != 204 {
		t.Fatalf("a 120-character password: %d %s", res.status, res.body)
	}
	if res := e.client().login(userID, long[:len(long)-1]); res.status != 401 {
		t.Fatal("a prefix of the password signed in: it was truncated")
	}
	if res := e.client().login(userID, long); res.status != 200 {
		t.Fatalf("the long password: %d", res.status)
	}
	if got := policyCodes(t, changeOwn(c, long, strings.Repeat("x", 129))); !strings.Contains(got, "too_long") {
		t.Fatalf("129 characters: %s", got)
	}
}

// 2.1.4 and 2.1.9: any printable Unicode, and no composition rules, under nist.
func TestASVS_2_1_4_and_2_1_9_AnyUnicodeNoCompositionRules(t *testing.T) {
	e := newEnv(t, withConfig(noThrottle), withSettings(account.Settings{PolicyPreset: "nist"}))
	e.withUser(userID, "user")
	c := e.signedIn(userID, userPW)
	current := userPW
	for _, pw := range []string{"やまのうえのくもはしろいですね", "only lowercase words here", "🍣🍣🍣 sushi at the 駅前 stand"} {
		if res := changeOwn(c, current, pw); res.status != 204 {
			t.Fatalf("%q: %d %s", pw, res.status, res.body)
		}
		current = pw
		if res := e.client().login(userID, pw); res.status != 200 {
			t.Fatalf("%q does not sign in: %d", pw, res.status)
		}
	}
}

// 2.1.10: no periodic rotation and no history by default (tenants may choose them).
func TestASVS_2_1_10_NoRotationOrHistoryByDefault(t *testing.T) {
	e := newEnv(t)
	got := e.signedIn(ownerID, ownerPW).do("GET", "/api/admin/tenant", nil).json(t)
	if got["max_age_days"] != 0.0 || got["history_depth"] != 0.0 {
		t.Fatalf("defaults %v", got)
	}
}

// 2.4.1 and 2.4.2: passwords are stored as argon2id with at least OWASP's cost and a
// unique 128-bit salt each.
func TestASVS_2_4_1_and_2_4_2_SaltedArgon2id(t *testing.T) {
	e := newEnv(t)
	e.withUser(userID, "user")
	e.withUser("hanako@example.com", "user") // the same password
	a, b := e.account(userID).PasswordHash, e.account("hanako@example.com").PasswordHash
	if !strings.HasPrefix(a, "$argon2id$v=19$") || a == b || strings.Split(a, "$")[4] == strings.Split(b, "$")[4] {
		t.Fatalf("hashes %q %q", a, b)
	}
	if salt := strings.Split(a, "$")[4]; len(salt) != 22 { // 16 bytes, unpadded base64
		t.Fatalf("salt %q", salt)
	}
}

// 2.5.4: no shared or default accounts: the only account at first is the named owner,
// with the password its operator chose.
func TestASVS_2_5_4_NoDefaultAccounts(t *testing.T) {
	e := newEnv(t)
	list := e.signedIn(ownerID, ownerPW).do("GET", "/api/admin/accounts", nil).json(t)["accounts"].([]any)
	if len(list) != 1 || list[0].(map[string]any)["login_id"] != ownerID {
		t.Fatalf("accounts at start: %v", list)
	}
	for _, id := range []string{"admin@example.com", "root@example.com", "administrator@example.com"} {
		if _, err := account.FindAccount(context.Background(), e.store, id); err == nil {
			t.Fatalf("%s exists", id)
		}
	}
}

// 3.1.1: the session token never appears in a URL or a body, only in its cookie.
func TestASVS_3_1_1_NoSessionTokenInURLOrBody(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	res := c.login(ownerID, ownerPW)
	secret := c.cookie.Value[strings.Index(c.cookie.Value, ".")+1:]
	if strings.Contains(string(res.body), secret) || strings.Contains(res.header.Get("Location"), secret) {
		t.Fatal("the session token is in the answer")
	}
	for _, m := range e.mailbox.Messages("") {
		if strings.Contains(m.Text, secret) {
			t.Fatal("the session token is in an email")
		}
	}
}

// 3.2.1 and 3.2.2: every sign-in makes a new session token of 256 random bits.
func TestASVS_3_2_1_and_3_2_2_NewStrongTokenEachSignIn(t *testing.T) {
	e := newEnv(t)
	seen := map[string]bool{}
	for range 5 {
		c := e.signedIn(ownerID, ownerPW)
		secret := c.cookie.Value[strings.Index(c.cookie.Value, ".")+1:]
		if len(secret) != 43 || seen[secret] { // 32 bytes, base64url
			t.Fatalf("token %q (seen before: %v)", secret, seen[secret])
		}
		seen[secret] = true
	}
}
