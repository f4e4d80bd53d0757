package account

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/kagiya/kagiya/shared/mail"
)

// canManage reports whether an actor of role actor may manage an account of role target:
// an owner manages everyone, an admin manages users.
func canManage(actor, target Role) bool {
	return actor == RoleOwner || actor == RoleAdmin && target == RoleUser
}

func requireAdmin(p Principal) error {
	if !p.Account.Role.IsAdmin() {
		return codeErr(CodeForbidden)
	}
	return nil
}

// target loads an account of the principal's tenant by login ID; anything outside the
// tenant, or unparseable, is not_found exactly like an absent account.
func (s *Admin) target(ctx context.Context, p Principal, loginID string) (Account, error) {
	return s.tenantAccount(ctx, s.logins, p.Account.TenantID, loginID)
}

// ListAccounts returns a page of the principal's tenant's accounts, with the total the
// query matches.
func (s *Admin) ListAccounts(ctx context.Context, p Principal, q ListQuery) (AccountPage, error) {
	if err := requireAdmin(p); err != nil {
		return AccountPage{}, err
	}
	if q.Limit <= 0 || q.Limit > MaxPageSize {
		q.Limit = 50
	}
	set, err := s.settingsOf(ctx, p.Account.TenantID)
	if err != nil {
		return AccountPage{}, err
	}
	q.MaxAgeDays, q.Now, q.WithTotal = set.MaxAgeDays, s.now().UTC(), true
	page, err := s.accounts.ListAccounts(ctx, p.Account.TenantID, q)
	if err != nil {
		return AccountPage{}, fmt.Errorf("list accounts: %w", err)
	}
	return page, nil
}

// MaxPageSize bounds a page of the account list.
const MaxPageSize = 200

// ExportAccounts calls each with every account of the principal's tenant in login-ID
// order, a page at a time (the export streams; nothing holds the whole tenant).
func (s *Admin) ExportAccounts(ctx context.Context, p Principal, each func(Account) error) error {
	if err := requireAdmin(p); err != nil {
		return err
	}
	if err := s.eachAccount(ctx, p.Account.TenantID, each); err != nil {
		return fmt.Errorf("export accounts: %w", err)
	}
	return nil
}

// NewAccount is what an administrator supplies to create an account.
type NewAccount struct {
	LoginID     string
	Role        Role
	Password    string // empty: no usable password until one is set or reset by email
	ForceChange bool
	QuotaGB     int
	Comment     string
	Invite      bool // with no password: the account waits for the person to accept an invitation
	// LoginMethod: LoginMethodPassword ("" too) or LoginMethodIdP (no password; the domain must
	// be served by one of the tenant's identity providers).
	LoginMethod string
}

// CreateAccount adds an account to the principal's tenant. Creating or inviting an
// admin or owner needs the administrator's own password (confirm), and every owner of
// the tenant is mailed who was made what, by whom, when and from where.
func (s *Admin) CreateAccount(ctx context.Context, p Principal, in NewAccount, confirm, ip string) (Account, error) {
	if err := requireAdmin(p); err != nil {
		return Account{}, err
	}
	t, err := s.tenant(ctx, p.Account.TenantID)
	if err != nil {
		return Account{}, err
	}
	var fields []FieldError
	domain, ok := ParseLoginID(in.LoginID)
	if !ok {
		fields = append(fields, FieldError{"login_id", "invalid"})
	} else if may, err := s.mayUse(ctx, t, domain); err != nil {
		return Account{}, err
	} else if !may {
		fields = append(fields, FieldError{"login_id", "other_tenant"})
	}
	if in.Role == "" {
		in.Role = RoleUser
	}
	if !in.Role.Valid() {
		fields = append(fields, FieldError{"role", "invalid"})
	}
	if !ValidQuota(in.QuotaGB) {
		fields = append(fields, FieldError{"quota_gb", "invalid"})
	}
	if code := commentProblem(in.Comment); code != "" {
		fields = append(fields, FieldError{"comment", code})
	}
	if in.LoginMethod == LoginMethodPassword {
		in.LoginMethod = ""
	}
	if in.LoginMethod != "" && ok {
		mfields, err := s.methodProblems(ctx, t.ID, domain, in.LoginMethod, in.Role)
		if err != nil {
			return Account{}, err
		}
		fields = append(fields, mfields...)
		if in.Password != "" {
			fields = append(fields, FieldError{"password", "not_allowed"})
		}
	}
	if len(fields) > 0 {
		return Account{}, codeErr(CodeValidation, fields...)
	}
	if !canManage(p.Account.Role, in.Role) {
		return Account{}, codeErr(CodeForbidden)
	}
	privileged := in.Role == RoleAdmin || in.Role == RoleOwner
	if privileged && !confirmGiven(confirm) {
		return Account{}, codeErr(CodeValidation, FieldError{"confirm_password", "required"})
	}
	if privileged {
		if err := s.Confirm(ctx, p, confirm, ip, "account.create"); err != nil {
			return Account{}, err
		}
	}
	id, err := newID("acc_")
	if err != nil {
		return Account{}, err
	}
	now := s.now().UTC()
	a := Account{ID: id, TenantID: t.ID, LoginID: in.LoginID, Role: in.Role, QuotaGB: in.QuotaGB,
		Comment: in.Comment, CreatedAt: now, UpdatedAt: now, LoginMethod: in.LoginMethod}
	switch {
	case in.Password != "":
		h, err := s.newPasswordHash(ctx, a, t.Settings.Effective(), "password", in.Password)
		if err != nil {
			return Account{}, err
		}
		a.PasswordHash, a.PasswordChangedAt, a.ForceChange = h, now, in.ForceChange
	case in.Invite:
		a.InvitedAt = now
	}
	if err := s.accounts.CreateAccount(ctx, a); errors.Is(err, ErrConflict) {
		return Account{}, takenAnswer(ctx, s.logins, t.ID, a.LoginID, "login_id")
	} else if err != nil {
		return Account{}, fmt.Errorf("create account: %w", err)
	}
	how := "ok"
	if a.UsesIdP() {
		how = "ok:idp"
	}
	s.audit(ctx, AuditEvent{TenantID: t.ID, Actor: p.Account.LoginID, Action: "account.create", Target: a.LoginID, TargetID: a.ID, IP: ip, Result: how})
	if privileged {
		s.notifyOwners(ctx, t.ID, a, "created", p.Account.LoginID, ip, now)
	}
	a.Version = 1
	if a.Invited() {
		if err := s.invite(ctx, a, t, p.Account.LoginID, ip); err != nil {
			return Account{}, err
		}
		if a, err = s.accounts.GetAccount(ctx, a.TenantID, a.ID); err != nil {
			return Account{}, fmt.Errorf("create account: %w", err)
		}
	}
	return a, nil
}

// AccountPatch lists the attributes an administrator changes; nil leaves one as it is.
type AccountPatch struct {
	Password    *string
	ForceChange *bool
	QuotaGB     *int
	Comment     *string
	Role        *Role
	Disabled    *bool   // suspend (signed out everywhere, cannot sign in) or resume
	LoginID     *string // a new login ID: confirmed by a link to it, as for self-service
	// ConfirmationPassword sets the separate confirmation password (released if it was
	// locked); ConfirmationForceChange: the person must replace it before using it.
	ConfirmationPassword    *string
	ConfirmationForceChange *bool
	// LoginMethod: LoginMethodPassword or LoginMethodIdP. A change signs the account out
	// everywhere, voids its links and is mailed; to idp, the password is dropped.
	LoginMethod *string
}

// dangerous reports whether the patch needs the administrator's own password.
func (p AccountPatch) dangerous() bool {
	return p.Password != nil || p.Role != nil || p.Disabled != nil || p.LoginID != nil || p.ConfirmationPassword != nil || p.LoginMethod != nil
}

// UpdateAccount changes an account of the principal's tenant. Setting a password, a role
// or a suspension needs the administrator's own password (confirm).
func (s *Admin) UpdateAccount(ctx context.Context, p Principal, loginID string, patch AccountPatch, confirm, ip string) (Account, error) {
	if err := requireAdmin(p); err != nil {
		return Account{}, err
	}
	a, err := s.target(ctx, p, loginID)
	if err != nil {
		return Account{}, err
	}
	self, was := a.ID == p.Account.ID, a.Role
	if self && (patch.Password != nil || patch.LoginID != nil || patch.ConfirmationPassword != nil || patch.ConfirmationForceChange != nil) {
		return Account{}, codeErr(CodeUseSelfService)
	}
	if !self && !canManage(p.Account.Role, a.Role) {
		return Account{}, codeErr(CodeForbidden)
	}
	var fields []FieldError
	if patch.QuotaGB != nil && !ValidQuota(*patch.QuotaGB) {
		fields = append(fields, FieldError{"quota_gb", "invalid"})
	}
	if patch.Comment != nil {
		if code := commentProblem(*patch.Comment); code != "" {
			fields = append(fields, FieldError{"comment", code})
		}
	}
	if patch.Role != nil {
		switch {
		case !patch.Role.Valid():
			fields = append(fields, FieldError{"role", "invalid"})
		case self && *patch.Role != a.Role:
			fields = append(fields, FieldError{"role", "self"})
		case !canManage(p.Account.Role, *patch.Role):
			return Account{}, codeErr(CodeForbidden)
		}
	}
	if patch.Disabled != nil && self && *patch.Disabled {
		fields = append(fields, FieldError{"disabled", "self"})
	}
	if patch.ConfirmationPassword != nil && len([]rune(*patch.ConfirmationPassword)) > MaxPasswordLen {
		fields = append(fields, FieldError{"confirmation_password", "too_long"})
	}
	if patch.ConfirmationForceChange != nil && patch.ConfirmationPassword == nil && a.Confirmation.Hash == "" {
		fields = append(fields, FieldError{"confirmation_force_change", "not_set"})
	}
	method := a.LoginMethod // as it will be
	if patch.LoginMethod != nil {
		if method = *patch.LoginMethod; method == LoginMethodPassword {
			method = ""
		}
		if self && method != a.LoginMethod {
			fields = append(fields, FieldError{"login_method", "self"})
		}
	}
	switch {
	case method != "" && method != LoginMethodIdP:
		fields = append(fields, FieldError{"login_method", "invalid"})
	case method == LoginMethodIdP && (patch.LoginMethod != nil || patch.Role != nil):
		role := a.Role
		if patch.Role != nil {
			role = *patch.Role
		}
		domain, _ := ParseLoginID(a.LoginID)
		mfields, err := s.methodProblems(ctx, a.TenantID, domain, method, role)
		if err != nil {
			return Account{}, err
		}
		fields = append(fields, mfields...)
	}
	if method == LoginMethodIdP && patch.Password != nil {
		fields = append(fields, FieldError{"password", "not_allowed"}) // it has no Kagiya password
	}
	methodChanged := method != a.LoginMethod
	if patch.dangerous() && !confirmGiven(confirm) {
		fields = append(fields, FieldError{"confirm_password", "required"})
	}
	if len(fields) > 0 {
		return Account{}, codeErr(CodeValidation, fields...)
	}
	if patch.dangerous() {
		if err := s.Confirm(ctx, p, confirm, ip, "account.update"); err != nil {
			return Account{}, err
		}
	}
	now := s.now().UTC()
	action := "account.update"
	var confirmationHash string
	if patch.ConfirmationPassword != nil {
		set, err := s.settingsOf(ctx, a.TenantID)
		if err != nil {
			return Account{}, err
		}
		if confirmationHash, err = s.newConfirmationHash(a, set, "confirmation_password", *patch.ConfirmationPassword); err != nil {
			return Account{}, err
		}
	}
	change := func(a *Account) {
		if confirmationHash != "" {
			// A new confirmation password, set by an administrator, releases its lock.
			a.Confirmation = Confirmation{Hash: confirmationHash, ChangedAt: now}
		}
		if patch.ConfirmationForceChange != nil {
			a.Confirmation.ForceChange = *patch.ConfirmationForceChange
		}
		if patch.ForceChange != nil {
			a.ForceChange = *patch.ForceChange
		}
		if patch.QuotaGB != nil {
			a.QuotaGB = *patch.QuotaGB
		}
		if patch.Comment != nil {
			a.Comment = *patch.Comment
		}
		if patch.Role != nil {
			a.Role = *patch.Role
		}
		if patch.Disabled != nil {
			if *patch.Disabled && !a.Disabled {
				a.SessionEpoch++ // a suspension signs the account out everywhere
			}
			a.Disabled = *patch.Disabled
		}
		if methodChanged && a.LoginMethod != method {
			// Another way in: every session, link and provider link of the old one ends.
			a.LoginMethod, a.IdPLink, a.TokensAfter = method, "", now
			a.SessionEpoch++
			if method == LoginMethodIdP {
				a.PasswordHash, a.ForceChange = "", false                            // an invitation stays: the first sign-in through the provider accepts it
				a.LockedAt, a.FailedAttempts, a.DeviceFailures = time.Time{}, 0, nil // a password's lock: no password now
			}
		}
		a.UpdatedAt = now
	}
	if patch.LoginID != nil {
		t, err := s.tenant(ctx, a.TenantID)
		if err != nil {
			return Account{}, err
		}
		if err := s.requestLoginIDChange(ctx, s.logins, t, a, *patch.LoginID, p.Account.LoginID, ip); err != nil {
			return Account{}, err
		}
		if patch == (AccountPatch{LoginID: patch.LoginID}) {
			return a, nil // nothing else to change now: the link does the rest
		}
	}
	var set Settings
	var stored Account
	if patch.Password != nil {
		if set, err = s.settingsOf(ctx, a.TenantID); err != nil {
			return Account{}, err
		}
		// err, not a new one: the switch below must see the write's error.
		var h string
		if h, err = s.newPasswordHash(ctx, a, set, "password", *patch.Password); err != nil {
			return Account{}, err
		}
		// The old hash joins the history; the account is signed out everywhere.
		action = "account.set_password"
		stored, err = s.storePassword(ctx, a, set, h, nil, func(a *Account) {
			a.ForceChange = false
			change(a)
		})
	} else {
		change(&a)
		stored, err = s.accounts.UpdateAccount(ctx, a)
	}
	switch {
	case errors.Is(err, ErrNotFound):
		return Account{}, codeErr(CodeNotFound)
	case errors.Is(err, ErrConflict):
		return Account{}, codeErr(CodeConflict)
	case err != nil:
		return Account{}, fmt.Errorf("update account: %w", err)
	}
	s.audit(ctx, AuditEvent{TenantID: a.TenantID, Actor: p.Account.LoginID, Action: action, Target: a.LoginID, TargetID: a.ID, IP: ip, Result: "ok" + patch.summary()})
	if patch.Role != nil && *patch.Role != was && *patch.Role != RoleUser {
		s.notifyOwners(ctx, a.TenantID, stored, "promoted", p.Account.LoginID, ip, now)
	}
	if patch.Password != nil {
		s.notify(ctx, stored, &mail.PasswordChanged{ByAdmin: true, When: s.formatTime(now, set)})
	}
	if methodChanged {
		s.methodNotice(ctx, stored, now)
	}
	return stored, nil
}

// summary names what a patch changes, for the audit log (never a password).
func (p AccountPatch) summary() string {
	var parts []string
	if p.Password != nil {
		parts = append(parts, "password")
	}
	if p.ForceChange != nil {
		parts = append(parts, fmt.Sprintf("force_change=%t", *p.ForceChange))
	}
	if p.Role != nil {
		parts = append(parts, "role="+string(*p.Role))
	}
	if p.Disabled != nil {
		parts = append(parts, fmt.Sprintf("disabled=%t", *p.Disabled))
	}
	if p.QuotaGB != nil {
		parts = append(parts, fmt.Sprintf("quota_gb=%d", *p.QuotaGB))
	}
	if p.Comment != nil {
		parts = append(parts, "comment")
	}
	if p.ConfirmationPassword != nil {
		parts = append(parts, "confirmation_password")
	}
	if p.ConfirmationForceChange != nil {
		parts = append(parts, fmt.Sprintf("confirmation_force_change=%t", *p.ConfirmationForceChange))
	}
	if p.LoginMethod != nil {
		parts = append(parts, "login_method="+*p.LoginMethod)
	}
	if len(parts) == 0 {
		return ""
	}
	return ":" + strings.Join(parts, " ")
}

// DeleteAccount removes an account of the principal's tenant, confirmed with the
// administrator's own password; nobody deletes themselves.
func (s *Admin) DeleteAccount(ctx context.Context, p Principal, loginID, confirm, ip string) error {
	a, err := s.confirmedTarget(ctx, p, loginID, confirm, ip, "account.delete", CodeForbidden)
	if err != nil {
		return err
	}
	if err := s.accounts.DeleteAccount(ctx, a.TenantID, a.ID); errors.Is(err, ErrNotFound) {
		return codeErr(CodeNotFound)
	} else if err != nil {
		return fmt.Errorf("delete account: %w", err)
	}
	s.dropAppPasswords(ctx, s.creds, a.ID)
	s.audit(ctx, AuditEvent{TenantID: a.TenantID, Actor: p.Account.LoginID, Action: "account.delete", Target: a.LoginID, TargetID: a.ID, IP: ip, Result: "ok"})
	return nil
}

// AuditFilter selects audit events; its parts combine. The zero filter keeps every event.
type AuditFilter struct {
	Action string    // an action ("lock") or a family ending in "." ("mfa.")
	Target string    // part of the target (a login ID), any case
	Result string    // the start of the result ("failed", "ok:expired")
	From   time.Time // at or after
	To     time.Time // before
	// HideBulkRows leaves out the one event per row of bulk jobs (each job has its
	// summary, bulk.job); an action filter that asks for them shows them.
	HideBulkRows bool
}

func (f AuditFilter) keep(e AuditEvent) bool {
	switch {
	case f.HideBulkRows && f.Action == "" && (e.Action == "bulk.create" || e.Action == "bulk.update"):
		return false
	case f.Action != "" && e.Action != f.Action && !(strings.HasSuffix(f.Action, ".") && strings.HasPrefix(e.Action, f.Action)):
		return false
	case f.Target != "" && !strings.Contains(strings.ToLower(e.Target), strings.ToLower(f.Target)):
		return false
	case f.Result != "" && !strings.HasPrefix(e.Result, f.Result):
		return false
	case !f.To.IsZero() && !e.At.Before(f.To):
		return false
	}
	return true
}

// auditScanPages bounds the pages of the log one filtered request reads.
const auditScanPages = 25

// ListAudit returns a page of the principal's tenant's audit log, newest first, of the
// events the filter keeps. A page may hold fewer than limit events when the filter is
// narrow (it reads at most auditScanPages of the log); next continues from there.
func (s *Admin) ListAudit(ctx context.Context, p Principal, f AuditFilter, after string, limit int) ([]AuditEvent, string, error) {
	if err := requireAdmin(p); err != nil {
		return nil, "", err
	}
	if limit <= 0 || limit > 200 {
		limit = 100
	}
	// The table keeps events AuditTableDays (DynamoDB deletes them within days of
	// their time-to-live): older ones are left out here, so the page shows what the
	// table promises, and a range wholly older is answered in words.
	since := s.AuditKeptSince()
	if !f.To.IsZero() && !f.To.After(since) {
		return nil, "", codeErr(CodeAuditArchived)
	}
	from := f.From
	if from.Before(since) {
		from = since
	}
	var out []AuditEvent
	next := after
	for range auditScanPages {
		ev, more, err := s.auditLog.ListAudit(ctx, p.Account.TenantID, next, limit)
		if err != nil {
			return nil, "", fmt.Errorf("list audit: %w", err)
		}
		for _, e := range ev {
			if e.At.Before(from) {
				return out, "", nil // newest first: the rest are older still
			}
			if f.keep(e) {
				out = append(out, e)
			}
		}
		next = more
		if next == "" || len(out) >= limit {
			break
		}
	}
	return out, next, nil
}

// AuditKeptSince is the oldest time whose audit events the table still keeps (now less
// AuditTableDays): older ones are only in the audit archive, which the operator holds.
func (s *Admin) AuditKeptSince() time.Time {
	return s.now().Add(-time.Duration(s.cfg.AuditTableDays) * 24 * time.Hour)
}

// AdminUnlockResult says which accounts were unlocked, which were not locked, and which
// could not be changed (a store failure: they are as they were, and may be tried again).
type AdminUnlockResult struct {
	Unlocked  []string
	NotLocked []string
	Failed    []string
}

// batchFailed notes that a batch action could not change a (the store failed): logged
// with the cause, audited, and told to the administrator by login ID; the batch goes on.
func (s *Admin) batchFailed(ctx context.Context, p Principal, a Account, action, ip string, err error) {
	s.log.ErrorContext(ctx, "batch action not applied to an account", "action", action, "account", a.ID, "err", err)
	s.audit(ctx, AuditEvent{TenantID: a.TenantID, Actor: p.Account.LoginID, Action: action, Target: a.LoginID, TargetID: a.ID, IP: ip, Result: "failed:error"})
}

// MaxBatch bounds the login IDs of one administrative request.
const MaxBatch = 100

// AdminUnlock unlocks several accounts of the principal's tenant. The administrator
// confirms with its own password; a wrong one counts toward its own lockout. Every ID must
// be one the administrator manages, or nothing changes.
func (s *Admin) AdminUnlock(ctx context.Context, p Principal, loginIDs []string, confirm, ip string) (AdminUnlockResult, error) {
	targets, err := s.batchTargets(ctx, p, loginIDs, confirm, ip, "unlock")
	if err != nil {
		return AdminUnlockResult{}, err
	}
	res := AdminUnlockResult{Unlocked: []string{}, NotLocked: []string{}, Failed: []string{}}
	for _, a := range targets {
		err := s.attempts.Unlock(ctx, a.TenantID, a.ID)
		switch {
		case err == nil:
			res.Unlocked = append(res.Unlocked, a.LoginID)
			s.audit(ctx, AuditEvent{TenantID: a.TenantID, Actor: p.Account.LoginID, Action: "unlock", Target: a.LoginID, TargetID: a.ID, IP: ip, Result: "ok:admin"})
		case errors.Is(err, ErrConflict), errors.Is(err, ErrNotFound):
			res.NotLocked = append(res.NotLocked, a.LoginID)
		default:
			res.Failed = append(res.Failed, a.LoginID)
			s.batchFailed(ctx, p, a, "unlock", ip, err)
		}
	}
	return res, nil
}

// batchTargets are the accounts of a batch action (unlock, release a second factor),
// confirmed with the administrator's own password: every login ID must name an account
// of its tenant that it manages (or itself), or it is an error and nothing is done.
func (s *Admin) batchTargets(ctx context.Context, p Principal, loginIDs []string, confirm, ip, action string) ([]Account, error) {
	if err := requireAdmin(p); err != nil {
		return nil, err
	}
	switch {
	case len(loginIDs) == 0:
		return nil, codeErr(CodeValidation, FieldError{"login_ids", "required"})
	case len(loginIDs) > MaxBatch:
		return nil, codeErr(CodeValidation, FieldError{"login_ids", "too_many"})
	case !confirmGiven(confirm):
		return nil, codeErr(CodeValidation, FieldError{"confirm_password", "required"})
	}
	if err := s.Confirm(ctx, p, confirm, ip, action); err != nil {
		return nil, err
	}
	var targets []Account
	var missing, forbidden []FieldError
	seen := map[string]bool{}
	for i, id := range loginIDs {
		a, err := s.target(ctx, p, id)
		field := fmt.Sprintf("login_ids[%d]", i)
		switch {
		case CodeOf(err) == CodeNotFound:
			missing = append(missing, FieldError{field, "not_found"})
		case err != nil:
			return nil, err
		case !canManage(p.Account.Role, a.Role) && a.ID != p.Account.ID:
			forbidden = append(forbidden, FieldError{field, "forbidden"})
		case !seen[a.ID]:
			seen[a.ID] = true
			targets = append(targets, a)
		}
	}
	if len(missing) > 0 {
		return nil, codeErr(CodeNotFound, missing...)
	}
	if len(forbidden) > 0 {
		return nil, codeErr(CodeForbidden, forbidden...)
	}
	return targets, nil
}

// confirmGiven reports whether a confirmation password was sent at all.
func confirmGiven(plain string) bool { return plain != "" && len(plain) <= 4*MaxPasswordLen }

// Confirm checks an administrator's own current password for a dangerous action: missing
// is 422 (field confirm_password), wrong is 403 invalid_confirm_password and counts
// toward the administrator's lockout like a wrong sign-in.
func (s *Admin) Confirm(ctx context.Context, p Principal, plain, ip, action string) error {
	return s.confirmOwn(ctx, p, plain, ip, action)
}

// RevokeSessions signs an account of the principal's tenant out everywhere, confirmed
// with the administrator's own password. One's own sessions are ended on one's own page.
func (s *Admin) RevokeSessions(ctx context.Context, p Principal, loginID, confirm, ip string) error {
	a, err := s.confirmedTarget(ctx, p, loginID, confirm, ip, "account.revoke_sessions", CodeUseSelfService)
	if err != nil {
		return err
	}
	if _, err := s.updateRetrying(ctx, a, func(a *Account) { a.SessionEpoch++ }); err != nil {
		return fmt.Errorf("revoke sessions: %w", err)
	}
	s.audit(ctx, AuditEvent{TenantID: a.TenantID, Actor: p.Account.LoginID, Action: "account.revoke_sessions", Target: a.LoginID, TargetID: a.ID, IP: ip, Result: "ok"})
	return nil
}

// AccountSessions lists the live sessions of an account of the principal's tenant that
// it manages, newest first. Its own are on its own page (use_self_service).
func (s *Admin) AccountSessions(ctx context.Context, p Principal, loginID string) ([]SessionInfo, error) {
	if err := requireAdmin(p); err != nil {
		return nil, err
	}
	a, err := s.target(ctx, p, loginID)
	if err != nil {
		return nil, err
	}
	if a.ID == p.Account.ID {
		return nil, codeErr(CodeUseSelfService)
	}
	if !canManage(p.Account.Role, a.Role) {
		return nil, codeErr(CodeForbidden)
	}
	return liveSessions(ctx, s.sessions, a, "", s.now().UTC(), s.cfg.SessionIdle)
}

// EndAccountSession ends one session (by its public ID) of an account of the
// principal's tenant, confirmed with the administrator's own password: the person is
// signed out in that browser alone. not_found if the account has no such session.
func (s *Admin) EndAccountSession(ctx context.Context, p Principal, loginID, id, confirm, ip string) error {
	a, err := s.confirmedTarget(ctx, p, loginID, confirm, ip, "session.end", CodeUseSelfService)
	if err != nil {
		return err
	}
	all, err := s.sessions.ListSessions(ctx, a.ID)
	if err != nil {
		return fmt.Errorf("sessions: %w", err)
	}
	for _, sess := range all {
		if sess.PublicID() != id {
			continue
		}
		if err := s.sessions.DeleteSession(ctx, a.ID, sess.IDHash); err != nil && !errors.Is(err, ErrNotFound) {
			return fmt.Errorf("end session: %w", err)
		}
		s.audit(ctx, AuditEvent{TenantID: a.TenantID, Actor: p.Account.LoginID, Action: "session.end", Target: a.LoginID,
			TargetID: a.ID, IP: ip, Result: "ok:" + id})
		return nil
	}
	return codeErr(CodeNotFound)
}

// confirmedTarget is the account an administrator acts on with a dangerous action: one
// of its tenant, another than itself (selfCode otherwise), of a role it manages, and the
// action confirmed with the administrator's own password.
func (s *Admin) confirmedTarget(ctx context.Context, p Principal, loginID, confirm, ip, action, selfCode string) (Account, error) {
	if err := requireAdmin(p); err != nil {
		return Account{}, err
	}
	a, err := s.target(ctx, p, loginID)
	if err != nil {
		return Account{}, err
	}
	if a.ID == p.Account.ID {
		return Account{}, codeErr(selfCode)
	}
	if !canManage(p.Account.Role, a.Role) {
		return Account{}, codeErr(CodeForbidden)
	}
	if err := s.Confirm(ctx, p, confirm, ip, action); err != nil {
		return Account{}, err
	}
	return a, nil
}

// notifyOwners mails every owner of a tenant (but a, the account concerned) that a
// became an admin or owner (event "created" or "promoted"): who, by whom, when and from
// which IP address. A session taken over cannot make itself a second owner unseen.
func (s *Admin) notifyOwners(ctx context.Context, tenantID string, a Account, event, actor, ip string, at time.Time) {
	set, err := s.settingsOf(ctx, tenantID)
	if err != nil {
		s.log.ErrorContext(ctx, "owners not told of a privileged account", "account", a.ID, "err", err)
		return
	}
	q := ListQuery{Role: RoleOwner, Limit: 500}
	for {
		page, err := s.accounts.ListAccounts(ctx, tenantID, q)
		if err != nil {
			s.log.ErrorContext(ctx, "owners not told of a privileged account", "account", a.ID, "err", err)
			return
		}
		for _, o := range page.Accounts {
			if o.ID == a.ID || o.Invited() {
				continue // the account itself, and an owner that cannot sign in yet
			}
			s.notify(ctx, o, &mail.PrivilegedAccount{Event: event, Target: a.LoginID,
				Role: string(a.Role), Actor: actor, IP: ip, When: s.formatTime(at, set)})
		}
		if page.Next == "" {
			return
		}
		q.After = page.Next
	}
}

// dropAppPasswords removes a deleted account's app passwords and application grants
// (best effort: they cannot be used anyway, since the account is gone and a new one has
// another ID).
func (s *Admin) dropAppPasswords(ctx context.Context, creds Credentials, accountID string) {
	cs, err := creds.ListCredentials(ctx, CredAppPassword, accountID)
	if grants, gerr := creds.ListCredentials(ctx, CredOIDCGrant, accountID); gerr == nil {
		cs = append(cs, grants...)
	} else if err == nil {
		err = gerr
	}
	for _, c := range cs {
		if err == nil {
			err = creds.DeleteCredential(ctx, c.Kind, c.Owner, c.ID)
		}
	}
	if err != nil && !errors.Is(err, ErrNotFound) {
		s.log.WarnContext(ctx, "app passwords of a deleted account left", "account", accountID, "err", err)
	}
}
