package account

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

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
func (s *Service) newPasswordHash(ctx context.Context, a Account, set Settings, field, plain string) (string, error) {
	p := preset(set)
	plain = p.Normalized(plain)
	codes := p.Check(policy.Input{Password: plain, LoginID: a.LoginID})
	if a.PasswordHash != "" {
		if same, _, err := password.Verify(s.cfg.Hash, a.PasswordHash, plain); err == nil && same {
			codes = append(codes, policy.SameAsCurrent)
		}
	}
	if depth := min(set.HistoryDepth, MaxHistoryDepth); depth > 0 && a.ID != "" {
		history, err := s.histories.GetHistory(ctx, a.TenantID, a.ID)
		if err != nil {
			return "", fmt.Errorf("password history: %w", err)
		}
		for _, old := range history[:min(depth, len(history))] {
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

// storePassword puts hash in place as a's password (changed now, every session ended)
// with whatever else change does, re-reading and retrying if the account changed
// meanwhile (a failed sign-in, say); change may run more than once. The replaced hash
// then joins the history the tenant keeps.
func (s *Service) storePassword(ctx context.Context, a Account, set Settings, hash string, change func(*Account)) (Account, error) {
	now := s.now().UTC()
	stored, err := s.updateRetrying(ctx, a, func(next *Account) {
		next.PasswordHash, next.PasswordChangedAt, next.UpdatedAt = hash, now, now
		next.SessionEpoch++
		if change != nil {
			change(next)
		}
	})
	if err == nil {
		s.remember(ctx, a, set)
	}
	return stored, err
}

// updateRetrying applies change to a and writes it, re-reading and retrying if the
// account changed meanwhile; change may run more than once.
func (s *Service) updateRetrying(ctx context.Context, a Account, change func(*Account)) (Account, error) {
	for attempt := 0; ; attempt++ {
		next := a
		change(&next)
		stored, err := s.accounts.UpdateAccount(ctx, next)
		if !errors.Is(err, ErrConflict) || attempt == 5 {
			return stored, err
		}
		if a, err = s.accounts.GetAccount(ctx, a.TenantID, a.ID); err != nil {
			return Account{}, err
		}
	}
}

// remember adds a's replaced password to its history, trimmed to the tenant's depth. A
// failure costs only that one history entry, so it is logged, not returned.
func (s *Service) remember(ctx context.Context, a Account, set Settings) {
	depth := min(set.HistoryDepth, MaxHistoryDepth)
	if depth <= 0 || a.PasswordHash == "" {
		return
	}
	history, err := s.histories.GetHistory(ctx, a.TenantID, a.ID)
	if err == nil {
		history = append([]string{a.PasswordHash}, history...)
		err = s.histories.PutHistory(ctx, a.TenantID, a.ID, history[:min(len(history), depth)])
	}
	if err != nil {
		s.log.WarnContext(ctx, "password history not stored", "err", err)
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

// peek returns the account and tenant settings of a live token without using it up.
func (s *Service) peek(ctx context.Context, token, purpose string) (Account, Settings, error) {
	a, err := s.tokenAccount(ctx, token, func(hash string) (Token, error) {
		return s.tokens.PeekToken(ctx, hash, purpose, s.now().UTC())
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
	a, err = s.storePassword(ctx, a, set, hash, func(a *Account) { a.ForceChange = false })
	if err != nil {
		return LoginResult{}, fmt.Errorf("change password: %w", err)
	}
	if err := s.sessions.DeleteSession(ctx, p.Session.IDHash); err != nil && !errors.Is(err, ErrNotFound) {
		return LoginResult{}, fmt.Errorf("change password: %w", err)
	}
	token, _, err := s.newSession(ctx, a, now)
	if err != nil {
		return LoginResult{}, err
	}
	s.audit(ctx, AuditEvent{TenantID: a.TenantID, Actor: a.LoginID, Action: "password.change", Target: a.LoginID, TargetID: a.ID, IP: ip, Result: "ok"})
	s.notify(ctx, "password_changed", a, map[string]any{"ByAdmin": false, "When": s.formatTime(now, set)})
	return LoginResult{Token: token, CSRF: csrfFor(token), Account: a, Tenant: t}, nil
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
	for _, purpose := range []string{PurposeReset, PurposeFlow} {
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

// TenantSettings returns the principal's tenant (administrators).
func (s *Service) TenantSettings(ctx context.Context, p Principal) (Tenant, error) {
	if err := requireAdmin(p); err != nil {
		return Tenant{}, err
	}
	t, err := s.tenants.GetTenant(ctx, p.Account.TenantID)
	if err != nil {
		return Tenant{}, fmt.Errorf("tenant: %w", err)
	}
	t.Settings = t.Settings.Effective()
	return t, nil
}

// TenantUpdate is what an owner may change of its tenant.
type TenantUpdate struct {
	Name     string
	Domains  []string
	Settings Settings
}

// MaxDomains bounds a tenant's domains.
const MaxDomains = 50

// UpdateTenantSettings replaces the principal's tenant name, domains and settings (owners
// only). Domains may be added or removed; a login ID that exists keeps working after its
// domain is removed (the rule applies to new login IDs).
func (s *Service) UpdateTenantSettings(ctx context.Context, p Principal, in TenantUpdate, ip string) (Tenant, error) {
	if p.Account.Role != RoleOwner {
		return Tenant{}, codeErr(CodeForbidden)
	}
	fields := in.Settings.validate()
	name := strings.TrimSpace(in.Name)
	if name == "" || utf8.RuneCountInString(name) > 100 || !utf8.ValidString(name) {
		fields = append(fields, FieldError{"name", "invalid"})
	}
	domains, bad := normalizeDomains(in.Domains)
	if bad != "" {
		fields = append(fields, FieldError{"domains", bad})
	}
	if len(fields) > 0 {
		return Tenant{}, codeErr(CodeValidation, fields...)
	}
	t, err := s.tenants.GetTenant(ctx, p.Account.TenantID)
	if err != nil {
		return Tenant{}, fmt.Errorf("tenant: %w", err)
	}
	t.Name, t.Domains, t.Settings = name, domains, in.Settings
	if err := s.tenants.UpdateTenant(ctx, t); err != nil {
		return Tenant{}, fmt.Errorf("update tenant: %w", err)
	}
	s.settings.put(t, s.now())
	set := in.Settings
	s.audit(ctx, AuditEvent{TenantID: t.ID, Actor: p.Account.LoginID, Action: "tenant.update", Target: t.ID, IP: ip,
		Result: fmt.Sprintf("ok:preset=%s history=%d max_age=%d threshold=%d name=%q domains=%s", set.PolicyPreset, set.HistoryDepth, set.MaxAgeDays, set.LockoutThreshold, name, strings.Join(domains, ","))})
	t.Settings = t.Settings.Effective()
	return t, nil
}

// normalizeDomains lower-cases, checks and de-duplicates domains, keeping their order (the
// first is the default for bare account names). It names the problem, if any.
func normalizeDomains(in []string) ([]string, string) {
	if len(in) > MaxDomains {
		return nil, "too_many"
	}
	out := []string{}
	for _, d := range in {
		d = strings.ToLower(strings.TrimSpace(d))
		if _, ok := ParseLoginID("x@" + d); !ok {
			return nil, "invalid"
		}
		if !slices.Contains(out, d) {
			out = append(out, d)
		}
	}
	return out, ""
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
