package account

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Admission: may this account get in now, this way, from there?
//
// Every way in describes itself as an Attempt (who, how, from where) once its credential
// is proven, and asks admit. admit runs admissionRules in order. A rule does one of three
// things: lets the attempt by (a zero Due and nil), refuses it (a *Refusal: the caller
// writes its Reason to the audit log and answers with its Answer; the first refusal
// decides and later rules do not run), or lets it by with a step due first (a Due: a
// sign-in flow then asks for that step before it opens a session; a way in with no flow,
// such as the service check, refuses instead). Any other error is the store's, and is a
// 5xx.
//
// The rules hold for every method; where a rule means something different for one, it
// says so in its own switch, so that what a new method is subject to can be read here.
// A new rule goes in admissionRules at its place in the order; a new method gets a
// Method constant and a case in the rules it changes.
//
// What admission is not: the lockout's reservation of a password attempt (lockout.go)
// happens before the password is checked and is what keeps guesses out of a locked
// account; the lock rule here is what keeps out the ways in that guess nothing (a
// session, a refresh token, a passkey). A sign-in flow's steps (challenges.go) are
// checked by the step that completes them.

// Method is how an attempt proves who it is.
type Method string

// The ways in.
const (
	// MethodPassword: the password at the sign-in page (POST /api/login).
	MethodPassword Method = "password"
	// MethodPasskey: a passkey alone at the sign-in page.
	MethodPasskey Method = "passkey"
	// MethodIdP: a tenant's identity provider.
	MethodIdP Method = "idp"
	// MethodServicePassword: the main password, given to a trusted service (the service
	// check, POST /api/service/verify).
	MethodServicePassword Method = "service_password"
	// MethodAppPassword: an app password, given to a trusted service.
	MethodAppPassword Method = "app_password"
	// MethodSession: a session cookie, on each request (and at the OpenID Connect
	// provider's authorization, which signs in through the session).
	MethodSession Method = "session"
	// MethodOIDCRefresh: an OpenID Connect client's refresh token.
	MethodOIDCRefresh Method = "oidc_refresh"
)

// Attempt is one try at getting in.
type Attempt struct {
	Account Account // who (its TenantID names the tenant)
	Method  Method  // how
	// IP is from where: the client's address (a service check's client_ip); "" when
	// unknown (a refresh token's use, a service check without client_ip).
	IP string
	// Known: the client is known to the account in its current epoch (a browser's device
	// cookie, a mail client's address), so a lock under the untrusted_devices scope does
	// not keep it out.
	Known bool
	// Remembered: the browser holds a live remember-this-browser cookie, so the second
	// factor is not asked again (MethodPassword).
	Remembered bool
	// Flaw, for MethodPassword, says why the password given must be replaced though no
	// change is due (ReasonCompromised, ReasonPolicy; "" for none). It is asked only when
	// no change is due already. nil: none.
	Flaw func() string

	now      time.Time
	settings func(ctx context.Context, tenantID string) (Settings, error)
	set      *Settings // the settings, once read (or given by a caller that has them: withSettings)
}

// withSettings gives the attempt its tenant's settings, already read by the caller.
func (at Attempt) withSettings(set Settings) Attempt {
	at.set = &set
	return at
}

// Settings returns the effective settings of the attempt's tenant, read once (through
// the tenant cache) and only by the rules that need them.
func (at *Attempt) Settings(ctx context.Context) (Settings, error) {
	if at.set == nil {
		set, err := at.settings(ctx, at.Account.TenantID)
		if err != nil {
			return Settings{}, err
		}
		at.set = &set
	}
	return *at.set, nil
}

// Now is when the attempt is judged.
func (at *Attempt) Now() time.Time { return at.now }

// Due is a step a rule lets an attempt by with.
type Due struct {
	Step   string // StepPasswordChange, StepMFA, StepMFAEnrol
	Reason string // why, for a password change (ReasonForced...)
}

// Refusal is a rule's no. Reason names it for the audit log ("disabled", "locked"...).
// The answer to the caller is the method's own (invalid_credentials, unauthenticated),
// unless Code names another: a rule whose refusal the person is told (a network the
// tenant does not allow: network_not_allowed) sets it. See Answer.
type Refusal struct{ Reason, Code string }

// Answer is the error a way in answers a refusal with: the rule's Code if it has one,
// else own (the method's usual answer).
func (r *Refusal) Answer(own error) error {
	if r.Code != "" {
		return codeErr(r.Code)
	}
	return own
}

// refusalOf returns err's refusal, if it is one.
func refusalOf(err error) (*Refusal, bool) {
	var r *Refusal
	ok := errors.As(err, &r)
	return r, ok
}

func (r *Refusal) Error() string { return "admission refused: " + r.Reason }

// Refused reports whether err is a rule's refusal, and its reason.
func Refused(err error) (string, bool) {
	if r, ok := refusalOf(err); ok {
		return r.Reason, true
	}
	return "", false
}

func refuse(reason string) (Due, error) { return Due{}, &Refusal{Reason: reason} }

// Rule judges an attempt: see the package's Admission comment.
type Rule func(ctx context.Context, at *Attempt) (Due, error)

// NamedRule is a rule with the name tests and logs know it by.
type NamedRule struct {
	Name string
	Rule Rule
}

// admissionRules are the rules, in the order they apply.
var admissionRules = []NamedRule{
	{"suspension", suspended},
	{"lock", locked},
	{"network", networkAllowed},
	{"invitation", invitationPending},
	{"password_change", passwordChangeDue},
	{"second_factor", secondFactorDue},
}

// Admission is what admit lets an attempt by with.
type Admission struct {
	Steps  []string // due before a session opens, in order (a sign-in flow's)
	Reason string   // why a password change is due, when Steps has StepPasswordChange
}

// admitter runs the rules over the tenant cache's settings.
type admitter struct {
	settings func(ctx context.Context, tenantID string) (Settings, error)
	now      func() time.Time
	rules    []NamedRule
}

// admit runs the rules over at. It returns the steps due, a *Refusal, or a store's error.
func (ad admitter) admit(ctx context.Context, at Attempt) (Admission, error) {
	at.now, at.settings = ad.now().UTC(), ad.settings
	var adm Admission
	for _, r := range ad.rules {
		due, err := r.Rule(ctx, &at)
		if err != nil {
			if _, ok := Refused(err); ok {
				return Admission{}, err
			}
			return Admission{}, fmt.Errorf("admission %s: %w", r.Name, err)
		}
		if due.Step != "" {
			adm.Steps = append(adm.Steps, due.Step)
			if due.Step == StepPasswordChange {
				adm.Reason = due.Reason
			}
		}
	}
	return adm, nil
}

// suspended: a suspended (disabled) account gets in by no way at all.
func suspended(_ context.Context, at *Attempt) (Due, error) {
	if at.Account.Disabled {
		return refuse("disabled")
	}
	return Due{}, nil
}

// ReasonNetwork is the network rule's refusal. Unlike the others, it is answered as such
// (Refusal.Code: 403 network_not_allowed): the person is told to come from an allowed
// network or ask the administrator, not that the password was wrong.
const ReasonNetwork = "network_not_allowed"

// networkAllowed: the tenant's allowed networks (the cloud-storage manual's access
// routes). An attempt from outside them (or from no known address) is refused, by every
// way in: a password, a passkey or an identity provider at the sign-in page, each
// signed-in request (so a session opened inside stops working outside) and with it the
// provider's authorization, and the service check by its client_ip. An owner is never
// refused: the contract holder's way back in to undo a wrong list. A refresh token is
// exchanged by the application's server, not from the person's network: the rule held
// when the person authorized it. The settings come from the tenant cache: no store read.
func networkAllowed(ctx context.Context, at *Attempt) (Due, error) {
	if at.Account.Role == RoleOwner || at.Method == MethodOIDCRefresh {
		return Due{}, nil
	}
	set, err := at.Settings(ctx)
	if err != nil {
		return Due{}, err
	}
	if InNetworks(set.AllowedNetworks, at.IP) {
		return Due{}, nil
	}
	return Due{}, &Refusal{Reason: ReasonNetwork, Code: CodeNetworkNotAllowed}
}

// trustedNetwork reports whether at comes from the tenant's allowed networks and the
// tenant lets sign-ins from there skip the second factor (the manual turns two-step
// verification off for access limited to registered lines).
func trustedNetwork(set Settings, at *Attempt) bool {
	return set.TrustedNetworksSkipMFA && len(set.AllowedNetworks) > 0 && InNetworks(set.AllowedNetworks, at.IP)
}

// locked: a lock keeps out what it applies to. The password's own ways (sign-in page,
// service check) meet the lock at their reservation already (lockout.go); after it only
// a known client under untrusted_devices is let by. App passwords are not guessed at
// through the lock's counter and pass a lock (a suspension stops them). A session, a
// passkey and an identity provider are kept out where the lock applies to every client
// (ScopeAccount; where the settings cannot be read, the lock keeps them out too). A
// refresh token is kept out by any lock (a lock also ends every application's grant).
func locked(ctx context.Context, at *Attempt) (Due, error) {
	a := at.Account
	if !a.Locked() {
		return Due{}, nil
	}
	switch at.Method {
	case MethodAppPassword:
		return Due{}, nil
	case MethodOIDCRefresh:
		return refuse("locked")
	case MethodPassword, MethodServicePassword:
		if !at.Known {
			return refuse("locked")
		}
	}
	set, err := at.Settings(ctx)
	if err != nil || set.LockoutScope == ScopeAccount {
		return refuse("locked")
	}
	return Due{}, nil
}

// invitationPending: an account without a password yet (its invitation not accepted)
// cannot prove one; a passkey does not accept an invitation either (the emailed link
// does), nor sign in an idp account on its own. An identity provider's first sign-in of an invited account is what accepts its
// invitation (docs/api.md), so it is let by. Sessions and refresh tokens are only ever issued
// to accounts past it. An idp account has no password at all: its app passwords (made
// after a sign-in through the provider) pass once it is past its invitation.
func invitationPending(_ context.Context, at *Attempt) (Due, error) {
	a := at.Account
	if at.Method == MethodAppPassword && a.UsesIdP() {
		if a.Invited() {
			return refuse("invited")
		}
		return Due{}, nil
	}
	switch at.Method {
	case MethodPassword, MethodServicePassword, MethodAppPassword:
		if a.PasswordHash == "" {
			return refuse("no_password")
		}
	case MethodPasskey:
		if a.UsesIdP() {
			// An idp account signs in through its provider only: a passkey is its second
			// factor after the provider, never a way past it (a person the organization
			// removed at its provider would otherwise still get in).
			return refuse("idp")
		}
		if a.Invited() {
			return refuse("invited")
		}
	}
	return Due{}, nil
}

// passwordChangeDue: a forced or expired password (or, at the sign-in page, one on the
// breached list or, imported, breaking the tenant's rules: Attempt.Flaw) must be replaced
// first. A sign-in page's way in (a password, a passkey) asks for it as a step; a mail
// client cannot, so the service check refuses ("password_change_required:<reason>").
// Sessions, app passwords and refresh tokens leave the change to the next sign-in; an
// identity provider's account has no password of its own.
func passwordChangeDue(ctx context.Context, at *Attempt) (Due, error) {
	switch at.Method {
	case MethodPassword, MethodPasskey, MethodServicePassword:
	default:
		return Due{}, nil
	}
	set, err := at.Settings(ctx)
	if err != nil {
		return Due{}, err
	}
	reason := changeReason(at.Account, set, at.now)
	if reason == "" && at.Method == MethodPassword && at.Flaw != nil {
		reason = at.Flaw()
	}
	switch {
	case reason == "":
		return Due{}, nil
	case at.Method == MethodServicePassword:
		return refuse("password_change_required:" + reason)
	}
	return Due{Step: StepPasswordChange, Reason: reason}, nil
}

// secondFactorDue: a passkey counts as both factors. After a password at the sign-in
// page, an account with a second factor gives it (unless the browser is remembered; a locked second factor is still
// asked for, since a recovery code releases it), and one without, in a tenant that
// requires one, enrols. After the tenant's identity provider the same holds where the
// tenant asks Kagiya's own second factor of those sign-ins too (IdPRequiresMFA);
// otherwise the provider's own factors are the only ones. The service check takes the main password only from accounts
// without a second factor (the others give app passwords; Verify refuses them before
// the hash is even checked, so a mail client with a stale password locks no one out).
func secondFactorDue(ctx context.Context, at *Attempt) (Due, error) {
	a := at.Account
	switch at.Method {
	case MethodServicePassword:
		if a.HasSecondFactor() {
			return refuse("app_password_required")
		}
	case MethodPassword, MethodIdP:
		set, err := at.Settings(ctx)
		if err != nil {
			return Due{}, err
		}
		if at.Method == MethodIdP && !set.IdPRequiresMFA {
			return Due{}, nil
		}
		if trustedNetwork(set, at) {
			return Due{}, nil // inside the allowed networks, the tenant skips it
		}
		if a.HasSecondFactor() {
			if at.Remembered {
				return Due{}, nil
			}
			return Due{Step: StepMFA}, nil
		}
		if set.MFARequired {
			return Due{Step: StepMFAEnrol}, nil
		}
	}
	return Due{}, nil
}

// refusal names, for the audit log, why a password check on a (zero if no such
// account) did not let it in: in the rules' words, as an unknown client at the sign-in
// page would meet them, or "password" when no rule refuses it.
func refusal(ctx context.Context, a Account) string {
	if a.ID == "" {
		return "unknown"
	}
	at := Attempt{Account: a, Method: MethodPassword}
	for _, r := range []Rule{suspended, locked, invitationPending} { // for an unknown client, none reads settings
		if _, err := r(ctx, &at); err != nil {
			reason, _ := Refused(err)
			return reason
		}
	}
	return "password"
}
