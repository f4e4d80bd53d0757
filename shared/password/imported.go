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
	"slices"
	"strconv"
	"strings"

	"github.com/go-crypt/crypt"
	"github.com/go-crypt/crypt/algorithm"
	"github.com/go-crypt/crypt/algorithm/argon2"
	"github.com/go-crypt/crypt/algorithm/bcrypt"
	"github.com/go-crypt/crypt/algorithm/md5crypt"
	"github.com/go-crypt/crypt/algorithm/pbkdf2"
	"github.com/go-crypt/crypt/algorithm/scrypt"
	"github.com/go-crypt/crypt/algorithm/shacrypt"
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
	MaxArgon2Lanes    = 16         // p: m=64 MiB, t=4, p=16 is 218 ms on 2 cores
	MaxScryptWork     = 1 << 19    // N × r × p: ln=16, r=8, p=1 (64 MiB) is 217 ms
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

var dovecotPrefix = regexp.MustCompile(`^\{([A-Z0-9-]+(?:\.[A-Z0-9]+)?)\}(.*)$`)

// digestValue decodes the value of one of Dovecot's digest schemes as Dovecot does: in
// the encoding the scheme names ("{SHA256.HEX}", "{SSHA.B64}"), else in the scheme's own
// (hex for PLAIN-MD5, base64 for the others), and an unsalted digest also in hex when its
// length says so (doveadm pw writes {PLAIN-MD5} in hex, LDAP's tools write base64).
func digestValue(scheme, value string) (string, []byte, error) {
	base, enc, _ := strings.Cut(scheme, ".")
	d, ok := dovecotDigest[base]
	if !ok {
		return "", nil, ErrHashUnsupported
	}
	size := d.new().Size()
	if enc == "" {
		enc = "B64"
		if base == "PLAIN-MD5" || !d.salted && len(value) == 2*size {
			enc = "HEX"
		}
	}
	var raw []byte
	var err error
	switch enc {
	case "HEX":
		raw, err = hex.DecodeString(value)
	case "B64", "BASE64":
		raw, err = base64.StdEncoding.DecodeString(value)
	default:
		return "", nil, ErrHashMalformed
	}
	if err != nil || len(raw) < size || !d.salted && len(raw) != size || d.salted && len(raw) == size {
		return "", nil, ErrHashMalformed
	}
	return base, raw, nil
}

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
		if scheme == "MD5" && !strings.HasPrefix(value, "$1$") {
			// OpenLDAP's {MD5} is an unsalted MD5 digest; Dovecot's is MD5-CRYPT.
			scheme = "LDAP-MD5"
		}
		if want, ok := dovecotCrypt[scheme]; ok {
			if !strings.HasPrefix(value, want) {
				return Imported{}, ErrHashMalformed
			}
			return parseCrypt(value, allowWeak)
		}
		base, _, err := digestValue(scheme, value)
		if err != nil {
			return Imported{}, err
		}
		weak := !dovecotDigest[base].salted || base == "SMD5"
		if weak && !allowWeak {
			return Imported{}, ErrHashWeak
		}
		return Imported{Stored: "{" + scheme + "}" + value, Scheme: strings.ToLower(base), Weak: weak}, nil
	}
	return parseCrypt(s, allowWeak)
}

// parseCrypt checks a PHC or crypt(3) string through go-crypt and holds it to the caps.
// Its cost parameters must be written plainly (digits only, each once, none unknown);
// the caps are then held against what go-crypt decoded, which is what a check computes.
func parseCrypt(s string, allowWeak bool) (Imported, error) {
	if !strings.HasPrefix(s, "$") {
		return Imported{}, ErrHashMalformed
	}
	in := Imported{Stored: s}
	id, _, _ := strings.Cut(s[1:], "$")
	switch {
	case strings.HasPrefix(id, "2"):
		in.Scheme = "bcrypt"
	case id == "5" || id == "6":
		in.Scheme = map[string]string{"5": "sha256-crypt", "6": "sha512-crypt"}[id]
	case id == "1":
		in.Scheme, in.Weak = "md5-crypt", true
	case strings.HasPrefix(id, "pbkdf2"), strings.HasPrefix(id, "argon2"), id == "scrypt":
		in.Scheme = id
	default:
		return Imported{}, ErrHashUnsupported
	}
	if err := plainParams(s); err != nil {
		return Imported{}, err
	}
	digest, err := decoder.Decode(s)
	if err != nil {
		return Imported{}, ErrHashMalformed
	}
	if err := checkCost(digest); err != nil {
		return Imported{}, err
	}
	if in.Weak && !allowWeak {
		return Imported{}, ErrHashWeak
	}
	return in, nil
}

// plainParams refuses a crypt string whose cost parameters go-crypt would read
// leniently: a sign ("+20000000"), a duplicate ("t=2,p=1,t=300": the last one wins) or
// one it does not name. Each is a way around the caps or a string no tool writes.
func plainParams(s string) error {
	parts := strings.Split(s, "$")
	if len(parts) < 3 {
		return ErrHashMalformed
	}
	id := parts[1]
	switch {
	case strings.HasPrefix(id, "2"), strings.HasPrefix(id, "pbkdf2"):
		// $2b$<cost>$…, $pbkdf2-sha256$<iterations>$…
		if !isDigits(parts[2]) {
			return ErrHashMalformed
		}
	case id == "5" || id == "6":
		// $6$[rounds=<n>$]<salt>$<hash>
		if rounds, ok := strings.CutPrefix(parts[2], "rounds="); ok && (len(parts) != 5 || !isDigits(rounds)) {
			return ErrHashMalformed
		}
	case strings.HasPrefix(id, "argon2"):
		// $argon2id$v=19$m=<KiB>,t=<passes>,p=<lanes>$<salt>$<hash>
		if len(parts) != 6 || parts[2] != "v=19" {
			return ErrHashMalformed
		}
		if _, err := costParams(parts[3], "m", "t", "p"); err != nil {
			return err
		}
	case id == "scrypt":
		// $scrypt$ln=<log2 N>,r=<block size>,p=<parallelism>$<salt>$<hash>
		if len(parts) != 5 {
			return ErrHashMalformed
		}
		if _, err := costParams(parts[2], "ln", "r", "p"); err != nil {
			return err
		}
	}
	return nil
}

// checkCost holds a decoded hash to the caps. go-crypt keeps a digest's parameters to
// itself; its Encode writes them out in one fixed form, which is read here.
func checkCost(digest algorithm.Digest) error {
	enc := digest.Encode()
	parts := strings.Split(enc, "$")
	field := func(i int) string {
		if i < len(parts) {
			return parts[i]
		}
		return ""
	}
	switch digest.(type) {
	case *bcrypt.Digest:
		cost, err := strconv.Atoi(field(2))
		if err != nil {
			return ErrHashMalformed
		}
		if cost > MaxBcryptCost {
			return &CostError{"bcrypt", fmt.Sprintf("bcrypt cost %d", MaxBcryptCost)}
		}
	case *shacrypt.Digest:
		rounds := 5000 // crypt(3)'s default when the string names none
		if v, ok := strings.CutPrefix(field(2), "rounds="); ok {
			n, err := strconv.Atoi(v)
			if err != nil {
				return ErrHashMalformed
			}
			rounds = n
		}
		if rounds > MaxSHACryptRounds {
			return &CostError{"sha-crypt", fmt.Sprintf("%d rounds", MaxSHACryptRounds)}
		}
	case *md5crypt.Digest:
		// fixed cost
	case *pbkdf2.Digest:
		rounds, err := strconv.Atoi(field(2))
		if err != nil || rounds < 1 {
			return ErrHashMalformed
		}
		if rounds > MaxPBKDF2Rounds {
			return &CostError{"pbkdf2", fmt.Sprintf("%d iterations", MaxPBKDF2Rounds)}
		}
	case *argon2.Digest:
		c, err := costParams(field(3), "m", "t", "p")
		if err != nil {
			return err
		}
		m, t, p := c["m"], c["t"], c["p"]
		if p < 1 || t < 1 {
			return ErrHashMalformed
		}
		// Below 8 KiB a lane, argon2 raises the memory to that: what a check allocates.
		m = max(m, 8*p)
		if p > MaxArgon2Lanes || m > MaxArgon2MemKiB || m*t > MaxArgon2Work {
			return &CostError{"argon2", fmt.Sprintf("m=%d KiB, m×t=%d and p=%d", MaxArgon2MemKiB, MaxArgon2Work, MaxArgon2Lanes)}
		}
	case *scrypt.Digest:
		c, err := costParams(field(2), "ln", "r", "p")
		if err != nil {
			return err
		}
		ln, r, p := c["ln"], c["r"], c["p"]
		if ln < 1 || r < 1 || p < 1 {
			return ErrHashMalformed
		}
		// Time goes with N·r·p and memory with N·r: both held by one cap, stepwise so
		// that no product overflows.
		limit := &CostError{"scrypt", fmt.Sprintf("N×r×p=%d", MaxScryptWork)}
		if ln > 30 || r > MaxScryptWork || p > MaxScryptWork {
			return limit
		}
		if nr := (1 << ln) * r; nr > MaxScryptWork || nr*p > MaxScryptWork {
			return limit
		}
	default:
		return ErrHashUnsupported
	}
	return nil
}

// costParams reads "k=v,k=v" whose keys are exactly keys, each once, in any order, and
// whose values are plain decimal numbers.
func costParams(s string, keys ...string) (map[string]int, error) {
	got := make(map[string]int, len(keys))
	for _, kv := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(kv, "=")
		if _, dup := got[k]; !ok || dup || !slices.Contains(keys, k) || !isDigits(v) {
			return nil, ErrHashMalformed
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			return nil, ErrHashMalformed
		}
		got[k] = n
	}
	if len(got) != len(keys) {
		return nil, ErrHashMalformed
	}
	return got, nil
}

// isDigits reports whether s is a decimal number of at most 10 digits: no sign, no
// space, nothing Atoi would forgive, and nothing that overflows when multiplied by
// another such cap-checked number.
func isDigits(s string) bool {
	if s == "" || len(s) > 10 {
		return false
	}
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// dovecotPBKDF2 reads Dovecot's {PBKDF2} value: $1$<salt>$<rounds>$<hex of PBKDF2-HMAC-SHA1>.
func dovecotPBKDF2(v string) (salt []byte, rounds int, key []byte, err error) {
	parts := strings.Split(v, "$")
	if len(parts) != 5 || parts[0] != "" || parts[1] != "1" || parts[2] == "" {
		return nil, 0, nil, ErrHashMalformed
	}
	if !isDigits(parts[3]) {
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
		base, raw, err := digestValue(scheme, value)
		if err != nil {
			return false, err
		}
		d := dovecotDigest[base]
		size := d.new().Size()
		h := d.new()
		h.Write([]byte(plain))
		h.Write(raw[size:]) // the salt, if any
		return subtle.ConstantTimeCompare(h.Sum(nil), raw[:size]) == 1, nil
	}
	digest, err := decoder.Decode(stored)
	if err != nil {
		return false, ErrHashMalformed
	}
	// A hash stored before the caps held them (or written into the table by hand) is
	// refused rather than computed.
	if err := checkCost(digest); err != nil {
		return false, err
	}
	return digest.MatchAdvanced(plain)
}
