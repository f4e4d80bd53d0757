package account

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kagiya/kagiya/shared/mail"
)

// A sign-in is a flow: the password first (POST /api/login), then the steps still due,
// each completed with the flow's single-use challenge. A session is made in one place
// only, advance, when no step is left; so a step added later (a second factor) cannot be
// skipped by completing another one.
const (
	// StepPasswordChange: a forced or expired password must be replaced first.
	StepPasswordChange = "password_change"
	// StepMFA: a code from the account's authenticator app, or a recovery code.
	StepMFA = "mfa"
	// StepMFAEnrol: the tenant requires a second factor and the account has none yet.
	StepMFAEnrol = "mfa_enrollment"
)

// ChallengeTTL is how long a sign-in flow may take after the password.
const ChallengeTTL = 10 * time.Minute

// LoginResult is where a sign-in stands. Signed in: Token goes into the session cookie,
// with CSRF. A step still due: Step names it (with Reason for a password change) and
// Challenge continues the flow; there is no session yet.
type LoginResult struct {
	// DeviceCookie, when set, is the browser's device cookie for the account (new or
	// kept); the handler sets it on every sign-in that passes the password.
	DeviceCookie string
	Token        string
	CSRF         string
	Account      Account
	Tenant       Tenant
	Step         string
	Reason       string
	Challenge    string
	// Methods are the factors' kinds the second-factor step (StepMFA) takes, in order.
	Methods []string
	// RememberCookie, when set, is the remember-this-browser cookie to set, for RememberDays.
	RememberCookie string
	RememberDays   int
	// RecoveryCodes are shown once, when an enrolment during sign-in completes.
	RecoveryCodes []string
	// Landing, for a federated sign-in that opened a session, is the page it asked to
	// land on ("" for home: IdPLandings).
	Landing string
	// Authorization, for a federated sign-in started from an application's OpenID
	// Connect authorization request (the sign-in page's oidc), is that request's ID: the
	// sign-in goes on with it, as after a password, also through a second-factor step.
	Authorization string
}

// Client is where a request comes from: its IP address and browser (User-Agent), kept
// with the sessions it opens so that a person can tell them apart.
type Client struct {
	IP        string
	UserAgent string
	Device    string // the browser's device cookie, if any (checked against the account)
	// Remembered are the browser's remember-this-browser cookies, if any.
	Remembered []string
}

// Principal is the signed-in caller of a request.
type Principal struct {
	Account Account
	Session Session
	CSRF    string
}

// Bootstrap creates a tenant named after ownerEmail's domain, with that domain, and its
// owner, if no account has that login ID yet. It reports whether it created them.
func (s *SignIn) Bootstrap(ctx context.Context, ownerEmail, ownerPassword string, settings Settings) (Tenant, bool, error) {
	domain, ok := ParseLoginID(ownerEmail)
	if !ok {
		return Tenant{}, false, codeErr(CodeValidation, FieldError{"login_id", "invalid"})
	}
	if err := s.schema.RaiseSchemaVersion(ctx, SchemaVersion); err != nil {
		return Tenant{}, false, fmt.Errorf("bootstrap: %w", err)
	}
	if _, err := s.logins.LookupLogin(ctx, Key(ownerEmail)); err == nil {
		return Tenant{}, false, nil
	} else if !errors.Is(err, ErrNotFound) {
		return Tenant{}, false, fmt.Errorf("bootstrap: %w", err)
	}
	hash, err := s.newPasswordHash(ctx, Account{LoginID: ownerEmail}, settings.Effective(), "password", ownerPassword)
	if err != nil {
		return Tenant{}, false, err
	}
	tid, err := newID("ten_")
	if err != nil {
		return Tenant{}, false, err
	}
	aid, err := newID("acc_")
	if err != nil {
		return Tenant{}, false, err
	}
	now := s.now().UTC()
	t := Tenant{ID: tid, Name: domain, Domains: []string{domain}, Settings: settings, CreatedAt: now}
	owner := Account{ID: aid, TenantID: tid, LoginID: ownerEmail, Role: RoleOwner, PasswordHash: hash,
		PasswordChangedAt: now, CreatedAt: now, UpdatedAt: now}
	if err := s.tenants.CreateTenant(ctx, t, owner); err != nil {
		if errors.Is(err, ErrConflict) {
			return Tenant{}, false, nil
		}
		return Tenant{}, false, fmt.Errorf("bootstrap: %w", err)
	}
	s.audit(ctx, AuditEvent{TenantID: tid, Actor: "system", Action: "tenant.create", Target: ownerEmail, TargetID: aid, Result: "ok"})
	return t, true, nil
}

// Login checks a login ID and password: the first step of a sign-in flow. Every kind of
// failure that could tell an attacker something answers invalid_credentials after the
// same work.
func (s *SignIn) Login(ctx context.Context, loginID, plain string, from Client) (LoginResult, error) {
	ip := from.IP
	if len(loginID) > MaxLoginIDLen {
		return LoginResult{}, codeErr(CodeValidation, FieldError{"login_id", "too_long"})
	}
	if utf8.RuneCountInString(plain) > MaxPasswordLen {
		return LoginResult{}, codeErr(CodeValidation, FieldError{"password", "too_long"})
	}
	key, wellFormed, err := s.throttleLogin(ctx, ip, loginID)
	if err != nil {
		return LoginResult{}, err
	}
	ref := LoginRef{TenantID: "-", AccountID: "-"} // no such account: the same round trips as a real one
	if wellFormed {
		found, err := s.logins.LookupLogin(ctx, key)
		switch {
		case err == nil:
			ref = found
		case !errors.Is(err, ErrNotFound):
			return LoginResult{}, fmt.Errorf("login: %w", err)
		}
	}
	var cookie deviceCookie
	if ref.AccountID != "-" && from.Device != "" {
		cookie = s.knownDevice(ctx, ref.AccountID, from.Device)
	}
	acct, match, stale, known, err := s.verifyKnown(ctx, ref, plain, ip, cookie)
	if err == nil && !known {
		acct, match, stale, err = s.verify(ctx, ref, plain, ip)
	}
	if err != nil {
		return LoginResult{}, fmt.Errorf("login: %w", err)
	}
	if !match {
		reason := refusal(ctx, acct)
		if known {
			reason = "password:known_browser" // counted against that browser alone
		}
		// What was typed as a login ID may be a password typed in the wrong field: one
		// that is not an address is logged only as a short hash.
		shown := loginID
		if !wellFormed {
			shown, reason = "malformed:"+HashToken(loginID)[:12], "malformed"
		}
		s.audit(ctx, AuditEvent{TenantID: acct.TenantID, Actor: shown, Action: "login", Target: shown, TargetID: acct.ID, IP: ip, Result: "failed:" + reason})
		return LoginResult{}, codeErr(CodeInvalidCredentials)
	}
	deviceID := cookie.ID
	if cookie.Epoch != acct.SessionEpoch {
		deviceID = "" // a browser from before a reset or change: unknown, and given a new cookie
	}
	t, err := s.tenant(ctx, acct.TenantID)
	if err != nil {
		return LoginResult{}, err
	}
	set := t.Settings.Effective()
	now := s.now().UTC()
	previousLogin := acct.LastLoginAt
	remember := ""
	if acct.HasSecondFactor() { // a passkey's step is remembered as a code's is
		remember = s.remembered(ctx, acct, set, from.Remembered)
	}
	adm, err := s.admit(ctx, Attempt{Account: acct, Method: MethodPassword, IP: ip, Known: known, Remembered: remember != "",
		Flaw: func() string { return passwordFlaw(acct, set, plain) }}.withSettings(set))
	if r, refused := refusalOf(err); refused {
		s.audit(ctx, AuditEvent{TenantID: acct.TenantID, Actor: loginID, Action: "login", Target: loginID, TargetID: acct.ID, IP: ip, Result: "failed:" + r.Reason})
		return LoginResult{}, r.Answer(codeErr(CodeInvalidCredentials))
	} else if err != nil {
		return LoginResult{}, fmt.Errorf("login: %w", err)
	}
	steps, reason := adm.Steps, adm.Reason
	mfaDue := slices.Contains(steps, StepMFA) || slices.Contains(steps, StepMFAEnrol)
	switch {
	case mfaDue:
		// The sign-in is recorded (and the counter cleared) when the second factor is
		// given, in the same write: a right password alone does not end a run of failures.
	case known:
		// The account's counter counts unknown clients' guesses: a known browser's sign-in
		// leaves it (and any lock for them) as it is.
		err = s.attempts.RecordDeviceLogin(ctx, acct.TenantID, acct.ID, deviceID, now)
	default:
		err = s.recordSuccess(ctx, acct, now)
		acct.FailedAttempts = 0
	}
	if err != nil {
		return LoginResult{}, fmt.Errorf("login: %w", err)
	}
	if !mfaDue {
		acct.LastLoginAt = now
	}
	device := from.Device
	if deviceID == "" {
		if device, err = s.newDeviceCookie(ctx, acct); err != nil {
			return LoginResult{}, err
		}
		if *set.NotifyNewDevice && !previousLogin.IsZero() {
			s.notify(ctx, acct, &mail.NewDevice{When: s.formatTime(now, set), IP: ip, Browser: browserName(from.UserAgent)})
		}
	}
	if stale && reason != ReasonPolicy { // a password that breaks the rules is replaced by the change itself
		s.rehash(ctx, acct, preset(t.Settings).Normalized(plain), ip)
	}
	how := "ok"
	if remember != "" {
		how = "ok:remembered_browser"
	}
	res, err := s.advance(ctx, acct, t, flowClaims{Steps: steps, Reason: reason, Device: deviceID}, from, how)
	res.DeviceCookie = device
	if err == nil && remember != "" {
		res.RememberCookie, res.RememberDays = remember, *set.RememberBrowserDays
	}
	return res, err
}

// advance moves a sign-in on: with no step left (next.Steps) it opens the session (the
// only place that does) and audits the sign-in with result how; otherwise it signs a
// challenge with the steps still due and answers the next one.
func (s *SignIn) advance(ctx context.Context, a Account, t Tenant, next flowClaims, from Client, how string) (LoginResult, error) {
	now, ip, steps := s.now().UTC(), from.IP, next.Steps
	if len(steps) == 0 {
		token, _, err := openSession(ctx, s.sessions, a, now, s.cfg.SessionMax, from, next.amr(), next.idpAuthAt())
		if err != nil {
			return LoginResult{}, err
		}
		return s.signedIn(ctx, a, t, token, ip, how), nil
	}
	challenge, err := s.newChallenge(ctx, a, next)
	if err != nil {
		return LoginResult{}, err
	}
	res := LoginResult{Account: a, Tenant: t, Step: steps[0], Challenge: challenge}
	if steps[0] == StepMFA {
		res.Methods = s.factors.enrolled(a)
	}
	result := "step_due:" + steps[0]
	if steps[0] == StepPasswordChange {
		res.Reason = next.Reason
		result += ":" + next.Reason
	}
	s.audit(ctx, AuditEvent{TenantID: a.TenantID, Actor: a.LoginID, Action: "login", Target: a.LoginID, TargetID: a.ID, IP: ip, Result: result})
	return res, nil
}

// signedIn audits a sign-in whose session (token) is stored, with result how.
func (s *SignIn) signedIn(ctx context.Context, a Account, t Tenant, token, ip, how string) LoginResult {
	s.audit(ctx, AuditEvent{TenantID: a.TenantID, Actor: a.LoginID, Action: "login", Target: a.LoginID, TargetID: a.ID, IP: ip, Result: how})
	return LoginResult{Token: token, CSRF: csrfFor(token), Account: a, Tenant: t}
}

// amr is how flow c's sign-in was authenticated (RFC 8176): the password (or the
// provider, whose own factors are its to name), and a code.
func (c flowClaims) amr() []string {
	first := "pwd"
	if c.IdP {
		first = "fed"
	}
	switch {
	case c.Key != "" && c.Code: // a passkey as the second factor
		return []string{first, c.Key, "mfa"}
	case c.Key != "": // a passkey alone: both factors
		return []string{c.Key, "mfa"}
	case c.Code:
		return []string{first, "otp", "mfa"}
	}
	return []string{first}
}

// rest is what is left of flow c once its first step is done.
func (c flowClaims) rest() flowClaims {
	c.Steps = c.Steps[1:]
	return c
}

// CompletePasswordChange completes the password-change step of a sign-in flow and moves
// the flow on. The password is checked before the challenge is used up, so a refused one
// can be corrected.
func (s *SignIn) CompletePasswordChange(ctx context.Context, challenge, plain string, from Client) (LoginResult, error) {
	ip := from.IP
	flow, a, err := s.flowAt(ctx, challenge, StepPasswordChange)
	if err != nil {
		return LoginResult{}, err
	}
	t, err := s.tenant(ctx, a.TenantID)
	if err != nil {
		return LoginResult{}, err
	}
	set := t.Settings.Effective()
	now := s.now().UTC()
	reason := flow.Reason
	hash, err := s.newPasswordHash(ctx, a, set, "new_password", plain)
	if err != nil {
		return LoginResult{}, err
	}
	a, err = s.storePassword(ctx, a, set, hash, stillFlow(flow), func(a *Account) { a.ForceChange = false; a.FlowSeq++ })
	if CodeOf(err) == CodeInvalidToken {
		return LoginResult{}, err
	} else if err != nil {
		return LoginResult{}, fmt.Errorf("change password: %w", err)
	}
	s.audit(ctx, AuditEvent{TenantID: a.TenantID, Actor: a.LoginID, Action: "password.change", Target: a.LoginID, TargetID: a.ID, IP: ip, Result: "ok:" + reason})
	s.notify(ctx, a, &mail.PasswordChanged{When: s.formatTime(now, set)})
	res, err := s.advance(ctx, a, t, flow.rest(), from, "ok")
	if err != nil {
		return LoginResult{}, err
	}
	// The change moved the device epoch: the browser that made it stays known.
	if res.DeviceCookie, err = s.newDeviceCookie(ctx, a); err != nil {
		return LoginResult{}, err
	}
	return res, nil
}

// signedInBy is the write that completes a second-factor step: the sign-in is recorded
// as Login would have (the failure counter the password came under cleared), and the
// challenge is used up.
func (s *SignIn) signedInBy(flow flowClaims, remember bool) func(*Account) {
	now := s.now().UTC()
	return func(a *Account) {
		a.LastLoginAt = now
		if flow.Device != "" {
			if _, ok := a.DeviceFailures[flow.Device]; ok {
				a.DeviceFailures = maps.Clone(a.DeviceFailures) // the map is shared with the account read
				delete(a.DeviceFailures, flow.Device)
			}
		} else {
			a.FailedAttempts = 0
		}
		a.FlowSeq++
		if remember {
			a.MFA.Remembered++
		}
	}
}

// CompleteMFA completes the second-factor step of a sign-in with the answer in for the
// factor of kind (KindTOTP, KindRecoveryCode). A wrong answer does not use the challenge
// up; a recovery code also releases a locked second factor. With remember (and a tenant
// that allows it) the browser gets a cookie that skips this step for the tenant's number
// of days.
func (s *SignIn) CompleteMFA(ctx context.Context, challenge, kind string, in Answer, remember bool, from Client) (LoginResult, error) {
	flow, a, err := s.flowAt(ctx, challenge, StepMFA)
	if err != nil {
		return LoginResult{}, err
	}
	f, err := s.enrolledFactor(a, kind)
	if err != nil {
		return LoginResult{}, err
	}
	t, err := s.tenant(ctx, a.TenantID)
	if err != nil {
		return LoginResult{}, err
	}
	set := t.Settings.Effective()
	remember = remember && *set.RememberBrowserDays > 0
	next := flow.rest()
	next.Code = true
	if f.Kind() == KindPasskey {
		next.Key = passkeyAMR(in.Response) // its amr, from the authenticator data Verify checks
	}
	w := StepWrite{Guard: stillFlow(flow), Done: s.signedInBy(flow, remember)}
	early := s.sessionBefore(ctx, next, from, &w)
	a, err = f.Verify(ctx, a, set, in, from.IP, w)
	res, err := s.finishStep(ctx, early, a, t, next, from, "ok:"+f.Kind(), err)
	if err == nil && remember && res.Token != "" {
		if res.RememberCookie, err = s.rememberCookie(ctx, a); err != nil {
			return LoginResult{}, err
		}
		res.RememberDays = *set.RememberBrowserDays
	}
	return res, err
}

// PendingStep is where a live challenge's flow stands: its next step (with the factors a
// second-factor step takes), as the answer that issued it said. It uses nothing up: a
// federated sign-in's callback, which has no page to answer on, hands its challenge to
// the sign-in page this way.
func (s *SignIn) PendingStep(ctx context.Context, challenge string) (LoginResult, error) {
	flow, a, err := s.flow(ctx, challenge)
	if err != nil {
		return LoginResult{}, err
	}
	res := LoginResult{Account: a, Step: flow.Steps[0], Reason: flow.Reason, Challenge: challenge}
	if res.Step == StepMFA {
		res.Methods = s.factors.enrolled(a)
	}
	return res, nil
}

// MFAChallenge is the second-factor step's challenge for the factor of kind: what the
// client needs before it can answer (nil when the factor needs nothing issued, as a code
// does). The sign-in's challenge is not used up.
func (s *SignIn) MFAChallenge(ctx context.Context, challenge, kind string) (any, error) {
	_, a, err := s.flowAt(ctx, challenge, StepMFA)
	if err != nil {
		return nil, err
	}
	f, err := s.enrolledFactor(a, kind)
	if err != nil {
		return nil, err
	}
	return f.Challenge(ctx, a)
}

// enrolledFactor is a's factor of kind; one a does not have is a validation error
// (field "method").
func (s *SignIn) enrolledFactor(a Account, kind string) (Factor, error) {
	f, ok := s.factors.byKind(kind)
	if !ok || !f.Enrolled(a) {
		return nil, codeErr(CodeValidation, FieldError{"method", "invalid"})
	}
	return f, nil
}

// SetupEnrolment begins the enrolment a sign-in requires (the tenant requires a second
// factor and the account has none): a fresh secret, pending until ConfirmEnrolment.
func (s *SignIn) SetupEnrolment(ctx context.Context, challenge, ip string) (Enrolment, error) {
	_, a, err := s.flowAt(ctx, challenge, StepMFAEnrol)
	if err != nil {
		return Enrolment{}, err
	}
	return s.factors.authenticator.beginEnrolment(ctx, a, ip)
}

// ConfirmEnrolment confirms the enrolment of a sign-in with a code from the app: the
// second factor is on, the sign-in moves on, and the recovery codes come with it.
func (s *SignIn) ConfirmEnrolment(ctx context.Context, challenge, code string, from Client) (LoginResult, error) {
	flow, a, err := s.flowAt(ctx, challenge, StepMFAEnrol)
	if err != nil {
		return LoginResult{}, err
	}
	t, err := s.tenant(ctx, a.TenantID)
	if err != nil {
		return LoginResult{}, err
	}
	next := flow.rest()
	next.Code = true
	w := StepWrite{Guard: stillFlow(flow), Done: s.signedInBy(flow, false)}
	early := s.sessionBefore(ctx, next, from, &w)
	a, codes, err := s.factors.authenticator.enrol(ctx, a, t.Settings.Effective(), code, from.IP, w)
	res, err := s.finishStep(ctx, early, a, t, next, from, "ok:enrolled", err)
	if err != nil {
		return LoginResult{}, err
	}
	res.RecoveryCodes = codes
	return res, nil
}

// earlySession is a sign-in's session stored before the write of the step that ends
// it (sessionBefore); sess is nil until it is stored.
type earlySession struct {
	token string
	sess  *Session
}

// sessionBefore sets w.Before, when next has no step left, to store the sign-in's
// session once the step's answer is known right, before the write that spends it: a
// failed write then leaves the challenge and the answer usable (stored after it, the
// session's failure used them up with nothing to show).
func (s *SignIn) sessionBefore(ctx context.Context, next flowClaims, from Client, w *StepWrite) *earlySession {
	early := &earlySession{}
	if len(next.Steps) == 0 {
		w.Before = func(a Account) error {
			token, sess, err := openSession(ctx, s.sessions, a, s.now().UTC(), s.cfg.SessionMax, from, next.amr(), next.idpAuthAt())
			if err == nil {
				early.token, early.sess = token, &sess
			}
			return err
		}
	}
	return early
}

// finishStep moves a sign-in on after a step whose write (with w from sessionBefore)
// ended in err: a failure removes the early session (its token was never given out);
// otherwise the sign-in is done with the early session, or advances (more steps are
// due, or the step stored nothing before its write).
func (s *SignIn) finishStep(ctx context.Context, early *earlySession, a Account, t Tenant, next flowClaims, from Client, how string, err error) (LoginResult, error) {
	if err != nil {
		if early.sess != nil {
			dropSession(ctx, s.sessions, s.log, *early.sess)
		}
		return LoginResult{}, err
	}
	if early.sess != nil {
		return s.signedIn(ctx, a, t, early.token, from.IP, how), nil
	}
	return s.advance(ctx, a, t, next, from, how)
}

// dropSession removes a session that has already ended (its epoch is past, or its token
// was never given out): a failure leaves only an item nobody can use, so it is logged.
func dropSession(ctx context.Context, sessions Sessions, log *slog.Logger, sess Session) {
	if err := sessions.DeleteSession(ctx, sess.AccountID, sess.IDHash); err != nil && !errors.Is(err, ErrNotFound) {
		log.WarnContext(ctx, "ended session not removed", "err", err)
	}
}

// openSession stores a new session of acct and returns its token (the only copy). The
// token is the account ID and 256 random bits ("acc_….<secret>"): the account ID finds
// the session among the account's own, which is how a person can list them; only the
// hash of the whole token is stored.
func openSession(ctx context.Context, sessions Sessions, acct Account, now time.Time, maxAge time.Duration, from Client, amr []string, idpAuthAt time.Time) (string, Session, error) {
	secret, err := randomToken()
	if err != nil {
		return "", Session{}, err
	}
	token := acct.ID + "." + secret
	ua := from.UserAgent
	if len(ua) > MaxUserAgentLen {
		ua = strings.ToValidUTF8(ua[:MaxUserAgentLen], "")
	}
	sess := Session{IDHash: HashToken(token), TenantID: acct.TenantID, AccountID: acct.ID, IP: from.IP, UserAgent: ua,
		Epoch: acct.SessionEpoch, AMR: amr, IdPAuthAt: idpAuthAt, CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(maxAge)}
	if err := sessions.CreateSession(ctx, sess); err != nil {
		return "", Session{}, fmt.Errorf("create session: %w", err)
	}
	return token, sess, nil
}

// Authenticate resolves a session token, used from ip, to its principal. Anything wrong
// with the session (unknown, expired, idle too long, revoked, account gone, or refused
// by the admission rules: locked, disabled) is unauthenticated; from outside the tenant's
// allowed networks it is network_not_allowed (audited), and the session stays.
func (s *SignIn) Authenticate(ctx context.Context, token, ip string) (Principal, error) {
	unauth := codeErr(CodeUnauthenticated)
	accountID, _, ok := strings.Cut(token, ".")
	if !ok || len(token) > 128 || !strings.HasPrefix(accountID, "acc_") {
		return Principal{}, unauth
	}
	h := HashToken(token)
	sess, err := s.sessions.GetSession(ctx, accountID, h)
	if errors.Is(err, ErrNotFound) {
		return Principal{}, unauth
	} else if err != nil {
		return Principal{}, fmt.Errorf("authenticate: %w", err)
	}
	now := s.now().UTC()
	if !now.Before(sess.ExpiresAt) || now.Sub(sess.LastSeenAt) >= s.cfg.SessionIdle {
		return Principal{}, unauth
	}
	// An eventually consistent read: a revocation (epoch bump, lock, deletion) reaches
	// the other function instances' requests within about a second.
	acct, err := s.accounts.GetAccountEventually(ctx, sess.TenantID, sess.AccountID)
	if errors.Is(err, ErrNotFound) || err == nil && sess.Epoch > acct.SessionEpoch {
		// The read is older than the session (a password just changed, say, or an
		// account just made): read again, strongly, rather than sign the person out.
		acct, err = s.accounts.GetAccount(ctx, sess.TenantID, sess.AccountID)
	}
	if errors.Is(err, ErrNotFound) {
		return Principal{}, unauth
	} else if err != nil {
		return Principal{}, fmt.Errorf("authenticate: %w", err)
	}
	if sess.Epoch != acct.SessionEpoch {
		return Principal{}, unauth
	}
	if _, err := s.admit(ctx, Attempt{Account: acct, Method: MethodSession, IP: ip}); err != nil {
		if r, refused := refusalOf(err); refused {
			if r.Reason == ReasonNetwork {
				// The session stays: it works again from inside the allowed networks.
				s.audit(ctx, AuditEvent{TenantID: acct.TenantID, Actor: acct.LoginID, Action: "session", Target: acct.LoginID, TargetID: acct.ID, IP: ip, Result: "failed:" + r.Reason})
			}
			return Principal{}, r.Answer(unauth)
		}
		return Principal{}, fmt.Errorf("authenticate: %w", err)
	}
	// Sliding idle expiry, written at most once a minute per session.
	if now.Sub(sess.LastSeenAt) > time.Minute {
		if err := s.sessions.TouchSession(ctx, accountID, h, now); err != nil {
			s.log.WarnContext(ctx, "touch session", "err", err)
		}
		sess.LastSeenAt = now
	}
	return Principal{Account: acct, Session: sess, CSRF: csrfFor(token)}, nil
}

// Logout revokes the principal's session. An unknown session is not an error.
func (s *SignIn) Logout(ctx context.Context, p Principal, ip string) error {
	if err := s.sessions.DeleteSession(ctx, p.Session.AccountID, p.Session.IDHash); err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("logout: %w", err)
	}
	a := p.Account
	s.audit(ctx, AuditEvent{TenantID: a.TenantID, Actor: a.LoginID, Action: "logout", Target: a.LoginID, TargetID: a.ID, IP: ip, Result: "ok"})
	return nil
}

// Tenant returns the principal's tenant.
func (s *SignIn) Tenant(ctx context.Context, p Principal) (Tenant, error) {
	return s.tenant(ctx, p.Account.TenantID)
}
