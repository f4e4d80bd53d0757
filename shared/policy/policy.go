// Package policy holds the password rule sets (presets) of docs/api.md as data, and checks a
// password against one, reporting every broken rule by its stable code at once.
package policy

import (
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Rule codes of docs/api.md (plus missing_letter, for presets that want a letter of any case).
const (
	TooShort        = "too_short"
	TooLong         = "too_long"
	MissingLower    = "missing_lower"
	MissingUpper    = "missing_upper"
	MissingLetter   = "missing_letter"
	MissingDigit    = "missing_digit"
	MissingSymbol   = "missing_symbol"
	TooFewClasses   = "too_few_classes"
	InvalidChar     = "invalid_char"
	ContainsAccount = "contains_account"
	ContainsDomain  = "contains_domain"
	DigitRun        = "digit_run"
	Common          = "common"
	Reused          = "reused"
	SameAsCurrent   = "same_as_current"
)

// StandardSymbols is the symbol set of the standard12 preset (the hosting manuals).
const StandardSymbols = "#()+-.[]{}!<>_:*$@%^&,~"

// Preset is one rule set. Zero fields are rules that do not apply.
type Preset struct {
	Name        string
	MinLen      int    // characters (runes after NFC for nist)
	MinLenMFA   int    // MinLen when the account has a second factor (0: same)
	MaxLen      int    // characters
	Allowed     string // if set, the only symbols allowed besides ASCII letters and digits
	ASCIIOnly   bool   // printable ASCII only, no spaces
	NoControl   bool   // any Unicode except control characters
	NeedLower   bool
	NeedUpper   bool
	NeedLetter  bool
	NeedDigit   bool
	NeedSymbol  bool // from Allowed
	MinClasses  int  // of upper, lower, digit, symbol
	NoAccount   bool // no account name (local part, 3+ characters) nor domain inside
	MaxDigitRun int  // longest run of digits allowed (0: any)
	Blocklist   bool
	Normalize   bool // NFC before checking and hashing
	// CollapseSpaces counts length with runs of spaces as one (ASVS 2.1.1), so padding
	// with spaces does not make a short password long enough.
	CollapseSpaces bool
}

// Presets are the five rule sets of docs/api.md, by name.
var presets = map[string]Preset{
	"standard12": {Name: "standard12", MinLen: 12, MaxLen: 128, Allowed: StandardSymbols,
		NeedLower: true, NeedUpper: true, NeedDigit: true, NeedSymbol: true, NoAccount: true, MaxDigitRun: 5},
	"basic8": {Name: "basic8", MinLen: 8, MaxLen: 16, Allowed: "-_.",
		NeedLetter: true, NeedDigit: true, NoAccount: true, MaxDigitRun: 5},
	"classes3of4": {Name: "classes3of4", MinLen: 8, MaxLen: 128, ASCIIOnly: true, MinClasses: 3},
	"legacy3to30": {Name: "legacy3to30", MinLen: 3, MaxLen: 30, ASCIIOnly: true},
	"nist": {Name: "nist", MinLen: 15, MinLenMFA: 12, MaxLen: 128, NoControl: true, NoAccount: true,
		Blocklist: true, Normalize: true, CollapseSpaces: true},
}

// Names lists the presets, the default first.
func Names() []string { return []string{"standard12", "basic8", "classes3of4", "legacy3to30", "nist"} }

// Get returns the preset called name.
func Get(name string) (Preset, bool) {
	p, ok := presets[name]
	return p, ok
}

// Input is what a password is checked with.
type Input struct {
	Password string
	LoginID  string // the account's email address, for the account and domain rules
	MFA      bool   // the account has a second factor
}

// collapseSpaces turns every run of spaces into one space.
func collapseSpaces(s string) string {
	var b strings.Builder
	prev := false
	for _, r := range s {
		if r == ' ' && prev {
			continue
		}
		prev = r == ' '
		b.WriteRune(r)
	}
	return b.String()
}

// Compromised reports whether pw is on p's blocklist of common and breached passwords
// (or barely more than one), for the presets that keep one. A sign-in with such a
// password, though right, must change it.
func (p Preset) Compromised(pw string) bool {
	return p.Blocklist && common(strings.ToLower(p.Normalized(pw)))
}

// Normalized returns the password as it is checked and hashed under p.
func (p Preset) Normalized(pw string) string {
	if p.Normalize {
		return norm.NFC.String(pw)
	}
	return pw
}

func (p Preset) minLen(mfa bool) int {
	if mfa && p.MinLenMFA > 0 {
		return p.MinLenMFA
	}
	return p.MinLen
}

func isLetter(r rune) bool { return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' }
func isDigit(r rune) bool  { return r >= '0' && r <= '9' }

// Check returns the codes of every rule of p that in breaks, in a fixed order; none
// means the password is acceptable (history and the current password are checked by the
// caller, which holds the hashes).
func (p Preset) Check(in Input) []string {
	pw := p.Normalized(in.Password)
	var broken []string
	add := func(code string) {
		if !slices.Contains(broken, code) {
			broken = append(broken, code)
		}
	}
	if !utf8.ValidString(pw) {
		return []string{InvalidChar}
	}
	n := utf8.RuneCountInString(pw)
	if p.CollapseSpaces {
		n = utf8.RuneCountInString(collapseSpaces(pw))
	}
	if n < p.minLen(in.MFA) {
		add(TooShort)
	}
	if p.MaxLen > 0 && n > p.MaxLen {
		add(TooLong)
	}
	var lower, upper, digit, symbol, setSymbol bool
	run, longest := 0, 0
	for _, r := range pw {
		switch {
		case r >= 'a' && r <= 'z':
			lower = true
		case r >= 'A' && r <= 'Z':
			upper = true
		case isDigit(r):
			digit = true
		default:
			symbol = true
			setSymbol = setSymbol || p.Allowed == "" || strings.ContainsRune(p.Allowed, r)
		}
		if isDigit(r) {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
		switch {
		case p.Allowed != "" && !isLetter(r) && !isDigit(r) && !strings.ContainsRune(p.Allowed, r):
			add(InvalidChar)
		case p.ASCIIOnly && (r <= ' ' || r > '~'):
			add(InvalidChar)
		case p.NoControl && unicode.IsControl(r):
			add(InvalidChar)
		}
	}
	if p.NeedLower && !lower {
		add(MissingLower)
	}
	if p.NeedUpper && !upper {
		add(MissingUpper)
	}
	if p.NeedLetter && !lower && !upper {
		add(MissingLetter)
	}
	if p.NeedDigit && !digit {
		add(MissingDigit)
	}
	if p.NeedSymbol && !setSymbol {
		add(MissingSymbol)
	}
	if p.MinClasses > 0 {
		classes := 0
		for _, has := range []bool{lower, upper, digit, symbol} {
			if has {
				classes++
			}
		}
		if classes < p.MinClasses {
			add(TooFewClasses)
		}
	}
	lowerPW := strings.ToLower(pw)
	if p.NoAccount && in.LoginID != "" {
		at := strings.LastIndexByte(in.LoginID, '@')
		local, domain := strings.ToLower(in.LoginID[:max(at, 0)]), strings.ToLower(in.LoginID[at+1:])
		if utf8.RuneCountInString(local) >= 3 && strings.Contains(lowerPW, local) {
			add(ContainsAccount)
		}
		if domain != "" && strings.Contains(lowerPW, domain) {
			add(ContainsDomain)
		}
	}
	if p.MaxDigitRun > 0 && longest > p.MaxDigitRun {
		add(DigitRun)
	}
	if p.Blocklist && common(lowerPW) {
		add(Common)
	}
	return broken
}

// RuleInfo describes one rule for people (Text, in the asked language) and for the
// browser's live checklist (the parameters).
type RuleInfo struct {
	Code    string `json:"code"`
	Text    string `json:"text"`
	Min     int    `json:"min,omitempty"`
	Max     int    `json:"max,omitempty"`
	Symbols string `json:"symbols,omitempty"`
	Server  bool   `json:"server_only,omitempty"` // the browser cannot check it
}

// Describe lists p's rules in lang ("ja" or "en"). historyDepth adds the reuse rule.
func (p Preset) Describe(lang string, mfa bool, historyDepth int) []RuleInfo {
	ja := lang != "en"
	t := func(j, e string, args ...any) string {
		if ja {
			return fmt.Sprintf(j, args...)
		}
		return fmt.Sprintf(e, args...)
	}
	var out []RuleInfo
	min := p.minLen(mfa)
	out = append(out, RuleInfo{Code: TooShort, Min: min, Text: t("%d 文字以上", "At least %d characters", min)})
	if p.MaxLen > 0 {
		out = append(out, RuleInfo{Code: TooLong, Max: p.MaxLen, Text: t("%d 文字以下", "At most %d characters", p.MaxLen)})
	}
	if p.NeedLower {
		out = append(out, RuleInfo{Code: MissingLower, Text: t("英小文字（a〜z）を含む", "A lower-case letter (a-z)")})
	}
	if p.NeedUpper {
		out = append(out, RuleInfo{Code: MissingUpper, Text: t("英大文字（A〜Z）を含む", "An upper-case letter (A-Z)")})
	}
	if p.NeedLetter {
		out = append(out, RuleInfo{Code: MissingLetter, Text: t("英字（A〜Z、a〜z）を含む", "A letter (A-Z or a-z)")})
	}
	if p.NeedDigit {
		out = append(out, RuleInfo{Code: MissingDigit, Text: t("数字（0〜9）を含む", "A digit (0-9)")})
	}
	if p.NeedSymbol {
		out = append(out, RuleInfo{Code: MissingSymbol, Symbols: p.Allowed, Text: t("記号（%s のいずれか）を含む", "A symbol (one of %s)", spaced(p.Allowed))})
	}
	if p.MinClasses > 0 {
		out = append(out, RuleInfo{Code: TooFewClasses, Min: p.MinClasses, Text: t("英大文字・英小文字・数字・記号のうち %d 種類以上を含む", "At least %d of: upper-case, lower-case, digits, symbols", p.MinClasses)})
	}
	switch {
	case p.Allowed != "":
		out = append(out, RuleInfo{Code: InvalidChar, Symbols: p.Allowed, Text: t("使える文字は英字・数字と %s のみ", "Only letters, digits and %s", spaced(p.Allowed))})
	case p.ASCIIOnly:
		out = append(out, RuleInfo{Code: InvalidChar, Text: t("半角の英数字・記号のみ（空白は使えません）", "Only ASCII letters, digits and symbols, no spaces")})
	case p.NoControl:
		out = append(out, RuleInfo{Code: InvalidChar, Text: t("制御文字は使えません", "No control characters")})
	}
	if p.NoAccount {
		out = append(out,
			RuleInfo{Code: ContainsAccount, Text: t("アカウント名（@ の前）を含まない", "Does not contain your account name (before the @)")},
			RuleInfo{Code: ContainsDomain, Text: t("ドメイン名を含まない", "Does not contain your domain name")})
	}
	if p.MaxDigitRun > 0 {
		out = append(out, RuleInfo{Code: DigitRun, Max: p.MaxDigitRun, Text: t("数字を %d 桁以上続けない", "No run of %d or more digits", p.MaxDigitRun+1)})
	}
	if p.Blocklist {
		out = append(out, RuleInfo{Code: Common, Server: true, Text: t("よく使われるパスワードや流出したパスワードではない", "Not a common or breached password")})
	}
	if historyDepth > 0 {
		out = append(out, RuleInfo{Code: Reused, Server: true, Min: historyDepth, Text: t("直近 %d 回のパスワードと異なる", "Not one of your last %d passwords", historyDepth)})
	}
	out = append(out, RuleInfo{Code: SameAsCurrent, Server: true, Text: t("現在のパスワードと異なる", "Different from your current password")})
	return out
}

func spaced(s string) string {
	var parts []string
	for _, r := range s {
		parts = append(parts, string(r))
	}
	return strings.Join(parts, " ")
}
