package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/kagiya/kagiya/shared/dnstest"
)

// waitNoText waits until the element's text no longer contains gone.
func waitNoText(sel, gone string) chromedp.Action[chromedp.Void] {
	return poll(func(ctx context.Context, tg *chromedp.Target) (bool, string, error) {
		got, err := chromedp.TextContent(css(sel))(ctx, tg)
		return err == nil && !strings.Contains(got, gone), fmt.Sprintf("waiting for %q to leave %s (last %q)", gone, sel, got), nil
	})
}

// The owner proves domains on the settings page, in Japanese and English: a new one
// (asked for, its TXT record shown, verified once published) and the one the tenant
// listed before proof was needed; then removes one. The local server asks an in-process
// DNS server (-dns).
func TestBrowserOwnerProvesADomain(t *testing.T) {
	t.Parallel()
	dns, err := dnstest.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(dns.Close)
	base := startServer(t, "-dns", dns.Addr)
	ctx := browser(t)
	item := func(domain string) string { return `#domain-list li[data-domain="` + domain + `"]` }
	var record string
	publish := func(domain string) chromedp.Action[chromedp.Void] {
		return chromedp.Steps(
			read(chromedp.TextContent(css(item(domain)+" dd:last-of-type code")), &record),
			chromedp.Func(func(context.Context, *chromedp.Target) error {
				if !strings.HasPrefix(record, "kagiya-verify=") {
					return fmt.Errorf("the record shown for %s: %q", domain, record)
				}
				dns.SetTXT(domain, "v=spf1 -all", record)
				return nil
			}),
		)
	}
	err = chromedp.Do(ctx,
		japanese(base),
		signIn(base, "owner@example.com", "Kagi-2026-Tokyo!"),
		waitText("#me-login-id", "owner@example.com"),
		chromedp.Click(css("#settings-link")),
		waitText(item("example.com"), "未確認"),
		// A new domain: asked for, then verified once its record is published.
		fill("#new-domain", "Example.ORG"),
		chromedp.Click(css("#add-domain")),
		waitText("#domain-message", "example.org に上の TXT レコードを公開してから"),
		waitText(item("example.org"), "確認待ち"),
		waitText(item("example.org"), "kagiya-verify="),
		chromedp.Click(css(item("example.org")+" .verify-domain")),
		waitText("#domain-message", "TXT レコードが見つかりません"),
		publish("example.org"),
		chromedp.Click(css(item("example.org")+" .verify-domain")),
		waitText("#domain-message", "example.org を確認しました"),
		waitText(item("example.org"), "確認済み"),
		waitNoText(item("example.org"), "kagiya-verify="),
		// In English, the domain listed before proof was needed.
		chromedp.Click(css("#lang-switch")),
		waitText(item("example.org"), "Verified"),
		waitText(item("example.com"), "Not verified"),
		waitText(item("example.com")+" .verify-domain", "Show the record for example.com"),
		chromedp.Click(css(item("example.com")+" .verify-domain")),
		waitText("#domain-message", "Publish the TXT record above on example.com"),
		waitText(item("example.com")+" .verify-domain", "Verify example.com"),
		publish("example.com"),
		chromedp.Click(css(item("example.com")+" .verify-domain")),
		waitText("#domain-message", "example.com is verified"),
		waitText(item("example.com"), "Verified"),
		// Removing a domain or a pending claim is a change of the settings, confirmed
		// with the password.
		fill("#new-domain", "typo.example"),
		chromedp.Click(css("#add-domain")),
		waitText(item("typo.example"), "Waiting for verification"),
		chromedp.Click(css(item("typo.example")+` .remove-domain`)),
		chromedp.Click(css(item("example.org")+` .remove-domain`)),
		fill("#confirm_password", "Kagi-2026-Tokyo!"),
		chromedp.Click(css("#submit")),
		waitText("#message", "Settings saved."),
		waitNoText("#domain-list", "example.org"),
		waitNoText("#domain-list", "typo.example"),
		waitText(item("example.com"), "Verified"),
		// Each step is in the audit log, in words.
		chromedp.Navigate(base+"/audit.html"),
		waitText("#events", "Domain verification"),
		waitText("#events", "Domain asked for"),
		waitText("#events", "example.org"),
		waitText("#events", "Domain removed"),
	)
	if err != nil {
		t.Fatal(err)
	}
}

func TestDNSFlag(t *testing.T) {
	t.Parallel()
	if o, err := parseFlags([]string{"-dns", "127.0.0.1:5353"}, io.Discard); err != nil || o.dns != "127.0.0.1:5353" {
		t.Fatalf("-dns: %+v %v", o, err)
	}
	if _, err := parseFlags([]string{"-dns", "127.0.0.1"}, io.Discard); err == nil {
		t.Fatal("-dns without a port was taken")
	}
}
