package main

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// axeSource is axe-core (npm, installed by infra/test.sh with the test backends).
func axeSource(t *testing.T) string {
	t.Helper()
	src, err := os.ReadFile("../backends/node_modules/axe-core/axe.min.js")
	if err != nil {
		if os.Getenv(RequireBrowserEnv) != "" {
			t.Fatalf("axe-core is not installed (npm ci in infra/backends), and %s is set", RequireBrowserEnv)
		}
		t.Skip("axe-core is not installed (cd infra/backends && npm ci); infra/test.sh installs it")
	}
	return string(src)
}

// axeRun runs axe-core in the page and returns its violations, one line each.
const axeRun = `(async () => {
  const r = await axe.run(document, { resultTypes: ["violations"] });
  return JSON.stringify(r.violations.map((v) => v.id + " (" + v.impact + "): " + v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(", ")));
})()`

// Every page, signed in as the owner and signed out, in Japanese and English, has no
// axe-core violations (WCAG 2.1 A/AA rules and best practices axe checks by default).
func TestBrowserAccessibility(t *testing.T) {
	t.Parallel()
	chromiumPath(t)
	src := axeSource(t)
	base := startServer(t)
	createUser(t, base, "a11y@example.com", "Fuji-Passw0rd-26!")
	apiAs(t, base, "a11y@example.com", "Fuji-Passw0rd-26!") // a session, for the account page's list of them
	ctx := browser(t)
	check := func(page, lang string) {
		t.Helper()
		var out string
		err := chromedp.Do(ctx,
			chromedp.Navigate(base+"/"+page),
			settled(),
			script(src),
			read(chromedp.Evaluate[string](axeRun, chromedp.EvalAwaitPromise), &out),
		)
		if err != nil {
			t.Fatalf("%s (%s): %v", page, lang, err)
		}
		var violations []string
		json.Unmarshal([]byte(out), &violations)
		if len(violations) > 0 {
			t.Errorf("%s (%s): %s", page, lang, strings.Join(violations, "; "))
		}
	}
	// The audit itself finds a fault: the sign-in page with its field's label taken away.
	var broken string
	err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/index.html"),
		chromedp.WaitVisible(css("#login_id")),
		script(`document.querySelector('label[for="login_id"]').remove()`),
		script(src),
		read(chromedp.Evaluate[string](axeRun, chromedp.EvalAwaitPromise), &broken),
	)
	if err != nil || !strings.Contains(broken, "label") {
		t.Fatalf("axe did not notice a field without a label: %q %v", broken, err)
	}
	for _, lang := range []string{"ja", "en"} {
		if err := chromedp.Do(ctx, chromedp.Navigate(base+"/index.html"), script(`localStorage.setItem("kagiya.lang", "`+lang+`")`)); err != nil {
			t.Fatal(err)
		}
		for _, page := range []string{"index.html", "forgot.html", "reset.html?token=x", "unlock.html?token=x", "invite.html?token=x", "confirm-email.html?token=x"} {
			check(page, lang)
		}
		if err := chromedp.Do(ctx, signIn(base, "owner@example.com", "Kagi-2026-Tokyo!"), waitText("#me-login-id", "owner@example.com")); err != nil {
			t.Fatal(err)
		}
		for _, page := range []string{"home.html", "password.html", "sessions.html", "security.html", "admin.html", "account.html?login_id=owner@example.com", "account.html?login_id=a11y@example.com", "bulk.html", "audit.html", "audit.html?action=login&result=failed", "settings.html", "integrations.html"} {
			check(page, lang)
		}
		if err := chromedp.Do(ctx, click("#shell-signout"), chromedp.WaitVisible(css("#login_id"))); err != nil {
			t.Fatal(err)
		}
	}
}
