package httpapi

import (
	"net/http"
	"strings"
	"time"

	"github.com/kagiya/kagiya/shared/account"
)

// Kagiya for the tenant's other systems: the service check, service credentials and
// app passwords (docs/api.md, "Integration").

type credentialView struct {
	ID         string     `json:"-"`
	Name       string     `json:"name"`
	CreatedBy  string     `json:"created_by,omitempty"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
}

func lastUsed(c account.Credential) *time.Time {
	if c.LastUsedAt.IsZero() {
		return nil
	}
	return &c.LastUsedAt
}

type serviceCredentialView struct {
	CredentialID string `json:"credential_id"`
	credentialView
}

type appPasswordView struct {
	AppPasswordID string `json:"app_password_id"`
	credentialView
}

func newCredentialView(c account.Credential) credentialView {
	return credentialView{ID: c.ID, Name: c.Name, CreatedBy: c.CreatedBy, CreatedAt: c.CreatedAt, LastUsedAt: lastUsed(c)}
}

func newServiceCredentialView(c account.Credential) serviceCredentialView {
	return serviceCredentialView{c.ID, newCredentialView(c)}
}

func newAppPasswordView(c account.Credential) appPasswordView {
	v := newCredentialView(c)
	v.CreatedBy = ""
	return appPasswordView{c.ID, v}
}

// handleServiceVerify answers a trusted service's password check. It takes no session:
// the bearer secret is a service credential.
func (a *api) handleServiceVerify() http.Handler {
	type request struct {
		LoginID  string `json:"login_id"`
		Password string `json:"password"`
		Protocol string `json:"protocol"`
		ClientIP string `json:"client_ip"`
	}
	type response struct {
		AccountID string `json:"account_id"`
		LoginID   string `json:"login_id"`
		QuotaGB   int    `json:"quota_gb"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		secret, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || secret == "" {
			a.fail(w, r, &account.Error{Code: account.CodeInvalidServiceCredential})
			return
		}
		var req request
		if !a.decoded(w, r, &req) {
			return
		}
		res, err := a.svc.Integrations.Verify(r.Context(), strings.TrimSpace(secret), account.ServiceCheck{
			LoginID: req.LoginID, Password: req.Password, Protocol: req.Protocol, ClientIP: req.ClientIP})
		a.respond(w, r, http.StatusOK, response{res.AccountID, res.LoginID, res.QuotaGB}, err)
	})
}

func (a *api) handleServiceCredentials() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cs, err := a.svc.Integrations.ListServiceCredentials(r.Context(), principal(r))
		a.respond(w, r, http.StatusOK, map[string]any{"service_credentials": views(cs, newServiceCredentialView)}, err)
	})
}

func (a *api) handleCreateServiceCredential() http.Handler {
	type request struct {
		Name            string `json:"name"`
		ConfirmPassword string `json:"confirm_password"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req request
		if !a.decoded(w, r, &req) {
			return
		}
		c, err := a.svc.Integrations.CreateServiceCredential(r.Context(), principal(r), req.Name, req.ConfirmPassword, clientIP(r))
		a.respond(w, r, http.StatusCreated, map[string]string{"credential_id": c.ID, "name": c.Name, "secret": c.Secret}, err)
	})
}

func (a *api) handleDeleteServiceCredential() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := decodeConfirm(w, r)
		if err == nil {
			err = a.svc.Integrations.DeleteServiceCredential(r.Context(), principal(r), r.PathValue("credential_id"), body.ConfirmPassword, clientIP(r))
		}
		a.respond(w, r, http.StatusNoContent, nil, err)
	})
}

func (a *api) handleMyAppPasswords() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cs, err := a.svc.Integrations.AppPasswords(r.Context(), principal(r))
		a.respond(w, r, http.StatusOK, map[string]any{"app_passwords": views(cs, newAppPasswordView)}, err)
	})
}

func (a *api) handleCreateAppPassword() http.Handler {
	type request struct {
		Name            string `json:"name"`
		CurrentPassword string `json:"current_password"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req request
		if !a.decoded(w, r, &req) {
			return
		}
		c, err := a.svc.Integrations.CreateAppPassword(r.Context(), principal(r), req.Name, req.CurrentPassword, clientIP(r))
		a.respond(w, r, http.StatusCreated, map[string]string{"app_password_id": c.ID, "name": c.Name, "password": c.Secret}, err)
	})
}

func (a *api) handleDeleteAppPassword() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err := a.svc.Integrations.DeleteAppPassword(r.Context(), principal(r), r.PathValue("app_password_id"), clientIP(r))
		a.respond(w, r, http.StatusNoContent, nil, err)
	})
}

func (a *api) handleAccountAppPasswords() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cs, err := a.svc.Integrations.AccountAppPasswords(r.Context(), principal(r), r.PathValue("login_id"))
		a.respond(w, r, http.StatusOK, map[string]any{"app_passwords": views(cs, newAppPasswordView)}, err)
	})
}

func (a *api) handleRevokeAccountAppPassword() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := decodeConfirm(w, r)
		if err == nil {
			err = a.svc.Integrations.RevokeAccountAppPassword(r.Context(), principal(r), r.PathValue("login_id"),
				r.PathValue("app_password_id"), body.ConfirmPassword, clientIP(r))
		}
		a.respond(w, r, http.StatusNoContent, nil, err)
	})
}

type oidcClientView struct {
	ClientID     string     `json:"client_id"`
	Name         string     `json:"name"`
	RedirectURIs []string   `json:"redirect_uris"`
	Type         string     `json:"type"`
	Refresh      bool       `json:"refresh_tokens"`
	Scopes       []string   `json:"scopes"`
	CreatedBy    string     `json:"created_by,omitempty"`
	CreatedAt    time.Time  `json:"created_at"`
	LastUsedAt   *time.Time `json:"last_used_at"`
}

func newOIDCClientView(c account.Credential) oidcClientView {
	kind := "confidential"
	if c.Public {
		kind = "public"
	}
	return oidcClientView{ClientID: c.ID, Name: c.Name, RedirectURIs: c.RedirectURIs, Type: kind, Refresh: c.Refresh, Scopes: c.Scopes,
		CreatedBy: c.CreatedBy, CreatedAt: c.CreatedAt, LastUsedAt: lastUsed(c)}
}

func (a *api) handleOIDCClients() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cs, err := a.svc.Integrations.OIDCClients(r.Context(), principal(r))
		a.respond(w, r, http.StatusOK, map[string]any{"oidc_clients": views(cs, newOIDCClientView)}, err)
	})
}

func (a *api) handleCreateOIDCClient() http.Handler {
	type request struct {
		Name            string   `json:"name"`
		RedirectURIs    []string `json:"redirect_uris"`
		Type            string   `json:"type"`
		RefreshTokens   bool     `json:"refresh_tokens"`
		Scopes          []string `json:"scopes"`
		ConfirmPassword string   `json:"confirm_password"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req request
		if !a.decoded(w, r, &req) {
			return
		}
		if req.Type != "confidential" && req.Type != "public" {
			a.fail(w, r, &account.Error{Code: account.CodeValidation, Fields: []account.FieldError{{Field: "type", Code: "invalid"}}})
			return
		}
		c, err := a.svc.Integrations.CreateOIDCClient(r.Context(), principal(r), account.NewOIDCClient{Name: req.Name,
			RedirectURIs: req.RedirectURIs, Public: req.Type == "public", Refresh: req.RefreshTokens, Scopes: req.Scopes}, req.ConfirmPassword, clientIP(r))
		if err != nil {
			a.fail(w, r, err)
			return
		}
		out := map[string]any{"client_id": c.ID, "name": c.Name, "type": req.Type}
		if c.Secret != "" {
			out["client_secret"] = c.Secret
		}
		writeJSON(w, http.StatusCreated, out)
	})
}

func (a *api) handleDeleteOIDCClient() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := decodeConfirm(w, r)
		if err == nil {
			err = a.svc.Integrations.DeleteOIDCClient(r.Context(), principal(r), r.PathValue("client_id"), body.ConfirmPassword, clientIP(r))
		}
		a.respond(w, r, http.StatusNoContent, nil, err)
	})
}

func (a *api) handleMyApplications() http.Handler {
	type view struct {
		ClientID   string     `json:"client_id"`
		Name       string     `json:"name"`
		FirstAt    time.Time  `json:"first_signed_in_at"`
		LastUsedAt *time.Time `json:"last_signed_in_at"`
	}
	newView := func(c account.Credential) view {
		return view{ClientID: c.ID, Name: c.Name, FirstAt: c.CreatedAt, LastUsedAt: lastUsed(c)}
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cs, err := a.svc.Integrations.Applications(r.Context(), principal(r))
		a.respond(w, r, http.StatusOK, map[string]any{"applications": views(cs, newView)}, err)
	})
}

func (a *api) handleRevokeApplication() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err := a.svc.Integrations.RevokeApplication(r.Context(), principal(r), r.PathValue("client_id"), clientIP(r))
		a.respond(w, r, http.StatusNoContent, nil, err)
	})
}
