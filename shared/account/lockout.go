package account

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/kagiya/kagiya/shared/mail"
	"github.com/kagiya/kagiya/shared/password"
)

// throttleLogin counts a password given for loginID from ip (a sign-in, a service check)
// against the sign-in's per-IP and per-account limits a minute. It returns the login ID's
// key and whether the login ID is an address at all: only an address is counted per
// account, and looked up.
func (k *kit) throttleLogin(ctx context.Context, ip, loginID string) (key string, wellFormed bool, err error) {
	if err := k.throttle(ctx, "login-ip#"+ip, k.cfg.LoginPerIPMinute); err != nil {
		return "", false, err
	}
	key = Key(loginID)
	if _, wellFormed = ParseLoginID(loginID); wellFormed {
		if err := k.throttle(ctx, "login-acct#"+key, k.cfg.LoginPerAcctMinute); err != nil {
			return "", false, err
		}
	}
	return key, wellFormed, nil
}

// verify checks plain against the password of the account ref names, under the lockout
// rules: each attempt is reserved in the store before the hash is checked (one
// conditional write that also returns the account), so parallel guesses can never get
// more than the tenant's threshold in; the attempt that reaches the threshold with a wrong
// password locks the account and mails the unlock link. A temporary lock that has run out
// is lifted first. Whatever happens, one hash is computed. It returns the account as it
// stands (zero if there is none); a locked, disabled or password-less account never
// matches.
func (k *kit) verify(ctx context.Context, ref LoginRef, plain, ip string) (a Account, match, stale bool, err error) {
	return k.verifyBy(ctx, ref, plain, ip, k.checkHash)
}

// checker checks what was given against an account whose attempt is reserved: its
// password hash, or (for mail clients) its app passwords.
type checker func(ctx context.Context, a Account, set Settings, plain string) (match, stale bool, err error)

// verifyBy is verify with another check than the password hash.
func (k *kit) verifyBy(ctx context.Context, ref LoginRef, plain, ip string, check checker) (a Account, match, stale bool, err error) {
	set := Settings{}.Effective()
	if ref.TenantID != "-" {
		if set, err = k.settingsOf(ctx, ref.TenantID); err != nil {
			return Account{}, false, false, err
		}
	}
	for lifted := false; ; lifted = true {
		a, ok, err := k.attempts.ReserveAttempt(ctx, ref.TenantID, ref.AccountID, set.LockoutThreshold, k.now().UTC())
		if err != nil && !errors.Is(err, ErrNotFound) {
			return Account{}, false, false, fmt.Errorf("reserve attempt: %w", err)
		}
		if ok {
			return k.checkReserved(ctx, a, set, plain, ip, check)
		}
		// No attempt left: locked, disabled, a full counter, or no such account. Learn which.
		if err == nil {
			if ref.AccountID == "-" {
				err = ErrNotFound
			} else {
				a, err = k.accounts.GetAccount(ctx, ref.TenantID, ref.AccountID)
			}
		}
		if err != nil {
			if errors.Is(err, ErrNotFound) {
				k.burnDummy(plain)
				return Account{}, false, false, nil
			}
			return Account{}, false, false, fmt.Errorf("account: %w", err)
		}
		if a.Disabled || a.PasswordHash == "" {
			k.burnDummy(plain)
			return a, false, false, nil
		}
		now := k.now().UTC()
		if !lifted && a.Locked() && !a.Disabled && set.LockMinutes > 0 && !now.Before(a.LockedAt.Add(time.Duration(set.LockMinutes)*time.Minute)) {
			// Parallel attempts may all find the lock expired; the one whose Unlock wins
			// audits it, the others just try again.
			switch err := k.attempts.Unlock(ctx, a.TenantID, a.ID); {
			case err == nil:
				k.audit(ctx, AuditEvent{TenantID: a.TenantID, Actor: "system", Action: "unlock", Target: a.LoginID, TargetID: a.ID, IP: ip, Result: "ok:expired"})
			case !errors.Is(err, ErrConflict):
				return Account{}, false, false, fmt.Errorf("lift expired lock: %w", err)
			}
			continue
		}
		k.burnDummy(plain)
		if a.Locked() && !now.Before(a.UnlockLinkUntil) && (set.LockMinutes == 0 || now.Before(a.LockedAt.Add(time.Duration(set.LockMinutes)*time.Minute))) {
			if err := k.relink(ctx, a, set, ip); err != nil {
				return Account{}, false, false, err
			}
		}
		if !a.Locked() && now.Sub(a.LastAttemptAt) > StalledAttempt {
			// The counter is full but no lock was set, and the attempt that filled it is
			// long gone (its writer died): lock now. A counter filled moments ago is
			// attempts still in flight, which end in a sign-in or in the lock themselves.
			if err := k.lock(ctx, a, set, ip); err != nil {
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
func (k *kit) checkReserved(ctx context.Context, a Account, set Settings, plain, ip string, check checker) (Account, bool, bool, error) {
	match, stale, err := check(ctx, a, set, plain)
	if err != nil {
		return Account{}, false, false, err
	}
	if !match && a.FailedAttempts >= set.LockoutThreshold {
		if err := k.lock(ctx, a, set, ip); err != nil {
			return Account{}, false, false, err
		}
		a.LockedAt = k.now().UTC()
	}
	return a, match, stale, nil
}

// lock locks a if its counter is full; the one caller that locks it audits the lock and
// mails the unlock link. The link is issued first and its expiry goes into the lock's own
// write, so there is never a lock without a link: if the link cannot be stored, the
// account is not locked (its full counter still refuses attempts, and is locked by a
// later one); a link whose lock another caller won, or whose lock failed, is removed.
func (k *kit) lock(ctx context.Context, a Account, set Settings, ip string) error {
	now := k.now().UTC()
	ttl := time.Duration(set.UnlockLinkHours) * time.Hour
	token, link, err := k.unlockLink(ctx, a, ttl)
	if err != nil {
		return err
	}
	locked, err := k.attempts.Lock(ctx, a.TenantID, a.ID, set.LockoutThreshold, now, link.ExpiresAt)
	if err != nil || !locked {
		k.retire(ctx, link)
		return err
	}
	k.audit(ctx, AuditEvent{TenantID: a.TenantID, Actor: "system", Action: "lock", Target: a.LoginID, TargetID: a.ID, IP: ip,
		Result: fmt.Sprintf("ok:%d failures", set.LockoutThreshold)})
	k.endGrants(ctx, a, "lock", ip)
	k.mailUnlockLink(ctx, a, set, token, now, ttl)
	return nil
}

// unlockLink stores a new unlock link for a, valid for ttl: the token and its record.
func (k *kit) unlockLink(ctx context.Context, a Account, ttl time.Duration) (string, Token, error) {
	token, err := k.issueToken(ctx, Token{Purpose: PurposeUnlock, TenantID: a.TenantID, AccountID: a.ID}, ttl)
	if err != nil {
		return "", Token{}, err
	}
	now := k.now().UTC()
	return token, Token{IDHash: HashToken(token), Purpose: PurposeUnlock, TenantID: a.TenantID, AccountID: a.ID, CreatedAt: now, ExpiresAt: now.Add(ttl)}, nil
}

// mailUnlockLink sends the lock notice with its unlock link.
func (k *kit) mailUnlockLink(ctx context.Context, a Account, set Settings, token string, lockedAt time.Time, ttl time.Duration) {
	now := k.now().UTC()
	notice := &mail.LockNotice{UnlockURL: k.siteURL + "/unlock.html?token=" + token,
		ValidUntil: k.formatTime(now.Add(ttl), set), Failures: set.LockoutThreshold}
	if set.LockMinutes > 0 {
		notice.LiftsAt = k.formatTime(lockedAt.Add(time.Duration(set.LockMinutes)*time.Minute), set)
	}
	k.notify(ctx, a, notice)
}

// relink issues a new unlock link for a lock that has none left alive (it expired, or
// the lock predates links kept with locks), when an attempt meets the lock: the link's
// expiry is written to the account under a guard that exactly one caller passes, and
// that caller mails it.
func (k *kit) relink(ctx context.Context, a Account, set Settings, ip string) error {
	now := k.now().UTC()
	ttl := time.Duration(set.UnlockLinkHours) * time.Hour
	token, link, err := k.unlockLink(ctx, a, ttl)
	if err != nil {
		return err
	}
	var current Account
	current, err = k.updateGuarded(ctx, a, func(a Account) error {
		if !a.Locked() || now.Before(a.UnlockLinkUntil) {
			return errNothingToRelease // unlocked meanwhile, or another caller issued one
		}
		return nil
	}, func(a *Account) { a.UnlockLinkUntil = link.ExpiresAt })
	if err != nil {
		k.retire(ctx, link)
		if errors.Is(err, errNothingToRelease) {
			return nil
		}
		return fmt.Errorf("unlock link: %w", err)
	}
	k.audit(ctx, AuditEvent{TenantID: a.TenantID, Actor: "system", Action: "lock", Target: a.LoginID, TargetID: a.ID, IP: ip, Result: "ok:unlock_link_reissued"})
	k.mailUnlockLink(ctx, current, set, token, current.LockedAt, ttl)
	return nil
}

// issueToken stores a new single-use token like t (purpose, account, steps), valid for
// ttl, and returns it (the only copy).
func (k *kit) issueToken(ctx context.Context, t Token, ttl time.Duration) (string, error) {
	token, err := randomToken()
	if err != nil {
		return "", err
	}
	now := k.now().UTC()
	t.IDHash, t.CreatedAt, t.ExpiresAt = HashToken(token), now, now.Add(ttl)
	if err := k.tokens.CreateToken(ctx, t); err != nil {
		return "", fmt.Errorf("store %s token: %w", t.Purpose, err)
	}
	return token, nil
}

// redeem consumes an emailed token of purpose and returns its account. Malformed,
// unknown, used, expired and orphaned tokens are all invalid_token.
func (k *kit) redeem(ctx context.Context, token, purpose string) (Account, error) {
	return k.tokenAccount(ctx, token, func(hash string) (Token, error) {
		return k.tokens.ConsumeToken(ctx, hash, purpose, k.now().UTC())
	})
}

// tokenAccount finds the account of a live token, which take looks up (and perhaps uses
// up) by its hash. A token outlives nothing: once its account is deleted it is invalid
// for good, since a new account with the same login ID has another account_id.
func (k *kit) tokenAccount(ctx context.Context, token string, take func(hash string) (Token, error)) (Account, error) {
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
	a, err := k.accounts.GetAccount(ctx, t.TenantID, t.AccountID)
	if errors.Is(err, ErrNotFound) || err == nil && t.CreatedAt.Before(a.TokensAfter) {
		return Account{}, invalid // the account is gone, or its password changed since
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

// releaseTimeout bounds the write that gives a reservation back after the request's own
// write failed (the request may be ending: the give-back runs on a detached context).
const releaseTimeout = 5 * time.Second

// recordSuccess notes that a's reserved attempt was a right password (RecordLogin). If
// that write fails, the reservation is given back, so a fault of the store alone never
// counts toward a lock: without this, a few right passwords during an outage fill the
// counter, and the account locks itself with no wrong password at all.
func (k *kit) recordSuccess(ctx context.Context, a Account, at time.Time) error {
	err := k.attempts.RecordLogin(ctx, a.TenantID, a.ID, at)
	if err != nil && !errors.Is(err, ErrNotFound) {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
		defer cancel()
		if rerr := k.attempts.ReleaseAttempt(rctx, a.TenantID, a.ID); rerr != nil {
			k.log.ErrorContext(ctx, "a right password's reserved attempt was not given back", "account", a.ID, "err", rerr)
		}
	}
	return err
}

// authenticated records that a's password was just proven (a confirmation, a change): like
// a sign-in, it ends the run of failures and counts as the latest sign-in.
func (k *kit) authenticated(ctx context.Context, a Account) error {
	if err := k.recordSuccess(ctx, a, k.now().UTC()); err != nil {
		return fmt.Errorf("record authentication: %w", err)
	}
	return nil
}

// formatTime is how emails give a time: in the tenants' time zone (Japan's), named, in
// one format per language.
func (k *kit) formatTime(t time.Time, set Settings) string {
	jst := time.FixedZone("JST", 9*3600)
	if set.Language == "en" {
		return t.In(jst).Format("2 January 2006 15:04 JST")
	}
	return t.In(jst).Format("2006年1月2日 15:04（日本時間）")
}

// checkHash verifies plain against a's hash. A hash made with a pepper this deployment
// does not hold (a pepper that was changed), or an imported hash above the cost caps,
// cannot match: it answers like a wrong password, and the log says why, rather than
// failing the request or spending seconds on it.
//
// An imported hash (password.IsImported) is checked with its own scheme, and a dummy
// argon2id hash is computed too: a check is never faster than one for an unknown account.
func (k *kit) checkHash(ctx context.Context, a Account, set Settings, plain string) (match, stale bool, err error) {
	if password.IsImported(a.PasswordHash) {
		k.burnDummy(plain)
	}
	match, stale, err = password.Verify(k.cfg.Hash, a.PasswordHash, preset(set).Normalized(plain))
	if errors.Is(err, password.ErrUnknownPepper) {
		k.log.ErrorContext(ctx, "password hash made with another pepper; the account must reset its password", "account", a.ID)
		return false, false, nil
	}
	if ce := (*password.CostError)(nil); errors.As(err, &ce) {
		k.log.ErrorContext(ctx, "imported password hash above the cost caps; the account must reset its password", "account", a.ID, "limit", ce.Limit)
		return false, false, nil
	}
	return match, stale, err
}

// endGrants ends every application's access to a (its OpenID Connect grants): their
// refresh tokens carry the grant's epoch, so they stay dead after an unlock, and the
// person signs in to each application again. why names the cause in the audit log.
func (k *kit) endGrants(ctx context.Context, a Account, why, ip string) {
	grants, err := k.grants.ListCredentials(ctx, CredOIDCGrant, a.ID)
	if err != nil {
		k.log.ErrorContext(ctx, "list grants to end", "account_id", a.ID, "err", err)
		return
	}
	for _, g := range grants {
		if err := k.grants.DeleteCredential(ctx, CredOIDCGrant, a.ID, g.ID); err != nil && !errors.Is(err, ErrNotFound) {
			k.log.ErrorContext(ctx, "end grant", "account_id", a.ID, "client_id", g.ID, "err", err)
			continue
		}
		k.audit(ctx, AuditEvent{TenantID: a.TenantID, Actor: "system", Action: "oidc.revoke", Target: a.LoginID, TargetID: a.ID, IP: ip,
			Result: "ok:" + g.Name + " (" + why + ")"})
	}
}
