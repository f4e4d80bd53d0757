package account

import (
	"context"
	"errors"
	"fmt"
)

// ChangeOwnPassword is the self-service change: the current password (a wrong one counts
// toward lockout) and a new one under the tenant's rules. Every other session of the
// account ends; the caller gets a fresh session in place of the one it used.
func (s *SelfService) ChangeOwnPassword(ctx context.Context, p Principal, current, plain, ip string) (LoginResult, error) {
	if current == "" || len(current) > 4*MaxPasswordLen {
		return LoginResult{}, codeErr(CodeValidation, FieldError{"current_password", "required"})
	}
	a, match, _, err := s.verify(ctx, LoginRef{p.Account.TenantID, p.Account.ID}, current, ip)
	if err != nil {
		return LoginResult{}, err
	}
	if !match {
		s.audit(ctx, AuditEvent{TenantID: a.TenantID, Actor: p.Account.LoginID, Action: "password.change", Target: p.Account.LoginID, TargetID: p.Account.ID, IP: ip, Result: "failed:current_password"})
		return LoginResult{}, codeErr(CodeCurrentPassword, FieldError{"current_password", "wrong"})
	}
	if err := s.authenticated(ctx, a); err != nil {
		return LoginResult{}, err
	}
	t, err := s.tenant(ctx, a.TenantID)
	if err != nil {
		return LoginResult{}, err
	}
	set := t.Settings.Effective()
	if a, err = s.accounts.GetAccount(ctx, a.TenantID, a.ID); err != nil {
		return LoginResult{}, fmt.Errorf("change password: %w", err)
	}
	hash, err := s.newPasswordHash(ctx, a, set, "new_password", plain)
	if err != nil {
		return LoginResult{}, err
	}
	now := s.now().UTC()
	a, err = s.storePassword(ctx, a, set, hash, nil, func(a *Account) { a.ForceChange = false })
	if err != nil {
		return LoginResult{}, fmt.Errorf("change password: %w", err)
	}
	if err := s.sessions.DeleteSession(ctx, p.Session.IDHash); err != nil && !errors.Is(err, ErrNotFound) {
		return LoginResult{}, fmt.Errorf("change password: %w", err)
	}
	token, _, err := openSession(ctx, s.sessions, a, now, s.cfg.SessionMax)
	if err != nil {
		return LoginResult{}, err
	}
	s.audit(ctx, AuditEvent{TenantID: a.TenantID, Actor: a.LoginID, Action: "password.change", Target: a.LoginID, TargetID: a.ID, IP: ip, Result: "ok"})
	s.notify(ctx, "password_changed", a, map[string]any{"ByAdmin": false, "When": s.formatTime(now, set)})
	return LoginResult{Token: token, CSRF: csrfFor(token), Account: a, Tenant: t}, nil
}

// Policy describes the rules of the principal's tenant.
func (s *SelfService) Policy(ctx context.Context, p Principal, lang string) (PolicyDescription, error) {
	set, err := s.settingsOf(ctx, p.Account.TenantID)
	if err != nil {
		return PolicyDescription{}, err
	}
	return s.describe(p.Account, set, lang), nil
}
