package httpapi

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/kagiya/kagiya/shared/account"
)

// Passkeys (API.md, "Passkeys"): the options and credentials are the WebAuthn
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
	type request struct {
		CurrentPassword string `json:"current_password"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req request
		if err := decode(w, r, &req); err != nil {
			a.fail(w, r, err)
			return
		}
		opts, err := a.svc.SelfService.PasskeyOptions(r.Context(), principal(r), req.CurrentPassword, clientIP(r))
		if err != nil {
			a.fail(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]json.RawMessage{"public_key": opts})
	})
}

func (a *api) handleAddPasskey() http.Handler {
	type request struct {
		Name       string          `json:"name"`
		Credential json.RawMessage `json:"credential"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req request
		if err := decode(w, r, &req); err != nil {
			a.fail(w, r, err)
			return
		}
		p, err := a.svc.SelfService.AddPasskey(r.Context(), principal(r), req.Name, req.Credential, clientIP(r))
		if err != nil {
			a.fail(w, r, err)
			return
		}
		writeJSON(w, http.StatusCreated, map[string]any{"passkey_id": p.ID, "name": p.Name, "created_at": p.CreatedAt})
	})
}

func (a *api) handleMyPasskeys() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ps, err := a.svc.SelfService.ListPasskeys(r.Context(), principal(r))
		if err != nil {
			a.fail(w, r, err)
			return
		}
		out := make([]passkeyView, 0, len(ps))
		for _, p := range ps {
			out = append(out, newPasskeyView(p))
		}
		writeJSON(w, http.StatusOK, map[string]any{"passkeys": out})
	})
}

func (a *api) handleRenamePasskey() http.Handler {
	type request struct {
		Name string `json:"name"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req request
		if err := decode(w, r, &req); err != nil {
			a.fail(w, r, err)
			return
		}
		p, err := a.svc.SelfService.RenamePasskey(r.Context(), principal(r), r.PathValue("passkey_id"), req.Name, clientIP(r))
		if err != nil {
			a.fail(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, newPasskeyView(p))
	})
}

func (a *api) handleRemovePasskey() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := a.svc.SelfService.RemovePasskey(r.Context(), principal(r), r.PathValue("passkey_id"), clientIP(r)); err != nil {
			a.fail(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

func (a *api) handlePasskeyLoginOptions() http.Handler {
	type request struct{}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req request
		if err := decode(w, r, &req); err != nil {
			a.fail(w, r, err)
			return
		}
		challenge, opts, err := a.svc.SignIn.PasskeyLoginOptions(r.Context())
		if err != nil {
			a.fail(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"challenge": challenge, "public_key": opts})
	})
}

func (a *api) handlePasskeyLogin() http.Handler {
	type request struct {
		Challenge  string          `json:"challenge"`
		Credential json.RawMessage `json:"credential"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req request
		if err := decode(w, r, &req); err != nil {
			a.fail(w, r, err)
			return
		}
		res, err := a.svc.SignIn.PasskeyLogin(r.Context(), req.Challenge, req.Credential, a.client(r))
		if err != nil {
			a.fail(w, r, err)
			return
		}
		a.signIn(w, res)
	})
}

func (a *api) handleLoginPasskeyFactorOptions() http.Handler {
	type request struct {
		Challenge string `json:"challenge"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req request
		if err := decode(w, r, &req); err != nil {
			a.fail(w, r, err)
			return
		}
		opts, err := a.svc.SignIn.MFAChallenge(r.Context(), req.Challenge, account.KindPasskey)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"public_key": opts})
	})
}
