package account

import (
	"context"
	"fmt"
	"time"

	"github.com/kagiya/kagiya/shared/mail"
)

// MFAStatus is a person's second factor as its security page shows it.
type MFAStatus struct {
	TOTPEnabled        bool
	RecoveryCodesLeft  int
	RememberedBrowsers int
	Required           bool
	Locked             bool
}

// MFAStatus describes the principal's second factor.
func (s *SelfService) MFAStatus(ctx context.Context, p Principal) (MFAStatus, error) {
	set, err := s.settingsOf(ctx, p.Account.TenantID)
	if err != nil {
		return MFAStatus{}, err
	}
	a := p.Account
	st := MFAStatus{Required: set.MFARequired}
	for _, f := range s.factors.list {
		d, err := f.Describe(ctx, a)
		if err != nil {
			return MFAStatus{}, err
		}
		switch d.Kind { // the API's fields
		case KindTOTP:
			st.TOTPEnabled, st.Locked = d.Enrolled, d.Locked
		case KindRecoveryCode:
			st.RecoveryCodesLeft = d.Count
		}
	}
	if a.HasSecondFactor() && *set.RememberBrowserDays > 0 {
		st.RememberedBrowsers = a.MFA.Remembered
	}
	return st, nil
}

// SetupTOTP begins an enrolment, with the current password: a fresh secret, pending
// until a code from it confirms it (ConfirmTOTP). A second factor already on stays as it
// is until then.
func (s *SelfService) SetupTOTP(ctx context.Context, p Principal, current, ip string) (Enrolment, error) {
	a, err := s.reauth(ctx, p, current, ip, "mfa.setup")
	if err != nil {
		return Enrolment{}, err
	}
	if a.MFAEnabled() {
		return Enrolment{}, codeErr(CodeMFAAlreadyEnabled)
	}
	return s.factors.authenticator.beginEnrolment(ctx, a, ip)
}

// ConfirmTOTP confirms the principal's pending enrolment with a code from the app: the
// second factor is on, and the ten recovery codes are returned, the only time they are
// shown.
func (s *SelfService) ConfirmTOTP(ctx context.Context, p Principal, code, ip string) ([]string, error) {
	set, err := s.settingsOf(ctx, p.Account.TenantID)
	if err != nil {
		return nil, err
	}
	if p.Account.MFAEnabled() {
		return nil, codeErr(CodeMFAAlreadyEnabled)
	}
	_, codes, err := s.factors.authenticator.enrol(ctx, p.Account, set, code, ip, StepWrite{Guard: func(a Account) error {
		if a.MFAEnabled() {
			return codeErr(CodeMFAAlreadyEnabled)
		}
		return nil
	}})
	return codes, err
}

// DisableTOTP turns the principal's second factor off, with the current password;
// not where the tenant requires one.
func (s *SelfService) DisableTOTP(ctx context.Context, p Principal, current, ip string) error {
	set, err := s.settingsOf(ctx, p.Account.TenantID)
	if err != nil {
		return err
	}
	if set.MFARequired {
		return codeErr(CodeMFARequiredByTenant)
	}
	a, err := s.reauth(ctx, p, current, ip, "mfa.disable")
	if err != nil {
		return err
	}
	if !a.MFAEnabled() {
		return codeErr(CodeMFANotEnabled)
	}
	if a, err = s.updateRetrying(ctx, a, s.factors.authenticator.Clear); err != nil {
		return fmt.Errorf("disable second factor: %w", err)
	}
	if err := s.factors.recoveryCodes.Remove(ctx, a); err != nil {
		s.log.WarnContext(ctx, "recovery codes not removed", "err", err) // they cannot be used without the app
	}
	s.audit(ctx, AuditEvent{TenantID: a.TenantID, Actor: a.LoginID, Action: "mfa.disable", Target: a.LoginID, TargetID: a.ID, IP: ip, Result: "ok"})
	s.mfaNotice(ctx, a, set, "disabled", mail.MFANotice{})
	return nil
}

// RegenerateRecoveryCodes replaces the principal's recovery codes, with the current
// password; the earlier ones stop working.
func (s *SelfService) RegenerateRecoveryCodes(ctx context.Context, p Principal, current, ip string) ([]string, error) {
	set, err := s.settingsOf(ctx, p.Account.TenantID)
	if err != nil {
		return nil, err
	}
	a, err := s.reauth(ctx, p, current, ip, "mfa.recovery_codes")
	if err != nil {
		return nil, err
	}
	if !a.MFAEnabled() {
		return nil, codeErr(CodeMFANotEnabled)
	}
	codes, err := s.factors.recoveryCodes.issue(ctx, a)
	if err != nil {
		return nil, err
	}
	s.audit(ctx, AuditEvent{TenantID: a.TenantID, Actor: a.LoginID, Action: "mfa.recovery_codes", Target: a.LoginID, TargetID: a.ID, IP: ip, Result: "ok:regenerated"})
	s.mfaNotice(ctx, a, set, "regenerated", mail.MFANotice{})
	return codes, nil
}

// ForgetBrowsers makes every browser the principal chose to remember give a code again.
func (s *SelfService) ForgetBrowsers(ctx context.Context, p Principal, ip string) error {
	a, err := s.updateRetrying(ctx, p.Account, func(a *Account) { a.MFA.BrowserEpoch++; a.MFA.Remembered = 0 })
	if err != nil {
		return fmt.Errorf("forget browsers: %w", err)
	}
	s.audit(ctx, AuditEvent{TenantID: a.TenantID, Actor: a.LoginID, Action: "mfa.forget_browsers", Target: a.LoginID, TargetID: a.ID, IP: ip, Result: "ok"})
	return nil
}

// ResetMFA removes the second factor of an account of the principal's tenant, confirmed
// with the administrator's own password; the person enrols again at its next sign-in if
// the tenant requires it.
func (s *Admin) ResetMFA(ctx context.Context, p Principal, loginID, confirm, ip string) error {
	a, err := s.confirmedTarget(ctx, p, loginID, confirm, ip, "mfa.reset", CodeUseSelfService)
	if err != nil {
		return err
	}
	set, err := s.settingsOf(ctx, a.TenantID)
	if err != nil {
		return err
	}
	if a, err = s.updateRetrying(ctx, a, s.factors.clear); err != nil {
		return fmt.Errorf("reset second factor: %w", err)
	}
	s.factors.remove(ctx, a)
	s.audit(ctx, AuditEvent{TenantID: a.TenantID, Actor: p.Account.LoginID, Action: "mfa.reset", Target: a.LoginID, TargetID: a.ID, IP: ip, Result: "ok:admin"})
	s.mfaNotice(ctx, a, set, "reset", mail.MFANotice{})
	return nil
}

// UnlockMFA releases the second-factor locks of accounts of the principal's tenant,
// confirmed with the administrator's own password; like AdminUnlock, every ID must be one
// the administrator manages, or nothing changes.
func (s *Admin) UnlockMFA(ctx context.Context, p Principal, loginIDs []string, confirm, ip string) (AdminUnlockResult, error) {
	return s.releaseHeld(ctx, p, loginIDs, confirm, ip, secondFactorLock)
}

// secondFactorLock is the lock of wrong codes (MFA.Failures, MFA.LockedAt).
var secondFactorLock = heldLock{
	action: "mfa.unlock",
	state:  func(a *Account) (*int, *time.Time) { return &a.MFA.Failures, &a.MFA.LockedAt },
	notice: func(when string) mail.Email { return &mail.MFANotice{Event: "released", When: when} },
}
