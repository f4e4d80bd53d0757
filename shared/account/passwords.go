package account

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/kagiya/kagiya/shared/password"
	"github.com/kagiya/kagiya/shared/policy"
)

// MaxHistoryDepth bounds the password history a tenant may keep: each kept password is
// one more hash to compute on every change.
const MaxHistoryDepth = 24

// preset returns the tenant's password rules (the default if the name is unknown).
func preset(set Settings) policy.Preset {
	if p, ok := policy.Get(set.Effective().PolicyPreset); ok {
		return p
	}
	p, _ := policy.Get(DefaultPolicyPreset)
	return p
}

// newPasswordHash checks plain as a's next password under the tenant's rules, including
// the current password and the kept history, and returns its hash. Every broken rule is
// reported at once, as password_policy with one field item per rule.
func (s *Service) newPasswordHash(a Account, set Settings, field, plain string) (string, error) {
	p := preset(set)
	plain = p.Normalized(plain)
	codes := p.Check(policy.Input{Password: plain, LoginID: a.LoginID})
	if a.PasswordHash != "" {
		if same, _, err := password.Verify(s.cfg.Hash, a.PasswordHash, plain); err == nil && same {
			codes = append(codes, policy.SameAsCurrent)
		}
	}
	if depth := min(set.HistoryDepth, MaxHistoryDepth); depth > 0 {
		for _, old := range a.PasswordHistory[:min(depth, len(a.PasswordHistory))] {
			if used, _, err := password.Verify(s.cfg.Hash, old, plain); err == nil && used {
				codes = append(codes, policy.Reused)
				break
			}
		}
	}
	if len(codes) > 0 {
		fields := make([]FieldError, len(codes))
		for i, c := range codes {
			fields[i] = FieldError{field, c}
		}
		return "", codeErr(CodePasswordPolicy, fields...)
	}
	return password.Hash(s.cfg.Hash, plain)
}

// setPassword puts hash in place on a: the old one joins the history, the change time is
// now, and every session of the account ends.
func setPassword(a *Account, set Settings, hash string, forceChange bool, now time.Time) {
	if a.PasswordHash != "" && set.HistoryDepth > 0 {
		a.PasswordHistory = append([]string{a.PasswordHash}, a.PasswordHistory...)
	}
	a.PasswordHistory = a.PasswordHistory[:min(len(a.PasswordHistory), min(set.HistoryDepth, MaxHistoryDepth))]
	a.PasswordHash, a.PasswordChangedAt, a.ForceChange = hash, now, forceChange
	a.SessionEpoch++
	a.UpdatedAt = now
}

// settingsOf returns the effective settings of a tenant.
func (s *Service) settingsOf(ctx context.Context, tenantID string) (Settings, error) {
	t, err := s.store.GetTenant(ctx, tenantID)
	if err != nil {
		return Settings{}, fmt.Errorf("tenant %s: %w", tenantID, err)
	}
	return t.Settings.Effective(), nil
}

// storePassword writes a new password for a, re-reading and retrying if the account
// changed meanwhile (a failed sign-in, say). change may run more than once.
func (s *Service) storePassword(ctx context.Context, a Account, change func(*Account)) (Account, error) {
	for attempt := 0; ; attempt++ {
		next := a
		change(&next)
		stored, err := s.store.UpdateAccount(ctx, next)
		if !errors.Is(err, ErrConflict) || attempt == 5 {
			return stored, err
		}
		if a, err = s.store.GetAccount(ctx, a.TenantID, a.Key()); err != nil {
			return Account{}, err
		}
	}
}

// ChangeReason says why a sign-in must set a new password first.
func changeReason(a Account, set Settings, now time.Time) string {
	if a.ForceChange {
		return "forced"
	}
	if exp := PasswordExpiresAt(a, set); !exp.IsZero() && !now.Before(exp) {
		return "expired"
	}
	return ""
}

// ChallengeTTL is how long a forced or expired change may take after the sign-in.
const ChallengeTTL = 10 * time.Minute

// CompletePasswordChange sets the new password of a forced or expired change and signs
// in. The password is checked before the challenge is used up, so a refused one can be
// corrected.
func (s *Service) CompletePasswordChange(ctx context.Context, challenge, plain, ip string) (LoginResult, error) {
	a, set, err := s.peek(ctx, challenge, PurposeChange)
	if err != nil {
		return LoginResult{}, err
	}
	reason := changeReason(a, set, s.now())
	hash, err := s.newPasswordHash(a, set, "new_password", plain)
	if err != nil {
		return LoginResult{}, err
	}
	if a, err = s.redeem(ctx, challenge, PurposeChange); err != nil {
		return LoginResult{}, err
	}
	now := s.now().UTC()
	a, err = s.storePassword(ctx, a, func(a *Account) { setPassword(a, set, hash, false, now) })
	if err != nil {
		return LoginResult{}, fmt.Errorf("change password: %w", err)
	}
	token, _, err := s.newSession(ctx, a, now)
	if err != nil {
		return LoginResult{}, err
	}
	s.audit(ctx, AuditEvent{TenantID: a.TenantID, Actor: a.LoginID, Action: "password.change", Target: a.LoginID, IP: ip, Result: "ok:" + reason})
	s.audit(ctx, AuditEvent{TenantID: a.TenantID, Actor: a.LoginID, Action: "login", Target: a.LoginID, IP: ip, Result: "ok"})
	s.notify(ctx, "password_changed", a, map[string]any{"ByAdmin": false, "When": s.formatTime(now, set)})
	return LoginResult{Token: token, CSRF: csrfFor(token), Account: a}, nil
}

// peek returns the account and tenant settings of a live token without using it up.
func (s *Service) peek(ctx context.Context, token, purpose string) (Account, Settings, error) {
	a, err := s.tokenAccount(ctx, token, func(hash string) (Token, error) {
		return s.store.PeekToken(ctx, hash, purpose, s.now().UTC())
	})
	if err != nil {
		return Account{}, Settings{}, err
	}
	set, err := s.settingsOf(ctx, a.TenantID)
	return a, set, err
}

// ChangeOwnPassword is the self-service change: the current password (a wrong one counts
// toward lockout) and a new one under the tenant's rules. Every other session of the
// account ends; the caller gets a fresh session in place of the one it used.
func (s *Service) ChangeOwnPassword(ctx context.Context, p Principal, current, plain, ip string) (LoginResult, error) {
	if current == "" || len(current) > 4*MaxPasswordLen {
		return LoginResult{}, codeErr(CodeValidation, FieldError{"current_password", "required"})
	}
	a := p.Account
	match, _, err := s.checkPassword(ctx, &a, current, ip)
	if err != nil {
		return LoginResult{}, err
	}
	if !match || a.Locked() {
		s.audit(ctx, AuditEvent{TenantID: a.TenantID, Actor: a.LoginID, Action: "password.change", Target: a.LoginID, IP: ip, Result: "failed:current_password"})
		return LoginResult{}, codeErr(CodeCurrentPassword, FieldError{"current_password", "wrong"})
	}
	if err := s.authenticated(ctx, a); err != nil {
		return LoginResult{}, err
	}
	set, err := s.settingsOf(ctx, a.TenantID)
	if err != nil {
		return LoginResult{}, err
	}
	if a, err = s.store.GetAccount(ctx, a.TenantID, a.Key()); err != nil {
		return LoginResult{}, fmt.Errorf("change password: %w", err)
	}
	hash, err := s.newPasswordHash(a, set, "new_password", plain)
	if err != nil {
		return LoginResult{}, err
	}
	now := s.now().UTC()
	a, err = s.storePassword(ctx, a, func(a *Account) { setPassword(a, set, hash, false, now) })
	if err != nil {
		return LoginResult{}, fmt.Errorf("change password: %w", err)
	}
	if err := s.store.DeleteSession(ctx, p.Session.IDHash); err != nil && !errors.Is(err, ErrNotFound) {
		return LoginResult{}, fmt.Errorf("change password: %w", err)
	}
	token, _, err := s.newSession(ctx, a, now)
	if err != nil {
		return LoginResult{}, err
	}
	s.audit(ctx, AuditEvent{TenantID: a.TenantID, Actor: a.LoginID, Action: "password.change", Target: a.LoginID, IP: ip, Result: "ok"})
	s.notify(ctx, "password_changed", a, map[string]any{"ByAdmin": false, "When": s.formatTime(now, set)})
	return LoginResult{Token: token, CSRF: csrfFor(token), Account: a}, nil
}

// PolicyDescription is a tenant's password rules, for people and for the live checklist.
type PolicyDescription struct {
	Preset  string            `json:"preset"`
	LoginID string            `json:"login_id"`
	Rules   []policy.RuleInfo `json:"rules"`
}

func (s *Service) describe(a Account, set Settings, lang string) PolicyDescription {
	p := preset(set)
	return PolicyDescription{Preset: p.Name, LoginID: a.LoginID, Rules: p.Describe(lang, false, min(set.HistoryDepth, MaxHistoryDepth))}
}

// Policy describes the rules of the principal's tenant.
func (s *Service) Policy(ctx context.Context, p Principal, lang string) (PolicyDescription, error) {
	set, err := s.settingsOf(ctx, p.Account.TenantID)
	if err != nil {
		return PolicyDescription{}, err
	}
	return s.describe(p.Account, set, lang), nil
}

// PolicyForToken describes the rules that apply to the account of a live reset link or
// sign-in challenge, for the pages that have no session.
func (s *Service) PolicyForToken(ctx context.Context, token, lang string) (PolicyDescription, error) {
	for _, purpose := range []string{PurposeReset, PurposeChange} {
		a, set, err := s.peek(ctx, token, purpose)
		if err == nil {
			return s.describe(a, set, lang), nil
		}
		if CodeOf(err) != CodeInvalidToken {
			return PolicyDescription{}, err
		}
	}
	return PolicyDescription{}, codeErr(CodeInvalidToken)
}

// TenantSettings returns the principal's tenant settings (administrators).
func (s *Service) TenantSettings(ctx context.Context, p Principal) (Tenant, error) {
	if err := requireAdmin(p); err != nil {
		return Tenant{}, err
	}
	t, err := s.store.GetTenant(ctx, p.Account.TenantID)
	if err != nil {
		return Tenant{}, fmt.Errorf("tenant: %w", err)
	}
	t.Settings = t.Settings.Effective()
	return t, nil
}

// UpdateTenantSettings replaces the principal's tenant settings (owners only).
func (s *Service) UpdateTenantSettings(ctx context.Context, p Principal, set Settings, ip string) (Tenant, error) {
	if p.Account.Role != RoleOwner {
		return Tenant{}, codeErr(CodeForbidden)
	}
	if fields := set.validate(); len(fields) > 0 {
		return Tenant{}, codeErr(CodeValidation, fields...)
	}
	t, err := s.store.GetTenant(ctx, p.Account.TenantID)
	if err != nil {
		return Tenant{}, fmt.Errorf("tenant: %w", err)
	}
	t.Settings = set
	if err := s.store.UpdateTenant(ctx, t); err != nil {
		return Tenant{}, fmt.Errorf("update tenant: %w", err)
	}
	s.audit(ctx, AuditEvent{TenantID: t.ID, Actor: p.Account.LoginID, Action: "tenant.update", Target: t.ID, IP: ip,
		Result: fmt.Sprintf("ok:preset=%s history=%d max_age=%d threshold=%d", set.PolicyPreset, set.HistoryDepth, set.MaxAgeDays, set.LockoutThreshold)})
	return t, nil
}

// validate reports the settings that are out of range.
func (s Settings) validate() []FieldError {
	var f []FieldError
	if _, ok := policy.Get(s.PolicyPreset); !ok {
		f = append(f, FieldError{"policy_preset", "invalid"})
	}
	check := func(field string, v, lo, hi int) {
		if v < lo || v > hi {
			f = append(f, FieldError{field, "out_of_range"})
		}
	}
	check("lockout_threshold", s.LockoutThreshold, 3, 100)
	check("lock_minutes", s.LockMinutes, 0, 7*24*60)
	check("unlock_link_hours", s.UnlockLinkHours, 1, 30*24)
	check("reset_link_minutes", s.ResetLinkMinutes, 5, 24*60)
	check("history_depth", s.HistoryDepth, 0, MaxHistoryDepth)
	check("max_age_days", s.MaxAgeDays, 0, 3650)
	if s.Language != "ja" && s.Language != "en" {
		f = append(f, FieldError{"language", "invalid"})
	}
	return f
}
