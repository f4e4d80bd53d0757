package account

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/kagiya/kagiya/shared/mail"
)

// Limits of the recovery flows.
const (
	ForgotPerAccountHour = 3 // reset emails per account an hour; more answer the same, unsent
	// DefaultRecoveryPerIPMinute: forgot, reset and unlock requests per client IP a minute
	// (Config.RecoveryPerIPMinute).
	DefaultRecoveryPerIPMinute = 30
)

// Forgot mails a password-reset link to loginID if it is an account that can use one.
// Whether or not it is, the caller answers the same; only throttling per IP and a
// malformed ID are told.
func (s *Recovery) Forgot(ctx context.Context, loginID, ip string) error {
	if err := s.throttle(ctx, "forgot-ip#"+ip, s.cfg.RecoveryPerIPMinute); err != nil {
		return err
	}
	if _, ok := ParseLoginID(loginID); !ok {
		return codeErr(CodeValidation, FieldError{"login_id", "invalid"})
	}
	// Whatever the store does, the answer is the one an unknown account gets: a failure
	// here would tell a known account from an unknown one (only a known one reaches the
	// writes). The request is then not done; the log says so, and the person may ask again.
	if err := s.forgot(ctx, loginID, ip); err != nil {
		s.log.ErrorContext(ctx, "password reset request not completed; answered as accepted", "err", err)
	}
	return nil
}

// forgot is Forgot's work for a well-formed login ID.
func (s *Recovery) forgot(ctx context.Context, loginID, ip string) error {
	a, err := findAccount(ctx, s.logins, s.accounts, loginID)
	if errors.Is(err, ErrNotFound) {
		s.audit(ctx, AuditEvent{Actor: loginID, Action: "password.reset_requested", Target: loginID, IP: ip, Result: "ignored:unknown"})
		return nil
	} else if err != nil {
		return fmt.Errorf("forgot: %w", err)
	}
	ev := AuditEvent{TenantID: a.TenantID, Actor: a.LoginID, Action: "password.reset_requested", Target: a.LoginID, TargetID: a.ID, IP: ip}
	if a.Disabled || a.Invited() || a.UsesIdP() {
		ev.Result = "ignored:disabled"
		if a.UsesIdP() {
			ev.Result = "ignored:idp" // signs in through its provider: no Kagiya password
		} else if a.Invited() {
			ev.Result = "ignored:invited" // the invitation sets the first password
		}
		s.audit(ctx, ev)
		return nil
	}
	now := s.now().UTC()
	hourEnd := now.Truncate(time.Hour).Add(time.Hour)
	n, err := s.counters.Hit(ctx, "forgot-acct#"+a.ID+"#"+hourEnd.Format("2006010215"), hourEnd)
	if err != nil {
		return fmt.Errorf("forgot: %w", err)
	}
	if n > ForgotPerAccountHour {
		ev.Result = "ignored:throttled"
		s.audit(ctx, ev)
		return nil
	}
	t, err := s.tenant(ctx, a.TenantID)
	if err != nil {
		return fmt.Errorf("forgot: %w", err)
	}
	set := t.Settings.Effective()
	ttl := time.Duration(set.ResetLinkMinutes) * time.Minute
	token, err := s.issueToken(ctx, Token{Purpose: PurposeReset, TenantID: a.TenantID, AccountID: a.ID}, ttl)
	if err != nil {
		return err
	}
	s.notify(ctx, a, &mail.PasswordReset{ResetURL: s.siteURL + "/reset.html?token=" + token,
		Minutes: set.ResetLinkMinutes, ValidUntil: s.formatTime(now.Add(ttl), set)})
	ev.Result = "ok:sent"
	s.audit(ctx, ev)
	return nil
}

// Reset sets a new password with an emailed reset token. It also lifts a lock, signs the
// account out everywhere and mails a notice; it does not sign in.
func (s *Recovery) Reset(ctx context.Context, token, newPassword, ip string) error {
	if err := s.throttle(ctx, "reset-ip#"+ip, s.cfg.RecoveryPerIPMinute); err != nil {
		return err
	}
	// The link is spent by the password's own write (a refused password, or a write that
	// fails, leaves it usable).
	t, a, set, err := s.peekLink(ctx, token, PurposeReset)
	if err == nil {
		var hash string
		if hash, err = s.newPasswordHash(ctx, a, set, "new_password", newPassword); err != nil {
			return err
		}
		if err = s.finishReset(ctx, a, t, set, hash, ip); err == nil {
			return nil
		}
	}
	if CodeOf(err) == CodeInvalidToken {
		s.audit(ctx, AuditEvent{Actor: "anonymous", Action: "password.reset", IP: ip, Result: "failed:invalid_token"})
	}
	return err
}

// finishReset stores the new password, lifts any lock and tells the account.
func (s *Recovery) finishReset(ctx context.Context, a Account, link Token, set Settings, hash, ip string) error {
	wasLocked, hadMFA := false, false
	now := s.now().UTC()
	a, err := s.storePassword(ctx, a, set, hash, func(a Account) error {
		if !linkLive(a, link) {
			return codeErr(CodeInvalidToken) // used meanwhile
		}
		return nil
	}, func(a *Account) {
		spend(a, link, now)
		wasLocked = wasLocked || a.Locked()
		a.ForceChange = false
		a.LockedAt, a.FailedAttempts = time.Time{}, 0
		a.EmailVerifiedAt = s.now().UTC() // the reset link was mailed to the login ID
		// Remembered browsers are forgotten: the next sign-in gives a code again, unless
		// the tenant has the reset remove the second factor altogether.
		a.MFA.BrowserEpoch++
		a.MFA.Remembered = 0
		if hadMFA = a.MFAEnabled(); hadMFA && set.ResetClearsMFA {
			s.factors.clear(a)
		}
	})
	if CodeOf(err) != "" {
		return err
	} else if err != nil {
		return fmt.Errorf("reset %s: %w", link.AccountID, err)
	}
	s.retire(ctx, link)
	if hadMFA && set.ResetClearsMFA {
		s.factors.remove(ctx, a)
		s.audit(ctx, AuditEvent{TenantID: a.TenantID, Actor: a.LoginID, Action: "mfa.reset", Target: a.LoginID, TargetID: a.ID, IP: ip, Result: "ok:password_reset"})
		s.mfaNotice(ctx, a, set, "reset", mail.MFANotice{})
	}
	if wasLocked {
		s.audit(ctx, AuditEvent{TenantID: a.TenantID, Actor: a.LoginID, Action: "unlock", Target: a.LoginID, TargetID: a.ID, IP: ip, Result: "ok:reset"})
	}
	s.audit(ctx, AuditEvent{TenantID: a.TenantID, Actor: a.LoginID, Action: "password.reset", Target: a.LoginID, TargetID: a.ID, IP: ip, Result: "ok"})
	s.notify(ctx, a, &mail.PasswordChanged{When: s.formatTime(s.now(), set)})
	return nil
}

// findAccount returns the account with a login ID: the login ID's item, then the account
// it points at.
func findAccount(ctx context.Context, logins Logins, accounts Accounts, loginID string) (Account, error) {
	ref, err := logins.LookupLogin(ctx, Key(loginID))
	if err != nil {
		return Account{}, err
	}
	return accounts.GetAccount(ctx, ref.TenantID, ref.AccountID)
}

// PolicyForToken describes the rules that apply to the account of a live reset link or
// sign-in challenge, for the pages that have no session.
func (s *Recovery) PolicyForToken(ctx context.Context, token, lang string) (PolicyDescription, error) {
	if strings.Contains(token, ".") { // a sign-in challenge
		_, a, err := s.flow(ctx, token)
		if err != nil {
			return PolicyDescription{}, err
		}
		set, err := s.settingsOf(ctx, a.TenantID)
		if err != nil {
			return PolicyDescription{}, err
		}
		return s.describe(a, set, lang), nil
	}
	a, set, err := s.peek(ctx, token, PurposeReset)
	if CodeOf(err) == CodeInvalidToken {
		a, set, err = s.peek(ctx, token, PurposeInvite)
	}
	if err != nil {
		return PolicyDescription{}, err
	}
	return s.describe(a, set, lang), nil
}

// UnlockByToken unlocks the account of an emailed unlock link.
// UnlockByToken unlocks the account of an emailed unlock link and returns its login ID
// (the page says which account it unlocked).
func (s *Recovery) UnlockByToken(ctx context.Context, token, ip string) (string, error) {
	if err := s.throttle(ctx, "unlock-ip#"+ip, s.cfg.RecoveryPerIPMinute); err != nil {
		return "", err
	}
	// The lock is lifted and the link spent in one conditional write; if it fails, the
	// link still works.
	t, a, _, err := s.peekLink(ctx, token, PurposeUnlock)
	if err != nil {
		return "", err
	}
	result, wasLocked := "ok", false
	now := s.now().UTC()
	_, err = s.updateGuarded(ctx, a, func(a Account) error {
		if !linkLive(a, t) {
			return codeErr(CodeInvalidToken) // used meanwhile
		}
		return nil
	}, func(a *Account) {
		wasLocked = a.Locked()
		a.LockedAt, a.FailedAttempts = time.Time{}, 0
		spend(a, t, now)
	})
	if err != nil {
		if CodeOf(err) != "" {
			return "", err
		}
		return "", fmt.Errorf("unlock: %w", err)
	}
	s.retire(ctx, t)
	if !wasLocked {
		result = "ok:was not locked"
	}
	s.audit(ctx, AuditEvent{TenantID: a.TenantID, Actor: a.LoginID, Action: "unlock", Target: a.LoginID, TargetID: a.ID, IP: ip, Result: result + ":link"})
	return a.LoginID, nil
}
