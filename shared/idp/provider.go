// Package idp makes Kagiya an OpenID Connect provider for a tenant's web applications,
// on github.com/zitadel/oidc's op package with its state in Kagiya's store roles: the
// authorization code flow with PKCE (S256, required), discovery, JWKS (a signing key a
// month, sealed), ID tokens with sub = account_id, email = login ID and tenant, UserInfo,
// refresh tokens for the clients allowed them, and RP-initiated logout. The sign-in is
// Kagiya's own: /api/oidc/authorize hands the request to LoginPath, which gives a signed-in
// browser its code at once and sends any other through the site's sign-in first, so the
// password, a forced change, the second factor and the lockout all apply.
package idp

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/kagiya/kagiya/shared/account"
)

// The provider's paths (under /api/, so they reach the API behind the edge like the rest)
// and its discovery document at the issuer.
const (
	Prefix    = "/api/oidc/"
	LoginPath = Prefix + "login"
	Discovery = "/.well-known/openid-configuration"
)

// Routes lists "METHOD /path" of what the provider serves, for the template's check.
func Routes() []string {
	var out []string
	for _, p := range []string{Discovery, Prefix + "authorize", Prefix + "authorize/callback", Prefix + "keys", Prefix + "userinfo", Prefix + "end_session", LoginPath} {
		out = append(out, "GET "+p)
	}
	for _, p := range []string{Prefix + "token", Prefix + "revoke", Prefix + "introspect", Prefix + "userinfo", Prefix + "end_session"} {
		out = append(out, "POST "+p)
	}
	return out
}

// Sessions is what the provider needs of the sign-in: the browser's session, and ending it.
type Sessions interface {
	Authenticate(ctx context.Context, token string) (account.Principal, error)
	Logout(ctx context.Context, p account.Principal, ip string) error
}

// Deps are what the provider is built from.
type Deps struct {
	Issuer       string // the site's URL (SITE_URL; locally the server's own)
	Integrations Integrations
	Sessions     Sessions
	Store        Store
	// SessionCookies are the names the session cookie may have (plain and __Host-).
	SessionCookies []string
	Now            func() time.Time
	Log            *slog.Logger
}

// New returns the provider's handler for Prefix and Discovery.
func New(ctx context.Context, d Deps) (http.Handler, error) {
	issuer := strings.TrimRight(d.Issuer, "/")
	dev := strings.HasPrefix(issuer, "http://")
	st := &storage{svc: d.Integrations, store: d.Store, now: d.Now, dev: dev}
	// The key that would encrypt opaque access tokens (this provider's are JWTs): made
	// once per deployment.
	fresh := make([]byte, 32)
	if _, err := rand.Read(fresh); err != nil {
		return nil, err
	}
	key, err := d.Store.Secret(ctx, "oidc-crypto", fresh)
	if err != nil {
		return nil, fmt.Errorf("oidc crypto key: %w", err)
	}
	cfg := &op.Config{CodeMethodS256: true, AuthMethodPost: true, GrantTypeRefreshToken: true,
		SupportedScopes: []string{oidc.ScopeOpenID, oidc.ScopeEmail, oidc.ScopeProfile, oidc.ScopeOfflineAccess},
		SupportedClaims: []string{"sub", "email", "email_verified", "preferred_username", "tenant", "iss", "aud", "exp", "iat", "auth_time", "nonce", "amr"}}
	copy(cfg.CryptoKey[:], key)
	opts := []op.Option{
		op.WithCustomEndpoints(op.NewEndpoint(Prefix+"authorize"), op.NewEndpoint(Prefix+"token"), op.NewEndpoint(Prefix+"userinfo"),
			op.NewEndpoint(Prefix+"revoke"), op.NewEndpoint(Prefix+"end_session"), op.NewEndpoint(Prefix+"keys")),
		op.WithCustomIntrospectionEndpoint(op.NewEndpoint(Prefix + "introspect")),
		op.WithLogger(d.Log),
	}
	if dev {
		opts = append(opts, op.WithAllowInsecure())
	}
	provider, err := op.NewProvider(cfg, st, op.StaticIssuer(issuer), opts...)
	if err != nil {
		return nil, fmt.Errorf("oidc provider: %w", err)
	}
	p := &handler{provider: provider, st: st, d: d}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+LoginPath, p.login)
	mux.Handle(Prefix+"end_session", p.endSession(provider))
	mux.Handle(Discovery, cacheable(provider))
	mux.Handle(Prefix+"keys", cacheable(provider))
	mux.Handle(Prefix, provider)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mux.ServeHTTP(w, r.WithContext(withMemo(r.Context())))
	}), nil
}

// cacheable lets the edge keep the discovery document and the key set for five minutes
// (a new month's key is made before it signs anything, and the old one stays listed).
func cacheable(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=300")
		next.ServeHTTP(w, r)
	})
}

type handler struct {
	provider *op.Provider
	st       *storage
	d        Deps
}

func clientIP(r *http.Request) string {
	if h, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return h
	}
	return r.RemoteAddr
}

// principal is the browser's signed-in session, if it has one.
func (h *handler) principal(r *http.Request) (account.Principal, bool) {
	for _, name := range h.d.SessionCookies {
		if c, err := r.Cookie(name); err == nil {
			if p, err := h.d.Sessions.Authenticate(r.Context(), c.Value); err == nil {
				return p, true
			}
		}
	}
	return account.Principal{}, false
}

// login completes an authorization request for a signed-in browser (302 to the client
// through the provider's callback, which makes the code), and sends any other browser to
// the site's sign-in, which comes back here when the sign-in flow ends. An account of
// another tenant than the client's is refused (access_denied to the client).
func (h *handler) login(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id := r.URL.Query().Get("id")
	a, err := h.st.authRequest(ctx, id, false)
	if err != nil || a.IsDone {
		http.Redirect(w, r, "/index.html?oidc_error=expired", http.StatusFound)
		return
	}
	p, ok := h.principal(r)
	if !ok {
		http.Redirect(w, r, "/index.html?oidc="+id, http.StatusFound)
		return
	}
	c, err := h.st.oidcClient(ctx, a.ClientID)
	if err != nil {
		op.AuthRequestError(w, r, a, oidc.ErrInvalidClient(), h.provider)
		return
	}
	who := p.Account
	event := account.AuditEvent{TenantID: c.TenantID, Actor: who.LoginID, Action: "oidc.authorize", Target: who.LoginID, TargetID: who.ID, IP: clientIP(r)}
	if who.TenantID != c.TenantID {
		event.TenantID, event.Result = who.TenantID, "failed:other_tenant "+c.ID
		h.d.Integrations.Audit(ctx, event)
		op.AuthRequestError(w, r, a, oidc.ErrAccessDenied().WithDescription("this account cannot sign in to this application"), h.provider)
		return
	}
	if err := h.st.complete(ctx, a, who); err != nil {
		var oe *oidc.Error
		if errors.As(err, &oe) {
			http.Redirect(w, r, "/index.html?oidc_error=expired", http.StatusFound)
			return
		}
		h.d.Log.ErrorContext(ctx, "oidc login", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	if err := h.d.Integrations.RecordGrant(ctx, who, c); err != nil {
		h.d.Log.WarnContext(ctx, "oidc grant not recorded", "err", err)
	}
	event.Result = "ok:" + c.Name
	h.d.Integrations.Audit(ctx, event)
	http.Redirect(w, r, op.AuthCallbackURL(h.provider)(op.ContextWithIssuer(ctx, strings.TrimRight(h.d.Issuer, "/")), id), http.StatusFound)
}

// endSession ends the browser's Kagiya session (RP-initiated logout), then lets the
// provider check the request and send the browser back to the client.
func (h *handler) endSession(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p, ok := h.principal(r); ok {
			if err := h.d.Sessions.Logout(r.Context(), p, clientIP(r)); err != nil {
				h.d.Log.WarnContext(r.Context(), "oidc logout", "err", err)
			}
			for _, name := range h.d.SessionCookies {
				http.SetCookie(w, &http.Cookie{Name: name, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
					Secure: strings.HasPrefix(name, "__Host-"), SameSite: http.SameSiteStrictMode})
			}
		}
		next.ServeHTTP(w, r)
	})
}
