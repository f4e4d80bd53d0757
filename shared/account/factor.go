package account

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"
)

// Second factors (docs/api.md, "Second factor"). Each kind is a Factor: the codes of an
// authenticator app (totp.go) and recovery codes (recoverycodes.go) today; a passkey is
// the next. The sign-in's second-factor step asks the account's factors which it can
// give (mfa_required's methods), has the one the person chose issue what it needs first
// (Challenge: nothing for a code; a WebAuthn request for a passkey) and check the answer
// (Verify); the security page and the administrators see each factor's Describe; a
// reset takes every factor off (Clear, then Remove).
//
// A new factor: a type that implements Factor (and EnrollingFactor if the person sets it
// up in two steps), a Kind constant, its place in newFactors, and, if it can stand as the
// account's second factor on its own, a term in Account.MFAEnabled (what the admission
// rules and the service check ask). Enrolled must answer from the account item alone
// (keep a count there), so that a sign-in reads nothing more to learn what is due.

// The factors' kinds: their names in the API (mfa_required's methods) and in audit
// results ("ok:totp").
const (
	KindTOTP         = "totp"
	KindRecoveryCode = "recovery_code"
	KindPasskey      = "passkey"
)

// Factor is one kind of second factor.
type Factor interface {
	// Kind names it in the API and the audit log.
	Kind() string
	// Enrolled reports whether a can give it now (from the account item alone).
	Enrolled(a Account) bool
	// Challenge issues what a client needs before it can answer for a (nil when nothing
	// is issued, as for a code). It must be single use and short-lived, and is never
	// handed to the browser to keep.
	Challenge(ctx context.Context, a Account) (any, error)
	// Verify checks an answer of a's, under the factor's own limits and lock, and on
	// success spends it in one conditional write with w's work (the step's: the sign-in
	// recorded, the flow's challenge used up); it returns the account as written. A
	// wrong answer is invalid_code (or the factor's own code), audited and counted by
	// the factor.
	Verify(ctx context.Context, a Account, set Settings, in Answer, ip string, w StepWrite) (Account, error)
	// Clear takes the factor off the account item (inside the caller's write).
	Clear(a *Account)
	// Remove drops what the factor keeps beside the account item, after Clear's write.
	Remove(ctx context.Context, a Account) error
	// Describe says what the security page and the administrators see of it.
	Describe(ctx context.Context, a Account) (FactorState, error)
}

// EnrollingFactor is a factor the person sets up in two steps: Enrol issues what the
// client needs (TOTP: an Enrolment), ConfirmEnrolment turns it on with the client's
// answer in one conditional write with w's work, and returns what is shown once (TOTP:
// the recovery codes, []string).
type EnrollingFactor interface {
	Factor
	Enrol(ctx context.Context, a Account, ip string) (any, error)
	ConfirmEnrolment(ctx context.Context, a Account, set Settings, in Answer, ip string, w StepWrite) (Account, any, error)
}

// Answer is what a person gives for a factor.
type Answer struct {
	Code string // a code as typed (an authenticator app's, a recovery code)
	// Response is a client's answer to a Challenge (a passkey's WebAuthn response, JSON).
	Response json.RawMessage
}

// StepWrite is the work of the step a factor's answer completes, done in the same
// conditional write that spends the answer.
type StepWrite struct {
	Guard func(Account) error // must still hold (the flow's challenge unused); nil: none
	// Before runs once the answer is known to be right, before the write that spends it
	// (the sign-in's session is stored there, so that a failed write uses nothing up);
	// its failure spends nothing and is returned. nil: none.
	Before func(Account) error
	Done   func(*Account) // the step's own change; nil: none
}

// FactorState is a factor as the security page shows it.
type FactorState struct {
	Kind     string
	Enrolled bool
	Count    int  // how many it holds, where that means something: recovery codes left
	Locked   bool // wrong answers have locked it
}

// factors are the second factors, in the order mfa_required lists them; authenticator
// and recoveryCodes are two of them, for the flows that name them.
type factors struct {
	list          []Factor
	authenticator *totpFactor
	recoveryCodes *recoveryCodes
	passkey       *passkeyFactor
	log           *slog.Logger
}

// newFactors builds the factors from the components they use.
func newFactors(as *accountStore, au *auditor, n *notifier, th *throttles, seal *sealer, codes RecoveryCodes, pk *passkeyFactor, log *slog.Logger, now func() time.Time) *factors {
	app := &totpFactor{accountStore: as, auditor: au, notifier: n, seal: seal, recovery: codes, log: log, now: now}
	rc := &recoveryCodes{accountStore: as, auditor: au, notifier: n, throttles: th, recovery: codes, log: log}
	return &factors{list: []Factor{app, rc, pk}, authenticator: app, recoveryCodes: rc, passkey: pk, log: log}
}

// byKind returns the factor of kind.
func (fs *factors) byKind(kind string) (Factor, bool) {
	for _, f := range fs.list {
		if f.Kind() == kind {
			return f, true
		}
	}
	return nil, false
}

// enrolled lists the kinds a can give now.
func (fs *factors) enrolled(a Account) []string {
	var kinds []string
	for _, f := range fs.list {
		if f.Enrolled(a) {
			kinds = append(kinds, f.Kind())
		}
	}
	return kinds
}

// clear takes every factor off the account item.
func (fs *factors) clear(a *Account) {
	for _, f := range fs.list {
		f.Clear(a)
	}
}

// remove drops what every factor keeps beside the account item, after clear's write; a
// failure leaves what cannot be used any more (the account item no longer has the
// factor), so it is logged.
func (fs *factors) remove(ctx context.Context, a Account) {
	for _, f := range fs.list {
		if err := f.Remove(ctx, a); err != nil {
			fs.log.WarnContext(ctx, "second factor not removed", "kind", f.Kind(), "err", err)
		}
	}
}
