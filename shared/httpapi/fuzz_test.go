package httpapi_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"
)

// fuzzBody sends body to path as JSON (signed in as the owner when signedIn) and fails
// on any 5xx: malformed or hostile input is always a clear 4xx.
func fuzzBody(f *testing.F, method, path string, signedIn bool, seeds ...string) {
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	e := newEnv(f, withConfig(noThrottle))
	var c *client
	if signedIn {
		c = e.signedIn(ownerID, ownerPW)
	} else {
		c = e.client()
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest(method, path, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.RemoteAddr = "192.0.2.10:5555"
		if c.cookie != nil {
			req.AddCookie(c.cookie)
			req.Header.Set("X-CSRF-Token", c.csrf)
		}
		rec := httptest.NewRecorder()
		e.handler.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s %s %q: %d %s", method, path, body, rec.Code, rec.Body)
		}
		if rec.Code == http.StatusOK && method == "POST" && path == "/api/login" && !bytes.Contains(rec.Body.Bytes(), []byte(`"result"`)) {
			t.Fatalf("a 200 sign-in without a result: %s", rec.Body)
		}
	})
}

func FuzzLoginBody(f *testing.F) {
	fuzzBody(f, "POST", "/api/login", false,
		`{"login_id":"owner@example.com","password":"Kagi-2026-Tokyo!"}`,
		`{"login_id":"owner@example.com","password":"x"}`, `{"login_id":1}`, `{}`, `[]`, `null`,
		`{"login_id":"\u0000@example.com","password":"\ud800"}`, `{"login_id":"a@b.c","password":"p","extra":1}`)
}

func FuzzCreateAccountBody(f *testing.F) {
	fuzzBody(f, "POST", "/api/admin/accounts", true,
		`{"login_id":"taro@example.com","role":"user","password":"Mori-no-Kuma-42!","quota_gb":5,"comment":"営業部"}`,
		`{"login_id":"taro@example.com","role":"god"}`, `{"login_id":"x","quota_gb":-1}`, `{"invite":true}`,
		`{"login_id":"ta\u200bro@example.com","comment":"\u202e"}`)
}

func FuzzUpdateAccountBody(f *testing.F) {
	fuzzBody(f, "PATCH", "/api/admin/accounts/owner@example.com", true,
		`{"comment":"x"}`, `{"role":"user","confirm_password":"x"}`, `{"password":"Kari-Pass-2026!","confirm_password":"Kagi-2026-Tokyo!"}`,
		`{"disabled":true,"confirm_password":"Kagi-2026-Tokyo!"}`, `{"quota_gb":1e99}`)
}

func FuzzTenantBody(f *testing.F) {
	fuzzBody(f, "PUT", "/api/admin/tenant", true,
		`{"name":"x","domains":["example.com"],"policy_preset":"nist","lockout_threshold":10,"unlock_link_hours":1,"reset_link_minutes":5,"language":"en","confirm_password":"Kagi-2026-Tokyo!"}`,
		`{"domains":["bad domain"]}`, `{"lockout_scope":"weird"}`, `{"domains":null,"name":""}`)
}
