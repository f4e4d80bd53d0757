package account

import (
	"context"
	"time"
)

// The store roles the domain needs, each declared here by its consumer and kept narrow.
// Implementations make each method atomic and return ErrNotFound / ErrConflict (possibly
// wrapped) for those conditions. storetest has one group of cases per role.

// Tenants keeps tenant records.
type Tenants interface {
	// CreateTenant stores a new tenant with its first owner and the owner's login ID,
	// atomically: if the login ID is taken anywhere, nothing is written (ErrConflict).
	CreateTenant(ctx context.Context, t Tenant, owner Account) error
	GetTenant(ctx context.Context, id string) (Tenant, error)
	// UpdateTenant replaces an existing tenant's name, domains and settings.
	UpdateTenant(ctx context.Context, t Tenant) error
}

// Domains is the deployment-wide index of verified domains: each is held by one tenant
// at most, through a uniqueness item written in the same transaction as the claim.
type Domains interface {
	// DomainHolder returns the ID of the tenant that holds the verified domain (lower
	// case); ErrNotFound if none does.
	DomainHolder(ctx context.Context, domain string) (string, error)
	// ClaimDomain writes t (which has verified domain) and the domain's uniqueness item
	// for t, in one transaction. A domain another tenant holds is ErrConflict and nothing
	// is written; one t holds already stays t's.
	ClaimDomain(ctx context.Context, t Tenant, domain string) error
	// ReleaseDomains writes t and removes the uniqueness items of the domains that t
	// holds, in one transaction (items another tenant holds are left alone).
	ReleaseDomains(ctx context.Context, t Tenant, domains []string) error
}

// Logins is the deployment-wide index of login IDs (case-insensitive).
type Logins interface {
	// LookupLogin returns the account that has the login ID whose Key is loginKey.
	LookupLogin(ctx context.Context, loginKey string) (LoginRef, error)
}

// Accounts keeps accounts, each with its login ID's uniqueness item.
type Accounts interface {
	// CreateAccount stores a with its login ID, atomically; a login ID taken anywhere in
	// the deployment is ErrConflict and nothing is written.
	CreateAccount(ctx context.Context, a Account) error
	GetAccount(ctx context.Context, tenantID, accountID string) (Account, error)
	// GetAccountEventually is GetAccount at half the cost (DynamoDB's eventually
	// consistent read): it may miss a write of the last second. Only for checks that
	// tolerate that, such as the account behind a session on every request.
	GetAccountEventually(ctx context.Context, tenantID, accountID string) (Account, error)
	// UpdateAccount writes a if the stored version still equals a.Version, and returns
	// what was stored (with the next version). A changed or missing account is ErrConflict
	// or ErrNotFound. The login ID is not changed here (ChangeLoginID).
	UpdateAccount(ctx context.Context, a Account) (Account, error)
	// ChangeLoginID gives a (at its version) a new login ID in one transaction: the new
	// uniqueness item (ErrConflict if taken), the old one removed, the account updated.
	ChangeLoginID(ctx context.Context, a Account, newLoginID string) (Account, error)
	// DeleteAccount removes the account and its login ID's item together.
	DeleteAccount(ctx context.Context, tenantID, accountID string) error
	// ListAccounts returns the page of a tenant's accounts that q selects (list.go).
	ListAccounts(ctx context.Context, tenantID string, q ListQuery) (AccountPage, error)
}

// Attempts is the lockout state of accounts, changed by single conditional writes.
type Attempts interface {
	// ReserveAttempt counts one password attempt before it is checked, atomically: it
	// adds 1 to the failure counter only while the account is enabled, has a password,
	// is unlocked and is below threshold, and returns the account as written. ok=false
	// means no attempt is left (or the account cannot sign in at all); a missing account
	// is ErrNotFound or ok=false. A reservation also notes its time (LastAttemptAt).
	ReserveAttempt(ctx context.Context, tenantID, accountID string, threshold int, at time.Time) (a Account, ok bool, err error)
	// RecordLogin notes a successful sign-in: last login time, failure counter back to 0.
	RecordLogin(ctx context.Context, tenantID, accountID string, at time.Time) error
	// ReleaseAttempt gives back one reserved attempt whose check succeeded but whose
	// success could not be recorded: the counter goes down by 1 if it is above 0 and the
	// account is not locked (a lock stands; nothing to release is no error).
	ReleaseAttempt(ctx context.Context, tenantID, accountID string) error
	// Lock sets the lock at at if the account is unlocked and its counter has reached
	// threshold, with linkUntil, the expiry of the unlock link already issued for it, in
	// the same write; it reports whether this call locked it (exactly one caller does).
	Lock(ctx context.Context, tenantID, accountID string, threshold int, at, linkUntil time.Time) (bool, error)
	// Unlock clears the lock and the counter. It is ErrConflict if the account was not
	// locked, and ErrNotFound if it does not exist.
	Unlock(ctx context.Context, tenantID, accountID string) error
	// ReserveDeviceAttempt counts one attempt from a known browser against that browser
	// alone (DeviceFailures[deviceID]), atomically and below threshold, and returns the
	// account as written. The account's own lock and counter do not apply: they are for
	// unknown clients. ok=false: the browser has no attempt left (or the account is
	// disabled or has no password).
	// A browser whose cookie is of another session epoch than the account's (lim.Epoch)
	// has no attempt. The limits bound what known browsers may try: lim.MaxDevices browsers with failures
	// at once (a new one beyond them has no attempt) and lim.HourlyCeiling attempts in
	// lim.At's hour from all of them together.
	ReserveDeviceAttempt(ctx context.Context, tenantID, accountID, deviceID string, lim DeviceLimits) (a Account, ok bool, err error)
	// RecordDeviceLogin notes a sign-in from a known browser: last login time, and that
	// browser's counter dropped (the account's counter, for other clients, stays).
	RecordDeviceLogin(ctx context.Context, tenantID, accountID, deviceID string, at time.Time) error
}

// DeviceLimits bound the attempts of known browsers (Attempts.ReserveDeviceAttempt).
type DeviceLimits struct {
	Threshold     int       // wrong passwords in a row from one browser
	MaxDevices    int       // browsers with failures tracked at once
	HourlyCeiling int       // attempts an hour from all the account's known browsers
	At            time.Time // now: its UTC hour is the ceiling's
	Epoch         int64     // the SessionEpoch the browser's cookie was issued in: no attempt in another
}

// Hour is the UTC hour of At as DeviceHour holds it.
func (l DeviceLimits) Hour() string { return l.At.UTC().Format("2006010215") }

// Secrets keeps server-side secrets (the device-cookie key), made on first use.
type Secrets interface {
	// Secret returns the secret called name; if there is none yet it stores fresh (one
	// of several concurrent first callers wins, and all get the winner's).
	Secret(ctx context.Context, name string, fresh []byte) ([]byte, error)
}

// Sessions keeps signed-in browsers under their account, by the hash of their token, so
// that a person can list and end its own.
type Sessions interface {
	CreateSession(ctx context.Context, s Session) error
	GetSession(ctx context.Context, accountID, idHash string) (Session, error)
	TouchSession(ctx context.Context, accountID, idHash string, at time.Time) error
	DeleteSession(ctx context.Context, accountID, idHash string) error
	// ListSessions returns an account's sessions (expired ones included), oldest first.
	ListSessions(ctx context.Context, accountID string) ([]Session, error)
}

// Tokens keeps single-use tokens: the secrets of emailed links.
type Tokens interface {
	CreateToken(ctx context.Context, t Token) error
	// ConsumeToken removes and returns the token with hash idHash if it has purpose and
	// has not expired at now; anything else (unknown, used, expired, other purpose) is
	// ErrNotFound. Two concurrent calls never both succeed.
	ConsumeToken(ctx context.Context, idHash, purpose string, now time.Time) (Token, error)
	// PeekToken returns the same token as ConsumeToken would, without using it up.
	PeekToken(ctx context.Context, idHash, purpose string, now time.Time) (Token, error)
}

// AuditLog keeps the security events of each tenant.
type AuditLog interface {
	AppendAudit(ctx context.Context, e AuditEvent) error
	// ListAudit returns a tenant's events, newest first.
	ListAudit(ctx context.Context, tenantID, after string, limit int) (events []AuditEvent, next string, err error)
}

// Counters are fixed-window counters for throttling.
type Counters interface {
	// Hit counts one event against key in the fixed window that ends at windowEnd and
	// returns the count so far in that window.
	Hit(ctx context.Context, key string, windowEnd time.Time) (int, error)
}

// Store is every role at once, as the embedded and DynamoDB stores provide them; the
// service's parts each keep only the roles they use.
type Store interface {
	Tenants
	Domains
	Logins
	Accounts
	Attempts
	Histories
	Sessions
	Tokens
	AuditLog
	Counters
	Secrets
	RecoveryCodes
	Credentials
	Passkeys
	Schema
}

// Credentials keeps the named secrets that let other systems in: service credentials and
// OpenID Connect clients (owned by a tenant) and app passwords (owned by an account). Only
// a hash of each secret is kept. Keys are (kind, owner, id); an owner's credentials of a
// kind are read together, in one request.
type Credentials interface {
	// CreateCredential stores a new credential; one with the same key is ErrConflict.
	CreateCredential(ctx context.Context, c Credential) error
	GetCredential(ctx context.Context, kind, owner, id string) (Credential, error)
	// ListCredentials returns an owner's credentials of a kind, oldest first.
	ListCredentials(ctx context.Context, kind, owner string) ([]Credential, error)
	// ListCredentialsEventually is ListCredentials read eventually consistent (half the
	// read units; one just written may be missing for about a second).
	ListCredentialsEventually(ctx context.Context, kind, owner string) ([]Credential, error)
	// TouchCredential notes the credential's last use, if it still exists (ErrNotFound).
	TouchCredential(ctx context.Context, kind, owner, id string, at time.Time) error
	// DeleteCredential removes it; an unknown one is ErrNotFound.
	DeleteCredential(ctx context.Context, kind, owner, id string) error
}

// RecoveryCodes keeps the hashes of each account's unused second-factor recovery codes,
// apart from the account (ten hashes would make every write of it cost twice as much).
type RecoveryCodes interface {
	// RecoveryCodes returns the hashes of an account's unused codes.
	RecoveryCodes(ctx context.Context, tenantID, accountID string) ([]string, error)
	// PutRecoveryCodes replaces them all; none removes them.
	PutRecoveryCodes(ctx context.Context, tenantID, accountID string, hashes []string) error
	// UseRecoveryCode removes one code by its hash, atomically (of concurrent callers
	// with the same hash exactly one succeeds), and returns how many are left. A hash
	// the account does not have is ErrNotFound.
	UseRecoveryCode(ctx context.Context, tenantID, accountID, hash string) (left int, err error)
}

// Histories keeps each account's earlier password hashes, newest first, apart from the
// account so that a sign-in writes a small item however long the tenant's history is.
type Histories interface {
	GetHistory(ctx context.Context, tenantID, accountID string) ([]string, error)
	PutHistory(ctx context.Context, tenantID, accountID string, hashes []string) error
}

// FindAccount returns the account with a login ID, wherever it is.
func FindAccount(ctx context.Context, s interface {
	Logins
	Accounts
}, loginID string) (Account, error) {
	return findAccount(ctx, s, s, loginID)
}
