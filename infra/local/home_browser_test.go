package main

import (
	"fmt"
	"testing"

	"github.com/chromedp/chromedp"
)

// The home page shows administrators the accounts that need them, one card a state with
// its number, each opening the list filtered to that state, and a way to invite (two
// actions from home: the card, then 招待する); an owner
// without a second factor is asked to set it up; a user sees neither.
func TestBrowserHomeCards(t *testing.T) {
	base := startServer(t, "-rate-limit=false")
	owner := apiAs(t, base, "owner@example.com", "Kagi-2026-Tokyo!")
	for i := range 2 {
		res := owner("POST", "/api/admin/accounts", map[string]any{"login_id": fmt.Sprintf("new%d@example.com", i), "role": "user", "invite": true})
		res.Body.Close()
	}
	createUser(t, base, "locked@example.com", "Fuji-Passw0rd-26!")
	for range 10 {
		apiAs0(t, base, "locked@example.com", "Wrong-Guess-2026!")
	}
	createUser(t, base, "user@example.com", "Fuji-Passw0rd-26!")
	ctx := browser(t)
	var locked, invited, mfaLocked, nudge, filter string
	err := chromedp.Do(ctx,
		japanese(base),
		signIn(base, "owner@example.com", "Kagi-2026-Tokyo!"),
		waitText("#me-login-id", "owner@example.com"),
		waitText("#card-locked", "ロック中"),
		read(chromedp.TextContent(css("#card-locked strong")), &locked),
		read(chromedp.TextContent(css("#card-invited strong")), &invited),
		read(chromedp.TextContent(css("#card-mfa_locked strong")), &mfaLocked),
		read(chromedp.TextContent(css("#mfa-nudge")), &nudge),
		click("#card-invited"),
		waitText("#count", "2件"),
		read(chromedp.Evaluate[string](`document.getElementById("state").value`), &filter),
		// Inviting from home: the card, then 招待する (two actions).
		chromedp.Navigate(base+"/home.html"),
		click("#card-invite"),
		chromedp.WaitVisible(css("#new-login-id")),
		fill("#new-login-id", "shinjin@example.com"),
		click("#create-submit"),
		waitText("#create-message", "招待メールを送りました"),
	)
	if err != nil {
		t.Fatal(err)
	}
	if locked != "1" || invited != "2" || mfaLocked != "0" {
		t.Errorf("cards: locked %q, invited %q, second factor locked %q", locked, invited, mfaLocked)
	}
	if nudge == "" || filter != "invited" {
		t.Errorf("nudge %q, the invited card's filter %q", nudge, filter)
	}
	// A user has no cards.
	person := browser(t)
	var cards int
	err = chromedp.Do(person, japanese(base), signIn(base, "user@example.com", "Fuji-Passw0rd-26!"), waitText("#me-login-id", "user@example.com"),
		settled(), read(chromedp.Evaluate[int](`document.querySelectorAll("#home-cards, #mfa-nudge").length`), &cards))
	if err != nil || cards != 0 {
		t.Errorf("a user's home: %d cards (%v)", cards, err)
	}
}
