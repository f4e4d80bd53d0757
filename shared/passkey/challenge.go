package passkey

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"time"
)

// A ceremony's challenge is not stored anywhere: it is its own record, signed with a
// server key, and the browser carries it only inside the ceremony (the WebAuthn
// challenge the authenticator signs, echoed in clientDataJSON). So issuing one costs
// nothing in the store (the sign-in page asks for one on every visit, for the autofill
// of conditional UI), and anyone may ask for one. It says what it is for, when it was
// issued and what it is bound to:
//
//	version 1 | purpose 1 | issued 8 (unix ns) | bound 16 | random 16 | HMAC-SHA256 32
//
// Single use is kept where the ceremony's result is written, in the same conditional
// write: a sign-in's passkey record takes the challenge's issue time only if it is
// later than the last one it accepted (account.Passkeys.UsePasskey); a registration is
// bound to the account's flow sequence, which its write bumps; a second factor to the
// sign-in flow's challenge, itself used once. A challenge lives ChallengeTTL.

// ChallengeTTL is how long a ceremony's challenge is accepted (the browser's own timeout
// for the ceremony is the same).
const ChallengeTTL = 5 * time.Minute

// Purposes of a challenge: one made for one ceremony is refused by the others.
const (
	purposeRegister byte = 1 // adding a passkey (bound to the account and its flow sequence)
	purposeLogin    byte = 2 // signing in with a passkey alone (bound to nothing)
	purposeFactor   byte = 3 // a passkey as the second factor (bound to the sign-in flow)
)

const (
	challengeVersion = 1
	challengeLen     = 1 + 1 + 8 + 16 + 16 + sha256.Size
	signedLen        = challengeLen - sha256.Size
)

// Key returns the server key that signs challenges.
type Key func(ctx context.Context) ([]byte, error)

func challengeMAC(key, payload []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("kagiya-passkey-challenge\x00"))
	m.Write(payload)
	return m.Sum(nil)
}

func boundTo(bind string) []byte {
	sum := sha256.Sum256([]byte(bind))
	return sum[:16]
}

// newChallenge makes a challenge for purpose, bound to bind, issued at now.
func newChallenge(key []byte, purpose byte, bind string, now time.Time) ([]byte, error) {
	c := make([]byte, signedLen, challengeLen)
	c[0], c[1] = challengeVersion, purpose
	binary.BigEndian.PutUint64(c[2:10], uint64(now.UnixNano()))
	copy(c[10:26], boundTo(bind))
	if _, err := rand.Read(c[26:42]); err != nil {
		return nil, fmt.Errorf("challenge: %w", err)
	}
	return append(c, challengeMAC(key, c)...), nil
}

// openChallenge checks a challenge (base64url, as clientDataJSON has it) for purpose and
// bind at now, and returns when it was issued (unix ns).
func openChallenge(key []byte, b64 string, purpose byte, bind string, now time.Time) (int64, error) {
	c, err := base64.RawURLEncoding.DecodeString(b64)
	if err != nil || len(c) != challengeLen {
		return 0, reject("malformed challenge")
	}
	if !hmac.Equal(c[signedLen:], challengeMAC(key, c[:signedLen])) {
		return 0, reject("challenge not ours")
	}
	if c[0] != challengeVersion || c[1] != purpose {
		return 0, reject("challenge made for another ceremony")
	}
	if !hmac.Equal(c[10:26], boundTo(bind)) {
		return 0, reject("challenge bound to another account or flow")
	}
	issued := int64(binary.BigEndian.Uint64(c[2:10]))
	if t := time.Unix(0, issued); !now.Before(t.Add(ChallengeTTL)) || now.Add(time.Minute).Before(t) {
		return 0, reject("challenge expired")
	}
	return issued, nil
}
