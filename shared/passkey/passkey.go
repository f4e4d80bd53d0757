// Package passkey is Kagiya as a WebAuthn relying party (github.com/go-webauthn/webauthn):
// the options that a browser's navigator.credentials.create() and get() take, as their
// JSON forms, and the checks of what the authenticator answers. Passkeys are discoverable
// credentials with user verification, attestation "none". The records it makes and checks
// are account.Passkey; storing them, and using each challenge once, is the caller's
// (see challenge.go).
package passkey

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/kagiya/kagiya/shared/account"
)

// ErrRejected: what the browser sent does not prove a passkey (malformed, another
// origin or relying party, a bad signature, an unknown credential, a used or expired
// challenge, a counter that went back). The wrapped detail is for logs only.
var ErrRejected = account.ErrPasskeyRejected

func reject(detail string) error { return fmt.Errorf("%w: %s", ErrRejected, detail) }

// MaxResponseLen bounds a credential's JSON as read from a request.
const MaxResponseLen = 64 << 10

// RP is the relying party of one site origin.
type RP struct {
	wa  *webauthn.WebAuthn
	key Key
	now func() time.Time
}

// New makes the relying party of origin (scheme://host[:port], the site's URL): its RP
// ID is the host. Browsers refuse IP addresses as RP IDs, so origin must name a host
// (locally http://localhost:PORT).
func New(origin string, key Key, now func() time.Time) (*RP, error) {
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") || u.Path != "" && u.Path != "/" || u.RawQuery != "" {
		return nil, fmt.Errorf("passkey origin %q: want scheme://host[:port]", origin)
	}
	host := u.Hostname()
	if net.ParseIP(host) != nil {
		return nil, fmt.Errorf("passkey origin %q: an IP address cannot be a relying party ID (use localhost locally)", origin)
	}
	requireKey := true
	wa, err := webauthn.New(&webauthn.Config{
		RPID:          host,
		RPDisplayName: "Kagiya",
		RPOrigins:     []string{u.Scheme + "://" + u.Host},
		AuthenticatorSelection: protocol.AuthenticatorSelection{
			ResidentKey:        protocol.ResidentKeyRequirementRequired,
			RequireResidentKey: &requireKey,
			UserVerification:   protocol.VerificationRequired,
		},
		AttestationPreference: protocol.PreferNoAttestation,
		Timeouts: webauthn.TimeoutsConfig{
			Login:        webauthn.TimeoutConfig{Timeout: ChallengeTTL, TimeoutUVD: ChallengeTTL},
			Registration: webauthn.TimeoutConfig{Timeout: ChallengeTTL, TimeoutUVD: ChallengeTTL},
		},
	})
	if err != nil {
		return nil, fmt.Errorf("passkey relying party: %w", err)
	}
	return &RP{wa: wa, key: key, now: now}, nil
}

// RPID is the relying party ID (the site's host).
func (rp *RP) RPID() string { return rp.wa.Config.RPID }

// User is the account a ceremony is for. Its account ID is the WebAuthn user handle, so
// a passkey of an account deleted and made again never signs the new one in.
type User = account.PasskeyUser

var _ account.PasskeyRP = (*RP)(nil)

// user is a User as go-webauthn sees it, with the passkeys it may use.
type user struct {
	User
	creds []webauthn.Credential
}

func (u user) WebAuthnID() []byte                         { return []byte(u.AccountID) }
func (u user) WebAuthnName() string                       { return u.LoginID }
func (u user) WebAuthnDisplayName() string                { return u.LoginID }
func (u user) WebAuthnCredentials() []webauthn.Credential { return u.creds }

func credential(p account.Passkey) webauthn.Credential {
	c := webauthn.Credential{ID: p.CredentialID, PublicKey: p.PublicKey, AttestationFormat: p.AttestationFormat,
		Flags:         webauthn.CredentialFlags{UserPresent: true, UserVerified: true, BackupEligible: p.BackupEligible, BackupState: p.BackupState},
		Authenticator: webauthn.Authenticator{AAGUID: p.AAGUID, SignCount: p.SignCount}}
	for _, t := range p.Transports {
		c.Transport = append(c.Transport, protocol.AuthenticatorTransport(t))
	}
	return c
}

func descriptors(ps []account.Passkey) []protocol.CredentialDescriptor {
	var out []protocol.CredentialDescriptor
	for _, p := range ps {
		c := credential(p)
		out = append(out, c.Descriptor())
	}
	return out
}

// challenge makes a challenge with the current key.
func (rp *RP) challenge(ctx context.Context, purpose byte, bind string) ([]byte, error) {
	key, err := rp.key(ctx)
	if err != nil {
		return nil, fmt.Errorf("passkey challenge key: %w", err)
	}
	return newChallenge(key, purpose, bind, rp.now())
}

// open checks the challenge that clientDataJSON carries.
func (rp *RP) open(ctx context.Context, b64 string, purpose byte, bind string) (int64, error) {
	key, err := rp.key(ctx)
	if err != nil {
		return 0, fmt.Errorf("passkey challenge key: %w", err)
	}
	return openChallenge(key, b64, purpose, bind, rp.now())
}

// session is what go-webauthn checks a ceremony against: the challenge (already proven
// ours), this relying party, user verification required.
func (rp *RP) session(challenge string, userID []byte, allowed [][]byte) webauthn.SessionData {
	return webauthn.SessionData{Challenge: challenge, RelyingPartyID: rp.RPID(), UserID: userID,
		AllowedCredentialIDs: allowed, UserVerification: protocol.VerificationRequired,
		CredParams: webauthn.CredentialParametersDefault()}
}

// RegistrationOptions are the PublicKeyCredentialCreationOptionsJSON that add a passkey to
// u: a resident key with user verification, u's passkeys excluded, the challenge bound to
// u and bind (the caller's: the account's flow sequence, which the registration's write
// bumps).
func (rp *RP) RegistrationOptions(ctx context.Context, u User, bind string, existing []account.Passkey) (json.RawMessage, error) {
	c, err := rp.challenge(ctx, purposeRegister, u.AccountID+"\x00"+bind)
	if err != nil {
		return nil, err
	}
	opts := []webauthn.RegistrationOption{
		func(o *protocol.PublicKeyCredentialCreationOptions) error { o.Challenge = c; return nil },
	}
	if d := descriptors(existing); len(d) > 0 {
		opts = append(opts, webauthn.WithExclusions(d))
	}
	creation, _, err := rp.wa.BeginRegistration(user{User: u}, opts...)
	if err != nil {
		return nil, fmt.Errorf("passkey registration options: %w", err)
	}
	return json.Marshal(creation.Response)
}

// Register checks a RegistrationResponseJSON against the options RegistrationOptions made
// for u and bind, and returns the new passkey (without its name and creation time, which
// are the caller's). One of existing's credentials again is rejected. The new passkey
// has answered no sign-in challenge yet (ChallengeAt 0): a registration's challenge is
// of another purpose and signs no one in.
func (rp *RP) Register(ctx context.Context, u User, bind string, existing []account.Passkey, response []byte) (account.Passkey, error) {
	parsed, err := protocol.ParseCredentialCreationResponseBytes(response)
	if err != nil {
		return account.Passkey{}, reject("registration: " + detail(err))
	}
	challenge := parsed.Response.CollectedClientData.Challenge
	if _, err := rp.open(ctx, challenge, purposeRegister, u.AccountID+"\x00"+bind); err != nil {
		return account.Passkey{}, err
	}
	cred, err := rp.wa.CreateCredential(user{User: u}, rp.session(challenge, []byte(u.AccountID), nil), parsed)
	if err != nil {
		return account.Passkey{}, reject("registration: " + detail(err))
	}
	for _, p := range existing {
		if bytes.Equal(p.CredentialID, cred.ID) {
			return account.Passkey{}, reject("registration: credential already registered")
		}
	}
	p := account.Passkey{ID: account.PasskeyID(cred.ID), TenantID: u.TenantID, AccountID: u.AccountID,
		CredentialID: cred.ID, PublicKey: cred.PublicKey, SignCount: cred.Authenticator.SignCount,
		BackupEligible: cred.Flags.BackupEligible, BackupState: cred.Flags.BackupState,
		AAGUID: cred.Authenticator.AAGUID, AttestationFormat: cred.AttestationFormat}
	for _, t := range cred.Transport {
		p.Transports = append(p.Transports, string(t))
	}
	return p, nil
}

// LoginOptions are the PublicKeyCredentialRequestOptionsJSON of a sign-in with a passkey
// alone (no allowCredentials: the browser offers the site's discoverable credentials),
// and their challenge, which the client sends back beside the credential.
func (rp *RP) LoginOptions(ctx context.Context) (challenge string, options json.RawMessage, err error) {
	c, err := rp.challenge(ctx, purposeLogin, "")
	if err != nil {
		return "", nil, err
	}
	assertion, _, err := rp.wa.BeginDiscoverableLogin(webauthn.WithChallenge(c))
	if err != nil {
		return "", nil, fmt.Errorf("passkey login options: %w", err)
	}
	options, err = json.Marshal(assertion.Response)
	return base64.RawURLEncoding.EncodeToString(c), options, err
}

// Login checks an AuthenticationResponseJSON of a sign-in with a passkey alone, made with
// challenge (from LoginOptions), and returns the passkey it proves with the use to
// record (account.Passkeys.UsePasskey, which refuses a challenge already used). find
// returns the passkey id of the account an assertion names (its user handle),
// account.ErrNotFound if there is none. A rejected assertion of a passkey that was found
// returns that passkey beside the error, so that the caller can audit the attempt under
// its account.
func (rp *RP) Login(ctx context.Context, challenge string, response []byte, find func(ctx context.Context, accountID, id string) (account.Passkey, error)) (account.Passkey, account.PasskeyUse, error) {
	parsed, err := protocol.ParseCredentialRequestResponseBytes(response)
	if err != nil {
		return account.Passkey{}, account.PasskeyUse{}, reject("login: " + detail(err))
	}
	if parsed.Response.CollectedClientData.Challenge != challenge {
		return account.Passkey{}, account.PasskeyUse{}, reject("login: the credential answers another challenge")
	}
	issued, err := rp.open(ctx, challenge, purposeLogin, "")
	if err != nil {
		return account.Passkey{}, account.PasskeyUse{}, err
	}
	var (
		found     account.Passkey
		lookupErr error
	)
	lookup := func(rawID, userHandle []byte) (webauthn.User, error) {
		p, err := find(ctx, string(userHandle), account.PasskeyID(rawID))
		if err != nil {
			lookupErr = err
			return nil, err
		}
		if !bytes.Equal(p.CredentialID, rawID) || p.AccountID != string(userHandle) {
			return nil, account.ErrNotFound
		}
		found = p
		return user{User: User{AccountID: p.AccountID, TenantID: p.TenantID}, creds: []webauthn.Credential{credential(p)}}, nil
	}
	_, cred, err := rp.wa.ValidatePasskeyLogin(lookup, rp.session(challenge, nil, nil), parsed)
	if err != nil {
		if lookupErr != nil && !errors.Is(lookupErr, account.ErrNotFound) {
			return account.Passkey{}, account.PasskeyUse{}, fmt.Errorf("passkey lookup: %w", lookupErr)
		}
		return found, account.PasskeyUse{}, reject("login: " + detail(err))
	}
	p, use, err := rp.used(found, cred, issued)
	if err != nil {
		return found, use, err
	}
	return p, use, nil
}

// FactorOptions are the PublicKeyCredentialRequestOptionsJSON of a passkey as the second
// factor of a sign-in: the account's passkeys allowed, the challenge bound to bind (the
// sign-in flow's challenge, used once).
func (rp *RP) FactorOptions(ctx context.Context, bind string, passkeys []account.Passkey) (json.RawMessage, error) {
	if len(passkeys) == 0 {
		return nil, reject("second factor: the account has no passkey")
	}
	c, err := rp.challenge(ctx, purposeFactor, bind)
	if err != nil {
		return nil, err
	}
	assertion, _, err := rp.wa.BeginDiscoverableLogin(webauthn.WithChallenge(c), webauthn.WithAllowedCredentials(descriptors(passkeys)))
	if err != nil {
		return nil, fmt.Errorf("passkey factor options: %w", err)
	}
	return json.Marshal(assertion.Response)
}

// Factor checks an AuthenticationResponseJSON made with FactorOptions for u and bind: one
// of u's passkeys must have made it. It returns that passkey and the use to record.
func (rp *RP) Factor(ctx context.Context, u User, bind string, passkeys []account.Passkey, response []byte) (account.Passkey, account.PasskeyUse, error) {
	parsed, err := protocol.ParseCredentialRequestResponseBytes(response)
	if err != nil {
		return account.Passkey{}, account.PasskeyUse{}, reject("second factor: " + detail(err))
	}
	challenge := parsed.Response.CollectedClientData.Challenge
	issued, err := rp.open(ctx, challenge, purposeFactor, bind)
	if err != nil {
		return account.Passkey{}, account.PasskeyUse{}, err
	}
	var (
		found   account.Passkey
		creds   []webauthn.Credential
		allowed [][]byte
	)
	for _, p := range passkeys {
		if p.AccountID != u.AccountID {
			continue
		}
		creds, allowed = append(creds, credential(p)), append(allowed, p.CredentialID)
		if bytes.Equal(p.CredentialID, parsed.RawID) {
			found = p
		}
	}
	if found.ID == "" {
		return account.Passkey{}, account.PasskeyUse{}, reject("second factor: not one of the account's passkeys")
	}
	cred, err := rp.wa.ValidateLogin(user{User: u, creds: creds}, rp.session(challenge, []byte(u.AccountID), allowed), parsed)
	if err != nil {
		return found, account.PasskeyUse{}, reject("second factor: " + detail(err))
	}
	p, use, err := rp.used(found, cred, issued)
	if err != nil {
		return found, use, err
	}
	return p, use, nil
}

// used is what a verified assertion changes: a counter that did not move on (while the
// authenticator keeps one) means a cloned authenticator, and is refused; so is an
// assertion whose challenge is not newer than the last one the passkey accepted.
func (rp *RP) used(p account.Passkey, cred *webauthn.Credential, issued int64) (account.Passkey, account.PasskeyUse, error) {
	if cred.Authenticator.CloneWarning {
		return account.Passkey{}, account.PasskeyUse{}, reject(fmt.Sprintf("signature counter %d after %d", cred.Authenticator.SignCount, p.SignCount))
	}
	if issued <= p.ChallengeAt {
		return account.Passkey{}, account.PasskeyUse{}, reject("challenge already used")
	}
	return p, account.PasskeyUse{SignCount: cred.Authenticator.SignCount, BackupState: cred.Flags.BackupState,
		At: rp.now(), ChallengeAt: issued}, nil
}

// detail is a go-webauthn error with its developer information, for logs.
func detail(err error) string {
	var pe *protocol.Error
	if errors.As(err, &pe) {
		return pe.Details + " " + pe.DevInfo
	}
	return err.Error()
}
