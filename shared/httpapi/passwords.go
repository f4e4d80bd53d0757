package httpapi

import (
	"net/http"

	"github.com/kagiya/kagiya/shared/account"
)

func (a *api) handleLoginPassword() http.Handler {
	type request struct {
		Challenge   string `json:"challenge"`
		NewPassword string `json:"new_password"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req request
		if err := decode(w, r, &req); err != nil {
			a.fail(w, r, err)
			return
		}
		res, err := a.svc.SignIn.CompletePasswordChange(r.Context(), req.Challenge, req.NewPassword, a.client(r))
		if err != nil {
			a.fail(w, r, err)
			return
		}
		a.signIn(w, r, res)
	})
}

func (a *api) handleChangePassword() http.Handler {
	type request struct {
		CurrentPassword string `json:"current_password"`
		NewPassword     string `json:"new_password"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req request
		if err := decode(w, r, &req); err != nil {
			a.fail(w, r, err)
			return
		}
		res, err := a.svc.SelfService.ChangeOwnPassword(r.Context(), principal(r), req.CurrentPassword, req.NewPassword, a.client(r))
		if err != nil {
			if account.CodeOf(err) == account.CodeCurrentPassword {
				// A wrong current password may have locked the account, ending this session.
				if _, aerr := a.svc.SignIn.Authenticate(r.Context(), a.sessionToken(r), clientIP(r)); aerr != nil {
					a.clearCookie(w)
				}
			}
			a.fail(w, r, err)
			return
		}
		// This browser keeps a (new) session and stays known; every other one has ended.
		a.setCookie(w, res.Token)
		a.setDeviceCookie(w, res.DeviceCookie)
		w.Header().Set("X-CSRF-Token", res.CSRF)
		w.WriteHeader(http.StatusNoContent)
	})
}

// handleSetConfirmationPassword sets the person's own confirmation password, proven with
// its login password (PUT /api/me/confirmation-password).
func (a *api) handleSetConfirmationPassword() http.Handler {
	type request struct {
		CurrentPassword string `json:"current_password"`
		NewPassword     string `json:"new_password"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req request
		if err := decode(w, r, &req); err != nil {
			a.fail(w, r, err)
			return
		}
		if err := a.svc.SelfService.SetConfirmationPassword(r.Context(), principal(r), req.CurrentPassword, req.NewPassword, clientIP(r)); err != nil {
			if account.CodeOf(err) == account.CodeCurrentPassword {
				// A wrong login password may have locked the account, ending this session.
				if _, aerr := a.svc.SignIn.Authenticate(r.Context(), a.sessionToken(r), clientIP(r)); aerr != nil {
					a.clearCookie(w)
				}
			}
			a.fail(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

// sessionToken is the request's session cookie value, or "".
func (a *api) sessionToken(r *http.Request) string {
	c, err := r.Cookie(a.cookieName())
	if err != nil {
		return ""
	}
	return c.Value
}

// handlePolicy describes the caller's password rules: from its session, or, on the pages
// without one (reset, forced change), from the link's token or the sign-in challenge.
func (a *api) handlePolicy() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if token := r.URL.Query().Get("token"); token != "" {
			d, err := a.svc.Recovery.PolicyForToken(r.Context(), token, lang(r))
			if err != nil {
				a.fail(w, r, err)
				return
			}
			writeJSON(w, http.StatusOK, d)
			return
		}
		p, err := a.svc.SignIn.Authenticate(r.Context(), a.sessionToken(r), clientIP(r))
		if err != nil {
			a.fail(w, r, err)
			return
		}
		if name := r.URL.Query().Get("preset"); name != "" {
			// The rules another preset would give (the settings page's preview).
			if !account.ValidPreset(name) {
				a.fail(w, r, &account.Error{Code: account.CodeValidation, Fields: []account.FieldError{{Field: "preset", Code: "invalid"}}})
				return
			}
			writeJSON(w, http.StatusOK, account.DescribePreset(name, p.Account.LoginID, lang(r)))
			return
		}
		d, err := a.svc.SelfService.Policy(r.Context(), p, lang(r))
		if err != nil {
			a.fail(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, d)
	})
}

func (a *api) handleGetTenant() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t, err := a.svc.Admin.TenantSettings(r.Context(), principal(r))
		if err != nil {
			a.fail(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, tenantView(t))
	})
}

func (a *api) handlePutTenant() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			tenantBody             // tenant_id may come back as GET gave it; it is not changeable
			ConfirmPassword string `json:"confirm_password"`
		}
		if err := decode(w, r, &body); err != nil {
			a.fail(w, r, err)
			return
		}
		t, err := a.svc.Admin.UpdateTenantSettings(r.Context(), principal(r),
			account.TenantUpdate{Name: body.Name, Domains: body.Domains, Settings: body.Settings}, body.ConfirmPassword, clientIP(r))
		if err != nil {
			a.fail(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, tenantView(t))
	})
}

// tenantBody is the tenant as GET shows it and PUT takes it back; tenant_id and
// domain_status cannot be changed (PUT ignores them: domains are proven through
// /api/admin/tenant/domains).
type tenantBody struct {
	TenantID     string       `json:"tenant_id"`
	Name         string       `json:"name"`
	Domains      []string     `json:"domains"`
	DomainStatus []domainView `json:"domain_status"`
	account.Settings
}

func tenantView(t account.Tenant) tenantBody {
	domains := t.Domains
	if domains == nil {
		domains = []string{}
	}
	var status []domainView
	for _, d := range t.DomainStatuses() {
		status = append(status, domainViewOf(d))
	}
	if status == nil {
		status = []domainView{}
	}
	return tenantBody{TenantID: t.ID, Name: t.Name, Domains: domains, DomainStatus: status, Settings: t.Settings}
}
