package main

import (
	"cmp"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// layoutProblems lists, for the page as it stands, what breaks the layout: the document
// wider than the viewport, and badges or buttons whose label wraps.
const layoutProblems = `(() => {
  const out = [];
  const w = document.documentElement.scrollWidth, vw = window.innerWidth;
  if (w > vw) {
    const wide = [...document.querySelectorAll("body *")].filter((el) => el.getBoundingClientRect().right > vw + 1 && el.offsetParent)
      .filter((el) => ![...el.children].some((c) => c.getBoundingClientRect().right > vw + 1)).slice(0, 3)
      .map((el) => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + (el.className ? "." + String(el.className).split(" ")[0] : ""));
    out.push("page " + w + "px wide in a " + vw + "px viewport (" + wide.join(", ") + ")");
  }
  for (const el of document.querySelectorAll(".badge, button")) {
    if (!el.offsetParent) continue; // hidden
    const cs = getComputedStyle(el);
    const line = parseFloat(cs.lineHeight) || parseFloat(cs.fontSize) * 1.6;
    const inner = el.getBoundingClientRect().height - parseFloat(cs.paddingTop) - parseFloat(cs.paddingBottom) - parseFloat(cs.borderTopWidth) - parseFloat(cs.borderBottomWidth);
    if (el.getClientRects().length > 1 || inner > line * 1.5) out.push("wraps: " + el.textContent.trim().slice(0, 30));
  }
  // Short labels in table cells (a role, a size, a state) stay on one line.
  for (const td of document.querySelectorAll("td, th")) {
    const text = td.textContent.trim();
    if (!td.offsetParent || !text || text.length > 8 || td.children.length || td.getBoundingClientRect().width < 3) continue;
    const range = document.createRange();
    range.selectNodeContents(td);
    const lines = new Set([...range.getClientRects()].map((r) => Math.round(r.top)));
    if (lines.size > 1) out.push("cell wraps: " + text);
  }
  return [...new Set(out)].slice(0, 8).join(" | ");
})()`

// Every signed-in page holds its layout on a phone (390x844) and a laptop (1280x800),
// signed in as an owner with a long address, with 200 accounts in the list.
func TestBrowserLayoutHolds(t *testing.T) {
	t.Parallel()
	base := startServer(t, "-owner", "administrator.of.the.organization@example.com", "-owner-password", "Kagi-2026-Tokyo!")
	owner := apiAs(t, base, "administrator.of.the.organization@example.com", "Kagi-2026-Tokyo!")
	for i := range 200 {
		res := owner("POST", "/api/admin/accounts", map[string]any{"login_id": fmt.Sprintf("a.very.long.mailbox.name.%03d@example.com", i),
			"role": "user", "invite": true, "comment": "営業部 第二課 東京オフィス"})
		res.Body.Close()
		if res.StatusCode != 201 {
			t.Fatalf("create %d: %d", i, res.StatusCode)
		}
	}
	ctx := browser(t)
	if err := chromedp.Do(ctx, japanese(base), signIn(base, "administrator.of.the.organization@example.com", "Kagi-2026-Tokyo!"),
		waitText("#me-login-id", "administrator")); err != nil {
		t.Fatal(err)
	}
	pages := []string{"home", "password", "sessions", "security", "admin", "account", "bulk", "audit", "audit-summary", "settings", "integrations"}
	// The pages that are one file with a query: an account, and the audit log's summary.
	paths := map[string]string{"account": "account.html?login_id=administrator.of.the.organization@example.com",
		"audit-summary": "audit.html?action=login&result=failed"}
	// Screenshots of every page at both sizes, for a reviewer (not committed).
	shots, err := os.MkdirTemp("", "kagiya-screenshots-")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots in %s", shots)
	for _, size := range [][2]int64{{390, 844}, {1280, 800}} {
		for _, page := range pages {
			var problems string
			var shot []byte
			err := chromedp.Do(ctx,
				chromedp.EmulateViewport(size[0], size[1]),
				chromedp.Navigate(base+"/"+cmp.Or(paths[page], page+".html")),
				waitText("header nav", "ホーム"),
				settled(), // the page's own data (the list, the log)
				read(chromedp.Evaluate[string](layoutProblems), &problems),
				read(chromedp.CaptureScreenshot(), &shot),
			)
			if err != nil {
				t.Fatalf("%s at %dx%d: %v", page, size[0], size[1], err)
			}
			os.WriteFile(filepath.Join(shots, fmt.Sprintf("%s-%d.png", page, size[0])), shot, 0o644) //nolint:errcheck // for looking at only
			if strings.TrimSpace(problems) != "" {
				t.Errorf("%s at %dx%d: %s", page, size[0], size[1], problems)
			}
		}
	}
}

// The sign-in page, and the home section it shows in place once signed in, hold their
// layout at both sizes in both languages (screenshots for a reviewer, not committed).
func TestBrowserSignInAndHomeInPlaceLayout(t *testing.T) {
	t.Parallel()
	base := startServer(t, "-owner", "administrator.of.the.organization@example.com", "-owner-password", "Kagi-2026-Tokyo!")
	shots, err := os.MkdirTemp("", "kagiya-signin-screenshots-")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots in %s", shots)
	for _, lang := range []string{"ja", "en"} {
		for _, size := range [][2]int64{{390, 844}, {1280, 800}} {
			ctx := browser(t)
			var signInShot, homeShot []byte
			var problemsBefore, problemsAfter string
			err := chromedp.Do(ctx,
				chromedp.EmulateViewport(size[0], size[1]),
				chromedp.Navigate(base+"/index.html"),
				script(`localStorage.setItem("kagiya.lang", "`+lang+`")`),
				chromedp.Reload(),
				chromedp.WaitVisible(css("#login_id")),
				read(chromedp.Evaluate[string](layoutProblems), &problemsBefore),
				read(chromedp.CaptureScreenshot(), &signInShot),
				chromedp.SendKeys(css("#login_id"), "administrator.of.the.organization@example.com"),
				chromedp.SendKeys(css("#password"), "Kagi-2026-Tokyo!"),
				click("#signin-submit"),
				waitText("#me-login-id", "administrator"),
				read(chromedp.Evaluate[string](layoutProblems), &problemsAfter),
				read(chromedp.CaptureScreenshot(), &homeShot),
			)
			if err != nil {
				t.Fatalf("%s at %dx%d: %v", lang, size[0], size[1], err)
			}
			os.WriteFile(filepath.Join(shots, fmt.Sprintf("signin-%s-%d.png", lang, size[0])), signInShot, 0o644)      //nolint:errcheck // for looking at only
			os.WriteFile(filepath.Join(shots, fmt.Sprintf("home-in-place-%s-%d.png", lang, size[0])), homeShot, 0o644) //nolint:errcheck // for looking at only
			for what, p := range map[string]string{"sign-in": problemsBefore, "home in place": problemsAfter} {
				if strings.TrimSpace(p) != "" {
					t.Errorf("%s, %s at %dx%d: %s", what, lang, size[0], size[1], p)
				}
			}
		}
	}
}
