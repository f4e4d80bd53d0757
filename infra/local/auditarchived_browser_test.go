package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/kagiya/kagiya/shared/account"
)

// The audit page reaches back as far as the table keeps events (90 days): asked for a
// period that starts earlier, it shows the events kept and says, in the page's language,
// that older ones are in the operator's archive; asked for a period wholly older, it
// says so instead of an empty list.
func TestBrowserAuditOlderThanTheTable(t *testing.T) {
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
	jst := time.FixedZone("JST", 9*3600)
	now := time.Now().In(jst)
	ago := func(days int) time.Time { return now.AddDate(0, 0, -days) }
	for target, at := range map[string]time.Time{"old@example.com": ago(100), "recent@example.com": ago(10)} {
		if err := store.AppendAudit(context.Background(), account.AuditEvent{TenantID: me.Tenant, At: at, Actor: "owner@example.com",
			Action: "account.update", Target: target, Result: "ok"}); err != nil {
			t.Fatal(err)
		}
	}
	date := func(days int) string { return ago(days).Format("2006-01-02") }
	b := browser(t)
	var table, noticeEn, wholly string
	var noticeShown bool
	err := chromedp.Do(b,
		japanese(base),
		signIn(base, "owner@example.com", "Kagi-2026-Tokyo!"),
		waitText("#me-login-id", "owner@example.com"),
		chromedp.Navigate(base+"/audit.html?from="+date(120)),
		settled(),
		waitText("#audit-archived", "運用者が保管する監査アーカイブ"),
		read(chromedp.TextContent(css("#events")), &table),
		click("#lang-switch"),
		waitText("#audit-archived", "audit archive your operator keeps"),
		read(chromedp.TextContent(css("#audit-archived")), &noticeEn),
		click("#lang-switch"),
		// A period wholly older than the table keeps.
		chromedp.Navigate(base+"/audit.html?from="+date(120)+"&to="+date(95)),
		settled(),
		waitText("#message", "監査アーカイブ"),
		read(chromedp.TextContent(css("#message")), &wholly),
		read(chromedp.Evaluate[bool](`!document.getElementById("audit-archived").hidden`), &noticeShown),
	)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(table, "recent@example.com") || strings.Contains(table, "old@example.com") {
		t.Errorf("from 120 days ago the page shows %q: want the event of 10 days ago, not that of 100", table)
	}
	if !strings.Contains(noticeEn, "90 days") {
		t.Errorf("English notice %q", noticeEn)
	}
	if noticeShown {
		t.Error("the notice of a partly older period stays over the error of a wholly older one")
	}
	t.Logf("wholly older: %s", wholly)
}
