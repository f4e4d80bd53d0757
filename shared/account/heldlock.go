package account

import (
	"context"
	"time"

	"github.com/kagiya/kagiya/shared/mail"
)

// A heldLock is a lock kept in the account that never lifts by itself: the second
// factor's (otp_lock_threshold wrong codes, totp.go) and the confirmation password's
// (lockout_threshold wrong ones, confirmation.go). They count and lock under rules of
// their own (a right code moves the code's time step on in the same write, and gets its
// try back on a store fault; a confirmation counter left full locks only once its attempt
// has stalled), so what they share is their release by an administrator: releaseHeld.
type heldLock struct {
	action string                                        // the release's audit action
	state  func(*Account) (failures *int, at *time.Time) // the counter and the lock, in the account
	notice func(when string) mail.Email                  // the person's email on a release
}

// releaseHeld releases lock on accounts of the principal's tenant, confirmed as every
// batch action is (the administrator's own confirmation, so one cannot release one's
// own); every ID must be one the administrator manages, or nothing changes. Each release
// is audited and mailed to its person; an account that was not locked is reported as
// such, and one the store failed to write as failed.
func (s *Admin) releaseHeld(ctx context.Context, p Principal, loginIDs []string, confirm, ip string, lock heldLock) (AdminUnlockResult, error) {
	targets, err := s.batchTargets(ctx, p, loginIDs, confirm, ip, lock.action)
	if err != nil {
		return AdminUnlockResult{}, err
	}
	set, err := s.settingsOf(ctx, p.Account.TenantID)
	if err != nil {
		return AdminUnlockResult{}, err
	}
	res := AdminUnlockResult{Unlocked: []string{}, NotLocked: []string{}, Failed: []string{}}
	for _, a := range targets {
		released := false
		_, err := s.updateRetrying(ctx, a, func(a *Account) {
			failures, at := lock.state(a)
			released = !at.IsZero()
			*failures, *at = 0, time.Time{}
		})
		if err != nil {
			res.Failed = append(res.Failed, a.LoginID)
			s.batchFailed(ctx, p, a, lock.action, ip, err)
			continue
		}
		if !released {
			res.NotLocked = append(res.NotLocked, a.LoginID)
			continue
		}
		res.Unlocked = append(res.Unlocked, a.LoginID)
		s.audit(ctx, AuditEvent{TenantID: a.TenantID, Actor: p.Account.LoginID, Action: lock.action, Target: a.LoginID, TargetID: a.ID, IP: ip, Result: "ok:admin"})
		s.notify(ctx, a, lock.notice(s.formatTime(s.now(), set)))
	}
	return res, nil
}
