package idp_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/kagiya/kagiya/shared/faults"
	"github.com/kagiya/kagiya/shared/idp"
)

func init() {
	cases["DiscoveryAdvertisesWhatWorks"] = discoveryAdvertisesWhatWorks
	cases["ResponsesToTheLetter"] = responsesToTheLetter
	cases["CORSForRegisteredOrigins"] = corsForRegisteredOrigins
	cases["EndSessionValidatesFirst"] = endSessionValidatesFirst
	cases["AuthorizeAndTokenLimits"] = authorizeAndTokenLimits
	cases["TokenAuthenticatesTheClientFirst"] = tokenAuthenticatesTheClientFirst
}

// send makes one request and returns the response with its body read.
func send(t *testing.T, c *http.Client, method, u string, header http.Header, body string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(method, u, strings.NewReader(body))
	for k, v := range header {
		req.Header[k] = v
	}
	if c == nil {
		c = http.DefaultClient
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(res.Body)
	res.Body.Close()
	return res, string(data)
}

var form = http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}

// Discovery advertises only what works: no device endpoint, only response_type code in
// the query, only the grants that work, and every endpoint it names answers.
func discoveryAdvertisesWhatWorks(t *testing.T, s *site) {
	res, body := send(t, nil, "GET", s.url+idp.Discovery, nil, "")
	var d map[string]any
	if err := json.Unmarshal([]byte(body), &d); err != nil || res.StatusCode != 200 {
		t.Fatalf("discovery: %d %v", res.StatusCode, err)
	}
	want := map[string][]string{"response_types_supported": {"code"}, "response_modes_supported": {"query"},
		"grant_types_supported": {"authorization_code", "refresh_token"}, "code_challenge_methods_supported": {"S256"}}
	for k, v := range want {
		if got := toStrings(d[k]); !slices.Equal(got, v) {
			t.Errorf("%s: %v, want %v", k, got, v)
		}
	}
	for _, k := range []string{"device_authorization_endpoint", "check_session_iframe", "request_object_signing_alg_values_supported"} {
		if _, ok := d[k]; ok {
			t.Errorf("discovery advertises %s: %v", k, d[k])
		}
	}
	if d["request_uri_parameter_supported"] != false || d["request_parameter_supported"] == true {
		t.Errorf("request objects advertised: %v %v", d["request_uri_parameter_supported"], d["request_parameter_supported"])
	}
	for _, k := range []string{"authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri", "revocation_endpoint",
		"introspection_endpoint", "end_session_endpoint"} {
		u, _ := d[k].(string)
		if !strings.HasPrefix(u, s.url+idp.Prefix) {
			t.Fatalf("%s: %q", k, u)
		}
		method := "GET"
		if k == "token_endpoint" || k == "revocation_endpoint" || k == "introspection_endpoint" {
			method = "POST"
		}
		stay := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		if res, _ := send(t, stay, method, u, form, ""); res.StatusCode == 404 || res.StatusCode == 405 {
			t.Errorf("%s (%s %s) answers %d", k, method, u, res.StatusCode)
		}
	}
}

// Token responses are not to be cached; UserInfo's 401s say WWW-Authenticate; a client
// that fails to authenticate gets JSON; a 5xx carries no store or SDK text; form_post is
// refused in the query.
func responsesToTheLetter(t *testing.T, s *site) {
	owner := s.owner()
	taro := s.taro(owner)
	app := s.rp(owner)
	code, pkce := app.code(taro)
	token := func(v url.Values) (*http.Response, string) {
		h := form.Clone()
		h.Set("Authorization", "Basic "+basic(app.conf.ClientID, app.conf.ClientSecret))
		return send(t, nil, "POST", s.url+idp.Prefix+"token", h, v.Encode())
	}
	res, body := token(url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirect}, "code_verifier": {pkce}})
	if res.StatusCode != 200 || res.Header.Get("Cache-Control") != "no-store" || res.Header.Get("Pragma") != "no-cache" {
		t.Fatalf("token response: %d %v", res.StatusCode, res.Header)
	}
	var tok map[string]any
	json.Unmarshal([]byte(body), &tok)
	res, _ = token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"not-a-token"}})
	if res.StatusCode != 400 || res.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("token error: %d %v", res.StatusCode, res.Header)
	}

	res, body = send(t, nil, "GET", s.url+idp.Prefix+"userinfo", nil, "")
	if res.StatusCode != 401 || !strings.HasPrefix(res.Header.Get("WWW-Authenticate"), "Bearer") || !strings.Contains(body, `"error"`) {
		t.Fatalf("userinfo without a token: %d %v %s", res.StatusCode, res.Header, body)
	}
	res, body = send(t, nil, "GET", s.url+idp.Prefix+"userinfo", http.Header{"Authorization": {"Bearer forged"}}, "")
	if res.StatusCode != 401 || !strings.Contains(res.Header.Get("WWW-Authenticate"), `error="invalid_token"`) || !strings.Contains(body, "invalid_token") {
		t.Fatalf("userinfo with a bad token: %d %v %s", res.StatusCode, res.Header, body)
	}

	h := form.Clone()
	h.Set("Authorization", "Basic "+basic(app.conf.ClientID, "wrong-secret"))
	res, body = send(t, nil, "POST", s.url+idp.Prefix+"introspect", h, url.Values{"token": {"x"}}.Encode())
	var e map[string]any
	if res.StatusCode != 401 || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") ||
		json.Unmarshal([]byte(body), &e) != nil || e["error"] != "invalid_client" || res.Header.Get("WWW-Authenticate") == "" {
		t.Fatalf("introspection by a client with a wrong secret: %d %v %s", res.StatusCode, res.Header, body)
	}

	// The store fails: the answers are 500 server_error, with nothing of the failure.
	s.faults.Fail("PeekToken", faults.Throttling("DynamoDB", "GetItem"))
	access, _ := tok["access_token"].(string)
	res, body = send(t, nil, "GET", s.url+idp.Prefix+"userinfo", http.Header{"Authorization": {"Bearer " + access}}, "")
	res2, body2 := token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok["refresh_token"].(string)}})
	s.faults.Clear()
	for _, r := range []struct {
		status int
		body   string
	}{{res.StatusCode, body}, {res2.StatusCode, body2}} {
		if r.status != 500 || strings.Contains(r.body, "DynamoDB") || strings.Contains(r.body, "Throttl") || !strings.Contains(r.body, "server_error") {
			t.Fatalf("a store failure answered %d %s", r.status, r.body)
		}
	}

	// form_post would need a page with a script the CSP forbids: it is refused, in the query.
	pkce2 := "v" + strings.Repeat("x", 50)
	end := taro.authorize(app.conf.AuthCodeURL("st") + "&response_mode=form_post&code_challenge_method=S256&code_challenge=" + challenge(pkce2))
	if !strings.HasPrefix(end.String(), redirect) || end.Query().Get("error") != "invalid_request" || end.Query().Get("code") != "" {
		t.Fatalf("form_post ended at %s", end)
	}
}

// CORS answers only the origins of registered clients' redirect URIs, never with
// credentials, and stops when the client is removed.
func corsForRegisteredOrigins(t *testing.T, s *site) {
	owner := s.owner()
	app := s.rp(owner)
	registered := "http://127.0.0.1:9" // redirect's origin
	preflight := func(origin string) *http.Response {
		res, _ := send(t, nil, "OPTIONS", s.url+idp.Prefix+"token", http.Header{"Origin": {origin},
			"Access-Control-Request-Method": {"POST"}, "Access-Control-Request-Headers": {"authorization"}}, "")
		return res
	}
	res := preflight(registered)
	if res.Header.Get("Access-Control-Allow-Origin") != registered || res.Header.Get("Access-Control-Allow-Credentials") != "" {
		t.Fatalf("preflight from a registered origin: %v", res.Header)
	}
	for _, o := range []string{"https://evil.example", "null", "http://127.0.0.1:9.evil.example"} {
		if res := preflight(o); res.Header.Get("Access-Control-Allow-Origin") != "" {
			t.Fatalf("preflight from %s: %v", o, res.Header)
		}
		res, _ := send(t, nil, "GET", s.url+idp.Prefix+"keys", http.Header{"Origin": {o}}, "")
		if res.Header.Get("Access-Control-Allow-Origin") != "" || res.Header.Get("Access-Control-Allow-Credentials") != "" {
			t.Fatalf("GET from %s: %v", o, res.Header)
		}
	}
	if status, _ := owner.call("DELETE", "/api/admin/oidc-clients/"+app.conf.ClientID, map[string]string{"confirm_password": ownerPW}); status != 204 {
		t.Fatalf("delete client: %d", status)
	}
	if res := preflight(registered); res.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("preflight after the client was removed: %v", res.Header)
	}
}

// end_session checks the request before it ends anything, and lands on the sign-in page
// without a redirect URI.
func endSessionValidatesFirst(t *testing.T, s *site) {
	owner := s.owner()
	taro := s.taro(owner)
	app := s.rp(owner)
	_, out := app.exchange(app.code(taro))
	idToken, _ := out["id_token"].(string)
	stay := &http.Client{Jar: taro.c.Jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	bad := s.url + idp.Prefix + "end_session?" + url.Values{"id_token_hint": {idToken}, "post_logout_redirect_uri": {"https://evil.example/"}}.Encode()
	res, _ := send(t, stay, "GET", bad, nil, "")
	if res.StatusCode != 400 || res.Header.Get("Location") != "" {
		t.Fatalf("end_session with an unregistered redirect: %d %v", res.StatusCode, res.Header)
	}
	if status, _ := taro.call("GET", "/api/me", nil); status != 200 {
		t.Fatalf("a refused end_session ended the session: %d", status)
	}
	res, _ = send(t, stay, "GET", s.url+idp.Prefix+"end_session?"+url.Values{"id_token_hint": {"forged.token.x"}}.Encode(), nil, "")
	if res.StatusCode != 400 {
		t.Fatalf("end_session with a forged hint: %d", res.StatusCode)
	}
	if status, _ := taro.call("GET", "/api/me", nil); status != 200 {
		t.Fatalf("a forged hint ended the session: %d", status)
	}
	res, _ = send(t, stay, "GET", s.url+idp.Prefix+"end_session?"+url.Values{"id_token_hint": {idToken}}.Encode(), nil, "")
	if res.StatusCode != 302 || res.Header.Get("Location") != idp.SignedOutPath {
		t.Fatalf("end_session without a redirect URI: %d %v", res.StatusCode, res.Header)
	}
	if status, _ := taro.call("GET", "/api/me", nil); status != 401 {
		t.Fatalf("the session outlived a valid end_session: %d", status)
	}
}

// Per-address limits on /authorize and /token answer 429 rate_limited with Retry-After.
func authorizeAndTokenLimits(t *testing.T, s *site) {
	for _, c := range []struct {
		method, path string
		limit        int
	}{{"GET", "authorize?client_id=nobody", idp.AuthorizePerIPMinute}, {"POST", "token", idp.TokenPerIPMinute}} {
		var last *http.Response
		var body string
		for i := 0; i <= c.limit; i++ {
			last, body = send(t, nil, c.method, s.url+idp.Prefix+c.path, form, "grant_type=refresh_token&refresh_token=x&client_id=nobody")
			if last.StatusCode == 429 && i < c.limit {
				t.Fatalf("%s: 429 after %d requests, limit %d", c.path, i+1, c.limit)
			}
		}
		var e map[string]any
		json.Unmarshal([]byte(body), &e)
		if last.StatusCode != 429 || last.Header.Get("Retry-After") == "" || e["error"] != "rate_limited" {
			t.Fatalf("%s past the limit: %d %v %s", c.path, last.StatusCode, last.Header, body)
		}
	}
}

func basic(id, secret string) string {
	req, _ := http.NewRequest("GET", "/", nil)
	req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	return strings.TrimPrefix(req.Header.Get("Authorization"), "Basic ")
}

func challenge(verifier string) string { return oauth2.S256ChallengeFromVerifier(verifier) }

// The token endpoint authenticates the client before it reads the grant (RFC 6749 5.2):
// an unknown client, a wrong secret or none at all is 401 invalid_client with
// WWW-Authenticate, for the code and the refresh grants alike, whatever the code or
// refresh token (or the client's right to refresh) is; a wrong secret for a known client
// is audited. The right secret with a bad code is still invalid_grant.
func tokenAuthenticatesTheClientFirst(t *testing.T, s *site) {
	owner := s.owner()
	app := s.rp(owner)
	noRefresh, noRefreshSecret := s.client(owner, "confidential", false)
	grants := map[string]url.Values{
		"code":    {"grant_type": {"authorization_code"}, "code": {"x"}, "redirect_uri": {redirect}, "code_verifier": {strings.Repeat("v", 43)}},
		"refresh": {"grant_type": {"refresh_token"}, "refresh_token": {"not-a-token"}},
	}
	type creds struct{ id, secret string }
	clients := map[string]creds{
		"unknown client":                   {"foo", "bar"},
		"unknown client of the id's shape": {clientIDPrefix(t, s) + "nope", "bar"},
		"wrong secret":                     {app.conf.ClientID, "wrong-secret"},
		"no secret":                        {app.conf.ClientID, ""},
		"wrong secret, no refresh allowed": {noRefresh, noRefreshSecret + "x"},
	}
	for gname, grant := range grants {
		for cname, c := range clients {
			for _, how := range []string{"basic", "post"} {
				v := url.Values{}
				for k, vs := range grant {
					v[k] = vs
				}
				h := form.Clone()
				if how == "basic" {
					h.Set("Authorization", "Basic "+basic(c.id, c.secret))
				} else {
					v.Set("client_id", c.id)
					if c.secret != "" {
						v.Set("client_secret", c.secret)
					}
				}
				res, body := send(t, nil, "POST", s.url+idp.Prefix+"token", h, v.Encode())
				var e map[string]any
				if res.StatusCode != 401 || json.Unmarshal([]byte(body), &e) != nil || e["error"] != "invalid_client" ||
					res.Header.Get("WWW-Authenticate") == "" || res.Header.Get("Cache-Control") != "no-store" {
					t.Errorf("%s grant, %s (%s): %d %s (WWW-Authenticate %q), want 401 invalid_client", gname, cname, how, res.StatusCode, body,
						res.Header.Get("WWW-Authenticate"))
				}
			}
		}
	}
	if !s.audit("oidc.token", "failed:client authentication") {
		t.Error("a wrong client secret at the token endpoint is not audited")
	}
	for gname, grant := range grants {
		status, out := app.post("token", app.conf.ClientID, app.conf.ClientSecret, grant)
		if status != 400 || out["error"] != "invalid_grant" {
			t.Errorf("%s grant, the right secret, a bad grant: %d %v, want 400 invalid_grant", gname, status, out)
		}
	}
}
