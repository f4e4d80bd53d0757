// Package auditwords gives an audit event's actor, action and result (with its reason) in
// words, in Japanese or English, as the audit page shows them (site/auditwords.js): the
// audit export writes them beside the codes. The words are the site's, generated from
// site/words.json into table.go; site/words holds the two equal.
package auditwords

import (
	"maps"
	"regexp"
	"strconv"
	"strings"
)

//go:generate go run ./gen

// Languages are the languages the words come in.
var Languages = []string{"ja", "en"}

// t is the words of key in lang (Japanese when lang is neither), or key where there are
// none, as the site's t does.
func t(lang, key string) string {
	table, ok := words[lang]
	if !ok {
		table = words["ja"]
	}
	if w, ok := table[key]; ok {
		return w
	}
	return key
}

func known(lang, key string) bool {
	_, ok := words[lang][key]
	return ok
}

// fill is the words of key with {1}, {2}… replaced by groups.
func fill(lang, key string, groups []string) string {
	s := t(lang, key)
	for i, g := range groups {
		s = strings.Replace(s, "{"+strconv.Itoa(i+1)+"}", g, 1)
	}
	return s
}

// locks are the actions whose "ok" is a lock, not a success.
var locks = map[string]bool{"lock": true, "mfa.lock": true, "device.untrusted": true, "device.ceiling": true}

// A detail the server writes as a sentence with data in it: its pattern, the key of its
// words, whose {1}, {2} are the pattern's groups, and whether the groups are roles (else
// data shown as it is).
type pattern struct {
	re   *regexp.Regexp
	key  string
	role bool
}

var patterns = []pattern{
	{regexp.MustCompile(`^(\d+) failures$`), "audit.p.failures", false},
	{regexp.MustCompile(`^(\d+) wrong codes$`), "audit.p.wrong_codes", false},
	{regexp.MustCompile(`^(\d+) left$`), "audit.p.left", false},
	{regexp.MustCompile(`^(\d+) failures from a known browser$`), "audit.p.known_failures", false},
	{regexp.MustCompile(`^(\d+) attempts from known browsers this hour$`), "audit.p.known_ceiling", false},
	{regexp.MustCompile(`^(\d+) revoked by the password change$`), "audit.p.revoked_by_change", false},
	{regexp.MustCompile(`^was not locked$`), "audit.p.was_not_locked", false},
	{regexp.MustCompile(`^code reused, its tokens revoked$`), "audit.p.code_reused", false},
	{regexp.MustCompile(`^to (\S+)$`), "audit.p.to", false},
	{regexp.MustCompile(`^from (\S+)$`), "audit.p.from", false},
	{regexp.MustCompile(`^(\S+) to argon2id$`), "audit.p.upgraded", false},
	{regexp.MustCompile(`^app_password (.+)$`), "audit.p.app_password", false},
	{regexp.MustCompile(`^other_tenant (\S+)$`), "audit.p.other_tenant", false},
	{regexp.MustCompile(`^(.+) refreshed$`), "audit.p.refreshed", false},
	{regexp.MustCompile(`^(.+) \(revocation endpoint\)$`), "audit.p.revocation_endpoint", false},
	{regexp.MustCompile(`^the administrator is gone$`), "audit.p.admin_gone", false},
	{regexp.MustCompile(`^the administrator may no longer administer$`), "audit.p.admin_demoted", false},
	{regexp.MustCompile(`^domain of another tenant$`), "audit.d.other_tenant", false},
	{regexp.MustCompile(`^role changed$`), "audit.p.role_changed", false},
	{regexp.MustCompile(`^role (user|admin|owner)$`), "audit.p.role_refused", true},
}

var (
	jobDetail   = regexp.MustCompile(`^(.+) job (\S+)$`)
	revoked     = regexp.MustCompile(`^(.+) \((\w+)\)$`) // an application's access, and why
	changeToken = regexp.MustCompile(`^(password|password_hash|invitation|comment|quota|account|force_change=(true|false)|role=(user|admin|owner)|disabled=(true|false)|quota_gb=\d+)$`)
	bulkJob     = regexp.MustCompile(`^(\w+):job (\S+) rows=(\d+) updated=(\d+) created=(\d+) skipped=(\d+) refused=(\d+) errors=(\d+)`)
)

// changeWords is the fields a change names (account.update "role=admin quota_gb=5", a
// bulk row "password quota comment"), each in words; false when detail is no such list.
func changeWords(lang, detail string) (string, bool) {
	parts := strings.Split(detail, " ")
	for _, p := range parts {
		if !changeToken.MatchString(p) {
			return "", false
		}
	}
	out := make([]string, len(parts))
	for i, p := range parts {
		field, value, ok := strings.Cut(p, "=")
		switch {
		case !ok:
			out[i] = t(lang, "audit.c."+field)
		case field == "role":
			out[i] = t(lang, "audit.c.role") + ": " + t(lang, "role."+value)
		case field == "quota_gb":
			out[i] = t(lang, "audit.c.quota") + ": " + value
		default:
			out[i] = t(lang, "audit.c."+field+"."+value)
		}
	}
	return strings.Join(out, "、"), true
}

// Detail is a result's detail ("password", "imap:password", "10 failures",
// "ok:role=admin") in words; names and addresses stay as they are.
func Detail(lang, detail string) string {
	if known(lang, "audit.d."+detail) {
		return t(lang, "audit.d."+detail)
	}
	if m := jobDetail.FindStringSubmatch(detail); m != nil {
		// A bulk row's detail is what it changed ("password quota"), never a reason.
		what, ok := changeWords(lang, m[1])
		if !ok {
			what = Detail(lang, m[1])
		}
		return what + " / " + fill(lang, "audit.p.job", m[2:])
	}
	if m := revoked.FindStringSubmatch(detail); m != nil {
		return m[1] + "（" + Detail(lang, m[2]) + "）"
	}
	for _, p := range patterns {
		m := p.re.FindStringSubmatch(detail)
		if m == nil {
			continue
		}
		groups := m[1:]
		if p.role {
			groups = make([]string, len(m)-1)
			for i, g := range m[1:] {
				groups[i] = t(lang, "role."+g)
			}
		}
		return fill(lang, p.key, groups)
	}
	if w, ok := changeWords(lang, detail); ok {
		return w
	}
	if before, after, ok := strings.Cut(detail, ":"); ok && before != "" {
		return Detail(lang, before) + "・" + Detail(lang, after)
	}
	return detail
}

// Result is an event's result in words: the outcome, and its reason where known; a bulk
// job's, its state and counts.
func Result(lang, action, result string) string {
	if action == "bulk.job" {
		if m := bulkJob.FindStringSubmatch(result); m != nil {
			counts := t(lang, "audit.job")
			for i, name := range []string{"{rows}", "{updated}", "{created}", "{skipped}"} {
				counts = strings.Replace(counts, name, m[3+i], 1)
			}
			counts = strings.Replace(counts, "{errors}", m[8], 1)
			return t(lang, "bulk.state."+m[1]) + "（" + counts + "）"
		}
	}
	status, detail, _ := strings.Cut(result, ":")
	var w string
	switch {
	case status == "ok" && locks[action]:
		w = t(lang, "audit.r.locked")
	case status == "ok" && action == "unlock":
		w = t(lang, "audit.r.unlocked")
	case known(lang, "audit.r."+status):
		w = t(lang, "audit.r."+status)
	default:
		w = status
	}
	if detail != "" {
		return w + "（" + Detail(lang, detail) + "）"
	}
	return w
}

// Actor names who acted: a person by login ID, Kagiya itself, a mail server, an
// application, or someone who used an emailed link.
func Actor(lang, actor string) string {
	switch {
	case actor == "system":
		return t(lang, "audit.who.system")
	case actor == "anonymous":
		return t(lang, "audit.who.anonymous")
	case actor == "oidc":
		return t(lang, "audit.who.oidc")
	case strings.HasPrefix(actor, "service:"):
		return fill(lang, "audit.who.service", []string{strings.TrimPrefix(actor, "service:")})
	case strings.HasPrefix(actor, "oidc:"):
		return fill(lang, "audit.who.app", []string{strings.TrimPrefix(actor, "oidc:")})
	case strings.HasPrefix(actor, "malformed:"):
		return t(lang, "audit.d.malformed")
	}
	return actor
}

// Action is an action in words, or as it is where the site has none.
func Action(lang, action string) string {
	if known(lang, "audit.a."+action) {
		return t(lang, "audit.a."+action)
	}
	return action
}

// Words is the site's words the audit words use in lang (a copy), by key.
func Words(lang string) map[string]string {
	return maps.Clone(words[lang])
}
