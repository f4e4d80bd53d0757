package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// countRequests keeps, across the pages of a visit, how many requests went to the
// network: page loads, assets and API calls whose transfer was not served from the
// browser's cache (a revalidation counts). The browser's own icon fetch is not in the
// Resource Timing entries this reads.
const countRequests = `(() => {
  if (window.kagiyaCounting) return true; // this document is counted already
  window.kagiyaCounting = true;
  const add = (entries) => {
    const n = entries.filter((e) => e.transferSize > 0).length;
    sessionStorage.setItem("requests", String(Number(sessionStorage.getItem("requests") || 0) + n));
  };
  add(performance.getEntriesByType("navigation"));
  window.kagiyaSeen = 0;
  new PerformanceObserver((list) => { add(list.getEntries()); window.kagiyaSeen += list.getEntries().length; })
    .observe({ type: "resource", buffered: true });
  return true;
})()`

// counted waits until the page has settled and the observer above has counted every
// resource the document has loaded (its callbacks come a while after the loads).
func counted() chromedp.Action[chromedp.Void] {
	return chromedp.Steps(settled(), poll(func(ctx context.Context, tg *chromedp.Target) (bool, string, error) {
		state, err := chromedp.Evaluate[string](`window.kagiyaSeen + " of " + performance.getEntriesByType("resource").length`)(ctx, tg)
		n := strings.SplitN(state, " of ", 2)
		return err == nil && len(n) == 2 && n[0] == n[1], fmt.Sprintf("resources counted: %s", state), nil
	}))
}

// A sign-in from a cold browser and from a warm one, counted: the built site bundles each
// page's scripts, caches assets for a year and the home page uses the sign-in's answer.
// Cold: the page, its style sheet, its bundle, its language's words (a file of their own,
// named by the page: a request more than with both languages in the bundle, and 23 to 34%
// fewer bytes; README, Benchmarks), the icon and the API call.
//
// Warm: the pages come with Age: 129600, as if the browser had kept them a day and a half
// (a person who signs in 20 times a month), and are still fresh (build.PageCache, a
// week), so the sign-in's API call is the one request. With pages cached five minutes,
// as they were, the page's revalidation made it 2.
func TestBrowserSignInRequests(t *testing.T) {
	t.Parallel()
	base := startServerOpts(t, func(o *options) {
		o.wrapSite = func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if strings.HasSuffix(r.URL.Path, ".html") || r.URL.Path == "/" {
					w.Header().Set("Age", "129600")
				}
				next.ServeHTTP(w, r)
			})
		}
	})
	createUser(t, base, "kazu@example.com", "Fuji-Passw0rd-26!")
	ctx := browser(t)
	signInCounted := func() (int, error) {
		var n int
		err := chromedp.Do(ctx,
			chromedp.Navigate(base+"/index.html"),
			chromedp.WaitVisible(css("#login_id")),
			script(`sessionStorage.setItem("requests", "0")`),
			script(countRequests),
			fill("#login_id", "kazu@example.com"),
			fill("#password", "Fuji-Passw0rd-26!"),
			click("#signin-submit"),
			waitText("#me-login-id", "kazu@example.com"),
			script(countRequests),
			counted(),
			read(chromedp.Evaluate[int](`Number(sessionStorage.getItem("requests"))`), &n),
		)
		return n, err
	}
	cold, err := signInCounted()
	if err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, click("#signout"), chromedp.WaitVisible(css("#signin-form"))); err != nil {
		t.Fatal(err)
	}
	warm, err := signInCounted()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("requests for a sign-in: cold browser %d, warm browser %d", cold, warm)
	if cold > 6 || warm > 1 {
		t.Fatalf("cold %d (goal 6), warm %d (goal 1)", cold, warm)
	}
}
