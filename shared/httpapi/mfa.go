package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/kagiya/kagiya/shared/account"
)

// The second factor: its sign-in steps, the person's own security page, and the
// administrators' release and reset (docs/api.md, "Second factor").

// RememberCookiePrefix starts the name of a remember-this-browser cookie; the account ID
// follows, so a browser can be remembered by several accounts. On https the name has
// the __Host- prefix.
const RememberCookiePrefix = "kagiya_remember_"

func (a *api) rememberPrefix() string {
	if a.secure {
		return "__Host-" + RememberCookiePrefix
	}
	return RememberCookiePrefix
}

// rememberedCookies are the request's remember cookies (at most a few, each bounded).
func (a *api) rememberedCookies(r *http.Request) []string {
	var out []string
	for _, c := range r.Cookies() {
		if strings.HasPrefix(c.Name, a.rememberPrefix()) && len(c.Value) <= 128 && len(out) < 8 {
			out = append(out, c.Value)
		}
	}
	return out
}

// setRememberCookie keeps the browser remembered by the account in value for days.
func (a *api) setRememberCookie(w http.ResponseWriter, value string, days int) {
	accountID, _, _ := strings.Cut(value, ".")
	http.SetCookie(w, &http.Cookie{Name: a.rememberPrefix() + accountID, Value: value, Path: "/",
		MaxAge: int((time.Duration(days) * 24 * time.Hour).Seconds()), HttpOnly: true, Secure: a.secure, SameSite: http.SameSiteStrictMode})
}

type enrolmentView struct {
	Secret     string `json:"secret"`
	OtpauthURL string `json:"otpauth_url"`
	QRPNG      string `json:"qr_png"`
}

func newEnrolmentView(e account.Enrolment) enrolmentView {
	return enrolmentView{Secret: e.Secret, OtpauthURL: e.URL, QRPNG: e.QRPNG}
}

type codesView struct {
	RecoveryCodes []string `json:"recovery_codes"`
}

func (a *api) handleLoginMFA() http.Handler {
	type request struct {
		Challenge       string          `json:"challenge"`
		Code            string          `json:"code"`
		RecoveryCode    string          `json:"recovery_code"`
		RememberBrowser bool            `json:"remember_browser"`
		Credential      json.RawMessage `json:"credential"` // a passkey's AuthenticationResponseJSON
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req request
		if !a.decoded(w, r, &req) {
			return
		}
		var fields []account.FieldError
		switch {
		case req.Challenge == "":
			fields = append(fields, account.FieldError{Field: "challenge", Code: "required"})
		case len(req.Credential) > 0 && (req.Code != "" || req.RecoveryCode != ""):
			fields = append(fields, account.FieldError{Field: "credential", Code: "one_of"})
		case len(req.Credential) > 0:
			res, err := a.svc.SignIn.CompleteMFA(r.Context(), req.Challenge, account.KindPasskey, account.Answer{Response: req.Credential}, req.RememberBrowser, a.client(r))
			a.respondSignIn(w, r, res, err)
			return
		case req.Code == "" && req.RecoveryCode == "":
			fields = append(fields, account.FieldError{Field: "code", Code: "required"})
		case req.Code != "" && req.RecoveryCode != "":
			fields = append(fields, account.FieldError{Field: "recovery_code", Code: "one_of"})
		}
		if len(fields) > 0 {
			a.fail(w, r, &account.Error{Code: account.CodeValidation, Fields: fields})
			return
		}
		kind, answer := account.KindTOTP, account.Answer{Code: req.Code}
		if req.RecoveryCode != "" {
			kind, answer = account.KindRecoveryCode, account.Answer{Code: req.RecoveryCode}
		}
		res, err := a.svc.SignIn.CompleteMFA(r.Context(), req.Challenge, kind, answer, req.RememberBrowser, a.client(r))
		a.respondSignIn(w, r, res, err)
	})
}

func (a *api) handleLoginMFASetup() http.Handler {
	type request struct {
		Challenge string `json:"challenge"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req request
		if !a.decoded(w, r, &req) {
			return
		}
		e, err := a.svc.SignIn.SetupEnrolment(r.Context(), req.Challenge, clientIP(r))
		a.respond(w, r, http.StatusOK, newEnrolmentView(e), err)
	})
}

func (a *api) handleLoginMFAConfirm() http.Handler {
	type request struct {
		Challenge string `json:"challenge"`
		Code      string `json:"code"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req request
		if !a.decoded(w, r, &req) {
			return
		}
		res, err := a.svc.SignIn.ConfirmEnrolment(r.Context(), req.Challenge, req.Code, a.client(r))
		a.respondSignIn(w, r, res, err)
	})
}

func (a *api) handleMyMFA() http.Handler {
	type response struct {
		TOTPEnabled        bool `json:"totp_enabled"`
		RecoveryCodesLeft  int  `json:"recovery_codes_left"`
		RememberedBrowsers int  `json:"remembered_browsers"`
		Required           bool `json:"required"`
		Locked             bool `json:"locked"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st, err := a.svc.SelfService.MFAStatus(r.Context(), principal(r))
		a.respond(w, r, http.StatusOK, response{TOTPEnabled: st.TOTPEnabled, RecoveryCodesLeft: st.RecoveryCodesLeft,
			RememberedBrowsers: st.RememberedBrowsers, Required: st.Required, Locked: st.Locked}, err)
	})
}

type currentBody struct {
	CurrentPassword string `json:"current_password"`
}

func (a *api) handleTOTPSetup() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req currentBody
		if !a.decoded(w, r, &req) {
			return
		}
		e, err := a.svc.SelfService.SetupTOTP(r.Context(), principal(r), req.CurrentPassword, clientIP(r))
		a.respond(w, r, http.StatusOK, newEnrolmentView(e), err)
	})
}

func (a *api) handleTOTPConfirm() http.Handler {
	type request struct {
		Code string `json:"code"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req request
		if !a.decoded(w, r, &req) {
			return
		}
		codes, err := a.svc.SelfService.ConfirmTOTP(r.Context(), principal(r), req.Code, clientIP(r))
		a.respond(w, r, http.StatusOK, codesView{codes}, err)
	})
}

func (a *api) handleTOTPDisable() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req currentBody
		if !a.decoded(w, r, &req) {
			return
		}
		err := a.svc.SelfService.DisableTOTP(r.Context(), principal(r), req.CurrentPassword, clientIP(r))
		a.respond(w, r, http.StatusNoContent, nil, err)
	})
}

func (a *api) handleRecoveryCodes() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req currentBody
		if !a.decoded(w, r, &req) {
			return
		}
		codes, err := a.svc.SelfService.RegenerateRecoveryCodes(r.Context(), principal(r), req.CurrentPassword, clientIP(r))
		a.respond(w, r, http.StatusOK, codesView{codes}, err)
	})
}

func (a *api) handleForgetBrowsers() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err := a.svc.SelfService.ForgetBrowsers(r.Context(), principal(r), clientIP(r))
		a.respond(w, r, http.StatusNoContent, nil, err)
	})
}

func (a *api) handleResetMFA() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := decodeConfirm(w, r)
		if err == nil {
			err = a.svc.Admin.ResetMFA(r.Context(), principal(r), r.PathValue("login_id"), body.ConfirmPassword, clientIP(r))
		}
		a.respond(w, r, http.StatusOK, map[string]string{"status": "ok"}, err)
	})
}

// handleUnlockMFA releases second-factor locks: of the account in the path, or of the
// request's login_ids (POST /api/admin/mfa/unlock, several at once like unlock).
func (a *api) handleUnlockMFA() http.Handler { return a.handleBatchUnlock((*account.Admin).UnlockMFA) }

// handleUnlockConfirmation releases confirmation-password locks, as handleUnlockMFA does.
func (a *api) handleUnlockConfirmation() http.Handler {
	return a.handleBatchUnlock((*account.Admin).UnlockConfirmation)
}

// handleBatchUnlock answers a release of locks: of the account in the path, or of the
// request's login_ids.
func (a *api) handleBatchUnlock(unlock func(*account.Admin, context.Context, account.Principal, []string, string, string) (account.AdminUnlockResult, error)) http.Handler {
	type request struct {
		LoginIDs        []string `json:"login_ids"`
		ConfirmPassword string   `json:"confirm_password"`
	}
	type response struct {
		Unlocked  []string `json:"unlocked"`
		NotLocked []string `json:"not_locked"`
		Failed    []string `json:"failed"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req request
		if id := r.PathValue("login_id"); id != "" {
			body, err := decodeConfirm(w, r)
			if err != nil {
				a.fail(w, r, err)
				return
			}
			req.LoginIDs, req.ConfirmPassword = []string{id}, body.ConfirmPassword
		} else if !a.decoded(w, r, &req) {
			return
		}
		res, err := unlock(a.svc.Admin, r.Context(), principal(r), req.LoginIDs, req.ConfirmPassword, clientIP(r))
		a.respond(w, r, http.StatusOK, response{Unlocked: res.Unlocked, NotLocked: res.NotLocked, Failed: res.Failed}, err)
	})
}
