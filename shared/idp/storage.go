package idp

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/kagiya/kagiya/shared/account"
)

// Lifetimes of what the provider hands out.
const (
	authRequestTTL  = 30 * time.Minute // time to sign in (and perhaps reset a password)
	codeTTL         = time.Minute
	accessTokenTTL  = time.Hour
	refreshTokenTTL = 30 * 24 * time.Hour
)

// Token purposes in Kagiya's single-use token store.
const (
	purposeAuthRequest = "oidc_auth"
	purposeCode        = "oidc_code"
	purposeRefresh     = "oidc_refresh"
)

// Integrations is what the provider needs of Kagiya's services.
type Integrations interface {
	OIDCClient(ctx context.Context, clientID string) (account.Credential, error)
	Account(ctx context.Context, tenantID, accountID string) (account.Account, error)
	// EmailVerified: the person used a link mailed to the login ID, or its tenant
	// verified the domain.
	EmailVerified(ctx context.Context, a account.Account) (bool, error)
	Audit(ctx context.Context, e account.AuditEvent)
	Seal(ctx context.Context, purpose, plain string) (string, error)
	Open(ctx context.Context, purpose, sealed string) (string, error)
	RecordGrant(ctx context.Context, a account.Account, client account.Credential) error
	HasGrant(ctx context.Context, accountID, clientID string) (bool, error)
}

// Store is the part of Kagiya's store the provider keeps its state in: auth requests,
// codes and refresh tokens as single-use tokens, signing keys as server secrets.
type Store interface {
	account.Tokens
	account.Secrets
}

// storage is op.Storage on Kagiya's store roles.
type storage struct {
	svc   Integrations
	store Store
	now   func() time.Time
	dev   bool // http issuer: the local server; clients may redirect to http

	mu   sync.Mutex
	keys map[string]*rsa.PrivateKey // by month, as read from the store
}

var _ op.Storage = (*storage)(nil)

// authRequest is an authorization request while the person signs in, then until its
// code is exchanged.
type authRequest struct {
	ID            string    `json:"id"`
	TenantID      string    `json:"tenant_id"`
	ClientID      string    `json:"client_id"`
	RedirectURI   string    `json:"redirect_uri"`
	State         string    `json:"state"`
	Nonce         string    `json:"nonce"`
	Scopes        []string  `json:"scopes"`
	ResponseType  string    `json:"response_type"`
	ResponseMode  string    `json:"response_mode,omitempty"`
	Challenge     string    `json:"code_challenge"`
	ChallengeMeth string    `json:"code_challenge_method"`
	Subject       string    `json:"subject,omitempty"`
	AuthTime      time.Time `json:"auth_time,omitzero"`
	AMR           []string  `json:"amr,omitempty"`
	IsDone        bool      `json:"done,omitempty"`
}

func (a *authRequest) GetID() string         { return a.ID }
func (a *authRequest) GetACR() string        { return "" }
func (a *authRequest) GetAMR() []string      { return a.AMR }
func (a *authRequest) GetAudience() []string { return []string{a.ClientID} }
func (a *authRequest) GetAuthTime() time.Time {
	return a.AuthTime
}
func (a *authRequest) GetClientID() string { return a.ClientID }
func (a *authRequest) GetCodeChallenge() *oidc.CodeChallenge {
	return &oidc.CodeChallenge{Challenge: a.Challenge, Method: oidc.CodeChallengeMethod(a.ChallengeMeth)}
}
func (a *authRequest) GetNonce() string                   { return a.Nonce }
func (a *authRequest) GetRedirectURI() string             { return a.RedirectURI }
func (a *authRequest) GetResponseType() oidc.ResponseType { return oidc.ResponseType(a.ResponseType) }
func (a *authRequest) GetResponseMode() oidc.ResponseMode { return oidc.ResponseMode(a.ResponseMode) }
func (a *authRequest) GetScopes() []string                { return a.Scopes }
func (a *authRequest) GetState() string                   { return a.State }
func (a *authRequest) GetSubject() string                 { return a.Subject }
func (a *authRequest) Done() bool                         { return a.IsDone }

// refreshGrant is what a refresh token stands for.
type refreshGrant struct {
	TenantID string    `json:"tenant_id"`
	ClientID string    `json:"client_id"`
	Subject  string    `json:"subject"`
	Scopes   []string  `json:"scopes"`
	AuthTime time.Time `json:"auth_time"`
	AMR      []string  `json:"amr,omitempty"`
	Epoch    int64     `json:"epoch"` // the account's session epoch: a password change or "sign out everywhere" ends it
}

func (g *refreshGrant) GetAMR() []string                 { return g.AMR }
func (g *refreshGrant) GetAudience() []string            { return []string{g.ClientID} }
func (g *refreshGrant) GetAuthTime() time.Time           { return g.AuthTime }
func (g *refreshGrant) GetClientID() string              { return g.ClientID }
func (g *refreshGrant) GetScopes() []string              { return g.Scopes }
func (g *refreshGrant) GetSubject() string               { return g.Subject }
func (g *refreshGrant) SetCurrentScopes(scopes []string) { g.Scopes = scopes }

func randomID() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("random: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// put stores v as a single-use token of purpose under key, valid for ttl.
func (s *storage) put(ctx context.Context, purpose, key, tenantID string, v any, ttl time.Duration) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	now := s.now().UTC()
	return hidden(s.store.CreateToken(ctx, account.Token{IDHash: account.HashToken(key), Purpose: purpose, TenantID: tenantID,
		Data: string(data), CreatedAt: now, ExpiresAt: now.Add(ttl)}))
}

// hidden makes a store failure a plain server_error: op answers any other error with
// its text as the error_description, and a 5xx body never carries the store's or the
// SDK's words. The cause stays inside (Parent) for the log. Not found and conflict, which
// the callers tell apart, pass as they are.
func hidden(err error) error {
	if err == nil || errors.Is(err, account.ErrNotFound) || errors.Is(err, account.ErrConflict) || errors.As(err, new(*oidc.Error)) {
		return err
	}
	return oidc.ErrServerError().WithParent(err)
}

// get reads the live token of purpose under key into v; take uses it up.
func (s *storage) get(ctx context.Context, purpose, key string, take bool, v any) (account.Token, error) {
	read := s.store.PeekToken
	if take {
		read = s.store.ConsumeToken
	}
	t, err := read(ctx, account.HashToken(key), purpose, s.now().UTC())
	if err != nil {
		return t, hidden(err)
	}
	return t, json.Unmarshal([]byte(t.Data), v)
}

func (s *storage) CreateAuthRequest(ctx context.Context, req *oidc.AuthRequest, _ string) (op.AuthRequest, error) {
	if req.CodeChallenge == "" || req.CodeChallengeMethod != oidc.CodeChallengeMethodS256 {
		return nil, oidc.ErrInvalidRequest().WithDescription("PKCE with S256 is required")
	}
	c, err := s.oidcClient(ctx, req.ClientID)
	if err != nil {
		return nil, oidc.ErrInvalidClient()
	}
	id, err := randomID()
	if err != nil {
		return nil, err
	}
	// Only the scopes the owner allowed this client (openid, email, profile, and
	// offline_access with refresh tokens) are granted; others are dropped.
	var scopes []string
	for _, sc := range req.Scopes {
		if slices.Contains(c.Scopes, sc) {
			scopes = append(scopes, sc)
		}
	}
	a := &authRequest{ID: id, TenantID: c.TenantID, ClientID: req.ClientID, RedirectURI: req.RedirectURI, State: req.State,
		Nonce: req.Nonce, Scopes: scopes, ResponseType: string(req.ResponseType), ResponseMode: string(req.ResponseMode),
		Challenge: req.CodeChallenge, ChallengeMeth: string(req.CodeChallengeMethod)}
	if err := s.put(ctx, purposeAuthRequest, id, c.TenantID, a, authRequestTTL); err != nil {
		return nil, fmt.Errorf("store auth request: %w", err)
	}
	return a, nil
}

func (s *storage) authRequest(ctx context.Context, id string, take bool) (*authRequest, error) {
	var a authRequest
	if _, err := s.get(ctx, purposeAuthRequest, id, take, &a); err != nil {
		if errors.Is(err, account.ErrNotFound) {
			return nil, oidc.ErrInvalidRequest().WithDescription("the sign-in request has expired")
		}
		return nil, err
	}
	return &a, nil
}

func (s *storage) AuthRequestByID(ctx context.Context, id string) (op.AuthRequest, error) {
	return s.authRequest(ctx, id, false)
}

// complete marks an auth request signed in by a (it is stored again, done).
func (s *storage) complete(ctx context.Context, a *authRequest, acct account.Account) error {
	if _, err := s.authRequest(ctx, a.ID, true); err != nil {
		return err
	}
	a.Subject, a.AuthTime, a.IsDone = acct.ID, s.now().UTC(), true
	a.AMR = []string{"pwd"}
	if acct.MFAEnabled() {
		a.AMR = append(a.AMR, "otp", "mfa")
	}
	return s.put(ctx, purposeAuthRequest, a.ID, a.TenantID, a, authRequestTTL)
}

func (s *storage) AuthRequestByCode(ctx context.Context, code string) (op.AuthRequest, error) {
	var id string
	if _, err := s.get(ctx, purposeCode, code, false, &id); err != nil {
		return nil, oidc.ErrInvalidGrant().WithDescription("the code is not valid")
	}
	return s.authRequest(ctx, id, false)
}

func (s *storage) SaveAuthCode(ctx context.Context, id, code string) error {
	a, err := s.authRequest(ctx, id, false)
	if err != nil {
		return err
	}
	return s.put(ctx, purposeCode, code, a.TenantID, id, codeTTL)
}

func (s *storage) DeleteAuthRequest(ctx context.Context, id string) error {
	// Gone already is done; a store that failed to use it up is an error.
	if _, err := s.authRequest(ctx, id, true); err != nil && !errors.Is(err, oidc.ErrInvalidRequest()) {
		return err
	}
	return nil
}

// tokenID is an access token's ID: its client (which names the tenant), and random.
func tokenID(clientID string) (string, error) {
	r, err := randomID()
	return clientID + "~" + r, err
}

func (s *storage) CreateAccessToken(ctx context.Context, req op.TokenRequest) (string, time.Time, error) {
	c, err := s.clientOf(ctx, req)
	if err != nil {
		return "", time.Time{}, err
	}
	id, err := tokenID(c.ID)
	if err != nil {
		return "", time.Time{}, err
	}
	s.auditToken(ctx, c, req.GetSubject(), "ok:"+c.Name)
	return id, s.now().UTC().Add(accessTokenTTL), nil
}

func (s *storage) CreateAccessAndRefreshTokens(ctx context.Context, req op.TokenRequest, current string) (string, string, time.Time, error) {
	c, err := s.clientOf(ctx, req)
	if err != nil {
		return "", "", time.Time{}, err
	}
	if current != "" {
		var old refreshGrant
		if _, err := s.get(ctx, purposeRefresh, current, true, &old); err != nil {
			return "", "", time.Time{}, op.ErrInvalidRefreshToken
		}
	}
	a, err := s.account(ctx, c.TenantID, req.GetSubject())
	if err != nil {
		return "", "", time.Time{}, oidc.ErrInvalidGrant()
	}
	g := refreshGrant{TenantID: c.TenantID, ClientID: c.ID, Subject: a.ID, Scopes: req.GetScopes(), Epoch: a.SessionEpoch}
	if r, ok := req.(op.IDTokenRequest); ok {
		g.AuthTime, g.AMR = r.GetAuthTime(), r.GetAMR()
	}
	refresh, err := randomID()
	if err != nil {
		return "", "", time.Time{}, err
	}
	if err := s.put(ctx, purposeRefresh, refresh, c.TenantID, g, refreshTokenTTL); err != nil {
		return "", "", time.Time{}, fmt.Errorf("store refresh token: %w", err)
	}
	id, err := tokenID(c.ID)
	if err != nil {
		return "", "", time.Time{}, err
	}
	result := "ok:" + c.Name + " with refresh token"
	if current != "" {
		result = "ok:" + c.Name + " refreshed"
	}
	s.auditToken(ctx, c, a.ID, result)
	return id, refresh, s.now().UTC().Add(accessTokenTTL), nil
}

// clientOf is the client a token request is for.
func (s *storage) clientOf(ctx context.Context, req op.TokenRequest) (account.Credential, error) {
	aud := req.GetAudience()
	if len(aud) == 0 {
		return account.Credential{}, oidc.ErrInvalidClient()
	}
	c, err := s.oidcClient(ctx, aud[0])
	if err != nil {
		return account.Credential{}, oidc.ErrInvalidClient()
	}
	return c, nil
}

func (s *storage) auditToken(ctx context.Context, c account.Credential, subject, result string) {
	target := subject
	if a, err := s.account(ctx, c.TenantID, subject); err == nil {
		target = a.LoginID
	}
	s.svc.Audit(ctx, account.AuditEvent{TenantID: c.TenantID, Actor: "oidc:" + c.Name, Action: "oidc.token", Target: target, TargetID: subject, Result: result})
}

func (s *storage) TokenRequestByRefreshToken(ctx context.Context, refresh string) (op.RefreshTokenRequest, error) {
	var g refreshGrant
	if _, err := s.get(ctx, purposeRefresh, refresh, false, &g); err != nil {
		return nil, op.ErrInvalidRefreshToken
	}
	a, err := s.account(ctx, g.TenantID, g.Subject)
	if err != nil || a.Disabled || a.Locked() || a.SessionEpoch != g.Epoch {
		return nil, op.ErrInvalidRefreshToken // gone, suspended, locked, or signed out everywhere
	}
	if ok, err := s.svc.HasGrant(ctx, a.ID, g.ClientID); err != nil || !ok {
		return nil, op.ErrInvalidRefreshToken // the person revoked the application
	}
	return &g, nil
}

func (s *storage) TerminateSession(context.Context, string, string) error { return nil }

func (s *storage) RevokeToken(ctx context.Context, token, _, clientID string) *oidc.Error {
	var g refreshGrant
	t, err := s.get(ctx, purposeRefresh, token, false, &g)
	if err != nil {
		return nil // an access token (a JWT, which expires) or nothing: nothing to do
	}
	if g.ClientID != clientID {
		return oidc.ErrInvalidClient()
	}
	if _, err := s.store.ConsumeToken(ctx, t.IDHash, purposeRefresh, s.now().UTC()); err != nil && !errors.Is(err, account.ErrNotFound) {
		return oidc.ErrServerError()
	}
	return nil
}

func (s *storage) GetRefreshTokenInfo(ctx context.Context, clientID, token string) (string, string, error) {
	var g refreshGrant
	if _, err := s.get(ctx, purposeRefresh, token, false, &g); err != nil || g.ClientID != clientID {
		return "", "", op.ErrInvalidRefreshToken
	}
	return g.Subject, account.HashToken(token), nil
}

// Signing keys: RSA 2048, one a month, made by the first instance that needs it and kept
// sealed among the server secrets. JWKS publishes this month's and last month's, so a
// token signed just before the change still verifies until it expires (an hour).
type signingKey struct {
	id  string
	key *rsa.PrivateKey
}

func (k signingKey) SignatureAlgorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (k signingKey) Key() any                                    { return k.key }
func (k signingKey) ID() string                                  { return k.id }

type publicKey struct{ signingKey }

func (k publicKey) Algorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (k publicKey) Use() string                        { return "sig" }
func (k publicKey) Key() any                           { return &k.key.PublicKey }

func keyName(month time.Time) string { return "oidc-signing-" + month.UTC().Format("2006-01") }

// key returns the signing key of month's.
func (s *storage) key(ctx context.Context, month time.Time) (signingKey, error) {
	name := keyName(month)
	s.mu.Lock()
	k, ok := s.keys[name]
	s.mu.Unlock()
	if !ok {
		fresh, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return signingKey{}, fmt.Errorf("signing key: %w", err)
		}
		sealed, err := s.svc.Seal(ctx, name, base64.StdEncoding.EncodeToString(x509.MarshalPKCS1PrivateKey(fresh)))
		if err != nil {
			return signingKey{}, fmt.Errorf("seal signing key: %w", err)
		}
		stored, err := s.store.Secret(ctx, name, []byte(sealed))
		if err != nil {
			return signingKey{}, fmt.Errorf("store signing key: %w", err)
		}
		plain, err := s.svc.Open(ctx, name, string(stored))
		if err != nil {
			return signingKey{}, fmt.Errorf("open signing key: %w", err)
		}
		der, err := base64.StdEncoding.DecodeString(plain)
		if err == nil {
			k, err = x509.ParsePKCS1PrivateKey(der)
		}
		if err != nil {
			return signingKey{}, fmt.Errorf("signing key %s: %w", name, err)
		}
		s.mu.Lock()
		if s.keys == nil {
			s.keys = map[string]*rsa.PrivateKey{}
		}
		s.keys[name] = k
		s.mu.Unlock()
	}
	return signingKey{id: strings.TrimPrefix(name, "oidc-signing-"), key: k}, nil
}

func (s *storage) SigningKey(ctx context.Context) (op.SigningKey, error) {
	return s.key(ctx, s.now())
}

func (s *storage) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	return []jose.SignatureAlgorithm{jose.RS256}, nil
}

func (s *storage) KeySet(ctx context.Context) ([]op.Key, error) {
	now := s.now().UTC()
	cur, err := s.key(ctx, now)
	if err != nil {
		return nil, err
	}
	prev, err := s.key(ctx, time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC).Add(-time.Hour))
	if err != nil {
		return nil, err
	}
	return []op.Key{publicKey{cur}, publicKey{prev}}, nil
}

func (s *storage) GetClientByClientID(ctx context.Context, clientID string) (op.Client, error) {
	c, err := s.oidcClient(ctx, clientID)
	if err != nil {
		return nil, oidc.ErrInvalidClient().WithDescription("unknown client")
	}
	return &client{c: c, dev: s.dev}, nil
}

func (s *storage) AuthorizeClientIDSecret(ctx context.Context, clientID, secret string) error {
	c, err := s.oidcClient(ctx, clientID)
	if err != nil || c.Public || !equalHash(account.HashToken(secret), c.SecretHash) {
		return oidc.ErrInvalidClient()
	}
	return nil
}

// userinfo fills info with the account's claims the scopes allow: sub and tenant always,
// email (the login ID) with email, preferred_username with profile.
func (s *storage) userinfo(ctx context.Context, info *oidc.UserInfo, tenantID, subject string, scopes []string) error {
	a, err := s.account(ctx, tenantID, subject)
	if err != nil || a.Disabled {
		return oidc.ErrAccessDenied()
	}
	info.Subject = a.ID
	if slices.Contains(scopes, oidc.ScopeEmail) {
		verified, err := s.svc.EmailVerified(ctx, a)
		if err != nil {
			return fmt.Errorf("email verified: %w", err)
		}
		info.Email, info.EmailVerified = a.LoginID, oidc.Bool(verified)
	}
	if slices.Contains(scopes, oidc.ScopeProfile) {
		info.PreferredUsername = a.LoginID
	}
	info.AppendClaims("tenant", a.TenantID)
	return nil
}

func (s *storage) SetUserinfoFromScopes(ctx context.Context, info *oidc.UserInfo, userID, clientID string, scopes []string) error {
	c, err := s.oidcClient(ctx, clientID)
	if err != nil {
		return oidc.ErrInvalidClient()
	}
	return s.userinfo(ctx, info, c.TenantID, userID, scopes)
}

// tokenClient is the client an access token was issued to (a removed client's tokens
// answer nothing).
func (s *storage) tokenClient(ctx context.Context, tokenID string) (account.Credential, error) {
	clientID, _, _ := strings.Cut(tokenID, "~")
	c, err := s.oidcClient(ctx, clientID)
	if err != nil {
		return account.Credential{}, oidc.ErrAccessDenied()
	}
	return c, nil
}

func (s *storage) SetUserinfoFromToken(ctx context.Context, info *oidc.UserInfo, tokenID, subject, _ string) error {
	c, err := s.tokenClient(ctx, tokenID)
	if err != nil {
		return err
	}
	return s.userinfo(ctx, info, c.TenantID, subject, c.Scopes)
}

func (s *storage) SetIntrospectionFromToken(ctx context.Context, resp *oidc.IntrospectionResponse, tokenID, subject, clientID string) error {
	var info oidc.UserInfo
	c, err := s.tokenClient(ctx, tokenID)
	if err != nil {
		return err
	}
	if err := s.userinfo(ctx, &info, c.TenantID, subject, c.Scopes); err != nil {
		return err
	}
	resp.SetUserInfo(&info)
	resp.Active, resp.ClientID = true, clientID
	return nil
}

func (s *storage) GetPrivateClaimsFromScopes(ctx context.Context, _, clientID string, _ []string) (map[string]any, error) {
	c, err := s.oidcClient(ctx, clientID)
	if err != nil {
		return nil, oidc.ErrInvalidClient()
	}
	return map[string]any{"tenant": c.TenantID}, nil
}

func (s *storage) GetKeyByIDAndClientID(context.Context, string, string) (*jose.JSONWebKey, error) {
	return nil, errors.New("JWT client authentication is not supported")
}

func (s *storage) ValidateJWTProfileScopes(context.Context, string, []string) ([]string, error) {
	return nil, errors.New("the JWT profile grant is not supported")
}

func (s *storage) Health(context.Context) error { return nil }

// memo keeps what one request has read (clients, accounts): the provider asks for the
// same client several times while it answers one request. It lives as long as the
// request, so a removed client or a suspended account is seen by the next one.
type memo struct {
	mu       sync.Mutex
	clients  map[string]account.Credential
	accounts map[string]account.Account
}

type memoKey struct{}

func withMemo(ctx context.Context) context.Context {
	return context.WithValue(ctx, memoKey{}, &memo{clients: map[string]account.Credential{}, accounts: map[string]account.Account{}})
}

func (s *storage) oidcClient(ctx context.Context, id string) (account.Credential, error) {
	m, _ := ctx.Value(memoKey{}).(*memo)
	if m != nil {
		m.mu.Lock()
		c, ok := m.clients[id]
		m.mu.Unlock()
		if ok {
			return c, nil
		}
	}
	c, err := s.svc.OIDCClient(ctx, id)
	if err == nil && m != nil {
		m.mu.Lock()
		m.clients[id] = c
		m.mu.Unlock()
	}
	return c, err
}

func (s *storage) account(ctx context.Context, tenantID, id string) (account.Account, error) {
	m, _ := ctx.Value(memoKey{}).(*memo)
	key := tenantID + "/" + id
	if m != nil {
		m.mu.Lock()
		a, ok := m.accounts[key]
		m.mu.Unlock()
		if ok {
			return a, nil
		}
	}
	a, err := s.svc.Account(ctx, tenantID, id)
	if err == nil && m != nil {
		m.mu.Lock()
		m.accounts[key] = a
		m.mu.Unlock()
	}
	return a, err
}
