package account

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Input limits. Anything longer is refused with a clear code, never truncated.
const (
	MaxLoginIDLen  = 254 // RFC 5321 path limit
	MaxPasswordLen = 128
	MaxCommentLen  = 500
)

// QuotaValues are the mail capacities (GB) an account may have, as in the manuals.
var QuotaValues = []int{0, 1, 2, 5, 10, 20, 50, 100}

// ValidQuota reports whether q is one of QuotaValues.
func ValidQuota(q int) bool {
	for _, v := range QuotaValues {
		if v == q {
			return true
		}
	}
	return false
}

// commentProblem names what is wrong with an account comment, or "": too long, not
// UTF-8, or holding control or invisible characters (which would hide text in the list
// and break the CSV export).
// CommentProblem names what is wrong with a comment ("" if nothing).
func CommentProblem(c string) string { return commentProblem(c) }

func commentProblem(c string) string {
	switch {
	case utf8.RuneCountInString(c) > MaxCommentLen:
		return "too_long"
	case !utf8.ValidString(c) || strings.ContainsFunc(c, invisible):
		return "invalid"
	}
	return ""
}

// nameErr refuses a name that an email or a page shows (a tenant's, an OIDC client's, a
// service credential's, an app password's) when it holds a control character: CR, LF
// or any other C0 or C1 control, or a format character (bidi controls, zero-width
// characters). A line break would cut an email's subject and put the rest above the
// greeting; a bidi control reorders what a page shows. 422 control_characters.
func nameErr(name string) error {
	if strings.ContainsFunc(name, invisible) {
		return codeErr(CodeControlCharacters, FieldError{"name", "control_characters"})
	}
	return nil
}

// invisible reports control characters and the format characters that show nothing:
// zero-width spaces and joiners, bidi controls, the byte-order mark.
func invisible(r rune) bool { return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) }

// ParseLoginID checks that id is a plausible email address and returns its tenant (the
// lower-cased domain). It returns ok=false for anything else.
func ParseLoginID(id string) (tenant string, ok bool) {
	if id == "" || len(id) > MaxLoginIDLen || !utf8.ValidString(id) {
		return "", false
	}
	at := strings.LastIndexByte(id, '@')
	if at < 1 || at > 64 || at == len(id)-1 {
		return "", false
	}
	local, domain := id[:at], id[at+1:]
	for _, r := range local {
		if r <= ' ' || r == 0x7f || r == '@' || r == '"' || r == '\\' || r == ',' || r == ';' || r == '<' || r == '>' || unicode.IsSpace(r) || invisible(r) {
			return "", false
		}
	}
	if strings.HasPrefix(local, ".") || strings.HasSuffix(local, ".") || strings.Contains(local, "..") {
		return "", false
	}
	labels := strings.Split(domain, ".")
	if len(labels) < 2 {
		return "", false
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return "", false
		}
		for _, r := range l {
			if !(r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
				return "", false
			}
		}
	}
	return strings.ToLower(domain), true
}
