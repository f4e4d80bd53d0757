package account

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/kagiya/kagiya/shared/password"
)

// verify checks plain against the password of the account ref names, under the lockout
// rules: each attempt is reserved in the store before the hash is checked (one
// conditional write that also returns the account), so parallel guesses can never get
// more than the tenant's threshold in; the attempt that reaches the threshold with a wrong
// password locks the account and mails the unlock link. A temporary lock that has run out
// is lifted first. Whatever happens, one hash is computed. It returns the account as it
// stands (zero if there is none); a locked, disabled or password-less account never
// matches.
func (s *Service) verify(ctx context.Context, ref LoginRef, plain, ip string) (a Account, match, stale bool, err error) {
	set := Settings{}.Effective()
	if ref.TenantID != "-" {
		if set, err = s.settingsOf(ctx, ref.TenantID); err != nil {
			return Account{}, false, false, err
		}
	}
	for lifted := false; ; lifted = true {
		a, ok, err := s.attempts.ReserveAttempt(ctx, ref.TenantID, ref.AccountID, set.LockoutThreshold)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return Account{}, false, false, fmt.Errorf("reserve attempt: %w", err)
		}
		if ok {
			return s.checkReserved(ctx, a, set, plain, ip)
		}
		// No attempt left: locked, disabled, a full counter, or no such account. Learn which.
		if err == nil {
			if ref.AccountID == "-" {
				err = ErrNotFound
			} else {
				a, err = s.accounts.GetAccount(ctx, ref.TenantID, ref.AccountID)
			}
		}
		if err != nil {
			if errors.Is(err, ErrNotFound) {
				s.burnDummy(plain)
				return Account{}, false, false, nil
			}
			return Account{}, false, false, fmt.Errorf("account: %w", err)
		}
		now := s.now().UTC()
		if !lifted && a.Locked() && !a.Disabled && set.LockMinutes > 0 && !now.Before(a.LockedAt.Add(time.Duration(set.LockMinutes)*time.Minute)) {
			if err := s.attempts.Unlock(ctx, a.TenantID, a.ID); err != nil && !errors.Is(err, ErrConflict) {
				return Account{}, false, false, fmt.Errorf("lift expired lock: %w", err)
			}
			s.audit(ctx, AuditEvent{TenantID: a.TenantID, Actor: "system", Action: "unlock", Target: a.LoginID, TargetID: a.ID, IP: ip, Result: "ok:expired"})
			continue
		}
		s.burnDummy(plain)
		if !a.Disabled && !a.Locked() {
			// The counter is full but no lock was set (its writer died): lock now.
			if err := s.lock(ctx, a, set, ip); err != nil {
				return Account{}, false, false, err
			}
			a.LockedAt = now
		}
		return a, false, false, nil
	}
}

// checkReserved checks plain against a, whose attempt has just been reserved.
func (s *Service) checkReserved(ctx context.Context, a Account, set Settings, plain, ip string) (Account, bool, bool, error) {
	if a.PasswordHash == "" {
		s.burnDummy(plain)
		return a, false, false, nil
	}
	match, stale, err := password.Verify(s.cfg.Hash, a.PasswordHash, preset(set).Normalized(plain))
	if err != nil {
		return Account{}, false, false, err
	}
	if !match && a.FailedAttempts >= set.LockoutThreshold {
		if err := s.lock(ctx, a, set, ip); err != nil {
			return Account{}, false, false, err
		}
		a.LockedAt = s.now().UTC()
	}
	return a, match, stale, nil
}

// lock locks a if its counter is full; the one caller that locks it audits the lock and
// mails the unlock link.
func (s *Service) lock(ctx context.Context, a Account, set Settings, ip string) error {
	now := s.now().UTC()
	locked, err := s.attempts.Lock(ctx, a.TenantID, a.ID, set.LockoutThreshold, now)
	if err != nil || !locked {
		return err
	}
	s.audit(ctx, AuditEvent{TenantID: a.TenantID, Actor: "system", Action: "lock", Target: a.LoginID, TargetID: a.ID, IP: ip,
		Result: fmt.Sprintf("ok:%d failures", set.LockoutThreshold)})
	ttl := time.Duration(set.UnlockLinkHours) * time.Hour
	token, err := s.issueToken(ctx, Token{Purpose: PurposeUnlock, TenantID: a.TenantID, AccountID: a.ID}, ttl)
	if err != nil {
		return err
	}
	data := map[string]any{"UnlockURL": s.siteURL + "/unlock.html?token=" + token,
		"ValidUntil": s.formatTime(now.Add(ttl), set), "Failures": set.LockoutThreshold}
	if set.LockMinutes > 0 {
		data["LiftsAt"] = s.formatTime(now.Add(time.Duration(set.LockMinutes)*time.Minute), set)
	}
	s.notify(ctx, "lock_notice", a, data)
	return nil
}

// issueToken stores a new single-use token like t (purpose, account, steps), valid for
// ttl, and returns it (the only copy).
func (s *Service) issueToken(ctx context.Context, t Token, ttl time.Duration) (string, error) {
	token, err := randomToken()
	if err != nil {
		return "", err
	}
	now := s.now().UTC()
	t.IDHash, t.CreatedAt, t.ExpiresAt = HashToken(token), now, now.Add(ttl)
	if err := s.tokens.CreateToken(ctx, t); err != nil {
		return "", fmt.Errorf("store %s token: %w", t.Purpose, err)
	}
	return token, nil
}

// redeem consumes an emailed token of purpose and returns its account. Malformed,
// unknown, used, expired and orphaned tokens are all invalid_token.
func (s *Service) redeem(ctx context.Context, token, purpose string) (Account, error) {
	return s.tokenAccount(ctx, token, func(hash string) (Token, error) {
		return s.tokens.ConsumeToken(ctx, hash, purpose, s.now().UTC())
	})
}

// tokenAccount finds the account of a live token, which take looks up (and perhaps uses
// up) by its hash. A token outlives nothing: once its account is deleted it is invalid
// for good, since a new account with the same login ID has another account_id.
func (s *Service) tokenAccount(ctx context.Context, token string, take func(hash string) (Token, error)) (Account, error) {
	invalid := codeErr(CodeInvalidToken)
	if !wellFormedToken(token) {
		return Account{}, invalid
	}
	t, err := take(HashToken(token))
	if errors.Is(err, ErrNotFound) {
		return Account{}, invalid
	} else if err != nil {
		return Account{}, fmt.Errorf("token: %w", err)
	}
	a, err := s.accounts.GetAccount(ctx, t.TenantID, t.AccountID)
	if errors.Is(err, ErrNotFound) {
		return Account{}, invalid
	} else if err != nil {
		return Account{}, fmt.Errorf("token account: %w", err)
	}
	return a, nil
}

// wellFormedToken reports whether token looks like one of ours: 32 bytes, URL-safe base64.
func wellFormedToken(token string) bool {
	if len(token) != 43 {
		return false
	}
	for _, r := range token {
		if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// UnlockByToken unlocks the account of an emailed unlock link.
func (s *Service) UnlockByToken(ctx context.Context, token, ip string) error {
	if err := s.throttle(ctx, "unlock-ip#"+ip, UnlockPerIPMinute); err != nil {
		return err
	}
	a, err := s.redeem(ctx, token, PurposeUnlock)
	if err != nil {
		return err
	}
	result := "ok"
	if err := s.attempts.Unlock(ctx, a.TenantID, a.ID); errors.Is(err, ErrConflict) {
		result = "ok:was not locked"
	} else if err != nil {
		return fmt.Errorf("unlock: %w", err)
	}
	s.audit(ctx, AuditEvent{TenantID: a.TenantID, Actor: a.LoginID, Action: "unlock", Target: a.LoginID, TargetID: a.ID, IP: ip, Result: result + ":link"})
	return nil
}

// AdminUnlockResult says which accounts were unlocked and which were not locked.
type AdminUnlockResult struct {
	Unlocked  []string
	NotLocked []string
}

// MaxBatch bounds the login IDs of one administrative request.
const MaxBatch = 100

// AdminUnlock unlocks several accounts of the principal's tenant. The administrator
// confirms with its own password; a wrong one counts toward its own lockout. Every ID must
// be one the administrator manages, or nothing changes.
func (s *Service) AdminUnlock(ctx context.Context, p Principal, loginIDs []string, confirm, ip string) (AdminUnlockResult, error) {
	if err := requireAdmin(p); err != nil {
		return AdminUnlockResult{}, err
	}
	switch {
	case len(loginIDs) == 0:
		return AdminUnlockResult{}, codeErr(CodeValidation, FieldError{"login_ids", "required"})
	case len(loginIDs) > MaxBatch:
		return AdminUnlockResult{}, codeErr(CodeValidation, FieldError{"login_ids", "too_many"})
	case confirm == "" || len(confirm) > 4*MaxPasswordLen:
		return AdminUnlockResult{}, codeErr(CodeValidation, FieldError{"confirm_password", "required"})
	}
	if err := s.confirm(ctx, p, confirm, ip, "unlock"); err != nil {
		return AdminUnlockResult{}, err
	}
	var targets []Account
	var missing, forbidden []FieldError
	seen := map[string]bool{}
	for i, id := range loginIDs {
		a, err := s.target(ctx, p, id)
		field := fmt.Sprintf("login_ids[%d]", i)
		switch {
		case CodeOf(err) == CodeNotFound:
			missing = append(missing, FieldError{field, "not_found"})
		case err != nil:
			return AdminUnlockResult{}, err
		case !canManage(p.Account.Role, a.Role) && a.ID != p.Account.ID:
			forbidden = append(forbidden, FieldError{field, "forbidden"})
		case !seen[a.ID]:
			seen[a.ID] = true
			targets = append(targets, a)
		}
	}
	if len(missing) > 0 {
		return AdminUnlockResult{}, codeErr(CodeNotFound, missing...)
	}
	if len(forbidden) > 0 {
		return AdminUnlockResult{}, codeErr(CodeForbidden, forbidden...)
	}
	res := AdminUnlockResult{Unlocked: []string{}, NotLocked: []string{}}
	for _, a := range targets {
		err := s.attempts.Unlock(ctx, a.TenantID, a.ID)
		switch {
		case err == nil:
			res.Unlocked = append(res.Unlocked, a.LoginID)
			s.audit(ctx, AuditEvent{TenantID: a.TenantID, Actor: p.Account.LoginID, Action: "unlock", Target: a.LoginID, TargetID: a.ID, IP: ip, Result: "ok:admin"})
		case errors.Is(err, ErrConflict), errors.Is(err, ErrNotFound):
			res.NotLocked = append(res.NotLocked, a.LoginID)
		default:
			return res, fmt.Errorf("unlock %s: %w", a.ID, err)
		}
	}
	return res, nil
}

// confirm checks an administrator's own current password for a dangerous action. A wrong
// one counts toward the administrator's lockout like a wrong sign-in.
func (s *Service) confirm(ctx context.Context, p Principal, plain, ip, action string) error {
	a, match, _, err := s.verify(ctx, LoginRef{p.Account.TenantID, p.Account.ID}, plain, ip)
	if err != nil {
		return err
	}
	if !match {
		a = p.Account
		s.audit(ctx, AuditEvent{TenantID: a.TenantID, Actor: a.LoginID, Action: action, Target: a.LoginID, TargetID: a.ID, IP: ip, Result: "failed:confirm_password"})
		return codeErr(CodeConfirmPassword, FieldError{"confirm_password", "wrong"})
	}
	return s.authenticated(ctx, a)
}

// authenticated records that a's password was just proven (a confirmation, a change): like
// a sign-in, it ends the run of failures and counts as the latest sign-in.
func (s *Service) authenticated(ctx context.Context, a Account) error {
	if err := s.attempts.RecordLogin(ctx, a.TenantID, a.ID, s.now().UTC()); err != nil {
		return fmt.Errorf("record authentication: %w", err)
	}
	return nil
}

func (s *Service) formatTime(t time.Time, set Settings) string {
	if set.Language == "en" {
		return t.UTC().Format("2 January 2006 15:04 UTC")
	}
	jst := time.FixedZone("JST", 9*3600)
	return t.In(jst).Format("2006年1月2日 15:04（日本時間）")
}
