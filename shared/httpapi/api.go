// Package httpapi is Kagiya's HTTP API: one http.Handler, the same in Lambda (through
// aws-lambda-go-api-proxy) and in the local server.
package httpapi

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"mime"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"golang.org/x/text/language"

	"github.com/kagiya/kagiya/shared/account"
	"github.com/kagiya/kagiya/shared/bulk"
	"github.com/kagiya/kagiya/shared/errcode"
)

// CookieName is the session cookie of docs/api.md; SecureCookieName is its name on https,
// where the __Host- prefix makes browsers refuse it unless it is Secure, host-only and
// Path=/ (no subdomain can set or shadow it).
const (
	CookieName       = "kagiya_session"
	SecureCookieName = "__Host-kagiya_session"
	// DeviceCookieName marks a browser that has signed in to an account (docs/api.md, known
	// browsers); SecureDeviceCookieName is its name on https.
	DeviceCookieName       = "kagiya_device"
	SecureDeviceCookieName = "__Host-kagiya_device"
)

// deviceCookieLife is how long a browser stays known without signing in again.
const deviceCookieLife = 400 * 24 * time.Hour

// cookieName is the session cookie's name for this deployment.
func (a *api) cookieName() string {
	if a.secure {
		return SecureCookieName
	}
	return CookieName
}

// MaxBodyBytes bounds every JSON request body.
const MaxBodyBytes = 64 << 10

// Deps are what the API is built from.
type Deps struct {
	Services *account.Flows
	Log      *slog.Logger
	// SecureCookies marks the session cookie Secure (whenever the site URL is https).
	SecureCookies bool
	// Bulk starts and shows bulk CSV jobs; nil where uploads are not configured.
	Bulk *bulk.Jobs
	// ForgotFloor is the least time a forgot-password answer takes, so known and unknown
	// accounts answer alike (default 500ms; tests set their own).
	ForgotFloor time.Duration
	// OriginSecret, if set, is the value CloudFront adds in OriginHeader to every request
	// it forwards: a request without it is 403 (so the execute-api URL is no way
	// around the edge), and with it the client's address is CloudFront-Viewer-Address.
	OriginSecret string
	// OIDC, if set, is the OpenID Connect provider (package idp): it gets /api/oidc/ and
	// the discovery document, behind the same edge and headers as the API.
	OIDC http.Handler
	// Exports, if set, keeps the accounts export for download through a presigned link
	// (in AWS, where a response may not exceed 6 MB); without it the export streams.
	Exports Exports
	// AccessLogged says each request is logged before the handler, by API Gateway's
	// access log (request ID, the Lambda request ID, route, status, latency): the
	// handler then writes no request line of its own, only its errors and the audit
	// line. Without it (the local server, tests) the handler logs each request.
	AccessLogged bool
	// SiteBuild, if set, names the site build this API belongs to (its ID, from
	// site/build), sent in SiteBuildHeader with every answer: the pages compare it with
	// their own and reload once a newer build is out (site/api.js).
	SiteBuild func() string
}

// SiteBuildHeader names, in every API answer, the site build the API was deployed with.
const SiteBuildHeader = "Kagiya-Site-Build"

// Exports keeps a large download and links to it.
type Exports interface {
	Put(ctx context.Context, key string, body io.ReadSeeker, size int64) error
	PresignGet(ctx context.Context, key string, ttl time.Duration, filename string) (string, error)
}

type api struct {
	svc         *account.Flows
	bulk        *bulk.Jobs
	exports     Exports
	log         *slog.Logger
	secure      bool
	forgotFloor time.Duration
	logRequests bool
}

// New returns the API handler: every route of Routes, behind the common middleware
// (request id, logging, panic recovery, security headers).
func New(d Deps) http.Handler {
	if d.ForgotFloor == 0 {
		d.ForgotFloor = 500 * time.Millisecond
	}
	a := &api{svc: d.Services, bulk: d.Bulk, exports: d.Exports, log: d.Log, secure: d.SecureCookies, forgotFloor: d.ForgotFloor,
		logRequests: !d.AccessLogged}
	mux := http.NewServeMux()
	allowed := map[string][]string{} // path pattern → its methods
	for _, r := range a.routes() {
		mux.Handle(r.Method+" "+r.Path, r.Handler)
		allowed[r.Path] = append(allowed[r.Path], r.Method)
	}
	// A known path with another method is 405 with Allow; anything else under /api/ 404.
	paths := http.NewServeMux()
	for path, methods := range allowed {
		allow := strings.Join(methods, ", ")
		paths.Handle(path, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Allow", allow)
			a.fail(w, r, &account.Error{Code: "method_not_allowed"})
		}))
	}
	if d.OIDC != nil {
		mux.Handle("/api/oidc/", d.OIDC)
		mux.Handle("/.well-known/openid-configuration", d.OIDC)
	}
	mux.Handle("/api/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h, pattern := paths.Handler(r); pattern != "" {
			h.ServeHTTP(w, r)
			return
		}
		a.fail(w, r, &account.Error{Code: account.CodeNotFound})
	}))
	return SecurityHeaders(siteBuild(d.SiteBuild, a.edge(d.OriginSecret, a.observe(a.schema(mux)))))
}

// siteBuild names the site build (build, if not nil) in every answer.
func siteBuild(build func() string, next http.Handler) http.Handler {
	if build == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if id := build(); id != "" {
			w.Header().Set(SiteBuildHeader, id)
		}
		next.ServeHTTP(w, r)
	})
}

// schema refuses every request while the table holds items of a newer schema version
// than this code's (a rollback across a change of item shape): 503 schema_newer, the
// versions only in the log. The version is read on the first request and, once found
// usable, never again.
func (a *api) schema(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err := a.svc.Schema.Check(r.Context())
		if errors.Is(err, account.ErrSchemaNewer) {
			logger(r, a.log).ErrorContext(r.Context(), "refusing to serve: the table was written by a newer version", "err", err)
			a.fail(w, r, &account.Error{Code: account.CodeSchemaNewer})
			return
		}
		if err != nil {
			a.fail(w, r, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// OriginHeader carries the origin secret from CloudFront to the API.
const OriginHeader = "X-Kagiya-Origin"

// edge admits only requests that came through CloudFront (the origin secret, compared in
// constant time) and takes the client's address from CloudFront-Viewer-Address, which
// only then can be trusted. Without a secret (the local server) the peer is the client.
func (a *api) edge(secret string, next http.Handler) http.Handler {
	if secret == "" {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if subtle.ConstantTimeCompare([]byte(r.Header.Get(OriginHeader)), []byte(secret)) != 1 {
			a.fail(w, r, &account.Error{Code: account.CodeForbidden})
			return
		}
		r.Header.Del(OriginHeader)
		if ip, ok := viewerIP(r.Header.Get("CloudFront-Viewer-Address")); ok {
			r.RemoteAddr = net.JoinHostPort(ip, "0")
		}
		next.ServeHTTP(w, r)
	})
}

// viewerIP reads CloudFront-Viewer-Address ("198.51.100.7:46532", "2001:db8::1:46532").
func viewerIP(v string) (string, bool) {
	i := strings.LastIndexByte(v, ':')
	if i <= 0 {
		return "", false
	}
	ip := net.ParseIP(strings.Trim(v[:i], "[]"))
	if ip == nil {
		return "", false
	}
	return ip.String(), true
}

// SecurityHeaders sets the headers every page and API answer carries. The site connects
// to its own origin only (the local server plays S3 on it too; in AWS, CloudFront's
// policy adds the upload bucket).
func SecurityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; object-src 'none'; frame-ancestors 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		next.ServeHTTP(w, r)
	})
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

type ctxKey int

const loggerKey ctxKey = 0

// observe gives each request an id and a logger, logs it once (method, path, status,
// duration; never a body, query or cookie) unless the access log does, and turns a panic
// into a plain 500 (logged either way).
func (a *api) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := newRequestID()
		log := a.log.With("request_id", id)
		if lc, ok := lambdacontext.FromContext(r.Context()); ok {
			log = log.With("lambda_request_id", lc.AwsRequestID)
		}
		w.Header().Set("X-Request-Id", id)
		sw := &statusWriter{ResponseWriter: w}
		r = r.WithContext(context.WithValue(r.Context(), loggerKey, log))
		defer func() {
			if p := recover(); p != nil {
				log.ErrorContext(r.Context(), "panic", "panic", fmt.Sprint(p))
				if sw.status == 0 {
					writeError(sw, lang(r), http.StatusInternalServerError, &account.Error{Code: "internal"})
				}
			}
			if a.logRequests {
				log.InfoContext(r.Context(), "request", "method", r.Method, "path", r.URL.Path,
					"status", sw.status, "ms", time.Since(start).Milliseconds())
			}
		}()
		next.ServeHTTP(sw, r)
	})
}

func logger(r *http.Request, fallback *slog.Logger) *slog.Logger {
	if l, ok := r.Context().Value(loggerKey).(*slog.Logger); ok {
		return l
	}
	return fallback
}

func newRequestID() string {
	b := make([]byte, 8)
	rand.Read(b) //nolint:errcheck // crypto/rand.Read does not fail
	return hex.EncodeToString(b)
}

var langMatcher = language.NewMatcher([]language.Tag{language.Japanese, language.English})

// lang picks ja or en from Accept-Language; ja by default.
func lang(r *http.Request) string {
	tags, _, err := language.ParseAcceptLanguage(r.Header.Get("Accept-Language"))
	if err != nil || len(tags) == 0 {
		return "ja"
	}
	_, i, conf := langMatcher.Match(tags...)
	if i == 1 && conf != language.No {
		return "en"
	}
	return "ja"
}

// client is where a request comes from, for the sessions it opens and the lockout of
// known browsers.
func (a *api) client(r *http.Request) account.Client {
	c := account.Client{IP: clientIP(r), UserAgent: r.UserAgent()}
	name := DeviceCookieName
	if a.secure {
		name = SecureDeviceCookieName
	}
	if ck, err := r.Cookie(name); err == nil && len(ck.Value) <= 64 {
		c.Device = ck.Value
	}
	c.Remembered = a.rememberedCookies(r)
	return c
}

// setDeviceCookie keeps the browser known to the account it signed in to.
func (a *api) setDeviceCookie(w http.ResponseWriter, value string) {
	name := DeviceCookieName
	if a.secure {
		name = SecureDeviceCookieName
	}
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: int(deviceCookieLife.Seconds()),
		HttpOnly: true, Secure: a.secure, SameSite: http.SameSiteStrictMode})
}

// clientIP is the peer address. API Gateway's proxy integration puts the caller's source
// IP there; X-Forwarded-For is not trusted.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

type errorBody struct {
	Error struct {
		Code    string               `json:"code"`
		Message string               `json:"message"`
		Fields  []account.FieldError `json:"fields,omitempty"`
	} `json:"error"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(true)
	enc.Encode(v) //nolint:errcheck // the client went away
}

func writeError(w http.ResponseWriter, lang string, status int, e *account.Error) {
	var body errorBody
	body.Error.Code, body.Error.Message, body.Error.Fields = e.Code, errcode.Message(e.Code, lang), e.Fields
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(e.RetryAfter.Seconds()))))
	}
	writeJSON(w, status, body)
}

// fail answers err: a coded error with its status and message, anything else as a 500
// whose cause goes only to the log.
func (a *api) fail(w http.ResponseWriter, r *http.Request, err error) {
	var e *account.Error
	if errors.As(err, &e) {
		writeError(w, lang(r), errcode.Status(e.Code), e)
		return
	}
	logger(r, a.log).ErrorContext(r.Context(), "internal error", "err", err)
	writeError(w, lang(r), http.StatusInternalServerError, &account.Error{Code: "internal"})
}

// decoded decodes the request's JSON body into v; when it cannot, it answers the request
// with the error and returns false.
func (a *api) decoded(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := decode(w, r, v); err != nil {
		a.fail(w, r, err)
		return false
	}
	return true
}

// respond answers err when there is one, and otherwise v as JSON with status (nil v: the
// status alone, as for a 204).
func (a *api) respond(w http.ResponseWriter, r *http.Request, status int, v any, err error) {
	switch {
	case err != nil:
		a.fail(w, r, err)
	case v == nil:
		w.WriteHeader(status)
	default:
		writeJSON(w, status, v)
	}
}

// respondSignIn is respond for a step of a sign-in: err, or where the sign-in stands.
func (a *api) respondSignIn(w http.ResponseWriter, r *http.Request, res account.LoginResult, err error) {
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.signIn(w, r, res)
}

// views is the view of each of xs: a list that is never null in JSON.
func views[T, V any](xs []T, view func(T) V) []V {
	out := make([]V, 0, len(xs))
	for _, x := range xs {
		out = append(out, view(x))
	}
	return out
}

// decode reads a JSON body strictly: JSON content type, size limit, no unknown fields,
// nothing after the value.
func decode(w http.ResponseWriter, r *http.Request, v any) error {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return &account.Error{Code: "unsupported_media_type"}
	}
	body := http.MaxBytesReader(w, r.Body, MaxBodyBytes)
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var tooLarge *http.MaxBytesError
		var typeErr *json.UnmarshalTypeError
		switch {
		case errors.As(err, &tooLarge):
			return &account.Error{Code: "body_too_large"}
		case strings.HasPrefix(err.Error(), "json: unknown field"):
			return &account.Error{Code: "unknown_field"}
		case errors.As(err, &typeErr):
			// The JSON name of the field ("settings.lockout_threshold" → "lockout_threshold").
			field := typeErr.Field[strings.LastIndexByte(typeErr.Field, '.')+1:]
			return &account.Error{Code: "validation", Fields: []account.FieldError{{Field: field, Code: "type"}}}
		default:
			return &account.Error{Code: "malformed_json"}
		}
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return &account.Error{Code: "body_too_large"}
		}
		return &account.Error{Code: "malformed_json"}
	}
	return nil
}
