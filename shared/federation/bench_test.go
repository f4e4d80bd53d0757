package federation_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/truora/minidyn/server"

	"github.com/kagiya/kagiya/shared/account"
	"github.com/kagiya/kagiya/shared/dnstest"
	"github.com/kagiya/kagiya/shared/federation"
	"github.com/kagiya/kagiya/shared/httpapi"
	"github.com/kagiya/kagiya/shared/mail"
	"github.com/kagiya/kagiya/shared/password"
	"github.com/kagiya/kagiya/shared/store/dynamostore"
)

// instantProvider answers at once, as if the provider took no time: what is measured is
// Kagiya's own part of a federated sign-in.
type instantProvider struct{ who federation.Identity }

func (p instantProvider) Start(_ context.Context, _ federation.Provider, _ string, _ bool) (federation.Request, error) {
	return federation.Request{URL: "https://idp.invalid/authorize", State: "state-" + strings.Repeat("s", 40),
		Nonce: "nonce", Verifier: "verifier"}, nil
}

func (p instantProvider) Finish(context.Context, federation.Provider, string, string, string) (federation.Identity, error) {
	return p.who, nil
}

// benchSite is the API on minidyn through the capacity meter, with production password
// hashing, an owner whose domain is verified, a provider for it (answering at once),
// alice (idp, linked by her first sign-in) and bob (password).
func benchSite(b *testing.B) (base string, meter *dynamostore.Meter) {
	b.Helper()
	srv := httptest.NewServer(server.NewServer())
	b.Cleanup(srv.Close)
	db := dynamodb.New(dynamodb.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL),
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")})
	ctx := context.Background()
	if err := dynamostore.CreateTable(ctx, db, "kagiya"); err != nil {
		b.Fatal(err)
	}
	meter = dynamostore.NewMeter(db, "kagiya")
	st := dynamostore.New(meter, "kagiya", 0)
	dns, err := dnstest.Start()
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(dns.Close)
	tmpl, err := mail.LoadTemplates()
	if err != nil {
		b.Fatal(err)
	}
	mux := http.NewServeMux()
	api := httptest.NewServer(mux)
	b.Cleanup(api.Close)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	svc, err := account.New(account.Deps{Store: st, Mailer: mail.NewMailbox(time.Now), Templates: tmpl, Now: time.Now, Log: log,
		SiteURL: api.URL, SealKey: account.StaticKey(bytes.Repeat([]byte{9}, 32)), Resolver: dnstest.Resolver(dns.Addr),
		Relying: instantProvider{who: federation.Identity{Subject: "sub-alice", Email: "alice@corp.test", EmailVerified: true}}},
		account.Config{Hash: password.Default, LoginPerIPMinute: -1, LoginPerAcctMinute: 1 << 20})
	if err != nil {
		b.Fatal(err)
	}
	if _, _, err := svc.SignIn.Bootstrap(ctx, ownerID, ownerPW, account.Settings{}); err != nil {
		b.Fatal(err)
	}
	mux.Handle("/", httpapi.New(httpapi.Deps{Services: svc, Log: log}))
	k := &kagiya{t: b, url: api.URL, svc: svc, dns: dns}
	k.owner = k.browser()
	if status, out := k.owner.call("POST", "/api/login", map[string]string{"login_id": ownerID, "password": ownerPW}); status != 200 {
		b.Fatalf("owner: %d %v", status, out)
	}
	status, out := k.owner.call("POST", "/api/admin/tenant/domains", map[string]any{"domain": "corp.test"})
	if status != 201 {
		b.Fatalf("claim: %d %v", status, out)
	}
	dns.SetTXT("corp.test", out["txt_value"].(string))
	for _, c := range []struct {
		method, path string
		body         any
		want         int
	}{
		{"POST", "/api/admin/tenant/domains/corp.test/verify", nil, 200},
		{"POST", "/api/admin/identity-providers", map[string]any{"name": "Instant", "issuer": "https://idp.invalid", "client_id": "c",
			"client_secret": "s", "domains": []string{"corp.test"}, "confirm_password": ownerPW}, 201},
		{"POST", "/api/admin/accounts", map[string]any{"login_id": "alice@corp.test", "login_method": "idp"}, 201},
		{"POST", "/api/admin/accounts", map[string]any{"login_id": "bob@corp.test", "password": userPW}, 201},
	} {
		if status, out := k.owner.call(c.method, c.path, c.body); status != c.want {
			b.Fatalf("%s %s: %d %v", c.method, c.path, status, out)
		}
	}
	if err := federatedOnce(api.URL); err != nil { // the first sign-in links alice
		b.Fatal(err)
	}
	return api.URL, meter
}

// federatedOnce is one federated sign-in in a fresh browser: the discovery, the start
// (to the provider) and the callback (to home).
func federatedOnce(base string) error {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := c.Post(base+"/api/login/discover", "application/json", strings.NewReader(`{"login_id":"alice@corp.test"}`))
	if err != nil {
		return err
	}
	var d struct {
		IdP struct {
			StartURL string `json:"start_url"`
		} `json:"idp"`
	}
	json.NewDecoder(res.Body).Decode(&d)
	res.Body.Close()
	if res, err = c.Get(base + d.IdP.StartURL); err != nil {
		return err
	}
	res.Body.Close()
	if res.StatusCode != 302 {
		return &url.Error{Op: "start", URL: d.IdP.StartURL, Err: io.ErrUnexpectedEOF}
	}
	if res, err = c.Get(base + account.IdPCallbackPath + "?code=x&state=state-" + strings.Repeat("s", 40)); err != nil {
		return err
	}
	res.Body.Close()
	if loc := res.Header.Get("Location"); loc != "/home.html" {
		return &url.Error{Op: "callback", URL: loc, Err: io.ErrUnexpectedEOF}
	}
	return nil
}

// BenchmarkFederatedSignIn: Kagiya's own part of a sign-in through the tenant's provider
// (discovery, start, callback with the account found by its link and the session opened),
// the provider answering at once; and, beside it, a password sign-in with production
// argon2id. Units as DynamoDB would bill them (dynamostore.Meter, on minidyn).
func BenchmarkFederatedSignIn(b *testing.B) {
	base, meter := benchSite(b)
	b.Run("idp", func(b *testing.B) {
		meter.Reset()
		n := 0
		for b.Loop() {
			if err := federatedOnce(base); err != nil {
				b.Fatal(err)
			}
			n++
		}
		r, w := meter.Units()
		b.ReportMetric(r/float64(n), "RU/op")
		b.ReportMetric(w/float64(n), "WU/op")
	})
	b.Run("password", func(b *testing.B) {
		meter.Reset()
		n := 0
		for b.Loop() {
			res, err := http.Post(base+"/api/login", "application/json", strings.NewReader(`{"login_id":"bob@corp.test","password":"`+userPW+`"}`))
			if err != nil {
				b.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != 200 {
				b.Fatalf("password sign-in: %d", res.StatusCode)
			}
			n++
		}
		r, w := meter.Units()
		b.ReportMetric(r/float64(n), "RU/op")
		b.ReportMetric(w/float64(n), "WU/op")
	})
}
