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
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rs/cors"
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
	Authenticate(ctx context.Context, token, ip string) (account.Principal, error)
	Logout(ctx context.Context, p account.Principal, ip string) error
}

// Per-IP limits a minute, in each instance (the edge's WAF rule holds them across
// instances): a browser starts few sign-ins, a relying party's server exchanges codes
// and refreshes for all its users from one address.
const (
	AuthorizePerIPMinute = 120
	TokenPerIPMinute     = 1200
)

// Deps are what the provider is built from.
type Deps struct {
	Issuer       string // the site's URL (SITE_URL; locally the server's own)
	Integrations Integrations
	Sessions     Sessions
	Store        Store
	// SessionCookies are the names the session cookie may have (plain and __Host-).
	SessionCookies []string
	// AuthorizePerIPMinute and TokenPerIPMinute override the limits (<0: none).
	AuthorizePerIPMinute, TokenPerIPMinute int
	Now                                    func() time.Time
	Log                                    *slog.Logger
}

// New returns the provider's handler for Prefix and Discovery.
func New(ctx context.Context, d Deps) (http.Handler, error) {
	issuer := strings.TrimRight(d.Issuer, "/")
	dev := strings.HasPrefix(issuer, "http://")
	st := &storage{svc: d.Integrations, store: d.Store, now: d.Now, log: d.Log, dev: dev}
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
		DefaultLogoutRedirectURI: SignedOutPath,
		SupportedScopes:          []string{oidc.ScopeOpenID, oidc.ScopeEmail, oidc.ScopeProfile, oidc.ScopeOfflineAccess},
		SupportedClaims:          []string{"sub", "email", "email_verified", "preferred_username", "tenant", "iss", "aud", "exp", "iat", "auth_time", "nonce", "amr"}}
	copy(cfg.CryptoKey[:], key)
	p := &handler{st: st, d: d, issuer: issuer}
	// CORS, on the provider's handlers and on this package's own alike.
	corsOpts := &cors.Options{AllowOriginVaryRequestFunc: p.corsOrigin, AllowCredentials: false,
		AllowedMethods: []string{http.MethodGet, http.MethodPost}, AllowedHeaders: []string{"Authorization", "Content-Type"}}
	withCORS := cors.New(*corsOpts).Handler
	opts := []op.Option{
		op.WithCustomEndpoints(op.NewEndpoint(Prefix+"authorize"), op.NewEndpoint(Prefix+"token"), op.NewEndpoint(Prefix+"userinfo"),
			op.NewEndpoint(Prefix+"revoke"), op.NewEndpoint(Prefix+"end_session"), op.NewEndpoint(Prefix+"keys")),
		op.WithCustomIntrospectionEndpoint(op.NewEndpoint(Prefix + "introspect")),
		op.WithCORSOptions(corsOpts),
		op.WithLogger(d.Log),
	}
	if dev {
		opts = append(opts, op.WithAllowInsecure())
	}
	provider, err := op.NewProvider(cfg, st, op.StaticIssuer(issuer), opts...)
	if err != nil {
		return nil, fmt.Errorf("oidc provider: %w", err)
	}
	p.provider = provider
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+LoginPath, p.login)
	mux.Handle(Prefix+"authorize", p.limit("authorize", d.AuthorizePerIPMinute, AuthorizePerIPMinute, p.queryModeOnly(provider)))
	mux.Handle(Prefix+"token", p.limit("token", d.TokenPerIPMinute, TokenPerIPMinute, noStore(p.clientFirst(provider))))
	mux.Handle(Prefix+"end_session", p.endSession(provider))
	mux.Handle("POST "+Prefix+"revoke", withCORS(http.HandlerFunc(p.revoke)))
	mux.Handle(Prefix+"userinfo", provider) // 401s get WWW-Authenticate in guard
	mux.Handle("POST "+Prefix+"introspect", secretPostAsBasic(provider))
	mux.Handle(Discovery, cacheable(withCORS(http.HandlerFunc(p.discovery))))
	mux.Handle(Prefix+"keys", cacheable(provider))
	mux.Handle(Prefix, provider)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r = r.WithContext(withMemo(r.Context()))
		g := &guard{ResponseWriter: w, r: r, log: d.Log}
		mux.ServeHTTP(g, r)
		g.finish()
	}), nil
}

// SignedOutPath is where RP-initiated logout lands without a post_logout_redirect_uri:
// the site's sign-in page, which says the person has signed out.
const SignedOutPath = "/index.html?signed_out=1"

// cacheable lets the edge keep the discovery document and the key set for five minutes
// (a new month's key is made before it signs anything, and the old one stays listed).
func cacheable(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=300")
		next.ServeHTTP(w, r)
	})
}

// noStore marks token responses (and their errors) as not to be cached (RFC 6749 5.1).
func noStore(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Pragma", "no-cache")
		next.ServeHTTP(w, r)
	})
}

// discovery is zitadel's document trimmed to what works here: the code flow with PKCE
// (S256), answers in the query only, the code and refresh grants, no device endpoint,
// no request objects.
func (h *handler) discovery(w http.ResponseWriter, r *http.Request) {
	ctx := op.ContextWithIssuer(r.Context(), h.issuer)
	c := op.CreateDiscoveryConfig(ctx, h.provider, h.st)
	c.DeviceAuthorizationEndpoint, c.CheckSessionIframe = "", ""
	c.ResponseTypesSupported = []string{string(oidc.ResponseTypeCode)}
	c.ResponseModesSupported = []string{string(oidc.ResponseModeQuery)}
	c.GrantTypesSupported = []oidc.GrantType{oidc.GrantTypeCode, oidc.GrantTypeRefreshToken}
	c.RequestObjectSigningAlgValuesSupported = nil
	c.RequestParameterSupported, c.RequestURIParameterSupported = false, false
	c.TokenEndpointAuthSigningAlgValuesSupported = nil
	c.IntrospectionEndpointAuthSigningAlgValuesSupported, c.RevocationEndpointAuthSigningAlgValuesSupported = nil, nil
	c.TokenEndpointAuthMethodsSupported = []oidc.AuthMethod{oidc.AuthMethodBasic, oidc.AuthMethodPost, oidc.AuthMethodNone}
	c.IntrospectionEndpointAuthMethodsSupported = []oidc.AuthMethod{oidc.AuthMethodBasic, oidc.AuthMethodPost}
	c.RevocationEndpointAuthMethodsSupported = []oidc.AuthMethod{oidc.AuthMethodBasic, oidc.AuthMethodPost, oidc.AuthMethodNone}
	w.Header().Set("Content-Type", "application/json")
	if err := json.NewEncoder(w).Encode(c); err != nil {
		h.d.Log.WarnContext(r.Context(), "write discovery", "err", err)
	}
}

// queryModeOnly refuses response modes other than query (form_post would need a page
// with a script the site's CSP forbids): the mode is dropped before the provider parses
// the request, so the refusal reaches the client in the query, once its redirect URI has
// been checked (CreateAuthRequest sees the mark).
func (h *handler) queryModeOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			writeOAuthError(w, http.StatusBadRequest, "invalid_request", "the request cannot be parsed")
			return
		}
		if m := r.Form.Get("response_mode"); m != "" && m != string(oidc.ResponseModeQuery) {
			r.Form.Del("response_mode")
			q := r.URL.Query()
			q.Del("response_mode")
			r.URL.RawQuery = q.Encode()
			memoOf(r.Context()).badMode = m
		}
		next.ServeHTTP(w, r)
	})
}

// limit answers 429 rate_limited (with Retry-After) past perMinute requests a minute
// from one address (override: Deps' value when set; <0 none).
func (h *handler) limit(kind string, override, perMinute int, next http.Handler) http.Handler {
	if override != 0 {
		perMinute = override
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if perMinute > 0 {
			err := h.d.Integrations.ThrottleOIDC(r.Context(), kind, clientIP(r), perMinute)
			var ae *account.Error
			if errors.As(err, &ae) && ae.Code == account.CodeRateLimited {
				w.Header().Set("Retry-After", strconv.Itoa(max(1, int(ae.RetryAfter.Seconds()))))
				writeOAuthError(w, http.StatusTooManyRequests, string(account.CodeRateLimited), "too many requests from this address")
				return
			} else if err != nil {
				h.d.Log.ErrorContext(r.Context(), "oidc throttle", "err", err)
			}
		}
		next.ServeHTTP(w, r)
	})
}

// clientFirst authenticates the client at the token endpoint before the provider reads
// the grant (RFC 6749 5.2): zitadel looks the code up first, so a client that cannot
// authenticate would be told "invalid code" (400 invalid_grant), or for a refresh token
// unauthorized_client, rather than 401 invalid_client. Basic (form-encoded, RFC 6749
// 2.3.1) or client_id and client_secret in the form; a public client names itself and
// proves the request with PKCE (the provider checks that). The provider checks the
// client again, as ever. Other methods (a CORS preflight) go to the provider as they are.
func (h *handler) clientFirst(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			next.ServeHTTP(w, r)
			return
		}
		if err := r.ParseForm(); err != nil {
			writeOAuthError(w, http.StatusBadRequest, "invalid_request", "the request cannot be parsed")
			return
		}
		id, secret, basic := r.BasicAuth()
		if basic {
			var errID, errSecret error
			id, errID = url.QueryUnescape(id)
			secret, errSecret = url.QueryUnescape(secret)
			if errID != nil || errSecret != nil {
				writeOAuthError(w, http.StatusUnauthorized, "invalid_client", "invalid basic auth header")
				return
			}
		} else {
			id, secret = r.Form.Get("client_id"), r.Form.Get("client_secret")
		}
		ctx := r.Context()
		c, err := h.st.oidcClient(ctx, id)
		switch {
		case errors.Is(err, account.ErrNotFound):
			writeOAuthError(w, http.StatusUnauthorized, "invalid_client", "client authentication failed")
			return
		case err != nil:
			h.d.Log.ErrorContext(ctx, "oidc token: client", "err", err)
			writeOAuthError(w, http.StatusInternalServerError, "server_error", "internal error")
			return
		case !c.Public && !equalHash(account.HashToken(secret), c.SecretHash):
			h.d.Integrations.Audit(ctx, account.AuditEvent{TenantID: c.TenantID, Actor: "oidc:" + c.Name, Action: "oidc.token",
				IP: clientIP(r), Result: "failed:client authentication"})
			writeOAuthError(w, http.StatusUnauthorized, "invalid_client", "client authentication failed")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// secretPostAsBasic lets a client authenticate to introspection with client_secret_post,
// as discovery says and as it does at the token and revocation endpoints: zitadel's
// introspection takes only Basic, so a client_id and client_secret in the form become
// the Basic header (the provider checks them as ever).
func secretPostAsBasic(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, _, basic := r.BasicAuth(); !basic && r.ParseForm() == nil {
			if id, secret := r.PostForm.Get("client_id"), r.PostForm.Get("client_secret"); id != "" && secret != "" {
				r.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
				r.PostForm.Del("client_secret")
				r.Form.Del("client_secret")
			}
		}
		next.ServeHTTP(w, r)
	})
}

// revoke is RFC 7009's endpoint. zitadel's would first try the token as one of its
// AES-CFB opaque tokens, which "decrypts" any string (a refresh token among them) into
// garbage now and then, and then revoke nothing; this provider's tokens are refresh
// tokens and JWT access tokens, so the token is looked up as one, else verified as the
// other, whatever the hint says.
func (h *handler) revoke(w http.ResponseWriter, r *http.Request) {
	ctx := op.ContextWithIssuer(r.Context(), h.issuer)
	token, _, clientID, err := op.ParseTokenRevocationRequest(r.WithContext(ctx), h.provider)
	if err != nil {
		op.RevocationRequestError(w, r, err)
		return
	}
	if claims, err := op.VerifyAccessToken[*oidc.AccessTokenClaims](ctx, token, h.provider.AccessTokenVerifier(ctx)); err == nil {
		token = claims.JWTID
	}
	if err := h.st.RevokeToken(ctx, token, "", clientID); err != nil {
		op.RevocationRequestError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
}

// corsOrigin lets a browser page read the provider's answers only from the origin of a
// registered client's redirect URI (without credentials: the provider's endpoints take
// none from a cross-origin page).
func (h *handler) corsOrigin(r *http.Request, origin string) (bool, []string) {
	ok, err := h.d.Integrations.OIDCOriginRegistered(r.Context(), origin)
	if err != nil {
		h.d.Log.ErrorContext(r.Context(), "oidc cors", "err", err)
	}
	return ok && err == nil, nil
}

func writeOAuthError(w http.ResponseWriter, status int, code, description string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": description})
}

type handler struct {
	provider *op.Provider
	st       *storage
	d        Deps
	issuer   string
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
			if p, err := h.d.Sessions.Authenticate(r.Context(), c.Value, clientIP(r)); err == nil {
				return p, true
			}
		}
	}
	return account.Principal{}, false
}

// login completes an authorization request for a signed-in browser (302 to the client
// through the provider's callback, which makes the code), and sends any other browser to
// the site's sign-in, which comes back here when the sign-in flow ends. A session older
// than the request's max_age (or than the request itself, with prompt=login) signs in
// again (reauth=1 keeps the page from returning at once). With prompt=none there is no
// sign-in page: login_required goes back to the client, once the site's page has come
// back here with the browser's cookie (a navigation from the client's site carries no
// SameSite=Strict cookie; the page's does: it says so with checked=1, and browsers with
// Sec-Fetch-Site: same-origin). An account of another
// tenant than the client's is refused (access_denied to the client).
func (h *handler) login(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id := r.URL.Query().Get("id")
	a, err := h.st.authRequest(ctx, id, false)
	if err != nil || a.IsDone {
		http.Redirect(w, r, "/index.html?oidc_error=expired", http.StatusFound)
		return
	}
	none := slices.Contains(a.Prompt, oidc.PromptNone)
	p, ok := h.principal(r)
	if !ok {
		if none && (r.URL.Query().Get("checked") == "1" || r.Header.Get("Sec-Fetch-Site") == "same-origin") {
			op.AuthRequestError(w, r, a, oidc.ErrLoginRequired(), h.provider)
			return
		}
		page := "/index.html?oidc=" + id
		if none {
			page += "&prompt=none"
		}
		http.Redirect(w, r, page, http.StatusFound)
		return
	}
	if !a.fresh(p.Session.CreatedAt, h.st.now()) {
		if none {
			op.AuthRequestError(w, r, a, oidc.ErrLoginRequired().WithDescription("max_age requires a new sign-in"), h.provider)
			return
		}
		http.Redirect(w, r, "/index.html?oidc="+id+"&reauth=1", http.StatusFound)
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
	if err := h.st.complete(ctx, a, p); err != nil {
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

// endSession lets the provider check the request (its id_token_hint, client and
// post_logout_redirect_uri) first; only a valid request ends the browser's Kagiya session,
// in TerminateSession, and then the browser goes back to the client, or without a
// redirect URI to SignedOutPath. A hint naming another account than the session's ends
// nothing.
func (h *handler) endSession(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		memoOf(r.Context()).endSession = func(ctx context.Context, subject string) error {
			p, ok := h.principal(r)
			if !ok || (subject != "" && subject != p.Account.ID) {
				return nil
			}
			if err := h.d.Sessions.Logout(ctx, p, clientIP(r)); err != nil {
				return fmt.Errorf("oidc logout: %w", err)
			}
			for _, name := range h.d.SessionCookies {
				http.SetCookie(w, &http.Cookie{Name: name, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
					Secure: strings.HasPrefix(name, "__Host-"), SameSite: http.SameSiteStrictMode})
			}
			return nil
		}
		next.ServeHTTP(w, r)
	})
}
