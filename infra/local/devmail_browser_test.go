package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// The dev mailbox is an inbox in a browser (newest first, the message with its links
// clickable and its HTML part) and stays JSON for scripts.
func TestBrowserDevMailbox(t *testing.T) {
	t.Parallel()
	base := startServer(t)
	createUser(t, base, "mailbox@example.com", "Fuji-Passw0rd-26!")
	for range 2 {
		res, err := http.Post(base+"/api/password/forgot", "application/json", strings.NewReader(`{"login_id":"mailbox@example.com"}`))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
	}
	res, err := http.Get(base + "/_dev/mail?to=mailbox@example.com")
	if err != nil {
		t.Fatal(err)
	}
	var msgs []map[string]any
	json.NewDecoder(res.Body).Decode(&msgs)
	res.Body.Close()
	if len(msgs) != 2 || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("JSON mailbox: %d messages, %s", len(msgs), res.Header.Get("Content-Type"))
	}
	ctx := browser(t)
	var href, first chromedp.AttributeResult
	err = chromedp.Do(ctx,
		chromedp.Navigate(base+"/_dev/mail"),
		waitText("h1", "Inbox"),
		waitText("tbody tr:first-child", "mailbox@example.com"),
		read(chromedp.AttributeValue(css("tbody tr:first-child a"), "href"), &first),
		click("tbody tr:first-child a"),
		waitText("h1", ""),
		chromedp.WaitVisible(css("iframe")),
		read(chromedp.AttributeValue(css("pre a"), "href"), &href),
	)
	if err != nil {
		t.Fatal(err)
	}
	if first.Value != "/_dev/mail/1" {
		t.Fatalf("the newest message is not first: %q", first.Value)
	}
	if !strings.Contains(href.Value, "/reset.html?token=") {
		t.Fatalf("the text's link: %q", href.Value)
	}
	err = chromedp.Do(ctx, click("pre a"), chromedp.WaitVisible(css("#new_password")))
	if err != nil {
		t.Fatalf("following the mailed link: %v", err)
	}
}
