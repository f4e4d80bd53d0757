package account

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/kagiya/kagiya/shared/mail"
	"github.com/kagiya/kagiya/shared/password"
)

// Config tunes the service. Zero values take the defaults noted.
type Config struct {
	Hash               password.Params // default password.Default
	SessionIdle        time.Duration   // default 30 minutes
	SessionMax         time.Duration   // default 12 hours
	LoginPerIPMinute   int             // per-IP login attempts a minute; default 300; <0 turns it off
	LoginPerAcctMinute int             // per-account login attempts a minute; default 30
	// RecoveryPerIPMinute limits forgot, reset and unlock requests per client IP a minute;
	// default 30; <0 turns it off.
	RecoveryPerIPMinute int
	// TenantCacheTTL is how long a function instance keeps a tenant's settings in memory
	// (default 30 seconds; a change made elsewhere takes at most that long to apply).
	TenantCacheTTL time.Duration
}

func (c Config) withDefaults() Config {
	if c.Hash == (password.Params{}) {
		c.Hash = password.Default
	}
	if c.SessionIdle <= 0 {
		c.SessionIdle = 30 * time.Minute
	}
	if c.SessionMax <= 0 {
		c.SessionMax = 12 * time.Hour
	}
	if c.LoginPerIPMinute == 0 {
		c.LoginPerIPMinute = 300
	}
	if c.LoginPerAcctMinute <= 0 {
		c.LoginPerAcctMinute = 30
	}
	if c.RecoveryPerIPMinute == 0 {
		c.RecoveryPerIPMinute = DefaultRecoveryPerIPMinute
	}
	if c.TenantCacheTTL == 0 {
		c.TenantCacheTTL = 30 * time.Second
	}
	return c
}

// Mailer delivers an email (SES in AWS, the dev mailbox locally).
type Mailer interface {
	Send(ctx context.Context, m mail.Message) error
}

// Deps are what the service is built from.
type Deps struct {
	Store     Store
	Mailer    Mailer
	Templates *mail.Templates
	Now       func() time.Time // the clock; time.Now in production
	Log       *slog.Logger
	SiteURL   string // base of every link in an email; never taken from a request
	// Resolver looks up the TXT records that prove a tenant's domains (nil: the
	// system's resolver).
	Resolver TXTResolver
	// SealKey gives the 32-byte AES key that seals second-factor secrets (in AWS from
	// KMS, locally from a key file); called until it succeeds once. Without it no one
	// can enrol or give a code (an internal error).
	SealKey func(ctx context.Context) ([]byte, error)
}

// The service is split by flow: SignIn, Recovery, SelfService, Admin and Bulk. Each keeps
// only the store roles it uses beside the kit they share (lockout, tokens, passwords,
// tenants, audit, mail); so sessions are touched only by sign-in and self-service,
// throttling counters only by recovery, and the login-ID index never by self-service.

// kit is what the flows share: the lockout check and the roles it needs, single-use
// tokens, password rules and history, the tenant cache, the audit log and the mailer.
type kit struct {
	accounts  Accounts
	domains   Domains     // which tenant holds a verified domain
	resolver  TXTResolver // proves a domain's claim
	attempts  Attempts
	histories Histories
	tokens    Tokens
	auditLog  AuditLog
	// appPasswords: a change of the main password may revoke the account's app passwords.
	appPasswords Credentials
	devices      *serverKey // signs device and remember-browser cookies
	flowKeys     *serverKey // signs sign-in challenges
	seal         *sealer    // seals second-factor secrets
	recovery     RecoveryCodes
	grants       Credentials // the applications an account signed in to (a lock ends them)
	settings     *settingsCache
	local        *minuteCounter
	mailer       Mailer
	tmpl         *mail.Templates
	siteURL      string
	cfg          Config
	now          func() time.Time
	log          *slog.Logger
	dummyHash    string
	admission    admitter // may this account get in now (admission.go)
	// factors are the second factors (factor.go), in the order sign-in offers them;
	// authenticator and recoveryCodes are two of them.
	factors       factorList
	authenticator *totpFactor
	recoveryCodes *recoveryCodes
}

// admit judges an attempt by the admission rules.
func (k *kit) admit(ctx context.Context, at Attempt) (Admission, error) {
	return k.admission.admit(ctx, at)
}

// SignIn is the sign-in flow and sessions: Login, the steps after the password, the
// session of each request, sign-out; and the first tenant's creation.
type SignIn struct {
	*kit
	tenants  Tenants
	logins   Logins
	sessions Sessions
	schema   Schema
}

// Recovery is what a person without a session does: forgotten passwords, unlock links.
type Recovery struct {
	*kit
	logins   Logins
	counters Counters
}

// SelfService is what a signed-in person does to its own account.
type SelfService struct {
	*kit
	sessions Sessions
	logins   Logins // a login-ID change checks the new one is free
}

// Admin is the administration of a tenant's accounts, audit log and settings.
type Admin struct {
	*kit
	tenants Tenants
	logins  Logins
	creds   Credentials // a deleted account's app passwords go with it
}

// Bulk checks and applies bulk CSV jobs, row by row.
type Bulk struct {
	*kit
	tenants Tenants
	logins  Logins
}

// Services are the flows, built from one set of dependencies.
type Services struct {
	SignIn      *SignIn
	Recovery    *Recovery
	SelfService *SelfService
	Admin       *Admin
	Bulk        *Bulk
	// Integrations are service credentials, the service check and app passwords.
	Integrations *Integrations
	// Schema refuses a table written by a newer version of Kagiya.
	Schema *SchemaGuard
}

// New builds the flows over the store's roles.
func New(d Deps, cfg Config) (*Services, error) {
	cfg = cfg.withDefaults()
	dummy := password.Dummy(cfg.Hash) // no hash at start: a constant of the same cost
	st := d.Store
	resolver := d.Resolver
	if resolver == nil {
		resolver = &net.Resolver{}
	}
	k := &kit{accounts: st, domains: st, resolver: resolver, attempts: st, histories: st, tokens: st, auditLog: st, recovery: st, appPasswords: st, grants: st,
		devices: &serverKey{secrets: st, name: deviceKeyName}, flowKeys: &serverKey{secrets: st, name: flowKeyName},
		seal:     &sealer{load: d.SealKey},
		settings: newSettingsCache(st, cfg.TenantCacheTTL), local: &minuteCounter{}, mailer: d.Mailer, tmpl: d.Templates,
		siteURL: strings.TrimRight(d.SiteURL, "/"), cfg: cfg, now: d.Now, log: d.Log, dummyHash: dummy}
	k.admission = admitter{settings: k.settingsOf, now: d.Now, rules: admissionRules}
	newFactors(k)
	return &Services{
		SignIn:       &SignIn{kit: k, tenants: st, logins: st, sessions: st, schema: st},
		Recovery:     &Recovery{kit: k, logins: st, counters: st},
		SelfService:  &SelfService{kit: k, sessions: st, logins: st},
		Admin:        &Admin{kit: k, tenants: st, logins: st, creds: st},
		Bulk:         &Bulk{kit: k, tenants: st, logins: st},
		Integrations: &Integrations{kit: k, logins: st, creds: st, cache: &credCache{}, loginRefs: &loginCache{}},
		Schema:       NewSchemaGuard(st),
	}, nil
}

// Now is the services' clock.
func (s *Services) Now() time.Time { return s.SignIn.now() }

// notify renders and sends one email; a failure is logged, not returned, since the change
// it reports has already happened.
func (k *kit) notify(ctx context.Context, a Account, e mail.Email) {
	lang := a.Language
	if lang == "" {
		if t, err := k.tenant(ctx, a.TenantID); err == nil {
			lang = t.Settings.Effective().Language
		}
	}
	if k.mailer == nil || k.tmpl == nil {
		k.log.ErrorContext(ctx, "mail not sent: no mailer configured", "kind", fmt.Sprintf("%T", e))
		return
	}
	msg, err := k.tmpl.Render(lang, mail.Recipient{LoginID: a.LoginID, SiteURL: k.siteURL}, e)
	if err == nil {
		err = k.mailer.Send(ctx, msg)
	}
	if err != nil {
		k.log.ErrorContext(ctx, "mail not sent", "kind", fmt.Sprintf("%T", e), "err", err)
	}
}

// CheckCSRF reports whether the header value matches the session's CSRF token.
func (p Principal) CheckCSRF(header string) bool {
	return header != "" && constantTimeEqual(header, p.CSRF)
}

// throttle counts one request against key in the current minute, in this instance's
// memory: per-minute limits on sign-in, forgot, reset and unlock cost no database write.
// Each function instance counts on its own, so across a fleet the limit is per instance;
// the edge (WAF rate rules) is where a deployment-wide per-IP limit belongs. What must
// hold across instances (lockout, reset emails an hour) is counted in the store.
func (k *kit) throttle(_ context.Context, key string, perMinute int) error {
	if perMinute < 0 {
		return nil
	}
	now := k.now().UTC()
	end := now.Truncate(time.Minute).Add(time.Minute)
	if n := k.local.hit(key, end); n > perMinute {
		return &Error{Code: CodeRateLimited, RetryAfter: end.Sub(now)}
	}
	return nil
}

// minuteCounter is a fixed-window counter in memory. The window's counts are dropped
// when the next window starts, so it holds at most one minute of keys.
type minuteCounter struct {
	mu     sync.Mutex
	end    time.Time
	counts map[string]int
}

// maxCounterKeys bounds the memory of one window; keys beyond it are not counted (a flood
// of distinct keys is the edge's job).
const maxCounterKeys = 100_000

func (c *minuteCounter) hit(key string, end time.Time) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !end.Equal(c.end) {
		c.end, c.counts = end, map[string]int{}
	}
	if _, ok := c.counts[key]; !ok && len(c.counts) >= maxCounterKeys {
		return 0
	}
	c.counts[key]++
	return c.counts[key]
}

func (k *kit) audit(ctx context.Context, e AuditEvent) {
	if e.At.IsZero() {
		e.At = k.now().UTC()
	}
	k.log.InfoContext(ctx, "audit", "tenant", e.TenantID, "actor", e.Actor, "action", e.Action,
		"target", e.Target, "ip", e.IP, "result", e.Result)
	if e.TenantID == "" {
		return // no tenant to file it under (say, a token nobody issued): the log keeps it
	}
	if err := k.auditLog.AppendAudit(ctx, e); err != nil {
		k.log.ErrorContext(ctx, "audit not stored", "err", err, "action", e.Action)
	}
}

// HashToken is how every secret token is stored: hex SHA-256. The tokens carry 256
// random bits, so a fast hash is enough.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

func csrfFor(token string) string {
	sum := sha256.Sum256([]byte("kagiya-csrf\x00" + token))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// newID returns a fresh opaque identifier: prefix and 128 random bits in lower-case
// base32, such as "acc_5x…" for accounts and "ten_…" for tenants.
func newID(prefix string) (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("random id: %w", err)
	}
	return prefix + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b)), nil
}

func randomToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("random token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}
