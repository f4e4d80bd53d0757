package idp_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"github.com/truora/minidyn/server"
	"golang.org/x/oauth2"

	"github.com/kagiya/kagiya/shared/account"
	"github.com/kagiya/kagiya/shared/faults"
	"github.com/kagiya/kagiya/shared/store/boltstore"
	"github.com/kagiya/kagiya/shared/store/dynamostore"
)

// The token endpoint under a store fault at each of its calls in turn answers without
// the store's or the SDK's text (before, a failed store call came back as the
// error_description of a server_error).
func TestTokenEndpointFaultsShowNothing(t *testing.T) {
	stores := map[string]func(t *testing.T) account.Store{
		"bbolt": func(t *testing.T) account.Store {
			st, err := boltstore.Open(filepath.Join(t.TempDir(), "k.db"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return st
		},
		"minidyn": func(t *testing.T) account.Store {
			srv := httptest.NewServer(server.NewServer())
			t.Cleanup(srv.Close)
			db := dynamodb.New(dynamodb.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL),
				Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")})
			if err := dynamostore.CreateTable(context.Background(), db, "kagiya"); err != nil {
				t.Fatal(err)
			}
			return dynamostore.New(db, "kagiya", 0)
		},
	}
	for name, open := range stores {
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
