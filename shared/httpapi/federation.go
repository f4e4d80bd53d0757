package httpapi

import (
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/kagiya/kagiya/shared/account"
)

// Sign-in through the tenant's identity provider (docs/api.md): discovery by domain, the
// start that sends the browser to the provider, the callback it comes back to, and the
// owner's registration of providers.

// IdPFlowCookieName carries a federated sign-in's state, nonce and PKCE verifier (signed)
// from the start to the callback; SecureIdPFlowCookieName is its name on https. It is
// SameSite=Lax, not Strict: the provider sends the browser back with a cross-site
// navigation, on which a Strict cookie would not come.
//
// IdPStepCookieName carries, from the callback to the sign-in page, the challenge of a
// second factor the tenant asks after the provider (idp_requires_mfa): the page reads
// it with POST /api/login/idp/step (the cookie is HttpOnly and SameSite=Strict, and the
// challenge never appears in a URL, where history and logs would keep it).
const (
	IdPFlowCookieName       = "kagiya_idp_flow"
	SecureIdPFlowCookieName = "__Secure-kagiya_idp_flow"
	IdPStepCookieName       = "kagiya_idp_step"
	SecureIdPStepCookieName = "__Secure-kagiya_idp_step"
	idpCookiePath           = "/api/login/idp"
	// IdPStepLanding is where the callback sends a browser that has a step to take.
	IdPStepLanding = "/index.html?idp_step=1"
)

func (a *api) idpCookieName() string {
	if a.secure {
		return SecureIdPFlowCookieName
	}
	return IdPFlowCookieName
}

func (a *api) idpStepCookieName() string {
	if a.secure {
		return SecureIdPStepCookieName
	}
	return IdPStepCookieName
}

func (a *api) setIdPCookie(w http.ResponseWriter, value string, maxAge time.Duration) {
	a.setIdPCookieNamed(w, a.idpCookieName(), value, maxAge, http.SameSiteLaxMode)
}

func (a *api) setIdPCookieNamed(w http.ResponseWriter, name, value string, maxAge time.Duration, same http.SameSite) {
	mag := int(maxAge.Seconds())
	if maxAge < 0 {
		mag = -1
	}
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: idpCookiePath, MaxAge: mag,
		HttpOnly: true, Secure: a.secure, SameSite: same})
}

// signInError sends the browser back to the sign-in page with a stable code, which the
// page words (errors.js); a provider's own error text never reaches it.
func (a *api) signInError(w http.ResponseWriter, r *http.Request, err error) {
	code := "internal"
	var e *account.Error
	if errors.As(err, &e) {
		code = e.Code
	} else {
		logger(r, a.log).ErrorContext(r.Context(), "federated sign-in", "err", err)
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, "/index.html?error="+url.QueryEscape(code), http.StatusFound)
}

func (a *api) handleDiscover() http.Handler {
	type request struct {
		LoginID string `json:"login_id"`
	}
	type idp struct {
		Name     string `json:"name"`
		StartURL string `json:"start_url"`
	}
	type answer struct {
		Methods []string `json:"methods"`
		IdP     *idp     `json:"idp,omitempty"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req request
		if err := decode(w, r, &req); err != nil {
			a.fail(w, r, err)
			return
		}
		d, err := a.svc.Federation.Discover(r.Context(), req.LoginID, clientIP(r))
		if err != nil {
			a.fail(w, r, err)
			return
		}
		out := answer{Methods: d.Methods}
		if d.IdPID != "" {
			out.IdP = &idp{Name: d.IdPName,
				StartURL: "/api/login/idp/" + url.PathEscape(d.IdPID) + "/start?login_hint=" + url.QueryEscape(req.LoginID)}
		}
		writeJSON(w, http.StatusOK, out)
	})
}

func (a *api) handleIdPStart() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		to, cookie, err := a.svc.Federation.StartIdP(r.Context(), r.PathValue("idp_id"), r.URL.Query().Get("login_hint"),
			r.URL.Query().Get("to"), r.URL.Query().Get("oidc"), clientIP(r))
		if err != nil {
			a.signInError(w, r, err)
			return
		}
		a.setIdPCookie(w, cookie, account.IdPFlowTTL)
		w.Header().Set("Cache-Control", "no-store")
		http.Redirect(w, r, to, http.StatusFound)
	})
}

func (a *api) handleIdPCallback() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		in := account.IdPCallback{State: q.Get("state"), Code: q.Get("code"), Error: q.Get("error"), Issuer: q.Get("iss")}
		if ck, err := r.Cookie(a.idpCookieName()); err == nil {
			in.Cookie = ck.Value
		}
		a.setIdPCookie(w, "", -1) // one way back per start
		res, err := a.svc.Federation.FinishIdP(r.Context(), in, a.client(r))
		if err != nil {
			a.signInError(w, r, err)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		if res.Step != "" {
			// The tenant's own second factor (or its enrolment) is due: the sign-in page
			// takes it, with the challenge it reads from this cookie.
			a.setIdPCookieNamed(w, a.idpStepCookieName(), res.Challenge, account.ChallengeTTL, http.SameSiteStrictMode)
			step := IdPStepLanding
			if res.Authorization != "" {
				step += "&oidc=" + res.Authorization // the page goes on with it after the step
			}
			http.Redirect(w, r, step, http.StatusFound)
			return
		}
		a.setCookie(w, res.Token)
		to := "/home.html"
		switch {
		case res.Authorization != "":
			to = "/api/oidc/login?id=" + res.Authorization // the application's request goes on
		case res.Landing != "":
			to = res.Landing
		}
		http.Redirect(w, r, to, http.StatusFound)
	})
}

// handleIdPStep hands the sign-in page the step a federated sign-in still has to take,
// as POST /api/login answers one (result, challenge, methods), once: the cookie goes
// with it. Without one it is 400 invalid_token, as an expired challenge is.
func (a *api) handleIdPStep() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ck, err := r.Cookie(a.idpStepCookieName())
		a.setIdPCookieNamed(w, a.idpStepCookieName(), "", -1, http.SameSiteStrictMode)
		var challenge string
		if err == nil {
			challenge = ck.Value
		}
		res, err := a.svc.SignIn.PendingStep(r.Context(), challenge)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		a.signIn(w, r, res)
	})
}

type identityProviderView struct {
	IdPID       string    `json:"idp_id"`
	Name        string    `json:"name"`
	Issuer      string    `json:"issuer"`
	ClientID    string    `json:"client_id"`
	Domains     []string  `json:"domains"`
	RedirectURI string    `json:"redirect_uri"`
	CreatedAt   time.Time `json:"created_at"`
}

func newIdentityProviderView(p account.IdentityProvider) identityProviderView {
	return identityProviderView{IdPID: p.ID, Name: p.Name, Issuer: p.Issuer, ClientID: p.ClientID, Domains: p.Domains,
		RedirectURI: p.RedirectURI, CreatedAt: p.CreatedAt}
}

func (a *api) handleIdentityProviders() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ps, err := a.svc.Federation.IdentityProviders(r.Context(), principal(r))
		if err != nil {
			a.fail(w, r, err)
			return
		}
		out := make([]identityProviderView, 0, len(ps))
		for _, p := range ps {
			out = append(out, newIdentityProviderView(p))
		}
		writeJSON(w, http.StatusOK, map[string]any{"identity_providers": out, "redirect_uri": a.svc.Federation.RedirectURI()})
	})
}

func (a *api) handleCreateIdentityProvider() http.Handler {
	type request struct {
		Name            string   `json:"name"`
		Issuer          string   `json:"issuer"`
		ClientID        string   `json:"client_id"`
		ClientSecret    string   `json:"client_secret"`
		Domains         []string `json:"domains"`
		ConfirmPassword string   `json:"confirm_password"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req request
		if err := decode(w, r, &req); err != nil {
			a.fail(w, r, err)
			return
		}
		p, err := a.svc.Federation.CreateIdentityProvider(r.Context(), principal(r), account.NewIdentityProvider{Name: req.Name,
			Issuer: req.Issuer, ClientID: req.ClientID, ClientSecret: req.ClientSecret, Domains: req.Domains}, req.ConfirmPassword, clientIP(r))
		if err != nil {
			a.fail(w, r, err)
			return
		}
		writeJSON(w, http.StatusCreated, newIdentityProviderView(p))
	})
}

func (a *api) handleDeleteIdentityProvider() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := decodeConfirm(w, r)
		if err == nil {
			err = a.svc.Federation.DeleteIdentityProvider(r.Context(), principal(r), r.PathValue("idp_id"), body.ConfirmPassword, clientIP(r))
		}
		if err != nil {
			a.fail(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}
