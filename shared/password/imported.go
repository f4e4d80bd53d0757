package password

import (
	"crypto/md5"
	stdpbkdf2 "crypto/pbkdf2"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"regexp"
	"strconv"
	"strings"

	"github.com/go-crypt/crypt"
	"github.com/go-crypt/crypt/algorithm/argon2"
	"github.com/go-crypt/crypt/algorithm/bcrypt"
	"github.com/go-crypt/crypt/algorithm/md5crypt"
	"github.com/go-crypt/crypt/algorithm/pbkdf2"
	"github.com/go-crypt/crypt/algorithm/scrypt"
	"github.com/go-crypt/crypt/algorithm/shacrypt"
	xbcrypt "golang.org/x/crypto/bcrypt"
)

// Imported hashes: password hashes brought from another system (a Dovecot passwd-file, a
// database), kept as they are until the account's next sign-in replaces them with
// argon2id. PHC and crypt(3) strings are parsed and checked by github.com/go-crypt/crypt;
// Dovecot's {SCHEME} prefixes are mapped onto those, and its salted-digest schemes
// ({SSHA}, {SSHA256}, {SSHA512}, {SMD5}, {PBKDF2}) and unsalted ones ({SHA}, {SHA256},
// {SHA512}, {PLAIN-MD5}) are checked with the standard library and x/crypto.

// Problems with an imported hash (bulk row error codes).
var (
	ErrHashMalformed   = fmt.Errorf("hash_malformed: %w", ErrMalformed) // not a hash of a scheme Kagiya reads
	ErrHashPlaintext   = errors.New("hash_plaintext")                   // {PLAIN}, {CLEAR}: use the password column
	ErrHashWeak        = errors.New("hash_weak")                        // unsalted or broken: only with allow_weak_hashes
	ErrHashUnsupported = errors.New("hash_unsupported")                 // a scheme that cannot be checked against a password
)

// CostError is an imported hash whose cost is above what one sign-in may spend.
type CostError struct {
	Scheme string
	Limit  string // the limit, as people read it ("bcrypt cost 12")
}

func (e *CostError) Error() string { return "hash_cost: above " + e.Limit }

// Cost caps for imported hashes, from BenchmarkImported (README): each keeps one check
// near 300 ms at most, about ten of Kagiya's own argon2id checks, once per account (its
// first sign-in replaces the hash).
const (
	MaxBcryptCost     = 12        // 285 ms
	MaxSHACryptRounds = 500_000   // sha512-crypt 320 ms
	MaxPBKDF2Rounds   = 1_300_000 // pbkdf2-sha256 320 ms
	MaxArgon2MemKiB   = 128 * 1024
	MaxArgon2Work     = 256 * 1024 // m (KiB) × t: m=64 MiB, t=4 is 280 ms
	MaxScryptMemBytes = 64 << 20
)

// Imported is a checked imported hash: its stored form and what it is.
type Imported struct {
	Stored string // what the account keeps until its next sign-in
	Scheme string // e.g. "bcrypt", "sha512-crypt", "ssha256"
	Weak   bool   // unsalted or broken: the account must change its password at once
}

// dovecotCrypt maps Dovecot prefixes whose value is a crypt(3) or PHC string to the
// scheme that string must be.
var dovecotCrypt = map[string]string{
	"SHA512-CRYPT": "$6$", "SHA256-CRYPT": "$5$", "BLF-CRYPT": "$2", "MD5-CRYPT": "$1$", "MD5": "$1$",
	"ARGON2ID": "$argon2id$", "ARGON2I": "$argon2i$", "CRYPT": "$",
}

// dovecotDigest are Dovecot's base64 digest schemes: the hash, and whether a salt
// follows the digest.
var dovecotDigest = map[string]struct {
	new    func() hash.Hash
	salted bool
}{
	"SSHA": {sha1.New, true}, "SSHA256": {sha256.New, true}, "SSHA512": {sha512.New, true}, "SMD5": {md5.New, true},
	"SHA": {sha1.New, false}, "SHA1": {sha1.New, false}, "SHA256": {sha256.New, false}, "SHA512": {sha512.New, false},
	"PLAIN-MD5": {md5.New, false}, "LDAP-MD5": {md5.New, false},
}

var decoder = func() *crypt.Decoder {
	d := crypt.NewDecoder()
	for _, register := range []func(*crypt.Decoder) error{
		func(d *crypt.Decoder) error { return argon2.RegisterDecoder(d) },
		func(d *crypt.Decoder) error { return bcrypt.RegisterDecoder(d) },
		func(d *crypt.Decoder) error { return pbkdf2.RegisterDecoder(d) },
		func(d *crypt.Decoder) error { return scrypt.RegisterDecoder(d) },
		func(d *crypt.Decoder) error { return shacrypt.RegisterDecoder(d) },
		func(d *crypt.Decoder) error { return md5crypt.RegisterDecoder(d) },
	} {
		if err := register(d); err != nil {
			panic(err) // registering a fixed set twice: a programming error
		}
	}
	return d
}()

var dovecotPrefix = regexp.MustCompile(`^\{([A-Z0-9-]+)\}(.*)$`)

// ParseImported checks an imported hash: its scheme, its form and its cost. Plaintext,
// weak-without-permission, unsupported and malformed ones are errors (ErrHash*), as is a
// cost above the caps (*CostError).
func ParseImported(s string, allowWeak bool) (Imported, error) {
	s = strings.TrimSpace(s)
	if m := dovecotPrefix.FindStringSubmatch(s); m != nil {
		scheme, value := m[1], m[2]
		switch scheme {
		case "PLAIN", "CLEAR", "CLEARTEXT", "PLAIN-TRUNC":
			return Imported{}, ErrHashPlaintext
		case "CRAM-MD5", "DIGEST-MD5", "SCRAM-SHA-1", "SCRAM-SHA-256", "LANMAN", "NTLM", "RPA", "OTP", "SKEY":
			return Imported{}, ErrHashUnsupported
		case "PBKDF2":
			if _, _, _, err := dovecotPBKDF2(value); err != nil {
				return Imported{}, err
			}
			return Imported{Stored: s, Scheme: "dovecot-pbkdf2"}, nil
		}
		if want, ok := dovecotCrypt[scheme]; ok {
			if !strings.HasPrefix(value, want) {
				return Imported{}, ErrHashMalformed
			}
			return parseCrypt(value, allowWeak)
		}
		d, ok := dovecotDigest[scheme]
		if !ok {
			return Imported{}, ErrHashUnsupported
		}
		raw, err := base64.StdEncoding.DecodeString(value)
		size := d.new().Size()
		if err != nil || len(raw) < size || !d.salted && len(raw) != size || d.salted && len(raw) == size {
			return Imported{}, ErrHashMalformed
		}
		weak := !d.salted || scheme == "SMD5"
		if weak && !allowWeak {
			return Imported{}, ErrHashWeak
		}
		return Imported{Stored: "{" + scheme + "}" + value, Scheme: strings.ToLower(scheme), Weak: weak}, nil
	}
	return parseCrypt(s, allowWeak)
}

// parseCrypt checks a PHC or crypt(3) string through go-crypt and holds it to the caps.
func parseCrypt(s string, allowWeak bool) (Imported, error) {
	if !strings.HasPrefix(s, "$") {
		return Imported{}, ErrHashMalformed
	}
	if _, err := decoder.Decode(s); err != nil {
		return Imported{}, ErrHashMalformed
	}
	in := Imported{Stored: s}
	id, _, _ := strings.Cut(s[1:], "$")
	switch {
	case strings.HasPrefix(id, "2"):
		in.Scheme = "bcrypt"
		cost, err := xbcrypt.Cost([]byte(s))
		if err != nil {
			return Imported{}, ErrHashMalformed
		}
		if cost > MaxBcryptCost {
			return Imported{}, &CostError{in.Scheme, fmt.Sprintf("bcrypt cost %d", MaxBcryptCost)}
		}
	case id == "5" || id == "6":
		in.Scheme = map[string]string{"5": "sha256-crypt", "6": "sha512-crypt"}[id]
		rounds := 5000 // crypt(3)'s default when the string names none
		if m := param(s, reRounds); m != "" {
			rounds, _ = strconv.Atoi(m)
		}
		if rounds > MaxSHACryptRounds {
			return Imported{}, &CostError{in.Scheme, fmt.Sprintf("%d rounds", MaxSHACryptRounds)}
		}
	case id == "1":
		in.Scheme, in.Weak = "md5-crypt", true
	case strings.HasPrefix(id, "pbkdf2"):
		in.Scheme = id
		rounds, _ := strconv.Atoi(param(s, reIterations))
		if rounds > MaxPBKDF2Rounds {
			return Imported{}, &CostError{in.Scheme, fmt.Sprintf("%d iterations", MaxPBKDF2Rounds)}
		}
	case strings.HasPrefix(id, "argon2"):
		in.Scheme = id
		m, _ := strconv.Atoi(param(s, reArgon2M))
		t, _ := strconv.Atoi(param(s, reArgon2T))
		if m > MaxArgon2MemKiB || m*t > MaxArgon2Work {
			return Imported{}, &CostError{in.Scheme, fmt.Sprintf("m=%d KiB and m×t=%d", MaxArgon2MemKiB, MaxArgon2Work)}
		}
	case id == "scrypt":
		in.Scheme = id
		ln, _ := strconv.Atoi(param(s, reScryptLN))
		r, _ := strconv.Atoi(param(s, reScryptR))
		if ln > 30 || 128*r<<ln > MaxScryptMemBytes {
			return Imported{}, &CostError{in.Scheme, fmt.Sprintf("%d MiB of memory", MaxScryptMemBytes>>20)}
		}
	default:
		return Imported{}, ErrHashUnsupported
	}
	if in.Weak && !allowWeak {
		return Imported{}, ErrHashWeak
	}
	return in, nil
}

// The parameters of a hash's cost, as its string carries them.
var (
	reRounds     = regexp.MustCompile(`\$rounds=(\d+)\$`)
	reIterations = regexp.MustCompile(`^\$[^$]+\$(\d+)\$`)
	reArgon2M    = regexp.MustCompile(`[$,]m=(\d+)`)
	reArgon2T    = regexp.MustCompile(`[$,]t=(\d+)`)
	reScryptLN   = regexp.MustCompile(`[$,]ln=(\d+)`)
	reScryptR    = regexp.MustCompile(`[$,]r=(\d+)`)
)

// param is re's first group in s, or "".
func param(s string, re *regexp.Regexp) string {
	if m := re.FindStringSubmatch(s); m != nil {
		return m[1]
	}
	return ""
}

// dovecotPBKDF2 reads Dovecot's {PBKDF2} value: $1$<salt>$<rounds>$<hex of PBKDF2-HMAC-SHA1>.
func dovecotPBKDF2(v string) (salt []byte, rounds int, key []byte, err error) {
	parts := strings.Split(v, "$")
	if len(parts) != 5 || parts[0] != "" || parts[1] != "1" || parts[2] == "" {
		return nil, 0, nil, ErrHashMalformed
	}
	rounds, err1 := strconv.Atoi(parts[3])
	key, err2 := hex.DecodeString(parts[4])
	if err1 != nil || err2 != nil || rounds < 1 || len(key) == 0 {
		return nil, 0, nil, ErrHashMalformed
	}
	if rounds > MaxPBKDF2Rounds {
		return nil, 0, nil, &CostError{"dovecot-pbkdf2", fmt.Sprintf("%d iterations", MaxPBKDF2Rounds)}
	}
	return []byte(parts[2]), rounds, key, nil
}

// IsImported reports whether a stored hash is an imported one (not Kagiya's argon2id).
func IsImported(stored string) bool { return stored != "" && !strings.HasPrefix(stored, "$argon2id$") }

// verifyImported checks plain against an imported hash, in constant time where the
// comparison is Kagiya's own.
func verifyImported(stored, plain string) (bool, error) {
	if m := dovecotPrefix.FindStringSubmatch(stored); m != nil {
		scheme, value := m[1], m[2]
		if scheme == "PBKDF2" {
			salt, rounds, key, err := dovecotPBKDF2(value)
			if err != nil {
				return false, err
			}
			got, err := stdpbkdf2.Key(sha1.New, plain, salt, rounds, len(key))
			if err != nil {
				return false, fmt.Errorf("pbkdf2: %w", err)
			}
			return subtle.ConstantTimeCompare(got, key) == 1, nil
		}
		d, ok := dovecotDigest[scheme]
		if !ok {
			return false, ErrHashUnsupported
		}
		raw, err := base64.StdEncoding.DecodeString(value)
		size := d.new().Size()
		if err != nil || len(raw) < size {
			return false, ErrHashMalformed
		}
		h := d.new()
		h.Write([]byte(plain))
		h.Write(raw[size:]) // the salt, if any
		return subtle.ConstantTimeCompare(h.Sum(nil), raw[:size]) == 1, nil
	}
	digest, err := decoder.Decode(stored)
	if err != nil {
		return false, ErrHashMalformed
	}
	return digest.MatchAdvanced(plain)
}
