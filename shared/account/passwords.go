package account

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/kagiya/kagiya/shared/password"
	"github.com/kagiya/kagiya/shared/policy"
)

// passwords hashes and checks passwords under the tenant's rules, keeps their history
// and puts a new one in place.
type passwords struct {
	*accountStore
	*auditor
	hash         password.Params
	dummyHash    string // a hash of the same cost, for accounts that cannot sign in
	histories    Histories
	appPasswords Credentials // a change of the main password may revoke them
	log          *slog.Logger
	now          func() time.Time
}

// MaxHistoryDepth bounds the password history a tenant may keep: each kept password is
// one more hash to compute on every change.
const MaxHistoryDepth = 24

// preset returns the tenant's password rules (the default if the name is unknown).
func preset(set Settings) policy.Preset {
	if p, ok := policy.Get(set.Effective().PolicyPreset); ok {
		return p
	}
	p, _ := policy.Get(DefaultPolicyPreset)
	return p
}

// newPasswordHash checks plain as a's next password under the tenant's rules, including
// the current password and the kept history, and returns its hash. Every broken rule is
// reported at once, as password_policy with one field item per rule.
func (pw *passwords) newPasswordHash(ctx context.Context, a Account, set Settings, field, plain string) (string, error) {
	p := preset(set)
	plain = p.Normalized(plain)
	codes := p.Check(policy.Input{Password: plain, LoginID: a.LoginID, MFA: a.HasSecondFactor()})
	if a.PasswordHash != "" {
		if same, _, err := password.Verify(pw.hash, a.PasswordHash, plain); err == nil && same {
			codes = append(codes, policy.SameAsCurrent)
		}
	}
	if depth := min(set.HistoryDepth, MaxHistoryDepth); depth > 0 && a.ID != "" {
		history, err := pw.histories.GetHistory(ctx, a.TenantID, a.ID)
		if err != nil {
			return "", fmt.Errorf("password history: %w", err)
		}
		for _, old := range history[:min(depth, len(history))] {
			if used, _, err := password.Verify(pw.hash, old, plain); err == nil && used {
				codes = append(codes, policy.Reused)
				break
			}
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

// storePassword puts hash in place as a's password (changed now, every session ended)
// with whatever else change does, re-reading and retrying if the account changed
// meanwhile (a failed sign-in, say); change may run more than once. The replaced hash
// then joins the history the tenant keeps. A guard, if given, must hold for the account
// as it is just before the write (see updateGuarded).
func (pw *passwords) storePassword(ctx context.Context, a Account, set Settings, hash string, guard func(Account) error, change func(*Account)) (Account, error) {
	now := pw.now().UTC()
	stored, err := pw.updateGuarded(ctx, a, guard, func(next *Account) {
		next.PasswordHash, next.PasswordChangedAt, next.UpdatedAt = hash, now, now
		next.SessionEpoch++
		next.TokensAfter = now // every other reset link, unlock link and sign-in flow ends
		// The device epoch moves with SessionEpoch: every browser that signed in before
		// is an unknown client again, and what they had tried is forgotten.
		next.DeviceFailures, next.DeviceHour, next.DeviceHourAttempts = nil, "", 0
		if change != nil {
			change(next)
		}
	})
	if err == nil {
		pw.remember(ctx, a, set)
		if *set.Effective().RevokeAppPasswordsOnChange {
			pw.revokeAppPasswords(ctx, stored)
		}
	}
	return stored, err
}

// revokeAppPasswords removes a's app passwords after its main password changed (the
// tenant's revoke_app_passwords_on_change): whoever learned the old password may have
// made one. A failure is logged: the change itself has happened.
func (pw *passwords) revokeAppPasswords(ctx context.Context, a Account) {
	cs, err := pw.appPasswords.ListCredentials(ctx, CredAppPassword, a.ID)
	n := 0
	for _, c := range cs {
		if err = pw.appPasswords.DeleteCredential(ctx, CredAppPassword, a.ID, c.ID); err != nil && !errors.Is(err, ErrNotFound) {
			break
		}
		err = nil
		n++
	}
	if err != nil {
		pw.log.ErrorContext(ctx, "app passwords not revoked after a password change", "account", a.ID, "err", err)
	}
	if n > 0 {
		pw.audit(ctx, AuditEvent{TenantID: a.TenantID, Actor: "system", Action: "app_password.delete", Target: a.LoginID, TargetID: a.ID,
			Result: fmt.Sprintf("ok:%d revoked by the password change", n)})
	}
}

// remember adds a's replaced password to its history, trimmed to the tenant's depth. A
// failure costs only that one history entry, so it is logged, not returned.
func (pw *passwords) remember(ctx context.Context, a Account, set Settings) {
	depth := min(set.HistoryDepth, MaxHistoryDepth)
	if depth <= 0 || a.PasswordHash == "" {
		return
	}
	history, err := pw.histories.GetHistory(ctx, a.TenantID, a.ID)
	if err == nil {
		history = append([]string{a.PasswordHash}, history...)
		err = pw.histories.PutHistory(ctx, a.TenantID, a.ID, history[:min(len(history), depth)])
	}
	if err != nil {
		pw.log.WarnContext(ctx, "password history not stored", "err", err)
	}
}

// Why a sign-in must set a new password first (docs/api.md, Login results).
const (
	ReasonForced      = "forced"
	ReasonExpired     = "expired"
	ReasonCompromised = "compromised"
	ReasonPolicy      = "policy" // an imported password that breaks the tenant's rules
)

// ChangeReason says why a sign-in must set a new password first.
func changeReason(a Account, set Settings, now time.Time) string {
	if a.ForceChange {
		return ReasonForced
	}
	if exp := PasswordExpiresAt(a, set); !exp.IsZero() && !now.Before(exp) {
		return ReasonExpired
	}
	return ""
}

// passwordFlaw says why plain, a's right password, must be replaced though no change is
// due: it is on the list of breached passwords, or it was brought from another system
// and breaks the tenant's rules ("" for neither).
func passwordFlaw(a Account, set Settings, plain string) string {
	if preset(set).Compromised(plain) {
		return ReasonCompromised
	}
	if importedBreaksRules(a, set, plain) {
		return ReasonPolicy
	}
	return ""
}

// importedBreaksRules reports whether a still has its imported hash and plain, its right
// password, breaks the tenant's rules: such a hash is kept (not upgraded) until the person
// changes the password, so that each sign-in asks for the change again.
func importedBreaksRules(a Account, set Settings, plain string) bool {
	return password.IsImported(a.PasswordHash) &&
		len(preset(set).Check(policy.Input{Password: preset(set).Normalized(plain), LoginID: a.LoginID, MFA: a.HasSecondFactor()})) > 0
}

// linkLive reports whether the link issued as t still works for a (as stored now).
func linkLive(a Account, t Token) bool { return !t.CreatedAt.Before(a.TokensAfter) }

// spend moves a's TokensAfter past the link t (and every link issued before it), at now
// or, on a clock that has not moved since t was made, just after it.
func spend(a *Account, t Token, now time.Time) {
	a.TokensAfter = now
	if !now.After(t.CreatedAt) {
		a.TokensAfter = t.CreatedAt.Add(time.Nanosecond)
	}
}

// PolicyDescription is a tenant's password rules, for people and for the live checklist.
type PolicyDescription struct {
	Preset  string            `json:"preset"`
	LoginID string            `json:"login_id"`
	Rules   []policy.RuleInfo `json:"rules"`
}

func (pw *passwords) describe(a Account, set Settings, lang string) PolicyDescription {
	p := preset(set)
	return PolicyDescription{Preset: p.Name, LoginID: a.LoginID, Rules: p.Describe(lang, a.HasSecondFactor(), min(set.HistoryDepth, MaxHistoryDepth))}
}

// DescribePreset describes a preset's rules for a login ID not yet made (the local
// server's first-run page).
func DescribePreset(name, loginID, lang string) PolicyDescription {
	p := preset(Settings{PolicyPreset: name})
	return PolicyDescription{Preset: p.Name, LoginID: loginID, Rules: p.Describe(lang, false, 0)}
}

// ValidPreset reports whether name is a policy preset.
func ValidPreset(name string) bool {
	_, ok := policy.Get(name)
	return ok
}

// checkHash verifies plain against a's hash. A hash made with a pepper this deployment
// does not hold (a pepper that was changed), or an imported hash above the cost caps,
// cannot match: it answers like a wrong password, and the log says why, rather than
// failing the request or spending seconds on it.
//
// An imported hash (password.IsImported) is checked with its own scheme, and a dummy
// argon2id hash is computed too: a check is never faster than one for an unknown account.
func (pw *passwords) checkHash(ctx context.Context, a Account, set Settings, plain string) (match, stale bool, err error) {
	if password.IsImported(a.PasswordHash) {
		pw.burnDummy(plain)
	}
	match, stale, err = password.Verify(pw.hash, a.PasswordHash, preset(set).Normalized(plain))
	if errors.Is(err, password.ErrUnknownPepper) {
		pw.log.ErrorContext(ctx, "password hash made with another pepper; the account must reset its password", "account", a.ID)
		return false, false, nil
	}
	if ce := (*password.CostError)(nil); errors.As(err, &ce) {
		pw.log.ErrorContext(ctx, "imported password hash above the cost caps; the account must reset its password", "account", a.ID, "limit", ce.Limit)
		return false, false, nil
	}
	return match, stale, err
}

// burnDummy does the work of a password check for an account that cannot sign in, so the
// answer takes as long as for one that can.
func (pw *passwords) burnDummy(plain string) {
	password.Verify(pw.hash, pw.dummyHash, plain) //nolint:errcheck // the dummy hash is well-formed
}

// rehash upgrades a hash made with older parameters, or an imported one (whose old form
// is then gone for good, audited as password.upgrade); failure only costs the upgrade.
// A sign-in and a service check both do it.
func (pw *passwords) rehash(ctx context.Context, acct Account, plain, ip string) {
	old := acct.PasswordHash
	h, err := password.Hash(pw.hash, plain)
	if err != nil {
		pw.log.ErrorContext(ctx, "rehash", "err", err)
		return
	}
	// The check has just written the account (attempt, last sign-in): start from there.
	if acct, err = pw.accounts.GetAccount(ctx, acct.TenantID, acct.ID); err != nil {
		pw.log.WarnContext(ctx, "rehash not stored", "err", err)
		return
	}
	if acct.PasswordHash != old {
		return // changed meanwhile: nothing to upgrade
	}
	acct.PasswordHash = h
	if _, err := pw.accounts.UpdateAccount(ctx, acct); err != nil {
		pw.log.WarnContext(ctx, "rehash not stored", "err", err)
		return
	}
	if password.IsImported(old) {
		scheme := "imported"
		if in, err := password.ParseImported(old, true); err == nil {
			scheme = in.Scheme
		}
		pw.audit(ctx, AuditEvent{TenantID: acct.TenantID, Actor: acct.LoginID, Action: "password.upgrade", Target: acct.LoginID, TargetID: acct.ID, IP: ip,
			Result: "ok:" + scheme + " to argon2id"})
	}
}
