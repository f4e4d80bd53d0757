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
	"time"

	"github.com/kagiya/kagiya/shared/mail"
	"github.com/kagiya/kagiya/shared/password"
)

// Config tunes the flows. Zero values take the defaults noted.
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
	// AuditTableDays is how long the store keeps audit events (in DynamoDB, their
	// time-to-live: AUDIT_TABLE_DAYS, the template's AuditTableDays; default
	// DefaultAuditTableDays). The audit page and its export reach back that far; older
	// events are in the audit archive, for the operator.
	AuditTableDays int
}

// DefaultAuditTableDays is how long the table keeps audit events unless configured (as
// long as Okta keeps its System Log). The audit archive keeps them longer.
const DefaultAuditTableDays = 90

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
	if c.AuditTableDays <= 0 {
		c.AuditTableDays = DefaultAuditTableDays
	}
	return c
}

// Mailer delivers an email (SES in AWS, the dev mailbox locally).
type Mailer interface {
	Send(ctx context.Context, m mail.Message) error
}

// Deps are what the flows are built from.
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
	// Relying signs people in through their tenant's identity provider
	// (federation.Client); nil in the functions that do not (a start there answers
	// idp_unavailable).
	Relying Relying
	// LoopbackIssuers lets identity providers on loopback hosts use http (the local
	// server only).
	LoopbackIssuers bool
	// RP is the WebAuthn relying party of the site's origin (shared/passkey); nil: the
	// passkey endpoints answer unavailable.
	RP PasskeyRP
}

// The accounts' work is split by flow: SignIn, Recovery, SelfService, Admin, Bulk and
// Integrations. Each lists the components it uses (the audit log, the mailer, the tenant
// cache, the throttles, the lockout, the password rules, emailed links, known browsers,
// sign-in challenges, second factors, admission) and the store roles it touches itself;
// so sessions are touched only by sign-in and self-service, and throttling counters only
// by recovery.

// SignIn is the sign-in flow and sessions: Login, the steps after the password, the
// session of each request, sign-out; and the first tenant's creation.
type SignIn struct {
	*auditor
	*notifier
	*tenantCache
	*throttles
	*lockout
	*passwords
	*devices
	*challenges
	*admitter
	factors  *factors
	accounts Accounts
	attempts Attempts // a known browser's sign-in is recorded against it alone
	tenants  Tenants
	logins   Logins
	sessions Sessions
	schema   Schema
	cfg      Config // session lifetimes
	log      *slog.Logger
	now      func() time.Time
}

// Recovery is what a person without a session does: forgotten passwords, unlock links.
type Recovery struct {
	*auditor
	*notifier
	*tenantCache
	*throttles
	*accountStore
	*links
	*passwords
	*lockout
	*linkMailer
	*challenges
	factors  *factors
	accounts Accounts
	tokens   Tokens
	logins   Logins
	counters Counters
	cfg      Config // the per-IP limit
	siteURL  string
	log      *slog.Logger
	now      func() time.Time
}

// SelfService is what a signed-in person does to its own account.
type SelfService struct {
	*auditor
	*notifier
	*tenantCache
	*accountStore
	*passwords
	*lockout
	*devices
	*linkMailer
	factors  *factors
	accounts Accounts
	sessions Sessions
	logins   Logins // a login-ID change checks the new one is free
	cfg      Config // session lifetimes
	log      *slog.Logger
	now      func() time.Time
}

// Admin is the administration of a tenant's accounts, audit log and settings.
type Admin struct {
	*auditor
	*notifier
	*tenantCache
	*accountStore
	*passwords
	*lockout
	*domainHolders
	*linkMailer
	factors  *factors
	accounts Accounts
	attempts Attempts // an administrator's unlock
	auditLog AuditLog // read back for the audit page
	domains  Domains
	tenants  Tenants
	logins   Logins
	creds    Credentials // a deleted account's app passwords go with it
	sessions Sessions    // an account's page lists its sessions and ends one
	cfg      Config      // session lifetimes; how far back the audit log reaches (AuditTableDays)
	log      *slog.Logger
	now      func() time.Time
}

// Bulk checks and applies bulk CSV jobs, row by row.
type Bulk struct {
	*auditor
	*notifier
	*tenantCache
	*accountStore
	*passwords
	*domainHolders
	*linkMailer
	accounts Accounts
	tenants  Tenants
	logins   Logins
	siteURL  string
	log      *slog.Logger
	now      func() time.Time
}

// Integrations are what a tenant's other systems use: service credentials and the
// service check, app passwords, OpenID Connect clients and the provider's needs.
type Integrations struct {
	*auditor
	*notifier
	*tenantCache
	*throttles
	*accountStore
	*passwords
	*lockout
	*admitter
	devices   *devices // known mail clients' addresses are keyed with the device key
	seal      *sealer  // the provider's signing keys are kept sealed
	accounts  Accounts
	attempts  Attempts
	logins    Logins
	creds     Credentials
	cache     *credCache
	loginRefs *loginCache // where login IDs led (serviceAccount)
	log       *slog.Logger
	now       func() time.Time
}

// Flows are every flow, built from one set of dependencies (New).
type Flows struct {
	SignIn      *SignIn
	Recovery    *Recovery
	SelfService *SelfService
	Admin       *Admin
	Bulk        *Bulk
	// Integrations are service credentials, the service check and app passwords.
	Integrations *Integrations
	// Federation is sign-in through the tenant's identity provider, and its registration.
	Federation *Federation
	// Schema refuses a table written by a newer version of Kagiya.
	Schema *SchemaGuard
}

// New builds the components over the store's roles, and the flows from them.
func New(d Deps, cfg Config) (*Flows, error) {
	cfg = cfg.withDefaults()
	st, now, log := d.Store, d.Now, d.Log
	siteURL := strings.TrimRight(d.SiteURL, "/")
	resolver := d.Resolver
	if resolver == nil {
		resolver = &net.Resolver{}
	}
	tenants := newTenantCache(st, cfg.TenantCacheTTL, now)
	au := &auditor{auditLog: st, log: log, now: now}
	no := &notifier{mailer: d.Mailer, tmpl: d.Templates, siteURL: siteURL, tenants: tenants, log: log, now: now}
	th := &throttles{local: &minuteCounter{}, loginPerIPMinute: cfg.LoginPerIPMinute, loginPerAcctMinute: cfg.LoginPerAcctMinute, now: now}
	as := &accountStore{accounts: st}
	li := &links{tenantCache: tenants, tokens: st, accounts: st, log: log, now: now}
	pw := &passwords{accountStore: as, auditor: au, hash: cfg.Hash, dummyHash: password.Dummy(cfg.Hash), // no hash at start: a constant of the same cost
		histories: st, appPasswords: st, log: log, now: now}
	dv := &devices{keys: &serverKey{secrets: st, name: deviceKeyName}, log: log, now: now}
	lo := &lockout{accountStore: as, auditor: au, notifier: no, tenantCache: tenants, links: li, passwords: pw,
		accounts: st, attempts: st, grants: st, log: log, now: now}
	ch := &challenges{keys: &serverKey{secrets: st, name: flowKeyName}, accounts: st, now: now}
	dh := &domainHolders{domains: st, resolver: resolver, log: log}
	idps := &idpDirectory{domains: st, creds: st}
	lm := &linkMailer{accountStore: as, links: li, notifier: no, auditor: au, domainHolders: dh, idpDirectory: idps, siteURL: siteURL, now: now}
	seal := &sealer{load: d.SealKey}
	pk := &passkeyFactor{accountStore: as, auditor: au, notifier: no, tenantCache: tenants, store: st, rp: d.RP, log: log, now: now}
	fs := newFactors(as, au, no, th, seal, st, pk, log, now)
	ad := &admitter{settings: tenants.settingsOf, now: now, rules: admissionRules}
	signIn := &SignIn{auditor: au, notifier: no, tenantCache: tenants, throttles: th, lockout: lo, passwords: pw, devices: dv,
		challenges: ch, admitter: ad, factors: fs, accounts: st, attempts: st, tenants: st, logins: st, sessions: st, schema: st,
		cfg: cfg, log: log, now: now}
	var rp Relying = noRelying{}
	if d.Relying != nil {
		rp = d.Relying
	}
	return &Flows{
		SignIn: signIn,
		Federation: &Federation{auditor: au, tenantCache: tenants, throttles: th, accountStore: as, lockout: lo, admitter: ad,
			idpDirectory: idps, signIn: signIn, seal: seal, accounts: st, attempts: st, tenants: st, logins: st, creds: st, rp: rp,
			allowLoopback: d.LoopbackIssuers, flowKey: &serverKey{secrets: st, name: idpFlowKeyName}, siteURL: siteURL, log: log, now: now},
		Recovery: &Recovery{auditor: au, notifier: no, tenantCache: tenants, throttles: th, accountStore: as, links: li, passwords: pw,
			lockout: lo, linkMailer: lm, challenges: ch, factors: fs, accounts: st, tokens: st, logins: st, counters: st, cfg: cfg,
			siteURL: siteURL, log: log, now: now},
		SelfService: &SelfService{auditor: au, notifier: no, tenantCache: tenants, accountStore: as, passwords: pw, lockout: lo,
			devices: dv, linkMailer: lm, factors: fs, accounts: st, sessions: st, logins: st, cfg: cfg, log: log, now: now},
		Admin: &Admin{auditor: au, notifier: no, tenantCache: tenants, accountStore: as, passwords: pw, lockout: lo, domainHolders: dh,
			linkMailer: lm, factors: fs, accounts: st, attempts: st, auditLog: st, domains: st, tenants: st, logins: st, creds: st,
			sessions: st, cfg: cfg, log: log, now: now},
		Bulk: &Bulk{auditor: au, notifier: no, tenantCache: tenants, accountStore: as, passwords: pw, domainHolders: dh, linkMailer: lm,
			accounts: st, tenants: st, logins: st, siteURL: siteURL, log: log, now: now},
		Integrations: &Integrations{auditor: au, notifier: no, tenantCache: tenants, throttles: th, accountStore: as, passwords: pw,
			lockout: lo, admitter: ad, devices: dv, seal: seal, accounts: st, attempts: st, logins: st, creds: st, cache: &credCache{},
			loginRefs: &loginCache{}, log: log, now: now},
		Schema: NewSchemaGuard(st),
	}, nil
}

// Now is the flows' clock.
func (s *Flows) Now() time.Time { return s.SignIn.now() }

// CheckCSRF reports whether the header value matches the session's CSRF token.
func (p Principal) CheckCSRF(header string) bool {
	return header != "" && constantTimeEqual(header, p.CSRF)
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
