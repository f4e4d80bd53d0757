package account

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/kagiya/kagiya/shared/mail"
)

// Sign-in through the tenant's identity provider (docs/api.md): an owner registers the
// tenant's OpenID Connect provider for some of its verified domains; accounts of
// login_method "idp" in those domains then sign in there and nowhere else. The provider
// ("<tenant_id>.idp_…", kind CredIdP) keeps its client secret sealed. An account is
// found by the provider's subject once linked (kind CredIdPLink, owner the provider,
// ID a hash of the subject, and the same link on the account, so that one account is
// never linked to two people); it is linked on its first sign-in by the provider's
// verified email, among the tenant's idp accounts.

// Login methods of an account (its login_method; admission's Method names how an
// attempt proves itself, which for these is MethodPassword or MethodIdP).
const (
	LoginMethodPassword = "password"
	LoginMethodIdP      = "idp"
)

// Kinds of Credential for identity providers.
const (
	CredIdP     = "idp"      // a tenant's identity provider (owner: the tenant)
	CredIdPLink = "idp_link" // a person at a provider (owner: the provider's ID; ID: subjectKey)
)

// Limits of identity providers.
const (
	MaxIdentityProviders = 10
	maxIdPDomains        = 20
	maxClientField       = 500
	// IdPFlowTTL is how long a browser may take at its provider.
	IdPFlowTTL = 10 * time.Minute
	// IdPCallbackPath is the redirect URI's path (the owner registers SiteURL + it).
	IdPCallbackPath = "/api/login/idp/callback"
	idpFlowKeyName  = "idp-flow-key"
)

// IdPFreshFor is how recent a sign-in through the provider must be to stand for the
// current password where an idp account, which has none, changes its own account (an
// app password, a second factor, a passkey, ending its other sessions: lockout.reauth).
const IdPFreshFor = 10 * time.Minute

// IdPClockSkew is how far a provider's clock may be behind Kagiya's: a re-authentication
// (max_age=0) is refused when the ID token's auth_time is older than the flow's start by
// more than this.
const IdPClockSkew = time.Minute

// freshIdP confirms an idp account's own action with its session instead of a password:
// the session must have come through the provider (amr fed) and the person must have
// authenticated there (the ID token's auth_time, Session.IdPAuthAt) in the last
// IdPFreshFor. A session opened on the provider's single sign-on, with an older or no
// auth_time, does not stand for the password: the person signs in again with to=security,
// which asks the provider for a fresh login (max_age=0, prompt=login). Otherwise
// idp_reauth_required, audited under action.
func (au *auditor) freshIdP(ctx context.Context, p Principal, now time.Time, ip, action string) error {
	at := p.Session.IdPAuthAt
	if slices.Contains(p.Session.AMR, "fed") && !at.IsZero() && now.Sub(at) <= IdPFreshFor {
		return nil
	}
	au.audit(ctx, AuditEvent{TenantID: p.Account.TenantID, Actor: p.Account.LoginID, Action: action, Target: p.Account.LoginID,
		TargetID: p.Account.ID, IP: ip, Result: "failed:idp_reauth"})
	return codeErr(CodeIdPReauth)
}

// Codes of a federated sign-in that did not end in a session (the sign-in page words
// them; the callback never shows a provider's own error).
const (
	CodeIdPState           = "idp_state"            // the browser's flow is missing, forged, expired or another's
	CodeIdPUnavailable     = "idp_unavailable"      // the provider could not be reached
	CodeIdPRejected        = "idp_rejected"         // it refused the code (used or expired), or the answer named another issuer
	CodeIdPTokenInvalid    = "idp_token_invalid"    // its ID token did not verify (signature, issuer, audience, expiry, nonce)
	CodeIdPDenied          = "idp_denied"           // the person (or the provider) cancelled
	CodeIdPNoAccount       = "idp_no_account"       // no idp account of the tenant for this person
	CodeIdPWrongTenant     = "idp_wrong_tenant"     // the person's address is in a domain this provider does not serve here
	CodeIdPEmailUnverified = "idp_email_unverified" // first sign-in without a verified email
	CodeIdPAccountDisabled = "idp_account_disabled" // suspended
	// CodeIdPReauth: an idp account's own action that a password would confirm needs a
	// sign-in through the provider in the last IdPFreshFor.
	CodeIdPReauth = "idp_reauth_required"
)

// Relying is the relying party's side of a federated sign-in: package federation (only
// the functions that sign people in link it and its OpenID Connect libraries).
type Relying interface {
	// Start builds the authorization request for a sign-in at p, with a fresh state,
	// nonce and PKCE verifier; loginHint (optional) fills the provider's own form; reauth
	// asks the provider to authenticate the person again whatever its own session
	// (OpenID Connect Core 3.1.2.1: max_age=0 and prompt=login).
	Start(ctx context.Context, p IdPClient, loginHint string, reauth bool) (IdPRequest, error)
	// Finish exchanges the code and verifies the ID token (signature, issuer, audience,
	// expiry, nonce), and gives its auth_time if it has one. A refused code is
	// ErrIdPRejected, a token that does not verify ErrIdPTokenInvalid (which is also
	// ErrIdPRejected); a provider that cannot be reached ErrIdPUnavailable (both possibly
	// wrapped).
	Finish(ctx context.Context, p IdPClient, code, verifier, nonce string) (IdPIdentity, error)
}

// IdPClient is a registered provider as the relying party uses it: where it is and
// Kagiya's client there.
type IdPClient struct {
	Issuer       string
	ClientID     string
	ClientSecret string
	RedirectURI  string
}

// IdPRequest is the start of a sign-in: where the browser goes (URL) and what it must
// keep (State, Nonce, Verifier).
type IdPRequest struct {
	URL      string
	State    string
	Nonce    string
	Verifier string
}

// IdPIdentity is who the provider says signed in, and when they authenticated there
// (the ID token's auth_time; zero if it has none).
type IdPIdentity struct {
	Subject       string
	Email         string
	EmailVerified bool
	AuthTime      time.Time
}

// Errors of a Relying.
var (
	ErrIdPUnavailable = errors.New("identity provider unavailable")
	ErrIdPRejected    = errors.New("identity provider's answer rejected")
	// ErrIdPTokenInvalid: the provider's ID token (or its claims) did not verify.
	ErrIdPTokenInvalid = fmt.Errorf("%w: id token invalid", ErrIdPRejected)
)

// noRelying is the Relying of a function that signs no one in through a provider.
type noRelying struct{}

func (noRelying) Start(context.Context, IdPClient, string, bool) (IdPRequest, error) {
	return IdPRequest{}, fmt.Errorf("%w: no relying party in this function", ErrIdPUnavailable)
}

func (noRelying) Finish(context.Context, IdPClient, string, string, string) (IdPIdentity, error) {
	return IdPIdentity{}, fmt.Errorf("%w: no relying party in this function", ErrIdPUnavailable)
}

// CheckIssuer accepts an absolute https URL without query, fragment or user; http only
// for loopback hosts when allowLoopback (the local server).
func CheckIssuer(raw string, allowLoopback bool) error {
	bad := errors.New("issuer not allowed")
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil || len(raw) > 300 {
		return bad
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if h := u.Hostname(); allowLoopback && (h == "localhost" || net.ParseIP(h) != nil && net.ParseIP(h).IsLoopback()) {
			return nil
		}
	}
	return bad
}

// Federation is sign-in through a tenant's identity provider, and the providers' registration.
type Federation struct {
	*auditor
	*tenantCache
	*throttles
	*accountStore
	*lockout // confirmOwn: the owner's password confirms a registration
	*admitter
	*idpDirectory
	signIn        *SignIn // opens the session, as for a password sign-in
	seal          *sealer // client secrets are kept sealed
	accounts      Accounts
	attempts      Attempts
	tenants       Tenants
	logins        Logins
	creds         Credentials
	rp            Relying
	allowLoopback bool
	flowKey       *serverKey
	siteURL       string
	log           *slog.Logger
	now           func() time.Time
}

// idpDirectory finds the tenants' identity providers: by the domain they serve (the
// tenant that verified it), or all of a tenant's. Sign-in, administration, bulk files and
// invitations ask it.
type idpDirectory struct {
	domains Domains
	creds   Credentials
}

// providerFor returns the provider that serves a login ID's domain: the one of the
// tenant that verified the domain. None is ErrNotFound.
func (d *idpDirectory) providerFor(ctx context.Context, domain string) (Credential, error) {
	tid, err := d.domains.DomainHolder(ctx, domain)
	if err != nil {
		return Credential{}, err
	}
	cs, err := d.creds.ListCredentialsEventually(ctx, CredIdP, tid)
	if err != nil {
		return Credential{}, err
	}
	for _, c := range cs {
		if slices.Contains(c.Domains, domain) {
			return c, nil
		}
	}
	return Credential{}, ErrNotFound
}

// providedDomains are the domains a tenant's providers serve.
func (d *idpDirectory) providedDomains(ctx context.Context, tenantID string) (map[string]bool, error) {
	cs, err := d.creds.ListCredentials(ctx, CredIdP, tenantID)
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, c := range cs {
		for _, dom := range c.Domains {
			out[dom] = true
		}
	}
	return out, nil
}

// providerName is the name of the provider a's domain signs in with ("?" if none now).
func (d *idpDirectory) providerName(ctx context.Context, a Account) string {
	if domain, ok := ParseLoginID(a.LoginID); ok {
		if c, err := d.providerFor(ctx, domain); err == nil {
			return c.Name
		}
	}
	return "?"
}

// methodProblems checks a login method for an account of tenant tid in domain with
// role: an idp account needs a provider of the tenant for its domain, and is of role
// user (administrators confirm dangerous actions with their Kagiya password).
func (d *idpDirectory) methodProblems(ctx context.Context, tid, domain, method string, role Role) ([]FieldError, error) {
	switch method {
	case "", LoginMethodPassword:
		return nil, nil
	case LoginMethodIdP:
	default:
		return []FieldError{{"login_method", "invalid"}}, nil
	}
	var fields []FieldError
	c, err := d.providerFor(ctx, domain)
	switch {
	case errors.Is(err, ErrNotFound) || err == nil && c.TenantID != tid:
		fields = append(fields, FieldError{"login_method", "no_provider"})
	case err != nil:
		return nil, fmt.Errorf("identity provider: %w", err)
	}
	if role != RoleUser {
		fields = append(fields, FieldError{"login_method", "role"})
	}
	return fields, nil
}

// NewIdentityProvider is what an owner registers.
type NewIdentityProvider struct {
	Name         string
	Issuer       string
	ClientID     string
	ClientSecret string
	Domains      []string
}

// IdentityProvider is a registered provider as its owner sees it (no secret).
type IdentityProvider struct {
	ID          string
	Name        string
	Issuer      string
	ClientID    string
	Domains     []string
	RedirectURI string
	CreatedAt   time.Time
}

// RedirectURI is what the owner registers at the provider.
func (f *Federation) RedirectURI() string { return f.siteURL + IdPCallbackPath }

func (f *Federation) view(c Credential) IdentityProvider {
	return IdentityProvider{ID: c.ID, Name: c.Name, Issuer: c.Issuer, ClientID: c.ClientID, Domains: c.Domains,
		RedirectURI: f.RedirectURI(), CreatedAt: c.CreatedAt}
}

// CreateIdentityProvider registers a provider for the owner's tenant, confirmed with the
// owner's password. Its domains must be domains the tenant verified, each served by one
// provider of the tenant at most.
func (f *Federation) CreateIdentityProvider(ctx context.Context, p Principal, in NewIdentityProvider, confirm, ip string) (IdentityProvider, error) {
	if err := requireOwner(p); err != nil {
		return IdentityProvider{}, err
	}
	name, err := credentialName(in.Name)
	if err != nil {
		return IdentityProvider{}, err
	}
	tid := p.Account.TenantID
	t, err := f.tenants.GetTenant(ctx, tid)
	if err != nil {
		return IdentityProvider{}, fmt.Errorf("identity provider: %w", err)
	}
	have, err := f.creds.ListCredentials(ctx, CredIdP, tid)
	if err != nil {
		return IdentityProvider{}, fmt.Errorf("list identity providers: %w", err)
	}
	var fields []FieldError
	in.Issuer = strings.TrimRight(strings.TrimSpace(in.Issuer), "/")
	if CheckIssuer(in.Issuer, f.allowLoopback) != nil {
		fields = append(fields, FieldError{"issuer", "invalid"})
	}
	in.ClientID = strings.TrimSpace(in.ClientID)
	if in.ClientID == "" || len(in.ClientID) > maxClientField || strings.ContainsFunc(in.ClientID, invisible) {
		fields = append(fields, FieldError{"client_id", "invalid"})
	}
	if in.ClientSecret == "" || len(in.ClientSecret) > maxClientField {
		fields = append(fields, FieldError{"client_secret", "invalid"})
	}
	domains, dfields := f.idpDomains(t, have, in.Domains)
	fields = append(fields, dfields...)
	if len(have) >= MaxIdentityProviders {
		fields = append(fields, FieldError{"name", "too_many"})
	}
	if len(fields) > 0 {
		return IdentityProvider{}, codeErr(CodeValidation, fields...)
	}
	if err := f.confirmOwn(ctx, p, confirm, ip, "identity_provider.create"); err != nil {
		return IdentityProvider{}, err
	}
	id, err := newID("idp_")
	if err != nil {
		return IdentityProvider{}, err
	}
	id = tid + "." + id
	sealed, err := f.seal.sealFor(ctx, id, in.ClientSecret)
	if err != nil {
		return IdentityProvider{}, fmt.Errorf("identity provider: %w", err)
	}
	c := Credential{Kind: CredIdP, Owner: tid, ID: id, TenantID: tid, Name: name, CreatedBy: p.Account.LoginID,
		CreatedAt: f.now().UTC(), Issuer: in.Issuer, ClientID: in.ClientID, SealedSecret: sealed, Domains: domains}
	if err := f.creds.CreateCredential(ctx, c); err != nil {
		return IdentityProvider{}, fmt.Errorf("store identity provider: %w", err)
	}
	f.audit(ctx, AuditEvent{TenantID: tid, Actor: p.Account.LoginID, Action: "identity_provider.create", Target: name, TargetID: id, IP: ip,
		Result: "ok:" + in.Issuer + " " + strings.Join(domains, " ")})
	return f.view(c), nil
}

// idpDomains checks a new provider's domains: at least one, each verified by t and not
// served by another of its providers.
func (f *Federation) idpDomains(t Tenant, have []Credential, in []string) ([]string, []FieldError) {
	if len(in) == 0 || len(in) > maxIdPDomains {
		return nil, []FieldError{{"domains", "invalid"}}
	}
	var out []string
	var fields []FieldError
	for i, d := range in {
		d = strings.ToLower(strings.TrimSpace(d))
		field := fmt.Sprintf("domains[%d]", i)
		verified := slices.ContainsFunc(t.Claims, func(c DomainClaim) bool { return c.Domain == d && c.Verified() })
		switch {
		case !verified || !t.Allows(d):
			fields = append(fields, FieldError{field, "unverified"})
		case slices.Contains(out, d) || slices.ContainsFunc(have, func(c Credential) bool { return slices.Contains(c.Domains, d) }):
			fields = append(fields, FieldError{field, "taken"})
		default:
			out = append(out, d)
		}
	}
	return out, fields
}

// IdentityProviders returns the owner's tenant's providers.
func (f *Federation) IdentityProviders(ctx context.Context, p Principal) ([]IdentityProvider, error) {
	if err := requireOwner(p); err != nil {
		return nil, err
	}
	cs, err := f.creds.ListCredentials(ctx, CredIdP, p.Account.TenantID)
	if err != nil {
		return nil, fmt.Errorf("list identity providers: %w", err)
	}
	out := make([]IdentityProvider, 0, len(cs))
	for _, c := range cs {
		out = append(out, f.view(c))
	}
	return out, nil
}

// DeleteIdentityProvider removes a provider, confirmed with the owner's password: its
// accounts cannot sign in until another provider serves their domain (or their login
// method changes).
func (f *Federation) DeleteIdentityProvider(ctx context.Context, p Principal, id, confirm, ip string) error {
	if err := requireOwner(p); err != nil {
		return err
	}
	c, err := f.creds.GetCredential(ctx, CredIdP, p.Account.TenantID, id)
	if errors.Is(err, ErrNotFound) {
		return codeErr(CodeNotFound)
	} else if err != nil {
		return fmt.Errorf("identity provider: %w", err)
	}
	if err := f.confirmOwn(ctx, p, confirm, ip, "identity_provider.delete"); err != nil {
		return err
	}
	if err := f.creds.DeleteCredential(ctx, CredIdP, c.Owner, c.ID); err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("delete identity provider: %w", err)
	}
	f.audit(ctx, AuditEvent{TenantID: c.TenantID, Actor: p.Account.LoginID, Action: "identity_provider.delete", Target: c.Name, TargetID: c.ID, IP: ip, Result: "ok"})
	return nil
}

// Discovery is how a login ID signs in: Methods, and the provider's name and ID when
// "idp" is one.
type Discovery struct {
	Methods []string
	IdPID   string
	IdPName string
}

// Discover answers how a login ID signs in, from its domain alone: whether an account
// has it is never read, so the answer tells nothing about the account.
func (f *Federation) Discover(ctx context.Context, loginID string, ip string) (Discovery, error) {
	domain, ok := ParseLoginID(loginID)
	if !ok {
		return Discovery{}, codeErr(CodeValidation, FieldError{"login_id", "invalid"})
	}
	if err := f.throttle(ctx, "login-ip#"+ip, f.loginPerIPMinute); err != nil {
		return Discovery{}, err
	}
	c, err := f.providerFor(ctx, domain)
	if errors.Is(err, ErrNotFound) {
		return Discovery{Methods: []string{LoginMethodPassword}}, nil
	} else if err != nil {
		return Discovery{}, fmt.Errorf("discover: %w", err)
	}
	return Discovery{Methods: []string{LoginMethodIdP, LoginMethodPassword}, IdPID: c.ID, IdPName: c.Name}, nil
}

// methodNotice mails a person whose login method an administrator changed.
func (lm *linkMailer) methodNotice(ctx context.Context, a Account, now time.Time) {
	set, err := lm.settingsOf(ctx, a.TenantID)
	if err != nil {
		lm.notify(ctx, a, &mail.LoginMethodChanged{When: now.Format(time.RFC3339)}) // the tenant's time format unknown: still mailed
		return
	}
	e := &mail.LoginMethodChanged{When: lm.formatTime(now, set)}
	if a.UsesIdP() {
		e.IdP = lm.providerName(ctx, a)
	}
	lm.notify(ctx, a, e)
}

// idpFlow is what the browser carries to the provider and back, in a signed cookie:
// the provider, the state, nonce and PKCE verifier of this request, and its end.
type idpFlow struct {
	IdP      string `json:"p"`
	To       string `json:"t,omitempty"` // a key of IdPLandings: where the session lands, if not home
	OIDC     string `json:"o,omitempty"` // the application's authorization request it goes on with (AuthorizationID)
	Reauth   bool   `json:"r,omitempty"` // the provider was asked to authenticate the person again (max_age=0)
	Started  int64  `json:"b,omitempty"` // unix seconds: when the flow began
	State    string `json:"s"`
	Nonce    string `json:"n"`
	Verifier string `json:"v"`
	Expires  int64  `json:"e"`
}

func idpFlowMAC(key, payload []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("kagiya-idp-flow\x00"))
	m.Write(payload)
	return m.Sum(nil)
}

// provider returns a registered provider (ID "<tenant_id>.idp_…") with its secret opened.
func (f *Federation) provider(ctx context.Context, id string) (Credential, IdPClient, error) {
	tid, _, ok := strings.Cut(id, ".")
	if !ok || len(id) > 100 || !strings.HasPrefix(tid, "ten_") {
		return Credential{}, IdPClient{}, ErrNotFound
	}
	c, err := f.creds.GetCredential(ctx, CredIdP, tid, id)
	if err != nil {
		return Credential{}, IdPClient{}, err
	}
	secret, err := f.seal.openFor(ctx, c.ID, c.SealedSecret)
	if err != nil {
		return Credential{}, IdPClient{}, fmt.Errorf("identity provider secret: %w", err)
	}
	return c, IdPClient{Issuer: c.Issuer, ClientID: c.ClientID, ClientSecret: secret, RedirectURI: f.RedirectURI()}, nil
}

// IdPLandings are the pages other than home a federated sign-in may land on (the start's
// to), by key: the security page, where an idp account signs in again to make an app
// password (IdPFreshFor), and the sessions page, where it does to end its other sessions.
// Any other value lands home. A sign-in that lands on one of them stands for the
// password: it is a re-authentication (max_age=0, prompt=login), whose ID token must
// carry an auth_time no older than the flow's start.
var IdPLandings = map[string]string{"security": "/security.html", "sessions": "/sessions.html"}

// StartIdP begins a sign-in at a provider: the URL to send the browser to, and the
// signed cookie (its state, nonce and PKCE verifier, and to: a key of IdPLandings) that
// binds the way back to this browser. An unknown provider is not_found; one that cannot
// be reached idp_unavailable.
func (f *Federation) StartIdP(ctx context.Context, idpID, loginHint, to, authorization, ip string) (redirect, cookie string, err error) {
	if err := f.throttle(ctx, "login-ip#"+ip, f.loginPerIPMinute); err != nil {
		return "", "", err
	}
	if _, ok := ParseLoginID(loginHint); !ok {
		loginHint = ""
	}
	c, prov, err := f.provider(ctx, idpID)
	if errors.Is(err, ErrNotFound) {
		return "", "", codeErr(CodeNotFound)
	} else if err != nil {
		return "", "", err
	}
	if _, ok := IdPLandings[to]; !ok {
		to = ""
	}
	reauth := to != ""
	if reauth || !AuthorizationID.MatchString(authorization) {
		authorization = ""
	}
	req, err := f.rp.Start(ctx, prov, loginHint, reauth)
	if err != nil {
		f.log.WarnContext(ctx, "identity provider unavailable", "idp", idpID, "err", err)
		who := loginHint
		if who == "" {
			who = "idp:" + c.Name
		}
		f.audit(ctx, AuditEvent{TenantID: c.TenantID, Actor: who, Action: "login", Target: who, IP: ip, Result: "failed:idp:unavailable"})
		return "", "", codeErr(CodeIdPUnavailable)
	}
	key, err := f.flowKey.get(ctx)
	if err != nil {
		return "", "", err
	}
	now := f.now()
	payload, err := json.Marshal(idpFlow{IdP: idpID, To: to, OIDC: authorization, Reauth: reauth, Started: now.Unix(), State: req.State, Nonce: req.Nonce,
		Verifier: req.Verifier, Expires: now.Add(IdPFlowTTL).Unix()})
	if err != nil {
		return "", "", fmt.Errorf("idp flow: %w", err)
	}
	enc := base64.RawURLEncoding
	return req.URL, enc.EncodeToString(payload) + "." + enc.EncodeToString(idpFlowMAC(key, payload)), nil
}

// readFlow returns the flow a cookie carries if it is signed, live and for state. A
// signed flow that is not (expired, another state) comes back with the error, so that
// the refusal can be audited in its provider's tenant.
func (f *Federation) readFlow(ctx context.Context, cookie, state string) (idpFlow, error) {
	invalid := codeErr(CodeIdPState)
	p64, m64, ok := strings.Cut(cookie, ".")
	if !ok || len(cookie) > 2048 {
		return idpFlow{}, invalid
	}
	enc := base64.RawURLEncoding
	payload, err1 := enc.DecodeString(p64)
	mac, err2 := enc.DecodeString(m64)
	if err1 != nil || err2 != nil {
		return idpFlow{}, invalid
	}
	key, err := f.flowKey.get(ctx)
	if err != nil {
		return idpFlow{}, err
	}
	var fl idpFlow
	if !hmac.Equal(mac, idpFlowMAC(key, payload)) || json.Unmarshal(payload, &fl) != nil {
		return idpFlow{}, invalid
	}
	if state == "" || !f.now().Before(time.Unix(fl.Expires, 0)) || !constantTimeEqual(fl.State, state) {
		return fl, invalid
	}
	return fl, nil
}

// IdPCallback is what the provider sent the browser back with.
type IdPCallback struct {
	Cookie string // the flow cookie StartIdP set
	State  string
	Code   string
	Error  string // the provider's error parameter, if any (never shown)
	Issuer string // the iss parameter (RFC 9207), if the provider sends one
}

// FinishIdP completes a sign-in through a provider: the browser's flow must match the
// state, the code is exchanged and the ID token verified, and the person's account of
// the provider's tenant found (or linked) and admitted. Every refusal is one of the
// CodeIdP… codes, audited; a session is opened as for a password sign-in, or, where the
// tenant asks its own second factor too (IdPRequiresMFA), the result names that step
// and carries its challenge, as a password sign-in's does.
func (f *Federation) FinishIdP(ctx context.Context, in IdPCallback, from Client) (LoginResult, error) {
	ip := from.IP
	if err := f.throttle(ctx, "login-ip#"+ip, f.loginPerIPMinute); err != nil {
		return LoginResult{}, err
	}
	fl, err := f.readFlow(ctx, in.Cookie, in.State)
	if err != nil {
		f.log.InfoContext(ctx, "identity provider callback without a matching flow")
		if tid, _, ok := strings.Cut(fl.IdP, "."); ok && strings.HasPrefix(tid, "ten_") {
			// This browser's own flow, signed, but expired or of another state (a
			// callback handed to it from elsewhere): audited in the provider's tenant.
			f.audit(ctx, AuditEvent{TenantID: tid, Actor: "idp:" + fl.IdP, Action: "login", Target: "idp:" + fl.IdP, IP: ip,
				Result: "failed:idp:state"})
		}
		return LoginResult{}, err
	}
	c, prov, err := f.provider(ctx, fl.IdP)
	if errors.Is(err, ErrNotFound) {
		return LoginResult{}, codeErr(CodeIdPState) // removed meanwhile
	} else if err != nil {
		return LoginResult{}, err
	}
	refuse := func(code, who, reason string, a Account) (LoginResult, error) {
		f.audit(ctx, AuditEvent{TenantID: c.TenantID, Actor: who, Action: "login", Target: who, TargetID: a.ID, IP: ip,
			Result: "failed:idp:" + reason})
		return LoginResult{}, codeErr(code)
	}
	if in.Issuer != "" && in.Issuer != c.Issuer {
		// RFC 9207: an answer from another provider than the one this browser went to.
		return refuse(CodeIdPRejected, "idp:"+c.Name, "issuer", Account{})
	}
	if in.Error != "" || in.Code == "" {
		return refuse(CodeIdPDenied, "idp:"+c.Name, "denied", Account{})
	}
	id, err := f.rp.Finish(ctx, prov, in.Code, fl.Verifier, fl.Nonce)
	switch {
	case errors.Is(err, ErrIdPTokenInvalid):
		f.log.WarnContext(ctx, "identity provider's id token rejected", "idp", c.ID, "err", err)
		return refuse(CodeIdPTokenInvalid, "idp:"+c.Name, "token_invalid", Account{})
	case errors.Is(err, ErrIdPRejected):
		f.log.WarnContext(ctx, "identity provider answer rejected", "idp", c.ID, "err", err)
		return refuse(CodeIdPRejected, "idp:"+c.Name, "rejected", Account{})
	case err != nil:
		f.log.WarnContext(ctx, "identity provider unavailable", "idp", c.ID, "err", err)
		return refuse(CodeIdPUnavailable, "idp:"+c.Name, "unavailable", Account{})
	}
	if fl.Reauth && (id.AuthTime.IsZero() || id.AuthTime.Before(time.Unix(fl.Started, 0).Add(-IdPClockSkew))) {
		// Asked to authenticate the person again, the provider answered with its single
		// sign-on (or says nothing of when): this does not stand for the password.
		f.log.WarnContext(ctx, "identity provider did not authenticate again", "idp", c.ID, "auth_time", id.AuthTime)
		who := id.Email
		if who == "" {
			who = "idp:" + c.Name
		}
		return refuse(CodeIdPReauth, who, "not_reauthenticated", Account{})
	}
	a, err := f.linked(ctx, c, id)
	if err != nil {
		var e *Error
		if errors.As(err, &e) {
			who := id.Email
			if who == "" {
				who = "idp:" + c.Name
			}
			return refuse(e.Code, who, strings.TrimPrefix(e.Code, "idp_"), Account{})
		}
		return LoginResult{}, err
	}
	t, err := f.tenant(ctx, a.TenantID)
	if err != nil {
		return LoginResult{}, err
	}
	// The admission rules, as for every way in: a suspension (and the tenant's network
	// ranges) refuse; an identity provider's first sign-in is what accepts an invitation;
	// where the tenant asks Kagiya's own second factor after the provider's, it is due
	// (or its enrolment) as after a password. A remembered browser does not skip it: the
	// provider sends the browser back with a cross-site navigation, which carries no
	// remember-this-browser cookie (SameSite=Strict).
	adm, err := f.admit(ctx, Attempt{Account: a, Method: MethodIdP, IP: ip}.withSettings(t.Settings.Effective()))
	if r, ok := refusalOf(err); ok {
		f.audit(ctx, AuditEvent{TenantID: a.TenantID, Actor: a.LoginID, Action: "login", Target: a.LoginID, TargetID: a.ID, IP: ip,
			Result: "failed:idp:" + r.Reason})
		return LoginResult{}, r.Answer(codeErr(CodeIdPAccountDisabled))
	} else if err != nil {
		return LoginResult{}, fmt.Errorf("idp login: %w", err)
	}
	for _, step := range adm.Steps {
		if step != StepMFA && step != StepMFAEnrol {
			// An idp account has no password to change; a step no page after the provider
			// can take refuses rather than skips.
			return refuse(CodeIdPAccountDisabled, a.LoginID, "step_due:"+step, a)
		}
	}
	now := f.now().UTC()
	if a.Invited() {
		// The first sign-in of an invited idp account accepts its invitation: the
		// provider has just shown the person holds the address.
		a, err = f.updateRetrying(ctx, a, func(a *Account) { a.InvitedAt, a.EmailVerifiedAt = time.Time{}, now })
		if err != nil {
			return LoginResult{}, fmt.Errorf("accept invitation: %w", err)
		}
		f.audit(ctx, AuditEvent{TenantID: a.TenantID, Actor: a.LoginID, Action: "invitation.accept", Target: a.LoginID, TargetID: a.ID, IP: ip, Result: "ok:idp"})
	}
	if len(adm.Steps) == 0 {
		// With a second factor due, the sign-in is recorded when it is given (as after a
		// password).
		if err := f.attempts.RecordLogin(ctx, a.TenantID, a.ID, now); err != nil {
			return LoginResult{}, fmt.Errorf("idp login: %w", err)
		}
		a.LastLoginAt = now
	}
	res, err := f.signIn.advance(ctx, a, t, flowClaims{IdP: true, IdPAuth: unixOf(id.AuthTime), Steps: adm.Steps}, from, "ok:idp:"+c.Name)
	if res.Token != "" {
		res.Landing = IdPLandings[fl.To]
	}
	if err == nil {
		res.Authorization = fl.OIDC
	}
	return res, err
}

// AuthorizationID is the form of an OpenID Connect authorization request's ID as the
// sign-in page carries it (index.html?oidc=): the ID alone, never a URL.
var AuthorizationID = regexp.MustCompile(`^[A-Za-z0-9_-]{20,100}$`)

// subjectKey is how a provider's subject is kept: hashed, so its length and form do
// not matter.
func subjectKey(sub string) string { return HashToken("idp-sub\x00" + sub)[:40] }

// linked finds the account of the person the provider vouched for: by its subject once
// linked; the first time by its verified email among the provider's tenant's idp
// accounts of the provider's domains, which is then linked.
func (f *Federation) linked(ctx context.Context, c Credential, id IdPIdentity) (Account, error) {
	key := subjectKey(id.Subject)
	link := c.ID + "#" + key
	l, err := f.creds.GetCredential(ctx, CredIdPLink, c.ID, key)
	switch {
	case err == nil:
		a, err := f.accounts.GetAccount(ctx, c.TenantID, l.AccountID)
		if err == nil && a.IdPLink == link && a.LoginMethod == LoginMethodIdP {
			return a, nil
		}
		if err != nil && !errors.Is(err, ErrNotFound) {
			return Account{}, fmt.Errorf("linked account: %w", err)
		}
		// The account went away or left the provider: the link is stale.
		if err := f.creds.DeleteCredential(ctx, CredIdPLink, c.ID, key); err != nil && !errors.Is(err, ErrNotFound) {
			return Account{}, fmt.Errorf("stale link: %w", err)
		}
	case !errors.Is(err, ErrNotFound):
		return Account{}, fmt.Errorf("idp link: %w", err)
	}
	if id.Email == "" || !id.EmailVerified {
		return Account{}, codeErr(CodeIdPEmailUnverified)
	}
	domain, ok := ParseLoginID(id.Email)
	if !ok {
		return Account{}, codeErr(CodeIdPNoAccount)
	}
	if !slices.Contains(c.Domains, domain) {
		// An address of a domain this provider does not serve for this tenant (another
		// organization's, or one the tenant has not given it). Whether an account has the
		// address elsewhere is never said: that is idp_no_account, as for none at all.
		return Account{}, codeErr(CodeIdPWrongTenant)
	}
	ref, err := f.logins.LookupLogin(ctx, Key(id.Email))
	if errors.Is(err, ErrNotFound) || err == nil && ref.TenantID != c.TenantID {
		return Account{}, codeErr(CodeIdPNoAccount)
	} else if err != nil {
		return Account{}, fmt.Errorf("idp account: %w", err)
	}
	a, err := f.accounts.GetAccount(ctx, ref.TenantID, ref.AccountID)
	if errors.Is(err, ErrNotFound) {
		return Account{}, codeErr(CodeIdPNoAccount)
	} else if err != nil {
		return Account{}, fmt.Errorf("idp account: %w", err)
	}
	if a.LoginMethod != LoginMethodIdP || a.IdPLink != "" && a.IdPLink != link {
		return Account{}, codeErr(CodeIdPNoAccount) // a password account, or one linked to another person
	}
	if a.IdPLink == "" {
		a, err = f.updateGuarded(ctx, a, func(cur Account) error {
			if cur.LoginMethod != LoginMethodIdP || cur.IdPLink != "" && cur.IdPLink != link {
				return codeErr(CodeIdPNoAccount)
			}
			return nil
		}, func(a *Account) { a.IdPLink = link })
		if err != nil {
			return Account{}, err
		}
		f.audit(ctx, AuditEvent{TenantID: a.TenantID, Actor: a.LoginID, Action: "idp.link", Target: a.LoginID, TargetID: a.ID, Result: "ok:" + c.Name})
	}
	err = f.creds.CreateCredential(ctx, Credential{Kind: CredIdPLink, Owner: c.ID, ID: key, TenantID: c.TenantID, Name: c.Name,
		AccountID: a.ID, CreatedAt: f.now().UTC()})
	if err != nil && !errors.Is(err, ErrConflict) {
		return Account{}, fmt.Errorf("store idp link: %w", err)
	}
	return a, nil
}
