package idp_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/kagiya/kagiya/shared/account"
	"github.com/kagiya/kagiya/shared/faults"
	"github.com/kagiya/kagiya/shared/faults/faulttest"
)

// The token endpoint under a store fault at each of its calls in turn answers without
// the store's or the SDK's text (before, a failed store call came back as the
// error_description of a server_error).
func TestTokenEndpointFaultsShowNothing(t *testing.T) {
	for name, open := range faulttest.Stores() {
		t.Run(name, func(t *testing.T) {
			plan := &faults.Plan{}
			s := newSite(t, faults.NewStore(open(t), plan))
			ctx := context.Background()
			owner := s.owner()
			s.user(owner, "taro@example.com")
			clientID, clientSecret := s.client(owner, "confidential", true)
			provider, err := gooidc.NewProvider(ctx, s.url)
			if err != nil {
				t.Fatal(err)
			}
			conf := oauth2.Config{ClientID: clientID, ClientSecret: clientSecret, Endpoint: provider.Endpoint(), RedirectURL: redirect,
				Scopes: []string{gooidc.ScopeOpenID, "email", gooidc.ScopeOfflineAccess}}
			taro := s.browser()
			taro.signIn("taro@example.com", userPW, "")
			faulted := 0
			for _, method := range []string{"PeekToken", "ConsumeToken", "GetCredential", "GetAccount", "GetAccountEventually",
				"CreateToken", "AppendAudit", "ListCredentials", "Secret", "GetTenant"} {
				pkce := oauth2.GenerateVerifier()
				code := taro.authorize(conf.AuthCodeURL("st", oauth2.S256ChallengeOption(pkce))).Query().Get("code")
				if code == "" {
					t.Fatalf("no code before failing %s", method)
				}
				plan.Fail(method, faults.Throttling("DynamoDB", "GetItem"))
				form := strings.NewReader("grant_type=authorization_code&code=" + code + "&redirect_uri=" + redirect + "&code_verifier=" + pkce)
				req, _ := http.NewRequest("POST", provider.Endpoint().TokenURL, form)
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.SetBasicAuth(clientID, clientSecret)
				res, err := http.DefaultClient.Do(req)
				plan.Clear()
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(res.Body)
				res.Body.Close()
				if res.StatusCode != 200 {
					faulted++
				}
				for _, leak := range []string{"Throttl", "DynamoDB", "GetItem", method, "exceeds"} {
					if strings.Contains(string(body), leak) {
						t.Fatalf("%s failing: %d %s shows %q", method, res.StatusCode, body, leak)
					}
				}
			}
			if faulted == 0 {
				t.Fatal("no fault reached the token endpoint")
			}
		})
	}
}

// The code exchange and the refresh, with a throttled store write at each of their writes
// in turn, on bbolt and minidyn: the answer is the flow's own or a server error with
// nothing of the store in it, and then the same request succeeds once the fault clears
// (no code or refresh token used up by a failure).
func TestTokenGrantsUnderFaultAtEachWrite(t *testing.T) {
	// prepare makes a site with a signed-in person and a client, and returns the grant's
	// request (the same form each time it is sent).
	type grant func(t *testing.T, s *site) (send func() (int, string))
	token := func(s *site, clientID, secret string, form url.Values) (int, string) {
		req, _ := http.NewRequest("POST", s.url+"/api/oidc/token", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(clientID, secret)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(body)
	}
	codeFor := func(t *testing.T, s *site) (clientID, secret string, form url.Values) {
		owner := s.owner()
		s.user(owner, "taro@example.com")
		clientID, secret = s.client(owner, "confidential", true)
		taro := s.browser()
		taro.signIn("taro@example.com", userPW, "")
		pkce := oauth2.GenerateVerifier()
		conf := oauth2.Config{ClientID: clientID, ClientSecret: secret, RedirectURL: redirect,
			Endpoint: oauth2.Endpoint{AuthURL: s.url + "/api/oidc/authorize", TokenURL: s.url + "/api/oidc/token"},
			Scopes:   []string{gooidc.ScopeOpenID, "email", gooidc.ScopeOfflineAccess}}
		code := taro.authorize(conf.AuthCodeURL("st", oauth2.S256ChallengeOption(pkce))).Query().Get("code")
		if code == "" {
			t.Fatal("no code")
		}
		return clientID, secret, url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirect}, "code_verifier": {pkce}}
	}
	grants := map[string]grant{
		"code": func(t *testing.T, s *site) func() (int, string) {
			id, secret, form := codeFor(t, s)
			return func() (int, string) { return token(s, id, secret, form) }
		},
		"refresh": func(t *testing.T, s *site) func() (int, string) {
			id, secret, form := codeFor(t, s)
			status, body := token(s, id, secret, form)
			var out struct {
				Refresh string `json:"refresh_token"`
			}
			if err := json.Unmarshal([]byte(body), &out); status != 200 || err != nil || out.Refresh == "" {
				t.Fatalf("tokens: %d %s", status, body)
			}
			refresh := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {out.Refresh}}
			return func() (int, string) { return token(s, id, secret, refresh) }
		},
	}
	for name, prepare := range grants {
		for storeName, open := range faulttest.Stores() {
			t.Run(name+"/"+storeName, func(t *testing.T) {
				t.Parallel()
				faulttest.EachWrite(t, open, func(status int) bool { return status == 200 },
					func(t *testing.T, st account.Store) (func() faulttest.Answer, func(*testing.T)) {
						send := prepare(t, newSite(t, st))
						return func() faulttest.Answer { status, body := send(); return faulttest.Answer{Status: status, Body: body} }, nil
					})
			})
		}
	}
}
