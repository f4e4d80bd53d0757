package federation_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/pquerna/otp/totp"
	"github.com/truora/minidyn/server"

	"github.com/kagiya/kagiya/shared/account"
	"github.com/kagiya/kagiya/shared/dnstest"
	"github.com/kagiya/kagiya/shared/federation"
	"github.com/kagiya/kagiya/shared/httpapi"
	"github.com/kagiya/kagiya/shared/idp"
	"github.com/kagiya/kagiya/shared/mail"
	"github.com/kagiya/kagiya/shared/passkey"
	"github.com/kagiya/kagiya/shared/passkey/passkeytest"
	"github.com/kagiya/kagiya/shared/password"
	"github.com/kagiya/kagiya/shared/store/boltstore"
	"github.com/kagiya/kagiya/shared/store/dynamostore"
)

const (
	ownerID = "owner@corp.test"
	ownerPW = "Kagi-2026-Tokyo!"
	userPW  = "Mori-no-Kuma-42!"
)

// kagiya is one Kagiya: the API with its OpenID Connect provider, as the local server
// serves them, on host (127.0.0.1 or localhost: two Kagiyas on one host would share a
// cookie jar's cookies, which ignore ports).
type kagiya struct {
	t       testing.TB
	url     string
	st      account.Store
	svc     *account.Flows
	mailbox *mail.Mailbox
	dns     *dnstest.Server
	owner   *browser
	// later moves the Kagiya's own clock on (not its relying party's: skew).
	later *atomic.Int64
	// authTime, if set, changes the auth_time its relying party reads from an ID token,
	// as a provider that ignores max_age would send it.
	authTime atomic.Pointer[func(time.Time) time.Time]
}

// forgetfulRP is the relying party of a kagiya whose providers' auth_time k.authTime
// may change.
type forgetfulRP struct {
	account.Relying
	k *kagiya
}

func (f forgetfulRP) Finish(ctx context.Context, p account.IdPClient, code, verifier, nonce string) (account.IdPIdentity, error) {
	id, err := f.Relying.Finish(ctx, p, code, verifier, nonce)
	if change := f.k.authTime.Load(); change != nil && err == nil {
		id.AuthTime = (*change)(id.AuthTime)
	}
	return id, err
}

// newKagiya starts a Kagiya on st whose tenant of ownerID has its domain verified.
// skew moves only its relying party's clock (the ID tokens' expiry check).
func newKagiya(t *testing.T, st account.Store, host string, dns *dnstest.Server, skew *atomic.Int64) *kagiya {
	t.Helper()
	tmpl, err := mail.LoadTemplates()
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	base := strings.Replace(srv.URL, "127.0.0.1", host, 1)
	mailbox := mail.NewMailbox(time.Now)
	later := new(atomic.Int64)
	now := func() time.Time { return time.Now().Add(time.Duration(later.Load())) }
	rp := federation.New(federation.Config{AllowLoopback: true, Timeout: 5 * time.Second,
		Now: func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }})
	k := &kagiya{t: t, url: base, st: st, mailbox: mailbox, dns: dns, later: later}
	deps := account.Deps{Store: st, Mailer: mailbox, Templates: tmpl, Now: now, Log: log,
		SiteURL: base, SealKey: account.StaticKey(bytes.Repeat([]byte{9}, 32)), Resolver: dnstest.Resolver(dns.Addr),
		Relying: forgetfulRP{Relying: rp, k: k}, LoopbackIssuers: true}
	if host == "localhost" { // browsers and WebAuthn take no IP address as a passkey's site
		if deps.RP, err = passkey.New(base, account.SecretKey(st, account.PasskeyKeyName), now); err != nil {
			t.Fatal(err)
		}
	}
	svc, err := account.New(deps,
		account.Config{Hash: password.Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32}, LoginPerIPMinute: -1})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, _, err := svc.SignIn.Bootstrap(ctx, ownerID, ownerPW, account.Settings{}); err != nil {
		t.Fatal(err)
	}
	provider, err := idp.New(ctx, idp.Deps{Issuer: base, Integrations: svc.Integrations, Sessions: svc.SignIn, Store: st,
		SessionCookies: []string{httpapi.CookieName}, Now: time.Now, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	mux.Handle("/", httpapi.New(httpapi.Deps{Services: svc, Log: log, OIDC: provider}))
	k.svc = svc
	k.owner = k.browser()
	k.owner.signIn(ownerID, ownerPW)
	k.verifyDomain("corp.test")
	return k
}

// verifyDomain proves a domain for the owner's tenant through DNS, as an owner does.
func (k *kagiya) verifyDomain(domain string) {
	k.t.Helper()
	status, out := k.owner.call("POST", "/api/admin/tenant/domains", map[string]any{"domain": domain})
	if status != 201 {
		k.t.Fatalf("claim %s: %d %v", domain, status, out)
	}
	k.dns.SetTXT(domain, out["txt_value"].(string))
	if status, out := k.owner.call("POST", "/api/admin/tenant/domains/"+domain+"/verify", nil); status != 200 {
		k.t.Fatalf("verify %s: %d %v", domain, status, out)
	}
}

// createUser makes an account of the owner's tenant.
func (k *kagiya) createUser(loginID, method string, extra map[string]any) map[string]any {
	k.t.Helper()
	body := map[string]any{"login_id": loginID, "role": "user", "login_method": method}
	if method == "password" {
		body["password"] = userPW
	}
	for key, v := range extra {
		body[key] = v
	}
	status, out := k.owner.call("POST", "/api/admin/accounts", body)
	if status != 201 {
		k.t.Fatalf("create %s: %d %v", loginID, status, out)
	}
	return out
}

type browser struct {
	k    *kagiya
	c    *http.Client
	csrf string
	// hold stops at the provider's redirect to the callback, so that a test can take
	// the callback's URL elsewhere.
	hold bool
}

// browser is a cookie jar that follows redirects until it reaches a page of the site
// (the sign-in page or home, where the tests look at where it landed).
func (k *kagiya) browser() *browser {
	jar, _ := cookiejar.New(nil)
	b := &browser{k: k}
	b.c = &http.Client{Jar: jar, CheckRedirect: func(req *http.Request, _ []*http.Request) error {
		if strings.HasSuffix(req.URL.Path, ".html") || b.hold && req.URL.Path == account.IdPCallbackPath {
			return http.ErrUseLastResponse
		}
		return nil
	}}
	return b
}

func (b *browser) call(method, path string, body any) (int, map[string]any) {
	b.k.t.Helper()
	var r io.Reader
	if body != nil {
		data, _ := json.Marshal(body)
		r = bytes.NewReader(data)
	}
	req, _ := http.NewRequest(method, b.k.url+path, r)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("X-CSRF-Token", b.csrf)
	res, err := b.c.Do(req)
	if err != nil {
		b.k.t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	json.NewDecoder(res.Body).Decode(&out)
	if c, ok := out["csrf_token"].(string); ok {
		b.csrf = c
	}
	return res.StatusCode, out
}

func (b *browser) signIn(id, pw string) {
	b.k.t.Helper()
	if status, out := b.call("POST", "/api/login", map[string]string{"login_id": id, "password": pw}); status != 200 || out["result"] != "ok" {
		b.k.t.Fatalf("sign in %s: %d %v", id, status, out)
	}
}

// get fetches u and returns the last response (its body read into page) and, if it
// stopped at a redirect, where that pointed.
func (b *browser) get(u string) (*http.Response, *url.URL, string) {
	b.k.t.Helper()
	res, err := b.c.Get(u)
	if err != nil {
		b.k.t.Fatal(err)
	}
	return b.finish(res)
}

func (b *browser) finish(res *http.Response) (*http.Response, *url.URL, string) {
	defer res.Body.Close()
	page, _ := io.ReadAll(res.Body)
	var loc *url.URL
	if l := res.Header.Get("Location"); l != "" {
		loc, _ = res.Request.URL.Parse(l)
	}
	return res, loc, string(page)
}

// upstream is a provider the tests sign in at: a person is given by its key.
type upstream interface {
	name() string
	issuer() string
	client() (id, secret string)
	// signIn takes b from the provider's first answer (res) to where the provider
	// sends it back, as person.
	signIn(b *browser, res *http.Response, page, person string) (*http.Response, *url.URL, string)
}

// landed checks where a federated sign-in ended: home, or the sign-in page with code.
func landed(t *testing.T, loc *url.URL, code string) {
	t.Helper()
	if loc == nil {
		t.Fatalf("no redirect to the site; want %q", code)
	}
	if code == "" {
		if loc.Path != "/home.html" {
			t.Fatalf("landed at %s, want /home.html", loc)
		}
		return
	}
	if loc.Path != "/index.html" || loc.Query().Get("error") != code {
		t.Fatalf("landed at %s, want /index.html?error=%s", loc, code)
	}
}

// start discovers loginID's provider and follows its start URL to the provider.
func (b *browser) start(loginID string) (*http.Response, *url.URL, string) {
	b.k.t.Helper()
	return b.startTo(loginID, "")
}

// startTo is start with the start URL's to (a re-authentication: "security").
func (b *browser) startTo(loginID, to string) (*http.Response, *url.URL, string) {
	b.k.t.Helper()
	status, out := b.call("POST", "/api/login/discover", map[string]any{"login_id": loginID})
	if status != 200 || out["idp"] == nil {
		b.k.t.Fatalf("discover %s: %d %v", loginID, status, out)
	}
	start := out["idp"].(map[string]any)["start_url"].(string)
	if to != "" {
		start += "&to=" + url.QueryEscape(to)
	}
	return b.get(b.k.url + start)
}

// reauth signs person in again at up in b, landing on the security page: up must show
// its login page (oidc-provider's form, the upstream Kagiya's sign-in page) whatever
// its own session.
func (s *setting) reauth(b *browser, person string) *url.URL {
	s.k.t.Helper()
	return s.reauthTo(b, person, "security")
}

// reauthTo is reauth landing on to's page.
func (s *setting) reauthTo(b *browser, person, to string) *url.URL {
	s.k.t.Helper()
	res, _, page := b.startTo(person+"@corp.test", to)
	_, loc, _ := s.up.signIn(b, res, page, s.key(person))
	return loc
}

// federatedSignIn signs person in at up, starting from loginID's discovery.
func (b *browser) federatedSignIn(up upstream, loginID, person string) *url.URL {
	b.k.t.Helper()
	res, loc, page := b.start(loginID)
	if loc != nil && loc.Host == mustURL(b.k.t, b.k.url).Host {
		return loc // refused before the provider
	}
	_, loc, _ = up.signIn(b, res, page, person)
	return loc
}

// me is who the browser is signed in as at k.
func (b *browser) me() map[string]any {
	b.k.t.Helper()
	status, out := b.call("GET", "/api/me", nil)
	if status != 200 {
		b.k.t.Fatalf("me: %d %v", status, out)
	}
	return out
}

// --- oidc-provider (node) ---

type nodeOP struct {
	t        *testing.T
	url      string
	id, sec  string
	accounts map[string]map[string]any
}

func (o *nodeOP) name() string                { return "oidc-provider" }
func (o *nodeOP) issuer() string              { return o.url }
func (o *nodeOP) client() (id, secret string) { return o.id, o.sec }

// setAccounts replaces the people the provider knows.
func (o *nodeOP) setAccounts(accounts map[string]map[string]any) {
	o.t.Helper()
	data, _ := json.Marshal(accounts)
	res, err := http.Post(o.url+"/_test/accounts", "application/json", bytes.NewReader(data))
	if err != nil || res.StatusCode != 204 {
		o.t.Fatalf("set accounts: %v %v", err, res)
	}
	res.Body.Close()
}

func (o *nodeOP) signIn(b *browser, res *http.Response, page, person string) (*http.Response, *url.URL, string) {
	o.t.Helper()
	if res.StatusCode != 200 || !strings.Contains(page, `name="login"`) {
		o.t.Fatalf("the provider's login page: %d %s", res.StatusCode, page)
	}
	post, err := b.c.PostForm(res.Request.URL.String()+"/login", url.Values{"login": {person}})
	if err != nil {
		o.t.Fatal(err)
	}
	return b.finish(post)
}

// startNodeOP runs infra/backends/oidc-op.mjs with one client for k.
func startNodeOP(t *testing.T, k *kagiya, people map[string]map[string]any) *nodeOP {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed; infra/test.sh installs the npm test backends with it")
	}
	backends, _ := filepath.Abs(filepath.Join("..", "..", "infra", "backends"))
	if _, err := os.Stat(filepath.Join(backends, "node_modules", "oidc-provider")); err != nil {
		t.Skip("oidc-provider is not installed: npm ci in infra/backends (infra/test.sh does)")
	}
	op := &nodeOP{t: t, id: "kagiya-downstream", sec: "op-secret-" + strings.Repeat("x", 20), accounts: people}
	accounts, _ := json.Marshal(people)
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, node, filepath.Join(backends, "oidc-op.mjs"))
	cmd.Dir = backends
	cmd.Env = append(os.Environ(), "KAGIYA_OP_CLIENT_ID="+op.id, "KAGIYA_OP_CLIENT_SECRET="+op.sec,
		"KAGIYA_OP_REDIRECT_URI="+k.url+account.IdPCallbackPath, "KAGIYA_OP_ACCOUNTS="+string(accounts), "NODE_NO_WARNINGS=1")
	var stderr bytes.Buffer // its warnings (an unsupported Node, the development keys), shown on failure
	cmd.Stderr = &stderr
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel() // killed by its PID
		cmd.Wait()
		if t.Failed() {
			t.Logf("oidc-provider's output:\n%s", stderr.String())
		}
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("oidc-provider did not start: %v", err)
	}
	var hello struct{ Issuer string }
	if err := json.Unmarshal([]byte(line), &hello); err != nil {
		t.Fatalf("oidc-provider said %q", line)
	}
	op.url = hello.Issuer
	return op
}

// --- another Kagiya ---

type kagiyaOP struct {
	up      *kagiya
	id, sec string
}

func (o *kagiyaOP) name() string                { return "Kagiya" }
func (o *kagiyaOP) issuer() string              { return o.up.url }
func (o *kagiyaOP) client() (id, secret string) { return o.id, o.sec }

// signIn at Kagiya: the authorization request sent the browser to the upstream's
// sign-in page (index.html?oidc=<request>); the person signs in there (the page calls
// the API), and the page goes on with the request, as login.js does.
func (o *kagiyaOP) signIn(b *browser, res *http.Response, _ string, person string) (*http.Response, *url.URL, string) {
	t := o.up.t
	t.Helper()
	loc := res.Request.URL
	if l := res.Header.Get("Location"); l != "" {
		loc, _ = res.Request.URL.Parse(l)
	}
	id := loc.Query().Get("oidc")
	if loc.Host != mustURL(t, o.up.url).Host || id == "" {
		t.Fatalf("not at the upstream's sign-in page: %s", loc)
	}
	up := &browser{k: o.up, c: b.c}
	up.signIn(person, userPW)
	return b.get(o.up.url + "/api/oidc/login?id=" + url.QueryEscape(id))
}

func mustURL(t testing.TB, raw string) *url.URL {
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// startKagiyaOP starts an upstream Kagiya (on localhost) whose people are in corp.test,
// with a client for k.
func startKagiyaOP(t *testing.T, k *kagiya, people []string) *kagiyaOP {
	t.Helper()
	st := boltStore(t)
	up := newKagiya(t, st, "localhost", k.dns, new(atomic.Int64))
	for _, p := range people {
		up.createUser(p, "password", nil)
	}
	status, out := up.owner.call("POST", "/api/admin/oidc-clients", map[string]any{"name": "Downstream Kagiya",
		"redirect_uris": []string{k.url + account.IdPCallbackPath}, "type": "confidential", "confirm_password": ownerPW})
	if status != 201 {
		t.Fatalf("register the client upstream: %d %v", status, out)
	}
	return &kagiyaOP{up: up, id: out["client_id"].(string), sec: out["client_secret"].(string)}
}

func boltStore(t *testing.T) account.Store {
	t.Helper()
	st, err := boltstore.Open(filepath.Join(t.TempDir(), "k.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func minidynStore(t *testing.T) account.Store {
	t.Helper()
	srv := httptest.NewServer(server.NewServer())
	t.Cleanup(srv.Close)
	db := dynamodb.New(dynamodb.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL),
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")})
	if err := dynamostore.CreateTable(context.Background(), db, "kagiya"); err != nil {
		t.Fatal(err)
	}
	return dynamostore.New(db, "kagiya", 0)
}

// register registers up as the provider of corp.test in k's tenant.
func register(t *testing.T, k *kagiya, up upstream, domains ...string) map[string]any {
	t.Helper()
	id, secret := up.client()
	status, out := k.owner.call("POST", "/api/admin/identity-providers", map[string]any{"name": up.name(), "issuer": up.issuer(),
		"client_id": id, "client_secret": secret, "domains": domains, "confirm_password": ownerPW})
	if status != 201 {
		t.Fatalf("register %s: %d %v", up.name(), status, out)
	}
	return out
}

// closedPort is an address where nothing listens.
func closedPort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr
}

// The people of the tests. At the providers each is known by a key (oidc-provider: the
// subject; Kagiya: the login ID); in the downstream Kagiya (corp.test) alice, bob and
// frank are idp accounts, dave a password account, and carol has no account.
var people = map[string]map[string]any{
	"alice":   {"email": "alice@corp.test", "email_verified": true},
	"bob":     {"email": "bob@corp.test", "email_verified": true},
	"carol":   {"email": "carol@corp.test", "email_verified": true},
	"dave":    {"email": "dave@corp.test", "email_verified": true},
	"frank":   {"email": "frank@corp.test", "email_verified": false},
	"mallory": {"email": "alice@other.test", "email_verified": true},
}

// setting is a downstream Kagiya with one upstream registered for corp.test.
type setting struct {
	k  *kagiya
	up upstream
	// key names a person at the upstream.
	key  func(person string) string
	node *nodeOP // nil for the Kagiya upstream
}

func newSetting(t *testing.T, st account.Store, kind string, skew *atomic.Int64) *setting {
	t.Helper()
	dns, err := dnstest.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(dns.Close)
	k := newKagiya(t, st, "127.0.0.1", dns, skew)
	s := &setting{k: k}
	switch kind {
	case "oidc-provider":
		s.node = startNodeOP(t, k, people)
		s.up, s.key = s.node, func(p string) string { return p }
	case "kagiya":
		s.up = startKagiyaOP(t, k, []string{"alice@corp.test", "bob@corp.test", "carol@corp.test", "dave@corp.test"})
		s.key = func(p string) string { return p + "@corp.test" }
	}
	register(t, k, s.up, "corp.test")
	k.createUser("alice@corp.test", "idp", nil)
	k.createUser("bob@corp.test", "idp", nil)
	k.createUser("frank@corp.test", "idp", nil)
	k.createUser("dave@corp.test", "password", nil)
	return s
}

// signInAs signs person in through the upstream in a new browser and returns where it
// landed, and the browser.
func (s *setting) signInAs(person string) (*url.URL, *browser) {
	b := s.k.browser()
	return b.federatedSignIn(s.up, person+"@corp.test", s.key(person)), b
}

// audited reports whether the downstream's audit log has an event of action whose
// result starts with result.
func (s *setting) audited(action, result string) bool {
	status, out := s.k.owner.call("GET", "/api/admin/audit?action="+action, nil)
	if status != 200 {
		s.k.t.Fatalf("audit: %d %v", status, out)
	}
	for _, e := range out["events"].([]any) {
		if strings.HasPrefix(e.(map[string]any)["result"].(string), result) {
			return true
		}
	}
	return false
}

var federationCases = map[string]func(t *testing.T, s *setting){
	"FirstSignInLinksSecondFindsTheSameAccount": func(t *testing.T, s *setting) {
		loc, b := s.signInAs("alice")
		landed(t, loc, "")
		me := b.me()
		if me["login_id"] != "alice@corp.test" {
			t.Fatalf("signed in as %v", me["login_id"])
		}
		if !s.audited("login", "ok:idp:"+s.up.name()) || !s.audited("idp.link", "ok") {
			t.Fatal("the sign-in and the link are not audited")
		}
		if s.node != nil {
			// Linked by subject: the provider may now say another address (bob's), and
			// alice's subject still finds alice.
			moved := map[string]map[string]any{}
			for k, v := range people {
				moved[k] = v
			}
			moved["alice"] = map[string]any{"email": "bob@corp.test", "email_verified": true}
			s.node.setAccounts(moved)
			t.Cleanup(func() { s.node.setAccounts(people) })
		}
		loc, b2 := s.signInAs("alice")
		landed(t, loc, "")
		if again := b2.me(); again["account"] != nil && again["account_id"] != me["account_id"] || again["login_id"] != "alice@corp.test" {
			t.Fatalf("second sign-in: %v, first %v", again, me)
		}
		// The session works as a password session does: an API call with its CSRF token.
		if status, out := b2.call("GET", "/api/me/sessions", nil); status != 200 {
			t.Fatalf("sessions: %d %v", status, out)
		}
	},
	"NoAccountOrAnotherTenantsPerson": func(t *testing.T, s *setting) {
		loc, _ := s.signInAs("carol") // no account downstream
		landed(t, loc, account.CodeIdPNoAccount)
		loc, _ = s.signInAs("dave") // a password account: not for the provider
		landed(t, loc, account.CodeIdPNoAccount)
		if s.node != nil {
			// A person of another domain (another tenant's), though it starts at corp.test.
			b := s.k.browser()
			landed(t, b.federatedSignIn(s.up, "alice@corp.test", "mallory"), account.CodeIdPWrongTenant)
			if !s.audited("login", "failed:idp:wrong_tenant") {
				t.Fatal("wrong tenant not audited")
			}
		}
		if !s.audited("login", "failed:idp:no_account") {
			t.Fatal("refusal not audited")
		}
	},
	"UnverifiedEmailRefused": func(t *testing.T, s *setting) {
		if s.node == nil {
			// Not a case for this upstream: a Kagiya vouches for every address of a verified
			// domain, so only oidc-provider can send an unverified one (it does, above).
			t.Log("an upstream Kagiya never sends an unverified email; checked against oidc-provider")
			return
		}
		loc, _ := s.signInAs("frank")
		landed(t, loc, account.CodeIdPEmailUnverified)
		if !s.audited("login", "failed:idp:email_unverified") {
			t.Fatal("refusal not audited")
		}
	},
	"AnotherBrowsersStateRefused": func(t *testing.T, s *setting) {
		victim := s.k.browser()
		victim.hold = true
		res, loc, page := victim.start("alice@corp.test")
		_, loc, _ = s.up.signIn(victim, res, page, s.key("alice"))
		if loc == nil || loc.Path != account.IdPCallbackPath {
			t.Fatalf("not held at the callback: %v", loc)
		}
		// The attacker's browser started its own flow (it has a flow cookie, of another
		// state) and is handed the victim's callback.
		attacker := s.k.browser()
		attacker.start("alice@corp.test")
		_, at, _ := attacker.get(loc.String())
		landed(t, at, account.CodeIdPState)
		// Without any flow cookie.
		_, at, _ = s.k.browser().get(loc.String())
		landed(t, at, account.CodeIdPState)
		if status, _ := attacker.call("GET", "/api/me", nil); status != 401 {
			t.Fatalf("the attacker is signed in: %d", status)
		}
		if !s.audited("login", "failed:idp:state") {
			t.Fatal("refusal not audited")
		}
	},
	"ReplayedCodeRefused": func(t *testing.T, s *setting) {
		b := s.k.browser()
		b.hold = true
		res, loc, page := b.start("alice@corp.test")
		_, loc, _ = s.up.signIn(b, res, page, s.key("alice"))
		if loc == nil || loc.Path != account.IdPCallbackPath {
			t.Fatalf("not held at the callback: %v", loc)
		}
		b.hold = false
		_, at, _ := b.get(loc.String())
		landed(t, at, "")
		// The same code again, with a fresh flow of the same browser whose state it
		// carries: the provider refuses the used code.
		b.hold = true
		_, loc2, _ := b.start("alice@corp.test") // the provider has a session by now and answers at once
		if loc2 == nil || loc2.Path != account.IdPCallbackPath {
			t.Fatalf("second flow not held at the callback: %v", loc2)
		}
		replay := *loc
		q := replay.Query()
		q.Set("state", loc2.Query().Get("state"))
		replay.RawQuery = q.Encode()
		_, at, _ = b.get(replay.String())
		landed(t, at, account.CodeIdPRejected)
		if !s.audited("login", "failed:idp:rejected") {
			t.Fatal("refusal not audited")
		}
	},
	"CancelledAtTheProvider": func(t *testing.T, s *setting) {
		// The provider sends the browser back with an error (the person cancelled): the
		// page is told idp_denied, and nothing of the provider's own text.
		b := s.k.browser()
		b.hold = true
		res, loc, page := b.start("alice@corp.test")
		_, loc, _ = s.up.signIn(b, res, page, s.key("alice"))
		if loc == nil || loc.Path != account.IdPCallbackPath {
			t.Fatalf("not held at the callback: %v", loc)
		}
		q := loc.Query()
		q.Del("code")
		q.Set("error", "access_denied")
		q.Set("error_description", "<b>Evil</b> text from the provider")
		loc.RawQuery = q.Encode()
		b.hold = false
		_, at, _ := b.get(loc.String())
		landed(t, at, account.CodeIdPDenied)
		if len(at.Query()) != 1 || strings.Contains(at.String(), "Evil") {
			t.Fatalf("the provider's words reach the page: %s", at)
		}
		if !s.audited("login", "failed:idp:denied") {
			t.Fatal("refusal not audited")
		}
	},
	"NetworkNotAllowed": func(t *testing.T, s *setting) {
		// The tenant's allowed networks hold for a provider's sign-in as for any: told as
		// such, and audited.
		s.k.setSettings(map[string]any{"allowed_networks": []string{"192.0.2.0/24"}})
		loc, _ := s.signInAs("alice")
		landed(t, loc, account.CodeNetworkNotAllowed)
		if !s.audited("login", "failed:idp:network_not_allowed") {
			t.Fatal("refusal not audited")
		}
		s.k.setSettings(map[string]any{"allowed_networks": []string{"127.0.0.0/8"}})
		loc, _ = s.signInAs("alice")
		landed(t, loc, "")
	},
	"AnotherIssuersAnswerRefused": func(t *testing.T, s *setting) {
		// RFC 9207: the answer names the issuer it came from; one that names another
		// provider than the one this browser went to is refused before the code is used.
		b := s.k.browser()
		b.hold = true
		res, loc, page := b.start("alice@corp.test")
		_, loc, _ = s.up.signIn(b, res, page, s.key("alice"))
		if loc == nil || loc.Path != account.IdPCallbackPath {
			t.Fatalf("not held at the callback: %v", loc)
		}
		q := loc.Query()
		q.Set("iss", "https://evil.example")
		loc.RawQuery = q.Encode()
		b.hold = false
		_, at, _ := b.get(loc.String())
		landed(t, at, account.CodeIdPRejected)
		if !s.audited("login", "failed:idp:issuer") {
			t.Fatal("refusal not audited")
		}
	},
	"ExpiredIDTokenRefused":        nil, // needs the skewed clock: TestExpiredIDToken
	"SecondFactorAfterTheProvider": secondFactorAfterTheProvider,
	"ProviderDown": func(t *testing.T, s *setting) {
		s.k.verifyDomain("down.test")
		register(t, s.k, &staticUpstream{n: "Down", iss: closedPort(t)}, "down.test")
		s.k.createUser("erin@down.test", "idp", nil)
		b := s.k.browser()
		_, loc, _ := b.start("erin@down.test")
		landed(t, loc, account.CodeIdPUnavailable)
		if !s.audited("login", "failed:idp:unavailable") {
			t.Fatal("refusal not audited")
		}
	},
	"SuspendedAccountRefused": func(t *testing.T, s *setting) {
		loc, _ := s.signInAs("alice")
		landed(t, loc, "") // linked while usable
		if status, out := s.k.owner.call("POST", "/api/admin/suspend", map[string]any{"login_ids": []string{"alice@corp.test"},
			"disabled": true, "confirm_password": ownerPW}); status != 200 {
			t.Fatalf("suspend: %d %v", status, out)
		}
		loc, _ = s.signInAs("alice")
		landed(t, loc, account.CodeIdPAccountDisabled)
		if !s.audited("login", "failed:idp:disabled") {
			t.Fatal("refusal not audited")
		}
	},
	"IdPAccountsPasswordRefused": func(t *testing.T, s *setting) {
		b := s.k.browser()
		for _, pw := range []string{userPW, ""} {
			if status, out := b.call("POST", "/api/login", map[string]string{"login_id": "alice@corp.test", "password": pw + "x"}); status != 401 || out["error"].(map[string]any)["code"] != "invalid_credentials" {
				t.Fatalf("password sign-in of an idp account: %d %v", status, out)
			}
		}
		if status, _ := b.call("POST", "/api/password/forgot", map[string]string{"login_id": "alice@corp.test"}); status != 202 {
			t.Fatalf("forgot: %d", status)
		}
		if got := s.k.mailbox.Messages("alice@corp.test"); len(got) != 0 {
			t.Fatalf("an idp account got mail on forgot: %v", got)
		}
		// A mail server's check of the account: refused as a wrong password, while a
		// password account passes.
		secret := s.k.serviceCredential()
		for who, want := range map[string]int{"alice@corp.test": 401, "dave@corp.test": 200} {
			if got := s.k.serviceCheck(secret, who, userPW); got != want {
				t.Errorf("service check of %s: %d, want %d", who, got, want)
			}
		}
	},
	"AppPasswordsAfterAFreshSignIn":      appPasswordsAfterAFreshSignIn,
	"AnApplicationsRequestGoesOn":        applicationsRequestGoesOn,
	"ReauthForcesALoginAtTheProvider":    reauthForcesALoginAtTheProvider,
	"ReauthWithoutAFreshAuthTimeRefused": reauthWithoutAFreshAuthTimeRefused,
	"OwnFactorEnrolledAfterAFreshSignIn": func(t *testing.T, s *setting) {
		// An idp account turns on Kagiya's own second factor from the security page with
		// its fresh provider sign-in (a re-authentication) in place of a password; with idp_requires_mfa the
		// next sign-in through the provider asks its code.
		k := s.k
		b := k.browser()
		if loc := s.reauth(b, "bob"); loc == nil || loc.Path != "/security.html" {
			t.Fatalf("landed at %v, want /security.html", loc)
		}
		b.me()
		status, enrol := b.call("POST", "/api/me/mfa/totp/setup", map[string]any{})
		if status != 200 {
			t.Fatalf("setup: %d %v", status, enrol)
		}
		code, _ := totp.GenerateCode(enrol["secret"].(string), time.Now())
		if status, out := b.call("POST", "/api/me/mfa/totp/confirm", map[string]any{"code": code}); status != 200 {
			t.Fatalf("confirm: %d %v", status, out)
		}
		k.setSettings(map[string]any{"idp_requires_mfa": true})
		loc, b2 := s.signInAs("bob")
		step := b2.takeStep(loc, "mfa_required")
		code, _ = totp.GenerateCode(enrol["secret"].(string), time.Now().Add(30*time.Second))
		if status, out := b2.call("POST", "/api/login/mfa", map[string]any{"challenge": step["challenge"], "code": code}); status != 200 || out["result"] != "ok" {
			t.Fatalf("code after the provider: %d %v", status, out)
		}
		if amr := k.lastAMR("bob@corp.test"); !slices.Equal(amr, []string{"fed", "otp", "mfa"}) {
			t.Fatalf("amr %v", amr)
		}
		// Later, turning it off needs a new sign-in through the provider.
		k.later.Store(int64(account.IdPFreshFor + time.Minute))
		if status, out := b.call("POST", "/api/me/mfa/totp/disable", map[string]any{"current_password": "anything"}); status != 403 || out["error"].(map[string]any)["code"] != account.CodeIdPReauth {
			t.Fatalf("a stale session turns the factor off: %d %v", status, out)
		}
		if !s.audited("mfa.disable", "failed:idp_reauth") {
			t.Fatal("the refusal is not audited")
		}
	},
	"LoginMethodChangedConfirmedAndMailed": func(t *testing.T, s *setting) {
		patch := func(method string, confirm string) (int, map[string]any) {
			return s.k.owner.call("PATCH", "/api/admin/accounts/dave@corp.test", map[string]any{"login_method": method, "confirm_password": confirm})
		}
		if status, out := patch("idp", ""); status != 422 {
			t.Fatalf("unconfirmed: %d %v", status, out)
		}
		b := s.k.browser()
		b.signIn("dave@corp.test", userPW) // a password session, ended by the change
		if status, out := patch("idp", ownerPW); status != 200 || out["login_method"] != "idp" {
			t.Fatalf("to idp: %d %v", status, out)
		}
		if status, _ := b.call("GET", "/api/me", nil); status != 401 {
			t.Fatalf("the password session survived the change: %d", status)
		}
		if status, _ := s.k.browser().call("POST", "/api/login", map[string]string{"login_id": "dave@corp.test", "password": userPW}); status != 401 {
			t.Fatalf("the old password still signs in: %d", status)
		}
		msgs := s.k.mailbox.Messages("dave@corp.test")
		if len(msgs) != 1 || !strings.Contains(msgs[0].Text, s.up.name()) {
			t.Fatalf("mail of the change: %v", msgs)
		}
		loc, _ := s.signInAs("dave")
		landed(t, loc, "")
		if !s.audited("account.update", "ok:login_method=idp") {
			t.Fatal("change not audited")
		}
		if status, out := patch("password", ownerPW); status != 200 || out["login_method"] != "password" {
			t.Fatalf("back to password: %d %v", status, out)
		}
		loc, _ = s.signInAs("dave")
		landed(t, loc, account.CodeIdPNoAccount)
		if msgs := s.k.mailbox.Messages("dave@corp.test"); len(msgs) != 2 {
			t.Fatalf("mail of the second change: %d", len(msgs))
		}
	},
	"InvitationCompletedByFirstSignIn": func(t *testing.T, s *setting) {
		out := s.k.createUser("bob2@corp.test", "idp", map[string]any{"invite": true})
		if out["invited"] != true || out["login_method"] != "idp" {
			t.Fatalf("invited idp account: %v", out)
		}
		msgs := s.k.mailbox.Messages("bob2@corp.test")
		if len(msgs) != 1 || !strings.Contains(msgs[0].Text, s.up.name()) || strings.Contains(msgs[0].Text, "token=") {
			t.Fatalf("invitation of an idp account: %v", msgs)
		}
		if s.node != nil {
			with := map[string]map[string]any{"bob2": {"email": "bob2@corp.test", "email_verified": true}}
			for k, v := range people {
				with[k] = v
			}
			s.node.setAccounts(with)
			t.Cleanup(func() { s.node.setAccounts(people) })
		} else {
			s.up.(*kagiyaOP).up.createUser("bob2@corp.test", "password", nil)
		}
		loc, b := s.signInAs("bob2")
		landed(t, loc, "")
		if me := b.me(); me["login_id"] != "bob2@corp.test" {
			t.Fatalf("me: %v", me)
		}
		status, list := s.k.owner.call("GET", "/api/admin/accounts?q=bob2", nil)
		if status != 200 || list["accounts"].([]any)[0].(map[string]any)["invited"] != false {
			t.Fatalf("still invited: %v", list)
		}
		if !s.audited("invitation.accept", "ok:idp") {
			t.Fatal("acceptance not audited")
		}
	},
}

// setSettings changes the owner's tenant's settings (the rest as they are), as the
// settings page does.
func (k *kagiya) setSettings(change map[string]any) {
	k.t.Helper()
	status, set := k.owner.call("GET", "/api/admin/tenant", nil)
	if status != 200 {
		k.t.Fatalf("tenant: %d %v", status, set)
	}
	for key, v := range change {
		set[key] = v
	}
	set["confirm_password"] = ownerPW
	if status, out := k.owner.call("PUT", "/api/admin/tenant", set); status != 200 {
		k.t.Fatalf("settings %v: %d %v", change, status, out)
	}
}

// lastAMR is the amr of login's newest session.
func (k *kagiya) lastAMR(loginID string) []string {
	k.t.Helper()
	return k.lastSession(loginID).AMR
}

// lastSession is login's newest session.
func (k *kagiya) lastSession(loginID string) account.Session {
	k.t.Helper()
	a, err := account.FindAccount(context.Background(), k.st, loginID)
	if err != nil {
		k.t.Fatal(err)
	}
	ss, err := k.st.ListSessions(context.Background(), a.ID)
	if err != nil || len(ss) == 0 {
		k.t.Fatalf("sessions of %s: %v %v", loginID, ss, err)
	}
	return ss[len(ss)-1]
}

// takeStep reads, after a federated sign-in that landed on the sign-in page with a step,
// the step the page is handed (once).
func (b *browser) takeStep(loc *url.URL, want string) map[string]any {
	b.k.t.Helper()
	if loc == nil || loc.String() != b.k.url+httpapi.IdPStepLanding {
		b.k.t.Fatalf("landed at %v, want %s", loc, httpapi.IdPStepLanding)
	}
	status, out := b.call("POST", "/api/login/idp/step", nil)
	if status != 200 || out["result"] != want || out["challenge"] == "" {
		b.k.t.Fatalf("step: %d %v, want %s", status, out, want)
	}
	if status, again := b.call("POST", "/api/login/idp/step", nil); status != 400 || again["error"].(map[string]any)["code"] != "invalid_token" {
		b.k.t.Fatalf("the step handed twice: %d %v", status, again)
	}
	return out
}

// TestSecondFactorAfterTheProvider: with idp_requires_mfa, a federated sign-in goes on to
// Kagiya's own second factor (enrolment where the tenant requires one), and its session
// names both (amr fed, otp, mfa); off, the provider's factors are the only ones.
func secondFactorAfterTheProvider(t *testing.T, s *setting) {
	k := s.k
	loc, _ := s.signInAs("alice")
	landed(t, loc, "") // no step while the setting is off
	k.setSettings(map[string]any{"idp_requires_mfa": true, "mfa_required": true})
	loc, b := s.signInAs("alice")
	step := b.takeStep(loc, "mfa_enrollment_required")
	if status, _ := b.call("GET", "/api/me", nil); status != 401 {
		t.Fatalf("signed in before the second factor: %d", status)
	}
	status, enrol := b.call("POST", "/api/login/mfa/setup", map[string]any{"challenge": step["challenge"]})
	if status != 200 {
		t.Fatalf("setup: %d %v", status, enrol)
	}
	code, _ := totp.GenerateCode(enrol["secret"].(string), time.Now())
	status, done := b.call("POST", "/api/login/mfa/confirm", map[string]any{"challenge": step["challenge"], "code": code})
	if status != 200 || done["result"] != "ok" {
		t.Fatalf("confirm: %d %v", status, done)
	}
	codes := done["recovery_codes"].([]any)
	if amr := k.lastAMR("alice@corp.test"); !slices.Equal(amr, []string{"fed", "otp", "mfa"}) {
		t.Fatalf("amr after enrolment %v", amr)
	}
	if b.me()["login_id"] != "alice@corp.test" {
		t.Fatal("not signed in after the enrolment")
	}
	// The next sign-in asks the factor enrolled: a wrong code is refused, a recovery
	// code signs in.
	loc, b = s.signInAs("alice")
	step = b.takeStep(loc, "mfa_required")
	if methods := fmt.Sprint(step["methods"]); !strings.Contains(methods, "totp") || !strings.Contains(methods, "recovery_code") {
		t.Fatalf("methods %v", step["methods"])
	}
	if status, out := b.call("POST", "/api/login/mfa", map[string]any{"challenge": step["challenge"], "code": "000000"}); status != 401 {
		t.Fatalf("a wrong code: %d %v", status, out)
	}
	status, done = b.call("POST", "/api/login/mfa", map[string]any{"challenge": step["challenge"], "recovery_code": codes[0]})
	if status != 200 || done["result"] != "ok" {
		t.Fatalf("recovery code: %d %v", status, done)
	}
	if amr := k.lastAMR("alice@corp.test"); !slices.Equal(amr, []string{"fed", "otp", "mfa"}) {
		t.Fatalf("amr after the second factor %v", amr)
	}
	if !s.audited("login", "step_due:mfa") || !s.audited("login", "ok:recovery_code") {
		t.Fatal("the step and the sign-in are not audited")
	}
	// bob has no factor: in a tenant that does not require one, nothing is asked.
	k.setSettings(map[string]any{"mfa_required": false})
	loc, _ = s.signInAs("bob")
	landed(t, loc, "")
	// Off again: alice's factor is not asked after the provider.
	k.setSettings(map[string]any{"idp_requires_mfa": false})
	loc, _ = s.signInAs("alice")
	landed(t, loc, "")
	if amr := k.lastAMR("alice@corp.test"); !slices.Equal(amr, []string{"fed"}) {
		t.Fatalf("amr without the setting %v", amr)
	}
}

// serviceCredential makes a service credential (a mail server's) and returns its secret.
func (k *kagiya) serviceCredential() string {
	k.t.Helper()
	status, cred := k.owner.call("POST", "/api/admin/service-credentials", map[string]any{"name": "mail", "confirm_password": ownerPW})
	if status != 201 {
		k.t.Fatalf("service credential: %d %v", status, cred)
	}
	return cred["secret"].(string)
}

// serviceCheck is a mail server's check of loginID's password pw: its status.
func (k *kagiya) serviceCheck(secret, loginID, pw string) int {
	k.t.Helper()
	data, _ := json.Marshal(map[string]any{"login_id": loginID, "password": pw, "protocol": "imap", "client_ip": "192.0.2.1"})
	req, _ := http.NewRequest("POST", k.url+"/api/service/verify", bytes.NewReader(data))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+secret)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		k.t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

// appPasswordsAfterAFreshSignIn: an idp account, which has no password, makes app
// passwords for its mail clients with a session whose sign-in at its provider (a
// re-authentication, landing on the security page) was in the last ten minutes; the
// service check takes them and still refuses any other password. Later the session no
// longer stands for a password, and a new re-authentication does.
func appPasswordsAfterAFreshSignIn(t *testing.T, s *setting) {
	k := s.k
	b := k.browser()
	if loc := s.reauth(b, "alice"); loc == nil || loc.Path != "/security.html" {
		t.Fatalf("landed at %v, want /security.html", loc)
	}
	if me := b.me(); me["login_method"] != "idp" {
		t.Fatalf("me: %v", me)
	}
	status, made := b.call("POST", "/api/me/app-passwords", map[string]any{"name": "Thunderbird"})
	if status != 201 || made["password"] == nil {
		t.Fatalf("app password of an idp account: %d %v", status, made)
	}
	secret := k.serviceCredential()
	for pw, want := range map[string]int{made["password"].(string): 200, userPW: 401, "abcd-efgh-ijkl-mnop": 401, "": 422} {
		if got := k.serviceCheck(secret, "alice@corp.test", pw); got != want {
			t.Errorf("service check of alice with %q: %d, want %d", pw, got, want)
		}
	}
	k.later.Store(int64(account.IdPFreshFor + time.Minute))
	status, out := b.call("POST", "/api/me/app-passwords", map[string]any{"name": "Phone", "current_password": userPW})
	if status != 403 || out["error"].(map[string]any)["code"] != account.CodeIdPReauth {
		t.Fatalf("a stale federated session: %d %v", status, out)
	}
	if !s.audited("app_password.create", "failed:idp_reauth") {
		t.Fatal("the refusal is not audited")
	}
	// A new sign-in through the provider that asks to land on the security page (the
	// clock back: oidc-provider's cannot move with it, and its auth_time would be older
	// than the flow's start).
	k.later.Store(0)
	b2 := k.browser()
	if loc := s.reauth(b2, "alice"); loc == nil || loc.Path != "/security.html" {
		t.Fatalf("landed at %v, want /security.html", loc)
	}
	b2.me() // the page's first call: its CSRF token
	if status, out := b2.call("POST", "/api/me/app-passwords", map[string]any{"name": "Phone"}); status != 201 {
		t.Fatalf("after a fresh sign-in: %d %v", status, out)
	}
}

// reauthForcesALoginAtTheProvider: a sign-in on the provider's single sign-on, long after
// the person authenticated there, opens a session that does not stand for the password
// (oidc-provider sends no auth_time unasked; the upstream Kagiya an old one); the
// re-authentication (to=security) makes the provider ask for a login again (max_age=0,
// prompt=login), and the session it opens does.
func reauthForcesALoginAtTheProvider(t *testing.T, s *setting) {
	k := s.k
	loc, b := s.signInAs("alice")
	landed(t, loc, "")
	signedInAt := time.Now()
	later := int64(account.IdPFreshFor + time.Minute)
	k.later.Store(later)
	if up, ok := s.up.(*kagiyaOP); ok {
		up.up.later.Store(later) // its session, and so its auth_time, stays as old
	}
	// The provider's session is still there: straight back, with no login page.
	_, loc, _ = b.start("alice@corp.test")
	landed(t, loc, "")
	sess := k.lastSession("alice@corp.test")
	if !slices.Contains(sess.AMR, "fed") || !sess.IdPAuthAt.IsZero() && sess.IdPAuthAt.After(signedInAt) {
		t.Fatalf("the single sign-on's session: amr %v, provider's authentication at %v (signed in there at %v)", sess.AMR, sess.IdPAuthAt, signedInAt)
	}
	b.me()
	status, out := b.call("POST", "/api/me/app-passwords", map[string]any{"name": "Phone"})
	if status != 403 || out["error"].(map[string]any)["code"] != account.CodeIdPReauth {
		t.Fatalf("an app password on the single sign-on: %d %v", status, out)
	}
	status, out = b.call("POST", "/api/me/sessions/revoke-others", map[string]any{})
	if status != 403 || out["error"].(map[string]any)["code"] != account.CodeIdPReauth {
		t.Fatalf("ending the other sessions on the single sign-on: %d %v", status, out)
	}
	// The re-authentication: the provider shows its login page although its session is
	// there (s.reauth fails otherwise). (The clocks back, and the session of the moved
	// clock ended, so that the newest session is the re-authentication's.)
	if status, out := b.call("POST", "/api/logout", nil); status != 204 && status != 200 {
		t.Fatalf("logout: %d %v", status, out)
	}
	k.later.Store(0)
	if up, ok := s.up.(*kagiyaOP); ok {
		up.up.later.Store(0)
	}
	if loc := s.reauth(b, "alice"); loc == nil || loc.Path != "/security.html" {
		t.Fatalf("landed at %v, want /security.html", loc)
	}
	if at := k.lastSession("alice@corp.test").IdPAuthAt; at.IsZero() || time.Since(at) > account.IdPFreshFor {
		t.Fatalf("the re-authentication's session: provider's authentication at %v", at)
	}
	b.me()
	if status, out := b.call("POST", "/api/me/app-passwords", map[string]any{"name": "Phone"}); status != 201 {
		t.Fatalf("after the re-authentication: %d %v", status, out)
	}
	// The sessions page's re-authentication lands back there, and ends the others.
	if loc := s.reauthTo(b, "alice", "sessions"); loc == nil || loc.Path != "/sessions.html" {
		t.Fatalf("landed at %v, want /sessions.html", loc)
	}
	b.me()
	if status, out := b.call("POST", "/api/me/sessions/revoke-others", map[string]any{}); status != 200 && status != 204 {
		t.Fatalf("ending the other sessions after the re-authentication: %d %v", status, out)
	}
}

// reauthWithoutAFreshAuthTimeRefused: a provider that ignores max_age (its ID token
// without auth_time, or with one older than the flow's start by more than
// IdPClockSkew) does not re-authenticate anyone: idp_reauth_required, audited. An
// ordinary sign-in without auth_time gets in, with a session that does not stand for the
// password.
func reauthWithoutAFreshAuthTimeRefused(t *testing.T, s *setting) {
	k := s.k
	none := func(time.Time) time.Time { return time.Time{} }
	old := func(time.Time) time.Time { return time.Now().Add(-account.IdPClockSkew - time.Minute) }
	for _, change := range []func(time.Time) time.Time{none, old} {
		k.authTime.Store(&change)
		landed(t, s.reauth(k.browser(), "alice"), account.CodeIdPReauth)
	}
	if !s.audited("login", "failed:idp:not_reauthenticated") {
		t.Fatal("the refusal is not audited")
	}
	k.authTime.Store(&none)
	loc, b := s.signInAs("alice")
	landed(t, loc, "")
	b.me()
	if status, out := b.call("POST", "/api/me/app-passwords", map[string]any{"name": "Phone"}); status != 403 {
		t.Fatalf("an app password after a sign-in without auth_time: %d %v", status, out)
	}
	// Within the allowed skew, the re-authentication stands.
	skewed := func(time.Time) time.Time { return time.Now().Add(-account.IdPClockSkew / 2) }
	k.authTime.Store(&skewed)
	if loc := s.reauth(b, "alice"); loc == nil || loc.Path != "/security.html" {
		t.Fatalf("landed at %v, want /security.html", loc)
	}
}

// staticUpstream is a provider the tests never reach.
type staticUpstream struct{ n, iss string }

func (u *staticUpstream) name() string                { return u.n }
func (u *staticUpstream) issuer() string              { return u.iss }
func (u *staticUpstream) client() (id, secret string) { return "x", "y" }
func (u *staticUpstream) signIn(*browser, *http.Response, string, string) (*http.Response, *url.URL, string) {
	panic("unreachable")
}

func runCases(t *testing.T, store func(*testing.T) account.Store) {
	for _, kind := range []string{"oidc-provider", "kagiya"} {
		t.Run(kind, func(t *testing.T) {
			for name, run := range federationCases {
				if run == nil {
					continue
				}
				t.Run(name, func(t *testing.T) { run(t, newSetting(t, store(t), kind, new(atomic.Int64))) })
			}
		})
	}
}

func TestFederatedSignInOnBolt(t *testing.T)    { runCases(t, boltStore) }
func TestFederatedSignInOnMinidyn(t *testing.T) { runCases(t, minidynStore) }

// TestExpiredIDToken: an ID token past its expiry (the relying party's clock moved a
// day on, past every provider's token lifetime and go-oidc's leeway) is refused.
func TestExpiredIDToken(t *testing.T) {
	for _, kind := range []string{"oidc-provider", "kagiya"} {
		t.Run(kind, func(t *testing.T) {
			skew := new(atomic.Int64)
			s := newSetting(t, boltStore(t), kind, skew)
			b := s.k.browser()
			b.hold = true
			res, loc, page := b.start("alice@corp.test")
			_, loc, _ = s.up.signIn(b, res, page, s.key("alice"))
			if loc == nil || loc.Path != account.IdPCallbackPath {
				t.Fatalf("not held at the callback: %v", loc)
			}
			skew.Store(int64(24 * time.Hour))
			_, at, _ := b.get(loc.String())
			landed(t, at, account.CodeIdPTokenInvalid)
			if !s.audited("login", "failed:idp:token_invalid") {
				t.Fatal("refusal not audited")
			}
		})
	}
}

// TestRegistrationAndDiscovery: only owners register providers, for verified domains of
// their tenant, with an https issuer (loopback http only where allowed), confirmed with
// their password; the secret never comes back; discovery answers by domain alone.
func TestRegistrationAndDiscovery(t *testing.T) {
	dns, err := dnstest.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(dns.Close)
	k := newKagiya(t, boltStore(t), "127.0.0.1", dns, new(atomic.Int64))
	good := map[string]any{"name": "Entra ID", "issuer": "https://login.microsoftonline.com/0000/v2.0", "client_id": "app",
		"client_secret": "s3cret-value", "domains": []string{"corp.test"}, "confirm_password": ownerPW}
	with := func(key string, v any) map[string]any {
		m := map[string]any{}
		for k, x := range good {
			m[k] = x
		}
		m[key] = v
		return m
	}
	fieldOf := func(out map[string]any) string {
		e, _ := out["error"].(map[string]any)
		fs, _ := e["fields"].([]any)
		if len(fs) == 0 {
			return ""
		}
		f := fs[0].(map[string]any)
		return f["field"].(string) + ":" + f["code"].(string)
	}
	for _, c := range []struct {
		body  map[string]any
		field string
	}{
		{with("issuer", "http://idp.example.com"), "issuer:invalid"},
		{with("issuer", "https://idp.example.com/?x=1"), "issuer:invalid"},
		{with("domains", []string{"other.test"}), "domains[0]:unverified"},
		{with("domains", []string{}), "domains:invalid"},
		{with("client_secret", ""), "client_secret:invalid"},
		{with("confirm_password", ""), "confirm_password:required"},
	} {
		if status, out := k.owner.call("POST", "/api/admin/identity-providers", c.body); status != 422 || fieldOf(out) != c.field {
			t.Errorf("%v: %d %v, want 422 %s", c.body, status, out, c.field)
		}
	}
	if status, out := k.owner.call("POST", "/api/admin/identity-providers", with("confirm_password", "wrong")); status != 403 {
		t.Errorf("wrong confirmation: %d %v", status, out)
	}
	k.createUser("admin@corp.test", "password", map[string]any{"role": "admin", "confirm_password": ownerPW})
	admin := k.browser()
	admin.signIn("admin@corp.test", userPW)
	if status, _ := admin.call("POST", "/api/admin/identity-providers", good); status != 403 {
		t.Errorf("an admin registered a provider: %d", status)
	}
	if status, _ := admin.call("GET", "/api/admin/identity-providers", nil); status != 403 {
		t.Errorf("an admin listed providers: %d", status)
	}
	// Before any provider: password only.
	if status, out := k.browser().call("POST", "/api/login/discover", map[string]any{"login_id": "alice@corp.test"}); status != 200 || out["idp"] != nil {
		t.Fatalf("discover without a provider: %d %v", status, out)
	}
	if status, out := k.owner.call("POST", "/api/admin/accounts", map[string]any{"login_id": "alice@corp.test", "login_method": "idp"}); status != 422 || fieldOf(out) != "login_method:no_provider" {
		t.Fatalf("idp account without a provider: %d %v", status, out)
	}
	status, out := k.owner.call("POST", "/api/admin/identity-providers", good)
	if status != 201 || out["redirect_uri"] != k.url+account.IdPCallbackPath || out["client_secret"] != nil {
		t.Fatalf("register: %d %v", status, out)
	}
	id := out["idp_id"].(string)
	if status, out := k.owner.call("POST", "/api/admin/identity-providers", with("name", "Second")); status != 422 || fieldOf(out) != "domains[0]:taken" {
		t.Errorf("a second provider for the domain: %d %v", status, out)
	}
	status, list := k.owner.call("GET", "/api/admin/identity-providers", nil)
	raw, _ := json.Marshal(list)
	if status != 200 || strings.Contains(string(raw), "s3cret") || len(list["identity_providers"].([]any)) != 1 {
		t.Fatalf("list: %d %s", status, raw)
	}
	for _, bad := range []map[string]any{
		{"login_id": "adm@corp.test", "login_method": "idp", "role": "admin", "confirm_password": ownerPW},
		{"login_id": "pw@corp.test", "login_method": "idp", "password": userPW},
		{"login_id": "x@corp.test", "login_method": "sso"},
	} {
		if status, out := k.owner.call("POST", "/api/admin/accounts", bad); status != 422 {
			t.Errorf("%v: %d %v", bad, status, out)
		}
	}
	// The same answer for an account that exists and one that does not.
	k.createUser("alice@corp.test", "idp", nil)
	var answers []string
	for _, who := range []string{"alice@corp.test", "nobody@corp.test", "ALICE@CORP.TEST"} {
		status, out := k.browser().call("POST", "/api/login/discover", map[string]any{"login_id": who})
		if status != 200 {
			t.Fatalf("discover %s: %d %v", who, status, out)
		}
		idp := out["idp"].(map[string]any)
		answers = append(answers, fmt.Sprint(out["methods"], " ", idp["name"], " ", strings.SplitN(idp["start_url"].(string), "?", 2)[0]))
	}
	if answers[0] != answers[1] || answers[0] != answers[2] || !strings.Contains(answers[0], "[idp password] Entra ID /api/login/idp/"+url.PathEscape(id)+"/start") {
		t.Fatalf("discover answers differ or are wrong: %q", answers)
	}
	if status, out := k.browser().call("POST", "/api/login/discover", map[string]any{"login_id": "bob@elsewhere.test"}); status != 200 || fmt.Sprint(out["methods"]) != "[password]" {
		t.Fatalf("another domain: %d %v", status, out)
	}
	if status, _ := k.browser().call("POST", "/api/login/discover", map[string]any{"login_id": "not an address"}); status != 422 {
		t.Fatalf("malformed: %d", status)
	}
	if status, out := k.owner.call("DELETE", "/api/admin/identity-providers/"+url.PathEscape(id), map[string]any{"confirm_password": ownerPW}); status != 204 {
		t.Fatalf("delete: %d %v", status, out)
	}
	if status, out := k.browser().call("POST", "/api/login/discover", map[string]any{"login_id": "alice@corp.test"}); status != 200 || out["idp"] != nil {
		t.Fatalf("discover after the provider went: %d %v", status, out)
	}
}

// TestIssuerRules: https only; http for loopback hosts only when allowed.
func TestIssuerRules(t *testing.T) {
	for _, c := range []struct {
		issuer   string
		loopback bool
		ok       bool
	}{
		{"https://accounts.google.com", false, true},
		{"https://adfs.corp.test/adfs", false, true},
		{"http://accounts.google.com", true, false},
		{"http://127.0.0.1:8080", false, false},
		{"http://127.0.0.1:8080", true, true},
		{"http://localhost:9000", true, true},
		{"http://[::1]:9000", true, true},
		{"https://user:pw@idp.test", false, false},
		{"https://idp.test#x", false, false},
		{"idp.test", false, false},
	} {
		if err := account.CheckIssuer(c.issuer, c.loopback); (err == nil) != c.ok {
			t.Errorf("account.CheckIssuer(%q, %v) = %v", c.issuer, c.loopback, err)
		}
	}
}

// TestPasskeyAfterTheProvider: with idp_requires_mfa, an idp account's passkey (added with
// its fresh provider sign-in, a re-authentication, in place of a password) is the second factor after the
// provider (oidc-provider; the downstream on localhost, a passkey's site).
func TestPasskeyAfterTheProvider(t *testing.T) {
	for name, store := range map[string]func(*testing.T) account.Store{"bolt": boltStore, "minidyn": minidynStore} {
		t.Run(name, func(t *testing.T) {
			dns, err := dnstest.Start()
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(dns.Close)
			k := newKagiya(t, store(t), "localhost", dns, new(atomic.Int64))
			node := startNodeOP(t, k, people)
			s := &setting{k: k, up: node, key: func(p string) string { return p }, node: node}
			register(t, k, node, "corp.test")
			k.createUser("alice@corp.test", "idp", nil)
			b := k.browser()
			if loc := s.reauth(b, "alice"); loc == nil || loc.Path != "/security.html" {
				t.Fatalf("landed at %v, want /security.html", loc)
			}
			b.me()
			auth := passkeytest.New(k.url)
			status, opts := b.call("POST", "/api/me/passkeys/options", map[string]any{})
			if status != 200 {
				t.Fatalf("passkey options: %d %v", status, opts)
			}
			pk, _ := json.Marshal(opts["public_key"])
			cred, err := auth.Create(pk)
			if err != nil {
				t.Fatal(err)
			}
			if status, out := b.call("POST", "/api/me/passkeys", map[string]any{"name": "MacBook", "credential": json.RawMessage(cred)}); status != 201 {
				t.Fatalf("add passkey: %d %v", status, out)
			}
			k.setSettings(map[string]any{"idp_requires_mfa": true})
			loc, b2 := s.signInAs("alice")
			step := b2.takeStep(loc, "mfa_required")
			if !strings.Contains(fmt.Sprint(step["methods"]), "passkey") {
				t.Fatalf("methods %v", step["methods"])
			}
			status, opts = b2.call("POST", "/api/login/mfa/passkey-options", map[string]any{"challenge": step["challenge"]})
			if status != 200 {
				t.Fatalf("step options: %d %v", status, opts)
			}
			pk, _ = json.Marshal(opts["public_key"])
			if cred, err = auth.Get(pk); err != nil {
				t.Fatal(err)
			}
			if status, out := b2.call("POST", "/api/login/mfa", map[string]any{"challenge": step["challenge"], "credential": json.RawMessage(cred)}); status != 200 || out["result"] != "ok" {
				t.Fatalf("passkey after the provider: %d %v", status, out)
			}
			if amr := k.lastAMR("alice@corp.test"); len(amr) != 3 || amr[0] != "fed" || amr[2] != "mfa" {
				t.Fatalf("amr %v", amr)
			}
			if !s.audited("login", "ok:passkey") {
				t.Fatal("the sign-in is not audited")
			}
		})
	}
}

// applicationsRequestGoesOn: a person sent to Kagiya's sign-in page by an application
// (an OpenID Connect authorization request, index.html?oidc=<id>) who signs in through
// the provider goes back to the application with a code, as after a password; with
// Kagiya's own second factor due, the step's landing carries the request on.
func applicationsRequestGoesOn(t *testing.T, s *setting) {
	k := s.k
	app := "https://app.example/callback.html" // .html: the test browser stops there
	status, out := k.owner.call("POST", "/api/admin/oidc-clients", map[string]any{"name": "App",
		"redirect_uris": []string{app}, "type": "confidential", "confirm_password": ownerPW})
	if status != 201 {
		t.Fatalf("register the application: %d %v", status, out)
	}
	authorize := func(b *browser) string {
		q := url.Values{"client_id": {out["client_id"].(string)}, "redirect_uri": {app}, "response_type": {"code"},
			"scope": {"openid email"}, "state": {"st-123"}, "nonce": {"n-456"},
			"code_challenge": {"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"}, "code_challenge_method": {"S256"}}
		_, loc, _ := b.get(k.url + "/api/oidc/authorize?" + q.Encode())
		id := ""
		if loc != nil {
			id = loc.Query().Get("oidc")
		}
		if loc == nil || loc.Path != "/index.html" || !account.AuthorizationID.MatchString(id) {
			t.Fatalf("the authorization request did not reach the sign-in page: %v", loc)
		}
		return id
	}
	through := func(b *browser, person, id string) *url.URL {
		status, d := b.call("POST", "/api/login/discover", map[string]any{"login_id": person + "@corp.test"})
		if status != 200 || d["idp"] == nil {
			t.Fatalf("discover: %d %v", status, d)
		}
		// As login.js does when the page holds an application's request.
		res, _, page := b.get(k.url + d["idp"].(map[string]any)["start_url"].(string) + "&oidc=" + url.QueryEscape(id))
		_, loc, _ := s.up.signIn(b, res, page, s.key(person))
		return loc
	}

	b := k.browser()
	id := authorize(b)
	// The callback goes on with the request (/api/oidc/login?id=), which answers the
	// application.
	loc := through(b, "alice", id)
	if loc == nil || !strings.HasPrefix(loc.String(), app+"?") || loc.Query().Get("code") == "" || loc.Query().Get("state") != "st-123" {
		t.Fatalf("the application got %v, want a code", loc)
	}

	// A second factor due: its landing keeps the request, for the page to go on with.
	k.setSettings(map[string]any{"idp_requires_mfa": true, "mfa_required": true})
	b2 := k.browser()
	id2 := authorize(b2)
	if loc := through(b2, "bob", id2); loc == nil || loc.String() != k.url+httpapi.IdPStepLanding+"&oidc="+id2 {
		t.Fatalf("with a step due: %v", loc)
	}
	// An ID that is not one (a URL, a path) is not carried.
	b3 := k.browser()
	status, d := b3.call("POST", "/api/login/discover", map[string]any{"login_id": "alice@corp.test"})
	if status != 200 {
		t.Fatal(status)
	}
	k.setSettings(map[string]any{"idp_requires_mfa": false, "mfa_required": false})
	res, _, page := b3.get(k.url + d["idp"].(map[string]any)["start_url"].(string) + "&oidc=" + url.QueryEscape("//evil.example/x"))
	if _, loc, _ := s.up.signIn(b3, res, page, s.key("alice")); loc == nil || loc.Path != "/home.html" {
		t.Fatalf("a forged request ID: %v", loc)
	}
}
