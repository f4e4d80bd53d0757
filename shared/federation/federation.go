// Package federation is Kagiya as a relying party: it signs people in through their
// organization's own OpenID Connect provider (Google, Microsoft Entra ID, AD FS, another
// Kagiya). It discovers each provider once and keeps its document and keys for a while
// (github.com/coreos/go-oidc), builds the authorization request (code flow, PKCE S256,
// state, nonce) and, on the way back, exchanges the code and verifies the ID token:
// signature, issuer, audience, expiry and nonce. What the browser must carry between
// the two (the state, the nonce, the PKCE verifier) is the caller's to bind to it.
package federation

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/kagiya/kagiya/shared/account"
)

// Defaults of Config.
const (
	DefaultTimeout  = 10 * time.Second
	DefaultCacheTTL = time.Hour
)

// Config tunes a Client. Zero values take the defaults.
type Config struct {
	// Timeout bounds each request to a provider: discovery, keys, the code exchange.
	Timeout time.Duration
	// CacheTTL is how long a provider's discovery document is kept (its keys are
	// fetched again whenever a token names a key not yet seen).
	CacheTTL time.Duration
	// AllowLoopback lets issuers on loopback hosts use http (the local server only).
	AllowLoopback bool
	// Now is the clock ID tokens' expiry is checked against (default time.Now).
	Now func() time.Time
	// Transport, if set, carries the requests (tests).
	Transport http.RoundTripper
}

// Client talks to identity providers. It is safe for concurrent use and meant to live
// as long as its process (its cache is per instance).
type Client struct {
	cfg  Config
	http *http.Client
	mu   sync.Mutex
	disc map[string]discovered
}

type discovered struct {
	p  *oidc.Provider
	at time.Time
}

// New returns a Client.
func New(cfg Config) *Client {
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.CacheTTL <= 0 {
		cfg.CacheTTL = DefaultCacheTTL
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Client{cfg: cfg, http: &http.Client{Timeout: cfg.Timeout, Transport: cfg.Transport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
		disc: map[string]discovered{}}
}

// Errors of a sign-in through a provider: account's, so that the flow tells them apart.
// ErrUnavailable: the provider could not be reached or answered nonsense (discovery,
// keys, token endpoint); ErrRejected: it answered, but what it gave does not verify or
// was refused; ErrBadIssuer: not an issuer Kagiya talks to (account.CheckIssuer).
var (
	ErrUnavailable  = account.ErrIdPUnavailable
	ErrRejected     = account.ErrIdPRejected
	ErrTokenInvalid = account.ErrIdPTokenInvalid // a kind of ErrRejected
	ErrBadIssuer    = errors.New("issuer not allowed")
)

// Provider, Request and Identity are account's: a Client is its account.Relying.
type (
	Provider = account.IdPClient
	Request  = account.IdPRequest
	Identity = account.IdPIdentity
)

var _ account.Relying = (*Client)(nil)

func (c *Client) ctx(ctx context.Context) context.Context {
	return oidc.ClientContext(ctx, c.http)
}

// provider returns issuer's discovered provider, from the cache while it is fresh.
func (c *Client) provider(ctx context.Context, issuer string) (*oidc.Provider, error) {
	if err := account.CheckIssuer(issuer, c.cfg.AllowLoopback); err != nil {
		return nil, fmt.Errorf("%w: %s", ErrBadIssuer, issuer)
	}
	now := c.cfg.Now()
	c.mu.Lock()
	d, ok := c.disc[issuer]
	c.mu.Unlock()
	if ok && now.Sub(d.at) < c.cfg.CacheTTL {
		return d.p, nil
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	p, err := oidc.NewProvider(c.ctx(ctx), issuer)
	if err != nil {
		return nil, fmt.Errorf("%w: discovery of %s: %w", ErrUnavailable, issuer, err)
	}
	c.mu.Lock()
	c.disc[issuer] = discovered{p: p, at: now}
	c.mu.Unlock()
	return p, nil
}

func (c *Client) oauth(p *oidc.Provider, r Provider) *oauth2.Config {
	return &oauth2.Config{ClientID: r.ClientID, ClientSecret: r.ClientSecret, RedirectURL: r.RedirectURI,
		Endpoint: p.Endpoint(), Scopes: []string{oidc.ScopeOpenID, "email"}}
}

// Start builds the authorization request for a sign-in at r's provider, with a fresh
// state, nonce and PKCE verifier; loginHint (optional) fills the provider's own form.
// reauth asks the provider to authenticate the person again, whatever its own session
// (OpenID Connect Core 3.1.2.1: max_age=0, which also makes auth_time a required
// claim, and prompt=login); the caller checks the auth_time Finish gives.
func (c *Client) Start(ctx context.Context, r Provider, loginHint string, reauth bool) (Request, error) {
	p, err := c.provider(ctx, r.Issuer)
	if err != nil {
		return Request{}, err
	}
	req := Request{State: oauth2.GenerateVerifier(), Nonce: oauth2.GenerateVerifier(), Verifier: oauth2.GenerateVerifier()}
	opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(req.Verifier), oidc.Nonce(req.Nonce)}
	if loginHint != "" {
		opts = append(opts, oauth2.SetAuthURLParam("login_hint", loginHint))
	}
	if reauth {
		opts = append(opts, oauth2.SetAuthURLParam("max_age", "0"), oauth2.SetAuthURLParam("prompt", "login"))
	}
	req.URL = c.oauth(p, r).AuthCodeURL(req.State, opts...)
	return req, nil
}

// Finish exchanges the code a provider sent back for its tokens and verifies the ID
// token (signature, issuer, audience r.ClientID, expiry, nonce). The Identity's
// AuthTime is the token's auth_time (zero without one).
func (c *Client) Finish(ctx context.Context, r Provider, code, verifier, nonce string) (Identity, error) {
	p, err := c.provider(ctx, r.Issuer)
	if err != nil {
		return Identity{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	tok, err := c.oauth(p, r).Exchange(c.ctx(ctx), code, oauth2.VerifierOption(verifier))
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) && re.Response != nil && re.Response.StatusCode < 500 {
			return Identity{}, fmt.Errorf("%w: code exchange: %s", ErrRejected, re.ErrorCode)
		}
		return Identity{}, fmt.Errorf("%w: code exchange: %w", ErrUnavailable, err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return Identity{}, fmt.Errorf("%w: no id_token", ErrTokenInvalid)
	}
	v := p.VerifierContext(c.ctx(ctx), &oidc.Config{ClientID: r.ClientID, Now: c.cfg.Now})
	id, err := v.Verify(c.ctx(ctx), raw)
	if err != nil {
		if strings.Contains(err.Error(), "fetching keys") {
			return Identity{}, fmt.Errorf("%w: id_token: %w", ErrUnavailable, err)
		}
		return Identity{}, fmt.Errorf("%w: id_token: %w", ErrTokenInvalid, err)
	}
	if id.Nonce == "" || id.Nonce != nonce {
		return Identity{}, fmt.Errorf("%w: id_token: nonce does not match", ErrTokenInvalid)
	}
	var claims struct {
		Email         string   `json:"email"`
		EmailVerified any      `json:"email_verified"`
		AuthTime      *float64 `json:"auth_time"` // a JSON number; some providers send a fraction
	}
	if err := id.Claims(&claims); err != nil {
		return Identity{}, fmt.Errorf("%w: id_token claims: %w", ErrTokenInvalid, err)
	}
	if id.Subject == "" {
		return Identity{}, fmt.Errorf("%w: id_token without sub", ErrTokenInvalid)
	}
	who := Identity{Subject: id.Subject, Email: claims.Email, EmailVerified: verified(claims.EmailVerified)}
	if claims.AuthTime != nil && *claims.AuthTime > 0 {
		who.AuthTime = time.Unix(int64(*claims.AuthTime), 0).UTC()
	}
	if who.Email == "" && p.UserInfoEndpoint() != "" {
		// Providers that keep the scope's claims out of the ID token (as OpenID Connect
		// Core's code flow allows) give them at UserInfo, for the same subject.
		info, err := p.UserInfo(c.ctx(ctx), oauth2.StaticTokenSource(tok))
		if err != nil {
			return Identity{}, fmt.Errorf("%w: userinfo: %w", ErrUnavailable, err)
		}
		if info.Subject != id.Subject {
			return Identity{}, fmt.Errorf("%w: userinfo of another subject", ErrTokenInvalid)
		}
		who.Email, who.EmailVerified = info.Email, info.EmailVerified
	}
	return who, nil
}

// verified reads email_verified, which some providers (older Entra ID, AD FS) send as a
// string.
func verified(v any) bool {
	switch v := v.(type) {
	case bool:
		return v
	case string:
		return v == "true"
	}
	return false
}
