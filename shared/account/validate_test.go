package account

import (
	"strings"
	"testing"
)

func TestParseLoginID(t *testing.T) {
	cases := []struct {
		in, tenant string
		ok         bool
	}{
		{"taro@example.com", "example.com", true},
		{"Taro.Yamada+tag@Mail.Example.CO.JP", "mail.example.co.jp", true},
		{"a@b.c", "b.c", true},
		{"", "", false},
		{"taro", "", false},
		{"@example.com", "", false},
		{"taro@", "", false},
		{"taro@localhost", "", false},
		{"ta ro@example.com", "", false},
		{"taro@exa mple.com", "", false},
		{".taro@example.com", "", false},
		{"ta..ro@example.com", "", false},
		{"taro@-example.com", "", false},
		{"taro@example..com", "", false},
		{"taro@例え.jp", "", false},
		{"taro\x00@example.com", "", false},
		{"ta\u200bro@example.com", "", false},    // zero-width space
		{"taro\u202e@example.com", "", false},    // right-to-left override
		{"\ufefftaro@example.com", "", false},    // byte-order mark
		{"ta\u200dro@example.com", "", false},    // zero-width joiner
		{"たろう@example.com", "example.com", true}, // visible non-ASCII stays allowed
		{strings.Repeat("a", 65) + "@example.com", "", false},
		{"a@" + strings.Repeat("b", 250) + ".com", "", false},
	}
	for _, c := range cases {
		tenant, ok := ParseLoginID(c.in)
		if ok != c.ok || tenant != c.tenant {
			t.Errorf("ParseLoginID(%q) = %q, %v; want %q, %v", c.in, tenant, ok, c.tenant, c.ok)
		}
	}
}

func TestCommentProblem(t *testing.T) {
	for in, want := range map[string]string{
		"営業部":                                "",
		"Tokyo office, 3F":                   "",
		strings.Repeat("a", MaxCommentLen):   "",
		strings.Repeat("a", MaxCommentLen+1): "too_long",
		"line\nbreak":                        "invalid",
		"bell\a":                             "invalid",
		"hidden\u200btext":                   "invalid",
		"\u202eevil":                         "invalid",
		"\xff":                               "invalid",
	} {
		if got := commentProblem(in); got != want {
			t.Errorf("commentProblem(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCanManage(t *testing.T) {
	for _, c := range []struct {
		actor, target Role
		want          bool
	}{
		{RoleOwner, RoleOwner, true}, {RoleOwner, RoleAdmin, true}, {RoleOwner, RoleUser, true},
		{RoleAdmin, RoleOwner, false}, {RoleAdmin, RoleAdmin, false}, {RoleAdmin, RoleUser, true},
		{RoleUser, RoleUser, false},
	} {
		if got := canManage(c.actor, c.target); got != c.want {
			t.Errorf("canManage(%s, %s) = %v", c.actor, c.target, got)
		}
	}
}
