package account

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"time"
)

// Passkey is a WebAuthn credential registered to an account (docs/api.md: Passkeys). Its ID
// is made from the credential ID (PasskeyID), so an assertion, which names its
// credential and (as the user handle) its account, finds the record by key, and one
// credential is stored once per account. Nothing in it is secret: the private key never
// leaves the authenticator.
type Passkey struct {
	ID                string // PasskeyID(CredentialID): passkey_id in the API
	TenantID          string
	AccountID         string
	Name              string // chosen by the person
	CredentialID      []byte
	PublicKey         []byte // the COSE_Key the authenticator gave at registration
	SignCount         uint32 // the authenticator's signature counter as last seen (0: it keeps none)
	BackupEligible    bool   // may be synced to other devices (fixed at registration)
	BackupState       bool   // is synced, as last seen
	AAGUID            []byte
	Transports        []string
	AttestationFormat string
	CreatedAt         time.Time
	LastUsedAt        time.Time
	// ChallengeAt is when the challenge of its last accepted assertion was issued (unix
	// nanoseconds): that challenge and every earlier one are used up for this passkey.
	ChallengeAt int64
}

// PasskeyID is the passkey_id of a credential: the first 128 bits of its SHA-256,
// base64url. Credential IDs may be up to 1,023 bytes, too long for a key.
func PasskeyID(credentialID []byte) string {
	sum := sha256.Sum256(credentialID)
	return base64.RawURLEncoding.EncodeToString(sum[:16])
}

// MaxPasskeys bounds an account's passkeys: the list a sign-in's second step sends, and
// the transaction that removes them all.
const MaxPasskeys = 20

// PasskeyUse is what a verified assertion changes in its passkey.
type PasskeyUse struct {
	SignCount   uint32
	BackupState bool
	At          time.Time
	ChallengeAt int64 // the issue time of the assertion's challenge (unix nanoseconds)
}

// Passkeys keeps each account's passkeys apart from the account, which carries only their
// count (Account.Passkeys, kept by AddPasskey and RemovePasskeys).
type Passkeys interface {
	// ListPasskeys returns an account's passkeys, oldest first, in one request.
	ListPasskeys(ctx context.Context, accountID string) ([]Passkey, error)
	// GetPasskeyEventually returns one of an account's passkeys, read eventually
	// consistent (half the cost) and again strongly when that finds nothing, so one
	// registered a moment ago is found; one removed a moment ago may still be returned,
	// and UsePasskey then refuses it. ErrNotFound if there is none.
	GetPasskeyEventually(ctx context.Context, accountID, id string) (Passkey, error)
	// AddPasskey stores p, which a must not have yet, and writes a at its version with
	// Passkeys one more, in one transaction, and returns a as stored. A passkey a has
	// already, or an account changed since it was read, is ErrConflict; nothing is
	// written then.
	AddPasskey(ctx context.Context, a Account, p Passkey) (Account, error)
	// RemovePasskeys removes the passkeys ids of a and writes a at its version with
	// Passkeys that many fewer, in one transaction, and returns a as stored. An id a does
	// not have, or an account changed since it was read, is ErrConflict; nothing is
	// written then.
	RemovePasskeys(ctx context.Context, a Account, ids []string) (Account, error)
	// RenamePasskey sets a passkey's name; ErrNotFound if the account has no such passkey.
	RenamePasskey(ctx context.Context, accountID, id, name string) error
	// UsePasskey records a verified assertion only if it is newer than every one recorded
	// for the passkey: the stored ChallengeAt is before u.ChallengeAt, and the stored
	// SignCount is below u.SignCount (or both are 0: an authenticator that keeps no
	// counter). Otherwise it is ErrConflict and nothing changes: of two uses of one
	// challenge, however close, one wins. A removed passkey is ErrNotFound.
	UsePasskey(ctx context.Context, accountID, id string, u PasskeyUse) error
}
