package account

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Domain ownership: a tenant adds an email domain only after proving that it controls it
// (a DNS TXT record "kagiya-verify=<token>" on the domain), and only if no other tenant
// holds it. A verified domain is the tenant's alone: nobody else creates, invites, imports
// or moves a login ID into it, and its addresses count as verified email addresses.

// TXTResolver looks up a domain's TXT records (net.Resolver in production).
type TXTResolver interface {
	LookupTXT(ctx context.Context, name string) ([]string, error)
}

// VerifyPrefix starts the TXT record that proves a domain.
const VerifyPrefix = "kagiya-verify="

// dnsTimeout bounds one verification's lookup.
const dnsTimeout = 5 * time.Second

// DomainClaim is a tenant's claim on a domain: pending until its TXT record is found,
// then verified.
type DomainClaim struct {
	Domain      string
	Token       string // the record to publish is VerifyPrefix + Token
	RequestedAt time.Time
	VerifiedAt  time.Time // zero while pending
}

// Verified reports whether the claim was proven.
func (c DomainClaim) Verified() bool { return !c.VerifiedAt.IsZero() }

// Record is the TXT record's text.
func (c DomainClaim) Record() string { return VerifyPrefix + c.Token }

// Domain states as the settings page shows them.
const (
	DomainVerified   = "verified"   // proven: in Domains and the tenant's alone
	DomainUnverified = "unverified" // in Domains (listed before proof was needed), not proven
	DomainPending    = "pending"    // asked for, not proven: not in Domains yet
)

// DomainStatus is one domain of a tenant with its state, and while it is not verified
// the claim to prove (if one was asked for).
type DomainStatus struct {
	Domain string
	State  string
	Claim  *DomainClaim
}

// claimOf returns t's claim on domain, if any.
func (t Tenant) claimOf(domain string) (DomainClaim, bool) {
	for _, c := range t.Claims {
		if c.Domain == domain {
			return c, true
		}
	}
	return DomainClaim{}, false
}

// VerifiedDomain reports whether t holds domain (lower case) by a verified claim.
func (t Tenant) VerifiedDomain(domain string) bool {
	c, ok := t.claimOf(domain)
	return ok && c.Verified() && slices.Contains(t.Domains, domain)
}

// DomainStatus returns the state of one of t's domains or claims.
func (t Tenant) DomainStatus(domain string) DomainStatus {
	for _, st := range t.DomainStatuses() {
		if st.Domain == domain {
			return st
		}
	}
	return DomainStatus{Domain: domain}
}

// DomainStatuses lists t's domains (in order) and then its pending claims.
func (t Tenant) DomainStatuses() []DomainStatus {
	out := []DomainStatus{}
	for _, d := range t.Domains {
		st := DomainStatus{Domain: d, State: DomainUnverified}
		if c, ok := t.claimOf(d); ok {
			if c.Verified() {
				st.State = DomainVerified
			} else {
				st.Claim = &c
			}
		}
		out = append(out, st)
	}
	for _, c := range t.Claims {
		if !slices.Contains(t.Domains, c.Domain) {
			out = append(out, DomainStatus{Domain: c.Domain, State: DomainPending, Claim: &c})
		}
	}
	return out
}

// EmailVerified reports whether a's login ID is a proven address: the person used a link
// mailed to it, or its domain is verified by a's tenant t.
func EmailVerified(a Account, t Tenant) bool {
	if !a.EmailVerifiedAt.IsZero() {
		return true
	}
	domain, ok := ParseLoginID(a.LoginID)
	return ok && t.VerifiedDomain(domain)
}

// DomainHeldElsewhere reports whether a tenant other than tenantID holds domain (a bulk
// file's validation).
func (s *Bulk) DomainHeldElsewhere(ctx context.Context, tenantID, domain string) (bool, error) {
	return s.heldElsewhere(ctx, tenantID, domain)
}

// takenAnswer is the answer for a login ID that exists: in the caller's own tenant it is
// login_id_taken (its administrators see that account anyway); in another tenant it is
// the answer for an address outside the tenant's domains, so no tenant learns which
// addresses another one has.
func takenAnswer(ctx context.Context, logins Logins, tenantID, loginID, field string) error {
	ref, err := logins.LookupLogin(ctx, Key(loginID))
	if err == nil && ref.TenantID != tenantID {
		return codeErr(CodeValidation, FieldError{field, "other_tenant"})
	}
	return codeErr(CodeLoginIDTaken, FieldError{field, "taken"})
}

// AddDomain asks to add a domain to the owner's tenant: it answers the claim whose TXT
// record proves it (the same claim again while it is pending, so a published record
// stays good). A domain another tenant holds is 409 domain_taken.
func (s *Admin) AddDomain(ctx context.Context, p Principal, domain, ip string) (DomainStatus, bool, error) {
	if err := requireOwner(p); err != nil {
		return DomainStatus{}, false, err
	}
	norm, bad := normalizeDomains([]string{domain})
	if bad != "" {
		return DomainStatus{}, false, codeErr(CodeValidation, FieldError{"domain", bad})
	}
	domain = norm[0]
	t, err := s.tenants.GetTenant(ctx, p.Account.TenantID)
	if err != nil {
		return DomainStatus{}, false, fmt.Errorf("tenant: %w", err)
	}
	if _, ok := t.claimOf(domain); ok {
		return t.DomainStatus(domain), false, nil
	}
	if len(t.Claims) >= MaxDomains || len(t.Domains) >= MaxDomains && !slices.Contains(t.Domains, domain) {
		return DomainStatus{}, false, codeErr(CodeValidation, FieldError{"domain", "too_many"})
	}
	if elsewhere, err := s.heldElsewhere(ctx, t.ID, domain); err != nil {
		return DomainStatus{}, false, err
	} else if elsewhere {
		s.audit(ctx, AuditEvent{TenantID: t.ID, Actor: p.Account.LoginID, Action: "domain.add", Target: domain, IP: ip, Result: "failed:taken"})
		return DomainStatus{}, false, codeErr(CodeDomainTaken, FieldError{"domain", "taken"})
	}
	token, err := newID("")
	if err != nil {
		return DomainStatus{}, false, err
	}
	c := DomainClaim{Domain: domain, Token: strings.ToLower(token), RequestedAt: s.now().UTC()}
	t.Claims = append(t.Claims, c)
	if err := s.tenants.UpdateTenant(ctx, t); err != nil {
		return DomainStatus{}, false, fmt.Errorf("add domain: %w", err)
	}
	s.tenantCache.put(t, s.now())
	s.audit(ctx, AuditEvent{TenantID: t.ID, Actor: p.Account.LoginID, Action: "domain.add", Target: domain, IP: ip, Result: "ok:pending"})
	return t.DomainStatus(domain), true, nil
}

// VerifyDomain looks the claim's TXT record up and, if it is there, makes the domain the
// tenant's: added to its domains and held by it alone, in one transaction with the
// domain's uniqueness item. Not found is 422 domain_not_verified; a domain another tenant
// verified first is 409 domain_taken.
func (s *Admin) VerifyDomain(ctx context.Context, p Principal, domain, ip string) (DomainStatus, error) {
	if err := requireOwner(p); err != nil {
		return DomainStatus{}, err
	}
	domain = strings.ToLower(strings.TrimSpace(domain))
	t, err := s.tenants.GetTenant(ctx, p.Account.TenantID)
	if err != nil {
		return DomainStatus{}, fmt.Errorf("tenant: %w", err)
	}
	c, ok := t.claimOf(domain)
	if !ok {
		return DomainStatus{}, codeErr(CodeNotFound)
	}
	if t.VerifiedDomain(domain) {
		return t.DomainStatus(domain), nil
	}
	fail := func(why string, err error) (DomainStatus, error) {
		s.audit(ctx, AuditEvent{TenantID: t.ID, Actor: p.Account.LoginID, Action: "domain.verify", Target: domain, IP: ip, Result: "failed:" + why})
		return DomainStatus{}, err
	}
	found, err := s.lookupRecord(ctx, domain, c.Record())
	if err != nil {
		return DomainStatus{}, err
	}
	if !found {
		return fail("no_record", codeErr(CodeDomainNotVerified, FieldError{"domain", "no_record"}))
	}
	// The lookup may take seconds: write on the tenant as it is now, so a settings change
	// made meanwhile is kept (tenant writes carry no version yet; this narrows the window).
	if t, err = s.tenants.GetTenant(ctx, p.Account.TenantID); err != nil {
		return DomainStatus{}, fmt.Errorf("tenant: %w", err)
	}
	if _, ok := t.claimOf(domain); !ok {
		return DomainStatus{}, codeErr(CodeNotFound) // removed meanwhile
	}
	now := s.now().UTC()
	for i := range t.Claims {
		if t.Claims[i].Domain == domain {
			t.Claims[i].VerifiedAt = now
		}
	}
	if !slices.Contains(t.Domains, domain) {
		t.Domains = append(t.Domains, domain)
	}
	if err := s.domains.ClaimDomain(ctx, t, domain); errors.Is(err, ErrConflict) {
		return fail("taken", codeErr(CodeDomainTaken, FieldError{"domain", "taken"}))
	} else if err != nil {
		return DomainStatus{}, fmt.Errorf("claim domain: %w", err)
	}
	s.tenantCache.put(t, s.now())
	s.audit(ctx, AuditEvent{TenantID: t.ID, Actor: p.Account.LoginID, Action: "domain.verify", Target: domain, IP: ip, Result: "ok"})
	return t.DomainStatus(domain), nil
}

// RemoveDomain takes a domain or a pending claim off the owner's tenant, confirmed with
// the owner's password: a verified domain is released for other tenants. Login IDs in it
// keep working (the domain rule applies to new ones).
func (s *Admin) RemoveDomain(ctx context.Context, p Principal, domain, confirm, ip string) error {
	if err := requireOwner(p); err != nil {
		return err
	}
	domain = strings.ToLower(strings.TrimSpace(domain))
	t, err := s.tenants.GetTenant(ctx, p.Account.TenantID)
	if err != nil {
		return fmt.Errorf("tenant: %w", err)
	}
	_, claimed := t.claimOf(domain)
	listed := slices.Contains(t.Domains, domain)
	if !claimed && !listed {
		return codeErr(CodeNotFound)
	}
	if !confirmGiven(confirm) {
		return codeErr(CodeValidation, FieldError{"confirm_password", "required"})
	}
	if err := s.Confirm(ctx, p, confirm, ip, "domain.remove"); err != nil {
		return err
	}
	t.Domains = slices.DeleteFunc(t.Domains, func(d string) bool { return d == domain })
	t.Claims = slices.DeleteFunc(t.Claims, func(c DomainClaim) bool { return c.Domain == domain })
	if listed {
		err = s.domains.ReleaseDomains(ctx, t, []string{domain})
	} else {
		err = s.tenants.UpdateTenant(ctx, t)
	}
	if err != nil {
		return fmt.Errorf("remove domain: %w", err)
	}
	s.tenantCache.put(t, s.now())
	s.audit(ctx, AuditEvent{TenantID: t.ID, Actor: p.Account.LoginID, Action: "domain.remove", Target: domain, IP: ip, Result: "ok"})
	return nil
}
