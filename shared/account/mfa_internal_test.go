package account

import (
	"context"
	"strings"
	"testing"
	"time"
)

// RFC 6238, appendix B (SHA-1), through the library, as 6-digit codes (the last six of
// the RFC's eight digits): each time's code is found at its own step, and only there.
func TestTOTPMatchesRFC6238Vectors(t *testing.T) {
	secret := "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ" // "12345678901234567890"
	for _, v := range []struct {
		unix int64
		code string
	}{{59, "287082"}, {1111111109, "081804"}, {1111111111, "050471"}, {1234567890, "005924"}, {2000000000, "279037"}, {20000000000, "353130"}} {
		at := time.Unix(v.unix, 0)
		step, ok := codeStep(secret, v.code, at)
		if !ok || step != v.unix/30 {
			t.Errorf("T=%d: code %s: step %d, %v", v.unix, v.code, step, ok)
		}
		// One step of skew either way, not two.
		if _, ok := codeStep(secret, v.code, at.Add(30*time.Second)); !ok {
			t.Errorf("T=%d: not accepted one step later", v.unix)
		}
		if _, ok := codeStep(secret, v.code, at.Add(-30*time.Second)); !ok {
			t.Errorf("T=%d: not accepted one step earlier", v.unix)
		}
		if _, ok := codeStep(secret, v.code, at.Add(61*time.Second)); ok {
			t.Errorf("T=%d: accepted two steps later", v.unix)
		}
	}
}

func TestSealedSecretsAreBoundToTheirAccount(t *testing.T) {
	ctx := context.Background()
	s := &sealer{load: StaticKey([]byte("kagiya test seal key, 32 bytes!!"))}
	sealed, err := s.sealFor(ctx, "acc_a", "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ")
	if err != nil || strings.Contains(sealed, "GEZDGNBV") {
		t.Fatalf("seal: %q %v", sealed, err)
	}
	if again, _ := s.sealFor(ctx, "acc_a", "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"); again == sealed {
		t.Fatal("the same secret sealed twice looks the same (nonce reused)")
	}
	if plain, err := s.openFor(ctx, "acc_a", sealed); err != nil || plain != "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ" {
		t.Fatalf("open: %q %v", plain, err)
	}
	if _, err := s.openFor(ctx, "acc_b", sealed); err == nil {
		t.Fatal("a secret moved to another account opened")
	}
	tampered := sealed[:len(sealed)-2] + "AA"
	if _, err := s.openFor(ctx, "acc_a", tampered); err == nil {
		t.Fatal("a tampered secret opened")
	}
	other := &sealer{load: StaticKey([]byte("another seal key, also 32 bytes!"))}
	if _, err := other.openFor(ctx, "acc_a", sealed); err == nil {
		t.Fatal("opened with another key")
	}
	if _, err := (&sealer{}).sealFor(ctx, "acc_a", "x"); err == nil {
		t.Fatal("sealed without a key")
	}
}

func TestRecoveryCodesAreRandomAndReadAsTyped(t *testing.T) {
	codes, hashes, err := newRecoveryCodes("acc_a")
	if err != nil || len(codes) != RecoveryCodeN || len(hashes) != RecoveryCodeN {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for i, c := range codes {
		if len(c) != 14 || c[4] != '-' || c[9] != '-' || seen[c] {
			t.Fatalf("code %q", c)
		}
		seen[c] = true
		typed, ok := normalizeRecovery(" " + strings.ToUpper(strings.ReplaceAll(c, "-", " ")) + " ")
		if !ok || recoveryHash("acc_a", typed) != hashes[i] || recoveryHash("acc_b", typed) == hashes[i] {
			t.Fatalf("code %q as typed does not match its hash (or matches another account's)", c)
		}
	}
	for _, bad := range []string{"", "abcd-efgh-ijk", "abcd-efgh-ijk1", "abcd-efgh-ijklm"} {
		if _, ok := normalizeRecovery(bad); ok {
			t.Errorf("%q read as a code", bad)
		}
	}
}

// BenchmarkCodeCheck is the work of checking one code: open the sealed secret (AES-GCM)
// and compute the three codes of the skew window (HMAC-SHA1).
func BenchmarkCodeCheck(b *testing.B) {
	ctx := context.Background()
	s := &sealer{load: StaticKey([]byte("kagiya test seal key, 32 bytes!!"))}
	sealed, _ := s.sealFor(ctx, "acc_a", "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ")
	at := time.Unix(1234567890, 0)
	b.ReportAllocs()
	for b.Loop() {
		secret, err := s.openFor(ctx, "acc_a", sealed)
		if err != nil {
			b.Fatal(err)
		}
		if _, ok := codeStep(secret, "005924", at); !ok {
			b.Fatal("no match")
		}
	}
}
