package httpapi

import (
	"net/http"
)

// Invitations, login-ID changes and batch suspension.

func (a *api) handleResendInvitation() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := a.svc.Admin.ResendInvitation(r.Context(), principal(r), r.PathValue("login_id"), clientIP(r)); err != nil {
			a.fail(w, r, err)
			return
		}
		writeJSON(w, http.StatusAccepted, map[string]string{"status": "accepted"})
	})
}

func (a *api) handleAcceptInvitation() http.Handler {
	type request struct {
		Token       string `json:"token"`
		NewPassword string `json:"new_password"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req request
		if err := decode(w, r, &req); err != nil {
			a.fail(w, r, err)
			return
		}
		id, err := a.svc.Recovery.AcceptInvitation(r.Context(), req.Token, req.NewPassword, clientIP(r))
		if err != nil {
			a.fail(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "login_id": id})
	})
}

func (a *api) handleConfirmEmail() http.Handler {
	type request struct {
		Token    string `json:"token"`
		Password string `json:"password"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req request
		if err := decode(w, r, &req); err != nil {
			a.fail(w, r, err)
			return
		}
		id, err := a.svc.Recovery.ConfirmLoginIDChange(r.Context(), req.Token, req.Password, clientIP(r))
		if err != nil {
			a.fail(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "login_id": id})
	})
}

func (a *api) handleMyLoginID() http.Handler {
	type request struct {
		NewLoginID      string `json:"new_login_id"`
		CurrentPassword string `json:"current_password"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req request
		if err := decode(w, r, &req); err != nil {
			a.fail(w, r, err)
			return
		}
		if err := a.svc.SelfService.RequestLoginIDChange(r.Context(), principal(r), req.NewLoginID, req.CurrentPassword, clientIP(r)); err != nil {
			a.fail(w, r, err)
			return
		}
		writeJSON(w, http.StatusAccepted, map[string]string{"status": "accepted"})
	})
}

// handleSuspend suspends or resumes several accounts (POST /api/admin/suspend, an
// addition to docs/api.md for the list's "select all").
func (a *api) handleSuspend() http.Handler {
	type request struct {
		LoginIDs        []string `json:"login_ids"`
		Disabled        bool     `json:"disabled"`
		ConfirmPassword string   `json:"confirm_password"`
	}
	type response struct {
		Changed   []string `json:"changed"`
		Unchanged []string `json:"unchanged"`
		Failed    []string `json:"failed"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req request
		if err := decode(w, r, &req); err != nil {
			a.fail(w, r, err)
			return
		}
		res, err := a.svc.Admin.SetDisabled(r.Context(), principal(r), req.LoginIDs, req.Disabled, req.ConfirmPassword, clientIP(r))
		if err != nil {
			a.fail(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, response{Changed: res.Changed, Unchanged: res.Unchanged, Failed: res.Failed})
	})
}
