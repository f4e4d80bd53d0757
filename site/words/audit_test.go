package words

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var (
	auditAction = regexp.MustCompile(`Action: "([a-z_.]+)"`)
	// A result written whole ("ok:sent", "failed:invalid_token", ev.Result = "ignored:throttled").
	auditResult = regexp.MustCompile(`"(ok|failed|ignored|refused|step_due):([a-z_]+)"`)
	// The reasons the server writes through a function (refusal, changeReason, a
	// domain check's fail, the lock's endGrants): their words are needed as much.
	auditReason = regexp.MustCompile(`(?:return |fail\(|endGrants\(ctx, a, )"([a-z_]+)"`)
	// An admission rule's refusal (refuse("app_password_required"), refuse(a, "…")) and a
	// service check's note on how it passed (how += ":known_client"), in any file.
	auditRefusal = regexp.MustCompile(`(?:refuse\((?:a, )?|how \+= ":)"?([a-z_]+)"`)
	i18nAudit    = regexp.MustCompile(`"(audit\.[a-z_.:]+)":`)
)

// auditCodes walks the server's code for the actions and result reasons its audit events
// carry: the site's keys they need (audit.a.<action>, audit.d.<reason>), each with the
// file it was found in.
func auditCodes(t *testing.T) map[string]string {
	t.Helper()
	need := map[string]string{}
	err := filepath.WalkDir("../..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "node_modules" || strings.HasPrefix(d.Name(), ".")) && path != "../.." {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		if !strings.Contains(path, "shared/account/") && !strings.Contains(path, "shared/idp/") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range auditAction.FindAllStringSubmatch(string(b), -1) {
			if !strings.HasSuffix(m[1], ".") { // "mail." + kind: a family, whose members are written whole elsewhere
				need["audit.a."+m[1]] = path
			}
		}
		for _, m := range auditResult.FindAllStringSubmatch(string(b), -1) {
			need["audit.d."+m[2]] = path
		}
		for _, m := range auditRefusal.FindAllStringSubmatch(string(b), -1) {
			need["audit.d."+m[1]] = path
		}
		if strings.HasSuffix(path, "signin.go") || strings.HasSuffix(path, "passwords.go") || strings.HasSuffix(path, "domains.go") || strings.HasSuffix(path, "lockout.go") {
			for _, m := range auditReason.FindAllStringSubmatch(string(b), -1) {
				need["audit.d."+m[1]] = path
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The walk finds what it must: a sign-in, a lock and a throttled reset request.
	for _, k := range []string{"audit.a.login", "audit.a.lock", "audit.d.throttled", "audit.d.locked", "audit.d.no_record"} {
		if need[k] == "" {
			t.Fatalf("the walk missed %s: it no longer reads the code", k)
		}
	}
	return need
}

// TestEveryAuditCodeHasWords walks the server's code for the actions and result reasons
// its audit events carry and fails on one that the audit log has no Japanese and English
// words for (site/words.json audit.a.* and audit.d.*), so the log never shows a code.
func TestEveryAuditCodeHasWords(t *testing.T) {
	js, err := os.ReadFile("../words.json")
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]int{}
	for _, m := range i18nAudit.FindAllStringSubmatch(string(js), -1) {
		have[m[1]]++
	}
	for key, from := range auditCodes(t) {
		if have[key] < 2 {
			t.Errorf("%s (from %s) has words in %d of 2 languages", key, from, have[key])
		}
	}
}
