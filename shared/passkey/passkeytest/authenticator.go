// Package passkeytest is a software authenticator for tests: it answers WebAuthn options
// JSON as a browser with a platform passkey would (ES256 keys, attestation "none", user
// verified), built from crypto/ecdsa and a CBOR encoder. Not linked into any function.
package passkeytest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"sync"

	"github.com/fxamacker/cbor/v2"
)

// Authenticator holds passkeys and makes and uses them. Its exported fields say how it
// behaves and may be changed between ceremonies.
type Authenticator struct {
	// Origin is what clientDataJSON says the page was; RPID the relying party it makes
	// and finds passkeys for (default: the origin's host).
	Origin, RPID string
	// Counter: the authenticator keeps a signature counter (security keys do); without
	// it every signature says 0 (synced platform passkeys do).
	Counter bool
	// Backup: passkeys are backup eligible and backed up (synced).
	Backup bool
	// UserVerified: the person was verified (PIN, biometrics); off, the UV flag is not set.
	UserVerified bool

	mu    sync.Mutex
	creds []*Credential
}

// Credential is one passkey the authenticator holds.
type Credential struct {
	ID         []byte
	RPID       string
	UserHandle []byte
	Key        *ecdsa.PrivateKey
	Count      uint32
}

// New is an authenticator for pages of origin, keeping no counter, backed up, verifying.
func New(origin string) *Authenticator {
	u, err := url.Parse(origin)
	if err != nil {
		panic(err)
	}
	return &Authenticator{Origin: origin, RPID: u.Hostname(), Backup: true, UserVerified: true}
}

// Credentials are the passkeys it holds, oldest first.
func (a *Authenticator) Credentials() []*Credential {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]*Credential(nil), a.creds...)
}

var b64 = base64.RawURLEncoding

type descriptor struct {
	ID   string `json:"id"`
	Type string `json:"type"`
}

type creationOptions struct {
	User      struct{ ID string } `json:"user"`
	Challenge string              `json:"challenge"`
	Params    []struct {
		Alg int `json:"alg"`
	} `json:"pubKeyCredParams"`
	Exclude []descriptor `json:"excludeCredentials"`
}

// Create answers PublicKeyCredentialCreationOptionsJSON with a RegistrationResponseJSON
// for a new ES256 passkey of the relying party a.RPID says, as
// navigator.credentials.create() and toJSON() would.
func (a *Authenticator) Create(options []byte) ([]byte, error) {
	var o creationOptions
	if err := json.Unmarshal(options, &o); err != nil {
		return nil, fmt.Errorf("creation options: %w", err)
	}
	es256 := false
	for _, p := range o.Params {
		es256 = es256 || p.Alg == -7
	}
	if !es256 {
		return nil, errors.New("the relying party does not take ES256")
	}
	for _, d := range o.Exclude {
		for _, c := range a.Credentials() {
			if b64.EncodeToString(c.ID) == d.ID {
				return nil, errors.New("InvalidStateError: a passkey of this account is here already")
			}
		}
	}
	handle, err := b64.DecodeString(o.User.ID)
	if err != nil {
		return nil, fmt.Errorf("user.id: %w", err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	c := &Credential{ID: make([]byte, 16), RPID: a.RPID, UserHandle: handle, Key: key}
	rand.Read(c.ID)
	cose, err := cbor.Marshal(map[int]any{1: 2, 3: -7, -1: 1, -2: pad32(key.X.Bytes()), -3: pad32(key.Y.Bytes())})
	if err != nil {
		return nil, err
	}
	att := make([]byte, 16+2, 16+2+len(c.ID)+len(cose)) // AAGUID zero: attestation "none"
	binary.BigEndian.PutUint16(att[16:], uint16(len(c.ID)))
	att = append(append(att, c.ID...), cose...)
	authData := append(a.authData(a.RPID, 0, 0x40), att...)
	attObj, err := cbor.Marshal(map[string]any{"fmt": "none", "attStmt": map[string]any{}, "authData": authData})
	if err != nil {
		return nil, err
	}
	clientData := a.clientData("webauthn.create", o.Challenge)
	a.mu.Lock()
	a.creds = append(a.creds, c)
	a.mu.Unlock()
	return json.Marshal(map[string]any{
		"id": b64.EncodeToString(c.ID), "rawId": b64.EncodeToString(c.ID), "type": "public-key",
		"authenticatorAttachment": "platform", "clientExtensionResults": map[string]any{},
		"response": map[string]any{"clientDataJSON": b64.EncodeToString(clientData), "attestationObject": b64.EncodeToString(attObj),
			"transports": []string{"internal", "hybrid"}},
	})
}

type requestOptions struct {
	Challenge string       `json:"challenge"`
	RPID      string       `json:"rpId"`
	Allow     []descriptor `json:"allowCredentials"`
}

// Get answers PublicKeyCredentialRequestOptionsJSON with an AuthenticationResponseJSON
// signed by the newest of its passkeys for the relying party that the options allow.
func (a *Authenticator) Get(options []byte) ([]byte, error) {
	var o requestOptions
	if err := json.Unmarshal(options, &o); err != nil {
		return nil, fmt.Errorf("request options: %w", err)
	}
	var use *Credential
	for _, c := range a.Credentials() {
		if c.RPID != a.RPID {
			continue
		}
		allowed := len(o.Allow) == 0
		for _, d := range o.Allow {
			allowed = allowed || d.ID == b64.EncodeToString(c.ID)
		}
		if allowed {
			use = c
		}
	}
	if use == nil {
		return nil, errors.New("NotAllowedError: no passkey for this site")
	}
	return a.Sign(use, o.Challenge)
}

// Sign makes an AuthenticationResponseJSON of c over challenge (base64url), for the
// relying party a.RPID says (whatever c was made for).
func (a *Authenticator) Sign(c *Credential, challenge string) ([]byte, error) {
	a.mu.Lock()
	if a.Counter {
		c.Count++
	}
	count := c.Count
	a.mu.Unlock()
	authData := a.authData(a.RPID, count, 0)
	clientData := a.clientData("webauthn.get", challenge)
	h := sha256.Sum256(clientData)
	digest := sha256.Sum256(append(append([]byte(nil), authData...), h[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, c.Key, digest[:])
	if err != nil {
		return nil, err
	}
	return json.Marshal(map[string]any{
		"id": b64.EncodeToString(c.ID), "rawId": b64.EncodeToString(c.ID), "type": "public-key",
		"authenticatorAttachment": "platform", "clientExtensionResults": map[string]any{},
		"response": map[string]any{"clientDataJSON": b64.EncodeToString(clientData), "authenticatorData": b64.EncodeToString(authData),
			"signature": b64.EncodeToString(sig), "userHandle": b64.EncodeToString(c.UserHandle)},
	})
}

// authData is the authenticator data: the RP ID's hash, flags (user present, verified,
// backup eligible and state, plus extra), the counter.
func (a *Authenticator) authData(rpID string, count uint32, extra byte) []byte {
	h := sha256.Sum256([]byte(rpID))
	flags := byte(0x01) | extra
	if a.UserVerified {
		flags |= 0x04
	}
	if a.Backup {
		flags |= 0x08 | 0x10
	}
	out := append(h[:], flags, 0, 0, 0, 0)
	binary.BigEndian.PutUint32(out[33:], count)
	return out
}

func (a *Authenticator) clientData(typ, challenge string) []byte {
	data, _ := json.Marshal(map[string]any{"type": typ, "challenge": challenge, "origin": a.Origin, "crossOrigin": false})
	return data
}

func pad32(b []byte) []byte { return append(make([]byte, 32-len(b)), b...) }
