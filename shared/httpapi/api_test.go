package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kagiya/kagiya/shared/account"
	"github.com/kagiya/kagiya/shared/bulk"
	"github.com/kagiya/kagiya/shared/httpapi"
	"github.com/kagiya/kagiya/shared/mail"
	"github.com/kagiya/kagiya/shared/passkey"
	"github.com/kagiya/kagiya/shared/password"
	"github.com/kagiya/kagiya/shared/store/boltstore"
)

// fastHash keeps handler tests quick; the real parameters are measured in benchmarks.
var fastHash = password.Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32}

const (
	ownerID = "owner@example.com"
	ownerPW = "Kagi-2026-Tokyo!"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type env struct {
	t       testing.TB
	handler http.Handler
	svc     *account.Flows
	tenant  account.Tenant // example.com's, made by the bootstrap
	store   account.Store
	mailbox *mail.Mailbox
	clock   *clock
	logs    *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// setup is what an option may change before the service is built.
type setup struct {
	cfg          account.Config
	deps         account.Deps
	settings     account.Settings // the example.com tenant's
	floor        time.Duration    // forgot-password floor
	bulk         bool             // serve the bulk endpoints, uploads going to an in-process S3
	exports      bool             // exports go to an in-process S3 and are linked to
	originSecret string           // the CloudFront origin secret
	accessLogged bool             // as in AWS: no request line (API Gateway's access log has it)
	siteBuild    func() string    // the site build the API names
}

type option func(*setup)

func withConfig(f func(*account.Config)) option { return func(s *setup) { f(&s.cfg) } }
func withSettings(set account.Settings) option  { return func(s *setup) { s.settings = set } }

func newEnv(t testing.TB, opts ...option) *env {
	t.Helper()
	st, err := boltstore.Open(filepath.Join(t.TempDir(), "k.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return newEnvOn(t, st, opts...)
}

func newEnvOn(t testing.TB, st account.Store, opts ...option) *env {
	t.Helper()
	tmpl, err := mail.LoadTemplates()
	if err != nil {
		t.Fatal(err)
	}
	clk := &clock{t: time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)}
	logs := &syncBuffer{}
	// Every email a test causes is rendered with every field it prints, and sent.
	t.Cleanup(func() {
		for _, line := range strings.Split(logs.String(), "\n") {
			if strings.Contains(line, "mail not sent") {
				t.Errorf("%s", line)
			}
		}
	})
	log := slog.New(slog.NewJSONHandler(logs, nil))
	box := mail.NewMailbox(clk.Now)
	su := setup{
		cfg: account.Config{Hash: fastHash},
		deps: account.Deps{Store: st, Mailer: box, Templates: tmpl, Now: clk.Now, Log: log, SiteURL: "https://id.example.com",
			SealKey: account.StaticKey(testSealKey)},
		floor: time.Millisecond,
	}
	// Passkeys of the site https://id.example.com, on the test clock.
	rp, err := passkey.New(su.deps.SiteURL, account.SecretKey(st, account.PasskeyKeyName), clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	su.deps.RP = rp
	for _, o := range opts {
		o(&su)
	}
	svc, err := account.New(su.deps, su.cfg)
	if err != nil {
		t.Fatal(err)
	}
	tenant, _, err := svc.SignIn.Bootstrap(context.Background(), ownerID, ownerPW, su.settings)
	if err != nil {
		t.Fatal(err)
	}
	var jobs *bulk.Jobs
	if su.bulk {
		jobs = &bulk.Jobs{Store: st.(bulk.JobStore), Presign: fakeS3(t), Now: clk.Now}
	}
	var exports httpapi.Exports
	if su.exports {
		exports = fakeS3(t)
	}
	h := httpapi.New(httpapi.Deps{Services: svc, Log: log, ForgotFloor: su.floor, Bulk: jobs, Exports: exports, OriginSecret: su.originSecret,
		AccessLogged: su.accessLogged, SiteBuild: su.siteBuild})
	return &env{t: t, handler: h, svc: svc, tenant: tenant, store: st, mailbox: box, clock: clk, logs: logs}
}

// client is one browser: its cookie and CSRF token.
type client struct {
	e      *env
	cookie *http.Cookie
	device *http.Cookie // the device cookie, kept as a browser keeps it
	// remember holds remember-this-browser cookies by name.
	remember map[string]*http.Cookie
	csrf     string
	lang     string
	ip       string
}

func (e *env) client() *client { return &client{e: e, ip: "192.0.2.10"} }

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body %q: %v", r.body, err)
	}
	return m
}

func (r response) code(t testing.TB) string {
	t.Helper()
	e, _ := r.json(t)["error"].(map[string]any)
	c, _ := e["code"].(string)
	return c
}

func (c *client) raw(method, path, contentType string, body io.Reader) response {
	req := httptest.NewRequest(method, path, body)
	req.RemoteAddr = net.JoinHostPort(c.ip, "5555")
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if c.cookie != nil {
		req.AddCookie(c.cookie)
	}
	if c.device != nil {
		req.AddCookie(c.device)
	}
	for _, ck := range c.remember {
		req.AddCookie(ck)
	}
	if c.csrf != "" {
		req.Header.Set("X-CSRF-Token", c.csrf)
	}
	if c.lang != "" {
		req.Header.Set("Accept-Language", c.lang)
	}
	rec := httptest.NewRecorder()
	c.e.handler.ServeHTTP(rec, req)
	for _, ck := range rec.Result().Cookies() {
		if ck.Name == httpapi.DeviceCookieName || ck.Name == httpapi.SecureDeviceCookieName {
			c.device = ck
		}
		if strings.Contains(ck.Name, httpapi.RememberCookiePrefix) {
			if c.remember == nil {
				c.remember = map[string]*http.Cookie{}
			}
			c.remember[ck.Name] = ck
		}
		if ck.Name == httpapi.CookieName || ck.Name == httpapi.SecureCookieName {
			if ck.MaxAge < 0 {
				c.cookie = nil
			} else {
				c.cookie = ck
			}
		}
	}
	return response{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
}

func (c *client) do(method, path string, body any) response {
	var r io.Reader
	ct := ""
	if body != nil {
		b, _ := json.Marshal(body)
		r, ct = bytes.NewReader(b), "application/json"
	}
	return c.raw(method, path, ct, r)
}

func (c *client) login(id, pw string) response {
	res := c.do("POST", "/api/login", map[string]string{"login_id": id, "password": pw})
	if csrf, ok := res.json(c.e.t)["csrf_token"].(string); ok && res.status == 200 {
		c.csrf = csrf
	}
	return res
}

func (e *env) signedIn(id, pw string) *client {
	e.t.Helper()
	c := e.client()
	if res := c.login(id, pw); res.status != 200 {
		e.t.Fatalf("login %s: %d %s", id, res.status, res.body)
	}
	return c
}

func TestHealth(t *testing.T) {
	res := newEnv(t).client().do("GET", "/api/health", nil)
	if res.status != 200 || string(bytes.TrimSpace(res.body)) != `{"status":"ok"}` {
		t.Fatalf("%d %s", res.status, res.body)
	}
	for _, h := range []string{"Content-Security-Policy", "X-Content-Type-Options", "Referrer-Policy"} {
		if res.header.Get(h) == "" {
			t.Errorf("missing %s", h)
		}
	}
	// Issue 23: connect-src allowed any https origin.
	if csp := res.header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") || strings.Contains(csp, "unsafe-inline") ||
		!strings.Contains(csp, "connect-src 'self';") {
		t.Errorf("CSP %q", csp)
	}
}

func TestLoginSetsSessionCookieAndCSRF(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	res := c.login("OWNER@example.COM", ownerPW) // login IDs compare case-insensitively
	if res.status != 200 {
		t.Fatalf("%d %s", res.status, res.body)
	}
	body := res.json(t)
	acct := body["account"].(map[string]any)
	if body["result"] != "ok" || acct["login_id"] != ownerID || acct["role"] != "owner" || acct["tenant"] != e.tenant.ID ||
		acct["tenant_name"] != "example.com" || acct["account_id"] != e.account(ownerID).ID || body["csrf_token"] == "" || acct["csrf_token"] != body["csrf_token"] {
		t.Fatalf("body %s", res.body)
	}
	if !c.cookie.HttpOnly || c.cookie.SameSite != http.SameSiteStrictMode || c.cookie.Secure || c.cookie.Path != "/" {
		t.Fatalf("cookie %+v", c.cookie)
	}
	if len(c.cookie.Value) < 43 {
		t.Fatalf("session token too short: %d chars", len(c.cookie.Value))
	}
	// The store keeps only a hash of the token.
	ownerAcct := e.account(ownerID)
	if !strings.HasPrefix(c.cookie.Value, ownerAcct.ID+".") {
		t.Fatalf("the token does not name its account: %q", c.cookie.Value)
	}
	if _, err := e.store.GetSession(context.Background(), ownerAcct.ID, c.cookie.Value); !errors.Is(err, account.ErrNotFound) {
		t.Fatal("the session token itself is a store key")
	}
	if _, err := e.store.GetSession(context.Background(), ownerAcct.ID, account.HashToken(c.cookie.Value)); err != nil {
		t.Fatalf("no session under the token's hash: %v", err)
	}
	me := c.do("GET", "/api/me", nil)
	if me.status != 200 || me.json(t)["csrf_token"] != c.csrf || me.json(t)["login_id"] != ownerID {
		t.Fatalf("me %d %s", me.status, me.body)
	}
	// The sign-in answers everything GET /api/me gives (README), client_ip included.
	if got := me.json(t); !reflect.DeepEqual(acct, got) || acct["client_ip"] == nil {
		t.Fatalf("the sign-in's account %v is not GET /api/me's %v", acct, got)
	}
}

func TestASVS_3_4_1_to_3_4_4_SecureHostOnlyCookieOnHTTPS(t *testing.T) {
	e := newEnv(t)
	e.handler = httpapi.New(httpapi.Deps{Services: mustService(t, e), Log: slog.New(slog.NewTextHandler(io.Discard, nil)), SecureCookies: true})
	c := e.client()
	if res := c.login(ownerID, ownerPW); res.status != 200 || !c.cookie.Secure || c.cookie.Name != "__Host-kagiya_session" ||
		c.cookie.Path != "/" || c.cookie.Domain != "" || !c.cookie.HttpOnly {
		t.Fatalf("%d cookie %+v", res.status, c.cookie)
	}
	if res := c.do("GET", "/api/me", nil); res.status != 200 {
		t.Fatalf("the __Host- cookie is not read back: %d", res.status)
	}
	// The plain name means nothing on https.
	plain := *c.cookie
	plain.Name = httpapi.CookieName
	c.cookie = &plain
	if res := c.do("GET", "/api/me", nil); res.status != 401 {
		t.Fatalf("a cookie without the prefix was accepted on https: %d", res.status)
	}
}

// testSealKey seals second-factor secrets in these tests.
var testSealKey = []byte("kagiya test seal key, 32 bytes!!")

func mustService(t *testing.T, e *env) *account.Flows {
	tmpl, _ := mail.LoadTemplates()
	svc, err := account.New(account.Deps{Store: e.store, Mailer: e.mailbox, Templates: tmpl, Now: e.clock.Now,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), SealKey: account.StaticKey(testSealKey)}, account.Config{Hash: fastHash})
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

func TestLoginFailuresLookAlike(t *testing.T) {
	e := newEnv(t)
	admin := e.signedIn(ownerID, ownerPW)
	for _, id := range []string{"locked@example.com", "disabled@example.com", "nopw@example.com"} {
		body := map[string]any{"login_id": id, "role": "user"}
		if id != "nopw@example.com" {
			body["password"] = "Right-Passw0rd"
		}
		if res := admin.do("POST", "/api/admin/accounts", body); res.status != 201 {
			t.Fatalf("create %s: %d %s", id, res.status, res.body)
		}
	}
	ctx := context.Background()
	for id, change := range map[string]func(*account.Account){
		"locked@example.com":   func(a *account.Account) { a.LockedAt = e.clock.Now() },
		"disabled@example.com": func(a *account.Account) { a.Disabled = true },
	} {
		a := e.account(id)
		change(&a)
		if _, err := e.store.UpdateAccount(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	cases := map[string][2]string{
		"wrong password":     {ownerID, "Wrong-Passw0rd"},
		"unknown account":    {"nobody@example.com", "Right-Passw0rd"},
		"unknown domain":     {"nobody@elsewhere.example", "Right-Passw0rd"},
		"not an email":       {"nobody", "Right-Passw0rd"},
		"locked, right pw":   {"locked@example.com", "Right-Passw0rd"},
		"disabled, right pw": {"disabled@example.com", "Right-Passw0rd"},
		"account without pw": {"nopw@example.com", "Right-Passw0rd"},
	}
	var first []byte
	for name, c := range cases {
		res := e.client().login(c[0], c[1])
		if res.status != 401 || res.code(t) != "invalid_credentials" {
			t.Fatalf("%s: %d %s", name, res.status, res.body)
		}
		if first == nil {
			first = res.body
		} else if !bytes.Equal(first, res.body) {
			t.Fatalf("%s: body %s differs from %s", name, res.body, first)
		}
		if res.header.Get("Set-Cookie") != "" {
			t.Fatalf("%s: a failed login set a cookie", name)
		}
	}
}

func TestErrorMessagesFollowAcceptLanguage(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	ja := c.login(ownerID, "nope-nope-nope")
	c.lang = "en-US,en;q=0.9"
	en := c.login(ownerID, "nope-nope-nope")
	c.lang = "fr, ja;q=0.5"
	ja2 := c.login(ownerID, "nope-nope-nope")
	msg := func(r response) string { return r.json(t)["error"].(map[string]any)["message"].(string) }
	if msg(ja) != "ログインIDまたはパスワードが正しくありません。" || msg(en) != "The login ID or password is incorrect." || msg(ja2) != msg(ja) {
		t.Fatalf("messages %q / %q / %q", msg(ja), msg(en), msg(ja2))
	}
}

func TestBadInputIsA4xxWithStableCode(t *testing.T) {
	e := newEnv(t)
	long := strings.Repeat("a", 300) + "@example.com"
	cases := []struct {
		name, ct, body string
		status         int
		code           string
	}{
		{"malformed json", "application/json", `{"login_id":`, 400, "malformed_json"},
		{"not an object", "application/json", `[1,2]`, 422, "validation"},
		{"wrong type", "application/json", `{"login_id":5,"password":"x"}`, 422, "validation"},
		{"unknown field", "application/json", `{"login_id":"a@example.com","password":"x","admin":true}`, 400, "unknown_field"},
		{"trailing data", "application/json", `{"login_id":"a@example.com","password":"x"} {}`, 400, "malformed_json"},
		{"wrong content type", "text/plain", `{"login_id":"a@example.com","password":"x"}`, 415, "unsupported_media_type"},
		{"no content type", "", `{"login_id":"a@example.com","password":"x"}`, 415, "unsupported_media_type"},
		{"oversized", "application/json", `{"login_id":"` + strings.Repeat("a", httpapi.MaxBodyBytes) + `"}`, 413, "body_too_large"},
		{"overlong login id", "application/json", `{"login_id":"` + long + `","password":"x"}`, 422, "validation"},
		{"overlong password", "application/json", `{"login_id":"a@example.com","password":"` + strings.Repeat("p", 129) + `"}`, 422, "validation"},
		{"empty fields", "application/json", `{}`, 422, "validation"},
		{"invalid utf-8", "application/json", "{\"login_id\":\"\xff@example.com\",\"password\":\"x\"}", 401, "invalid_credentials"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := e.client().raw("POST", "/api/login", tc.ct, strings.NewReader(tc.body))
			if res.status != tc.status || res.code(t) != tc.code {
				t.Fatalf("%d %s, want %d %s", res.status, res.body, tc.status, tc.code)
			}
		})
	}
	admin := e.signedIn(ownerID, ownerPW)
	for _, path := range []string{"/api/admin/accounts?limit=0", "/api/admin/accounts?limit=abc", "/api/admin/accounts?cursor=!!!", "/api/admin/accounts?q=" + strings.Repeat("x", 300)} {
		if res := admin.do("GET", path, nil); res.status != 422 || res.code(t) != "validation" {
			t.Errorf("%s: %d %s", path, res.status, res.body)
		}
	}
	if res := admin.do("GET", "/api/nothing-here", nil); res.status != 404 || res.code(t) != "not_found" {
		t.Errorf("unknown route: %d %s", res.status, res.body)
	}
}

func TestASVS_3_3_1_CSRFAndLogout(t *testing.T) {
	e := newEnv(t)
	c := e.signedIn(ownerID, ownerPW)
	token := c.csrf
	c.csrf = ""
	if res := c.do("POST", "/api/logout", nil); res.status != 403 || res.code(t) != "csrf" {
		t.Fatalf("logout without CSRF: %d %s", res.status, res.body)
	}
	c.csrf = "wrong"
	if res := c.do("POST", "/api/admin/accounts", map[string]any{"login_id": "x@example.com"}); res.status != 403 || res.code(t) != "csrf" {
		t.Fatalf("create with wrong CSRF: %d %s", res.status, res.body)
	}
	c.csrf = token
	old := c.cookie
	if res := c.do("POST", "/api/logout", nil); res.status != 204 {
		t.Fatalf("logout: %d %s", res.status, res.body)
	}
	c.cookie = old // replaying the old cookie must not work
	if res := c.do("GET", "/api/me", nil); res.status != 401 || res.code(t) != "unauthenticated" {
		t.Fatalf("me after logout: %d %s", res.status, res.body)
	}
}

func TestASVS_3_3_2_SessionIdleAndAbsoluteExpiry(t *testing.T) {
	e := newEnv(t)
	c := e.signedIn(ownerID, ownerPW)
	for i := range 28 { // active use every 25 minutes keeps it alive for 11h40m ...
		e.clock.Add(25 * time.Minute)
		if res := c.do("GET", "/api/me", nil); res.status != 200 {
			t.Fatalf("session ended after %v of activity", time.Duration(i+1)*25*time.Minute)
		}
	}
	e.clock.Add(25 * time.Minute) // ... but not past the 12-hour absolute limit
	if res := c.do("GET", "/api/me", nil); res.status != 401 {
		t.Fatalf("session alive after 12h05m: %d", res.status)
	}
	d := e.signedIn(ownerID, ownerPW)
	e.clock.Add(31 * time.Minute)
	if res := d.do("GET", "/api/me", nil); res.status != 401 {
		t.Fatalf("session alive after 31 idle minutes: %d", res.status)
	}
}

func TestLoginThrottledPerIP(t *testing.T) {
	e := newEnv(t, withConfig(func(c *account.Config) { c.LoginPerIPMinute = 5; c.LoginPerAcctMinute = 100 }))
	c := e.client()
	for i := range 5 {
		if res := c.login("user"+string(rune('a'+i))+"@example.com", "whatever-pw"); res.status != 401 {
			t.Fatalf("attempt %d: %d", i, res.status)
		}
	}
	res := c.login(ownerID, ownerPW)
	if res.status != 429 || res.code(t) != "rate_limited" || res.header.Get("Retry-After") == "" {
		t.Fatalf("6th attempt: %d %s %v", res.status, res.body, res.header)
	}
	other := e.client()
	other.ip = "198.51.100.7"
	if res := other.login(ownerID, ownerPW); res.status != 200 {
		t.Fatalf("another IP throttled too: %d", res.status)
	}
	e.clock.Add(time.Minute)
	if res := c.login(ownerID, ownerPW); res.status != 200 {
		t.Fatalf("next minute still throttled: %d", res.status)
	}
}

func TestDefaultPerIPLimitLetsAnOfficeWork(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	for i := range 100 {
		if res := c.login("someone"+strings.Repeat("x", i%7)+"@example.com", "wrong-password"); res.status != 401 {
			t.Fatalf("attempt %d from one IP: %d %s", i+1, res.status, res.body)
		}
	}
}

func TestAdminAccountLifecycle(t *testing.T) {
	e := newEnv(t)
	owner := e.signedIn(ownerID, ownerPW)
	res := owner.do("POST", "/api/admin/accounts", map[string]any{"login_id": "Admin@Example.com", "role": "admin", "password": "Kanri-Passw0rd", "quota_gb": 10, "comment": "情報システム部", "confirm_password": ownerPW})
	if res.status != 201 || res.json(t)["login_id"] != "Admin@Example.com" {
		t.Fatalf("create admin: %d %s", res.status, res.body)
	}
	if res := owner.do("POST", "/api/admin/accounts", map[string]any{"login_id": "admin@EXAMPLE.com", "role": "user"}); res.status != 409 || res.code(t) != "login_id_taken" {
		t.Fatalf("duplicate: %d %s", res.status, res.body)
	}
	admin := e.signedIn("admin@example.com", "Kanri-Passw0rd")
	if res := admin.do("POST", "/api/admin/accounts", map[string]any{"login_id": "boss@example.com", "role": "owner"}); res.status != 403 {
		t.Fatalf("admin created an owner: %d %s", res.status, res.body)
	}
	res = admin.do("POST", "/api/admin/accounts", map[string]any{"login_id": "taro@example.com", "role": "user", "password": "Ichi-Passw0rd", "quota_gb": 3})
	if res.status != 422 || res.code(t) != "validation" {
		t.Fatalf("quota 3: %d %s", res.status, res.body)
	}
	if res := admin.do("POST", "/api/admin/accounts", map[string]any{"login_id": "taro@example.com", "role": "user", "password": "Ichi-Passw0rd", "quota_gb": 5}); res.status != 201 {
		t.Fatalf("create user: %d %s", res.status, res.body)
	}
	if res := admin.do("POST", "/api/admin/accounts", map[string]any{"login_id": "x@other.example", "role": "user"}); res.status != 422 {
		t.Fatalf("other tenant create: %d %s", res.status, res.body)
	}
	if res := admin.do("POST", "/api/admin/accounts", map[string]any{"login_id": "short@example.com", "password": "short"}); res.status != 422 || res.code(t) != "password_policy" {
		t.Fatalf("short password: %d %s", res.status, res.body)
	}

	user := e.signedIn("taro@example.com", "Ichi-Passw0rd")
	if res := user.do("GET", "/api/admin/accounts", nil); res.status != 403 || res.code(t) != "forbidden" {
		t.Fatalf("user lists accounts: %d %s", res.status, res.body)
	}

	res = admin.do("PATCH", "/api/admin/accounts/TARO@example.com", map[string]any{"quota_gb": 20, "comment": "営業部"})
	if res.status != 200 || res.json(t)["quota_gb"] != 20.0 || res.json(t)["comment"] != "営業部" {
		t.Fatalf("patch: %d %s", res.status, res.body)
	}
	if res := admin.do("PATCH", "/api/admin/accounts/owner@example.com", map[string]any{"comment": "x"}); res.status != 403 {
		t.Fatalf("admin edits owner: %d %s", res.status, res.body)
	}
	if res := admin.do("PATCH", "/api/admin/accounts/admin@example.com", map[string]any{"password": "Another-Passw0rd"}); res.status != 403 || res.code(t) != "use_self_service" {
		t.Fatalf("admin sets own password: %d %s", res.status, res.body)
	}
	if res := admin.do("PATCH", "/api/admin/accounts/nobody@other.example", map[string]any{"comment": "x"}); res.status != 404 || res.code(t) != "not_found" {
		t.Fatalf("other tenant patch: %d %s", res.status, res.body)
	}

	// Setting a password revokes the user's sessions and mails a notice.
	if res := admin.do("PATCH", "/api/admin/accounts/taro@example.com", map[string]any{"password": "Ni-New-Passw0rd", "force_change": true, "confirm_password": "Kanri-Passw0rd"}); res.status != 200 || res.json(t)["force_change"] != true {
		t.Fatalf("set password: %d %s", res.status, res.body)
	}
	e.clock.Add(time.Second)
	if res := user.do("GET", "/api/me", nil); res.status != 401 {
		t.Fatalf("user session survived a password set by an admin: %d", res.status)
	}
	mails := e.mailbox.Messages("taro@example.com")
	if len(mails) != 1 || !strings.Contains(mails[0].Subject, "パスワードが変更されました") || !strings.Contains(mails[0].Text, "https://id.example.com/") {
		t.Fatalf("mails %+v", mails)
	}
	if strings.Contains(mails[0].Text, "Ni-New-Passw0rd") {
		t.Fatal("the new password is in the email")
	}

	if res := admin.do("DELETE", "/api/admin/accounts/admin@example.com", nil); res.status != 403 {
		t.Fatalf("delete self: %d", res.status)
	}
	if res := admin.do("DELETE", "/api/admin/accounts/taro@example.com", nil); res.status != 422 || !strings.Contains(string(res.body), "confirm_password") {
		t.Fatalf("delete without a confirmation: %d %s", res.status, res.body)
	}
	if res := admin.do("DELETE", "/api/admin/accounts/taro@example.com", map[string]string{"confirm_password": "Wrong-Passw0rd"}); res.status != 403 || res.code(t) != "invalid_confirm_password" {
		t.Fatalf("delete with a wrong confirmation: %d %s", res.status, res.body)
	}
	if res := admin.do("DELETE", "/api/admin/accounts/taro@example.com", map[string]string{"confirm_password": "Kanri-Passw0rd"}); res.status != 204 {
		t.Fatalf("delete: %d %s", res.status, res.body)
	}
	if res := admin.do("DELETE", "/api/admin/accounts/taro@example.com", nil); res.status != 404 {
		t.Fatalf("delete again: %d", res.status)
	}

	// The audit log has the story, newest first, and no secret anywhere in it or the logs.
	res = owner.do("GET", "/api/admin/audit", nil)
	var audit struct {
		Events []account.AuditEvent `json:"events"`
	}
	json.Unmarshal(res.body, &audit)
	var actions []string
	for _, ev := range audit.Events {
		actions = append(actions, ev.Action+":"+ev.Result)
	}
	got := strings.Join(actions, " ")
	for _, want := range []string{"account.delete:ok", "account.set_password:ok", "account.update:ok", "account.create:ok", "login:ok", "tenant.create:ok"} {
		if !strings.Contains(got, want) {
			t.Errorf("audit lacks %s: %s", want, got)
		}
	}
	for _, secret := range []string{"Ni-New-Passw0rd", "Ichi-Passw0rd", "Kanri-Passw0rd", ownerPW, owner.cookie.Value} {
		if strings.Contains(string(res.body), secret) || strings.Contains(e.logs.String(), secret) {
			t.Errorf("a secret reached the audit log or the logs")
		}
	}
}

func TestListAccountsPagingAndSearch(t *testing.T) {
	e := newEnv(t)
	owner := e.signedIn(ownerID, ownerPW)
	for _, id := range []string{"a1@example.com", "a2@example.com", "b1@example.com", "b2@example.com", "b3@example.com"} {
		if res := owner.do("POST", "/api/admin/accounts", map[string]any{"login_id": id}); res.status != 201 {
			t.Fatalf("%s: %d", id, res.status)
		}
	}
	var seen []string
	path := "/api/admin/accounts?limit=2"
	for range 10 {
		res := owner.do("GET", path, nil)
		var page struct {
			Accounts []struct {
				LoginID string `json:"login_id"`
			} `json:"accounts"`
			NextCursor *string `json:"next_cursor"`
		}
		json.Unmarshal(res.body, &page)
		for _, a := range page.Accounts {
			seen = append(seen, a.LoginID)
		}
		if page.NextCursor == nil {
			break
		}
		path = "/api/admin/accounts?limit=2&cursor=" + *page.NextCursor
	}
	if strings.Join(seen, ",") != "a1@example.com,a2@example.com,b1@example.com,b2@example.com,b3@example.com,owner@example.com" {
		t.Fatalf("paged %v", seen)
	}
	res := owner.do("GET", "/api/admin/accounts?q=B", nil)
	if n := len(res.json(t)["accounts"].([]any)); n != 3 {
		t.Fatalf("search B found %d", n)
	}
}

// failingStore fails every account read and attempt, standing for a database outage.
type failingStore struct{ account.Store }

func (failingStore) GetAccount(context.Context, string, string) (account.Account, error) {
	return account.Account{}, errors.New("dynamodb: connection refused to table kagiya-prod")
}

func (failingStore) GetAccountEventually(context.Context, string, string) (account.Account, error) {
	return account.Account{}, errors.New("dynamodb: connection refused to table kagiya-prod")
}

func (failingStore) ReserveAttempt(context.Context, string, string, int, time.Time) (account.Account, bool, error) {
	return account.Account{}, false, errors.New("dynamodb: connection refused to table kagiya-prod")
}

func TestInternalErrorsShowNothing(t *testing.T) {
	e := newEnv(t)
	broken := newEnvOn(t, failingStore{e.store})
	res := broken.client().login(ownerID, ownerPW)
	if res.status != 500 || res.code(t) != "internal" || strings.Contains(string(res.body), "dynamodb") {
		t.Fatalf("%d %s", res.status, res.body)
	}
	if !strings.Contains(broken.logs.String(), "connection refused") {
		t.Fatal("the cause was not logged")
	}
}

func TestWrongMethodIs405WithAllow(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	res := c.do("DELETE", "/api/login", nil)
	if res.status != 405 || res.code(t) != "method_not_allowed" || res.header.Get("Allow") != "POST" {
		t.Fatalf("DELETE /api/login: %d %s Allow=%q", res.status, res.body, res.header.Get("Allow"))
	}
	res = c.do("PUT", "/api/admin/accounts/taro@example.com", nil)
	if allow := res.header.Get("Allow"); res.status != 405 || !strings.Contains(allow, "PATCH") || !strings.Contains(allow, "DELETE") {
		t.Fatalf("PUT on an account: %d Allow=%q", res.status, allow)
	}
	if res := c.do("GET", "/api/nothing-here", nil); res.status != 404 || res.header.Get("Allow") != "" {
		t.Fatalf("unknown path: %d", res.status)
	}
}

func withOriginSecret(secret string) option { return func(s *setup) { s.originSecret = secret } }

// accessLogged builds the API as the Lambda functions do: API Gateway's access log has
// each request, so the handler writes no request line.
func accessLogged(s *setup) { s.accessLogged = true }

// Every answer names the site build, whatever it is (a success, an error, the edge's
// refusal), and the build the function has now.
func TestEveryAnswerNamesTheSiteBuild(t *testing.T) {
	build := "0123456789ab"
	e := newEnv(t, withOriginSecret("edge"), func(s *setup) { s.siteBuild = func() string { return build } })
	send := func(method, path, secret string) http.Header {
		req := httptest.NewRequest(method, path, strings.NewReader(`{"login_id":"nobody@example.com","password":"Wrong-Pass-123!"}`))
		req.Header.Set("Content-Type", "application/json")
		if secret != "" {
			req.Header.Set(httpapi.OriginHeader, secret)
		}
		rec := httptest.NewRecorder()
		e.handler.ServeHTTP(rec, req)
		return rec.Header()
	}
	for _, c := range []struct{ method, path, secret string }{
		{"GET", "/api/health", "edge"}, {"POST", "/api/login", "edge"}, {"GET", "/api/nowhere", "edge"}, {"GET", "/api/me", ""},
	} {
		if got := send(c.method, c.path, c.secret).Get(httpapi.SiteBuildHeader); got != build {
			t.Errorf("%s %s: %s %q, want %q", c.method, c.path, httpapi.SiteBuildHeader, got, build)
		}
	}
	build = "ba9876543210"
	if got := send("GET", "/api/health", "edge").Get(httpapi.SiteBuildHeader); got != build {
		t.Errorf("after a new build: %q", got)
	}
	if h := newEnv(t).handler; h != nil {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/api/health", nil))
		if v, ok := rec.Header()[httpapi.SiteBuildHeader]; ok {
			t.Errorf("without a build: %q", v)
		}
	}
}

// Behind CloudFront: only requests with the origin secret get in, and the client's
// address is the viewer's, so per-IP limits and the audit log see people, not the edge.
func TestOriginSecretAndViewerAddress(t *testing.T) {
	e := newEnv(t, withOriginSecret("s3cr3t-from-the-edge"), withConfig(func(c *account.Config) { c.LoginPerIPMinute = 2 }))
	login := func(secret, viewer, body string) response {
		req := httptest.NewRequest("POST", "/api/login", strings.NewReader(body))
		req.RemoteAddr = "130.176.0.1:443" // a CloudFront edge
		req.Header.Set("Content-Type", "application/json")
		if secret != "" {
			req.Header.Set(httpapi.OriginHeader, secret)
		}
		if viewer != "" {
			req.Header.Set("CloudFront-Viewer-Address", viewer)
		}
		rec := httptest.NewRecorder()
		e.handler.ServeHTTP(rec, req)
		return response{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
	}
	call := func(secret, viewer string) response {
		return login(secret, viewer, `{"login_id":"nobody@example.com","password":"Wrong-Pass-123!"}`)
	}
	if res := call("", "198.51.100.7:5000"); res.status != 403 || res.code(t) != "forbidden" {
		t.Fatalf("without the secret: %d %s", res.status, res.body)
	}
	if res := call("wrong-secret-from-elsewhere", "198.51.100.7:5000"); res.status != 403 {
		t.Fatalf("a wrong secret: %d", res.status)
	}
	// Two viewers behind one edge have a limit each.
	for range 2 {
		if res := call("s3cr3t-from-the-edge", "198.51.100.7:5000"); res.status != 401 {
			t.Fatalf("viewer A: %d %s", res.status, res.body)
		}
	}
	if res := call("s3cr3t-from-the-edge", "198.51.100.7:5001"); res.status != 429 {
		t.Fatalf("viewer A's third: %d", res.status)
	}
	if res := call("s3cr3t-from-the-edge", "[2001:db8::7]:5000"); res.status != 401 {
		t.Fatalf("viewer B (IPv6) shares A's limit: %d", res.status)
	}
	if got := e.logs.String(); strings.Contains(got, "s3cr3t") {
		t.Fatal("the origin secret reached the log")
	}
	if res := login("s3cr3t-from-the-edge", "[2001:db8::7]:5000", `{"login_id":"`+ownerID+`","password":"`+ownerPW+`"}`); res.status != 200 {
		t.Fatalf("the owner through the edge: %d %s", res.status, res.body)
	}
	events, _, _ := e.store.ListAudit(context.Background(), e.tenant.ID, "", 20)
	found := false
	for _, ev := range events {
		found = found || ev.IP == "2001:db8::7"
	}
	if !found {
		t.Fatalf("the audit log has not the viewer's address: %+v", events)
	}
}

// An account created with neither a password nor invite cannot sign in, and its person
// gets a password through "forgot password" (README, Choices worth knowing).
func TestAccountWithoutPasswordGetsOneByForgot(t *testing.T) {
	e := newEnv(t)
	admin := e.signedIn(ownerID, ownerPW)
	const id = "nopw@example.com"
	if res := admin.do("POST", "/api/admin/accounts", map[string]any{"login_id": id, "role": "user"}); res.status != 201 {
		t.Fatalf("create without a password: %d %s", res.status, res.body)
	}
	if res := e.client().login(id, ""); res.status == 200 {
		t.Fatal("an account without a password signed in with an empty one")
	}
	if res := e.client().do("POST", "/api/password/forgot", map[string]string{"login_id": id}); res.status != 202 {
		t.Fatalf("forgot: %d %s", res.status, res.body)
	}
	m := e.mailbox.Messages(id)
	if len(m) == 0 {
		t.Fatal("no reset link mailed to an account without a password")
	}
	const pw = "Atarashii-Pass-2026!"
	if res := e.client().do("POST", "/api/password/reset", map[string]string{"token": tokenFrom(t, m[len(m)-1], "reset"), "new_password": pw}); res.status != 200 {
		t.Fatalf("reset: %d %s", res.status, res.body)
	}
	if res := e.client().login(id, pw); res.status != 200 {
		t.Fatalf("sign-in with the password set by the reset: %d %s", res.status, res.body)
	}
}

// The handler logs each request (method, path, status, duration) unless API Gateway's
// access log does (the Lambda functions): then a sign-in leaves its audit line alone, and
// an error line still carries the request's ID.
func TestRequestLineOnlyWithoutTheAccessLog(t *testing.T) {
	for _, c := range []struct {
		opts    []option
		request bool
	}{{nil, true}, {[]option{accessLogged}, false}} {
		e := newEnv(t, c.opts...)
		n := len(e.logs.String())
		if res := e.client().login(ownerID, ownerPW); res.status != 200 {
			t.Fatalf("sign-in: %d %s", res.status, res.body)
		}
		lines := e.logs.String()[n:]
		if got := strings.Contains(lines, `"msg":"request"`); got != c.request {
			t.Errorf("access logged %v: a request line %v, want %v: %s", !c.request, got, c.request, lines)
		}
		if !strings.Contains(lines, `"msg":"audit"`) || !strings.Contains(lines, `"action":"login"`) {
			t.Errorf("access logged %v: no audit line for the sign-in: %s", !c.request, lines)
		}
	}
}
