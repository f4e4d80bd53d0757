package account

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/kagiya/kagiya/shared/mail"
)

// Kagiya as the password authority of a tenant's other systems: service credentials
// that let a trusted service (a mail server) check passwords, and the app passwords that
// people with a second factor give their mail clients (docs/api.md, "Integration").

// The integrations' limits.
const (
	MaxServiceCredentials = 20
	MaxAppPasswords       = 20
	maxCredentialName     = 60
	// serviceCacheTTL is how long an instance trusts a service credential it has read:
	// a revocation takes at most this long to reach every instance.
	serviceCacheTTL = 30 * time.Second
	// touchEvery bounds the writes that note a service credential's last use.
	touchEvery = time.Minute
	// appPasswordTouchEvery is the same for app passwords, which a mail client uses each
	// time it connects: the list shows the last use to the hour.
	appPasswordTouchEvery = time.Hour
)

// Protocols a service may name in a check.
var protocols = map[string]bool{"imap": true, "smtp": true, "pop3": true, "other": true}

// IssuedCredential is a credential with its secret, which is shown once.
type IssuedCredential struct {
	Credential
	Secret string
}

func requireOwner(p Principal) error {
	if p.Account.Role != RoleOwner {
		return codeErr(CodeForbidden)
	}
	return nil
}

// credentialName checks a credential's name (a service credential's, an OIDC client's,
// an app password's): 1 to 60 characters, trimmed, and no control characters (nameErr).
func credentialName(name string) (string, error) {
	if err := nameErr(name); err != nil {
		return "", err
	}
	name = strings.TrimSpace(name)
	if name == "" || utf8.RuneCountInString(name) > maxCredentialName || !utf8.ValidString(name) {
		return "", codeErr(CodeValidation, FieldError{"name", "invalid"})
	}
	return name, nil
}

// CreateServiceCredential makes a service credential for the owner's tenant, confirmed
// with the owner's password. The secret names its tenant and credential
// ("<tenant_id>.<credential_id>.<random>"), so a check finds it in one read.
func (s *Integrations) CreateServiceCredential(ctx context.Context, p Principal, name, confirm, ip string) (IssuedCredential, error) {
	if err := requireOwner(p); err != nil {
		return IssuedCredential{}, err
	}
	name, err := credentialName(name)
	if err != nil {
		return IssuedCredential{}, err
	}
	if err := s.confirmOwn(ctx, p, confirm, ip, "service_credential.create"); err != nil {
		return IssuedCredential{}, err
	}
	tid := p.Account.TenantID
	have, err := s.creds.ListCredentials(ctx, CredService, tid)
	if err != nil {
		return IssuedCredential{}, fmt.Errorf("list service credentials: %w", err)
	}
	if len(have) >= MaxServiceCredentials {
		return IssuedCredential{}, codeErr(CodeValidation, FieldError{"name", "too_many"})
	}
	id, err := newID("svc_")
	if err != nil {
		return IssuedCredential{}, err
	}
	random, err := randomToken()
	if err != nil {
		return IssuedCredential{}, err
	}
	secret := tid + "." + id + "." + random
	c := Credential{Kind: CredService, Owner: tid, ID: id, TenantID: tid, Name: name, SecretHash: HashToken(secret),
		CreatedBy: p.Account.LoginID, CreatedAt: s.now().UTC()}
	if err := s.creds.CreateCredential(ctx, c); err != nil {
		return IssuedCredential{}, fmt.Errorf("store service credential: %w", err)
	}
	s.audit(ctx, AuditEvent{TenantID: tid, Actor: p.Account.LoginID, Action: "service_credential.create", Target: name, TargetID: id, IP: ip, Result: "ok"})
	return IssuedCredential{Credential: c, Secret: secret}, nil
}

// ListServiceCredentials returns the owner's tenant's service credentials.
func (s *Integrations) ListServiceCredentials(ctx context.Context, p Principal) ([]Credential, error) {
	if err := requireOwner(p); err != nil {
		return nil, err
	}
	cs, err := s.creds.ListCredentials(ctx, CredService, p.Account.TenantID)
	if err != nil {
		return nil, fmt.Errorf("list service credentials: %w", err)
	}
	return cs, nil
}

// DeleteServiceCredential revokes one, confirmed with the owner's password. Instances
// that read it in the last 30 seconds may accept it that much longer.
func (s *Integrations) DeleteServiceCredential(ctx context.Context, p Principal, id, confirm, ip string) error {
	if err := requireOwner(p); err != nil {
		return err
	}
	c, err := s.creds.GetCredential(ctx, CredService, p.Account.TenantID, id)
	if errors.Is(err, ErrNotFound) {
		return codeErr(CodeNotFound)
	} else if err != nil {
		return fmt.Errorf("service credential: %w", err)
	}
	if err := s.confirmOwn(ctx, p, confirm, ip, "service_credential.delete"); err != nil {
		return err
	}
	if err := s.creds.DeleteCredential(ctx, CredService, c.Owner, c.ID); err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("delete service credential: %w", err)
	}
	s.cache.drop(c.ID)
	s.audit(ctx, AuditEvent{TenantID: c.TenantID, Actor: p.Account.LoginID, Action: "service_credential.delete", Target: c.Name, TargetID: c.ID, IP: ip, Result: "ok"})
	return nil
}

// ServiceCheck is what a trusted service asks: may this person in, by this protocol?
type ServiceCheck struct {
	LoginID  string
	Password string
	Protocol string
	ClientIP string
}

// ServiceAnswer is who the person is, for the service.
type ServiceAnswer struct {
	AccountID string
	LoginID   string
	QuotaGB   int
}

// serviceCredential returns the live service credential a secret proves; anything else is
// invalid_service_credential.
func (s *Integrations) serviceCredential(ctx context.Context, secret string) (Credential, error) {
	invalid := codeErr(CodeInvalidServiceCredential)
	parts := strings.Split(secret, ".")
	if len(secret) > 200 || len(parts) != 3 || !strings.HasPrefix(parts[0], "ten_") || !strings.HasPrefix(parts[1], "svc_") {
		return Credential{}, invalid
	}
	now := s.now()
	c, ok := s.cache.get(parts[1], now)
	if !ok {
		var err error
		c, err = s.creds.GetCredential(ctx, CredService, parts[0], parts[1])
		if errors.Is(err, ErrNotFound) {
			s.log.WarnContext(ctx, "service check with an unknown credential", "credential", parts[1])
			return Credential{}, invalid
		} else if err != nil {
			return Credential{}, fmt.Errorf("service credential: %w", err)
		}
		s.cache.put(c, now)
	}
	if !constantTimeEqual(HashToken(secret), c.SecretHash) {
		s.audit(ctx, AuditEvent{TenantID: c.TenantID, Actor: "service:" + c.Name, Action: "service.verify", Target: c.Name, TargetID: c.ID, Result: "failed:service_credential"})
		return Credential{}, invalid
	}
	if now.Sub(c.LastUsedAt) > touchEvery {
		if err := s.creds.TouchCredential(ctx, CredService, c.Owner, c.ID, now.UTC()); errors.Is(err, ErrNotFound) {
			s.cache.drop(c.ID)
			return Credential{}, invalid // revoked meanwhile
		} else if err != nil {
			s.log.WarnContext(ctx, "touch service credential", "err", err)
		}
		c.LastUsedAt = now.UTC()
		s.cache.update(c)
	}
	return c, nil
}

// Verify answers a trusted service's password check. The secret must be a live service
// credential (invalid_service_credential). The person must be of the credential's tenant,
// enabled, unlocked and not due a password change, and give its password, or an app
// password; an account with a second factor passes only with an app password. Every
// refusal is invalid_credentials. Guesses count toward the lockout as a sign-in's do, and
// the sign-in's per-IP (the client_ip given) and per-account limits apply.
func (s *Integrations) Verify(ctx context.Context, secret string, in ServiceCheck) (ServiceAnswer, error) {
	svc, err := s.serviceCredential(ctx, secret)
	if err != nil {
		return ServiceAnswer{}, err
	}
	var fields []FieldError
	if in.LoginID == "" || len(in.LoginID) > MaxLoginIDLen {
		fields = append(fields, FieldError{"login_id", "invalid"})
	}
	if in.Password == "" || utf8.RuneCountInString(in.Password) > MaxPasswordLen {
		fields = append(fields, FieldError{"password", "invalid"})
	}
	if !protocols[in.Protocol] {
		fields = append(fields, FieldError{"protocol", "invalid"})
	}
	ip := in.ClientIP
	if addr, err := netip.ParseAddr(ip); err == nil {
		ip = addr.Unmap().String()
	} else if ip != "" {
		fields = append(fields, FieldError{"client_ip", "invalid"})
	}
	if len(fields) > 0 {
		return ServiceAnswer{}, codeErr(CodeValidation, fields...)
	}
	throttleIP := ip
	if throttleIP == "" {
		throttleIP = "service:" + svc.ID
	}
	key, wellFormed, err := s.throttleLogin(ctx, throttleIP, in.LoginID)
	if err != nil {
		return ServiceAnswer{}, err
	}
	ref := LoginRef{TenantID: "-", AccountID: "-"}
	var seen Account // the account as read before the check (eventually consistent)
	if wellFormed {
		var err error
		if ref, seen, err = s.serviceAccount(ctx, svc.TenantID, key); err != nil {
			return ServiceAnswer{}, fmt.Errorf("service check: %w", err)
		}
	}
	refuse := func(a Account, reason string) (ServiceAnswer, error) {
		shown := in.LoginID
		if !wellFormed {
			shown = "malformed:" + HashToken(in.LoginID)[:12]
		}
		s.audit(ctx, AuditEvent{TenantID: svc.TenantID, Actor: "service:" + svc.Name, Action: "service.verify", Target: shown, TargetID: a.ID, IP: ip,
			Result: "failed:" + in.Protocol + ":" + reason})
		return ServiceAnswer{}, codeErr(CodeInvalidCredentials)
	}
	if ref.AccountID != "-" {
		a := seen
		// App passwords are 75 random bits: guessing one is for the per-IP and
		// per-account limits above, not the lockout, so neither a right nor a wrong one
		// touches the counter, and a lock (guesses at the main password) does not stop
		// the person's mail clients. A suspension does.
		if norm, ok := normalizeAppPassword(in.Password); ok {
			c, err := s.matchAppPassword(ctx, a, norm)
			if err != nil {
				return ServiceAnswer{}, err
			}
			if c.ID != "" {
				_, err := s.admit(ctx, Attempt{Account: a, Method: MethodAppPassword, IP: ip})
				if r, refused := refusalOf(err); refused {
					ans, own := refuse(a, r.Reason)
					return ans, r.Answer(own)
				} else if err != nil {
					return ServiceAnswer{}, fmt.Errorf("service check: %w", err)
				}
				return s.appPasswordPassed(ctx, svc, a, c, in.Protocol, ip)
			}
			if a.HasSecondFactor() {
				s.burnDummy(in.Password) // as long as a password check
				return refuse(a, "app_password")
			}
			// Without a second factor, letters of that shape may be the main password.
		} else if a.HasSecondFactor() {
			// An account with a second factor (an app or a passkey) is not guessed at through its main
			// password here (the hash is never checked), so a mail client still set to
			// that password does not lock the person out (the second-factor admission
			// rule, said before the check).
			s.burnDummy(in.Password)
			return refuse(a, "app_password_required")
		}
	}
	// A mail client at an address where the main password passed before (in the
	// account's current epoch) is known: its guesses count against it alone, and guesses
	// from elsewhere that lock the account do not keep it out, as with a known browser.
	client := s.mailClient(ctx, seen, ip)
	var a Account
	var match, stale, known bool
	if epoch, ok := seen.MailClients[client]; ok && client != "" && epoch == seen.SessionEpoch {
		if a, match, stale, known, err = s.verifyKnown(ctx, ref, in.Password, ip, deviceCookie{ID: client, Epoch: epoch}); err != nil {
			return ServiceAnswer{}, fmt.Errorf("service check: %w", err)
		}
	}
	if !known {
		a, match, stale, err = s.verify(ctx, ref, in.Password, ip)
	}
	if err != nil {
		return ServiceAnswer{}, fmt.Errorf("service check: %w", err)
	}
	if !match {
		return refuse(a, refusal(ctx, a))
	}
	now := s.now().UTC()
	set, err := s.settingsOf(ctx, a.TenantID)
	if err != nil {
		return ServiceAnswer{}, err
	}
	if known {
		err = s.attempts.RecordDeviceLogin(ctx, a.TenantID, a.ID, client, now)
	} else {
		err = s.recordSuccess(ctx, a, now)
	}
	if err != nil {
		return ServiceAnswer{}, fmt.Errorf("service check: %w", err)
	}
	// The admission rules; a password change due, which a mail client cannot make, is
	// refused here.
	if _, err := s.admit(ctx, Attempt{Account: a, Method: MethodServicePassword, IP: ip, Known: known}.withSettings(set)); err != nil {
		if r, refused := refusalOf(err); refused {
			ans, own := refuse(a, r.Reason)
			return ans, r.Answer(own)
		}
		return ServiceAnswer{}, fmt.Errorf("service check: %w", err)
	}
	if stale && !importedBreaksRules(a, set, in.Password) {
		// A mail-only person may never sign in to the site: the check upgrades an
		// imported or older hash as a sign-in does (and, as a sign-in does, keeps an
		// imported password that breaks the rules for the change the site will ask).
		s.rehash(ctx, a, preset(set).Normalized(in.Password), ip)
	}
	if epoch, ok := a.MailClients[client]; client != "" && (!ok || epoch != a.SessionEpoch) {
		s.rememberMailClient(ctx, a, client)
	}
	how := "ok:" + in.Protocol
	if known {
		how += ":known_client"
	}
	s.audit(ctx, AuditEvent{TenantID: a.TenantID, Actor: "service:" + svc.Name, Action: "service.verify", Target: a.LoginID, TargetID: a.ID, IP: ip, Result: how})
	return ServiceAnswer{AccountID: a.ID, LoginID: a.LoginID, QuotaGB: a.QuotaGB}, nil
}

// serviceAccount finds the account a service check names by its login key, within the
// credential's tenant (another tenant's people are strangers here: "-"), and reads it
// eventually consistent. A mail server checks the same people again and again, so the
// instance keeps where each login ID led; the account read proves it still does (the
// login ID is still that account's), and a stale entry is looked up again.
func (s *Integrations) serviceAccount(ctx context.Context, tenantID, key string) (LoginRef, Account, error) {
	none := LoginRef{TenantID: "-", AccountID: "-"}
	if ref, ok := s.loginRefs.get(key); ok {
		a, err := s.accounts.GetAccountEventually(ctx, ref.TenantID, ref.AccountID)
		if err == nil && a.Key() == key && a.TenantID == tenantID {
			return ref, a, nil
		} else if err != nil && !errors.Is(err, ErrNotFound) {
			return none, Account{}, err
		}
		s.loginRefs.drop(key)
	}
	ref, err := s.logins.LookupLogin(ctx, key)
	if errors.Is(err, ErrNotFound) || err == nil && ref.TenantID != tenantID {
		return none, Account{}, nil
	} else if err != nil {
		return none, Account{}, err
	}
	a, err := s.accounts.GetAccountEventually(ctx, ref.TenantID, ref.AccountID)
	if errors.Is(err, ErrNotFound) {
		return ref, Account{}, nil // gone meanwhile: the check answers as for a stranger
	} else if err != nil {
		return none, Account{}, err
	}
	s.loginRefs.put(key, ref)
	return ref, a, nil
}

// loginCache keeps where login IDs led, for the service check; at most 10,000 entries
// (then it starts again), each proven by the account read that uses it.
type loginCache struct {
	mu sync.Mutex
	m  map[string]LoginRef
}

func (c *loginCache) get(key string) (LoginRef, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ref, ok := c.m[key]
	return ref, ok
}

func (c *loginCache) put(key string, ref LoginRef) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= 10_000 {
		c.m = map[string]LoginRef{}
	}
	c.m[key] = ref
}

func (c *loginCache) drop(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, key)
}

// MaxMailClients is how many addresses of known mail clients an account keeps.
const MaxMailClients = 8

// mailClient is the key of a mail client's address for a (its client_ip, keyed with the
// device key so that the account item holds no address), or "" when there is none.
func (s *Integrations) mailClient(ctx context.Context, a Account, ip string) string {
	if ip == "" || a.ID == "" {
		return ""
	}
	key, err := s.devices.keys.get(ctx)
	if err != nil {
		s.log.WarnContext(ctx, "mail client not recognised", "err", err)
		return ""
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte("kagiya-mail-client\x00" + a.ID + "\x00" + ip))
	return "m" + base64.RawURLEncoding.EncodeToString(m.Sum(nil))[:21]
}

// rememberMailClient notes that the main password passed from client in a's current
// epoch (a password change or reset moves it, and every address is unknown again). The
// latest MaxMailClients are kept. A failure costs only the recognition.
func (s *Integrations) rememberMailClient(ctx context.Context, a Account, client string) {
	_, err := s.updateRetrying(ctx, a, func(n *Account) {
		kept := map[string]int64{client: n.SessionEpoch}
		for k, epoch := range n.MailClients {
			if epoch == n.SessionEpoch && len(kept) < MaxMailClients {
				kept[k] = epoch
			}
		}
		n.MailClients = kept
	})
	if err != nil {
		s.log.WarnContext(ctx, "mail client not remembered", "account", a.ID, "err", err)
	}
}

// appPasswordPassed answers a right app password: no attempt is counted or recorded (the
// lockout is about the main password), its last use is written at most once an hour,
// and the check is audited. A right app password is 1 read (the login and the account,
// eventually consistent, 0.5 each) plus its list, and 1 write (the audit event).
func (s *Integrations) appPasswordPassed(ctx context.Context, svc Credential, a Account, c Credential, protocol, ip string) (ServiceAnswer, error) {
	now := s.now().UTC()
	if now.Sub(c.LastUsedAt) > appPasswordTouchEvery {
		if err := s.creds.TouchCredential(ctx, CredAppPassword, c.Owner, c.ID, now); err != nil && !errors.Is(err, ErrNotFound) {
			s.log.WarnContext(ctx, "touch app password", "err", err)
		}
	}
	s.audit(ctx, AuditEvent{TenantID: a.TenantID, Actor: "service:" + svc.Name, Action: "service.verify", Target: a.LoginID, TargetID: a.ID, IP: ip,
		Result: "ok:" + protocol + ":app_password " + c.Name})
	return ServiceAnswer{AccountID: a.ID, LoginID: a.LoginID, QuotaGB: a.QuotaGB}, nil
}

// App passwords are 16 lower-case letters (75 bits), shown in groups of four; any case,
// spaces and dashes are accepted back.
const appPasswordLen = 16

func newAppPassword() (string, error) {
	b := make([]byte, appPasswordLen)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("random app password: %w", err)
	}
	var out strings.Builder
	for i, c := range b {
		if i > 0 && i%4 == 0 {
			out.WriteByte('-')
		}
		out.WriteByte('a' + c%26) // 256 = 9×26+22: a bias of under 0.4 % per letter
	}
	return out.String(), nil
}

func normalizeAppPassword(s string) (string, bool) {
	if len(s) > 3*appPasswordLen {
		return "", false
	}
	var out strings.Builder
	for _, r := range strings.ToLower(s) {
		switch {
		case r == ' ' || r == '-':
		case r >= 'a' && r <= 'z':
			out.WriteRune(r)
		default:
			return "", false
		}
	}
	return out.String(), out.Len() == appPasswordLen
}

// appPasswordHash binds an app password to its account: the same letters elsewhere are
// another hash. App passwords carry 75 random bits, so a fast hash is enough.
func appPasswordHash(accountID, norm string) string {
	return HashToken("kagiya-app-password\x00" + accountID + "\x00" + norm)
}

// matchAppPassword returns a's app password with the normalized letters, or none.
//
// The list is read eventually consistent: an app password made or revoked a moment ago
// may be missing or still there for about a second, far less than a mail server's own
// cache of a right password (Dovecot's auth_cache_ttl).
func (s *Integrations) matchAppPassword(ctx context.Context, a Account, norm string) (Credential, error) {
	cs, err := s.creds.ListCredentialsEventually(ctx, CredAppPassword, a.ID)
	if err != nil {
		return Credential{}, fmt.Errorf("app passwords: %w", err)
	}
	h := appPasswordHash(a.ID, norm)
	var found Credential
	for _, c := range cs {
		if constantTimeEqual(h, c.SecretHash) {
			found = c
		}
	}
	return found, nil
}

// AppPasswords returns the principal's app passwords.
func (s *Integrations) AppPasswords(ctx context.Context, p Principal) ([]Credential, error) {
	cs, err := s.creds.ListCredentials(ctx, CredAppPassword, p.Account.ID)
	if err != nil {
		return nil, fmt.Errorf("app passwords: %w", err)
	}
	return cs, nil
}

// CreateAppPassword makes an app password for the principal, with its current password
// (an idp account, which has none, with a sign-in through its provider in the last
// IdPFreshFor: reauth); the password is returned once.
func (s *Integrations) CreateAppPassword(ctx context.Context, p Principal, name, current, ip string) (IssuedCredential, error) {
	name, err := credentialName(name)
	if err != nil {
		return IssuedCredential{}, err
	}
	a, err := s.reauth(ctx, p, current, ip, "app_password.create")
	if err != nil {
		return IssuedCredential{}, err
	}
	have, err := s.creds.ListCredentials(ctx, CredAppPassword, a.ID)
	if err != nil {
		return IssuedCredential{}, fmt.Errorf("app passwords: %w", err)
	}
	if len(have) >= MaxAppPasswords {
		return IssuedCredential{}, codeErr(CodeValidation, FieldError{"name", "too_many"})
	}
	id, err := newID("apw_")
	if err != nil {
		return IssuedCredential{}, err
	}
	plain, err := newAppPassword()
	if err != nil {
		return IssuedCredential{}, err
	}
	norm, _ := normalizeAppPassword(plain)
	c := Credential{Kind: CredAppPassword, Owner: a.ID, ID: id, TenantID: a.TenantID, Name: name,
		SecretHash: appPasswordHash(a.ID, norm), CreatedBy: a.LoginID, CreatedAt: s.now().UTC()}
	if err := s.creds.CreateCredential(ctx, c); err != nil {
		return IssuedCredential{}, fmt.Errorf("store app password: %w", err)
	}
	s.audit(ctx, AuditEvent{TenantID: a.TenantID, Actor: a.LoginID, Action: "app_password.create", Target: a.LoginID, TargetID: a.ID, IP: ip, Result: "ok:" + name})
	// An app password passes the service check without the second factor: the person
	// hears of each new one (a session taken over cannot add one unseen).
	set, err := s.settingsOf(ctx, a.TenantID)
	if err != nil {
		return IssuedCredential{}, err
	}
	s.notify(ctx, a, &mail.AppPassword{Name: name, When: s.formatTime(c.CreatedAt, set), IP: ip})
	return IssuedCredential{Credential: c, Secret: plain}, nil
}

// DeleteAppPassword revokes one of the principal's app passwords.
func (s *Integrations) DeleteAppPassword(ctx context.Context, p Principal, id, ip string) error {
	return s.revokeAppPassword(ctx, p.Account, p.Account, id, ip)
}

func (s *Integrations) revokeAppPassword(ctx context.Context, actor, a Account, id, ip string) error {
	c, err := s.creds.GetCredential(ctx, CredAppPassword, a.ID, id)
	if err == nil {
		err = s.creds.DeleteCredential(ctx, CredAppPassword, a.ID, id)
	}
	if errors.Is(err, ErrNotFound) {
		return codeErr(CodeNotFound)
	} else if err != nil {
		return fmt.Errorf("delete app password: %w", err)
	}
	s.audit(ctx, AuditEvent{TenantID: a.TenantID, Actor: actor.LoginID, Action: "app_password.delete", Target: a.LoginID, TargetID: a.ID, IP: ip, Result: "ok:" + c.Name})
	return nil
}

// AccountAppPasswords lists the app passwords of an account an administrator manages.
func (s *Integrations) AccountAppPasswords(ctx context.Context, p Principal, loginID string) ([]Credential, error) {
	a, err := s.managed(ctx, p, loginID)
	if err != nil {
		return nil, err
	}
	return s.AppPasswords(ctx, Principal{Account: a})
}

// RevokeAccountAppPassword revokes an app password of an account an administrator
// manages, confirmed with the administrator's own password.
func (s *Integrations) RevokeAccountAppPassword(ctx context.Context, p Principal, loginID, id, confirm, ip string) error {
	a, err := s.managed(ctx, p, loginID)
	if err != nil {
		return err
	}
	if err := s.confirmOwn(ctx, p, confirm, ip, "app_password.delete"); err != nil {
		return err
	}
	return s.revokeAppPassword(ctx, p.Account, a, id, ip)
}

// managed is an account of the principal's tenant that it may manage (or itself).
func (s *Integrations) managed(ctx context.Context, p Principal, loginID string) (Account, error) {
	if err := requireAdmin(p); err != nil {
		return Account{}, err
	}
	a, err := s.tenantAccount(ctx, s.logins, p.Account.TenantID, loginID)
	if err != nil {
		return Account{}, err
	}
	if a.ID != p.Account.ID && !canManage(p.Account.Role, a.Role) {
		return Account{}, codeErr(CodeForbidden)
	}
	return a, nil
}

// credCache keeps the service credentials an instance has read, for serviceCacheTTL.
type credCache struct {
	mu sync.Mutex
	m  map[string]cachedCred
}

type cachedCred struct {
	c  Credential
	at time.Time
}

func (c *credCache) get(id string, now time.Time) (Credential, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[id]
	if !ok || now.Sub(e.at) > serviceCacheTTL {
		return Credential{}, false
	}
	return e.c, true
}

func (c *credCache) put(cred Credential, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) > 1000 {
		c.m = map[string]cachedCred{}
	}
	c.m[cred.ID] = cachedCred{cred, now}
}

// update replaces a cached credential (its last use) without extending how long the
// read is trusted.
func (c *credCache) update(cred Credential) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[cred.ID]; ok {
		c.m[cred.ID] = cachedCred{cred, e.at}
	}
}

func (c *credCache) drop(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, id)
}
