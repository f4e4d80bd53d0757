package auditwords

import "testing"

// Events in words as the audit page shows them (site/auditwords.js and audit.js give
// these for the same events): reasons, counts, roles and changes in words, names as they
// are, a lock named as a lock, a bulk job with its counts, a code without words as it is.
func TestEventsInWords(t *testing.T) {
	for _, c := range []struct {
		lang, actor, action, result string
		who, what, outcome          string
	}{
		{"ja", "system", "lock", "ok:10 failures", "Kagiya（自動）", "ロック", "ロックしました（10回続けて失敗）"},
		{"en", "system", "lock", "ok:10 failures", "Kagiya (automatic)", "Lock", "Locked（10 failures in a row）"},
		{"ja", "service:mail", "login", "failed:imap:password", "メールサーバー（mail）", "ログイン", "失敗（imap・パスワード誤り）"},
		{"en", "oidc:app1", "account.update", "ok:role=admin quota_gb=5", "Application (app1)", "Account changed", "OK（role: Administrator、mailbox size: 5）"},
		{"en", "x@example.com", "bulk.update", "ok:password quota comment job abc123", "x@example.com", "CSV bulk change (row)", "OK（password、mailbox size、comment / bulk job abc123）"},
		{"en", "oidc", "oidc.revoke", "ok:app1 (password_change)", "Applications", "Application access revoked", "OK（app1（password change））"},
		{"en", "anonymous", "login", "ignored:throttled", "Whoever opened the emailed link", "Sign-in", "Ignored（too many requests）"},
		{"en", "u", "account.update", "ok:disabled=true force_change=false", "u", "Account changed", "OK（suspended、no change required）"},
		{"ja", "u", "bulk.job", "succeeded:job j1 rows=3 updated=1 created=1 skipped=1 refused=0 errors=0", "u", "CSV 一括処理", "完了（3行・変更 1・作成 1・対象外 1・誤り 0）"},
		{"en", "u", "bulk.job", "succeeded:job j1 rows=3 updated=1 created=1 skipped=1 refused=0 errors=0", "u", "CSV bulk job", "Done（3 rows, 1 changed, 1 created, 1 skipped, 0 errors）"},
		{"ja", "u", "bulk.update", "ok:password job j1", "u", "CSV 一括変更（行）", "成功（パスワード / 一括処理 j1）"},
		{"en", "u", "bulk.update", "refused:role admin job j1", "u", "CSV bulk change (row)", "Not done（Administrator cannot be changed / bulk job j1）"},
		{"en", "u", "x.unknown", "weird:thing", "u", "x.unknown", "weird（thing）"},
	} {
		if got := Actor(c.lang, c.actor); got != c.who {
			t.Errorf("%s actor %s: %q, want %q", c.lang, c.actor, got, c.who)
		}
		if got := Action(c.lang, c.action); got != c.what {
			t.Errorf("%s action %s: %q, want %q", c.lang, c.action, got, c.what)
		}
		if got := Result(c.lang, c.action, c.result); got != c.outcome {
			t.Errorf("%s result %s: %q, want %q", c.lang, c.result, got, c.outcome)
		}
	}
}

// The words of one exported row (actor, action, result), as the export writes up to
// 100,000 of them: go test -bench Row ./shared/auditwords.
func BenchmarkRow(b *testing.B) {
	results := []string{"failed:password", "ok:10 failures", "ok:role=admin quota_gb=5", "failed:imap:password", "ok:password quota comment job j1"}
	for i := 0; b.Loop(); i++ {
		r := results[i%len(results)]
		_ = Actor("ja", "system") + Action("ja", "login") + Result("ja", "login", r)
	}
}
