package httpapi

import (
	"context"
	"encoding/base64"
	"encoding/csv"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/kagiya/kagiya/shared/account"
	"github.com/kagiya/kagiya/shared/auditwords"
)

type principalKey struct{}

func principal(r *http.Request) account.Principal {
	p, _ := r.Context().Value(principalKey{}).(account.Principal)
	return p
}

// signedIn requires a valid session, and the CSRF header on every state-changing method.
func (a *api) signedIn(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie(a.cookieName())
		if err != nil {
			a.fail(w, r, &account.Error{Code: account.CodeUnauthenticated})
			return
		}
		p, err := a.svc.SignIn.Authenticate(r.Context(), c.Value, clientIP(r))
		if err != nil {
			if account.CodeOf(err) == account.CodeUnauthenticated {
				a.clearCookie(w)
			}
			a.fail(w, r, err)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead && !p.CheckCSRF(r.Header.Get("X-CSRF-Token")) {
			a.fail(w, r, &account.Error{Code: "csrf"})
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, p)))
	})
}

func (a *api) setCookie(w http.ResponseWriter, token string) {
	http.SetCookie(w, &http.Cookie{Name: a.cookieName(), Value: token, Path: "/", HttpOnly: true,
		Secure: a.secure, SameSite: http.SameSiteStrictMode})
}

func (a *api) clearCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: a.cookieName(), Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
		Secure: a.secure, SameSite: http.SameSiteStrictMode})
}

func (a *api) handleHealth() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
}

func (a *api) handleLogin() http.Handler {
	type request struct {
		LoginID  string `json:"login_id"`
		Password string `json:"password"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req request
		if err := decode(w, r, &req); err != nil {
			a.fail(w, r, err)
			return
		}
		var fields []account.FieldError
		if req.LoginID == "" {
			fields = append(fields, account.FieldError{Field: "login_id", Code: "required"})
		} else if len(req.LoginID) > account.MaxLoginIDLen {
			fields = append(fields, account.FieldError{Field: "login_id", Code: "too_long"})
		}
		if req.Password == "" {
			fields = append(fields, account.FieldError{Field: "password", Code: "required"})
		} else if len([]rune(req.Password)) > account.MaxPasswordLen {
			fields = append(fields, account.FieldError{Field: "password", Code: "too_long"})
		}
		if len(fields) > 0 {
			a.fail(w, r, &account.Error{Code: account.CodeValidation, Fields: fields})
			return
		}
		res, err := a.svc.SignIn.Login(r.Context(), req.LoginID, req.Password, a.client(r))
		if err != nil {
			a.fail(w, r, err)
			return
		}
		a.signIn(w, r, res)
	})
}

// stepResults are the login results of docs/api.md for each step of a sign-in flow.
var stepResults = map[string]string{
	account.StepPasswordChange: "password_change_required",
	account.StepMFA:            "mfa_required",
	account.StepMFAEnrol:       "mfa_enrollment_required",
}

// signIn answers where a sign-in stands: the session cookie and everything GET /api/me
// gives (so the site needs no second request), or the step that has to come first.
func (a *api) signIn(w http.ResponseWriter, r *http.Request, res account.LoginResult) {
	if res.DeviceCookie != "" {
		a.setDeviceCookie(w, res.DeviceCookie)
	}
	type step struct {
		Result    string   `json:"result"`
		Reason    string   `json:"reason,omitempty"`
		Challenge string   `json:"challenge"`
		Methods   []string `json:"methods,omitempty"`
	}
	type ok struct {
		Result        string   `json:"result"`
		CSRFToken     string   `json:"csrf_token"`
		Account       meView   `json:"account"`
		RecoveryCodes []string `json:"recovery_codes,omitempty"`
	}
	if res.Step != "" {
		body := step{Result: stepResults[res.Step], Reason: res.Reason, Challenge: res.Challenge}
		if res.Step == account.StepMFA {
			body.Methods = res.Methods
		}
		writeJSON(w, http.StatusOK, body)
		return
	}
	if res.RememberCookie != "" {
		a.setRememberCookie(w, res.RememberCookie, res.RememberDays)
	}
	a.setCookie(w, res.Token)
	writeJSON(w, http.StatusOK, ok{Result: "ok", CSRFToken: res.CSRF, Account: newMeView(r, res.Account, res.Tenant, res.CSRF), RecoveryCodes: res.RecoveryCodes})
}

func (a *api) handleLogout() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := a.svc.SignIn.Logout(r.Context(), principal(r), clientIP(r)); err != nil {
			a.fail(w, r, err)
			return
		}
		a.clearCookie(w)
		w.WriteHeader(http.StatusNoContent)
	})
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// meView is the signed-in account as GET /api/me and a sign-in answer show it.
type meView struct {
	AccountID         string     `json:"account_id"`
	LoginID           string     `json:"login_id"`
	Role              string     `json:"role"`
	Tenant            string     `json:"tenant"` // the tenant_id
	TenantName        string     `json:"tenant_name"`
	CSRFToken         string     `json:"csrf_token"`
	PasswordChangedAt *time.Time `json:"password_changed_at"`
	PasswordExpiresAt *time.Time `json:"password_expires_at"`
	MFAEnabled        bool       `json:"mfa_enabled"`
	LoginMethod       string     `json:"login_method"` // "password" or "idp"
	Language          string     `json:"language,omitempty"`
	// ConfirmationPassword is the tenant's mode ("login" or "separate"): which password
	// a confirm_password must be; ConfirmationPasswordSet: the person has a usable
	// confirmation password; ConfirmationLocked: it is locked.
	ConfirmationPassword    string `json:"confirmation_password"`
	ConfirmationPasswordSet bool   `json:"confirmation_password_set"`
	ConfirmationLocked      bool   `json:"confirmation_locked"`
	// ClientIP is the address this request came from, as the edge established it: the
	// settings page warns before allowed networks leave it out.
	ClientIP string `json:"client_ip,omitempty"`
}

func newMeView(r *http.Request, acc account.Account, t account.Tenant, csrf string) meView {
	return meView{AccountID: acc.ID, LoginID: acc.LoginID, Role: string(acc.Role), Tenant: t.ID, TenantName: t.Name,
		CSRFToken: csrf, PasswordChangedAt: timePtr(acc.PasswordChangedAt),
		PasswordExpiresAt: timePtr(account.PasswordExpiresAt(acc, t.Settings)), MFAEnabled: acc.MFAEnabled(), LoginMethod: loginMethod(acc), Language: acc.Language,
		ConfirmationPassword: t.Settings.Effective().ConfirmationPassword, ConfirmationPasswordSet: acc.ConfirmationSet(), ConfirmationLocked: acc.ConfirmationLocked(),
		ClientIP: clientIP(r)}
}

func (a *api) handleMe() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := principal(r)
		t, err := a.svc.SignIn.Tenant(r.Context(), p)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, newMeView(r, p.Account, t, p.CSRF))
	})
}

type accountView struct {
	AccountID       string `json:"account_id"`
	LoginID         string `json:"login_id"`
	Role            string `json:"role"`
	Locked          bool   `json:"locked"`
	Disabled        bool   `json:"disabled"`
	ForceChange     bool   `json:"force_change"`
	PasswordExpired bool   `json:"password_expired"`
	MFAEnabled      bool   `json:"mfa_enabled"`
	MFALocked       bool   `json:"mfa_locked"`
	// ConfirmationLocked: the separate confirmation password is locked.
	ConfirmationLocked bool       `json:"confirmation_locked"`
	Passkeys           int        `json:"passkeys"`
	Invited            bool       `json:"invited"`
	MailSuppressed     string     `json:"mail_suppressed,omitempty"` // "bounce" or "complaint": mail to it stopped arriving
	State              []string   `json:"state"`                     // every state of account.States that holds
	QuotaGB            int        `json:"quota_gb"`
	Comment            string     `json:"comment"`
	LoginMethod        string     `json:"login_method"` // "password" or "idp"
	LastLoginAt        *time.Time `json:"last_login_at"`
	CreatedAt          *time.Time `json:"created_at,omitempty"`
}

// loginMethod is an account's login_method as docs/api.md names it.
func loginMethod(a account.Account) string {
	if a.UsesIdP() {
		return account.LoginMethodIdP
	}
	return account.LoginMethodPassword
}

func view(acc account.Account, s account.Settings, now time.Time) accountView {
	exp := account.PasswordExpiresAt(acc, s)
	states := []string{}
	q := account.ListQuery{MaxAgeDays: s.MaxAgeDays, Now: now}
	for _, st := range account.States {
		if q.HasState(acc, st) {
			states = append(states, st)
		}
	}
	return accountView{AccountID: acc.ID, LoginID: acc.LoginID, Role: string(acc.Role), Locked: acc.Locked(), Disabled: acc.Disabled, ForceChange: acc.ForceChange,
		PasswordExpired: !exp.IsZero() && !now.Before(exp), MFAEnabled: acc.MFAEnabled(), MFALocked: acc.MFALocked(), ConfirmationLocked: acc.ConfirmationLocked(), Passkeys: acc.Passkeys, Invited: acc.Invited(), MailSuppressed: acc.MailSuppressed, State: states, QuotaGB: acc.QuotaGB, Comment: acc.Comment,
		LastLoginAt: timePtr(acc.LastLoginAt), CreatedAt: timePtr(acc.CreatedAt), LoginMethod: loginMethod(acc)}
}

func encodeCursor(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func decodeCursor(s string) (string, bool) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	return string(b), err == nil && len(b) <= 512
}

func (a *api) handleListAccounts() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := principal(r)
		qv := r.URL.Query()
		q := account.ListQuery{Contains: qv.Get("q"), State: qv.Get("state"), Role: account.Role(qv.Get("role")), Sort: qv.Get("sort")}
		var fields []account.FieldError
		if len(q.Contains) > account.MaxLoginIDLen {
			fields = append(fields, account.FieldError{Field: "q", Code: "too_long"})
		}
		if q.State != "" && !slices.Contains(account.States, q.State) {
			fields = append(fields, account.FieldError{Field: "state", Code: "invalid"})
		}
		if q.Role != "" && !q.Role.Valid() {
			fields = append(fields, account.FieldError{Field: "role", Code: "invalid"})
		}
		switch q.Sort {
		case "":
			q.Sort = account.SortLoginID
		case account.SortLoginID, account.SortLastLogin, account.SortCreated:
		default:
			fields = append(fields, account.FieldError{Field: "sort", Code: "invalid"})
		}
		switch qv.Get("order") {
		case "", "asc":
		case "desc":
			q.Desc = true
		default:
			fields = append(fields, account.FieldError{Field: "order", Code: "invalid"})
		}
		if s := qv.Get("limit"); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < 1 || n > account.MaxPageSize {
				fields = append(fields, account.FieldError{Field: "limit", Code: "invalid"})
			}
			q.Limit = n
		}
		if c := qv.Get("cursor"); c != "" {
			after, ok := decodeCursor(c)
			if !ok {
				fields = append(fields, account.FieldError{Field: "cursor", Code: "invalid"})
			}
			q.After = after
		}
		if len(fields) > 0 {
			a.fail(w, r, &account.Error{Code: account.CodeValidation, Fields: fields})
			return
		}
		now := a.svc.Now()
		t, err := a.svc.SignIn.Tenant(r.Context(), p)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		page, err := a.svc.Admin.ListAccounts(r.Context(), p, q)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		out := struct {
			Accounts   []accountView `json:"accounts"`
			Total      int           `json:"total"`
			NextCursor *string       `json:"next_cursor"`
		}{Accounts: []accountView{}, Total: page.Total}
		for _, acc := range page.Accounts {
			out.Accounts = append(out.Accounts, view(acc, t.Settings, now))
		}
		if page.Next != "" {
			c := encodeCursor(page.Next)
			out.NextCursor = &c
		}
		writeJSON(w, http.StatusOK, out)
	})
}

func (a *api) handleCreateAccount() http.Handler {
	type request struct {
		LoginID     string  `json:"login_id"`
		Role        string  `json:"role"`
		Password    *string `json:"password"`
		ForceChange bool    `json:"force_change"`
		QuotaGB     int     `json:"quota_gb"`
		Comment     string  `json:"comment"`
		Invite      bool    `json:"invite"`
		LoginMethod string  `json:"login_method"`
		// ConfirmPassword is the administrator's own password: needed for an admin or owner.
		ConfirmPassword string `json:"confirm_password"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req request
		if err := decode(w, r, &req); err != nil {
			a.fail(w, r, err)
			return
		}
		if req.Invite && req.Password != nil {
			a.fail(w, r, &account.Error{Code: account.CodeValidation, Fields: []account.FieldError{{Field: "invite", Code: "with_password"}}})
			return
		}
		in := account.NewAccount{LoginID: req.LoginID, Role: account.Role(req.Role), ForceChange: req.ForceChange,
			QuotaGB: req.QuotaGB, Comment: req.Comment, Invite: req.Invite, LoginMethod: req.LoginMethod}
		if req.Password != nil {
			if *req.Password == "" {
				a.fail(w, r, &account.Error{Code: account.CodePasswordPolicy, Fields: []account.FieldError{{Field: "password", Code: "too_short"}}})
				return
			}
			in.Password = *req.Password
		}
		acc, err := a.svc.Admin.CreateAccount(r.Context(), principal(r), in, req.ConfirmPassword, clientIP(r))
		if err != nil {
			a.fail(w, r, err)
			return
		}
		writeJSON(w, http.StatusCreated, view(acc, account.Settings{}, a.svc.Now()))
	})
}

func (a *api) handleUpdateAccount() http.Handler {
	type request struct {
		Password    *string `json:"password"`
		ForceChange *bool   `json:"force_change"`
		QuotaGB     *int    `json:"quota_gb"`
		Comment     *string `json:"comment"`
		Role        *string `json:"role"`
		Disabled    *bool   `json:"disabled"`
		LoginID     *string `json:"login_id"`
		// The separate confirmation password (tenant setting confirmation_password).
		ConfirmationPassword    *string `json:"confirmation_password"`
		ConfirmationForceChange *bool   `json:"confirmation_force_change"`
		LoginMethod             *string `json:"login_method"`
		ConfirmPassword         string  `json:"confirm_password"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req request
		if err := decode(w, r, &req); err != nil {
			a.fail(w, r, err)
			return
		}
		patch := account.AccountPatch{Password: req.Password, ForceChange: req.ForceChange, QuotaGB: req.QuotaGB, Comment: req.Comment, Disabled: req.Disabled, LoginID: req.LoginID,
			ConfirmationPassword: req.ConfirmationPassword, ConfirmationForceChange: req.ConfirmationForceChange,
			LoginMethod: req.LoginMethod}
		if req.Role != nil {
			role := account.Role(*req.Role)
			patch.Role = &role
		}
		acc, err := a.svc.Admin.UpdateAccount(r.Context(), principal(r), r.PathValue("login_id"), patch, req.ConfirmPassword, clientIP(r))
		if err != nil {
			a.fail(w, r, err)
			return
		}
		t, err := a.svc.SignIn.Tenant(r.Context(), principal(r))
		if err != nil {
			a.fail(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, view(acc, t.Settings, a.svc.Now()))
	})
}

// confirmBody is the body of the administrative actions that need only the
// administrator's own password.
type confirmBody struct {
	ConfirmPassword string `json:"confirm_password"`
}

// decodeConfirm reads a confirmBody; an empty body is one without a password (422 from
// the service), not a malformed one.
func decodeConfirm(w http.ResponseWriter, r *http.Request) (confirmBody, error) {
	var body confirmBody
	if r.ContentLength == 0 && r.Header.Get("Content-Type") == "" {
		return body, nil
	}
	return body, decode(w, r, &body)
}

// handleConfirmed answers an administrative action on the account of the path that
// takes only the administrator's own password: 204 when done.
// action is a method expression of account.Admin, bound when a request comes (so that
// Routes can list the routes without services).
func (a *api) handleConfirmed(action func(s *account.Admin, ctx context.Context, p account.Principal, loginID, confirm, ip string) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := decodeConfirm(w, r)
		if err == nil {
			err = action(a.svc.Admin, r.Context(), principal(r), r.PathValue("login_id"), body.ConfirmPassword, clientIP(r))
		}
		if err != nil {
			a.fail(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

// auditQuery reads the audit log's filters (docs/api.md): action, target, result, from, to
// (RFC 3339), and bulk_rows=true to show bulk jobs row by row.
func auditQuery(r *http.Request) (account.AuditFilter, string, error) {
	q := r.URL.Query()
	f := account.AuditFilter{Action: q.Get("action"), Target: q.Get("target"), Result: q.Get("result"), HideBulkRows: q.Get("bulk_rows") != "true"}
	var fields []account.FieldError
	for _, v := range []struct {
		name string
		to   *time.Time
	}{{"from", &f.From}, {"to", &f.To}} {
		if s := q.Get(v.name); s != "" {
			t, err := time.Parse(time.RFC3339, s)
			if err != nil {
				fields = append(fields, account.FieldError{Field: v.name, Code: "invalid"})
			}
			*v.to = t
		}
	}
	for name, v := range map[string]string{"action": f.Action, "target": f.Target, "result": f.Result} {
		if len(v) > 200 {
			fields = append(fields, account.FieldError{Field: name, Code: "too_long"})
		}
	}
	after := ""
	if c := q.Get("cursor"); c != "" {
		var ok bool
		if after, ok = decodeCursor(c); !ok {
			fields = append(fields, account.FieldError{Field: "cursor", Code: "invalid"})
		}
	}
	if len(fields) > 0 {
		return f, "", &account.Error{Code: account.CodeValidation, Fields: fields}
	}
	return f, after, nil
}

func (a *api) handleListAudit() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, after, err := auditQuery(r)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		events, next, err := a.svc.Admin.ListAudit(r.Context(), principal(r), f, after, 100)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		since := a.svc.Admin.AuditKeptSince()
		out := struct {
			Events     []account.AuditEvent `json:"events"`
			NextCursor *string              `json:"next_cursor"`
			// KeptSince is the oldest time the table keeps events; Notice is
			// audit_archived when the range asked for reaches before it (the older
			// events are in the operator's audit archive).
			KeptSince time.Time `json:"kept_since"`
			Notice    string    `json:"notice,omitempty"`
		}{Events: append([]account.AuditEvent{}, events...), KeptSince: since.UTC(), Notice: archivedNotice(f, since)}
		if next != "" {
			c := encodeCursor(next)
			out.NextCursor = &c
		}
		writeJSON(w, http.StatusOK, out)
	})
}

// archivedNotice is audit_archived when f's range starts before since, the oldest time
// the table keeps audit events.
func archivedNotice(f account.AuditFilter, since time.Time) string {
	if !f.From.IsZero() && f.From.Before(since) {
		return account.CodeAuditArchived
	}
	return ""
}

// tenantZone is the tenants' time zone (Japan's, as the site and the emails give times):
// the audit export writes its times there, with the offset.
var tenantZone = time.FixedZone("JST", 9*3600)

// auditExportHeader is the audit export's header: the events' codes, as scripts read
// them, then the actor, action and result (with its reason) in words, as the audit page
// shows them.
var auditExportHeader = []string{"at", "actor", "action", "target", "target_id", "ip", "result",
	"actor_label", "action_label", "result_label"}

// handleAuditExport downloads the events the filters keep as CSV (UTF-8 with a BOM, so
// spreadsheet programs read the Japanese right), newest first, at most 100,000 rows; times
// in Japan's time with their offset (2026-04-01T09:00:00+09:00), as people read them; the
// words in the page's language (?lang=ja|en, else the browser's).
func (a *api) handleAuditExport() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, after, err := auditQuery(r)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		words, err := wordsLang(r, auditwords.Languages)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		p := principal(r)
		events, next, err := a.svc.Admin.ListAudit(r.Context(), p, f, after, 200)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		since := a.svc.Admin.AuditKeptSince()
		w.Header().Set("Kagiya-Audit-Kept-Since", since.UTC().Format(time.RFC3339))
		if n := archivedNotice(f, since); n != "" {
			w.Header().Set("Kagiya-Notice", n)
		}
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="audit.csv"`)
		w.Header().Set("Cache-Control", "no-store")
		cw := csv.NewWriter(w)
		w.Write([]byte("\ufeff"))   //nolint:errcheck
		cw.Write(auditExportHeader) //nolint:errcheck
		for rows := 0; ; {
			for _, e := range events {
				cw.Write([]string{e.At.In(tenantZone).Format(time.RFC3339), csvCell(e.Actor), e.Action, csvCell(e.Target), e.TargetID, e.IP, csvCell(e.Result), //nolint:errcheck
					csvCell(auditwords.Actor(words, e.Actor)), csvCell(auditwords.Action(words, e.Action)), csvCell(auditwords.Result(words, e.Action, e.Result))})
				rows++
			}
			if next == "" || rows >= 100_000 {
				break
			}
			if events, next, err = a.svc.Admin.ListAudit(r.Context(), p, f, next, 200); err != nil {
				logger(r, a.log).ErrorContext(r.Context(), "audit export", "err", err)
				break
			}
		}
		cw.Flush()
	})
}

type sessionView struct {
	SessionID  string    `json:"session_id"`
	CreatedAt  time.Time `json:"created_at"`
	LastSeenAt time.Time `json:"last_seen_at"`
	IP         string    `json:"ip"`
	UserAgent  string    `json:"user_agent"`
	Current    bool      `json:"current"`
}

// writeSessions answers a list of sessions as {"sessions": [...]}.
func writeSessions(w http.ResponseWriter, list []account.SessionInfo) {
	out := struct {
		Sessions []sessionView `json:"sessions"`
	}{Sessions: []sessionView{}}
	for _, s := range list {
		out.Sessions = append(out.Sessions, sessionView{SessionID: s.ID, CreatedAt: s.CreatedAt, LastSeenAt: s.LastSeenAt,
			IP: s.IP, UserAgent: s.UserAgent, Current: s.Current})
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *api) handleSessions() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		list, err := a.svc.SelfService.Sessions(r.Context(), principal(r))
		if err != nil {
			a.fail(w, r, err)
			return
		}
		writeSessions(w, list)
	})
}

// handleAccountSessions lists the live sessions of an account an administrator manages.
func (a *api) handleAccountSessions() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		list, err := a.svc.Admin.AccountSessions(r.Context(), principal(r), r.PathValue("login_id"))
		if err != nil {
			a.fail(w, r, err)
			return
		}
		writeSessions(w, list)
	})
}

// handleEndAccountSession ends one session of an account, with the administrator's own
// password.
func (a *api) handleEndAccountSession() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := decodeConfirm(w, r)
		if err == nil {
			err = a.svc.Admin.EndAccountSession(r.Context(), principal(r), r.PathValue("login_id"),
				r.PathValue("session_id"), body.ConfirmPassword, clientIP(r))
		}
		if err != nil {
			a.fail(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

func (a *api) handleEndSession() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := principal(r)
		if err := a.svc.SelfService.EndSession(r.Context(), p, r.PathValue("session_id"), clientIP(r)); err != nil {
			a.fail(w, r, err)
			return
		}
		if r.PathValue("session_id") == p.Session.PublicID() {
			a.clearCookie(w) // this browser signed itself out
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

func (a *api) handleEndOtherSessions() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			CurrentPassword string `json:"current_password"`
		}
		if err := decode(w, r, &req); err != nil {
			a.fail(w, r, err)
			return
		}
		if err := a.svc.SelfService.EndOtherSessions(r.Context(), principal(r), req.CurrentPassword, clientIP(r)); err != nil {
			a.fail(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}
