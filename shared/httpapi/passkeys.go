package httpapi

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/kagiya/kagiya/shared/account"
)

// Passkeys (docs/api.md, "Passkeys"): the options and credentials are the WebAuthn
// dictionaries' JSON forms, passed through as they are.

type passkeyView struct {
	PasskeyID  string     `json:"passkey_id"`
	Name       string     `json:"name"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
}

func newPasskeyView(p account.Passkey) passkeyView {
	return passkeyView{PasskeyID: p.ID, Name: p.Name, CreatedAt: p.CreatedAt, LastUsedAt: timePtr(p.LastUsedAt)}
}

func (a *api) handlePasskeyOptions() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req currentBody
		if !a.decoded(w, r, &req) {
			return
		}
		opts, err := a.svc.SelfService.PasskeyOptions(r.Context(), principal(r), req.CurrentPassword, clientIP(r))
		a.respond(w, r, http.StatusOK, map[string]json.RawMessage{"public_key": opts}, err)
	})
}

func (a *api) handleAddPasskey() http.Handler {
	type request struct {
		Name       string          `json:"name"`
		Credential json.RawMessage `json:"credential"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req request
		if !a.decoded(w, r, &req) {
			return
		}
		p, err := a.svc.SelfService.AddPasskey(r.Context(), principal(r), req.Name, req.Credential, clientIP(r))
		a.respond(w, r, http.StatusCreated, map[string]any{"passkey_id": p.ID, "name": p.Name, "created_at": p.CreatedAt}, err)
	})
}

func (a *api) handleMyPasskeys() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ps, err := a.svc.SelfService.ListPasskeys(r.Context(), principal(r))
		a.respond(w, r, http.StatusOK, map[string]any{"passkeys": views(ps, newPasskeyView)}, err)
	})
}

func (a *api) handleRenamePasskey() http.Handler {
	type request struct {
		Name string `json:"name"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req request
		if !a.decoded(w, r, &req) {
			return
		}
		p, err := a.svc.SelfService.RenamePasskey(r.Context(), principal(r), r.PathValue("passkey_id"), req.Name, clientIP(r))
		a.respond(w, r, http.StatusOK, newPasskeyView(p), err)
	})
}

func (a *api) handleRemovePasskey() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err := a.svc.SelfService.RemovePasskey(r.Context(), principal(r), r.PathValue("passkey_id"), clientIP(r))
		a.respond(w, r, http.StatusNoContent, nil, err)
	})
}

func (a *api) handlePasskeyLoginOptions() http.Handler {
	type request struct{}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req request
		if !a.decoded(w, r, &req) {
			return
		}
		challenge, opts, err := a.svc.SignIn.PasskeyLoginOptions(r.Context())
		a.respond(w, r, http.StatusOK, map[string]any{"challenge": challenge, "public_key": opts}, err)
	})
}

func (a *api) handlePasskeyLogin() http.Handler {
	type request struct {
		Challenge  string          `json:"challenge"`
		Credential json.RawMessage `json:"credential"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req request
		if !a.decoded(w, r, &req) {
			return
		}
		res, err := a.svc.SignIn.PasskeyLogin(r.Context(), req.Challenge, req.Credential, a.client(r))
		a.respondSignIn(w, r, res, err)
	})
}

func (a *api) handleLoginPasskeyFactorOptions() http.Handler {
	type request struct {
		Challenge string `json:"challenge"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req request
		if !a.decoded(w, r, &req) {
			return
		}
		opts, err := a.svc.SignIn.MFAChallenge(r.Context(), req.Challenge, account.KindPasskey)
		a.respond(w, r, http.StatusOK, map[string]any{"public_key": opts}, err)
	})
}
