package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/kagiya/kagiya/shared/account"
	"github.com/kagiya/kagiya/shared/auditwords"
)

// rawEnglish finds the words the audit log wrote before it said them in Japanese: codes
// and the server's own phrasing, never a login ID or a name.
var rawEnglish = regexp.MustCompile(`\b(system|anonymous|throttled|failures|wrong codes|left|role=|quota_gb|disabled=|force_change|job|ok|failed|ignored|refused|password|locked)\b`)

// The audit log answers: yesterday's failed sign-ins, counted by account, in two actions
// from the audit page (the 昨日 preset, then the failed sign-ins preset); the filters are
// in the address, so Back returns to the day's whole log and the address opens the same
// view again; the log says who and what in words (a lock is a lock, not 成功; Kagiya's
// own actions are not "system").
func TestBrowserAuditAnswers(t *testing.T) {
	var store account.Store
	base := startServerWith(t, func(s account.Store) account.Store { store = s; return s })
	owner := apiAs(t, base, "owner@example.com", "Kagi-2026-Tokyo!")
	res := owner("GET", "/api/me", nil)
	var me struct {
		Tenant string `json:"tenant"`
	}
	json.NewDecoder(res.Body).Decode(&me)
	res.Body.Close()
	// A failed sign-in today, and yesterday's events, at noon in Japan.
	if res := apiAs0(t, base, "owner@example.com", "Wrong-Guess-2026!"); res != 401 {
		t.Fatalf("wrong password: %d", res)
	}
	jst := time.FixedZone("JST", 9*3600)
	now := time.Now().In(jst)
	day := time.Date(now.Year(), now.Month(), now.Day(), 12, 0, 0, 0, jst).AddDate(0, 0, -1)
	yesterday := day.Format("2006-01-02")
	events := []account.AuditEvent{
		{Actor: "a@example.com", Action: "login", Target: "a@example.com", Result: "failed:password"},
		{Actor: "a@example.com", Action: "login", Target: "a@example.com", Result: "failed:password"},
		{Actor: "a@example.com", Action: "login", Target: "a@example.com", Result: "failed:password"},
		{Actor: "system", Action: "lock", Target: "a@example.com", Result: "ok:10 failures"},
		{Actor: "a@example.com", Action: "login", Target: "a@example.com", Result: "failed:locked"},
		{Actor: "b@example.com", Action: "login", Target: "b@example.com", Result: "failed:password"},
		{Actor: "b@example.com", Action: "login", Target: "b@example.com", Result: "ok"},
		{Actor: "b@example.com", Action: "password.reset_requested", Target: "b@example.com", Result: "ignored:throttled"},
		{Actor: "owner@example.com", Action: "account.update", Target: "b@example.com", Result: "ok:role=admin quota_gb=5"},
		{Actor: "system", Action: "mfa.lock", Target: "b@example.com", Result: "ok:5 wrong codes"},
		{Actor: "service:dovecot", Action: "service.verify", Target: "b@example.com", Result: "failed:imap:password"},
		{Actor: "anonymous", Action: "password.reset", Result: "failed:invalid_token"},
	}
	ctx := context.Background()
	for i, e := range events {
		e.TenantID, e.At, e.IP = me.Tenant, day.Add(time.Duration(i)*time.Minute), "192.0.2.7"
		if err := store.AppendAudit(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	// Two days ago: outside yesterday.
	if err := store.AppendAudit(ctx, account.AuditEvent{TenantID: me.Tenant, At: day.AddDate(0, 0, -1), Actor: "d@example.com",
		Action: "login", Target: "d@example.com", Result: "failed:password"}); err != nil {
		t.Fatal(err)
	}

	b := browser(t)
	var summary, search, table, lockRow, actors, again string
	var summaryShown bool
	var rows int
	err := chromedp.Do(b,
		japanese(base),
		signIn(base, "owner@example.com", "Kagi-2026-Tokyo!"),
		waitText("#me-login-id", "owner@example.com"),
		chromedp.Navigate(base+"/audit.html"),
		settled(),
		// Two actions.
		click("#preset-yesterday"),
		click("#preset-failed"),
		settled(),
		waitText("#summary-rows", "a@example.com"),
		read(chromedp.Evaluate[string](`[...document.querySelectorAll("#summary-rows tr")].map((tr) => [...tr.cells].slice(0, 3).map((c) => c.textContent).join(" | ")).join("\n")`), &summary),
		read(chromedp.Evaluate[string](`location.search`), &search),
		// Back: yesterday's whole log, in words.
		script(`history.back()`),
		poll(func(ctx context.Context, tg *chromedp.Target) (bool, string, error) {
			s, err := chromedp.Evaluate[string](`location.search`)(ctx, tg)
			return err == nil && !strings.Contains(s, "action="), "waiting for Back (" + s + ")", nil
		}),
		settled(),
		waitText("#events", "Kagiya（自動）"),
		read(chromedp.Evaluate[bool](`!document.getElementById("summary").hidden`), &summaryShown),
		read(chromedp.TextContent(css("#events")), &table),
		read(chromedp.Evaluate[int](`document.querySelectorAll("#events tr").length`), &rows),
		read(chromedp.Evaluate[string](`[...document.querySelectorAll("#events tr")].find((tr) => tr.cells[2].textContent === "ロック").textContent`), &lockRow),
		read(chromedp.Evaluate[string](`[...document.querySelectorAll("#events tr")].map((tr) => tr.cells[1].textContent).join(",")`), &actors),
		// The address opens the same view again.
		chromedp.Navigate(base+"/audit.html?action=login&result=failed&from="+yesterday+"&to="+yesterday),
		settled(),
		waitText("#summary-rows", "b@example.com"),
		read(chromedp.TextContent(css("#summary-lead")), &again),
	)
	if err != nil {
		t.Fatal(err)
	}
	want := "a@example.com | 4 | パスワード誤り ×3、ロック中 ×1\nb@example.com | 1 | パスワード誤り ×1"
	if summary != want {
		t.Errorf("summary:\n%s\nwant:\n%s", summary, want)
	}
	for _, p := range []string{"action=login", "result=failed", "from=" + yesterday, "to=" + yesterday} {
		if !strings.Contains(search, p) {
			t.Errorf("address %q lacks %s", search, p)
		}
	}
	if summaryShown {
		t.Error("the summary stays after Back to the whole log")
	}
	if !strings.Contains(lockRow, "ロックしました（10回続けて失敗）") || strings.Contains(lockRow, "成功") {
		t.Errorf("lock row %q", lockRow)
	}
	if rows != len(events) {
		t.Errorf("yesterday's log has %d rows, want %d (not today's nor the day before's): %s", rows, len(events), table)
	}
	for _, w := range []string{"短時間の依頼が多すぎる", "権限: 管理者、容量: 5", "確認コードの誤りが5回", "メールサーバー（dovecot）", "無効なリンク", "メールのリンクを開いた人"} {
		if !strings.Contains(table+actors, w) {
			t.Errorf("yesterday's log lacks %q: %s %s", w, table, actors)
		}
	}
	// What is left once login IDs, names and addresses are taken out is Japanese.
	rest := regexp.MustCompile(`[a-z]+@example\.com|192\.0\.2\.7|dovecot|imap`).ReplaceAllString(table+actors, "")
	if m := rawEnglish.FindAllString(rest, -1); len(m) > 0 {
		t.Errorf("raw English in the Japanese log: %v in %s", m, rest)
	}
	if !strings.Contains(again, "5件、2アカウント") {
		t.Errorf("the bookmarked view: %q", again)
	}
}

// apiAs0 tries a sign-in and answers its status.
func apiAs0(t *testing.T, base, id, pw string) int {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"login_id": id, "password": pw})
	res, err := http.Post(base+"/api/login", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

// The audit page's download says what the page says: beside the codes, its actor_label,
// action_label and result_label are the page's who, action and result cells, row for
// row, in the page's language, and in English after the language switch.
func TestBrowserAuditExportInThePagesWords(t *testing.T) {
	t.Parallel()
	var store account.Store
	base := startServerWith(t, func(s account.Store) account.Store { store = s; return s })
	owner := apiAs(t, base, "owner@example.com", "Kagi-2026-Tokyo!")
	res := owner("GET", "/api/me", nil)
	var me struct {
		Tenant string `json:"tenant"`
	}
	json.NewDecoder(res.Body).Decode(&me)
	res.Body.Close()
	events := []account.AuditEvent{
		{Actor: "a@example.com", Action: "login", Target: "a@example.com", Result: "failed:password"},
		{Actor: "system", Action: "lock", Target: "a@example.com", Result: "ok:10 failures"},
		{Actor: "b@example.com", Action: "password.reset_requested", Target: "b@example.com", Result: "ignored:throttled"},
		{Actor: "owner@example.com", Action: "account.update", Target: "b@example.com", Result: "ok:role=admin quota_gb=5"},
		{Actor: "service:dovecot", Action: "service.verify", Target: "b@example.com", Result: "failed:imap:password"},
		{Actor: "anonymous", Action: "password.reset", Result: "failed:invalid_token"},
		{Actor: "owner@example.com", Action: "bulk.update", Target: "c@example.com", Result: "ok:password job j1"},
		{Actor: "owner@example.com", Action: "bulk.job", Target: "a.csv", Result: "succeeded:job j1 rows=3 updated=1 created=1 skipped=1 refused=0 errors=0"},
	}
	ctx := context.Background()
	start := time.Now().Add(-time.Hour)
	for i, e := range events {
		e.TenantID, e.At, e.IP = me.Tenant, start.Add(time.Duration(i)*time.Minute), "192.0.2.7"
		if err := store.AppendAudit(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	const cells = `JSON.stringify([...document.querySelectorAll("#events tr")].map((tr) => [...tr.cells].map((td) => td.textContent)))`
	const download = `fetch(document.getElementById("export").href).then((r) => r.text())`
	var jaCells, jaCSV, enCells, enCSV, rowCells, rowCSV string
	err := chromedp.Do(browser(t),
		japanese(base),
		signIn(base, "owner@example.com", "Kagi-2026-Tokyo!"),
		waitText("#me-login-id", "owner@example.com"),
		chromedp.Navigate(base+"/audit.html"),
		waitText("#events", "ロックしました（10回続けて失敗）"),
		settled(),
		read(chromedp.Evaluate[string](cells), &jaCells),
		read(chromedp.Evaluate[string](download, chromedp.EvalAwaitPromise), &jaCSV),
		click("#lang-switch"),
		waitText("#events", "Locked（10 failures in a row）"),
		read(chromedp.Evaluate[string](cells), &enCells),
		read(chromedp.Evaluate[string](download, chromedp.EvalAwaitPromise), &enCSV),
		// A bulk job's rows (a password set is a change, not a wrong password).
		click("#f-bulk"),
		waitText("#events", "OK（password / bulk job j1）"),
		settled(),
		read(chromedp.Evaluate[string](cells), &rowCells),
		read(chromedp.Evaluate[string](download, chromedp.EvalAwaitPromise), &rowCSV),
	)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ lang, cells, csv, lock string }{{"ja", jaCells, jaCSV, "ロックしました"}, {"en", enCells, enCSV, "Locked"},
		{"en rows", rowCells, rowCSV, ",bulk.update,c@example.com,"}} {
		var page [][]string
		if err := json.Unmarshal([]byte(c.cells), &page); err != nil {
			t.Fatal(err)
		}
		rows, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(c.csv, "\ufeff"))).ReadAll()
		if err != nil || len(rows) != len(page)+1 || len(page) < len(events) {
			t.Fatalf("%s: %d page rows, the download %v:\n%s", c.lang, len(page), err, c.csv)
		}
		if h := strings.Join(rows[0], ","); h != "at,actor,action,target,target_id,ip,result,actor_label,action_label,result_label" {
			t.Fatalf("%s: header %s", c.lang, h)
		}
		for i, p := range page {
			r := rows[i+1]
			if r[3] != p[3] || r[7] != p[1] || r[8] != p[2] || r[9] != p[5] {
				t.Errorf("%s row %d: the page says %q, the download %q", c.lang, i, p, r)
			}
		}
		if !strings.Contains(c.csv, ",system,lock,a@example.com,") || !strings.Contains(c.csv, c.lock) {
			t.Errorf("%s: codes or words missing:\n%s", c.lang, c.csv)
		}
	}
}

// The export's words are the page's by construction, not by a second copy kept by hand:
// for every action, outcome and reason the site has words for, and for each sentence and
// actor the server writes with data in it, shared/auditwords gives, in Japanese and
// English, what the audit page's own functions (site/auditwords.js) give.
func TestBrowserAuditWordsAreThePages(t *testing.T) {
	t.Parallel()
	base := startServer(t)
	type event struct {
		Actor  string `json:"actor"`
		Action string `json:"action"`
		Result string `json:"result"`
	}
	var events []event
	for key := range auditwords.Words("ja") {
		if action, ok := strings.CutPrefix(key, "audit.a."); ok {
			events = append(events, event{"system", action, "ok"})
		}
		if reason, ok := strings.CutPrefix(key, "audit.d."); ok {
			events = append(events, event{"anonymous", "login", "failed:" + reason},
				event{"owner@example.com", "bulk.update", "refused:" + reason + " job j1"},
				event{"service:dovecot", "service.verify", "failed:imap:" + reason})
		}
		if status, ok := strings.CutPrefix(key, "audit.r."); ok {
			events = append(events, event{"oidc", "unlock", status}, event{"oidc:app1", "mfa.lock", status + ":5 wrong codes"})
		}
	}
	for _, detail := range []string{"10 failures", "3 wrong codes", "2 left", "4 failures from a known browser",
		"20 attempts from known browsers this hour", "3 revoked by the password change", "was not locked",
		"code reused, its tokens revoked", "to new@example.com", "from old@example.com", "md5-crypt to argon2id",
		"app_password Thunderbird", "other_tenant t1", "app1 refreshed", "app1 (revocation endpoint)",
		"the administrator is gone", "the administrator may no longer administer", "domain of another tenant",
		"role changed", "role owner", "role=admin quota_gb=5 disabled=true force_change=false", "password quota comment",
		"password job j1", "app1 (password_change)", "an unknown sentence", "a:b:c"} {
		events = append(events, event{"malformed:x", "account.update", "ok:" + detail}, event{"a@example.com", "lock", "ok:" + detail})
	}
	cases, err := json.Marshal(events)
	if err != nil {
		t.Fatal(err)
	}
	words := func(lang string) string {
		return fmt.Sprintf(`(() => { localStorage.setItem("kagiya.lang", %q);
  return JSON.stringify(%s.map((ev) => [actorWords(ev.actor), actionWords(ev.action), resultWords(ev)])); })()`, lang, cases)
	}
	var ja, en string
	err = chromedp.Do(browser(t),
		japanese(base),
		signIn(base, "owner@example.com", "Kagi-2026-Tokyo!"),
		waitText("#me-login-id", "owner@example.com"),
		chromedp.Navigate(base+"/audit.html"),
		settled(),
		// A page has its own language's words (lang.js): the English ones come as the
		// switch brings them.
		script(`loadWords("en").then(() => { document.documentElement.dataset.wordsEn = "here"; }); true`),
		waitJS(`document.documentElement.dataset.wordsEn || ""`, "here"),
		read(chromedp.Evaluate[string](words("ja")), &ja),
		read(chromedp.Evaluate[string](words("en")), &en),
	)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ lang, page string }{{"ja", ja}, {"en", en}} {
		var page [][3]string
		if err := json.Unmarshal([]byte(c.page), &page); err != nil || len(page) != len(events) {
			t.Fatalf("%s: %d of %d events in words: %v", c.lang, len(page), len(events), err)
		}
		for i, ev := range events {
			got := [3]string{auditwords.Actor(c.lang, ev.Actor), auditwords.Action(c.lang, ev.Action), auditwords.Result(c.lang, ev.Action, ev.Result)}
			if got != page[i] {
				t.Errorf("%s %v: the export says %q, the page %q", c.lang, ev, got, page[i])
			}
		}
	}
	if len(events) < 300 {
		t.Fatalf("only %d events compared", len(events))
	}
}
