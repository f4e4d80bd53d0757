package password

import (
	"errors"
	"strings"
	"testing"
)

// fast keeps unit tests quick; Validate is tested separately.
var fast = Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32}

func TestHashVerify(t *testing.T) {
	h, err := Hash(fast, "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("not a PHC argon2id string: %q", h)
	}
	ok, stale, err := Verify(fast, h, "correct horse")
	if err != nil || !ok || stale {
		t.Fatalf("Verify(right) = %v, %v, %v", ok, stale, err)
	}
	ok, _, err = Verify(fast, h, "correct horsE")
	if err != nil || ok {
		t.Fatalf("Verify(wrong) = %v, %v", ok, err)
	}
	h2, _ := Hash(fast, "correct horse")
	if h2 == h {
		t.Fatal("two hashes of the same password share a salt")
	}
}

func TestVerifyReportsStaleParams(t *testing.T) {
	h, _ := Hash(fast, "pw")
	newer := fast
	newer.Iterations = 2
	ok, stale, err := Verify(newer, h, "pw")
	if err != nil || !ok || !stale {
		t.Fatalf("Verify = %v, %v, %v; want ok and stale", ok, stale, err)
	}
}

func TestLongPasswordsAreNotTruncated(t *testing.T) {
	long := strings.Repeat("a", 128)
	h, _ := Hash(fast, long)
	if ok, _, _ := Verify(fast, h, long[:127]); ok {
		t.Fatal("a 127-character prefix matched a 128-character password")
	}
	if ok, _, _ := Verify(fast, h, long); !ok {
		t.Fatal("the 128-character password did not match")
	}
}

func TestMalformed(t *testing.T) {
	for _, s := range []string{
		"", "plain", "$argon2id$v=18$m=64,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5",
		"$argon2id$v=19$m=99999999,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5",
		"$argon2id$v=19$m=64,t=1,p=1$!!$a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5",
		"$argon2id$v=19$m=64,t=1,p=1$c2FsdA$a2V5",
	} {
		if _, _, err := Verify(fast, s, "x"); !errors.Is(err, ErrMalformed) {
			t.Errorf("Verify(%q) err = %v, want ErrMalformed", s, err)
		}
	}
}

func TestDefaultMeetsOWASPMinimum(t *testing.T) {
	if err := Default.Validate(); err != nil {
		t.Fatal(err)
	}
	weak := Default
	weak.MemoryKiB = 1024
	if weak.Validate() == nil {
		t.Fatal("1 MiB accepted")
	}
}

// BenchmarkHashDefault is the raw argon2id rate the login benchmark is compared with.
func BenchmarkHashDefault(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Hash(Default, "correct horse battery staple"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkHashDefaultParallel(b *testing.B) {
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := Hash(Default, "correct horse battery staple"); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func TestPepper(t *testing.T) {
	fast := Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32}
	peppered := fast
	peppered.Pepper = "server-side-secret-1"
	h, err := Hash(peppered, "Kawa-no-Sakana-7!")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(h, ",keyid=") || strings.Contains(h, "server-side") {
		t.Fatalf("peppered hash %q", h)
	}
	if ok, stale, err := Verify(peppered, h, "Kawa-no-Sakana-7!"); !ok || stale || err != nil {
		t.Fatalf("verify with the pepper: %v %v %v", ok, stale, err)
	}
	if ok, _, _ := Verify(peppered, h, "Kawa-no-Sakana-8!"); ok {
		t.Fatal("a wrong password matched")
	}
	// Without the pepper, or with another, a peppered hash cannot be checked at all.
	if _, _, err := Verify(fast, h, "Kawa-no-Sakana-7!"); !errors.Is(err, ErrUnknownPepper) {
		t.Fatalf("without the pepper: %v", err)
	}
	other := peppered
	other.Pepper = "server-side-secret-2"
	if _, _, err := Verify(other, h, "Kawa-no-Sakana-7!"); !errors.Is(err, ErrUnknownPepper) {
		t.Fatalf("with another pepper: %v", err)
	}
	// A plain hash still verifies once a pepper is configured, and asks to be rehashed.
	plain, _ := Hash(fast, "Kawa-no-Sakana-7!")
	if ok, stale, err := Verify(peppered, plain, "Kawa-no-Sakana-7!"); !ok || !stale || err != nil {
		t.Fatalf("plain hash under a pepper: %v %v %v", ok, stale, err)
	}
	// The HMAC is what is hashed: the same password with the pepper is another key.
	if strings.Split(h, "$")[5] == strings.Split(plain, "$")[5] {
		t.Fatal("pepper had no effect")
	}
}

// The dummy hash matches nothing and costs a real check: the same parameters, so the
// unknown-account sign-in takes as long as a real one.
func TestDummyCostsARealCheckAndMatchesNothing(t *testing.T) {
	d := Dummy(fast)
	real, _ := Hash(fast, "x")
	if d[:strings.LastIndex(d[:len(d)-44], "$")] != real[:strings.LastIndex(real[:len(real)-44], "$")] {
		t.Fatalf("parameters differ: %s / %s", d, real)
	}
	for _, pw := range []string{"", "x", "password"} {
		if ok, stale, err := Verify(fast, d, pw); ok || stale || err != nil {
			t.Fatalf("%q: %v %v %v", pw, ok, stale, err)
		}
	}
}
