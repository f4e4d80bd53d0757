package account

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
)

// OpenID Connect clients: the web applications of a tenant that sign people in through
// Kagiya (package idp is the provider). A client's ID names its tenant
// ("<tenant_id>.oc_…"), so the provider finds it in one read.

// MaxOIDCClients bounds a tenant's clients; MaxRedirectURIs a client's redirect URIs.
const (
	MaxOIDCClients  = 50
	MaxRedirectURIs = 10
)

// NewOIDCClient is what an owner registers.
type NewOIDCClient struct {
	Name         string
	RedirectURIs []string
	Public       bool // a browser or native app without a secret (PKCE only)
	Refresh      bool // may use refresh tokens
	// Scopes the client may ask for beyond openid: "email", "profile" (nil: both).
	Scopes []string
}

// OIDCScopes are the scopes an owner may allow a client beyond openid.
var OIDCScopes = []string{"email", "profile"}

// validRedirect accepts absolute https URIs without a fragment, and http only for the
// loopback host (development and native apps).
func validRedirect(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil || u.Fragment != "" || u.Host == "" || len(raw) > 500 || u.User != nil {
		return false
	}
	switch u.Scheme {
	case "https":
		return true
	case "http":
		h := u.Hostname()
		return h == "localhost" || h == "127.0.0.1" || h == "::1"
	}
	return false
}

// CreateOIDCClient registers a client for the owner's tenant, confirmed with the
// owner's password; a confidential client's secret is returned once.
func (s *Integrations) CreateOIDCClient(ctx context.Context, p Principal, in NewOIDCClient, confirm, ip string) (IssuedCredential, error) {
	if err := requireOwner(p); err != nil {
		return IssuedCredential{}, err
	}
	name, err := credentialName(in.Name)
	if err != nil {
		return IssuedCredential{}, err
	}
	var fields []FieldError
	if len(in.RedirectURIs) == 0 || len(in.RedirectURIs) > MaxRedirectURIs {
		fields = append(fields, FieldError{"redirect_uris", "invalid"})
	}
	for i, u := range in.RedirectURIs {
		if !validRedirect(u) {
			fields = append(fields, FieldError{fmt.Sprintf("redirect_uris[%d]", i), "invalid"})
		}
	}
	if in.Scopes == nil {
		in.Scopes = OIDCScopes
	}
	for _, sc := range in.Scopes {
		if !slices.Contains(OIDCScopes, sc) {
			fields = append(fields, FieldError{"scopes", "invalid"})
			break
		}
	}
	if len(fields) > 0 {
		return IssuedCredential{}, codeErr(CodeValidation, fields...)
	}
	if err := s.confirmOwn(ctx, p, confirm, ip, "oidc_client.create"); err != nil {
		return IssuedCredential{}, err
	}
	tid := p.Account.TenantID
	have, err := s.creds.ListCredentials(ctx, CredOIDCClient, tid)
	if err != nil {
		return IssuedCredential{}, fmt.Errorf("list clients: %w", err)
	}
	if len(have) >= MaxOIDCClients {
		return IssuedCredential{}, codeErr(CodeValidation, FieldError{"name", "too_many"})
	}
	id, err := newID("oc_")
	if err != nil {
		return IssuedCredential{}, err
	}
	c := Credential{Kind: CredOIDCClient, Owner: tid, ID: tid + "." + id, TenantID: tid, Name: name,
		CreatedBy: p.Account.LoginID, CreatedAt: s.now().UTC(), RedirectURIs: in.RedirectURIs, Public: in.Public,
		Refresh: in.Refresh, Scopes: append([]string{"openid"}, in.Scopes...)}
	if in.Refresh {
		c.Scopes = append(c.Scopes, "offline_access")
	}
	secret := ""
	if !in.Public {
		if secret, err = randomToken(); err != nil {
			return IssuedCredential{}, err
		}
		c.SecretHash = HashToken(secret)
	}
	if err := s.creds.CreateCredential(ctx, c); err != nil {
		return IssuedCredential{}, fmt.Errorf("store client: %w", err)
	}
	for _, o := range redirectOrigins(c.RedirectURIs) {
		err := s.creds.CreateCredential(ctx, Credential{Kind: CredOIDCOrigin, Owner: o, ID: c.ID, TenantID: tid, Name: name, CreatedAt: c.CreatedAt})
		if err != nil && !errors.Is(err, ErrConflict) {
			return IssuedCredential{}, fmt.Errorf("store client origin: %w", err)
		}
	}
	kind := "confidential"
	if in.Public {
		kind = "public"
	}
	s.audit(ctx, AuditEvent{TenantID: tid, Actor: p.Account.LoginID, Action: "oidc_client.create", Target: name, TargetID: c.ID, IP: ip,
		Result: "ok:" + kind + " " + strings.Join(in.RedirectURIs, " ")})
	return IssuedCredential{Credential: c, Secret: secret}, nil
}

// OIDCClients returns the owner's tenant's clients.
func (s *Integrations) OIDCClients(ctx context.Context, p Principal) ([]Credential, error) {
	if err := requireOwner(p); err != nil {
		return nil, err
	}
	cs, err := s.creds.ListCredentials(ctx, CredOIDCClient, p.Account.TenantID)
	if err != nil {
		return nil, fmt.Errorf("list clients: %w", err)
	}
	return cs, nil
}

// DeleteOIDCClient removes a client, confirmed with the owner's password: its codes and
// refresh tokens stop working (the provider finds no client for them).
func (s *Integrations) DeleteOIDCClient(ctx context.Context, p Principal, clientID, confirm, ip string) error {
	if err := requireOwner(p); err != nil {
		return err
	}
	c, err := s.creds.GetCredential(ctx, CredOIDCClient, p.Account.TenantID, clientID)
	if errors.Is(err, ErrNotFound) {
		return codeErr(CodeNotFound)
	} else if err != nil {
		return fmt.Errorf("client: %w", err)
	}
	if err := s.confirmOwn(ctx, p, confirm, ip, "oidc_client.delete"); err != nil {
		return err
	}
	for _, o := range redirectOrigins(c.RedirectURIs) {
		if err := s.creds.DeleteCredential(ctx, CredOIDCOrigin, o, c.ID); err != nil && !errors.Is(err, ErrNotFound) {
			return fmt.Errorf("delete client origin: %w", err)
		}
	}
	if err := s.creds.DeleteCredential(ctx, CredOIDCClient, c.Owner, c.ID); err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("delete client: %w", err)
	}
	s.audit(ctx, AuditEvent{TenantID: c.TenantID, Actor: p.Account.LoginID, Action: "oidc_client.delete", Target: c.Name, TargetID: c.ID, IP: ip, Result: "ok"})
	return nil
}

// redirectOrigins are the distinct origins (scheme://host[:port]) of redirect URIs.
func redirectOrigins(uris []string) []string {
	var out []string
	for _, raw := range uris {
		if u, err := url.Parse(raw); err == nil && u.Host != "" {
			if o := u.Scheme + "://" + u.Host; !slices.Contains(out, o) {
				out = append(out, o)
			}
		}
	}
	return out
}

// OIDCOriginRegistered reports whether origin is the origin of a redirect URI of a
// registered client (of any tenant): the provider lets only those read its answers
// from a browser (CORS).
func (s *Integrations) OIDCOriginRegistered(ctx context.Context, origin string) (bool, error) {
	if len(origin) > 300 || !strings.Contains(origin, "://") {
		return false, nil
	}
	cs, err := s.creds.ListCredentials(ctx, CredOIDCOrigin, origin)
	if err != nil {
		return false, fmt.Errorf("client origins: %w", err)
	}
	return len(cs) > 0, nil
}

// ThrottleOIDC counts one request of kind ("authorize", "token") from ip against
// perMinute in this instance's memory; over it is CodeRateLimited with the wait.
func (s *Integrations) ThrottleOIDC(ctx context.Context, kind, ip string, perMinute int) error {
	return s.throttle(ctx, "oidc-"+kind+"-ip#"+ip, perMinute)
}

// OIDCClient returns the client with an ID (ErrNotFound when there is none).
func (s *Integrations) OIDCClient(ctx context.Context, clientID string) (Credential, error) {
	tenantID, _, ok := strings.Cut(clientID, ".")
	if !ok || !strings.HasPrefix(tenantID, "ten_") || len(clientID) > 100 {
		return Credential{}, ErrNotFound
	}
	return s.creds.GetCredential(ctx, CredOIDCClient, tenantID, clientID)
}

// Account returns an account of a tenant, for the provider's claims.
func (s *Integrations) Account(ctx context.Context, tenantID, accountID string) (Account, error) {
	return s.accounts.GetAccountEventually(ctx, tenantID, accountID)
}

// EmailVerified reports whether a's login ID is a proven address (EmailVerified): the
// tenant is read only for an account that has used no emailed link, from the cache.
func (s *Integrations) EmailVerified(ctx context.Context, a Account) (bool, error) {
	if !a.EmailVerifiedAt.IsZero() {
		return true, nil
	}
	t, err := s.tenant(ctx, a.TenantID)
	if err != nil {
		return false, err
	}
	return EmailVerified(a, t), nil
}

// Admit judges an attempt of the provider's (a refresh token's) by the admission rules:
// nil lets it by, a *Refusal (Refused) keeps it out, anything else is the store's error.
func (s *Integrations) Admit(ctx context.Context, at Attempt) error {
	_, err := s.admit(ctx, at)
	return err
}

// Audit files an event of the provider in the audit log.
func (s *Integrations) Audit(ctx context.Context, e AuditEvent) { s.audit(ctx, e) }

// Seal and Open keep the provider's signing keys encrypted with the seal key (bound to
// what they are for).
func (s *Integrations) Seal(ctx context.Context, purpose, plain string) (string, error) {
	return s.seal.sealFor(ctx, purpose, plain)
}

func (s *Integrations) Open(ctx context.Context, purpose, sealed string) (string, error) {
	return s.seal.openFor(ctx, purpose, sealed)
}

// RecordGrant notes that a signed in to client (the person's page lists it): made at the
// first sign-in, its last use moved at each.
func (s *Integrations) RecordGrant(ctx context.Context, a Account, client Credential) error {
	now := s.now().UTC()
	err := s.creds.TouchCredential(ctx, CredOIDCGrant, a.ID, client.ID, now)
	if errors.Is(err, ErrNotFound) {
		err = s.creds.CreateCredential(ctx, Credential{Kind: CredOIDCGrant, Owner: a.ID, ID: client.ID, TenantID: a.TenantID,
			Name: client.Name, CreatedAt: now, LastUsedAt: now})
		if errors.Is(err, ErrConflict) {
			err = nil // a parallel first sign-in made it
		}
	}
	if err != nil {
		return fmt.Errorf("record grant: %w", err)
	}
	return nil
}

// Grant returns the account's standing grant for the client (ErrNotFound once the person
// revoked it, or a lock ended it). Its CreatedAt is the grant's epoch: refresh tokens
// carry it, so a grant made again later never revives the tokens of an earlier one.
func (s *Integrations) Grant(ctx context.Context, accountID, clientID string) (Credential, error) {
	return s.creds.GetCredential(ctx, CredOIDCGrant, accountID, clientID)
}

// Applications lists the applications the principal has signed in to.
func (s *Integrations) Applications(ctx context.Context, p Principal) ([]Credential, error) {
	cs, err := s.creds.ListCredentials(ctx, CredOIDCGrant, p.Account.ID)
	if err != nil {
		return nil, fmt.Errorf("applications: %w", err)
	}
	return cs, nil
}

// RevokeApplication ends an application's access to the principal's account: its refresh
// tokens stop working (the application must ask the person to sign in again).
func (s *Integrations) RevokeApplication(ctx context.Context, p Principal, clientID, ip string) error {
	a := p.Account
	c, err := s.creds.GetCredential(ctx, CredOIDCGrant, a.ID, clientID)
	if err == nil {
		err = s.creds.DeleteCredential(ctx, CredOIDCGrant, a.ID, clientID)
	}
	if errors.Is(err, ErrNotFound) {
		return codeErr(CodeNotFound)
	} else if err != nil {
		return fmt.Errorf("revoke application: %w", err)
	}
	s.audit(ctx, AuditEvent{TenantID: a.TenantID, Actor: a.LoginID, Action: "oidc.revoke", Target: a.LoginID, TargetID: a.ID, IP: ip, Result: "ok:" + c.Name})
	return nil
}
