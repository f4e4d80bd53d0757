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
	"log/slog"
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
	// purposeRevoked marks a token family (everything minted from one authorization
	// code: its access tokens and its chain of refresh tokens) as revoked; it outlives
	// the family's last refresh token.
	purposeRevoked = "oidc_revoked"
)

// Integrations is what the provider needs of Kagiya's services.
type Integrations interface {
	OIDCClient(ctx context.Context, clientID string) (account.Credential, error)
	Account(ctx context.Context, tenantID, accountID string) (account.Account, error)
	// EmailVerified: the person used a link mailed to the login ID, or its tenant
	// verified the domain.
	EmailVerified(ctx context.Context, a account.Account) (bool, error)
	Audit(ctx context.Context, e account.AuditEvent)
	// Admit judges a way in by the account's admission rules (account.Refused says no).
	Admit(ctx context.Context, at account.Attempt) error
	Seal(ctx context.Context, purpose, plain string) (string, error)
	Open(ctx context.Context, purpose, sealed string) (string, error)
	RecordGrant(ctx context.Context, a account.Account, client account.Credential) error
	Grant(ctx context.Context, accountID, clientID string) (account.Credential, error)
	// At the provider's door: which browser origins may read its answers (CORS), and
	// per-IP rate limits.
	OIDCOriginRegistered(ctx context.Context, origin string) (bool, error)
	ThrottleOIDC(ctx context.Context, kind, ip string, perMinute int) error
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
	log   *slog.Logger
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
	Prompt        []string  `json:"prompt,omitempty"`
	MaxAge        *uint     `json:"max_age,omitempty"` // seconds; 0 (prompt=login): a sign-in after the request
	CreatedAt     time.Time `json:"created_at"`
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
	Epoch    int64     `json:"epoch"` // the account's session epoch: a suspension or "sign out everywhere" ends it
	// GrantAt is the grant's epoch (its CreatedAt): revoking the application or a lock
	// deletes the grant, and a later one has another.
	GrantAt time.Time `json:"grant_at"`
	Family  string    `json:"family"` // the authorization request the chain began with
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
	if m := memoOf(ctx).badMode; m != "" {
		return nil, oidc.ErrInvalidRequest().WithDescription("response_mode %s is not supported: the answer comes in the query", m)
	}
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
		Challenge: req.CodeChallenge, ChallengeMeth: string(req.CodeChallengeMethod),
		Prompt: req.Prompt, MaxAge: req.MaxAge, CreatedAt: s.now().UTC()}
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

// complete marks an auth request signed in by the session of p (it is stored again,
// done): auth_time is when that session's sign-in happened, amr how.
func (s *storage) complete(ctx context.Context, a *authRequest, p account.Principal) error {
	if _, err := s.authRequest(ctx, a.ID, true); err != nil {
		return err
	}
	a.Subject, a.AuthTime, a.IsDone = p.Account.ID, p.Session.CreatedAt.UTC(), true
	a.AMR = p.Session.AMR
	if len(a.AMR) == 0 {
		a.AMR = []string{"pwd"} // a session from before sessions recorded it: a password, at least
	}
	return s.put(ctx, purposeAuthRequest, a.ID, a.TenantID, a, authRequestTTL)
}

// fresh reports whether a session that signed in at authTime satisfies the request's
// max_age (prompt=login is max_age 0: a sign-in after the request was made).
func (a *authRequest) fresh(authTime, now time.Time) bool {
	switch {
	case a.MaxAge == nil:
		return true
	case *a.MaxAge == 0:
		return !authTime.Before(a.CreatedAt)
	}
	return now.Sub(authTime) <= time.Duration(*a.MaxAge)*time.Second
}

// AuthRequestByCode reads the request a code stands for without using anything up (a
// wrong PKCE verifier leaves the code usable). A code whose request is gone has been
// exchanged already: that is a replay, and everything the first exchange gave is revoked.
func (s *storage) AuthRequestByCode(ctx context.Context, code string) (op.AuthRequest, error) {
	var id string
	t, err := s.get(ctx, purposeCode, code, false, &id)
	if err != nil {
		if !errors.Is(err, account.ErrNotFound) {
			return nil, storeFailed(ctx, err)
		}
		return nil, oidc.ErrInvalidGrant().WithDescription("the code is not valid")
	}
	a, err := s.authRequest(ctx, id, false)
	if errors.Is(err, oidc.ErrInvalidRequest()) { // gone: exchanged already
		return nil, s.replayed(ctx, t.TenantID, id)
	} else if err != nil {
		return nil, storeFailed(ctx, err)
	}
	return a, nil
}

// replayed revokes the tokens of the code of request id, which was presented again.
func (s *storage) replayed(ctx context.Context, tenantID, id string) error {
	if err := s.revokeFamily(ctx, id); err != nil {
		return err
	}
	s.svc.Audit(ctx, account.AuditEvent{TenantID: tenantID, Actor: "oidc", Action: "oidc.token", Result: "failed:code reused, its tokens revoked"})
	return oidc.ErrInvalidGrant().WithDescription("the code has been used")
}

// revokeFamily marks everything minted from authorization request id as revoked.
func (s *storage) revokeFamily(ctx context.Context, id string) error {
	if err := s.put(ctx, purposeRevoked, id, "", true, refreshTokenTTL+accessTokenTTL); err != nil && !errors.Is(err, account.ErrConflict) {
		return fmt.Errorf("revoke token family: %w", err)
	}
	return nil
}

// revokedFamily reports whether the family has been revoked.
func (s *storage) revokedFamily(ctx context.Context, id string) (bool, error) {
	var v bool
	_, err := s.get(ctx, purposeRevoked, id, false, &v)
	if errors.Is(err, account.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

func (s *storage) SaveAuthCode(ctx context.Context, id, code string) error {
	a, err := s.authRequest(ctx, id, false)
	if err != nil {
		return err
	}
	return s.put(ctx, purposeCode, code, a.TenantID, id, codeTTL)
}

// DeleteAuthRequest has nothing left to do: the provider calls it only after a code
// exchange, whose mint used the request up before anything was minted (a second,
// failing conditional write would cost a write unit all the same).
func (s *storage) DeleteAuthRequest(context.Context, string) error { return nil }

// accessToken is what an access token's ID (its jti, signed with it) says: the client it
// was issued to, the family it belongs to, the scopes granted that give claims.
type accessToken struct {
	ClientID string
	Family   string
	Scopes   []string
}

// id encodes t with a random part: client~family~scope+scope~random.
func (t accessToken) id() (string, error) {
	r, err := randomID()
	scopes := strings.Join(append([]string{oidc.ScopeOpenID}, t.Scopes...), "+")
	return t.ClientID + "~" + t.Family + "~" + scopes + "~" + r, err
}

func parseAccessToken(id string) (accessToken, bool) {
	parts := strings.Split(id, "~")
	if len(parts) != 4 {
		return accessToken{}, false
	}
	return accessToken{ClientID: parts[0], Family: parts[1], Scopes: strings.Split(parts[2], "+")}, true
}

// minted is what a token request is about to mint from: the client, and for a code the
// family, the subject and what it was granted (for a refresh token, its grant).
type minted struct {
	client account.Credential
	grant  refreshGrant
}

// minting reads what req mints from, using nothing up.
func (s *storage) minting(ctx context.Context, req op.TokenRequest) (minted, error) {
	c, err := s.clientOf(ctx, req)
	if err != nil {
		return minted{}, err
	}
	switch r := req.(type) {
	case *authRequest:
		return minted{client: c, grant: refreshGrant{TenantID: c.TenantID, ClientID: c.ID, Subject: r.Subject, Scopes: r.Scopes,
			AuthTime: r.AuthTime, AMR: r.AMR, Family: r.ID}}, nil
	case *refreshGrant:
		return minted{client: c, grant: *r}, nil
	}
	return minted{}, oidc.ErrUnsupportedGrantType()
}

// use uses up what req mints from, the code's request or the refresh token current, by
// one conditional write (of parallel exchanges exactly one gets past it).
func (s *storage) use(ctx context.Context, req op.TokenRequest, current string) error {
	switch r := req.(type) {
	case *authRequest:
		if _, err := s.store.ConsumeToken(ctx, account.HashToken(r.ID), purposeAuthRequest, s.now().UTC()); err != nil {
			if errors.Is(err, account.ErrNotFound) {
				return s.replayed(ctx, r.TenantID, r.ID)
			}
			return storeFailed(ctx, fmt.Errorf("use auth request: %w", err))
		}
		return nil
	case *refreshGrant:
		var old refreshGrant
		if _, err := s.get(ctx, purposeRefresh, current, true, &old); err != nil {
			if errors.Is(err, account.ErrNotFound) {
				return oidc.ErrInvalidGrant().WithDescription("the refresh token has been used")
			}
			return storeFailed(ctx, fmt.Errorf("use refresh token: %w", err))
		}
		return nil
	}
	return oidc.ErrUnsupportedGrantType()
}

// mint reads what req mints from and uses it up.
func (s *storage) mint(ctx context.Context, req op.TokenRequest, current string) (minted, error) {
	m, err := s.minting(ctx, req)
	if err != nil {
		return minted{}, err
	}
	return m, s.use(ctx, req, current)
}

func (s *storage) CreateAccessToken(ctx context.Context, req op.TokenRequest) (string, time.Time, error) {
	m, err := s.mint(ctx, req, "")
	if err != nil {
		return "", time.Time{}, err
	}
	id, err := accessToken{ClientID: m.client.ID, Family: m.grant.Family, Scopes: userinfoScopes(m.grant.Scopes)}.id()
	if err != nil {
		return "", time.Time{}, err
	}
	s.auditToken(ctx, m.client, m.grant.Subject, "ok:"+m.client.Name)
	return id, s.now().UTC().Add(accessTokenTTL), nil
}

// CreateAccessAndRefreshTokens stores the new refresh token before it uses up the code or
// the refresh token it comes from: a failed write uses nothing up, and the same request
// works once the store does (a new token whose source was then not used up is removed;
// it was never given out).
func (s *storage) CreateAccessAndRefreshTokens(ctx context.Context, req op.TokenRequest, current string) (string, string, time.Time, error) {
	m, err := s.minting(ctx, req)
	if err != nil {
		return "", "", time.Time{}, err
	}
	g := m.grant
	if current == "" {
		// A new chain: it belongs to the account's session epoch and to the grant
		// standing now.
		a, err := s.account(ctx, g.TenantID, g.Subject)
		if err != nil {
			return "", "", time.Time{}, oidc.ErrInvalidGrant()
		}
		grant, err := s.svc.Grant(ctx, a.ID, g.ClientID)
		if errors.Is(err, account.ErrNotFound) {
			return "", "", time.Time{}, oidc.ErrInvalidGrant().WithDescription("the application's access has been revoked")
		} else if err != nil {
			return "", "", time.Time{}, fmt.Errorf("read grant: %w", err)
		}
		g.Epoch, g.GrantAt = a.SessionEpoch, grant.CreatedAt
	}
	refresh, err := randomID()
	if err != nil {
		return "", "", time.Time{}, err
	}
	if err := s.put(ctx, purposeRefresh, refresh, g.TenantID, g, refreshTokenTTL); err != nil {
		return "", "", time.Time{}, fmt.Errorf("store refresh token: %w", err)
	}
	if err := s.use(ctx, req, current); err != nil {
		if _, derr := s.store.ConsumeToken(ctx, account.HashToken(refresh), purposeRefresh, s.now().UTC()); derr != nil {
			s.log.WarnContext(ctx, "unused refresh token not removed", "err", derr)
		}
		return "", "", time.Time{}, err
	}
	id, err := accessToken{ClientID: m.client.ID, Family: g.Family, Scopes: userinfoScopes(g.Scopes)}.id()
	if err != nil {
		return "", "", time.Time{}, err
	}
	result := "ok:" + m.client.Name + " with refresh token"
	if current != "" {
		result = "ok:" + m.client.Name + " refreshed"
	}
	s.auditToken(ctx, m.client, g.Subject, result)
	return id, refresh, s.now().UTC().Add(accessTokenTTL), nil
}

// userinfoScopes are the scopes of scopes that give claims.
func userinfoScopes(scopes []string) []string {
	var out []string
	for _, sc := range scopes {
		if sc == oidc.ScopeEmail || sc == oidc.ScopeProfile {
			out = append(out, sc)
		}
	}
	return out
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

// TokenRequestByRefreshToken reads what a refresh token stands for, if it still stands:
// the account exists, is neither suspended nor locked, is in the same session epoch, the
// grant it was issued under has not been revoked (nor made again), and its family has
// not been revoked.
func (s *storage) TokenRequestByRefreshToken(ctx context.Context, refresh string) (op.RefreshTokenRequest, error) {
	var g refreshGrant
	if _, err := s.get(ctx, purposeRefresh, refresh, false, &g); err != nil {
		if !errors.Is(err, account.ErrNotFound) {
			return nil, storeFailed(ctx, err)
		}
		return nil, oidc.ErrInvalidGrant().WithDescription("the refresh token is not valid")
	}
	dead := oidc.ErrInvalidGrant().WithDescription("the refresh token has been revoked")
	a, err := s.account(ctx, g.TenantID, g.Subject)
	if err != nil || a.SessionEpoch != g.Epoch {
		return nil, dead // gone, or signed out everywhere
	}
	if err := s.svc.Admit(ctx, account.Attempt{Account: a, Method: account.MethodOIDCRefresh}); err != nil {
		if _, refused := account.Refused(err); refused {
			return nil, dead // suspended, locked
		}
		return nil, storeFailed(ctx, fmt.Errorf("admission: %w", err))
	}
	grant, err := s.svc.Grant(ctx, a.ID, g.ClientID)
	if errors.Is(err, account.ErrNotFound) || (err == nil && !grant.CreatedAt.Equal(g.GrantAt)) {
		return nil, dead // the person revoked the application, or a lock ended it
	} else if err != nil {
		return nil, storeFailed(ctx, fmt.Errorf("read grant: %w", err))
	}
	if revoked, err := s.revokedFamily(ctx, g.Family); err != nil {
		return nil, storeFailed(ctx, err)
	} else if revoked {
		return nil, dead
	}
	return &g, nil
}

// TerminateSession ends the browser's session once the provider has checked the
// end_session request (handler.endSession put the means in the request's memo).
func (s *storage) TerminateSession(ctx context.Context, subject, _ string) error {
	if end := memoOf(ctx).endSession; end != nil {
		return end(ctx, subject)
	}
	return nil
}

// RevokeToken revokes a refresh token (token is the token itself, as GetRefreshTokenInfo
// returns it) or an access token (token is its ID): either way its whole family, so the
// access tokens of a revoked refresh token and the refresh token of a revoked access
// token stop too (RFC 7009 2.1). A token of another client is refused; an unknown or
// expired one is not an error.
func (s *storage) RevokeToken(ctx context.Context, token, _, clientID string) *oidc.Error {
	var family, tenantID string // the client's tenant, below
	if at, ok := parseAccessToken(token); ok {
		if at.ClientID != clientID {
			return oidc.ErrInvalidClient().WithDescription("the token was issued to another client")
		}
		family = at.Family
	} else {
		var g refreshGrant
		t, err := s.get(ctx, purposeRefresh, token, false, &g)
		if errors.Is(err, account.ErrNotFound) {
			return nil
		} else if err != nil {
			return oidc.ErrServerError()
		}
		if g.ClientID != clientID {
			return oidc.ErrInvalidClient().WithDescription("the token was issued to another client")
		}
		if _, err := s.store.ConsumeToken(ctx, t.IDHash, purposeRefresh, s.now().UTC()); err != nil && !errors.Is(err, account.ErrNotFound) {
			return oidc.ErrServerError()
		}
		family, tenantID = g.Family, g.TenantID
	}
	if err := s.revokeFamily(ctx, family); err != nil {
		return oidc.ErrServerError()
	}
	name := clientID
	if c, err := s.oidcClient(ctx, clientID); err == nil {
		tenantID, name = c.TenantID, c.Name
	}
	s.svc.Audit(ctx, account.AuditEvent{TenantID: tenantID, Actor: "oidc:" + name, Action: "oidc.revoke", Result: "ok:" + name + " (revocation endpoint)"})
	return nil
}

// GetRefreshTokenInfo answers for the client's own refresh tokens; the "token ID" it
// returns is the token itself, which RevokeToken takes.
func (s *storage) GetRefreshTokenInfo(ctx context.Context, clientID, token string) (string, string, error) {
	var g refreshGrant
	if _, err := s.get(ctx, purposeRefresh, token, false, &g); err != nil || g.ClientID != clientID {
		return "", "", op.ErrInvalidRefreshToken
	}
	return g.Subject, token, nil
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

// tokenOf is what an access token's ID says, if the token still stands: its client
// exists and its family has not been revoked.
func (s *storage) tokenOf(ctx context.Context, tokenID string) (accessToken, account.Credential, error) {
	at, ok := parseAccessToken(tokenID)
	if !ok {
		return at, account.Credential{}, oidc.ErrAccessDenied()
	}
	c, err := s.oidcClient(ctx, at.ClientID)
	if err != nil {
		return at, c, oidc.ErrAccessDenied() // a removed client's tokens answer nothing
	}
	if revoked, err := s.revokedFamily(ctx, at.Family); err != nil {
		return at, c, storeFailed(ctx, err)
	} else if revoked {
		return at, c, oidc.ErrAccessDenied()
	}
	return at, c, nil
}

// SetUserinfoFromToken gives the claims of the scopes the token was granted.
func (s *storage) SetUserinfoFromToken(ctx context.Context, info *oidc.UserInfo, tokenID, subject, _ string) error {
	at, c, err := s.tokenOf(ctx, tokenID)
	if err != nil {
		return err
	}
	return s.userinfo(ctx, info, c.TenantID, subject, at.Scopes)
}

// SetIntrospectionFromToken answers only the client the token was issued to (RFC 7662
// 2.2: to any other, a client of this tenant or another, the token is inactive).
func (s *storage) SetIntrospectionFromToken(ctx context.Context, resp *oidc.IntrospectionResponse, tokenID, subject, clientID string) error {
	at, c, err := s.tokenOf(ctx, tokenID)
	if err != nil {
		return err
	}
	if at.ClientID != clientID {
		return oidc.ErrAccessDenied()
	}
	var info oidc.UserInfo
	if err := s.userinfo(ctx, &info, c.TenantID, subject, at.Scopes); err != nil {
		return err
	}
	resp.SetUserInfo(&info)
	resp.Active, resp.ClientID, resp.Audience = true, c.ID, []string{c.ID}
	resp.Scope = at.Scopes
	resp.TokenType = oidc.BearerToken
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

	badMode    string                                          // a response_mode refused (queryModeOnly)
	failed     bool                                            // the store failed: the answer is a 500
	endSession func(ctx context.Context, subject string) error // ends the browser's session (end_session)
}

// storeFailed notes in the request's memo that the store failed, so that the answer is a
// 500 (guard) even where the provider would turn the error into a 4xx (invalid_grant, a
// relying party would drop its refresh token), and returns err.
func storeFailed(ctx context.Context, err error) error {
	memoOf(ctx).failed = true
	return err
}

// memoOf is the request's memo (an empty one outside a request).
func memoOf(ctx context.Context) *memo {
	if m, ok := ctx.Value(memoKey{}).(*memo); ok {
		return m
	}
	return &memo{clients: map[string]account.Credential{}, accounts: map[string]account.Account{}}
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
