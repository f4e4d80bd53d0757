package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// "Create / invite" is a button at the top of the accounts page, in view without
// scrolling past the 50 rows of the list at 1280 and at 390 px; it opens a panel that
// invites by default (no password fields, no force-change, the button says 招待する),
// shows the password fields once inviting is unticked, and names the organization's
// domains when the address is outside them. Inviting a person from the home page takes
// three actions: the accounts page, the panel, the invitation.
func TestBrowserCreatePanelAtTheTop(t *testing.T) {
	base := startServer(t)
	owner := apiAs(t, base, "owner@example.com", "Kagi-2026-Tokyo!")
	for i := range 60 {
		res := owner("POST", "/api/admin/accounts", map[string]any{"login_id": fmt.Sprintf("p%02d@example.com", i), "role": "user", "invite": true})
		res.Body.Close()
		if res.StatusCode != 201 {
			t.Fatalf("create %d: %d", i, res.StatusCode)
		}
	}
	ctx := browser(t)
	if err := chromedp.Do(ctx, japanese(base), signIn(base, "owner@example.com", "Kagi-2026-Tokyo!"), waitText("#me-login-id", "owner@example.com")); err != nil {
		t.Fatal(err)
	}
	for _, w := range []int64{1280, 390} {
		var offScreen, focused, submit, domainErr string
		var panelHidden, passwordHidden, invite, passwordShown bool
		err := chromedp.Do(ctx,
			chromedp.EmulateViewport(w, 800),
			chromedp.Navigate(base+"/home.html"),
			waitText("#me-login-id", "owner@example.com"),
			// The actions, counted: 1.
			click("#admin-link"),
			waitText("#accounts", "p00@example.com"),
			settled(),
			read(chromedp.Evaluate[bool](`document.getElementById("create-panel").hidden`), &panelHidden),
			read(chromedp.Evaluate[string](`(() => { const r = document.getElementById("create-open").getBoundingClientRect();
  return window.scrollY === 0 && r.top >= 0 && r.bottom <= window.innerHeight ? "" : "top " + r.top + ", scrolled " + window.scrollY })()`+`+`+inView("#create-open")), &offScreen),
			// 2.
			click("#create-open"),
			chromedp.WaitVisible(css("#new-login-id")),
			read(chromedp.Evaluate[string](`document.activeElement.id`), &focused),
			read(chromedp.Evaluate[bool](`document.getElementById("new-invite").checked`), &invite),
			read(chromedp.Evaluate[bool](`!document.getElementById("new-password").checkVisibility() && !document.getElementById("new-force-change").checkVisibility()`), &passwordHidden),
			read(chromedp.TextContent(css("#create-submit")), &submit),
			// 3: the invitation.
			fill("#new-login-id", fmt.Sprintf("shinjin%d@example.com", w)),
			click("#create-submit"),
			waitText("#create-message", "招待メールを送りました"),
			// Outside the organization's domains: the error names them.
			fill("#new-login-id", "someone@elsewhere.example"),
			click("#create-submit"),
			waitText("#create-message", "ドメイン"),
			read(chromedp.TextContent(css("#create-message")), &domainErr),
			// Setting a password instead shows its fields.
			click("#new-invite"),
			chromedp.WaitVisible(css("#new-password")),
			read(chromedp.Evaluate[bool](`document.getElementById("new-force-change").checkVisibility()`), &passwordShown),
			waitText("#create-submit", "作成"),
		)
		if err != nil {
			t.Fatalf("at %d px: %v", w, err)
		}
		if !panelHidden || offScreen != "" {
			t.Errorf("at %d px: panel closed %t, the button off screen: %q", w, panelHidden, offScreen)
		}
		if focused != "new-login-id" || !invite || !passwordHidden || submit != "招待する" {
			t.Errorf("at %d px, the panel opened: focus %q, invite %t, password fields hidden %t, button %q", w, focused, invite, passwordHidden, submit)
		}
		if !strings.Contains(domainErr, "この組織のドメインではありません") || !strings.Contains(domainErr, "example.com") {
			t.Errorf("at %d px, the domain error %q does not name the domains", w, domainErr)
		}
		if !passwordShown {
			t.Errorf("at %d px: unticking the invitation does not show force-change", w)
		}
		link := mailedLink(t, base, fmt.Sprintf("shinjin%d@example.com", w), "invite")
		if !strings.Contains(link, "/invite.html?token=") {
			t.Errorf("at %d px: invitation link %q", w, link)
		}
	}
}
