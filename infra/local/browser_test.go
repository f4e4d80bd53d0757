package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/kagiya/kagiya/shared/account"
)

// RequireBrowserEnv makes a missing chromium a failure instead of a skip (infra/test.sh sets it).
const RequireBrowserEnv = "KAGIYA_REQUIRE_BROWSER"

func chromiumPath(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv(RequireBrowserEnv) != "" {
		t.Fatal("chromium is not installed, and " + RequireBrowserEnv + " is set")
	}
	t.Skip("chromium is not installed (apt-get install chromium); infra/test.sh installs it")
	return ""
}

// startServer runs the local server on a free port with a fresh store and returns its URL.
func startServer(t *testing.T, extra ...string) string {
	t.Helper()
	return startServerWith(t, nil, extra...)
}

// startServerWith is startServer with the account service's store wrapped by wrap (nil:
// as it is).
func startServerWith(t *testing.T, wrap func(account.Store) account.Store, extra ...string) string {
	t.Helper()
	return startServerOpts(t, func(o *options) { o.wrapStore = wrap }, extra...)
}

// startServerOpts is startServer with its options changed by set (the test-only ones).
func startServerOpts(t *testing.T, set func(*options), extra ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan string, 1)
	done := make(chan error, 1)
	args := append([]string{"-addr", "127.0.0.1:0", "-data", filepath.Join(t.TempDir(), "data"),
		"-owner", "owner@example.com", "-owner-password", "Kagi-2026-Tokyo!"}, extra...)
	o, err := parseFlags(args, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	set(&o)
	go func() { done <- serve(ctx, o, io.Discard, func(a string) { addrc <- a }) }()
	select {
	case a := <-addrc:
		t.Cleanup(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("server stopped with %v", err)
			}
		})
		return "http://" + a
	case err := <-done:
		t.Fatalf("server did not start: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("server did not start in 30s")
	}
	return ""
}

func browser(t *testing.T) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.NoSandbox,
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelB := chromedp.NewContext(actx)
	// A guard against a test that hangs, not a measure of speed: the accessibility walk
	// alone visits thirty pages, and a busy 2-core machine runs it several times slower.
	ctx, cancelC := context.WithTimeout(ctx, 5*time.Minute)
	t.Cleanup(func() { cancelC(); cancelB(); cancelA() })
	return ctx
}

type css = chromedp.CSS

// poll runs check every 50 ms until it reports done, an error, or the context ends; what
// describes the last state for the failure message.
func poll(check func(ctx context.Context, tg *chromedp.Target) (done bool, what string, err error)) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		for {
			done, what, err := check(ctx, tg)
			if done || err != nil {
				return err
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("%s: %w", what, ctx.Err())
			case <-time.After(50 * time.Millisecond):
			}
		}
	})
}

// waitText waits until the element's text contains want.
func waitText(sel, want string) chromedp.Action[chromedp.Void] {
	return poll(func(ctx context.Context, tg *chromedp.Target) (bool, string, error) {
		got, err := chromedp.TextContent(css(sel))(ctx, tg)
		return err == nil && strings.Contains(got, want), fmt.Sprintf("waiting for %q in %s (last %q)", want, sel, got), nil
	})
}

// click waits until the page has settled (loaded, no API call in flight, so its handlers
// are attached and its lists drawn) and sel matches an element that is shown and enabled,
// then clicks the element that matches at that moment, finding and clicking in one step
// in the page. A real mouse click finds the node first and presses on it a round trip
// later: a list re-rendered in between (by its own load, or by the language switch)
// loses the click.
func click(sel string) chromedp.Action[chromedp.Void] {
	expr := fmt.Sprintf(`(() => {
  if (document.readyState !== "complete" || Number(document.documentElement.dataset.pending || 0) > 0) return false;
  const el = document.querySelector(%q);
  if (!el || el.disabled || !el.checkVisibility()) return false;
  el.click();
  return true;
})()`, sel)
	return poll(func(ctx context.Context, tg *chromedp.Target) (bool, string, error) {
		done, err := chromedp.Evaluate[bool](expr)(ctx, tg)
		return err == nil && done, fmt.Sprintf("waiting to click %s (page settled, element shown and enabled)", sel), nil
	})
}

// settled waits until the page has loaded and none of its API calls is in flight
// (api.js counts them in data-pending on the root element): the page's own data, a list
// or a log, is on it.
func settled() chromedp.Action[chromedp.Void] {
	return poll(func(ctx context.Context, tg *chromedp.Target) (bool, string, error) {
		state, err := chromedp.Evaluate[string](`document.readyState + " " + (document.documentElement.dataset.pending || "0")`)(ctx, tg)
		return err == nil && state == "complete 0", fmt.Sprintf("waiting for the page to settle (last %q)", state), nil
	})
}

// read stores the value of a into *out.
func read[T any](a chromedp.Action[T], out *T) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		v, err := a(ctx, tg)
		*out = v
		return err
	})
}

// japanese starts a browser profile in Japanese, whatever the machine's locale.
func japanese(base string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(
		chromedp.Navigate(base+"/index.html"),
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := chromedp.Evaluate[any](`localStorage.setItem("kagiya.lang", "ja")`)(ctx, tg)
			return err
		}),
	)
}

func signIn(base, id, pw string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(
		chromedp.Navigate(base+"/index.html"),
		chromedp.WaitVisible(css("#login_id")),
		chromedp.SendKeys(css("#login_id"), id),
		chromedp.SendKeys(css("#password"), pw),
		click("#signin-submit"),
	)
}

func TestBrowserSignInLanguageSignOut(t *testing.T) {
	t.Parallel()
	base := startServer(t)
	ctx := browser(t)
	var role, title, lang, path, jaTitle, enTitle, focused, current string
	var formShown bool
	err := chromedp.Do(ctx,
		// A wrong password shows the API's message, in the page's language.
		japanese(base),
		signIn(base, "owner@example.com", "wrong-password"),
		waitText("#signin-message", "ログインIDまたはパスワードが正しくありません"),
		// The right one lands on the home page, showing who is signed in.
		chromedp.SendKeys(css("#password"), "Kagi-2026-Tokyo!"),
		click("#signin-submit"),
		waitText("#me-login-id", "owner@example.com"),
		waitText("#me-role", "オーナー"),
		read(chromedp.TextContent(css("#me-role")), &role),
		// ... in place: the sign-in page shows the home section, under the home page's
		// address and title, with the focus on its heading and the shell's navigation.
		read(chromedp.Evaluate[string](`location.pathname`), &path),
		read(chromedp.Title(), &jaTitle),
		read(chromedp.Evaluate[string](`document.activeElement.id`), &focused),
		read(chromedp.Evaluate[string](`document.querySelector('nav a[aria-current="page"]')?.getAttribute("href") || ""`), &current),
		read(chromedp.Evaluate[bool](`!document.getElementById("signin-form").closest("section").hidden`), &formShown),
		// Switch to English: the page and later API messages follow, and it is remembered.
		click("#lang-switch"),
		waitText("#home-title", "Home"),
		read(chromedp.Title(), &enTitle),
		chromedp.Reload(),
		waitText("#me-login-id", "owner@example.com"),
		waitText("#home-title", "Home"),
		waitText("#me-role", "Owner"),
		read(chromedp.Title(), &title),
		read(chromedp.Evaluate[string](`document.documentElement.lang`), &lang),
		// Sign out: back to the sign-in page, and the home page no longer opens.
		click("#signout"),
		chromedp.WaitVisible(css("#signin-form")),
		waitText("#signin-title", "Sign in"),
		chromedp.Navigate(base+"/home.html"),
		chromedp.WaitVisible(css("#signin-form")),
		signIn(base, "owner@example.com", "wrong-again"),
		waitText("#signin-message", "The login ID or password is incorrect."),
	)
	if err != nil {
		t.Fatal(err)
	}
	if role != "オーナー" || title != "Home - Kagiya" || lang != "en" {
		t.Fatalf("role %q, title %q, lang %q", role, title, lang)
	}
	if path != "/home.html" || jaTitle != "ホーム - Kagiya" || enTitle != "Home - Kagiya" || focused != "home-title" || current != "/home.html" || formShown {
		t.Fatalf("home in place: path %q, titles %q/%q, focus %q, current link %q, sign-in form shown %t", path, jaTitle, enTitle, focused, current, formShown)
	}
}

func TestBrowserAdminManagesAccounts(t *testing.T) {
	t.Parallel()
	base := startServer(t)
	ctx := browser(t)
	row := func(id string) string { return `tr[data-login-id="` + id + `"]` }
	err := chromedp.Do(ctx,
		japanese(base),
		signIn(base, "owner@example.com", "Kagi-2026-Tokyo!"),
		waitText("#me-login-id", "owner@example.com"),
		click("#admin-link"),
		waitText("#accounts", "owner@example.com"),
		// Create an account with a password; a mismatched confirmation is caught first.
		click("#create-open"),
		click("#new-invite"),
		chromedp.SendKeys(css("#new-login-id"), "hanako@example.com"),
		chromedp.SendKeys(css("#new-password"), "Sakura-Passw0rd"),
		chromedp.SendKeys(css("#new-password2"), "Sakura-Passw0rX"),
		chromedp.SetValue(css("#new-quota"), "10"),
		chromedp.SendKeys(css("#new-comment"), "経理部"),
		click("#create-form button[type=submit]"),
		waitText("#create-message", "確認用のパスワードが一致しません"),
		chromedp.SetValue(css("#new-password2"), "Sakura-Passw0rd"),
		click("#create-form button[type=submit]"),
		waitText("#create-message", "アカウントを作成しました"),
		waitText(row("hanako@example.com"), "経理部"),
		waitText(row("hanako@example.com"), "10"),
		// A duplicate is refused with the API's message.
		chromedp.SendKeys(css("#new-login-id"), "HANAKO@example.com"),
		click("#create-form button[type=submit]"),
		waitText("#create-message", "すでに使われています"),
		// Edit the comment.
		openRowAction("hanako@example.com", "edit"),
		chromedp.WaitVisible(css("#edit-dialog")),
		chromedp.SetValue(css("#edit-comment"), "人事部"),
		click("#edit-save"),
		waitText("#list-message", "保存しました"),
		waitText(row("hanako@example.com"), "人事部"),
		// Search narrows the list to one row.
		chromedp.SendKeys(css("#q"), "hana"),
		click("#search-form button"),
		poll(func(ctx context.Context, tg *chromedp.Target) (bool, string, error) {
			n, err := chromedp.Evaluate[int](`document.querySelectorAll("#accounts tr").length`)(ctx, tg)
			return n == 1, fmt.Sprintf("search left %d rows", n), err
		}),
		// Delete, after a confirmation that names the account.
		openRowAction("hanako@example.com", "danger"),
		chromedp.WaitVisible(css("#delete-dialog")),
		waitText("#delete-login-id", "hanako@example.com"),
		click("#delete-ok"),
		waitText("#delete-message", "あなたのログインパスワード: 入力してください"),
		chromedp.SendKeys(css("#delete-confirm"), "Kagi-2026-Tokyo!"),
		click("#delete-ok"),
		waitText("#list-message", "削除しました"),
		waitText("#accounts", "該当するアカウントはありません"),
	)
	if err != nil {
		t.Fatal(err)
	}
}

// Creating an administrator asks the creator's own password (a field shown only for
// the admin and owner roles), and the owner is mailed who was made what (issue 23).
func TestBrowserCreatingAnAdminAsksThePassword(t *testing.T) {
	t.Parallel()
	base := startServer(t)
	ctx := browser(t)
	var hiddenForUser, hiddenForAdmin, changed bool
	err := chromedp.Do(ctx,
		japanese(base),
		signIn(base, "owner@example.com", "Kagi-2026-Tokyo!"),
		waitText("#me-login-id", "owner@example.com"),
		chromedp.Navigate(base+"/admin.html"),
		waitText("#accounts", "owner@example.com"),
		click("#create-open"),
		click("#new-invite"),
		read(chromedp.Evaluate[bool](`document.getElementById("new-confirm-row").hidden`), &hiddenForUser),
		read(chromedp.Evaluate[bool](`(() => { const r = document.getElementById("new-role"); r.value = "admin"; return r.dispatchEvent(new Event("change")) })()`), &changed),
		chromedp.WaitVisible(css("#confirm_password")),
		read(chromedp.Evaluate[bool](`document.getElementById("new-confirm-row").hidden`), &hiddenForAdmin),
		chromedp.SendKeys(css("#new-login-id"), "kanri@example.com"),
		chromedp.SendKeys(css("#new-password"), "Sakura-Passw0rd"),
		chromedp.SendKeys(css("#new-password2"), "Sakura-Passw0rd"),
		chromedp.Click(css("#create-form button[type=submit]")),
		waitText("#create-message", "あなたのログインパスワード: 入力してください"),
		poll(func(ctx context.Context, tg *chromedp.Target) (bool, string, error) {
			v, err := chromedp.Evaluate[string](`document.getElementById("confirm_password").getAttribute("aria-invalid") || ""`)(ctx, tg)
			return v == "true", "the password field is not marked invalid", err
		}),
		chromedp.SendKeys(css("#confirm_password"), "Kagi-2026-Tokyo!"),
		chromedp.Click(css("#create-form button[type=submit]")),
		waitText("#create-message", "アカウントを作成しました"),
		waitText(`tr[data-login-id="kanri@example.com"]`, "管理者"),
		chromedp.WaitNotVisible(css("#confirm_password")),
	)
	if err != nil {
		t.Fatal(err)
	}
	if !hiddenForUser || hiddenForAdmin {
		t.Fatalf("password field hidden for a user %t, for an admin %t", hiddenForUser, hiddenForAdmin)
	}
	res, err := http.Get(base + "/_dev/mail?to=owner@example.com")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var mails []struct{ Subject, Text string }
	json.NewDecoder(res.Body).Decode(&mails)
	for _, m := range mails {
		if strings.Contains(m.Subject, "管理者が追加されました") && strings.Contains(m.Text, "kanri@example.com") && strings.Contains(m.Text, "操作した人: owner@example.com") {
			return
		}
	}
	t.Fatalf("the owner was not told (%d mails)", len(mails))
}

func TestBrowserAuditLog(t *testing.T) {
	t.Parallel()
	base := startServer(t)
	createUser(t, base, "kansa@example.com", "Fuji-Passw0rd!")
	ctx := browser(t)
	err := chromedp.Do(ctx,
		japanese(base),
		signIn(base, "owner@example.com", "wrong-password"),
		waitText("#signin-message", "正しくありません"),
		signIn(base, "owner@example.com", "Kagi-2026-Tokyo!"),
		waitText("#me-login-id", "owner@example.com"),
		chromedp.Navigate(base+"/admin.html"),
		click("#audit-link"),
		waitText("#page-title", "監査ログ"),
		waitText("#events", "アカウント作成"),
		waitText("#events", "kansa@example.com"),
		waitText("#events", "失敗（パスワード誤り）"),
		waitText("#events tr:first-child", "ログイン"), // newest first: this sign-in
		// Only the failed sign-ins.
		chromedp.SetValue(css("#f-action"), "login"),
		chromedp.SetValue(css("#f-result"), "failed"),
		click("#f-apply"),
		waitText("#events tr:first-child", "失敗"),
		poll(func(ctx context.Context, tg *chromedp.Target) (bool, string, error) {
			n, err := chromedp.Evaluate[int](`document.querySelectorAll("#events tr").length`)(ctx, tg)
			return err == nil && n == 1, fmt.Sprintf("%d rows", n), err
		}),
	)
	if err != nil {
		t.Fatal(err)
	}
}

// openRowAction opens an account row's 「操作」 menu and clicks one of its actions (by
// the button's class: edit, setpw, loginid, resend, suspend, mfareset, danger).
func openRowAction(loginID, class string) chromedp.Action[chromedp.Void] {
	row := `#accounts tr[data-login-id="` + loginID + `"]`
	return chromedp.Steps(click(row+" summary"), click(row+" .menu button."+class))
}
