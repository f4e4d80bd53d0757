package account

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"image/png"
	"strings"
	"sync"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/kagiya/kagiya/shared/mail"
)

// The second factor (API.md, "Second factor"): TOTP as authenticator apps expect it
// (RFC 6238: 6 digits, 30-second steps, SHA-1) through github.com/pquerna/otp, one step
// of skew either way, each code good once; ten recovery codes kept as hashes.

// TOTP parameters.
const (
	totpIssuer     = "Kagiya"
	totpPeriod     = 30
	totpSkew       = 1
	RecoveryCodeN  = 10
	recoveryLen    = 12 // base32 characters: 60 random bits
	enrolmentTTL   = 15 * time.Minute
	recoveryPerMin = 10 // recovery-code tries per account a minute
)

var totpOpts = totp.ValidateOpts{Period: totpPeriod, Skew: totpSkew, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

// Enrolment is what an authenticator app needs: the secret (base32, for typing in), the
// otpauth:// URL and the same as a QR code (a data: URL of a PNG).
type Enrolment struct {
	Secret string
	URL    string
	QRPNG  string
}

// sealer seals second-factor secrets with AES-256-GCM. The account ID is the additional
// data, so a sealed secret cannot be moved to another account.
type sealer struct {
	load func(ctx context.Context) ([]byte, error)
	mu   sync.Mutex
	aead cipher.AEAD
}

func (s *sealer) get(ctx context.Context) (cipher.AEAD, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.aead != nil {
		return s.aead, nil
	}
	if s.load == nil {
		return nil, errors.New("seal key: none configured")
	}
	key, err := s.load(ctx)
	if err != nil {
		return nil, fmt.Errorf("seal key: %w", err)
	}
	if len(key) != 32 {
		return nil, fmt.Errorf("seal key: %d bytes, want 32", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("seal key: %w", err)
	}
	if s.aead, err = cipher.NewGCM(block); err != nil {
		return nil, fmt.Errorf("seal key: %w", err)
	}
	return s.aead, nil
}

const sealPrefix = "v1."

func (s *sealer) sealFor(ctx context.Context, accountID, plain string) (string, error) {
	aead, err := s.get(ctx)
	if err != nil {
		return "", err
	}
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("seal: %w", err)
	}
	out := aead.Seal(nonce, nonce, []byte(plain), []byte(accountID))
	return sealPrefix + base64.RawStdEncoding.EncodeToString(out), nil
}

func (s *sealer) openFor(ctx context.Context, accountID, sealed string) (string, error) {
	aead, err := s.get(ctx)
	if err != nil {
		return "", err
	}
	raw, err := base64.RawStdEncoding.DecodeString(strings.TrimPrefix(sealed, sealPrefix))
	if err != nil || !strings.HasPrefix(sealed, sealPrefix) || len(raw) < aead.NonceSize() {
		return "", errors.New("open sealed secret: malformed")
	}
	n := aead.NonceSize()
	plain, err := aead.Open(nil, raw[:n], raw[n:], []byte(accountID))
	if err != nil {
		return "", fmt.Errorf("open sealed secret: %w", err)
	}
	return string(plain), nil
}

// StaticKey is a SealKey that is always key (a key file, a test).
func StaticKey(key []byte) func(context.Context) ([]byte, error) {
	return func(context.Context) ([]byte, error) { return key, nil }
}

// newEnrolment makes a fresh secret for a and seals it.
func (k *kit) newEnrolment(ctx context.Context, a Account) (Enrolment, string, error) {
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
	sealed, err := k.seal.sealFor(ctx, a.ID, key.Secret())
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

// releaseCodeTry gives back the try counted for a right code whose write failed (the
// store, not the code): a fault alone never counts toward the second factor's lock. It
// runs on a detached context, since the request may be ending.
func (k *kit) releaseCodeTry(ctx context.Context, a Account) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
	defer cancel()
	_, err := k.updateGuarded(rctx, a, func(a Account) error {
		if a.MFALocked() || a.MFA.Failures <= 0 {
			return errNothingToRelease
		}
		return nil
	}, func(a *Account) { a.MFA.Failures-- })
	if err != nil && !errors.Is(err, errNothingToRelease) {
		k.log.ErrorContext(ctx, "a right code's counted try was not given back", "account", a.ID, "err", err)
	}
}

// errNothingToRelease ends releaseCodeTry without a write.
var errNothingToRelease = errors.New("nothing to release")

// checkCode checks a TOTP code of a's second factor under the OTP lock. Each try is
// counted in the account before the code is checked (a guarded conditional write), so
// parallel wrong codes never get more than the threshold in; the try that fills the
// counter with a wrong code locks the second factor, once, with an audit event and an
// email. A right code is written in one conditional write that moves LastStep on (so it
// can never be used again), clears the counter and applies done (the step's own work);
// guard, if given, must also hold then.
func (k *kit) checkCode(ctx context.Context, a Account, set Settings, code, ip string, guard func(Account) error, done func(*Account)) (Account, error) {
	code, ok := normalizeCode(code)
	if !ok {
		return Account{}, codeErr(CodeValidation, FieldError{"code", "format"})
	}
	secret, err := k.seal.openFor(ctx, a.ID, a.MFA.Secret)
	if err != nil {
		return Account{}, err
	}
	guarded := func(a Account) error {
		if a.MFA.Secret == "" {
			return codeErr(CodeInvalidToken) // turned off or reset meanwhile
		}
		if guard != nil {
			return guard(a)
		}
		return nil
	}
	full := false
	read := a // what the audit names if the reservation fails (updateGuarded then returns no account)
	a, err = k.updateGuarded(ctx, a, func(a Account) error {
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
			a.MFA.LockedAt = k.now().UTC() // a counter left full: lock now
		} else {
			a.MFA.Failures++
		}
	})
	if err != nil {
		if CodeOf(err) == CodeMFALocked {
			k.audit(ctx, AuditEvent{TenantID: read.TenantID, Actor: read.LoginID, Action: "mfa.verify", Target: read.LoginID, TargetID: read.ID, IP: ip, Result: "failed:locked"})
		}
		return Account{}, err
	}
	if full {
		k.otpLocked(ctx, a, set, ip)
		return Account{}, codeErr(CodeMFALocked)
	}
	now := k.now().UTC()
	step, ok := codeStep(secret, code, now)
	reason := "code"
	if ok && step <= a.MFA.LastStep {
		ok, reason = false, "replay"
	}
	if ok {
		stored, err := k.updateGuarded(ctx, a, func(a Account) error {
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
			if done != nil {
				done(a)
			}
		})
		if CodeOf(err) == CodeInvalidCode {
			k.audit(ctx, AuditEvent{TenantID: a.TenantID, Actor: a.LoginID, Action: "mfa.verify", Target: a.LoginID, TargetID: a.ID, IP: ip, Result: "failed:replay"})
		}
		if err != nil && CodeOf(err) == "" {
			k.releaseCodeTry(ctx, a)
		}
		return stored, err
	}
	k.audit(ctx, AuditEvent{TenantID: a.TenantID, Actor: a.LoginID, Action: "mfa.verify", Target: a.LoginID, TargetID: a.ID, IP: ip, Result: "failed:" + reason})
	if a.MFA.Failures >= set.OTPLockThreshold {
		// Of parallel wrong codes at the threshold, the one whose write locks reports it
		// (one audit event, one email). The change may run more than once (a write that
		// met a newer version is retried): only the write's success says who locked.
		_, err := k.updateGuarded(ctx, a, func(a Account) error {
			if a.MFALocked() {
				return codeErr(CodeMFALocked)
			}
			return nil
		}, func(a *Account) { a.MFA.LockedAt = k.now().UTC() })
		switch {
		case err == nil:
			k.otpLocked(ctx, a, set, ip)
		case CodeOf(err) != CodeMFALocked:
			return Account{}, fmt.Errorf("lock second factor: %w", err)
		}
		return Account{}, codeErr(CodeMFALocked)
	}
	return Account{}, codeErr(CodeInvalidCode)
}

// otpLocked reports a second-factor lock: one audit event, one email.
func (k *kit) otpLocked(ctx context.Context, a Account, set Settings, ip string) {
	k.audit(ctx, AuditEvent{TenantID: a.TenantID, Actor: "system", Action: "mfa.lock", Target: a.LoginID, TargetID: a.ID, IP: ip,
		Result: fmt.Sprintf("ok:%d wrong codes", set.OTPLockThreshold)})
	k.mfaNotice(ctx, a, set, "locked", mail.MFANotice{Failures: set.OTPLockThreshold})
}

// mfaNotice mails the person about its second factor; event names what happened.
func (k *kit) mfaNotice(ctx context.Context, a Account, set Settings, event string, n mail.MFANotice) {
	n.Event, n.When = event, k.formatTime(k.now(), set)
	k.notify(ctx, a, &n)
}

// clearMFA removes a's second factor and forgets its remembered browsers.
func clearMFA(a *Account) {
	a.MFA = MFA{BrowserEpoch: a.MFA.BrowserEpoch + 1, LastStep: a.MFA.LastStep}
}

// dropRecoveryCodes removes a's recovery codes; a failure leaves codes that cannot be
// used (the account has no second factor), so it is logged.
func (k *kit) dropRecoveryCodes(ctx context.Context, a Account) {
	if err := k.recovery.PutRecoveryCodes(ctx, a.TenantID, a.ID, nil); err != nil {
		k.log.WarnContext(ctx, "recovery codes not removed", "err", err)
	}
}

// reauth checks the principal's current password for a change to its own account: a
// wrong one counts toward lockout and is current_password (field), audited under action.
func (k *kit) reauth(ctx context.Context, p Principal, plain, ip, action string) (Account, error) {
	if plain == "" || len(plain) > 4*MaxPasswordLen {
		return Account{}, codeErr(CodeValidation, FieldError{"current_password", "required"})
	}
	a, match, _, err := k.verify(ctx, LoginRef{p.Account.TenantID, p.Account.ID}, plain, ip)
	if err != nil {
		return Account{}, err
	}
	if !match {
		k.audit(ctx, AuditEvent{TenantID: p.Account.TenantID, Actor: p.Account.LoginID, Action: action, Target: p.Account.LoginID, TargetID: p.Account.ID, IP: ip, Result: "failed:current_password"})
		return Account{}, codeErr(CodeCurrentPassword, FieldError{"current_password", "wrong"})
	}
	if err := k.authenticated(ctx, a); err != nil {
		return Account{}, err
	}
	return k.accounts.GetAccount(ctx, a.TenantID, a.ID)
}

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
	st := MFAStatus{TOTPEnabled: a.MFAEnabled(), Required: set.MFARequired, Locked: a.MFALocked()}
	if st.TOTPEnabled {
		codes, err := s.recovery.RecoveryCodes(ctx, a.TenantID, a.ID)
		if err != nil {
			return MFAStatus{}, fmt.Errorf("recovery codes: %w", err)
		}
		st.RecoveryCodesLeft = len(codes)
		if *set.RememberBrowserDays > 0 {
			st.RememberedBrowsers = a.MFA.Remembered
		}
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
	return s.beginEnrolment(ctx, a, ip)
}

// beginEnrolment stores a fresh pending secret for a and returns it.
func (k *kit) beginEnrolment(ctx context.Context, a Account, ip string) (Enrolment, error) {
	e, sealed, err := k.newEnrolment(ctx, a)
	if err != nil {
		return Enrolment{}, err
	}
	now := k.now().UTC()
	if _, err := k.updateRetrying(ctx, a, func(a *Account) { a.MFA.Pending, a.MFA.PendingAt = sealed, now }); err != nil {
		return Enrolment{}, fmt.Errorf("store enrolment: %w", err)
	}
	k.audit(ctx, AuditEvent{TenantID: a.TenantID, Actor: a.LoginID, Action: "mfa.setup", Target: a.LoginID, TargetID: a.ID, IP: ip, Result: "ok:pending"})
	return e, nil
}

// enrol confirms a's pending secret with a code from it and turns the second factor on
// in one conditional write (with done's work, if any), then stores fresh recovery codes
// and returns them. A wrong code is invalid_code; no pending enrolment (or a stale one)
// is mfa_not_pending.
func (k *kit) enrol(ctx context.Context, a Account, set Settings, code, ip string, guard func(Account) error, done func(*Account)) (Account, []string, error) {
	code, ok := normalizeCode(code)
	if !ok {
		return Account{}, nil, codeErr(CodeValidation, FieldError{"code", "format"})
	}
	now := k.now().UTC()
	if a.MFA.Pending == "" || now.Sub(a.MFA.PendingAt) > enrolmentTTL {
		return Account{}, nil, codeErr(CodeMFANotPending)
	}
	secret, err := k.seal.openFor(ctx, a.ID, a.MFA.Pending)
	if err != nil {
		return Account{}, nil, err
	}
	step, ok := codeStep(secret, code, now)
	if !ok {
		k.audit(ctx, AuditEvent{TenantID: a.TenantID, Actor: a.LoginID, Action: "mfa.enable", Target: a.LoginID, TargetID: a.ID, IP: ip, Result: "failed:code"})
		return Account{}, nil, codeErr(CodeInvalidCode)
	}
	codes, hashes, err := newRecoveryCodes(a.ID)
	if err != nil {
		return Account{}, nil, err
	}
	pending := a.MFA.Pending
	a, err = k.updateGuarded(ctx, a, func(a Account) error {
		if a.MFA.Pending != pending {
			return codeErr(CodeMFANotPending) // another enrolment began meanwhile
		}
		if guard != nil {
			return guard(a)
		}
		return nil
	}, func(a *Account) {
		a.MFA = MFA{Secret: pending, EnabledAt: now, LastStep: step, BrowserEpoch: a.MFA.BrowserEpoch + 1}
		if done != nil {
			done(a)
		}
	})
	if err != nil {
		return Account{}, nil, err
	}
	if err := k.recovery.PutRecoveryCodes(ctx, a.TenantID, a.ID, hashes); err != nil {
		return Account{}, nil, fmt.Errorf("store recovery codes: %w", err)
	}
	k.audit(ctx, AuditEvent{TenantID: a.TenantID, Actor: a.LoginID, Action: "mfa.enable", Target: a.LoginID, TargetID: a.ID, IP: ip, Result: "ok:totp"})
	k.mfaNotice(ctx, a, set, "enabled", mail.MFANotice{})
	return a, codes, nil
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
	_, codes, err := s.enrol(ctx, p.Account, set, code, ip, func(a Account) error {
		if a.MFAEnabled() {
			return codeErr(CodeMFAAlreadyEnabled)
		}
		return nil
	}, nil)
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
	if a, err = s.updateRetrying(ctx, a, clearMFA); err != nil {
		return fmt.Errorf("disable second factor: %w", err)
	}
	s.dropRecoveryCodes(ctx, a)
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
	codes, hashes, err := newRecoveryCodes(a.ID)
	if err != nil {
		return nil, err
	}
	if err := s.recovery.PutRecoveryCodes(ctx, a.TenantID, a.ID, hashes); err != nil {
		return nil, fmt.Errorf("store recovery codes: %w", err)
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
	if a, err = s.updateRetrying(ctx, a, clearMFA); err != nil {
		return fmt.Errorf("reset second factor: %w", err)
	}
	s.dropRecoveryCodes(ctx, a)
	s.audit(ctx, AuditEvent{TenantID: a.TenantID, Actor: p.Account.LoginID, Action: "mfa.reset", Target: a.LoginID, TargetID: a.ID, IP: ip, Result: "ok:admin"})
	s.mfaNotice(ctx, a, set, "reset", mail.MFANotice{})
	return nil
}

// UnlockMFA releases the second-factor locks of accounts of the principal's tenant,
// confirmed with the administrator's own password; like AdminUnlock, every ID must be one
// the administrator manages, or nothing changes.
func (s *Admin) UnlockMFA(ctx context.Context, p Principal, loginIDs []string, confirm, ip string) (AdminUnlockResult, error) {
	targets, err := s.batchTargets(ctx, p, loginIDs, confirm, ip, "mfa.unlock")
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
			released = a.MFALocked()
			a.MFA.LockedAt, a.MFA.Failures = time.Time{}, 0
		})
		if err != nil {
			res.Failed = append(res.Failed, a.LoginID)
			s.batchFailed(ctx, p, a, "mfa.unlock", ip, err)
			continue
		}
		if !released {
			res.NotLocked = append(res.NotLocked, a.LoginID)
			continue
		}
		res.Unlocked = append(res.Unlocked, a.LoginID)
		s.audit(ctx, AuditEvent{TenantID: a.TenantID, Actor: p.Account.LoginID, Action: "mfa.unlock", Target: a.LoginID, TargetID: a.ID, IP: ip, Result: "ok:admin"})
		s.mfaNotice(ctx, a, set, "released", mail.MFANotice{})
	}
	return res, nil
}
