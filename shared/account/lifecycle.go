package account

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Account lifecycle: invitations (an account that exists before it has a password, and
// sets its first one from an emailed link) and login-ID changes (confirmed by a link to
// the new address and the account's password; the account ID stays, so sessions do).

// Token purposes of the lifecycle.
const (
	PurposeInvite      = "invite"
	PurposeEmailChange = "email_change"
)

// Default link lifetimes (the cloud-storage manual's 14 days).
const (
	DefaultInviteLinkHours      = 14 * 24
	DefaultEmailChangeLinkHours = 14 * 24
)

// inviteTTL and emailChangeTTL are the tenant's link lifetimes.
func inviteTTL(set Settings) time.Duration {
	h := set.InviteLinkHours
	if h <= 0 {
		h = DefaultInviteLinkHours
	}
	return time.Duration(h) * time.Hour
}

func emailChangeTTL(set Settings) time.Duration {
	h := set.EmailChangeLinkHours
	if h <= 0 {
		h = DefaultEmailChangeLinkHours
	}
	return time.Duration(h) * time.Hour
}

// ResendInvitation sends an invited account of the principal's tenant a new invitation;
// the earlier link stops working.
func (s *Admin) ResendInvitation(ctx context.Context, p Principal, loginID, ip string) error {
	if err := requireAdmin(p); err != nil {
		return err
	}
	a, err := s.target(ctx, p, loginID)
	if err != nil {
		return err
	}
	if !canManage(p.Account.Role, a.Role) {
		return codeErr(CodeForbidden)
	}
	if !a.Invited() {
		return codeErr(CodeNotInvited)
	}
	t, err := s.tenants.GetTenant(ctx, a.TenantID)
	if err != nil {
		return fmt.Errorf("tenant: %w", err)
	}
	// An address whose domain another tenant verified since is no longer mailed here.
	if domain, _ := ParseLoginID(a.LoginID); domain != "" {
		if elsewhere, err := s.heldElsewhere(ctx, t.ID, domain); err != nil {
			return err
		} else if elsewhere {
			return codeErr(CodeValidation, FieldError{"login_id", "other_tenant"})
		}
	}
	return s.invite(ctx, a, t, p.Account.LoginID, ip)
}

// AcceptInvitation sets the first password of an invited account from its emailed link,
// under the tenant's rules. It does not sign in. It answers the login ID.
func (s *Recovery) AcceptInvitation(ctx context.Context, token, plain, ip string) (string, error) {
	if err := s.throttle(ctx, "invite-ip#"+ip, s.cfg.RecoveryPerIPMinute); err != nil {
		return "", err
	}
	link, a, set, err := s.peekLink(ctx, token, PurposeInvite)
	if err != nil {
		if CodeOf(err) == CodeInvalidToken {
			s.audit(ctx, AuditEvent{Actor: "anonymous", Action: "invitation.accept", IP: ip, Result: "failed:invalid_token"})
		}
		return "", err
	}
	if !a.Invited() {
		return "", codeErr(CodeInvalidToken)
	}
	hash, err := s.newPasswordHash(ctx, a, set, "new_password", plain)
	if err != nil {
		return "", err
	}
	// The password's write spends the link (a write that fails leaves it usable).
	now := s.now().UTC()
	a, err = s.updateGuarded(ctx, a, func(a Account) error {
		if !a.Invited() || !linkLive(a, link) {
			return codeErr(CodeInvalidToken)
		}
		return nil
	}, func(a *Account) {
		a.PasswordHash, a.PasswordChangedAt, a.InvitedAt, a.ForceChange = hash, now, time.Time{}, false
		a.UpdatedAt = now
		a.EmailVerifiedAt = now // the invitation was mailed to the login ID
		spend(a, link, now)
	})
	if err != nil {
		return "", err
	}
	s.retire(ctx, link)
	s.audit(ctx, AuditEvent{TenantID: a.TenantID, Actor: a.LoginID, Action: "invitation.accept", Target: a.LoginID, TargetID: a.ID, IP: ip, Result: "ok"})
	return a.LoginID, nil
}

// RequestLoginIDChange is the person's own request, with its current password.
func (s *SelfService) RequestLoginIDChange(ctx context.Context, p Principal, newID, current, ip string) error {
	if len(newID) > MaxLoginIDLen {
		return codeErr(CodeValidation, FieldError{"new_login_id", "too_long"})
	}
	a, err := s.reauth(ctx, p, current, ip, "login_id.change_requested")
	if err != nil {
		return err
	}
	t, err := s.tenant(ctx, a.TenantID)
	if err != nil {
		return err
	}
	return s.requestLoginIDChange(ctx, s.logins, t, a, newID, a.LoginID, ip)
}

// ConfirmLoginIDChange completes a login-ID change from its emailed link and the
// account's password (a wrong one counts toward lockout): the rules are checked again,
// then the login ID moves in one transaction. Sessions stay valid (the account ID did not
// change). It answers the new login ID.
func (s *Recovery) ConfirmLoginIDChange(ctx context.Context, token, plain, ip string) (string, error) {
	if err := s.throttle(ctx, "confirm-ip#"+ip, s.cfg.RecoveryPerIPMinute); err != nil {
		return "", err
	}
	var tok Token
	a, err := s.tokenAccount(ctx, token, func(hash string) (Token, error) {
		t, err := s.tokens.PeekToken(ctx, hash, PurposeEmailChange, s.now().UTC())
		tok = t
		return t, err
	})
	if err != nil {
		if CodeOf(err) == CodeInvalidToken {
			s.audit(ctx, AuditEvent{Actor: "anonymous", Action: "login_id.change", IP: ip, Result: "failed:invalid_token"})
		}
		return "", err
	}
	if plain == "" || len(plain) > 4*MaxPasswordLen {
		return "", codeErr(CodeValidation, FieldError{"password", "required"})
	}
	a, match, _, err := s.verify(ctx, LoginRef{a.TenantID, a.ID}, plain, ip)
	if err != nil {
		return "", err
	}
	if !match {
		s.audit(ctx, AuditEvent{TenantID: a.TenantID, Actor: a.LoginID, Action: "login_id.change", Target: a.LoginID, TargetID: a.ID, IP: ip, Result: "failed:password"})
		return "", codeErr(CodeCurrentPassword, FieldError{"password", "wrong"})
	}
	if err := s.authenticated(ctx, a); err != nil {
		return "", err
	}
	t, err := s.tenant(ctx, a.TenantID)
	if err != nil {
		return "", err
	}
	if a, err = s.accounts.GetAccount(ctx, a.TenantID, a.ID); err != nil {
		return "", fmt.Errorf("login ID change: %w", err)
	}
	if err := s.checkNewLoginID(ctx, s.logins, t, a, tok.Data); err != nil {
		return "", err // taken, or outside the tenant's domains, since the request
	}
	// The login ID's transaction spends the link (TokensAfter moves past it); if it
	// fails, the link still works.
	old := a.LoginID
	now := s.now().UTC()
	var changed Account
	for range 5 {
		if !linkLive(a, tok) {
			return "", codeErr(CodeInvalidToken) // used meanwhile
		}
		next := a
		next.MailSuppressed = ""   // a new address: whatever bounced was the old one
		next.EmailVerifiedAt = now // the link mailed to it was used
		spend(&next, tok, now)
		changed, err = s.accounts.ChangeLoginID(ctx, next, tok.Data)
		if !errors.Is(err, ErrConflict) {
			break
		}
		// The account changed, or the login ID was taken, meanwhile: which?
		if _, lerr := s.logins.LookupLogin(ctx, Key(tok.Data)); lerr == nil {
			return "", takenAnswer(ctx, s.logins, a.TenantID, tok.Data, "new_login_id")
		}
		if a, err = s.accounts.GetAccount(ctx, a.TenantID, a.ID); err != nil {
			return "", fmt.Errorf("login ID change: %w", err)
		}
	}
	if err != nil {
		return "", fmt.Errorf("login ID change: %w", err)
	}
	s.retire(ctx, tok)
	s.audit(ctx, AuditEvent{TenantID: changed.TenantID, Actor: changed.LoginID, Action: "login_id.change", Target: changed.LoginID, TargetID: changed.ID, IP: ip,
		Result: "ok:from " + old})
	return changed.LoginID, nil
}

// SuspendResult is what a batch suspension (or resumption) did.
type SuspendResult struct {
	Changed   []string // login IDs now as asked
	Unchanged []string // already so
	Failed    []string // not changed: the store failed (they are as they were)
}

// SetDisabled suspends (disabled) or resumes several accounts of the principal's tenant,
// confirmed with the administrator's own password; like AdminUnlock, every ID must be
// one the administrator manages, or nothing changes. A suspension signs the account out
// everywhere. Nobody suspends itself.
func (s *Admin) SetDisabled(ctx context.Context, p Principal, loginIDs []string, disabled bool, confirm, ip string) (SuspendResult, error) {
	for i, id := range loginIDs {
		if disabled && Key(id) == p.Account.Key() {
			return SuspendResult{}, codeErr(CodeValidation, FieldError{fmt.Sprintf("login_ids[%d]", i), "self"})
		}
	}
	targets, err := s.batchTargets(ctx, p, loginIDs, confirm, ip, "account.suspend")
	if err != nil {
		return SuspendResult{}, err
	}
	res := SuspendResult{Changed: []string{}, Unchanged: []string{}, Failed: []string{}}
	now := s.now().UTC()
	for _, a := range targets {
		if a.Disabled == disabled {
			res.Unchanged = append(res.Unchanged, a.LoginID)
			continue
		}
		_, err := s.updateRetrying(ctx, a, func(a *Account) {
			if disabled && !a.Disabled {
				a.SessionEpoch++
			}
			a.Disabled, a.UpdatedAt = disabled, now
		})
		if err != nil {
			res.Failed = append(res.Failed, a.LoginID)
			s.batchFailed(ctx, p, a, "account.update", ip, fmt.Errorf("disabled=%t: %w", disabled, err))
			continue
		}
		res.Changed = append(res.Changed, a.LoginID)
		s.audit(ctx, AuditEvent{TenantID: a.TenantID, Actor: p.Account.LoginID, Action: "account.update", Target: a.LoginID, TargetID: a.ID, IP: ip,
			Result: fmt.Sprintf("ok:disabled=%t", disabled)})
	}
	return res, nil
}

// Mail events (SES bounces and complaints, through the configuration set's events).
const (
	MailBounce    = "bounce"
	MailComplaint = "complaint"
)

// RecordMailEvent notes that mail to loginID bounced for good or drew a complaint: an
// audit event, and a mark on the account its administrators see (a lost unlock or reset
// email does not go unnoticed). An address that is no account's is only logged.
func (s *Admin) RecordMailEvent(ctx context.Context, kind, loginID, detail string) error {
	a, err := findAccount(ctx, s.logins, s.accounts, loginID)
	if errors.Is(err, ErrNotFound) {
		s.log.InfoContext(ctx, "mail event for no account", "kind", kind)
		return nil
	} else if err != nil {
		return fmt.Errorf("mail event: %w", err)
	}
	if a.MailSuppressed != kind {
		if _, err := s.updateRetrying(ctx, a, func(a *Account) { a.MailSuppressed = kind }); err != nil {
			return fmt.Errorf("mail event: %w", err)
		}
	}
	s.audit(ctx, AuditEvent{TenantID: a.TenantID, Actor: "system", Action: "mail." + kind, Target: a.LoginID, TargetID: a.ID, Result: "ok:" + detail})
	return nil
}
