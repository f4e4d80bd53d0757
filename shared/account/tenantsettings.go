package account

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/kagiya/kagiya/shared/policy"
)

// TenantSettings returns the principal's tenant (administrators).
func (s *Admin) TenantSettings(ctx context.Context, p Principal) (Tenant, error) {
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

// TenantUpdate is what an owner may change of its tenant. An empty Name and nil Domains
// keep what the tenant has (a client that does not know those fields changes nothing of
// them); an empty, non-nil Domains lets any address join.
type TenantUpdate struct {
	Name     string
	Domains  []string
	Settings Settings
}

// MaxDomains bounds a tenant's domains.
const MaxDomains = 50

// UpdateTenantSettings replaces the principal's tenant name, domains and settings (owners
// only). Domains may be reordered or removed (a removed verified domain is released for
// other tenants), not added: a new domain is proven first (AddDomain, VerifyDomain). A
// login ID that exists keeps working after its domain is removed (the rule applies to
// new login IDs).
func (s *Admin) UpdateTenantSettings(ctx context.Context, p Principal, in TenantUpdate, confirm, ip string) (Tenant, error) {
	if p.Account.Role != RoleOwner {
		return Tenant{}, codeErr(CodeForbidden)
	}
	t, err := s.tenants.GetTenant(ctx, p.Account.TenantID)
	if err != nil {
		return Tenant{}, fmt.Errorf("tenant: %w", err)
	}
	if in.Name == "" {
		in.Name = t.Name
	}
	if in.Domains == nil {
		in.Domains = t.Domains
	}
	if err := nameErr(in.Name); err != nil {
		return Tenant{}, err
	}
	fields := in.Settings.validate()
	name := strings.TrimSpace(in.Name)
	if name == "" || utf8.RuneCountInString(name) > 100 || !utf8.ValidString(name) {
		fields = append(fields, FieldError{"name", "invalid"})
	}
	domains, bad := normalizeDomains(in.Domains)
	if bad == "" && slices.ContainsFunc(domains, func(d string) bool { return !slices.Contains(t.Domains, d) }) {
		bad = "unverified" // a new domain comes in through AddDomain and VerifyDomain
	}
	if bad != "" {
		fields = append(fields, FieldError{"domains", bad})
	}
	if !confirmGiven(confirm) {
		fields = append(fields, FieldError{"confirm_password", "required"})
	}
	if len(fields) > 0 {
		return Tenant{}, codeErr(CodeValidation, fields...)
	}
	if err := s.Confirm(ctx, p, confirm, ip, "tenant.update"); err != nil {
		return Tenant{}, err
	}
	var released []string
	for _, d := range t.Domains {
		if !slices.Contains(domains, d) {
			released = append(released, d)
		}
	}
	// A removed domain's claim goes with it: adding it again needs a new proof.
	t.Claims = slices.DeleteFunc(t.Claims, func(c DomainClaim) bool { return slices.Contains(released, c.Domain) })
	in.Settings.AllowedNetworks = canonicalNetworks(in.Settings.AllowedNetworks)
	t.Name, t.Domains, t.Settings = name, domains, in.Settings
	if len(released) > 0 {
		err = s.domains.ReleaseDomains(ctx, t, released)
	} else {
		err = s.tenants.UpdateTenant(ctx, t)
	}
	if err != nil {
		return Tenant{}, fmt.Errorf("update tenant: %w", err)
	}
	s.tenantCache.put(t, s.now())
	set := in.Settings
	s.audit(ctx, AuditEvent{TenantID: t.ID, Actor: p.Account.LoginID, Action: "tenant.update", Target: t.ID, IP: ip,
		Result: fmt.Sprintf("ok:preset=%s history=%d max_age=%d threshold=%d name=%q domains=%s mfa_required=%t allowed_networks=%s skip_mfa=%t confirmation_password=%s idp_requires_mfa=%t",
			set.PolicyPreset, set.HistoryDepth, set.MaxAgeDays, set.LockoutThreshold, name, strings.Join(domains, ","), set.MFARequired,
			strings.Join(set.AllowedNetworks, ","), set.TrustedNetworksSkipMFA, set.Effective().ConfirmationPassword, set.IdPRequiresMFA)})
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
	if s.InviteLinkHours != 0 {
		check("invite_link_hours", s.InviteLinkHours, 1, 60*24)
	}
	if s.EmailChangeLinkHours != 0 {
		check("email_change_link_hours", s.EmailChangeLinkHours, 1, 60*24)
	}
	if s.OTPLockThreshold != 0 {
		check("otp_lock_threshold", s.OTPLockThreshold, 3, 20)
	}
	if s.RememberBrowserDays != nil {
		check("remember_browser_days", *s.RememberBrowserDays, 0, 365)
	}
	if s.LockoutScope != "" && s.LockoutScope != ScopeUntrustedDevices && s.LockoutScope != ScopeAccount {
		f = append(f, FieldError{"lockout_scope", "invalid"})
	}
	if s.ConfirmationPassword != "" && s.ConfirmationPassword != ConfirmWithLogin && s.ConfirmationPassword != ConfirmWithSeparate {
		f = append(f, FieldError{"confirmation_password", "invalid"})
	}
	if _, bad := ParseNetworks(s.AllowedNetworks); bad != nil {
		f = append(f, *bad)
	}
	return f
}
