package account

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/kagiya/kagiya/shared/mail"
)

// Passkeys (docs/api.md, "Passkeys"): a person adds them from its security page with its
// current password, names, renames and removes them; signs in with one alone (it counts
// as both factors: the admission rules still apply, and a due password change is still
// asked for), or gives one as the second factor after its password. Failures answer
// invalid_credentials and never count toward the password lockout. The WebAuthn
// ceremonies are the relying party's (PasskeyRP, shared/passkey); this file is what they
// mean for an account.

// PasskeyUser is the account a WebAuthn ceremony is for: the account ID is the user
// handle, the login ID the name the authenticator shows.
type PasskeyUser struct {
	AccountID string
	TenantID  string
	LoginID   string
}

// ErrPasskeyRejected: what the browser sent does not prove a passkey (the relying party
// wraps the reason, for logs).
var ErrPasskeyRejected = errors.New("passkey rejected")

// PasskeyRP is the WebAuthn relying party (shared/passkey's RP), declared here where it
// is used. Every challenge it makes is bound to what the caller names (bind) and used
// once where the caller writes the ceremony's result: a registration's with the
// account's FlowSeq, which AddPasskey bumps; a sign-in's by UsePasskey.
type PasskeyRP interface {
	RegistrationOptions(ctx context.Context, u PasskeyUser, bind string, existing []Passkey) (json.RawMessage, error)
	Register(ctx context.Context, u PasskeyUser, bind string, existing []Passkey, response []byte) (Passkey, error)
	LoginOptions(ctx context.Context) (challenge string, options json.RawMessage, err error)
	Login(ctx context.Context, challenge string, response []byte, find func(ctx context.Context, accountID, id string) (Passkey, error)) (Passkey, PasskeyUse, error)
	FactorOptions(ctx context.Context, bind string, passkeys []Passkey) (json.RawMessage, error)
	Factor(ctx context.Context, u PasskeyUser, bind string, passkeys []Passkey, response []byte) (Passkey, PasskeyUse, error)
}

// Codes of the passkey flows.
const (
	CodePasskeyRejected = "passkey_rejected" // a registration the relying party refused
	CodeUnavailable     = "unavailable"      // no relying party configured
)

// PasskeyKeyName is the server secret that signs passkey challenges.
const PasskeyKeyName = "passkey-challenge-key"

// SecretKey is the server secret called name, made on first use and then kept in memory:
// what the wiring gives the relying party to sign its challenges with.
func SecretKey(s Secrets, name string) func(ctx context.Context) ([]byte, error) {
	return (&serverKey{secrets: s, name: name}).get
}

// MaxPasskeyResponseLen bounds a credential's JSON (RegistrationResponseJSON,
// AuthenticationResponseJSON) as a request carries it.
const MaxPasskeyResponseLen = 64 << 10

// passkeyFactor is the passkeys component: a passkey as a second factor (Factor), and
// what the sign-in with a passkey alone and the security page use.
type passkeyFactor struct {
	*accountStore
	*auditor
	*notifier
	*tenantCache
	store Passkeys
	rp    PasskeyRP // nil: passkeys are unavailable
	log   *slog.Logger
	now   func() time.Time
}

func (pf *passkeyFactor) relyingParty() (PasskeyRP, error) {
	if pf.rp == nil {
		return nil, codeErr(CodeUnavailable)
	}
	return pf.rp, nil
}

func (pf *passkeyFactor) Kind() string { return KindPasskey }

// Enrolled: the account item keeps the count of its passkeys.
func (pf *passkeyFactor) Enrolled(a Account) bool { return a.Passkeys > 0 }

// factorBind binds a second factor's WebAuthn challenge to the account's flow sequence,
// which the step's write bumps: one answer at most completes a step.
func factorBind(a Account) string { return "flow-seq:" + strconv.FormatInt(a.FlowSeq, 10) }

// Challenge is the options for navigator.credentials.get() with a's passkeys allowed.
func (pf *passkeyFactor) Challenge(ctx context.Context, a Account) (any, error) {
	rp, err := pf.relyingParty()
	if err != nil {
		return nil, err
	}
	have, err := pf.store.ListPasskeys(ctx, a.ID)
	if err != nil {
		return nil, fmt.Errorf("passkeys: %w", err)
	}
	if len(have) == 0 {
		return nil, codeErr(CodeMFANotEnabled)
	}
	return rp.FactorOptions(ctx, factorBind(a), have)
}

// Verify checks a passkey's answer to Challenge's options: refused, it is
// invalid_credentials, audited, and counts toward no lock; taken, the passkey's use and
// then the step's write (which uses the flow up) are written.
func (pf *passkeyFactor) Verify(ctx context.Context, a Account, _ Settings, in Answer, ip string, w StepWrite) (Account, error) {
	rp, err := pf.relyingParty()
	if err != nil {
		return Account{}, err
	}
	if err := checkCredential(in.Response); err != nil {
		return Account{}, err
	}
	// The passkey the credential names, by key (one read rather than the list).
	var named struct {
		RawID string `json:"rawId"`
	}
	var have []Passkey
	if json.Unmarshal(in.Response, &named) == nil {
		if raw, err := base64.RawURLEncoding.DecodeString(named.RawID); err == nil {
			pk, err := pf.store.GetPasskeyEventually(ctx, a.ID, PasskeyID(raw))
			if err != nil && !errors.Is(err, ErrNotFound) {
				return Account{}, fmt.Errorf("passkey: %w", err)
			}
			if err == nil {
				have = []Passkey{pk}
			}
		}
	}
	pk, use, err := rp.Factor(ctx, passkeyUser(a), factorBind(a), have, in.Response)
	if errors.Is(err, ErrPasskeyRejected) {
		return Account{}, pf.refused(ctx, Passkey{TenantID: a.TenantID, AccountID: a.ID}, ip, err)
	} else if err != nil {
		return Account{}, fmt.Errorf("passkey factor: %w", err)
	}
	if err := pf.store.UsePasskey(ctx, a.ID, pk.ID, use); errors.Is(err, ErrConflict) || errors.Is(err, ErrNotFound) {
		return Account{}, pf.refused(ctx, pk, ip, fmt.Errorf("%w: used already, or removed (%v)", ErrPasskeyRejected, err))
	} else if err != nil {
		return Account{}, fmt.Errorf("passkey factor: %w", err)
	}
	done := w.Done
	if done == nil {
		done = func(*Account) {}
	}
	return pf.updateGuarded(ctx, a, w.Guard, done)
}

// Clear leaves the account item as it is: its count of passkeys goes with the passkeys
// themselves (Remove), in one transaction.
func (pf *passkeyFactor) Clear(*Account) {}

// Remove takes every passkey of a off, with the count on the account item.
func (pf *passkeyFactor) Remove(ctx context.Context, a Account) error {
	if a.Passkeys == 0 {
		return nil
	}
	cur, err := pf.accounts.GetAccount(ctx, a.TenantID, a.ID)
	if err != nil {
		return err
	}
	_, err = pf.dropPasskeys(ctx, cur)
	return err
}

// Describe: how many passkeys it has.
func (pf *passkeyFactor) Describe(_ context.Context, a Account) (FactorState, error) {
	return FactorState{Kind: KindPasskey, Enrolled: a.Passkeys > 0, Count: a.Passkeys}, nil
}

// passkeyAMR is how a verified passkey's answer names it in amr, from the flags of its
// authenticator data (backup eligible: a synced passkey).
func passkeyAMR(response []byte) string {
	var r struct {
		Response struct {
			AuthenticatorData string `json:"authenticatorData"`
		} `json:"response"`
	}
	json.Unmarshal(response, &r) //nolint:errcheck // verified already; a failure reads as device-bound
	data, err := base64.RawURLEncoding.DecodeString(r.Response.AuthenticatorData)
	if err == nil && len(data) > 32 && data[32]&0x08 != 0 {
		return "swk"
	}
	return "hwk"
}

func passkeyUser(a Account) PasskeyUser {
	return PasskeyUser{AccountID: a.ID, TenantID: a.TenantID, LoginID: a.LoginID}
}

// registrationBind binds a registration's challenge to the account's flow sequence, which
// the registration's own write bumps: a challenge registers one passkey at most.
func registrationBind(a Account) string { return "flow-seq:" + strconv.FormatInt(a.FlowSeq, 10) }

// keyAMR is how a session's amr names a passkey (RFC 8176): a synced passkey (backup
// eligible) is a software-secured key, one bound to its device a hardware-secured key.
func keyAMR(p Passkey) string {
	if p.BackupEligible {
		return "swk"
	}
	return "hwk"
}

func checkCredential(credential []byte) error {
	switch {
	case len(credential) == 0:
		return codeErr(CodeValidation, FieldError{"credential", "required"})
	case len(credential) > MaxPasskeyResponseLen:
		return codeErr(CodeValidation, FieldError{"credential", "too_long"})
	}
	return nil
}

// PasskeyOptions begins adding a passkey to the principal's account, confirmed with its
// current password: the options for navigator.credentials.create().
func (s *SelfService) PasskeyOptions(ctx context.Context, p Principal, current, ip string) (json.RawMessage, error) {
	rp, err := s.factors.passkey.relyingParty()
	if err != nil {
		return nil, err
	}
	a, err := s.reauth(ctx, p, current, ip, "passkey.add")
	if err != nil {
		return nil, err
	}
	existing, err := s.factors.passkey.store.ListPasskeys(ctx, a.ID)
	if err != nil {
		return nil, fmt.Errorf("passkeys: %w", err)
	}
	if len(existing) >= MaxPasskeys {
		return nil, codeErr(CodeValidation, FieldError{"name", "too_many"})
	}
	return rp.RegistrationOptions(ctx, passkeyUser(a), registrationBind(a), existing)
}

// AddPasskey completes adding a passkey: the authenticator's answer to PasskeyOptions'
// options, and the name the person gives it. It is mailed to the person and audited.
func (s *SelfService) AddPasskey(ctx context.Context, p Principal, name string, credential []byte, ip string) (Passkey, error) {
	rp, err := s.factors.passkey.relyingParty()
	if err != nil {
		return Passkey{}, err
	}
	name, err = credentialName(name)
	if err != nil {
		return Passkey{}, err
	}
	if err := checkCredential(credential); err != nil {
		return Passkey{}, err
	}
	a, err := s.accounts.GetAccount(ctx, p.Account.TenantID, p.Account.ID)
	if err != nil {
		return Passkey{}, fmt.Errorf("add passkey: %w", err)
	}
	existing, err := s.factors.passkey.store.ListPasskeys(ctx, a.ID)
	if err != nil {
		return Passkey{}, fmt.Errorf("passkeys: %w", err)
	}
	if len(existing) >= MaxPasskeys {
		return Passkey{}, codeErr(CodeValidation, FieldError{"name", "too_many"})
	}
	pk, err := rp.Register(ctx, passkeyUser(a), registrationBind(a), existing, credential)
	if errors.Is(err, ErrPasskeyRejected) {
		s.log.InfoContext(ctx, "passkey registration refused", "account", a.ID, "why", err.Error())
		s.audit(ctx, AuditEvent{TenantID: a.TenantID, Actor: a.LoginID, Action: "passkey.add", Target: a.LoginID, TargetID: a.ID, IP: ip, Result: "failed:passkey"})
		return Passkey{}, codeErr(CodePasskeyRejected)
	} else if err != nil {
		return Passkey{}, err
	}
	pk.Name, pk.CreatedAt = name, s.now().UTC()
	a.FlowSeq++ // the registration's challenge is used up by this write
	if a.Passkeys == 0 && !a.MFAEnabled() {
		// The account's first second factor: no browser remembered before it counts (as
		// when an authenticator app is turned on).
		a.MFA.BrowserEpoch++
	}
	if a, err = s.factors.passkey.store.AddPasskey(ctx, a, pk); errors.Is(err, ErrConflict) {
		// The account changed since it was read: its challenge may have been used
		// meanwhile, so the ceremony starts again.
		return Passkey{}, codeErr(CodePasskeyRejected)
	} else if err != nil {
		return Passkey{}, fmt.Errorf("add passkey: %w", err)
	}
	s.audit(ctx, AuditEvent{TenantID: a.TenantID, Actor: a.LoginID, Action: "passkey.add", Target: a.LoginID, TargetID: a.ID, IP: ip, Result: "ok:" + name})
	s.factors.passkey.notice(ctx, a, "added", name, ip)
	return pk, nil
}

func (pf *passkeyFactor) notice(ctx context.Context, a Account, event, name, ip string) {
	set, err := pf.settingsOf(ctx, a.TenantID)
	if err != nil {
		pf.log.ErrorContext(ctx, "passkey notice not sent", "err", err)
		return
	}
	pf.notify(ctx, a, &mail.Passkey{Event: event, Name: name, When: pf.formatTime(pf.now().UTC(), set), IP: ip})
}

// ListPasskeys returns the principal's passkeys, oldest first.
func (s *SelfService) ListPasskeys(ctx context.Context, p Principal) ([]Passkey, error) {
	ps, err := s.factors.passkey.store.ListPasskeys(ctx, p.Account.ID)
	if err != nil {
		return nil, fmt.Errorf("passkeys: %w", err)
	}
	return ps, nil
}

// RenamePasskey gives one of the principal's passkeys another name (audited).
func (s *SelfService) RenamePasskey(ctx context.Context, p Principal, id, name, ip string) (Passkey, error) {
	name, err := credentialName(name)
	if err != nil {
		return Passkey{}, err
	}
	a := p.Account
	if err := s.factors.passkey.store.RenamePasskey(ctx, a.ID, id, name); errors.Is(err, ErrNotFound) {
		return Passkey{}, codeErr(CodeNotFound)
	} else if err != nil {
		return Passkey{}, fmt.Errorf("rename passkey: %w", err)
	}
	s.audit(ctx, AuditEvent{TenantID: a.TenantID, Actor: a.LoginID, Action: "passkey.rename", Target: a.LoginID, TargetID: a.ID, IP: ip, Result: "ok:" + name})
	pk, err := s.factors.passkey.store.GetPasskeyEventually(ctx, a.ID, id)
	if err != nil {
		return Passkey{}, fmt.Errorf("rename passkey: %w", err)
	}
	pk.Name = name // an eventually consistent read may predate the rename
	return pk, nil
}

// RemovePasskey removes one of the principal's passkeys; it is mailed to the person and
// audited. The last second factor of an account whose tenant requires one stays
// (mfa_required_by_tenant), as a code's does.
func (s *SelfService) RemovePasskey(ctx context.Context, p Principal, id, ip string) error {
	set, err := s.settingsOf(ctx, p.Account.TenantID)
	if err != nil {
		return err
	}
	var name string
	for range 5 {
		a, err := s.accounts.GetAccount(ctx, p.Account.TenantID, p.Account.ID)
		if err != nil {
			return fmt.Errorf("remove passkey: %w", err)
		}
		have, err := s.factors.passkey.store.ListPasskeys(ctx, a.ID)
		if err != nil {
			return fmt.Errorf("passkeys: %w", err)
		}
		found := false
		for _, pk := range have {
			if pk.ID == id {
				found, name = true, pk.Name
			}
		}
		if !found {
			return codeErr(CodeNotFound)
		}
		if set.MFARequired && !a.MFAEnabled() && len(have) == 1 {
			return codeErr(CodeMFARequiredByTenant)
		}
		a, err = s.factors.passkey.store.RemovePasskeys(ctx, a, []string{id})
		if errors.Is(err, ErrConflict) {
			continue // the account changed, or another removal won: read again
		} else if err != nil {
			return fmt.Errorf("remove passkey: %w", err)
		}
		s.audit(ctx, AuditEvent{TenantID: a.TenantID, Actor: a.LoginID, Action: "passkey.remove", Target: a.LoginID, TargetID: a.ID, IP: ip, Result: "ok:" + name})
		s.factors.passkey.notice(ctx, a, "removed", name, ip)
		return nil
	}
	return fmt.Errorf("remove passkey %s: the account kept changing", id)
}

// dropPasskeys removes all of a's passkeys with a's write (a second-factor reset), and
// returns a as stored.
func (pf *passkeyFactor) dropPasskeys(ctx context.Context, a Account) (Account, error) {
	for range 5 {
		have, err := pf.store.ListPasskeys(ctx, a.ID)
		if err != nil || len(have) == 0 {
			return a, err
		}
		ids := make([]string, 0, len(have))
		for _, pk := range have {
			ids = append(ids, pk.ID)
		}
		stored, err := pf.store.RemovePasskeys(ctx, a, ids)
		if !errors.Is(err, ErrConflict) {
			return stored, err
		}
		if a, err = pf.accounts.GetAccount(ctx, a.TenantID, a.ID); err != nil {
			return a, err
		}
	}
	return a, fmt.Errorf("remove passkeys of %s: the account kept changing", a.ID)
}

// PasskeyLoginOptions are a sign-in with a passkey alone: a challenge and the options for
// navigator.credentials.get(). Nothing is stored or read, and no sign-in attempt is
// counted (the sign-in page asks on every visit, for the login ID field's autofill);
// the sign-in that answers them is throttled as a password's is.
func (s *SignIn) PasskeyLoginOptions(ctx context.Context) (string, json.RawMessage, error) {
	rp, err := s.factors.passkey.relyingParty()
	if err != nil {
		return "", nil, err
	}
	return rp.LoginOptions(ctx)
}

// PasskeyLogin signs in with a passkey alone: the authenticator's answer to
// PasskeyLoginOptions' options. Every failure is invalid_credentials and counts toward
// no lockout; the admission rules apply as to a password (suspension, lock where it
// applies to every client, a due password change as a step).
func (s *SignIn) PasskeyLogin(ctx context.Context, challenge string, credential []byte, from Client) (LoginResult, error) {
	rp, err := s.factors.passkey.relyingParty()
	if err != nil {
		return LoginResult{}, err
	}
	ip := from.IP
	if err := s.throttle(ctx, "login-ip#"+ip, s.cfg.LoginPerIPMinute); err != nil {
		return LoginResult{}, err
	}
	if err := checkCredential(credential); err != nil {
		return LoginResult{}, err
	}
	if challenge == "" || len(challenge) > MaxChallengeLen {
		return LoginResult{}, codeErr(CodeValidation, FieldError{"challenge", "required"})
	}
	pk, use, err := rp.Login(ctx, challenge, credential, s.factors.passkey.store.GetPasskeyEventually)
	if errors.Is(err, ErrPasskeyRejected) {
		return LoginResult{}, s.factors.passkey.refused(ctx, pk, ip, err)
	} else if err != nil {
		return LoginResult{}, fmt.Errorf("passkey login: %w", err)
	}
	// Eventually consistent, as a session's check is: a suspension reaches it within
	// about a second.
	a, err := s.accounts.GetAccountEventually(ctx, pk.TenantID, pk.AccountID)
	if errors.Is(err, ErrNotFound) {
		return LoginResult{}, s.factors.passkey.refused(ctx, Passkey{}, ip, fmt.Errorf("%w: account %s is gone", ErrPasskeyRejected, pk.AccountID))
	} else if err != nil {
		return LoginResult{}, fmt.Errorf("passkey login: %w", err)
	}
	// The use is the proof's write: the challenge is used up here, once.
	if err := s.factors.passkey.store.UsePasskey(ctx, a.ID, pk.ID, use); errors.Is(err, ErrConflict) || errors.Is(err, ErrNotFound) {
		return LoginResult{}, s.factors.passkey.refused(ctx, pk, ip, fmt.Errorf("%w: used already, or removed (%v)", ErrPasskeyRejected, err))
	} else if err != nil {
		return LoginResult{}, fmt.Errorf("passkey login: %w", err)
	}
	t, err := s.tenant(ctx, a.TenantID)
	if err != nil {
		return LoginResult{}, err
	}
	set := t.Settings.Effective()
	adm, err := s.admit(ctx, Attempt{Account: a, Method: MethodPasskey, IP: ip}.withSettings(set))
	if reason, refused := Refused(err); refused {
		s.audit(ctx, AuditEvent{TenantID: a.TenantID, Actor: a.LoginID, Action: "login", Target: a.LoginID, TargetID: a.ID, IP: ip, Result: "failed:passkey:" + reason})
		return LoginResult{}, codeErr(CodeInvalidCredentials)
	} else if err != nil {
		return LoginResult{}, fmt.Errorf("passkey login: %w", err)
	}
	now := s.now().UTC()
	previousLogin := a.LastLoginAt
	if err := s.attempts.RecordLogin(ctx, a.TenantID, a.ID, now); err != nil {
		return LoginResult{}, fmt.Errorf("passkey login: %w", err)
	}
	a.LastLoginAt, a.FailedAttempts = now, 0
	deviceID, device := "", from.Device
	if from.Device != "" {
		if c := s.knownDevice(ctx, a.ID, from.Device); c.ID != "" && c.Epoch == a.SessionEpoch {
			deviceID = c.ID
		}
	}
	if deviceID == "" {
		if device, err = s.newDeviceCookie(ctx, a); err != nil {
			return LoginResult{}, err
		}
		if *set.NotifyNewDevice && !previousLogin.IsZero() {
			s.notify(ctx, a, &mail.NewDevice{When: s.formatTime(now, set), IP: ip, Browser: browserName(from.UserAgent)})
		}
	}
	res, err := s.advance(ctx, a, t, flowClaims{Steps: adm.Steps, Reason: adm.Reason, Device: deviceID, Key: keyAMR(pk)}, from, "ok:passkey")
	res.DeviceCookie = device
	return res, err
}

// passkeyRefused audits a refused passkey under its account when one was found (an
// unknown credential belongs to no tenant: the log keeps it) and answers as a wrong
// password does.
func (pf *passkeyFactor) refused(ctx context.Context, pk Passkey, ip string, why error) error {
	pf.log.InfoContext(ctx, "passkey refused", "account", pk.AccountID, "why", why.Error())
	if pk.AccountID != "" {
		if a, err := pf.accounts.GetAccountEventually(ctx, pk.TenantID, pk.AccountID); err == nil {
			pf.audit(ctx, AuditEvent{TenantID: a.TenantID, Actor: a.LoginID, Action: "login", Target: a.LoginID, TargetID: a.ID, IP: ip, Result: "failed:passkey"})
		}
	}
	return codeErr(CodeInvalidCredentials)
}
