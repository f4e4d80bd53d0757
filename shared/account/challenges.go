package account

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// challenges signs and reads the sign-in flows' challenges.
type challenges struct {
	keys     *serverKey
	accounts Accounts
	now      func() time.Time
}

// A sign-in flow's challenge is not stored: it is its own state (account, steps still
// due, why a password change is due, when it ends), signed with a server key, plus the
// account's FlowSeq when it was issued. Completing a step bumps FlowSeq in the same
// conditional write that does the step's work, so a challenge is used up exactly once
// and a wrong code, which changes nothing else, leaves it usable. Keeping the flow out
// of the store saves two writes per sign-in that has a step (docs: budget).

// flowKeyName is the server secret that signs sign-in challenges.
const flowKeyName = "signin-flow-key"

// flowClaims are what a challenge says.
type flowClaims struct {
	Account string   `json:"a"`
	Tenant  string   `json:"t"`
	Steps   []string `json:"s"`
	Reason  string   `json:"r,omitempty"`
	Seq     int64    `json:"n"`
	Issued  int64    `json:"i"`            // unix nanoseconds
	Expires int64    `json:"e"`            // unix seconds
	Device  string   `json:"d,omitempty"`  // the known browser the password came from, if any
	Code    bool     `json:"c,omitempty"`  // a second factor (a code, a recovery code, a passkey) was given after the password
	Key     string   `json:"k,omitempty"`  // a passkey was given in this flow: its amr ("hwk", "swk")
	IdP     bool     `json:"f,omitempty"`  // the person signed in at the tenant's identity provider
	IdPAuth int64    `json:"fa,omitempty"` // unix seconds: when they authenticated there (auth_time), if it said
}

// idpAuthAt is when flow c's person authenticated at the identity provider (zero if
// unknown or not through one).
func (c flowClaims) idpAuthAt() time.Time {
	if !c.IdP || c.IdPAuth <= 0 {
		return time.Time{}
	}
	return time.Unix(c.IdPAuth, 0).UTC()
}

// unixOf is t in unix seconds, 0 for the zero time.
func unixOf(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

func flowMAC(key, payload []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("kagiya-signin-flow\x00"))
	m.Write(payload)
	return m.Sum(nil)
}

// newChallenge signs a challenge for a's flow with next's steps still due.
func (ch *challenges) newChallenge(ctx context.Context, a Account, next flowClaims) (string, error) {
	key, err := ch.keys.get(ctx)
	if err != nil {
		return "", err
	}
	now := ch.now().UTC()
	payload, err := json.Marshal(flowClaims{Account: a.ID, Tenant: a.TenantID, Steps: next.Steps, Reason: next.Reason, Seq: a.FlowSeq,
		Issued: now.UnixNano(), Expires: now.Add(ChallengeTTL).Unix(), Device: next.Device, Key: next.Key, IdP: next.IdP, IdPAuth: next.IdPAuth})
	if err != nil {
		return "", fmt.Errorf("challenge: %w", err)
	}
	enc := base64.RawURLEncoding
	return enc.EncodeToString(payload) + "." + enc.EncodeToString(flowMAC(key, payload)), nil
}

// MaxChallengeLen bounds what is read as a challenge.
const MaxChallengeLen = 1024

// flow returns the claims of a live challenge and its account as it stands now. Forged,
// expired, used-up, malformed and orphaned challenges, and those of an account whose
// password changed since or that cannot sign in, are all invalid_token.
func (ch *challenges) flow(ctx context.Context, challenge string) (flowClaims, Account, error) {
	invalid := codeErr(CodeInvalidToken)
	p64, m64, ok := strings.Cut(challenge, ".")
	if !ok || len(challenge) > MaxChallengeLen {
		return flowClaims{}, Account{}, invalid
	}
	enc := base64.RawURLEncoding
	payload, err1 := enc.DecodeString(p64)
	mac, err2 := enc.DecodeString(m64)
	if err1 != nil || err2 != nil {
		return flowClaims{}, Account{}, invalid
	}
	key, err := ch.keys.get(ctx)
	if err != nil {
		return flowClaims{}, Account{}, err
	}
	if !hmac.Equal(mac, flowMAC(key, payload)) {
		return flowClaims{}, Account{}, invalid
	}
	var c flowClaims
	if err := json.Unmarshal(payload, &c); err != nil || len(c.Steps) == 0 {
		return flowClaims{}, Account{}, invalid
	}
	if !ch.now().Before(time.Unix(c.Expires, 0)) {
		return flowClaims{}, Account{}, invalid
	}
	a, err := ch.accounts.GetAccount(ctx, c.Tenant, c.Account)
	if errors.Is(err, ErrNotFound) {
		return flowClaims{}, Account{}, invalid
	} else if err != nil {
		return flowClaims{}, Account{}, fmt.Errorf("challenge account: %w", err)
	}
	if a.FlowSeq != c.Seq || time.Unix(0, c.Issued).Before(a.TokensAfter) || a.Disabled {
		return flowClaims{}, Account{}, invalid
	}
	return c, a, nil
}

// flowAt is flow for a challenge whose next step is step.
func (ch *challenges) flowAt(ctx context.Context, challenge, step string) (flowClaims, Account, error) {
	c, a, err := ch.flow(ctx, challenge)
	if err != nil {
		return flowClaims{}, Account{}, err
	}
	if c.Steps[0] != step {
		return flowClaims{}, Account{}, codeErr(CodeInvalidToken)
	}
	return c, a, nil
}

// stillFlow guards a step's write: the challenge must not have been used meanwhile.
func stillFlow(c flowClaims) func(Account) error {
	return func(a Account) error {
		if a.FlowSeq != c.Seq {
			return codeErr(CodeInvalidToken)
		}
		return nil
	}
}
