package main

import (
	"context"
	"fmt"
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/chromedp/chromedp"

	"github.com/kagiya/kagiya/site"
	sitebuild "github.com/kagiya/kagiya/site/build"
)

// newerSite is the site with its name changed in both languages ("Kagiya" + suffix in
// the header), and the ID of its build.
func newerSite(t *testing.T, suffix string) (fs.FS, string) {
	t.Helper()
	out := fstest.MapFS{}
	err := fs.WalkDir(site.Files, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(site.Files, path)
		if path == sitebuild.WordsSource {
			b = []byte(strings.ReplaceAll(string(b), `"app.name": "Kagiya"`, `"app.name": "Kagiya`+suffix+`"`))
		}
		out[path] = &fstest.MapFile{Data: b}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	files, err := sitebuild.Site(out)
	if err != nil {
		t.Fatal(err)
	}
	return out, sitebuild.ID(files)
}

// waitJS polls expr (a string expression) until it equals want.
func waitJS(expr, want string) chromedp.Action[chromedp.Void] {
	return poll(func(ctx context.Context, tg *chromedp.Target) (bool, string, error) {
		got, err := chromedp.Evaluate[string](expr)(ctx, tg)
		return err == nil && got == want, fmt.Sprintf("waiting for %s to be %q (last %q, %v)", expr, want, got, err), nil
	})
}

// pageState is the page's build, how it was loaded (navigate or reload) and its name.
const pageState = `document.readyState === "complete" ? [document.querySelector('meta[name="kagiya-build"]').content,
  performance.getEntriesByType("navigation")[0].type, document.querySelector(".brand").textContent].join(" ") : "loading"`

// A deploy reaches pages the browser keeps for a week: once the API names a newer build,
// the page in front reloads at its next read (no form holding input), another page of
// the old build reloads itself as it loads, and a page the network still serves old
// reloads once, not again and again.
func TestBrowserAnOlderPageReloadsToTheNewerBuild(t *testing.T) {
	t.Parallel()
	var swap func(fs.FS) error
	base := startServerOpts(t, func(o *options) { o.siteSwap = func(s func(fs.FS) error) { swap = s } })
	ctx := browser(t)
	var first string
	err := chromedp.Do(ctx,
		japanese(base),
		signIn(base, "owner@example.com", "Kagi-2026-Tokyo!"),
		chromedp.WaitVisible(css("#me-login-id")),
		chromedp.Navigate(base+"/password.html"), settled(),
		chromedp.Navigate(base+"/sessions.html"), settled(),
		chromedp.Navigate(base+"/home.html"), settled(),
		read(chromedp.Evaluate[string](pageState), &first),
	)
	if err != nil {
		t.Fatal(err)
	}
	first, nav, _ := strings.Cut(first, " ")
	if nav != "navigate Kagiya" {
		t.Fatalf("before the newer build: %s %s", first, nav)
	}
	newer, second := newerSite(t, " 2")
	if second == first || second == "" {
		t.Fatalf("builds %q and %q", first, second)
	}
	if err := swap(newer); err != nil {
		t.Fatal(err)
	}
	err = chromedp.Do(ctx,
		// The page in front: its next read names the newer build, and it reloads.
		script(`api("GET", "/api/me"); true`),
		waitJS(pageState, second+" reload Kagiya 2"),
		waitJS(`localStorage.getItem("kagiya.builds.old")`, `["`+first+`"]`),
		// Another page of the old build, fresh in the cache: it reloads as it loads.
		chromedp.Navigate(base+"/sessions.html"),
		waitJS(pageState, second+" reload Kagiya 2"),
		settled(),
	)
	if err != nil {
		t.Fatalf("after the newer build: %v", err)
	}
	// A form holding input is never reloaded under the person's hands: with a third
	// build out, the password page (of the second) keeps its typed value through a read,
	// and reloads at the first read once the field is empty again.
	third, thirdID := newerSite(t, " 3")
	err = chromedp.Do(ctx,
		chromedp.Navigate(base+"/password.html"),
		waitJS(pageState, second+" reload Kagiya 2"), settled(),
		fill("#current_password", "half-typed"),
	)
	if err != nil {
		t.Fatal(err)
	}
	if err := swap(third); err != nil {
		t.Fatal(err)
	}
	err = chromedp.Do(ctx,
		script(`window.kagiyaSamePage = true; api("GET", "/api/me"); true`),
		waitJS(`localStorage.getItem("kagiya.builds.old")`, `["`+second+`","`+first+`"]`),
		settled(),
		waitJS(`window.kagiyaSamePage + " " + document.getElementById("current_password").value`, "true half-typed"),
		script(`document.getElementById("current_password").value = ""; api("GET", "/api/me"); true`),
		waitJS(pageState, thirdID+" reload Kagiya 3"),
	)
	if err != nil {
		t.Fatalf("a form with input: %v", err)
	}
	// A page the network still serves old (remembered as old, say between a deploy's
	// functions and its site): it reloads once, stays, and the API's answer, naming its
	// build, makes it current again.
	err = chromedp.Do(ctx,
		settled(), // the page's own reads are in, so its last answer does not undo this
		script(`localStorage.setItem("kagiya.builds.old", JSON.stringify(["`+thirdID+`"])); true`),
		chromedp.Navigate(base+"/password.html"), // fresh in the cache, of the third build
		waitJS(pageState, thirdID+" reload Kagiya 3"),
		waitJS(`localStorage.getItem("kagiya.builds.old")`, `[]`),
		settled(),
		waitJS(`sessionStorage.getItem("kagiya.reloaded") + " " + performance.getEntriesByType("navigation")[0].type`, thirdID+" /password.html reload"),
	)
	if err != nil {
		t.Fatalf("a page served old: %v", err)
	}
}
