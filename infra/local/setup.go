package main

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"sync"

	"github.com/kagiya/kagiya/shared/account"
	"github.com/kagiya/kagiya/shared/errcode"
)

// firstRun is the local server's one-time setup link: started on an empty store without
// -owner, it prints a link with a random token (only in the server's output); the page
// behind it (site/setup.html) creates the first tenant and its owner, once.
type firstRun struct {
	mu     sync.Mutex
	token  string // "" once used (or when there was nothing to set up)
	policy string
	svc    *account.Flows
}

func newFirstRun(svc *account.Flows, policy string) (*firstRun, error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	return &firstRun{token: base64.RawURLEncoding.EncodeToString(b), policy: policy, svc: svc}, nil
}

func writeAPIError(w http.ResponseWriter, r *http.Request, e *account.Error) {
	lang := "ja"
	if al := r.Header.Get("Accept-Language"); len(al) >= 2 && al[:2] == "en" {
		lang = "en"
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(errcode.Status(e.Code))
	json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"code": e.Code, "message": errcode.Message(e.Code, lang), "fields": e.Fields}}) //nolint:errcheck
}

func (f *firstRun) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /_dev/setup/policy", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		json.NewEncoder(w).Encode(account.DescribePreset(f.policy, r.URL.Query().Get("login_id"), r.URL.Query().Get("lang"))) //nolint:errcheck
	})
	mux.HandleFunc("POST /_dev/setup", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Token    string `json:"token"`
			LoginID  string `json:"login_id"`
			Password string `json:"password"`
		}
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(&req); err != nil {
			writeAPIError(w, r, &account.Error{Code: "malformed_json"})
			return
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.token == "" || subtle.ConstantTimeCompare([]byte(req.Token), []byte(f.token)) != 1 {
			writeAPIError(w, r, &account.Error{Code: account.CodeInvalidToken})
			return
		}
		_, created, err := f.svc.SignIn.Bootstrap(r.Context(), req.LoginID, req.Password, account.Settings{PolicyPreset: f.policy})
		var e *account.Error
		switch {
		case errors.As(err, &e):
			writeAPIError(w, r, e)
			return
		case err != nil:
			writeAPIError(w, r, &account.Error{Code: "internal"})
			return
		case !created:
			writeAPIError(w, r, &account.Error{Code: account.CodeLoginIDTaken})
			return
		}
		f.token = ""
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(map[string]string{"login_id": req.LoginID}) //nolint:errcheck
	})
	return mux
}

// announce prints the setup link when there is nothing to sign in with yet.
func (f *firstRun) announce(_ context.Context, hasTenants bool, siteURL string, print func(string)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if hasTenants {
		f.token = ""
		return
	}
	print("\nNo organization yet. Open this link to create the first one and its owner (it works once):\n\n    " +
		siteURL + "/setup.html#" + f.token + "\n\n")
}
