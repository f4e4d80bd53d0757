package idp

import (
	"bytes"
	"log/slog"
	"net/http"
	"strings"
)

// guard stands between zitadel's handlers and the client, and keeps their answers to
// the contract: a 5xx never carries the text of an error (it goes to the log), and a
// failure of the store is a 5xx whatever the provider made of it; UserInfo's
// 401s (and its 403 for a revoked token) are RFC 6750's 401 invalid_token with
// WWW-Authenticate; a client that failed to authenticate gets 401 invalid_client as JSON
// with WWW-Authenticate (introspection answered text/plain).
type guard struct {
	http.ResponseWriter
	r       *http.Request
	log     *slog.Logger
	status  int
	replace bool         // the handler's body is dropped, ours was written
	dropped bytes.Buffer // the start of what was dropped from a 5xx, for the log
}

const maxLoggedBody = 512

func (g *guard) WriteHeader(code int) {
	if g.status != 0 {
		return
	}
	h := g.Header()
	var body string
	switch path := g.r.URL.Path; {
	case path == Prefix+"userinfo" && (code == http.StatusUnauthorized || code == http.StatusForbidden):
		if memoOf(g.r.Context()).failed {
			code, body = http.StatusInternalServerError, errServer
			break
		}
		code = http.StatusUnauthorized
		if g.r.Header.Get("Authorization") == "" && g.r.FormValue("access_token") == "" {
			h.Set("WWW-Authenticate", `Bearer realm="kagiya"`)
			body = `{"error":"invalid_request","error_description":"no access token"}`
		} else {
			h.Set("WWW-Authenticate", `Bearer realm="kagiya", error="invalid_token"`)
			body = `{"error":"invalid_token","error_description":"the access token is not valid"}`
		}
	case code >= 500 || (code >= 400 && memoOf(g.r.Context()).failed):
		code, body = http.StatusInternalServerError, errServer
	case code == http.StatusUnauthorized:
		if h.Get("WWW-Authenticate") == "" {
			h.Set("WWW-Authenticate", `Basic realm="kagiya"`)
		}
		if strings.HasPrefix(h.Get("Content-Type"), "text/plain") {
			body = `{"error":"invalid_client","error_description":"client authentication failed"}`
		}
	}
	g.status = code
	if body != "" {
		g.replace = true
		h.Set("Content-Type", "application/json")
		h.Del("Content-Length")
	}
	g.ResponseWriter.WriteHeader(code)
	if body != "" {
		g.ResponseWriter.Write([]byte(body))
	}
}

const errServer = `{"error":"server_error","error_description":"internal error"}`

func (g *guard) Write(b []byte) (int, error) {
	if g.status == 0 {
		g.WriteHeader(http.StatusOK)
	}
	if g.replace {
		if n := maxLoggedBody - g.dropped.Len(); n > 0 && g.status >= 500 {
			g.dropped.Write(b[:min(n, len(b))])
		}
		return len(b), nil
	}
	return g.ResponseWriter.Write(b)
}

// finish logs what a 5xx would have said.
func (g *guard) finish() {
	if g.status >= 500 {
		g.log.ErrorContext(g.r.Context(), "oidc server error", "path", g.r.URL.Path, "status", g.status, "detail", g.dropped.String())
	}
}
