package account

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// lockout checks passwords under the lockout rules: attempts reserved before the hash,
// locks with their unlock links, known browsers' own counters, confirmations of the
// person's own password.
type lockout struct {
	*accountStore
	*auditor
	*notifier
	*tenantCache
	*links
	*passwords
	accounts Accounts
	attempts Attempts
	grants   Credentials // the applications an account signed in to (a lock ends them)
	log      *slog.Logger
	now      func() time.Time
}

// verify checks plain against the password of the account ref names, under the lockout
// rules: each attempt is reserved in the store before the hash is checked (one
// conditional write that also returns the account), so parallel guesses can never get
// more than the tenant's threshold in; the attempt that reaches the threshold with a wrong
// password locks the account and mails the unlock link. A temporary lock that has run out
// is lifted first. Whatever happens, one hash is computed. It returns the account as it
// stands (zero if there is none); a locked, disabled or password-less account never
// matches.
func (lo *lockout) verify(ctx context.Context, ref LoginRef, plain, ip string) (a Account, match, stale bool, err error) {
	return lo.verifyBy(ctx, ref, plain, ip, lo.checkHash)
}

// checker checks what was given against an account whose attempt is reserved: its
// password hash, or (for mail clients) its app passwords.
type checker func(ctx context.Context, a Account, set Settings, plain string) (match, stale bool, err error)

// verifyBy is verify with another check than the password hash.
func (lo *lockout) verifyBy(ctx context.Context, ref LoginRef, plain, ip string, check checker) (a Account, match, stale bool, err error) {
	set := Settings{}.Effective()
	if ref.TenantID != "-" {
		if set, err = lo.settingsOf(ctx, ref.TenantID); err != nil {
			return Account{}, false, false, err
		}
	}
	for lifted := false; ; lifted = true {
		a, ok, err := lo.attempts.ReserveAttempt(ctx, ref.TenantID, ref.AccountID, set.LockoutThreshold, lo.now().UTC())
		if err != nil && !errors.Is(err, ErrNotFound) {
			return Account{}, false, false, fmt.Errorf("reserve attempt: %w", err)
		}
		if ok {
			return lo.checkReserved(ctx, a, set, plain, ip, check)
		}
		// No attempt left: locked, disabled, a full counter, or no such account. Learn which.
		if err == nil {
			if ref.AccountID == "-" {
				err = ErrNotFound
			} else {
				a, err = lo.accounts.GetAccount(ctx, ref.TenantID, ref.AccountID)
			}
		}
		if err != nil {
			if errors.Is(err, ErrNotFound) {
				lo.burnDummy(plain)
				return Account{}, false, false, nil
			}
			return Account{}, false, false, fmt.Errorf("account: %w", err)
		}
		if a.Disabled || a.PasswordHash == "" {
			lo.burnDummy(plain)
			return a, false, false, nil
		}
		now := lo.now().UTC()
		if !lifted && a.Locked() && !a.Disabled && set.LockMinutes > 0 && !now.Before(a.LockedAt.Add(time.Duration(set.LockMinutes)*time.Minute)) {
			// Parallel attempts may all find the lock expired; the one whose Unlock wins
			// audits it, the others just try again.
			switch err := lo.attempts.Unlock(ctx, a.TenantID, a.ID); {
			case err == nil:
				lo.audit(ctx, AuditEvent{TenantID: a.TenantID, Actor: "system", Action: "unlock", Target: a.LoginID, TargetID: a.ID, IP: ip, Result: "ok:expired"})
			case !errors.Is(err, ErrConflict):
				return Account{}, false, false, fmt.Errorf("lift expired lock: %w", err)
			}
			continue
		}
		lo.burnDummy(plain)
		if a.Locked() && !now.Before(a.UnlockLinkUntil) && (set.LockMinutes == 0 || now.Before(a.LockedAt.Add(time.Duration(set.LockMinutes)*time.Minute))) {
			if err := lo.relink(ctx, a, set, ip); err != nil {
				return Account{}, false, false, err
			}
		}
		if !a.Locked() && now.Sub(a.LastAttemptAt) > StalledAttempt {
			// The counter is full but no lock was set, and the attempt that filled it is
			// long gone (its writer died): lock now. A counter filled moments ago is
			// attempts still in flight, which end in a sign-in or in the lock themselves.
			if err := lo.lock(ctx, a, set, ip); err != nil {
				return Account{}, false, false, err
			}
			a.LockedAt = now
		}
		return a, false, false, nil
	}
}

// StalledAttempt is how long a reserved attempt may take before a full counter without a
// lock is taken for a writer that died (far longer than a hash and two writes).
const StalledAttempt = time.Minute

// checkReserved checks plain against a, whose attempt has just been reserved.
func (lo *lockout) checkReserved(ctx context.Context, a Account, set Settings, plain, ip string, check checker) (Account, bool, bool, error) {
	match, stale, err := check(ctx, a, set, plain)
	if err != nil {
		return Account{}, false, false, err
	}
	if !match && a.FailedAttempts >= set.LockoutThreshold {
		if err := lo.lock(ctx, a, set, ip); err != nil {
			return Account{}, false, false, err
		}
		a.LockedAt = lo.now().UTC()
	}
	return a, match, stale, nil
}

// lock locks a if its counter is full; the one caller that locks it audits the lock and
// mails the unlock link. The link is issued first and its expiry goes into the lock's own
// write, so there is never a lock without a link: if the link cannot be stored, the
// account is not locked (its full counter still refuses attempts, and is locked by a
// later one); a link whose lock another caller won, or whose lock failed, is removed.
func (lo *lockout) lock(ctx context.Context, a Account, set Settings, ip string) error {
	now := lo.now().UTC()
	ttl := time.Duration(set.UnlockLinkHours) * time.Hour
	token, link, err := lo.unlockLink(ctx, a, ttl)
	if err != nil {
		return err
	}
	locked, err := lo.attempts.Lock(ctx, a.TenantID, a.ID, set.LockoutThreshold, now, link.ExpiresAt)
	if err != nil || !locked {
		lo.retire(ctx, link)
		return err
	}
	lo.audit(ctx, AuditEvent{TenantID: a.TenantID, Actor: "system", Action: "lock", Target: a.LoginID, TargetID: a.ID, IP: ip,
		Result: fmt.Sprintf("ok:%d failures", set.LockoutThreshold)})
	lo.endGrants(ctx, a, "lock", ip)
	if lo.mailUnlockLink(ctx, a, set, token, now, ttl) != nil {
		lo.forgetLink(ctx, a)
	}
	return nil
}

// forgetLink marks a's lock as having no live unlock link after its notice could not be
// queued (the queue failing after the lock was written: SQS cannot join a DynamoDB
// write), so the next attempt that meets the lock issues and mails a new one (relink):
// no lock stays without a mailed link because of a failure alone.
func (lo *lockout) forgetLink(ctx context.Context, a Account) {
	current, err := lo.accounts.GetAccount(ctx, a.TenantID, a.ID) // a may be as it was before the lock
	if err == nil {
		_, err = lo.updateGuarded(ctx, current, func(a Account) error {
			if !a.Locked() {
				return errNothingToRelease
			}
			return nil
		}, func(a *Account) { a.UnlockLinkUntil = time.Time{} })
	}
	if err != nil && !errors.Is(err, errNothingToRelease) {
		lo.log.ErrorContext(ctx, "lock notice not queued, and its link still counts as live", "err", err)
	}
}

// relink issues a new unlock link for a lock that has none left alive (it expired, or
// the lock predates links kept with locks), when an attempt meets the lock: the link's
// expiry is written to the account under a guard that exactly one caller passes, and
// that caller mails it.
func (lo *lockout) relink(ctx context.Context, a Account, set Settings, ip string) error {
	now := lo.now().UTC()
	ttl := time.Duration(set.UnlockLinkHours) * time.Hour
	token, link, err := lo.unlockLink(ctx, a, ttl)
	if err != nil {
		return err
	}
	var current Account
	current, err = lo.updateGuarded(ctx, a, func(a Account) error {
		if !a.Locked() || now.Before(a.UnlockLinkUntil) {
			return errNothingToRelease // unlocked meanwhile, or another caller issued one
		}
		return nil
	}, func(a *Account) { a.UnlockLinkUntil = link.ExpiresAt })
	if err != nil {
		lo.retire(ctx, link)
		if errors.Is(err, errNothingToRelease) {
			return nil
		}
		return fmt.Errorf("unlock link: %w", err)
	}
	lo.audit(ctx, AuditEvent{TenantID: a.TenantID, Actor: "system", Action: "lock", Target: a.LoginID, TargetID: a.ID, IP: ip, Result: "ok:unlock_link_reissued"})
	if lo.mailUnlockLink(ctx, current, set, token, current.LockedAt, ttl) != nil {
		lo.forgetLink(ctx, current)
	}
	return nil
}

// releaseTimeout bounds the write that gives a reservation back after the request's own
// write failed (the request may be ending: the give-back runs on a detached context).
const releaseTimeout = 5 * time.Second

// recordSuccess notes that a's reserved attempt was a right password (RecordLogin). If
// that write fails, the reservation is given back, so a fault of the store alone never
// counts toward a lock: without this, a few right passwords during an outage fill the
// counter, and the account locks itself with no wrong password at all.
func (lo *lockout) recordSuccess(ctx context.Context, a Account, at time.Time) error {
	err := lo.attempts.RecordLogin(ctx, a.TenantID, a.ID, at)
	if err != nil && !errors.Is(err, ErrNotFound) {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
		defer cancel()
		if rerr := lo.attempts.ReleaseAttempt(rctx, a.TenantID, a.ID); rerr != nil {
			lo.log.ErrorContext(ctx, "a right password's reserved attempt was not given back", "account", a.ID, "err", rerr)
		}
	}
	return err
}

// authenticated records that a's password was just proven (a confirmation, a change): like
// a sign-in, it ends the run of failures and counts as the latest sign-in.
func (lo *lockout) authenticated(ctx context.Context, a Account) error {
	if err := lo.recordSuccess(ctx, a, lo.now().UTC()); err != nil {
		return fmt.Errorf("record authentication: %w", err)
	}
	return nil
}

// endGrants ends every application's access to a (its OpenID Connect grants): their
// refresh tokens carry the grant's epoch, so they stay dead after an unlock, and the
// person signs in to each application again. why names the cause in the audit log.
func (lo *lockout) endGrants(ctx context.Context, a Account, why, ip string) {
	grants, err := lo.grants.ListCredentials(ctx, CredOIDCGrant, a.ID)
	if err != nil {
		lo.log.ErrorContext(ctx, "list grants to end", "account_id", a.ID, "err", err)
		return
	}
	for _, g := range grants {
		if err := lo.grants.DeleteCredential(ctx, CredOIDCGrant, a.ID, g.ID); err != nil && !errors.Is(err, ErrNotFound) {
			lo.log.ErrorContext(ctx, "end grant", "account_id", a.ID, "client_id", g.ID, "err", err)
			continue
		}
		lo.audit(ctx, AuditEvent{TenantID: a.TenantID, Actor: "system", Action: "oidc.revoke", Target: a.LoginID, TargetID: a.ID, IP: ip,
			Result: "ok:" + g.Name + " (" + why + ")"})
	}
}

// verifyKnown checks plain from a known browser (deviceID, already verified for the
// account), counting against that browser alone, when the tenant's lockout scope allows
// it. handled=false means the browser is not known in the account's current epoch or
// has no attempt left (its own, the account's browsers' hourly ceiling, or no room
// among the tracked browsers), the scope is "account", or there is no such account: the
// caller checks as for an unknown client.
func (lo *lockout) verifyKnown(ctx context.Context, ref LoginRef, plain, ip string, device deviceCookie) (a Account, match, stale, handled bool, err error) {
	deviceID := device.ID
	if deviceID == "" || ref.AccountID == "-" {
		return Account{}, false, false, false, nil
	}
	set, err := lo.settingsOf(ctx, ref.TenantID)
	if err != nil || set.LockoutScope != ScopeUntrustedDevices {
		return Account{}, false, false, false, err
	}
	lim := DeviceLimits{Threshold: set.LockoutThreshold, MaxDevices: MaxKnownDevices, HourlyCeiling: KnownBrowserAttemptsPerHour,
		At: lo.now(), Epoch: device.Epoch}
	a, ok, err := lo.attempts.ReserveDeviceAttempt(ctx, ref.TenantID, ref.AccountID, deviceID, lim)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return Account{}, false, false, false, fmt.Errorf("reserve device attempt: %w", err)
	}
	if !ok {
		return Account{}, false, false, false, nil
	}
	match, stale, err = lo.checkHash(ctx, a, set, plain)
	if err != nil {
		return Account{}, false, false, false, err
	}
	switch {
	case !match && a.DeviceFailures[deviceID] >= set.LockoutThreshold:
		lo.audit(ctx, AuditEvent{TenantID: a.TenantID, Actor: "system", Action: "device.untrusted", Target: a.LoginID, TargetID: a.ID, IP: ip,
			Result: fmt.Sprintf("ok:%d failures from a known browser", set.LockoutThreshold)})
	case !match && a.DeviceHourAttempts == lim.HourlyCeiling:
		lo.audit(ctx, AuditEvent{TenantID: a.TenantID, Actor: "system", Action: "device.ceiling", Target: a.LoginID, TargetID: a.ID, IP: ip,
			Result: fmt.Sprintf("ok:%d attempts from known browsers this hour", lim.HourlyCeiling)})
	}
	return a, match, stale, true, nil
}

// confirmOwn checks the principal's own password for a dangerous action: missing is 422
// (field confirm_password), wrong is 403 invalid_confirm_password and counts toward the
// principal's lockout like a wrong sign-in. Where the tenant's confirmation_password is
// "separate" it checks the principal's confirmation password instead (confirmSeparate).
func (lo *lockout) confirmOwn(ctx context.Context, p Principal, plain, ip, action string) error {
	if !confirmGiven(plain) {
		return codeErr(CodeValidation, FieldError{"confirm_password", "required"})
	}
	set, err := lo.settingsOf(ctx, p.Account.TenantID)
	if err != nil {
		return err
	}
	if set.ConfirmationPassword == ConfirmWithSeparate {
		return lo.confirmSeparate(ctx, p, set, plain, ip, action)
	}
	a, match, _, err := lo.verify(ctx, LoginRef{p.Account.TenantID, p.Account.ID}, plain, ip)
	if err != nil {
		return err
	}
	if !match {
		a = p.Account
		lo.audit(ctx, AuditEvent{TenantID: a.TenantID, Actor: a.LoginID, Action: action, Target: a.LoginID, TargetID: a.ID, IP: ip, Result: "failed:confirm_password"})
		return codeErr(CodeConfirmPassword, FieldError{"confirm_password", "wrong"})
	}
	return lo.authenticated(ctx, a)
}

// idpReauthActions are the changes an idp account makes to its own account with a fresh
// sign-in through its provider. Not among them: a login-ID change, whose emailed
// confirmation asks a password, and a confirmation password, which administrators use.
var idpReauthActions = map[string]bool{"app_password.create": true, "mfa.setup": true, "mfa.disable": true,
	"mfa.recovery_codes": true, "passkey.add": true, "session.end_others": true}

// reauth checks the principal's current password for a change to its own account: a
// wrong one counts toward lockout and is current_password (field), audited under action.
// An idp account has no password: for the actions of idpReauthActions a sign-in through
// its provider in the last IdPFreshFor stands for it (freshIdP), and plain is not read.
func (lo *lockout) reauth(ctx context.Context, p Principal, plain, ip, action string) (Account, error) {
	if p.Account.UsesIdP() && idpReauthActions[action] {
		if err := lo.freshIdP(ctx, p, lo.now().UTC(), ip, action); err != nil {
			return Account{}, err
		}
		a, err := lo.accounts.GetAccount(ctx, p.Account.TenantID, p.Account.ID)
		if err != nil {
			return Account{}, fmt.Errorf("%s: %w", action, err)
		}
		return a, nil
	}
	if plain == "" || len(plain) > 4*MaxPasswordLen {
		return Account{}, codeErr(CodeValidation, FieldError{"current_password", "required"})
	}
	a, match, _, err := lo.verify(ctx, LoginRef{p.Account.TenantID, p.Account.ID}, plain, ip)
	if err != nil {
		return Account{}, err
	}
	if !match {
		lo.audit(ctx, AuditEvent{TenantID: p.Account.TenantID, Actor: p.Account.LoginID, Action: action, Target: p.Account.LoginID, TargetID: p.Account.ID, IP: ip, Result: "failed:current_password"})
		return Account{}, codeErr(CodeCurrentPassword, FieldError{"current_password", "wrong"})
	}
	if err := lo.authenticated(ctx, a); err != nil {
		return Account{}, err
	}
	return lo.accounts.GetAccount(ctx, a.TenantID, a.ID)
}
