package account

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"image/png"
	"log/slog"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/kagiya/kagiya/shared/mail"
)

// The authenticator app's codes, a Factor: TOTP as authenticator apps expect it (RFC
// 6238: 6 digits, 30-second steps, SHA-1) through github.com/pquerna/otp, one step of
// skew either way, each code good once. The secret is sealed on the account item
// (seal.go); confirming an enrolment issues the recovery codes (recoverycodes.go).

// TOTP parameters.
const (
	totpIssuer   = "Kagiya"
	totpPeriod   = 30
	totpSkew     = 1
	enrolmentTTL = 15 * time.Minute
)

var totpOpts = totp.ValidateOpts{Period: totpPeriod, Skew: totpSkew, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

// Enrolment is what an authenticator app needs: the secret (base32, for typing in), the
// otpauth:// URL and the same as a QR code (a data: URL of a PNG).
type Enrolment struct {
	Secret string
	URL    string
	QRPNG  string
}

// totpFactor is the authenticator app's codes.
type totpFactor struct {
	*accountStore
	*auditor
	*notifier
	seal     *sealer       // the secret is sealed on the account item
	recovery RecoveryCodes // a confirmed enrolment comes with fresh recovery codes
	log      *slog.Logger
	now      func() time.Time
}

var _ EnrollingFactor = (*totpFactor)(nil)

func (*totpFactor) Kind() string { return KindTOTP }

func (*totpFactor) Enrolled(a Account) bool { return a.MFA.Secret != "" }

// Challenge: a code needs nothing issued.
func (*totpFactor) Challenge(context.Context, Account) (any, error) { return nil, nil }

func (tf *totpFactor) Verify(ctx context.Context, a Account, set Settings, in Answer, ip string, w StepWrite) (Account, error) {
	return tf.checkCode(ctx, a, set, in.Code, ip, w)
}

// Clear removes the secret and forgets the remembered browsers (the last step used is
// kept: a code of the old secret is never good again).
func (*totpFactor) Clear(a *Account) {
	a.MFA = MFA{BrowserEpoch: a.MFA.BrowserEpoch + 1, LastStep: a.MFA.LastStep}
}

// Remove: everything is on the account item.
func (*totpFactor) Remove(context.Context, Account) error { return nil }

func (tf *totpFactor) Describe(_ context.Context, a Account) (FactorState, error) {
	return FactorState{Kind: KindTOTP, Enrolled: tf.Enrolled(a), Locked: a.MFALocked()}, nil
}

// Enrol returns an Enrolment (beginEnrolment).
func (tf *totpFactor) Enrol(ctx context.Context, a Account, ip string) (any, error) {
	return tf.beginEnrolment(ctx, a, ip)
}

// ConfirmEnrolment returns the recovery codes, []string (enrol).
func (tf *totpFactor) ConfirmEnrolment(ctx context.Context, a Account, set Settings, in Answer, ip string, w StepWrite) (Account, any, error) {
	return tf.enrol(ctx, a, set, in.Code, ip, w)
}

// newEnrolment makes a fresh secret for a and seals it.
func (tf *totpFactor) newEnrolment(ctx context.Context, a Account) (Enrolment, string, error) {
	key, err := totp.Generate(totp.GenerateOpts{Issuer: totpIssuer, AccountName: a.LoginID, SecretSize: 20,
		Period: totpPeriod, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1, Rand: rand.Reader})
	if err != nil {
		return Enrolment{}, "", fmt.Errorf("totp secret: %w", err)
	}
	img, err := key.Image(240, 240)
	if err != nil {
		return Enrolment{}, "", fmt.Errorf("qr code: %w", err)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return Enrolment{}, "", fmt.Errorf("qr code: %w", err)
	}
	sealed, err := tf.seal.sealFor(ctx, a.ID, key.Secret())
	if err != nil {
		return Enrolment{}, "", err
	}
	return Enrolment{Secret: key.Secret(), URL: key.URL(),
		QRPNG: "data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes())}, sealed, nil
}

// codeStep returns the time step at now whose code is code (one step of skew either
// way), comparing in constant time, or ok=false.
func codeStep(secret, code string, now time.Time) (step int64, ok bool) {
	cur := now.Unix() / totpPeriod
	for s := cur - totpSkew; s <= cur+totpSkew; s++ {
		want, err := totp.GenerateCodeCustom(secret, time.Unix(s*totpPeriod, 0), totpOpts)
		if err == nil && subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			step, ok = s, true
		}
	}
	return step, ok
}

// normalizeCode strips the spaces people type; a code is 6 digits.
func normalizeCode(code string) (string, bool) {
	code = strings.Join(strings.Fields(code), "")
	if len(code) != 6 {
		return "", false
	}
	for _, r := range code {
		if r < '0' || r > '9' {
			return "", false
		}
	}
	return code, true
}

// releaseCodeTry gives back the try counted for a right code whose write failed (the
// store, not the code): a fault alone never counts toward the second factor's lock. It
// runs on a detached context, since the request may be ending.
func (tf *totpFactor) releaseCodeTry(ctx context.Context, a Account) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
	defer cancel()
	_, err := tf.updateGuarded(rctx, a, func(a Account) error {
		if a.MFALocked() || a.MFA.Failures <= 0 {
			return errNothingToRelease
		}
		return nil
	}, func(a *Account) { a.MFA.Failures-- })
	if err != nil && !errors.Is(err, errNothingToRelease) {
		tf.log.ErrorContext(ctx, "a right code's counted try was not given back", "account", a.ID, "err", err)
	}
}

// errNothingToRelease ends releaseCodeTry without a write.
var errNothingToRelease = errors.New("nothing to release")

// checkCode checks a TOTP code of a's second factor under the OTP lock. Each try is
// counted in the account before the code is checked (a guarded conditional write), so
// parallel wrong codes never get more than the threshold in; the try that fills the
// counter with a wrong code locks the second factor, once, with an audit event and an
// email. A right code is written in one conditional write that moves LastStep on (so it
// can never be used again), clears the counter and applies w.Done (the step's own work);
// w.Guard, if given, must also hold then. w.Before, if given, runs once the code is
// known to be right, before that write; its failure gives the try back.
func (tf *totpFactor) checkCode(ctx context.Context, a Account, set Settings, code, ip string, w StepWrite) (Account, error) {
	code, ok := normalizeCode(code)
	if !ok {
		return Account{}, codeErr(CodeValidation, FieldError{"code", "format"})
	}
	secret, err := tf.seal.openFor(ctx, a.ID, a.MFA.Secret)
	if err != nil {
		return Account{}, err
	}
	guarded := func(a Account) error {
		if a.MFA.Secret == "" {
			return codeErr(CodeInvalidToken) // turned off or reset meanwhile
		}
		if w.Guard != nil {
			return w.Guard(a)
		}
		return nil
	}
	full := false
	read := a // what the audit names if the reservation fails (updateGuarded then returns no account)
	a, err = tf.updateGuarded(ctx, a, func(a Account) error {
		if err := guarded(a); err != nil {
			return err
		}
		if a.MFALocked() {
			return codeErr(CodeMFALocked)
		}
		full = a.MFA.Failures >= set.OTPLockThreshold
		return nil
	}, func(a *Account) {
		if full {
			a.MFA.LockedAt = tf.now().UTC() // a counter left full: lock now
		} else {
			a.MFA.Failures++
		}
	})
	if err != nil {
		if CodeOf(err) == CodeMFALocked {
			tf.audit(ctx, AuditEvent{TenantID: read.TenantID, Actor: read.LoginID, Action: "mfa.verify", Target: read.LoginID, TargetID: read.ID, IP: ip, Result: "failed:locked"})
		}
		return Account{}, err
	}
	if full {
		tf.otpLocked(ctx, a, set, ip)
		return Account{}, codeErr(CodeMFALocked)
	}
	now := tf.now().UTC()
	step, ok := codeStep(secret, code, now)
	reason := "code"
	if ok && step <= a.MFA.LastStep {
		ok, reason = false, "replay"
	}
	if ok && w.Before != nil {
		if err := w.Before(a); err != nil {
			tf.releaseCodeTry(ctx, a)
			return Account{}, err
		}
	}
	if ok {
		stored, err := tf.updateGuarded(ctx, a, func(a Account) error {
			if err := guarded(a); err != nil {
				return err
			}
			if a.MFALocked() {
				return codeErr(CodeMFALocked)
			}
			if step <= a.MFA.LastStep {
				return codeErr(CodeInvalidCode) // the same code, used by a parallel request
			}
			return nil
		}, func(a *Account) {
			a.MFA.LastStep, a.MFA.Failures = step, 0
			if w.Done != nil {
				w.Done(a)
			}
		})
		if CodeOf(err) == CodeInvalidCode {
			tf.audit(ctx, AuditEvent{TenantID: a.TenantID, Actor: a.LoginID, Action: "mfa.verify", Target: a.LoginID, TargetID: a.ID, IP: ip, Result: "failed:replay"})
		}
		if err != nil && CodeOf(err) == "" {
			tf.releaseCodeTry(ctx, a)
		}
		return stored, err
	}
	tf.audit(ctx, AuditEvent{TenantID: a.TenantID, Actor: a.LoginID, Action: "mfa.verify", Target: a.LoginID, TargetID: a.ID, IP: ip, Result: "failed:" + reason})
	if a.MFA.Failures >= set.OTPLockThreshold {
		// Of parallel wrong codes at the threshold, the one whose write locks reports it
		// (one audit event, one email). The change may run more than once (a write that
		// met a newer version is retried): only the write's success says who locked. A
		// counter found below the threshold was released meanwhile (an administrator's
		// release, or the factor turned off or reset): this code's try was forgiven with
		// the others, and it is a wrong code like them, with no lock.
		_, err := tf.updateGuarded(ctx, a, func(a Account) error {
			if a.MFALocked() {
				return codeErr(CodeMFALocked)
			}
			if a.MFA.Failures < set.OTPLockThreshold {
				return errReleasedMeanwhile
			}
			return nil
		}, func(a *Account) { a.MFA.LockedAt = tf.now().UTC() })
		switch {
		case err == nil:
			tf.otpLocked(ctx, a, set, ip)
		case errors.Is(err, errReleasedMeanwhile):
			return Account{}, codeErr(CodeInvalidCode)
		case CodeOf(err) != CodeMFALocked:
			return Account{}, fmt.Errorf("lock second factor: %w", err)
		}
		return Account{}, codeErr(CodeMFALocked)
	}
	return Account{}, codeErr(CodeInvalidCode)
}

// errReleasedMeanwhile ends a lock's write that finds the counter it would lock on below
// the threshold: it was released (set back to zero) since the try that filled it.
var errReleasedMeanwhile = errors.New("counter released meanwhile")

// otpLocked reports a second-factor lock: one audit event, one email.
func (tf *totpFactor) otpLocked(ctx context.Context, a Account, set Settings, ip string) {
	tf.audit(ctx, AuditEvent{TenantID: a.TenantID, Actor: "system", Action: "mfa.lock", Target: a.LoginID, TargetID: a.ID, IP: ip,
		Result: fmt.Sprintf("ok:%d wrong codes", set.OTPLockThreshold)})
	tf.mfaNotice(ctx, a, set, "locked", mail.MFANotice{Failures: set.OTPLockThreshold})
}

// beginEnrolment stores a fresh pending secret for a and returns it.
func (tf *totpFactor) beginEnrolment(ctx context.Context, a Account, ip string) (Enrolment, error) {
	e, sealed, err := tf.newEnrolment(ctx, a)
	if err != nil {
		return Enrolment{}, err
	}
	now := tf.now().UTC()
	if _, err := tf.updateRetrying(ctx, a, func(a *Account) { a.MFA.Pending, a.MFA.PendingAt = sealed, now }); err != nil {
		return Enrolment{}, fmt.Errorf("store enrolment: %w", err)
	}
	tf.audit(ctx, AuditEvent{TenantID: a.TenantID, Actor: a.LoginID, Action: "mfa.setup", Target: a.LoginID, TargetID: a.ID, IP: ip, Result: "ok:pending"})
	return e, nil
}

// enrol confirms a's pending secret with a code from it and turns the second factor on
// in one conditional write (with w's work: w.Before first, once the code is right; then
// w.Guard and w.Done in the write), then stores fresh recovery codes and returns them.
// A wrong code is invalid_code; no pending enrolment (or a stale one) is
// mfa_not_pending.
func (tf *totpFactor) enrol(ctx context.Context, a Account, set Settings, code, ip string, w StepWrite) (Account, []string, error) {
	code, ok := normalizeCode(code)
	if !ok {
		return Account{}, nil, codeErr(CodeValidation, FieldError{"code", "format"})
	}
	now := tf.now().UTC()
	if a.MFA.Pending == "" || now.Sub(a.MFA.PendingAt) > enrolmentTTL {
		return Account{}, nil, codeErr(CodeMFANotPending)
	}
	secret, err := tf.seal.openFor(ctx, a.ID, a.MFA.Pending)
	if err != nil {
		return Account{}, nil, err
	}
	step, ok := codeStep(secret, code, now)
	if !ok {
		tf.audit(ctx, AuditEvent{TenantID: a.TenantID, Actor: a.LoginID, Action: "mfa.enable", Target: a.LoginID, TargetID: a.ID, IP: ip, Result: "failed:code"})
		return Account{}, nil, codeErr(CodeInvalidCode)
	}
	codes, hashes, err := newRecoveryCodes(a.ID)
	if err != nil {
		return Account{}, nil, err
	}
	if w.Before != nil {
		if err := w.Before(a); err != nil {
			return Account{}, nil, err
		}
	}
	pending := a.MFA.Pending
	var before Account // as the write that turned it on found it
	a, err = tf.updateGuarded(ctx, a, func(a Account) error {
		if a.MFA.Pending != pending {
			return codeErr(CodeMFANotPending) // another enrolment began meanwhile
		}
		if w.Guard != nil {
			return w.Guard(a)
		}
		return nil
	}, func(a *Account) {
		before = *a
		a.MFA = MFA{Secret: pending, EnabledAt: now, LastStep: step, BrowserEpoch: a.MFA.BrowserEpoch + 1}
		if w.Done != nil {
			w.Done(a)
		}
	})
	if err != nil {
		return Account{}, nil, err
	}
	if err := tf.recovery.PutRecoveryCodes(ctx, a.TenantID, a.ID, hashes); err != nil {
		tf.undoEnrolment(ctx, a, before)
		return Account{}, nil, fmt.Errorf("store recovery codes: %w", err)
	}
	tf.audit(ctx, AuditEvent{TenantID: a.TenantID, Actor: a.LoginID, Action: "mfa.enable", Target: a.LoginID, TargetID: a.ID, IP: ip, Result: "ok:totp"})
	tf.mfaNotice(ctx, a, set, "enabled", mail.MFANotice{})
	return a, codes, nil
}

// undoEnrolment puts back the pending enrolment (and the sign-in flow's challenge) that
// a, just written by enrol, had as before, when its recovery codes could not be stored:
// the second factor is not left on with codes nobody has seen, and the same code
// confirms it once the store works. The code's step stays used and the remembered
// browsers stay forgotten. It runs on a detached context (the request may be ending)
// and leaves an account changed again meanwhile; a failure is logged (the person can
// then make new codes).
func (tf *totpFactor) undoEnrolment(ctx context.Context, a, before Account) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
	defer cancel()
	written := a
	_, err := tf.updateGuarded(rctx, a, func(a Account) error {
		if a.MFA.Secret != written.MFA.Secret || !a.MFA.EnabledAt.Equal(written.MFA.EnabledAt) || a.FlowSeq != written.FlowSeq {
			return errNothingToRelease
		}
		return nil
	}, func(a *Account) {
		mfa := before.MFA
		mfa.LastStep, mfa.BrowserEpoch = a.MFA.LastStep, a.MFA.BrowserEpoch
		a.MFA, a.FlowSeq = mfa, before.FlowSeq
	})
	if err != nil && !errors.Is(err, errNothingToRelease) {
		tf.log.ErrorContext(ctx, "second factor on without stored recovery codes", "account", a.ID, "err", err)
	}
}
