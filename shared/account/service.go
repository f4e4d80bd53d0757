package account

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kagiya/kagiya/shared/mail"
	"github.com/kagiya/kagiya/shared/password"
)

// Store is the persistence the domain needs. Implementations must make each method atomic
// and return ErrNotFound / ErrConflict (possibly wrapped) for those conditions.
type Store interface {
	// CreateTenant stores a new tenant together with its first owner, atomically.
	CreateTenant(ctx context.Context, t Tenant, owner Account) error
	GetTenant(ctx context.Context, id string) (Tenant, error)
	// UpdateTenant replaces an existing tenant's settings.
	UpdateTenant(ctx context.Context, t Tenant) error

	CreateAccount(ctx context.Context, a Account) error
	GetAccount(ctx context.Context, tenantID, key string) (Account, error)
	// UpdateAccount writes a if the stored version still equals a.Version, and returns
	// what was stored (with the next version). A changed or missing account is ErrConflict
	// or ErrNotFound.
	UpdateAccount(ctx context.Context, a Account) (Account, error)
	DeleteAccount(ctx context.Context, tenantID, key string) error
	ListAccounts(ctx context.Context, tenantID string, q ListQuery) (accounts []Account, next string, err error)
	// RecordLogin notes a successful sign-in: last login time, failure counter back to 0.
	RecordLogin(ctx context.Context, tenantID, key string, at time.Time) error
	// ReserveAttempt counts one password attempt before it is checked, atomically: it
	// adds 1 to the failure counter only while the account is unlocked and the counter is
	// below threshold, and returns the new count. ok=false means no attempt is left.
	ReserveAttempt(ctx context.Context, tenantID, key string, threshold int) (count int, ok bool, err error)
	// Lock sets the lock at at if the account is unlocked and its counter has reached
	// threshold; it reports whether this call locked it (exactly one caller does).
	Lock(ctx context.Context, tenantID, key string, threshold int, at time.Time) (bool, error)
	// Unlock clears the lock and the counter. It is ErrConflict if the account was not
	// locked, and ErrNotFound if it does not exist.
	Unlock(ctx context.Context, tenantID, key string) error

	// CreateToken stores an emailed token (by its hash).
	CreateToken(ctx context.Context, t Token) error
	// ConsumeToken removes and returns the token with hash idHash if it has purpose and
	// has not expired at now; anything else (unknown, used, expired, other purpose) is
	// ErrNotFound. Two concurrent calls never both succeed.
	ConsumeToken(ctx context.Context, idHash, purpose string, now time.Time) (Token, error)
	// PeekToken returns the same token as ConsumeToken would, without using it up.
	PeekToken(ctx context.Context, idHash, purpose string, now time.Time) (Token, error)

	CreateSession(ctx context.Context, s Session) error
	GetSession(ctx context.Context, idHash string) (Session, error)
	TouchSession(ctx context.Context, idHash string, at time.Time) error
	DeleteSession(ctx context.Context, idHash string) error

	AppendAudit(ctx context.Context, e AuditEvent) error
	// ListAudit returns a tenant's events, newest first.
	ListAudit(ctx context.Context, tenantID, after string, limit int) (events []AuditEvent, next string, err error)

	// Hit counts one event against key in the fixed window that ends at windowEnd and
	// returns the count so far in that window.
	Hit(ctx context.Context, key string, windowEnd time.Time) (int, error)
}

// Config tunes the service. Zero values take the defaults noted.
type Config struct {
	Hash               password.Params // default password.Default
	SessionIdle        time.Duration   // default 30 minutes
	SessionMax         time.Duration   // default 12 hours
	LoginPerIPMinute   int             // per-IP login attempts a minute; default 300; <0 turns it off
	LoginPerAcctMinute int             // per-account login attempts a minute; default 30
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
}

// Service applies Kagiya's rules over a Store.
type Service struct {
	store     Store
	mailer    Mailer
	tmpl      *mail.Templates
	siteURL   string
	cfg       Config
	now       func() time.Time
	log       *slog.Logger
	dummyHash string
}

// NewService builds a Service.
func NewService(d Deps, cfg Config) (*Service, error) {
	cfg = cfg.withDefaults()
	dummy, err := password.Hash(cfg.Hash, "kagiya dummy password for unknown accounts")
	if err != nil {
		return nil, fmt.Errorf("dummy hash: %w", err)
	}
	return &Service{store: d.Store, mailer: d.Mailer, tmpl: d.Templates, siteURL: strings.TrimRight(d.SiteURL, "/"),
		cfg: cfg, now: d.Now, log: d.Log, dummyHash: dummy}, nil
}

// notify renders and sends one email; a failure is logged, not returned, since the change
// it reports has already happened.
func (s *Service) notify(ctx context.Context, kind string, a Account, data map[string]any) {
	lang := a.Language
	if lang == "" {
		if t, err := s.store.GetTenant(ctx, a.TenantID); err == nil {
			lang = t.Settings.Effective().Language
		}
	}
	if s.mailer == nil || s.tmpl == nil {
		s.log.ErrorContext(ctx, "mail not sent: no mailer configured", "kind", kind)
		return
	}
	data["LoginID"], data["SiteURL"] = a.LoginID, s.siteURL
	msg, err := s.tmpl.Render(kind, lang, a.LoginID, data)
	if err == nil {
		err = s.mailer.Send(ctx, msg)
	}
	if err != nil {
		s.log.ErrorContext(ctx, "mail not sent", "kind", kind, "err", err)
	}
}

// Principal is the signed-in caller of a request.
type Principal struct {
	Account Account
	Session Session
	CSRF    string
}

// LoginResult is a successful sign-in: the token goes into the session cookie. When the
// password must be changed first, ChangeReason ("forced" or "expired") and Challenge are
// set instead, and there is no session yet.
type LoginResult struct {
	Token        string
	CSRF         string
	Account      Account
	ChangeReason string
	Challenge    string
}

// Bootstrap creates tenant and owner for ownerEmail if that tenant does not exist yet.
// It reports whether it created them.
func (s *Service) Bootstrap(ctx context.Context, ownerEmail, ownerPassword string, settings Settings) (bool, error) {
	tenantID, ok := ParseLoginID(ownerEmail)
	if !ok {
		return false, codeErr(CodeValidation, FieldError{"login_id", "invalid"})
	}
	if _, err := s.store.GetTenant(ctx, tenantID); err == nil {
		return false, nil
	} else if !errors.Is(err, ErrNotFound) {
		return false, fmt.Errorf("bootstrap: %w", err)
	}
	hash, err := s.newPasswordHash(Account{LoginID: ownerEmail}, settings.Effective(), "password", ownerPassword)
	if err != nil {
		return false, err
	}
	now := s.now().UTC()
	t := Tenant{ID: tenantID, Settings: settings, CreatedAt: now}
	owner := Account{TenantID: tenantID, LoginID: ownerEmail, Role: RoleOwner, PasswordHash: hash,
		PasswordChangedAt: now, CreatedAt: now, UpdatedAt: now}
	if err := s.store.CreateTenant(ctx, t, owner); err != nil {
		if errors.Is(err, ErrConflict) {
			return false, nil
		}
		return false, fmt.Errorf("bootstrap: %w", err)
	}
	s.audit(ctx, AuditEvent{TenantID: tenantID, Actor: "system", Action: "tenant.create", Target: ownerEmail, Result: "ok"})
	return true, nil
}

// Login checks a login ID and password and opens a session. Every kind of failure that
// could tell an attacker something answers invalid_credentials after the same work.
func (s *Service) Login(ctx context.Context, loginID, plain, ip string) (LoginResult, error) {
	if len(loginID) > MaxLoginIDLen {
		return LoginResult{}, codeErr(CodeValidation, FieldError{"login_id", "too_long"})
	}
	if utf8.RuneCountInString(plain) > MaxPasswordLen {
		return LoginResult{}, codeErr(CodeValidation, FieldError{"password", "too_long"})
	}
	if err := s.throttle(ctx, "login-ip#"+ip, s.cfg.LoginPerIPMinute); err != nil {
		return LoginResult{}, err
	}
	tenantID, ok := ParseLoginID(loginID)
	key := Key(loginID)
	if ok {
		if err := s.throttle(ctx, "login-acct#"+key, s.cfg.LoginPerAcctMinute); err != nil {
			return LoginResult{}, err
		}
	}
	fail := func(reason string) (LoginResult, error) {
		s.audit(ctx, AuditEvent{TenantID: tenantID, Actor: loginID, Action: "login", Target: loginID, IP: ip, Result: "failed:" + reason})
		return LoginResult{}, codeErr(CodeInvalidCredentials)
	}
	var acct Account
	var err error
	if ok {
		acct, err = s.store.GetAccount(ctx, tenantID, key)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return LoginResult{}, fmt.Errorf("login: %w", err)
		}
	}
	if !ok || err != nil || acct.PasswordHash == "" {
		if ok {
			// The same store round trips as a known account's check, not only the same hash.
			s.store.GetTenant(ctx, tenantID)                  //nolint:errcheck
			s.store.ReserveAttempt(ctx, tenantID, key, 1<<30) //nolint:errcheck
		}
		s.burnDummy(plain)
		return fail("unknown")
	}
	if acct.Disabled {
		s.burnDummy(plain)
		return fail("disabled")
	}
	match, stale, err := s.checkPassword(ctx, &acct, plain, ip)
	if err != nil {
		return LoginResult{}, fmt.Errorf("login %s: %w", key, err)
	}
	switch {
	case acct.Locked():
		return fail("locked")
	case !match:
		return fail("password")
	}
	now := s.now().UTC()
	set, err := s.settingsOf(ctx, tenantID)
	if err != nil {
		return LoginResult{}, err
	}
	if err := s.store.RecordLogin(ctx, tenantID, key, now); err != nil {
		return LoginResult{}, fmt.Errorf("login: %w", err)
	}
	if stale {
		s.rehash(ctx, acct, preset(set).Normalized(plain))
	}
	if reason := changeReason(acct, set, now); reason != "" {
		challenge, err := s.issueToken(ctx, acct, PurposeChange, ChallengeTTL)
		if err != nil {
			return LoginResult{}, err
		}
		s.audit(ctx, AuditEvent{TenantID: tenantID, Actor: acct.LoginID, Action: "login", Target: acct.LoginID, IP: ip, Result: "password_change_required:" + reason})
		return LoginResult{Account: acct, ChangeReason: reason, Challenge: challenge}, nil
	}
	token, _, err := s.newSession(ctx, acct, now)
	if err != nil {
		return LoginResult{}, err
	}
	s.audit(ctx, AuditEvent{TenantID: tenantID, Actor: acct.LoginID, Action: "login", Target: acct.LoginID, IP: ip, Result: "ok"})
	acct.LastLoginAt = now
	return LoginResult{Token: token, CSRF: csrfFor(token), Account: acct}, nil
}

// burnDummy does the work of a password check for an account that cannot sign in, so the
// answer takes as long as for one that can.
func (s *Service) burnDummy(plain string) {
	password.Verify(s.cfg.Hash, s.dummyHash, plain) //nolint:errcheck // the dummy hash is well-formed
}

// rehash upgrades a hash made with older parameters; failure only costs the upgrade.
func (s *Service) rehash(ctx context.Context, acct Account, plain string) {
	h, err := password.Hash(s.cfg.Hash, plain)
	if err != nil {
		s.log.ErrorContext(ctx, "rehash", "err", err)
		return
	}
	// The sign-in has just written the account (attempt, last sign-in): start from there.
	if acct, err = s.store.GetAccount(ctx, acct.TenantID, acct.Key()); err != nil {
		s.log.WarnContext(ctx, "rehash not stored", "err", err)
		return
	}
	acct.PasswordHash = h
	if _, err := s.store.UpdateAccount(ctx, acct); err != nil {
		s.log.WarnContext(ctx, "rehash not stored", "err", err)
	}
}

func (s *Service) newSession(ctx context.Context, acct Account, now time.Time) (string, Session, error) {
	token, err := randomToken()
	if err != nil {
		return "", Session{}, err
	}
	sess := Session{IDHash: HashToken(token), TenantID: acct.TenantID, LoginKey: acct.Key(), Epoch: acct.SessionEpoch,
		CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(s.cfg.SessionMax)}
	if err := s.store.CreateSession(ctx, sess); err != nil {
		return "", Session{}, fmt.Errorf("create session: %w", err)
	}
	return token, sess, nil
}

// Authenticate resolves a session token to its principal. Anything wrong with the session
// (unknown, expired, idle too long, revoked, account gone, locked or disabled) is
// unauthenticated.
func (s *Service) Authenticate(ctx context.Context, token string) (Principal, error) {
	unauth := codeErr(CodeUnauthenticated)
	if token == "" || len(token) > 128 {
		return Principal{}, unauth
	}
	h := HashToken(token)
	sess, err := s.store.GetSession(ctx, h)
	if errors.Is(err, ErrNotFound) {
		return Principal{}, unauth
	} else if err != nil {
		return Principal{}, fmt.Errorf("authenticate: %w", err)
	}
	now := s.now().UTC()
	if !now.Before(sess.ExpiresAt) || now.Sub(sess.LastSeenAt) >= s.cfg.SessionIdle {
		return Principal{}, unauth
	}
	acct, err := s.store.GetAccount(ctx, sess.TenantID, sess.LoginKey)
	if errors.Is(err, ErrNotFound) {
		return Principal{}, unauth
	} else if err != nil {
		return Principal{}, fmt.Errorf("authenticate: %w", err)
	}
	if acct.Locked() || acct.Disabled || sess.Epoch != acct.SessionEpoch {
		return Principal{}, unauth
	}
	// Sliding idle expiry, written at most once a minute per session.
	if now.Sub(sess.LastSeenAt) > time.Minute {
		if err := s.store.TouchSession(ctx, h, now); err != nil {
			s.log.WarnContext(ctx, "touch session", "err", err)
		}
		sess.LastSeenAt = now
	}
	return Principal{Account: acct, Session: sess, CSRF: csrfFor(token)}, nil
}

// Logout revokes the session of token. An unknown token is not an error.
func (s *Service) Logout(ctx context.Context, p Principal, ip string) error {
	if err := s.store.DeleteSession(ctx, p.Session.IDHash); err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("logout: %w", err)
	}
	s.audit(ctx, AuditEvent{TenantID: p.Account.TenantID, Actor: p.Account.LoginID, Action: "logout", Target: p.Account.LoginID, IP: ip, Result: "ok"})
	return nil
}

// Tenant returns the principal's tenant.
func (s *Service) Tenant(ctx context.Context, p Principal) (Tenant, error) {
	t, err := s.store.GetTenant(ctx, p.Account.TenantID)
	if err != nil {
		return Tenant{}, fmt.Errorf("tenant %s: %w", p.Account.TenantID, err)
	}
	return t, nil
}

// CheckCSRF reports whether the header value matches the session's CSRF token.
func (p Principal) CheckCSRF(header string) bool {
	return header != "" && constantTimeEqual(header, p.CSRF)
}

func (s *Service) throttle(ctx context.Context, key string, perMinute int) error {
	if perMinute < 0 {
		return nil
	}
	now := s.now().UTC()
	end := now.Truncate(time.Minute).Add(time.Minute)
	n, err := s.store.Hit(ctx, key+"#"+end.Format("200601021504"), end)
	if err != nil {
		// Throttling is a defence in depth; an outage of its counter must not stop sign-in.
		s.log.WarnContext(ctx, "throttle counter", "err", err)
		return nil
	}
	if n > perMinute {
		return &Error{Code: CodeRateLimited, RetryAfter: end.Sub(now)}
	}
	return nil
}

func (s *Service) audit(ctx context.Context, e AuditEvent) {
	if e.At.IsZero() {
		e.At = s.now().UTC()
	}
	s.log.InfoContext(ctx, "audit", "tenant", e.TenantID, "actor", e.Actor, "action", e.Action,
		"target", e.Target, "ip", e.IP, "result", e.Result)
	if e.TenantID == "" {
		return // no tenant to file it under (say, a token nobody issued): the log keeps it
	}
	if err := s.store.AppendAudit(ctx, e); err != nil {
		s.log.ErrorContext(ctx, "audit not stored", "err", err, "action", e.Action)
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

func randomToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("random token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// Now is the service's clock.
func (s *Service) Now() time.Time { return s.now() }
