package httpapi_test

import (
	"strings"
	"testing"
)

// Third security review (issue 23): a line break in a tenant's (or client's, or
// credential's) name cut an email's subject and put the rest above the greeting. Every
// name an email or a page shows refuses CR, LF, other C0 and C1 controls and invisible
// format characters (bidi controls) with 422 control_characters, and writes nothing.
func TestNamesWithControlCharactersAreRefused(t *testing.T) {
	e := newEnv(t, withConfig(noThrottle))
	owner := e.signedIn(ownerID, ownerPW)
	hostile := map[string]string{
		"CR LF":         "Example\r\nBcc: victim@example.org",
		"LF":            "Example\nSubject: urgent",
		"tab":           "Example\tKK",
		"NUL":           "Example\x00KK",
		"C1 NEL":        "Example\u0085KK",
		"C1 CSI":        "Example\u009bKK",
		"bidi override": "Example\u202eKK",
		"bidi isolate":  "Example\u2066KK",
		"zero width":    "Exa\u200bmple",
	}
	before := owner.do("GET", "/api/admin/tenant", nil).json(t)["name"]
	e.withUser(userID, "user")
	c := e.signedIn(userID, userPW)
	for what, name := range hostile {
		refused := func(where string, res response) {
			t.Helper()
			if res.status != 422 || res.code(t) != "control_characters" || !strings.Contains(string(res.body), `"field":"name"`) {
				t.Errorf("%s, %s: %d %s", where, what, res.status, res.body)
			}
		}
		set := owner.do("GET", "/api/admin/tenant", nil).json(t)
		set["name"], set["confirm_password"] = name, ownerPW
		refused("tenant", owner.do("PUT", "/api/admin/tenant", set))
		refused("service credential", owner.do("POST", "/api/admin/service-credentials", map[string]string{"name": name, "confirm_password": ownerPW}))
		refused("OIDC client", owner.do("POST", "/api/admin/oidc-clients", map[string]any{"name": name,
			"redirect_uris": []string{"https://wiki.example.com/callback"}, "type": "confidential", "confirm_password": ownerPW}))
		refused("app password", c.do("POST", "/api/me/app-passwords", map[string]string{"name": name, "current_password": userPW}))
	}
	if after := owner.do("GET", "/api/admin/tenant", nil).json(t)["name"]; after != before {
		t.Fatalf("the tenant's name changed to %q", after)
	}
	for _, path := range []string{"/api/admin/service-credentials", "/api/admin/oidc-clients"} {
		if body := string(owner.do("GET", path, nil).body); strings.Contains(body, "Example") {
			t.Fatalf("%s holds a refused name: %s", path, body)
		}
	}
	if body := string(c.do("GET", "/api/me/app-passwords", nil).body); strings.Contains(body, "Example") {
		t.Fatalf("app passwords hold a refused name: %s", body)
	}
	// Ordinary names, Japanese included, still pass.
	if res := owner.do("POST", "/api/admin/service-credentials", map[string]string{"name": "メールサーバー (Dovecot)", "confirm_password": ownerPW}); res.status != 201 {
		t.Fatalf("an ordinary name: %d %s", res.status, res.body)
	}
}
