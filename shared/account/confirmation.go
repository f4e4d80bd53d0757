package account

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/kagiya/kagiya/shared/mail"
	"github.com/kagiya/kagiya/shared/password"
	"github.com/kagiya/kagiya/shared/policy"
)

// The bank manual's confirmation password (確認用パスワード): with the tenant's
// confirmation_password "separate", every dangerous action's confirm_password is the
// person's own confirmation password, not its login password. It has its own hash, its
// own counter and its own lock, which never lifts by itself: another administrator or the
// owner releases it (or sets a new one). Wrong ones never count toward the login loclo.

// Confirmation is an account's separate confirmation password and the state that guards it.
type Confirmation struct {
	Hash        string    // argon2id PHC string; "" while none is set
	ChangedAt   time.Time // when it was last set
	ForceChange bool      // set by an administrator: the person sets its own before using it
	Failures    int       // wrong ones in a row, counted before each is checked
	AttemptAt   time.Time // when the last attempt was counted
	LockedAt    time.Time // zero: not locked
}

// ConfirmationLocked reports whether a's confirmation password is locked.
func (a Account) ConfirmationLocked() bool { return !a.Confirmation.LockedAt.IsZero() }

// ConfirmationSet reports whether a has a confirmation password it may use.
func (a Account) ConfirmationSet() bool {
	return a.Confirmation.Hash != "" && !a.Confirmation.ForceChange
}

// confirmationRetries bounds the re-reads of one attempt's version-conditioned write:
// of parallel attempts each round lets one through, so this many parallel attempts at
// one account are all counted exactly.
const confirmationRetries = 2 * MaxBatch

// confirmSeparate checks plain against the principal's confirmation password. Each
// attempt is counted before the hash is checked, in a write conditioned on the version it
// read, so parallel wrong attempts can never get more than the threshold in; the attempt
// that reaches it locks the confirmation password (audit, one email). The login password,
// its counter and its lock are never touched.
func (lo *lockout) confirmSeparate(ctx context.Context, p Principal, set Settings, plain, ip, action string) error {
	a, err := lo.accounts.GetAccount(ctx, p.Account.TenantID, p.Account.ID)
	if err != nil {
		return fmt.Errorf("confirmation: %w", err)
	}
	now := lo.now().UTC()
	for try := 0; ; try++ {
		if !a.ConfirmationSet() {
			return codeErr(CodeConfirmationNotSet)
		}
		if a.ConfirmationLocked() {
			return codeErr(CodeConfirmationLocked)
		}
		if a.Confirmation.Failures >= set.LockoutThreshold {
			// The counter is full: the attempt that filled it locks it. If that attempt
			// died long ago, lock now; if the counter was released meanwhile, this
			// attempt is counted as any other.
			if now.Sub(a.Confirmation.AttemptAt) <= StalledAttempt || !lo.lockConfirmation(ctx, a, set, ip) {
				return codeErr(CodeConfirmationLocked)
			}
			if try == confirmationRetries {
				return fmt.Errorf("count confirmation attempt: %w", errReleasedMeanwhile)
			}
		} else {
			next := a
			next.Confirmation.Failures++
			next.Confirmation.AttemptAt = now
			stored, err := lo.accounts.UpdateAccount(ctx, next)
			if err == nil {
				a = stored
				break
			}
			if !errors.Is(err, ErrConflict) || try == confirmationRetries {
				return fmt.Errorf("count confirmation attempt: %w", err)
			}
		}
		if a, err = lo.accounts.GetAccount(ctx, a.TenantID, a.ID); err != nil {
			return fmt.Errorf("confirmation: %w", err)
		}
	}
	match, _, err := password.Verify(lo.hash, a.Confirmation.Hash, preset(set).Normalized(plain))
	if err != nil {
		return fmt.Errorf("check confirmation password: %w", err)
	}
	if match {
		// The run of failures ends; a lock set meanwhile (it cannot be: this attempt
		// was below the threshold) would stand.
		_, err := lo.updateGuarded(ctx, a, nil, func(a *Account) {
			if !a.ConfirmationLocked() {
				a.Confirmation.Failures = 0
			}
		})
		if err != nil {
			return fmt.Errorf("record confirmation: %w", err)
		}
		return nil
	}
	lo.audit(ctx, AuditEvent{TenantID: a.TenantID, Actor: a.LoginID, Action: action, Target: a.LoginID, TargetID: a.ID, IP: ip, Result: "failed:confirmation_password"})
	if a.Confirmation.Failures >= set.LockoutThreshold && !lo.lockConfirmation(ctx, a, set, ip) {
		return codeErr(CodeConfirmationLocked)
	}
	// Below the threshold, or released since this attempt filled the counter (forgiven
	// with the others): a wrong one.
	return codeErr(CodeConfirmPassword, FieldError{"confirm_password", "wrong"})
}

// lockConfirmation locks a's confirmation password if its counter is full and it is not
// locked yet; the one caller whose write does it audits the lock and mails the person.
// It reports released when the counter was found below the threshold: an administrator
// released it (or a new one was set) since the attempt that filled it, and nothing is
// written. A failed write is logged, and the counter stays full.
func (lo *lockout) lockConfirmation(ctx context.Context, a Account, set Settings, ip string) (released bool) {
	now := lo.now().UTC()
	stored, err := lo.updateGuarded(ctx, a, func(a Account) error {
		if a.ConfirmationLocked() {
			return codeErr(CodeConfirmationLocked) // another attempt locked it
		}
		if a.Confirmation.Failures < set.LockoutThreshold {
			return errReleasedMeanwhile
		}
		return nil
	}, func(a *Account) { a.Confirmation.LockedAt = now })
	switch {
	case errors.Is(err, errReleasedMeanwhile):
		return true
	case CodeOf(err) == CodeConfirmationLocked:
		return false
	case err != nil:
		lo.log.ErrorContext(ctx, "confirmation password not locked", "account", a.ID, "err", err)
		return false
	}
	lo.audit(ctx, AuditEvent{TenantID: a.TenantID, Actor: "system", Action: "confirmation.lock", Target: a.LoginID, TargetID: a.ID, IP: ip,
		Result: fmt.Sprintf("ok:%d failures", set.LockoutThreshold)})
	lo.notify(ctx, stored, &mail.ConfirmationNotice{Event: "locked", Failures: set.LockoutThreshold, When: lo.formatTime(now, set)})
	return false
}

// newConfirmationHash checks plain as a's confirmation password under the tenant's
// rules (the login password's, as for a new password, and never the login password
// itself: "same_as_login") and returns its hash.
func (pw *passwords) newConfirmationHash(a Account, set Settings, field, plain string) (string, error) {
	p := preset(set)
	plain = p.Normalized(plain)
	codes := p.Check(policy.Input{Password: plain, LoginID: a.LoginID, MFA: a.HasSecondFactor()})
	if a.PasswordHash != "" {
		if same, _, err := password.Verify(pw.hash, a.PasswordHash, plain); err == nil && same {
			codes = append(codes, SameAsLogin)
		}
	}
	if a.Confirmation.Hash != "" {
		if same, _, err := password.Verify(pw.hash, a.Confirmation.Hash, plain); err == nil && same {
			codes = append(codes, policy.SameAsCurrent)
		}
	}
	if len(codes) > 0 {
		fields := make([]FieldError, len(codes))
		for i, c := range codes {
			fields[i] = FieldError{field, c}
		}
		return "", codeErr(CodePasswordPolicy, fields...)
	}
	return password.Hash(pw.hash, plain)
}

// SameAsLogin is the rule a confirmation password breaks when it is the login password.
const SameAsLogin = "same_as_login"

// SetConfirmationPassword sets the principal's own confirmation password, proven with its
// login password (current, which counts toward the login lock as any current password
// does). A locked confirmation password is released by an administrator first.
func (s *SelfService) SetConfirmationPassword(ctx context.Context, p Principal, current, plain, ip string) error {
	var fields []FieldError
	if !confirmGiven(current) {
		fields = append(fields, FieldError{"current_password", "required"})
	}
	if plain == "" {
		fields = append(fields, FieldError{"new_password", "required"})
	} else if len([]rune(plain)) > MaxPasswordLen {
		fields = append(fields, FieldError{"new_password", "too_long"})
	}
	if len(fields) > 0 {
		return codeErr(CodeValidation, fields...)
	}
	set, err := s.settingsOf(ctx, p.Account.TenantID)
	if err != nil {
		return err
	}
	a, err := s.reauth(ctx, p, current, ip, "confirmation.change")
	if err != nil {
		return err
	}
	if a.ConfirmationLocked() {
		return codeErr(CodeConfirmationLocked)
	}
	h, err := s.newConfirmationHash(a, set, "new_password", plain)
	if err != nil {
		return err
	}
	now := s.now().UTC()
	_, err = s.updateGuarded(ctx, a, func(a Account) error {
		if a.ConfirmationLocked() {
			return codeErr(CodeConfirmationLocked)
		}
		return nil
	}, func(a *Account) {
		a.Confirmation = Confirmation{Hash: h, ChangedAt: now}
		a.UpdatedAt = now
	})
	if err != nil {
		if CodeOf(err) != "" {
			return err
		}
		return fmt.Errorf("store confirmation password: %w", err)
	}
	s.audit(ctx, AuditEvent{TenantID: a.TenantID, Actor: a.LoginID, Action: "confirmation.change", Target: a.LoginID, TargetID: a.ID, IP: ip, Result: "ok"})
	return nil
}

// UnlockConfirmation releases the confirmation-password locks of several accounts of the
// principal's tenant, confirmed as every batch action is (the administrator's own
// confirmation, so one cannot release one's own).
func (s *Admin) UnlockConfirmation(ctx context.Context, p Principal, loginIDs []string, confirm, ip string) (AdminUnlockResult, error) {
	return s.releaseHeld(ctx, p, loginIDs, confirm, ip, confirmationLock)
}

// confirmationLock is the lock of wrong confirmation passwords (Confirmation.Failures,
// Confirmation.LockedAt).
var confirmationLock = heldLock{
	action: "confirmation.unlock",
	state:  func(a *Account) (*int, *time.Time) { return &a.Confirmation.Failures, &a.Confirmation.LockedAt },
	notice: func(when string) mail.Email { return &mail.ConfirmationNotice{Event: "released", When: when} },
}
