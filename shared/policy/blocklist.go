package policy

import (
	_ "embed"
	"strings"
)

// blocklist is 30,000 common and breached passwords, lower-case, sorted byte-wise, one per
// line (see infra/blocklist/generate.sh). It is searched in place: no index, no copy.
//
//go:embed blocklist.txt
var blocklist string

// BlocklistBytes is what the list adds to a binary.
func BlocklistBytes() int { return len(blocklist) }

// listed reports whether s (already lower-case) is a line of the blocklist, by binary
// search over the embedded text.
func listed(s string) bool {
	lo, hi := 0, len(blocklist)
	for lo < hi {
		mid := lo + (hi-lo)/2
		// The line that contains mid.
		start := strings.LastIndexByte(blocklist[:mid], '\n') + 1
		end := start + strings.IndexByte(blocklist[start:], '\n')
		switch line := blocklist[start:end]; {
		case line == s:
			return true
		case line < s:
			lo = end + 1
		default:
			hi = start
		}
	}
	return false
}

// common reports whether a password is, or is barely more than, a common one: listed
// itself, one listed password repeated ("passwordpassword"), or a listed password with only
// digits and symbols added at the end ("iloveyou2026!!").
func common(lower string) bool {
	if listed(lower) {
		return true
	}
	for n := 1; n <= len(lower)/2; n++ {
		if len(lower)%n == 0 && strings.Repeat(lower[:n], len(lower)/n) == lower && listed(lower[:n]) {
			return true
		}
	}
	base := strings.TrimRightFunc(lower, func(r rune) bool { return !isLetter(r) })
	return base != lower && len(base) >= 4 && listed(base)
}
