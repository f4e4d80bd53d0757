package policy

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

func check(t *testing.T, preset string, in Input) []string {
	t.Helper()
	p, ok := Get(preset)
	if !ok {
		t.Fatalf("no preset %s", preset)
	}
	return p.Check(in)
}

type tc struct {
	pw   string
	want []string // nil: accepted
}

func run(t *testing.T, preset, loginID string, cases []tc) {
	t.Helper()
	for _, c := range cases {
		got := check(t, preset, Input{Password: c.pw, LoginID: loginID})
		if fmt.Sprint(got) != fmt.Sprint(c.want) && !(len(got) == 0 && len(c.want) == 0) {
			t.Errorf("%s %q: got %v, want %v", preset, c.pw, got, c.want)
		}
	}
}

// standard12: the hosting manuals (000 section 3, 001): 12+ half-width characters with a
// lower-case letter, an upper-case letter, a digit and one of # ( ) + - . [ ] { } ! < > _ :
// * $ @ % ^ & , ~; not the account or domain name; no run of 6 or more digits.
func TestStandard12(t *testing.T) {
	run(t, "standard12", "yamada@example.com", []tc{
		{"Abcdefgh12#x", nil},
		{"Abcdefgh1#x", []string{TooShort}},
		{"abcdefgh12#x", []string{MissingUpper}},
		{"ABCDEFGH12#X", []string{MissingLower}},
		{"Abcdefghij#x", []string{MissingDigit}},
		{"Abcdefgh12xx", []string{MissingSymbol}},
		{"Abcdefgh12?x", []string{InvalidChar, MissingSymbol}}, // ? is not in the set
		{"Abcdefgh12#x ", []string{InvalidChar}},               // no spaces
		{"Abcdefgh12#パ", []string{InvalidChar}},                // half-width only
		{"Abcdefgh12–x", []string{InvalidChar, MissingSymbol}}, // an en dash is not the hyphen
		{"xYamada-2026#", []string{ContainsAccount}},           // account name, any case
		{"Example.com#1a", []string{ContainsDomain}},           // domain, any case
		{"Abcd123456#x", []string{DigitRun}},                   // 6 digits in a row
		{"Abcd12345#x6", nil},                                  // 5 then 1
		{"ab", []string{TooShort, MissingUpper, MissingDigit, MissingSymbol}},
		{strings.Repeat("Aa1#", 33), []string{TooLong}},
	})
	for _, sym := range StandardSymbols {
		pw := "Abcdefgh12x" + string(sym)
		if got := check(t, "standard12", Input{Password: pw, LoginID: "yamada@example.com"}); len(got) != 0 {
			t.Errorf("symbol %q refused: %v", sym, got)
		}
	}
	// Account names shorter than 3 characters are not a rule (every password would hit "a").
	run(t, "standard12", "ab@example.com", []tc{{"Abcdefgh12#x", nil}})
}

// basic8: 8 to 16 of A-Z a-z 0-9 - _ . with a letter and a digit (001, SV-Basic).
func TestBasic8(t *testing.T) {
	run(t, "basic8", "sato@example.jp", []tc{
		{"abc12345", nil},
		{"ABC_12.x", nil},
		{"abc1234", []string{TooShort}},
		{"abc1234567890abcd", []string{TooLong, DigitRun}},
		{"abcdefgh", []string{MissingDigit}},
		{"12345-__", []string{MissingLetter}},
		{"abc12#45", []string{InvalidChar}},
		{"abc 1234", []string{InvalidChar}},
		{"xsato123", []string{ContainsAccount}},
		{"a1example.jp", []string{ContainsDomain}},
		{"ab123456", []string{DigitRun}},
	})
}

// classes3of4: 8+ with 3 of upper, lower, digit, symbol (003, cloud storage).
func TestClasses3of4(t *testing.T) {
	run(t, "classes3of4", "k@example.com", []tc{
		{"abcDEF12", nil},
		{"abcdef1!", nil},
		{"ABCDEF1!", nil},
		{"abcdefgh", []string{TooFewClasses}},
		{"abcdEFGH", []string{TooFewClasses}},
		{"abcDE1", []string{TooShort}},
		{"abcDEF12 ", []string{InvalidChar}},
		{"abcDEF12é", []string{InvalidChar}},
	})
}

// legacy3to30: 3 to 30 half-width characters, no white space (002, mail server).
func TestLegacy3to30(t *testing.T) {
	run(t, "legacy3to30", "u@example.com", []tc{
		{"abc", nil},
		{"a!b", nil},
		{"ab", []string{TooShort}},
		{strings.Repeat("x", 30), nil},
		{strings.Repeat("x", 31), []string{TooLong}},
		{"ab c", []string{InvalidChar}},
		{"ab\tc", []string{InvalidChar}},
		{"パスワード", []string{InvalidChar}},
		{"u", []string{TooShort}},
	})
}

// nist: 15+ (12 with a second factor) up to 128, any Unicode, no composition rules, not
// common or breached, not the account or domain name.
func TestNIST(t *testing.T) {
	run(t, "nist", "tanaka@example.com", []tc{
		{"correct horse battery staple", nil},
		{"すしとてんぷらがすきです。", []string{TooShort}}, // 13 characters
		{"すしとてんぷらがだいすきです。", nil},              // 15
		{"short pass", []string{TooShort}},
		{"passwordpassword", []string{Common}},  // a listed password repeated
		{"iloveyou20262026!", []string{Common}}, // a listed password with digits added
		{"1qaz2wsx3edc4rfv", []string{Common}},  // listed as is
		{"tanaka's long passphrase", []string{ContainsAccount}},
		{"my example.com passphrase", []string{ContainsDomain}},
		{"tab\tinside the passphrase", []string{InvalidChar}},
		{strings.Repeat("z", 129), []string{TooLong}},
	})
	if got := check(t, "nist", Input{Password: "twelve chars", LoginID: "x@example.com", MFA: true}); len(got) != 0 {
		t.Errorf("12 characters with a second factor: %v", got)
	}
	// NFC: a decomposed é counts as one character, as it will be hashed.
	p, _ := Get("nist")
	if p.Normalized("e\u0301") != "\u00e9" {
		t.Error("not normalized to NFC")
	}
}

func TestBlocklistIsRealAndSearchable(t *testing.T) {
	lines := strings.Split(strings.TrimSuffix(blocklist, "\n"), "\n")
	if len(lines) < 20000 {
		t.Fatalf("only %d entries", len(lines))
	}
	if !slices.IsSorted(lines) {
		t.Fatal("not sorted byte-wise")
	}
	for _, i := range []int{0, 1, len(lines) / 2, len(lines) - 2, len(lines) - 1} {
		if !listed(lines[i]) {
			t.Errorf("entry %d %q not found", i, lines[i])
		}
	}
	for _, s := range []string{"123456", "password", "qwerty", "dragon", "iloveyou"} {
		if !listed(s) {
			t.Errorf("%q not listed", s)
		}
	}
	for _, s := range []string{"", "correct horse battery staple", "zzzzzzzzzzzzzzzzzzzz", "\xff"} {
		if listed(s) {
			t.Errorf("%q listed", s)
		}
	}
}

func TestDescribeCoversEveryRuleTheCheckerReports(t *testing.T) {
	for _, name := range Names() {
		p, _ := Get(name)
		codes := map[string]bool{}
		for _, r := range p.Describe("en", false, 3) {
			codes[r.Code] = true
			if r.Text == "" {
				t.Errorf("%s %s: no text", name, r.Code)
			}
		}
		for _, pw := range []string{"", "a", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa 1234567 é\x01", "password", "u@example.com"} {
			for _, code := range p.Check(Input{Password: pw, LoginID: "user@example.com"}) {
				if !codes[code] {
					t.Errorf("%s reports %s, which Describe does not list", name, code)
				}
			}
		}
		ja := p.Describe("ja", false, 0)
		if len(ja) == 0 || !utf8.ValidString(ja[0].Text) || ja[0].Text == p.Describe("en", false, 0)[0].Text {
			t.Errorf("%s: no Japanese description", name)
		}
	}
}

func FuzzCheck(f *testing.F) {
	for _, s := range []string{"Abcdefgh12#x", "abc12345", "パスワード", "passwordpassword", "\xff\xfe", ""} {
		f.Add(s, "yamada@example.com", false)
	}
	f.Fuzz(func(t *testing.T, pw, login string, mfa bool) {
		for _, name := range Names() {
			p, _ := Get(name)
			broken := p.Check(Input{Password: pw, LoginID: login, MFA: mfa})
			if len(broken) > 0 {
				continue
			}
			// Accepted: then the length rules certainly hold.
			n := utf8.RuneCountInString(p.Normalized(pw))
			if n < p.minLen(mfa) || n > p.MaxLen {
				t.Fatalf("%s accepted %q of %d characters", name, pw, n)
			}
			if p.NeedSymbol && !strings.ContainsAny(pw, p.Allowed) {
				t.Fatalf("%s accepted %q without a symbol", name, pw)
			}
		}
	})
}

// BenchmarkCheck is the time of one full check per preset, blocklist included; compare with
// password.BenchmarkHashDefault (about 30 ms).
func BenchmarkCheck(b *testing.B) {
	for _, name := range Names() {
		p, _ := Get(name)
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				p.Check(Input{Password: "Correct-Horse-Battery-42", LoginID: "yamada@example.com"})
			}
		})
	}
	b.Run("blocklist-bytes", func(b *testing.B) {
		for b.Loop() {
			listed("iloveyou")
		}
		b.ReportMetric(float64(BlocklistBytes()), "bytes-in-binary")
	})
}

// ASVS 2.1.1: under nist, runs of spaces count as one toward the length.
func TestNISTCountsRunsOfSpacesOnce(t *testing.T) {
	p, _ := Get("nist")
	for pw, short := range map[string]bool{
		"kawa no  sakan      ": true,  // 20 characters, 14 with the runs collapsed
		"kawa no sakana mori":  false, // 19 with single spaces
		"yama-kawa-umi-sora":   false,
	} {
		got := slices.Contains(p.Check(Input{Password: pw, LoginID: "taro@example.com"}), TooShort)
		if got != short {
			t.Errorf("%q: too_short = %v, want %v", pw, got, short)
		}
	}
}

func TestCompromised(t *testing.T) {
	nist, _ := Get("nist")
	std, _ := Get("standard12")
	for pw, want := range map[string]bool{"password": true, "Password2026!": true, "iloveyou": true, "kawa no sakana mori": false} {
		if got := nist.Compromised(pw); got != want {
			t.Errorf("nist.Compromised(%q) = %v, want %v", pw, got, want)
		}
	}
	if std.Compromised("password") {
		t.Error("standard12 keeps no blocklist")
	}
}
