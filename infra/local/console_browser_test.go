package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// One mistyped code while turning the second factor on is an error shown in place: the
// page keeps the enrolment (the same key, the code field) and the person stays signed in,
// in both languages and at both sizes; the right code then turns it on.
func TestBrowserEnrolmentWrongCodeStaysInPlace(t *testing.T) {
	t.Parallel()
	base := startServer(t)
	const id, pw = "kenta@example.com", "Fuji-Passw0rd-26!"
	createUser(t, base, id, pw)
	ctx := browser(t)
	if err := chromedp.Do(ctx, japanese(base), signIn(base, id, pw), waitText("#me-login-id", id)); err != nil {
		t.Fatal(err)
	}
	views := []struct {
		lang, want string
		w, h       int64
	}{
		{"ja", "確認コードが正しくありません", 390, 844},
		{"ja", "確認コードが正しくありません", 1280, 800},
		{"en", "The code is not correct", 390, 844},
		{"en", "The code is not correct", 1280, 800},
	}
	for _, v := range views {
		var before, after, path, invalid string
		var enrolShown bool
		err := chromedp.Do(ctx,
			chromedp.EmulateViewport(v.w, v.h),
			script(`localStorage.setItem("kagiya.lang", "`+v.lang+`")`),
			chromedp.Navigate(base+"/security.html"),
			chromedp.WaitVisible(css("#enable_password")),
			fill("#enable_password", pw),
			chromedp.Click(css("#enable-submit")),
			chromedp.WaitVisible(css("#enrol img.qr")),
			waitText("#secret", " "),
			read(chromedp.TextContent(css("#secret")), &before),
			fill("#confirm_code", "000000"),
			chromedp.Click(css("#confirm-submit")),
			waitText("#confirm-message", v.want),
			read(chromedp.Evaluate[string](`location.pathname`), &path),
			read(chromedp.Evaluate[bool](`!document.getElementById("enrol").hidden`), &enrolShown),
			read(chromedp.TextContent(css("#secret")), &after),
			read(chromedp.Evaluate[string](`document.getElementById("confirm_code").getAttribute("aria-invalid") || ""`), &invalid),
		)
		if err != nil {
			t.Fatalf("%s at %d px: %v", v.lang, v.w, err)
		}
		if path != "/security.html" || !enrolShown || after != before || invalid != "true" {
			t.Fatalf("%s at %d px, after a wrong code: page %q, enrolment shown %t, key %q then %q, field marked %q", v.lang, v.w, path, enrolShown, before, after, invalid)
		}
	}
	// The enrolment kept is the one the right code confirms.
	var secret string
	err := chromedp.Do(ctx,
		read(chromedp.TextContent(css("#secret")), &secret),
		fillCode(t, "#confirm_code", &secret, 0),
		chromedp.Click(css("#confirm-submit")),
		chromedp.WaitVisible(css("#codes-section")),
	)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(secret, " ") < 3 {
		t.Fatalf("secret %q", secret)
	}
}

// The confirmation dialog's button says what it does: 停止する / Suspend when
// suspending, for one account, the selection, and "select all N", and the other modes
// their own verbs.
func TestBrowserConfirmButtonSaysWhatItDoes(t *testing.T) {
	t.Parallel()
	base := startServer(t)
	owner := apiAs(t, base, "owner@example.com", "Kagi-2026-Tokyo!")
	for i := range 60 {
		res := owner("POST", "/api/admin/accounts", map[string]any{"login_id": fmt.Sprintf("s%02d@example.com", i), "role": "user", "invite": true})
		res.Body.Close()
		if res.StatusCode != 201 {
			t.Fatalf("create %d: %d", i, res.StatusCode)
		}
	}
	ctx := browser(t)
	if err := chromedp.Do(ctx, japanese(base), signIn(base, "owner@example.com", "Kagi-2026-Tokyo!"), waitText("#me-login-id", "owner@example.com"),
		chromedp.Navigate(base+"/admin.html"), waitText("#count", "61件")); err != nil {
		t.Fatal(err)
	}
	label := func(open chromedp.Action[chromedp.Void], want string) chromedp.Action[chromedp.Void] {
		return chromedp.Steps(open, chromedp.WaitVisible(css("#unlock-dialog")), waitText("#unlock-ok", want),
			chromedp.Click(css("#unlock-cancel")), chromedp.WaitNotVisible(css("#unlock-dialog")))
	}
	err := chromedp.Do(ctx,
		label(openRowAction("s01@example.com", "suspend"), "停止する"),
		chromedp.Click(css("#select-page")),
		chromedp.WaitVisible(css("#select-matching")),
		chromedp.Click(css("#select-matching")),
		waitText("#selection", "61件を選択中"),
		label(chromedp.Click(css("#suspend-selected")), "停止する"),
		label(chromedp.Click(css("#resume-selected")), "停止を解除する"),
		label(chromedp.Click(css("#unlock-selected")), "ロックを解除する"),
		label(chromedp.Click(css("#mfa-unlock-selected")), "利用停止を解除する"),
		chromedp.Click(css("#lang-switch")),
		waitText("#unlock-selected", "Unlock"),
		label(chromedp.Click(css("#suspend-selected")), "Suspend"),
		label(chromedp.Click(css("#resume-selected")), "Resume"),
	)
	if err != nil {
		t.Fatal(err)
	}
}

// codesOverlap lists the recovery codes whose text another code's number or text covers
// (a number is where the list puts it: inside the item, or in the space left of it).
const codesOverlap = `(() => {
  const items = [...document.querySelectorAll("#codes-section ol.codes li")];
  const probe = document.createElement("span");
  probe.textContent = "10. ";
  probe.style.position = "absolute";
  probe.style.whiteSpace = "pre";
  items[0].append(probe);
  const marker = probe.getBoundingClientRect().width;
  probe.remove();
  const boxes = items.map((li) => {
    const r = document.createRange();
    r.selectNodeContents(li);
    const text = r.getBoundingClientRect();
    const inside = getComputedStyle(li).listStylePosition === "inside";
    const left = inside ? li.getBoundingClientRect().left : text.left - marker;
    const lines = new Set([...r.getClientRects()].map((x) => Math.round(x.top))).size;
    return { code: li.textContent, left, right: text.right, top: text.top, bottom: text.bottom, textLeft: text.left, lines };
  });
  const out = [];
  for (const a of boxes) {
    if (a.lines > 1) out.push(a.code + " broken over " + a.lines + " lines");
    if (a.right > window.innerWidth) out.push(a.code + " runs off the screen");
    for (const b of boxes) {
      if (a === b) continue;
      const rows = a.top < b.bottom - 1 && b.top < a.bottom - 1;
      if (rows && b.left < a.right && a.textLeft < b.right) out.push(a.code + " under " + b.code);
    }
  }
  return out.join(", ");
})()`

// On a phone the recovery codes stand apart: each on one line, and no code's number or
// text prints over another.
func TestBrowserRecoveryCodesOnAPhone(t *testing.T) {
	t.Parallel()
	base := startServer(t)
	const id, pw = "yui@example.com", "Fuji-Passw0rd-26!"
	createUser(t, base, id, pw)
	ctx := browser(t)
	var secret, overlap string
	var n int
	err := chromedp.Do(ctx,
		chromedp.EmulateViewport(390, 844),
		japanese(base),
		signIn(base, id, pw),
		waitText("#me-login-id", id),
		chromedp.Navigate(base+"/security.html"),
		chromedp.WaitVisible(css("#enable_password")),
		fill("#enable_password", pw),
		chromedp.Click(css("#enable-submit")),
		waitText("#secret", " "),
		read(chromedp.TextContent(css("#secret")), &secret),
		fillCode(t, "#confirm_code", &secret, 0),
		chromedp.Click(css("#confirm-submit")),
		chromedp.WaitVisible(css("#codes-section ol.codes li")),
		read(chromedp.Evaluate[int](`document.querySelectorAll("#codes-section ol.codes li").length`), &n),
		read(chromedp.Evaluate[string](codesOverlap), &overlap),
	)
	if err != nil {
		t.Fatal(err)
	}
	if n != 10 || overlap != "" {
		t.Fatalf("%d codes; overlapping: %s", n, overlap)
	}
}

// listShape describes the account list as it stands: rows, the tallest row and the
// rows of one line, login IDs shown whole or cut, and the actions each row shows at rest.
const listShape = `(() => {
  const rows = [...document.querySelectorAll("#accounts tr[data-login-id]")];
  const shape = { rows: rows.length, tallest: 0, oneLine: 0, cut: 0, cutWithFullText: 0, actionsAtRest: 0, viewport: window.innerHeight,
    pageWidth: document.documentElement.scrollWidth, width: window.innerWidth };
  for (const tr of rows) {
    shape.tallest = Math.max(shape.tallest, tr.getBoundingClientRect().height);
    const id = tr.querySelector("td:nth-child(2)");
    const el = id.querySelector(".trunc") || id;
    const r = document.createRange();
    r.selectNodeContents(el);
    if (new Set([...r.getClientRects()].map((x) => Math.round(x.top))).size === 1) shape.oneLine++;
    if (el.scrollWidth > el.clientWidth) {
      shape.cut++;
      if (el.title === tr.dataset.loginId && el.tabIndex === 0) shape.cutWithFullText++;
    }
    shape.actionsAtRest = Math.max(shape.actionsAtRest, [...tr.querySelectorAll("td:last-child button, td:last-child summary")].filter((b) => b.checkVisibility()).length);
  }
  return JSON.stringify(shape);
})()`

// inView lists the elements of sel that are hidden or not wholly inside the viewport.
func inView(sel string) string {
	return fmt.Sprintf(`[...document.querySelectorAll(%q)].filter((el) => { const r = el.getBoundingClientRect();
  return !el.checkVisibility() || r.left < 0 || r.right > window.innerWidth || r.width === 0 }).map((el) => el.textContent.trim()).join(", ")`, sel)
}

// The account list scans: at 1280 px one line per account (long login IDs cut, with the
// whole ID on hover and on focus), one 「操作」 menu a row; on a phone a visible "select
// all", and each row's Suspend and Delete on screen once its menu is open.
func TestBrowserAccountListScans(t *testing.T) {
	t.Parallel()
	base := startServer(t)
	owner := apiAs(t, base, "owner@example.com", "Kagi-2026-Tokyo!")
	const domain = ".sales-and-marketing.tokyo@example.com"
	for i := range 30 {
		res := owner("POST", "/api/admin/accounts", map[string]any{"login_id": fmt.Sprintf("a.very.long.mailbox.name.%03d%s", i, domain), "role": "user",
			"password": "Fuji-Passw0rd-26!", "comment": "営業部 第二課 東京オフィス 担当: 山田太郎 内線 1234 在宅勤務あり"})
		if res.StatusCode != 201 {
			b, _ := io.ReadAll(res.Body)
			t.Fatalf("create %d: %d %s", i, res.StatusCode, b)
		}
		res.Body.Close()
	}
	target := "a.very.long.mailbox.name.007" + domain
	ctx := browser(t)
	type shape struct {
		Rows, OneLine, Cut, CutWithFullText, ActionsAtRest, Viewport, PageWidth, Width int
		Tallest                                                                        float64
	}
	measure := func(w, h int64) (s shape, raw string) {
		t.Helper()
		err := chromedp.Do(ctx, chromedp.EmulateViewport(w, h), chromedp.Navigate(base+"/admin.html"), waitText("#count", "31"),
			read(chromedp.Evaluate[string](listShape), &raw))
		if err != nil {
			t.Fatalf("%d px: %v", w, err)
		}
		if err := json.Unmarshal([]byte(raw), &s); err != nil {
			t.Fatal(err)
		}
		return s, raw
	}
	if err := chromedp.Do(ctx, japanese(base), signIn(base, "owner@example.com", "Kagi-2026-Tokyo!"), waitText("#me-login-id", "owner@example.com")); err != nil {
		t.Fatal(err)
	}
	wide, raw := measure(1280, 800)
	perScreen := float64(wide.Viewport) / wide.Tallest
	t.Logf("1280x800: %s; %.1f rows a screen", raw, perScreen)
	if wide.Rows != 31 || wide.OneLine != wide.Rows || perScreen < 12 || wide.ActionsAtRest != 1 || wide.Cut == 0 || wide.CutWithFullText != wide.Cut {
		t.Fatalf("at 1280 px: %s (%.1f rows a screen)", raw, perScreen)
	}
	// Focus shows a cut ID whole; the menu holds the row's actions.
	var focusedWhole, focusBack bool
	var offScreen string
	row := `#accounts tr[data-login-id="` + target + `"]`
	err := chromedp.Do(ctx,
		// :focus matches only in a focused page, which a headless tab is not always.
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			return tg.Call(ctx, "Emulation.setFocusEmulationEnabled", map[string]bool{"enabled": true}, nil)
		}),
		read(chromedp.Evaluate[bool](`(() => { const el = document.querySelector('`+row+` .trunc'); el.focus();
  return document.activeElement === el && el.scrollWidth <= el.clientWidth })()`), &focusedWhole),
		chromedp.Click(css(row+" summary")),
		chromedp.WaitVisible(css(row+" button.suspend")),
		read(chromedp.Evaluate[string](inView(row+" .menu button")), &offScreen),
		chromedp.Click(css(row+" button.suspend")),
		waitText("#unlock-list", target),
		waitText("#unlock-ok", "停止する"),
		chromedp.Click(css("#unlock-cancel")),
		// Escape closes an open menu and gives the focus back to it.
		chromedp.Click(css(row+" summary")),
		chromedp.WaitVisible(css(row+" button.suspend")),
		chromedp.KeyEvent(kb.Escape),
		poll(func(ctx context.Context, tg *chromedp.Target) (bool, string, error) {
			open, err := chromedp.Evaluate[bool](`document.querySelector('`+row+` details').open`)(ctx, tg)
			return err == nil && !open, "waiting for Escape to close the menu", nil
		}),
		read(chromedp.Evaluate[bool](`document.activeElement === document.querySelector('`+row+` summary')`), &focusBack),
	)
	if err != nil {
		t.Fatal(err)
	}
	if !focusedWhole || offScreen != "" || !focusBack {
		t.Fatalf("at 1280 px: a focused ID shown whole %t; menu buttons off screen: %q; focus back on the menu after Escape %t", focusedWhole, offScreen, focusBack)
	}

	phone, raw := measure(390, 844)
	t.Logf("390x844: %s", raw)
	var selectAll, selectAllText string
	err = chromedp.Do(ctx,
		read(chromedp.Evaluate[string](inView("#select-page")), &selectAll),
		read(chromedp.Evaluate[string](`document.querySelector('label[for="select-page"]')?.textContent || ""`), &selectAllText),
		chromedp.ScrollIntoView(css(row)),
		chromedp.Click(css(row+" summary")),
		chromedp.WaitVisible(css(row+" button.danger")),
		read(chromedp.Evaluate[string](inView(row+" .menu button")), &offScreen),
		chromedp.Click(css(row+" button.danger")),
		waitText("#delete-login-id", target),
		chromedp.Click(css("#delete-cancel")),
	)
	if err != nil {
		t.Fatal(err)
	}
	if phone.PageWidth > phone.Width || selectAll != "" || !strings.Contains(selectAllText, "すべて選択") || offScreen != "" {
		t.Fatalf("at 390 px: page %d px wide; select-all hidden or off screen %t (label %q); menu buttons off screen: %q", phone.PageWidth, selectAll != "", selectAllText, offScreen)
	}
}

// checklistColours gives each rule of a checklist as "code:state:red?".
func checklistColours(list string) string {
	return fmt.Sprintf(`[...document.querySelectorAll(%q + " li")].map((li) => li.dataset.code + ":" + li.className.replace("rule ", "") + ":" +
  (getComputedStyle(li).color === "rgb(180, 35, 24)" ? "red" : "plain")).join(" ")`, list)
}

// countWrites counts the page's API calls that would change something (not GETs).
const countWrites = `(() => { window.kagiyaWrites = 0; const f = window.fetch;
  window.fetch = (url, init) => { if (init && init.method && init.method !== "GET") window.kagiyaWrites++; return f(url, init); }; })()`

// Password forms guide: the checklist is neutral until something is typed and then red
// only for the rules the value breaks; a submit that breaks a rule the browser can check
// sends nothing and says which rule; the administrator's set-password dialog shows the
// rules, checked against the account being changed.
func TestBrowserPasswordFormsGuide(t *testing.T) {
	t.Parallel()
	base := startServer(t)
	createUser(t, base, "mika@example.com", "Fuji-Passw0rd-26!")
	ctx := browser(t)
	var before, typed, dialogBefore, dialogTyped, invalid string
	var writes int
	err := chromedp.Do(ctx,
		japanese(base),
		signIn(base, "owner@example.com", "Kagi-2026-Tokyo!"),
		waitText("#me-login-id", "owner@example.com"),
		chromedp.Navigate(base+"/password.html"),
		waitText("#rules", "12 文字以上"),
		read(chromedp.Evaluate[string](checklistColours("#rules")), &before),
		fill("#current_password", "Kagi-2026-Tokyo!"),
		fill("#new_password", "abc"),
		fill("#new_password2", "abc"),
		ruleState("#rules", "too_short", "unmet"),
		read(chromedp.Evaluate[string](checklistColours("#rules")), &typed),
		script(countWrites),
		chromedp.Click(css("#submit")),
		waitText("#message", "満たしていないルール"),
		waitText("#message", "12 文字以上"),
		read(chromedp.Evaluate[int](`window.kagiyaWrites`), &writes),
		read(chromedp.Evaluate[string](`document.getElementById("new_password").getAttribute("aria-invalid") || ""`), &invalid),
	)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(before, "too_short:pending:plain") || strings.Contains(before, "unmet") || strings.Contains(before, "red") {
		t.Errorf("before typing: %s", before)
	}
	if !strings.Contains(typed, "too_short:unmet:red") || !strings.Contains(typed, "missing_lower:met:plain") || !strings.Contains(typed, "contains_account:met:plain") {
		t.Errorf("after typing abc: %s", typed)
	}
	if writes != 0 || invalid != "true" {
		t.Errorf("a password breaking a rule: %d requests sent, field marked %q", writes, invalid)
	}

	err = chromedp.Do(ctx,
		chromedp.Navigate(base+"/admin.html"),
		waitText("#accounts", "mika@example.com"),
		openRowAction("mika@example.com", "setpw"),
		chromedp.WaitVisible(css("#setpw-dialog")),
		waitText("#setpw-rules", "12 文字以上"),
		read(chromedp.Evaluate[string](checklistColours("#setpw-rules")), &dialogBefore),
		fill("#setpw-new", "Mika-Kagi-2026!"),
		ruleState("#setpw-rules", "contains_account", "unmet"), // the account's name, not the owner's
		read(chromedp.Evaluate[string](checklistColours("#setpw-rules")), &dialogTyped),
		fill("#setpw-new2", "Mika-Kagi-2026!"),
		fill("#setpw-confirm", "Kagi-2026-Tokyo!"),
		script(countWrites),
		chromedp.Click(css("#setpw-ok")),
		waitText("#setpw-message", "満たしていないルール"),
		read(chromedp.Evaluate[int](`window.kagiyaWrites`), &writes),
	)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(dialogBefore, "too_short:pending:plain") || strings.Contains(dialogBefore, "red") {
		t.Errorf("set-password dialog before typing: %s", dialogBefore)
	}
	if !strings.Contains(dialogTyped, "contains_account:unmet:red") || !strings.Contains(dialogTyped, "too_short:met:plain") || writes != 0 {
		t.Errorf("set-password dialog after typing: %s; %d requests sent", dialogTyped, writes)
	}
}

// shownInPlace says what is wrong with a form's success: the form still shown, or its
// message hidden or not focused ("" when the message has replaced the form).
func shownInPlace(form, msg string) string {
	return fmt.Sprintf(`(() => { const f = document.querySelector(%q), m = document.querySelector(%q), out = [];
  if (f.checkVisibility()) out.push("the form is still shown");
  if (!m.checkVisibility()) out.push("the message is hidden");
  if (document.activeElement !== m) out.push("the focus is on " + (document.activeElement.id || document.activeElement.tagName));
  return out.join(", "); })()`, form, msg)
}

// A password change that succeeds replaces its form with what happened (the new
// password's form would invite a second change), and the focus goes to that message.
func TestBrowserSuccessReplacesTheForm(t *testing.T) {
	t.Parallel()
	base := startServer(t)
	createUser(t, base, "sora@example.com", "Fuji-Passw0rd-26!")
	ctx := browser(t)
	var changed, reset string
	err := chromedp.Do(ctx,
		japanese(base),
		signIn(base, "sora@example.com", "Fuji-Passw0rd-26!"),
		waitText("#me-login-id", "sora@example.com"),
		chromedp.Navigate(base+"/password.html"),
		waitText("#rules", "12 文字以上"),
		fill("#current_password", "Fuji-Passw0rd-26!"),
		fill("#new_password", "Umi-no-Kagi-2027!"),
		fill("#new_password2", "Umi-no-Kagi-2027!"),
		chromedp.Click(css("#submit")),
		waitText("#message", "パスワードを変更しました"),
		read(chromedp.Evaluate[string](shownInPlace("#password-form", "#message")), &changed),
		chromedp.Navigate(base+"/forgot.html"),
		chromedp.WaitVisible(css("#login_id")),
		fill("#login_id", "sora@example.com"),
		chromedp.Click(css("#submit")),
		poll(func(ctx context.Context, tg *chromedp.Target) (bool, string, error) {
			got, err := chromedp.Evaluate[bool](`document.getElementById("forgot-form").hidden`)(ctx, tg)
			return err == nil && got, "waiting for the forgot form to go", nil
		}),
		read(chromedp.Evaluate[string](shownInPlace("#forgot-form", "#message")), &reset),
	)
	if err != nil {
		t.Fatal(err)
	}
	if changed != "" || reset != "" {
		t.Fatalf("password changed: %s; reset asked for: %s", changed, reset)
	}
}

// The counted task, walked by script at both sizes: unlocking 3 locked accounts
// (of 60) from the home page, through its card of locked accounts (6 actions before the
// cards: the list, the state filter, search, select, unlock, confirm; 4 with the card
// and the page's selection). Each click or choice is an action; typing the password is
// not. The walk fails if it needs more than 3 (the card, "unlock all 3", confirm), or if
// the accounts stay locked. At 1280 px in Japanese, at 390 px in English.
func TestBrowserTaskCountUnlockThree(t *testing.T) {
	t.Parallel()
	for _, v := range []struct {
		w, h             int64
		lang             string
		count, all, done string
	}{
		{1280, 800, "ja", "3件", "3件のロックをすべて解除", "3件のロックを解除しました"},
		{390, 844, "en", "3 accounts", "Unlock all 3", "3 unlocked"},
	} {
		base := startServer(t)
		owner := apiAs(t, base, "owner@example.com", "Kagi-2026-Tokyo!")
		for i := range 60 {
			res := owner("POST", "/api/admin/accounts", map[string]any{"login_id": fmt.Sprintf("t%02d@example.com", i), "role": "user", "password": "Fuji-Passw0rd-26!"})
			res.Body.Close()
		}
		lock := func(id string) error {
			for range 10 {
				res, err := http.Post(base+"/api/login", "application/json", strings.NewReader(`{"login_id":"`+id+`","password":"Guess-0000-Guess!"}`))
				if err != nil {
					return err
				}
				res.Body.Close()
			}
			return nil
		}
		locked := []string{"t05@example.com", "t31@example.com", "t58@example.com"}
		for _, id := range locked {
			if err := lock(id); err != nil {
				t.Fatal(err)
			}
		}
		// One more is locked while the dialog is open: "unlock all 3" unlocks the three it
		// named, not a fourth that came to match meanwhile.
		late := "t40@example.com"
		ctx := browser(t)
		if err := chromedp.Do(ctx, chromedp.EmulateViewport(v.w, v.h), chromedp.Navigate(base+"/index.html"),
			script(`localStorage.setItem("kagiya.lang", "`+v.lang+`")`), signIn(base, "owner@example.com", "Kagi-2026-Tokyo!"),
			waitText("#me-login-id", "owner@example.com")); err != nil {
			t.Fatal(err)
		}
		actions := 0
		act := func(a chromedp.Action[chromedp.Void]) chromedp.Action[chromedp.Void] {
			return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
				actions++
				_, err := a(ctx, tg)
				return err
			})
		}
		err := chromedp.Do(ctx,
			// The home page's card of locked accounts opens the list filtered to them,
			// which offers to unlock every one it matches.
			waitText("#card-locked", "3"),
			act(chromedp.Click(css("#card-locked"))),
			waitText("#count", v.count),
			waitText("#unlock-all", v.all),
			act(click("#unlock-all")),
			chromedp.WaitVisible(css("#unlock-confirm")),
			chromedp.Func(func(context.Context, *chromedp.Target) error { return lock(late) }),
			fill("#unlock-confirm", "Kagi-2026-Tokyo!"),
			act(chromedp.Click(css("#unlock-ok"))),
			waitText("#list-message", v.done),
		)
		if err != nil {
			t.Fatalf("%d px, %s: %v", v.w, v.lang, err)
		}
		t.Logf("unlock 3 locked accounts at %d px: %d actions and a password", v.w, actions)
		if actions > 3 {
			t.Errorf("at %d px: %d actions", v.w, actions)
		}
		for _, id := range locked {
			res := apiAs(t, base, id, "Fuji-Passw0rd-26!")("GET", "/api/me", nil)
			res.Body.Close()
			if res.StatusCode != 200 {
				t.Errorf("%s still cannot sign in: %d", id, res.StatusCode)
			}
		}
		res := owner("GET", "/api/admin/accounts?state=locked", nil)
		var list struct {
			Accounts []struct {
				LoginID string `json:"login_id"`
			} `json:"accounts"`
		}
		json.NewDecoder(res.Body).Decode(&list)
		res.Body.Close()
		if len(list.Accounts) != 1 || list.Accounts[0].LoginID != late {
			t.Errorf("locked after unlocking all 3: %+v (want %s alone)", list.Accounts, late)
		}
	}
}

// The account list's export link gives the role, states and login method in the page's
// words, times in Japan's with the offset; after the language switch, in English.
func TestBrowserExportInThePagesLanguage(t *testing.T) {
	t.Parallel()
	base := startServer(t)
	createUser(t, base, "kana@example.com", "Fuji-Passw0rd-26!")
	ctx := browser(t)
	download := `fetch(document.getElementById("export-link").href).then((r) => r.text())`
	var ja, en string
	err := chromedp.Do(ctx,
		japanese(base),
		signIn(base, "owner@example.com", "Kagi-2026-Tokyo!"),
		waitText("#me-login-id", "owner@example.com"),
		chromedp.Navigate(base+"/admin.html"),
		settled(),
		read(chromedp.Evaluate[string](download, chromedp.EvalAwaitPromise), &ja),
		click("#lang-switch"),
		waitText("#admin-title", "Accounts"),
		read(chromedp.Evaluate[string](download, chromedp.EvalAwaitPromise), &en),
	)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(ja, "kana@example.com,user,0,") || !strings.Contains(ja, ",利用者,") || !strings.Contains(ja, ",パスワード\r\n") ||
		!strings.Contains(ja, ",オーナー,") || !strings.Contains(ja, "+09:00") {
		t.Errorf("the export in Japanese:\n%s", ja)
	}
	if !strings.Contains(en, ",User,") || !strings.Contains(en, ",Password\r\n") || !strings.Contains(en, ",Owner,") {
		t.Errorf("the export in English:\n%s", en)
	}
}
