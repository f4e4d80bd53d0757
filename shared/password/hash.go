// Package password hashes and verifies passwords with argon2id, stored as PHC strings
// ($argon2id$v=19$m=...,t=...,p=...$salt$hash). With a pepper (a server secret kept
// apart from the database), the password is first HMAC-SHA256ed with it, and the PHC
// string names the pepper by an ID (keyid=, as the argon2 PHC format has it), so peppered
// and plain hashes live side by side and plain ones are rehashed at the next sign-in.
package password

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Params are the argon2id cost parameters. The zero value is not usable; start from Default.
type Params struct {
	MemoryKiB   uint32 // m, in KiB
	Iterations  uint32 // t
	Parallelism uint8  // p
	SaltLen     uint32
	KeyLen      uint32
	// Pepper, if not empty, is the server secret mixed into new hashes. Never logged.
	Pepper string
}

// pepperID names a pepper in the PHC strings it made: the first 6 bytes of its SHA-256.
func pepperID(pepper string) string {
	sum := sha256.Sum256([]byte("kagiya-pepper\x00" + pepper))
	return base64.RawStdEncoding.EncodeToString(sum[:6])
}

// peppered is the argon2 input for plain under pepper.
func peppered(pepper, plain string) []byte {
	m := hmac.New(sha256.New, []byte(pepper))
	m.Write([]byte(plain))
	return m.Sum(nil)
}

// ErrUnknownPepper reports a hash made with a pepper this process does not have.
var ErrUnknownPepper = errors.New("password: hash made with another pepper")

// Default is OWASP's minimum recommendation for argon2id: m=19 MiB, t=2, p=1.
var Default = Params{MemoryKiB: 19 * 1024, Iterations: 2, Parallelism: 1, SaltLen: 16, KeyLen: 32}

// ErrMalformed reports a stored hash that is not an argon2id PHC string this package can read.
var ErrMalformed = errors.New("password: malformed argon2id hash")

// Validate reports whether p is strong enough to use: at least OWASP's minimum.
func (p Params) Validate() error {
	switch {
	case p.MemoryKiB < 19*1024:
		return fmt.Errorf("argon2id memory %d KiB is below 19456", p.MemoryKiB)
	case p.Iterations < 2:
		return fmt.Errorf("argon2id iterations %d is below 2", p.Iterations)
	case p.Parallelism < 1:
		return errors.New("argon2id parallelism must be at least 1")
	case p.SaltLen < 16 || p.KeyLen < 16:
		return errors.New("argon2id salt and key must be at least 16 bytes")
	}
	return nil
}

// Hash derives a PHC string for plain with a fresh random salt.
func Hash(p Params, plain string) (string, error) {
	salt := make([]byte, p.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("password salt: %w", err)
	}
	input, keyid := []byte(plain), ""
	if p.Pepper != "" {
		input, keyid = peppered(p.Pepper, plain), ",keyid="+pepperID(p.Pepper)
	}
	key := argon2.IDKey(input, salt, p.Iterations, p.MemoryKiB, p.Parallelism, p.KeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d%s$%s$%s",
		argon2.Version, p.MemoryKiB, p.Iterations, p.Parallelism, keyid, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// Dummy is a PHC string with p's parameters that no password matches (its key is not a
// hash of anything): checking a password against it costs what a real check costs, and
// making it costs nothing, so a function's start computes no hash.
func Dummy(p Params) string {
	b64 := base64.RawStdEncoding
	salt := make([]byte, p.SaltLen)
	key := make([]byte, p.KeyLen)
	for i := range key {
		key[i] = 0x5a
	}
	keyid := ""
	if p.Pepper != "" {
		keyid = ",keyid=" + pepperID(p.Pepper)
	}
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d%s$%s$%s",
		argon2.Version, p.MemoryKiB, p.Iterations, p.Parallelism, keyid, b64.EncodeToString(salt), b64.EncodeToString(key))
}

// Verify reports whether plain matches the PHC string encoded, comparing in constant time,
// and whether the hash was made with parameters other than want, or without want's
// pepper (so the caller should rehash). A hash made with a pepper want does not hold is
// ErrUnknownPepper.
//
// An imported hash (IsImported) is checked with its own scheme and is always stale.
func Verify(want Params, encoded, plain string) (ok, stale bool, err error) {
	if IsImported(encoded) {
		ok, err = verifyImported(encoded, plain)
		return ok, true, err
	}
	p, keyid, salt, key, err := decode(encoded)
	if err != nil {
		return false, false, err
	}
	input := []byte(plain)
	if keyid != "" {
		if want.Pepper == "" || keyid != pepperID(want.Pepper) {
			return false, false, ErrUnknownPepper
		}
		input = peppered(want.Pepper, plain)
	}
	got := argon2.IDKey(input, salt, p.Iterations, p.MemoryKiB, p.Parallelism, uint32(len(key)))
	ok = subtle.ConstantTimeCompare(got, key) == 1
	stale = p.MemoryKiB != want.MemoryKiB || p.Iterations != want.Iterations ||
		p.Parallelism != want.Parallelism || uint32(len(key)) != want.KeyLen || uint32(len(salt)) != want.SaltLen ||
		keyid == "" && want.Pepper != ""
	return ok, stale, nil
}

func decode(encoded string) (p Params, keyid string, salt, key []byte, err error) {
	parts := strings.Split(encoded, "$")
	// "", "argon2id", "v=19", "m=..,t=..,p=..[,keyid=..]", salt, key
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return Params{}, "", nil, nil, ErrMalformed
	}
	params, keyid, _ := strings.Cut(parts[3], ",keyid=")
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return Params{}, "", nil, nil, ErrMalformed
	}
	if _, err := fmt.Sscanf(params, "m=%d,t=%d,p=%d", &p.MemoryKiB, &p.Iterations, &p.Parallelism); err != nil {
		return Params{}, "", nil, nil, ErrMalformed
	}
	// Refuse absurd parameters from a tampered record rather than allocate gigabytes.
	if p.MemoryKiB == 0 || p.MemoryKiB > 4*1024*1024 || p.Iterations == 0 || p.Iterations > 100 || p.Parallelism == 0 {
		return Params{}, "", nil, nil, ErrMalformed
	}
	b64 := base64.RawStdEncoding
	salt, err = b64.DecodeString(parts[4])
	if err != nil || len(salt) == 0 {
		return Params{}, "", nil, nil, ErrMalformed
	}
	key, err = b64.DecodeString(parts[5])
	if err != nil || len(key) < 16 || len(key) > 128 {
		return Params{}, "", nil, nil, ErrMalformed
	}
	p.SaltLen, p.KeyLen = uint32(len(salt)), uint32(len(key))
	return p, keyid, salt, key, nil
}
