package account

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"
)

// TestAdmissionRules holds the rule set's table: for each account state and way in, what
// admit says (a refusal's reason, or the steps due).
func TestAdmissionRules(t *testing.T) {
	now := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	ok := Account{ID: "acc_a", TenantID: "ten_a", PasswordHash: "$argon2id$x", PasswordChangedAt: now}
	with := func(f func(*Account)) Account { a := ok; f(&a); return a }
	disabled := with(func(a *Account) { a.Disabled = true })
	locked := with(func(a *Account) { a.LockedAt = now })
	invited := with(func(a *Account) { a.PasswordHash, a.InvitedAt = "", now })
	forced := with(func(a *Account) { a.ForceChange = true })
	mfa := with(func(a *Account) { a.MFA.Secret = "v1.sealed" })
	lockedMFA := with(func(a *Account) { a.MFA.Secret, a.LockedAt = "v1.sealed", now })
	passkey := with(func(a *Account) { a.Passkeys = 1 })
	idpPasskey := with(func(a *Account) { a.Passkeys, a.LoginMethod, a.PasswordHash = 1, LoginMethodIdP, "" })

	untrusted := Settings{}.Effective()
	whole := Settings{LockoutScope: ScopeAccount}.Effective()
	required := Settings{MFARequired: true}.Effective()
	broken := errors.New("tenant unreadable")
	nets := Settings{AllowedNetworks: []string{"192.0.2.0/24", "2001:db8::/32"}}.Effective()
	netsSkip := nets
	netsSkip.TrustedNetworksSkipMFA = true
	netsSkipRequired := netsSkip
	netsSkipRequired.MFARequired = true
	owner := with(func(a *Account) { a.Role = RoleOwner })
	in, out := "192.0.2.7", "198.51.100.7"

	cases := []struct {
		name    string
		at      Attempt
		set     Settings
		setErr  error
		wantErr bool     // the store's error (the settings unreadable)
		refuse  string   // the refusal's reason, or "" when admitted
		steps   []string // when admitted
		reason  string
	}{
		{name: "password, fine", at: Attempt{Account: ok, Method: MethodPassword}, set: untrusted},
		{name: "password, disabled", at: Attempt{Account: disabled, Method: MethodPassword}, set: untrusted, refuse: "disabled"},
		{name: "password, locked, unknown client", at: Attempt{Account: locked, Method: MethodPassword}, set: untrusted, refuse: "locked"},
		{name: "password, locked, known browser", at: Attempt{Account: locked, Method: MethodPassword, Known: true}, set: untrusted},
		{name: "password, locked, known browser, whole account", at: Attempt{Account: locked, Method: MethodPassword, Known: true}, set: whole, refuse: "locked"},
		{name: "password, invited", at: Attempt{Account: invited, Method: MethodPassword}, set: untrusted, refuse: "no_password"},
		{name: "password, forced change", at: Attempt{Account: forced, Method: MethodPassword}, set: untrusted,
			steps: []string{StepPasswordChange}, reason: ReasonForced},
		{name: "password, compromised", at: Attempt{Account: ok, Method: MethodPassword, Flaw: func() string { return ReasonCompromised }}, set: untrusted,
			steps: []string{StepPasswordChange}, reason: ReasonCompromised},
		{name: "password, forced beats the flaw", at: Attempt{Account: forced, Method: MethodPassword, Flaw: func() string { return ReasonCompromised }}, set: untrusted,
			steps: []string{StepPasswordChange}, reason: ReasonForced},
		{name: "password, second factor", at: Attempt{Account: mfa, Method: MethodPassword}, set: untrusted, steps: []string{StepMFA}},
		{name: "password, second factor, remembered", at: Attempt{Account: mfa, Method: MethodPassword, Remembered: true}, set: untrusted},
		{name: "password, change and second factor", at: Attempt{Account: with(func(a *Account) { a.ForceChange, a.MFA.Secret = true, "s" }), Method: MethodPassword},
			set: untrusted, steps: []string{StepPasswordChange, StepMFA}, reason: ReasonForced},
		{name: "password, enrolment required", at: Attempt{Account: ok, Method: MethodPassword}, set: required, steps: []string{StepMFAEnrol}},

		{name: "service password, forced change", at: Attempt{Account: forced, Method: MethodServicePassword}, set: untrusted, refuse: "password_change_required:forced"},
		{name: "service password, compromised is no change", at: Attempt{Account: ok, Method: MethodServicePassword, Flaw: func() string { return ReasonCompromised }}, set: untrusted},
		{name: "service password, second factor", at: Attempt{Account: mfa, Method: MethodServicePassword}, set: untrusted, refuse: "app_password_required"},
		{name: "service password, a passkey", at: Attempt{Account: passkey, Method: MethodServicePassword}, set: untrusted, refuse: "app_password_required"},
		{name: "passkey alone, an idp account", at: Attempt{Account: idpPasskey, Method: MethodPasskey}, set: untrusted, refuse: "idp"},
		{name: "service password, enrolment required is no step", at: Attempt{Account: ok, Method: MethodServicePassword}, set: required},

		{name: "app password, locked", at: Attempt{Account: lockedMFA, Method: MethodAppPassword}, set: whole},
		{name: "app password, disabled", at: Attempt{Account: disabled, Method: MethodAppPassword}, set: untrusted, refuse: "disabled"},
		{name: "app password, forced change", at: Attempt{Account: forced, Method: MethodAppPassword}, set: untrusted},

		{name: "session, locked, untrusted devices", at: Attempt{Account: locked, Method: MethodSession}, set: untrusted},
		{name: "session, locked, whole account", at: Attempt{Account: locked, Method: MethodSession}, set: whole, refuse: "locked"},
		{name: "session, locked, settings unreadable", at: Attempt{Account: locked, Method: MethodSession}, setErr: broken, refuse: "locked"},
		{name: "session, disabled", at: Attempt{Account: disabled, Method: MethodSession}, set: untrusted, refuse: "disabled"},
		{name: "session, forced change and second factor", at: Attempt{Account: with(func(a *Account) { a.ForceChange, a.MFA.Secret = true, "s" }), Method: MethodSession}, set: untrusted},
		{name: "session, settings unreadable", at: Attempt{Account: ok, Method: MethodSession}, setErr: broken, wantErr: true},
		{name: "owner's session, settings unreadable", at: Attempt{Account: owner, Method: MethodSession}, setErr: broken},

		{name: "password, inside the networks", at: Attempt{Account: ok, Method: MethodPassword, IP: in}, set: nets},
		{name: "password, IPv6 inside", at: Attempt{Account: ok, Method: MethodPassword, IP: "2001:db8::9"}, set: nets},
		{name: "password, outside", at: Attempt{Account: ok, Method: MethodPassword, IP: out}, set: nets, refuse: ReasonNetwork},
		{name: "password, no address", at: Attempt{Account: ok, Method: MethodPassword}, set: nets, refuse: ReasonNetwork},
		{name: "password, owner outside", at: Attempt{Account: owner, Method: MethodPassword, IP: out}, set: nets},
		{name: "passkey, outside", at: Attempt{Account: ok, Method: MethodPasskey, IP: out}, set: nets, refuse: ReasonNetwork},
		{name: "idp, outside", at: Attempt{Account: ok, Method: MethodIdP, IP: out}, set: nets, refuse: ReasonNetwork},
		{name: "session, outside", at: Attempt{Account: ok, Method: MethodSession, IP: out}, set: nets, refuse: ReasonNetwork},
		{name: "service password, outside", at: Attempt{Account: ok, Method: MethodServicePassword, IP: out}, set: nets, refuse: ReasonNetwork},
		{name: "app password, outside", at: Attempt{Account: ok, Method: MethodAppPassword, IP: out}, set: nets, refuse: ReasonNetwork},
		{name: "refresh, no address", at: Attempt{Account: ok, Method: MethodOIDCRefresh}, set: nets},
		{name: "disabled outside is disabled", at: Attempt{Account: disabled, Method: MethodPassword, IP: out}, set: nets, refuse: "disabled"},
		{name: "second factor inside, no skip", at: Attempt{Account: mfa, Method: MethodPassword, IP: in}, set: nets, steps: []string{StepMFA}},
		{name: "second factor inside, skipped", at: Attempt{Account: mfa, Method: MethodPassword, IP: in}, set: netsSkip},
		{name: "enrolment inside, skipped", at: Attempt{Account: ok, Method: MethodPassword, IP: in}, set: netsSkipRequired},
		{name: "owner's second factor outside, not skipped", at: Attempt{Account: with(func(a *Account) { a.Role, a.MFA.Secret = RoleOwner, "s" }), Method: MethodPassword, IP: out},
			set: netsSkip, steps: []string{StepMFA}},
		{name: "skip leaves a change due", at: Attempt{Account: with(func(a *Account) { a.ForceChange, a.MFA.Secret = true, "s" }), Method: MethodPassword, IP: in},
			set: netsSkip, steps: []string{StepPasswordChange}, reason: ReasonForced},

		{name: "refresh, locked", at: Attempt{Account: locked, Method: MethodOIDCRefresh}, set: untrusted, refuse: "locked"},
		{name: "refresh, disabled", at: Attempt{Account: disabled, Method: MethodOIDCRefresh}, set: untrusted, refuse: "disabled"},

		{name: "passkey, invited", at: Attempt{Account: invited, Method: MethodPasskey}, set: untrusted, refuse: "invited"},
		{name: "passkey, forced change", at: Attempt{Account: forced, Method: MethodPasskey}, set: untrusted,
			steps: []string{StepPasswordChange}, reason: ReasonForced},
		{name: "passkey, second factor is itself", at: Attempt{Account: mfa, Method: MethodPasskey}, set: required},
		{name: "idp, invited accepts the invitation", at: Attempt{Account: invited, Method: MethodIdP}, set: required},
		{name: "passkey, locked, untrusted devices", at: Attempt{Account: locked, Method: MethodPasskey}, set: untrusted},
		{name: "passkey, locked, whole account", at: Attempt{Account: locked, Method: MethodPasskey}, set: whole, refuse: "locked"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			reads := 0
			ad := admitter{now: func() time.Time { return now }, rules: admissionRules,
				settings: func(context.Context, string) (Settings, error) { reads++; return c.set, c.setErr }}
			adm, err := ad.admit(context.Background(), c.at)
			reason, refused := Refused(err)
			if (err != nil && !refused) != c.wantErr {
				t.Fatalf("admit: %v", err)
			}
			if reason != c.refuse {
				t.Fatalf("refusal %q, want %q", reason, c.refuse)
			}
			if !slices.Equal(adm.Steps, c.steps) || adm.Reason != c.reason {
				t.Errorf("admitted with %v (%q), want %v (%q)", adm.Steps, adm.Reason, c.steps, c.reason)
			}
			if reads > 1 {
				t.Errorf("settings read %d times, want at most once", reads)
			}
		})
	}
}

// TestSessionAdmissionReadsSettingsOnce: a session check of an unlocked account reads the
// tenant's settings once (the network rule), through the tenant cache in the service, so
// a warm instance reads no tenant; an owner's reads none.
func TestSessionAdmissionReadsSettingsOnce(t *testing.T) {
	reads := 0
	ad := admitter{now: time.Now, rules: admissionRules, settings: func(context.Context, string) (Settings, error) {
		reads++
		return Settings{}.Effective(), nil
	}}
	a := Account{ID: "acc_a", TenantID: "ten_a", PasswordHash: "h", ForceChange: true, MFA: MFA{Secret: "s"}}
	if _, err := ad.admit(context.Background(), Attempt{Account: a, Method: MethodSession}); err != nil || reads != 1 {
		t.Fatalf("user's session: %v, %d reads", err, reads)
	}
	a.Role, reads = RoleOwner, 0
	if _, err := ad.admit(context.Background(), Attempt{Account: a, Method: MethodSession}); err != nil || reads != 0 {
		t.Fatalf("owner's session: %v, %d reads", err, reads)
	}
}

// TestRefusalNames: the audit's reasons for a password that did not let an account in.
func TestRefusalNames(t *testing.T) {
	now := time.Now()
	for _, c := range []struct {
		a    Account
		want string
	}{
		{Account{}, "unknown"},
		{Account{ID: "acc_a", PasswordHash: "h", Disabled: true, LockedAt: now}, "disabled"},
		{Account{ID: "acc_a", LockedAt: now}, "locked"},
		{Account{ID: "acc_a"}, "no_password"},
		{Account{ID: "acc_a", PasswordHash: "h"}, "password"},
	} {
		if got := refusal(context.Background(), c.a); got != c.want {
			t.Errorf("refusal(%+v) = %q, want %q", c.a, got, c.want)
		}
	}
}

// TestRefusalAnswer: a refusal answers with the method's own error unless its rule names
// a code of its own.
func TestRefusalAnswer(t *testing.T) {
	own := codeErr(CodeInvalidCredentials)
	if got := (&Refusal{Reason: "locked"}).Answer(own); CodeOf(got) != CodeInvalidCredentials {
		t.Errorf("no code: %v", got)
	}
	if got := (&Refusal{Reason: "network", Code: CodeForbidden}).Answer(own); CodeOf(got) != CodeForbidden {
		t.Errorf("a rule's code: %v", got)
	}
}
