package account

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/kagiya/kagiya/shared/mail"
)

// Recovery codes, a Factor: ten codes, shown once, each good once, kept as hashes beside
// the account item (RecoveryCodes). They come with the authenticator app's enrolment
// and stand in for it: one also releases a locked second factor.

// Recovery codes' numbers.
const (
	RecoveryCodeN  = 10
	recoveryLen    = 12 // base32 characters: 60 random bits
	recoveryPerMin = 10 // recovery-code tries per account a minute
)

// recoveryCodes are the account's recovery codes.
type recoveryCodes struct {
	*accountStore
	*auditor
	*notifier
	*throttles
	recovery RecoveryCodes // the codes' hashes, beside the account item
	log      *slog.Logger
}

var _ Factor = (*recoveryCodes)(nil)

func (*recoveryCodes) Kind() string { return KindRecoveryCode }

// Enrolled: the codes come with the authenticator app.
func (*recoveryCodes) Enrolled(a Account) bool { return a.MFA.Secret != "" }

// Challenge: a code needs nothing issued.
func (*recoveryCodes) Challenge(context.Context, Account) (any, error) { return nil, nil }

// Clear: the codes are kept beside the account item (Remove).
func (*recoveryCodes) Clear(*Account) {}

// Remove drops the codes.
func (s *recoveryCodes) Remove(ctx context.Context, a Account) error {
	if err := s.recovery.PutRecoveryCodes(ctx, a.TenantID, a.ID, nil); err != nil {
		return fmt.Errorf("remove recovery codes: %w", err)
	}
	return nil
}

// Describe counts the codes left (a read only when there can be any).
func (s *recoveryCodes) Describe(ctx context.Context, a Account) (FactorState, error) {
	st := FactorState{Kind: KindRecoveryCode, Enrolled: s.Enrolled(a)}
	if st.Enrolled {
		codes, err := s.recovery.RecoveryCodes(ctx, a.TenantID, a.ID)
		if err != nil {
			return FactorState{}, fmt.Errorf("recovery codes: %w", err)
		}
		st.Count = len(codes)
	}
	return st, nil
}

// issue replaces a's codes with fresh ones and returns them (the only time they are
// shown).
func (s *recoveryCodes) issue(ctx context.Context, a Account) ([]string, error) {
	codes, hashes, err := newRecoveryCodes(a.ID)
	if err != nil {
		return nil, err
	}
	if err := s.recovery.PutRecoveryCodes(ctx, a.TenantID, a.ID, hashes); err != nil {
		return nil, fmt.Errorf("store recovery codes: %w", err)
	}
	return codes, nil
}

// Verify completes a second-factor step with a recovery code: the code is used up,
// w.Before runs (the sign-in's session is stored there), w's work is done and a locked
// second factor released. If w.Before or that write fails, the code is given back: a
// failure uses nothing up.
func (s *recoveryCodes) Verify(ctx context.Context, a Account, set Settings, in Answer, ip string, w StepWrite) (Account, error) {
	norm, ok := normalizeRecovery(in.Code)
	if !ok {
		return Account{}, codeErr(CodeValidation, FieldError{"recovery_code", "format"})
	}
	if err := s.throttle(ctx, "recovery-code#"+a.ID, recoveryPerMin); err != nil {
		return Account{}, err
	}
	hash := recoveryHash(a.ID, norm)
	left, err := s.recovery.UseRecoveryCode(ctx, a.TenantID, a.ID, hash)
	if errors.Is(err, ErrNotFound) {
		s.audit(ctx, AuditEvent{TenantID: a.TenantID, Actor: a.LoginID, Action: "mfa.recovery_code", Target: a.LoginID, TargetID: a.ID, IP: ip, Result: "failed:code"})
		return Account{}, codeErr(CodeInvalidCode)
	} else if err != nil {
		return Account{}, fmt.Errorf("recovery code: %w", err)
	}
	if w.Before != nil {
		if err := w.Before(a); err != nil {
			s.giveBack(ctx, a, hash)
			return Account{}, err
		}
	}
	wasLocked := false
	stored, err := s.updateGuarded(ctx, a, w.Guard, func(a *Account) {
		wasLocked = wasLocked || a.MFALocked()
		a.MFA.LockedAt, a.MFA.Failures = time.Time{}, 0
		if w.Done != nil {
			w.Done(a)
		}
	})
	if err != nil {
		s.giveBack(ctx, a, hash)
		return Account{}, err
	}
	a = stored
	s.audit(ctx, AuditEvent{TenantID: a.TenantID, Actor: a.LoginID, Action: "mfa.recovery_code", Target: a.LoginID, TargetID: a.ID, IP: ip, Result: fmt.Sprintf("ok:%d left", left)})
	if wasLocked {
		s.audit(ctx, AuditEvent{TenantID: a.TenantID, Actor: a.LoginID, Action: "mfa.unlock", Target: a.LoginID, TargetID: a.ID, IP: ip, Result: "ok:recovery_code"})
	}
	s.mfaNotice(ctx, a, set, "recovery_used", mail.MFANotice{Left: left, Released: wasLocked})
	return a, nil
}

// giveBack stores again a's code (hash) whose sign-in failed after it was used up,
// beside the stored ones, on a detached context (the request may be ending); a failure
// is logged. The store has no conditional add: a code of a's used by a parallel request
// between the read and the write here would come back too.
func (s *recoveryCodes) giveBack(ctx context.Context, a Account, hash string) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
	defer cancel()
	hashes, err := s.recovery.RecoveryCodes(rctx, a.TenantID, a.ID)
	if err == nil && !slices.Contains(hashes, hash) {
		err = s.recovery.PutRecoveryCodes(rctx, a.TenantID, a.ID, append(hashes, hash))
	}
	if err != nil {
		s.log.ErrorContext(ctx, "a recovery code whose sign-in failed was not given back", "account", a.ID, "err", err)
	}
}

// newRecoveryCodes makes RecoveryCodeN codes for account accountID and their hashes.
func newRecoveryCodes(accountID string) (codes, hashes []string, err error) {
	for range RecoveryCodeN {
		b := make([]byte, 10)
		if _, err := rand.Read(b); err != nil {
			return nil, nil, fmt.Errorf("recovery code: %w", err)
		}
		c := strings.ToLower(base32.StdEncoding.EncodeToString(b))[:recoveryLen]
		codes = append(codes, c[:4]+"-"+c[4:8]+"-"+c[8:])
		hashes = append(hashes, recoveryHash(accountID, c))
	}
	return codes, hashes, nil
}

// recoveryHash is the stored form of a recovery code: the code has 60 random bits, so a
// fast hash salted with the account suffices.
func recoveryHash(accountID, code string) string {
	sum := sha256.Sum256([]byte("kagiya-recovery\x00" + accountID + "\x00" + code))
	return hex.EncodeToString(sum[:])
}

// normalizeRecovery reads a recovery code as people type it (any case, dashes, spaces).
func normalizeRecovery(code string) (string, bool) {
	code = strings.ToLower(strings.NewReplacer("-", "", " ", "").Replace(code))
	if len(code) != recoveryLen {
		return "", false
	}
	for _, r := range code {
		if !(r >= 'a' && r <= 'z' || r >= '2' && r <= '7') {
			return "", false
		}
	}
	return code, true
}
