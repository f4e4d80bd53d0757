package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// lockedBuffer collects the server's output while it runs.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}
func (l *lockedBuffer) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

// startBare runs the local server with no -owner on a fresh data directory and returns
// its URL and its output.
func startBare(t *testing.T, data string) (string, *lockedBuffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out := &lockedBuffer{}
	addrc := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-addr", "127.0.0.1:0", "-data", data, "-log-level", "error"}, out, func(a string) { addrc <- a })
	}()
	select {
	case a := <-addrc:
		t.Cleanup(func() { cancel(); <-done })
		return "http://" + a, out
	case err := <-done:
		t.Fatalf("server did not start: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("server did not start")
	}
	return "", nil
}

var setupLink = regexp.MustCompile(`http://\S+/setup\.html#\S+`)

// First run without flags: the server prints a one-time link; its page creates the
// first organization and owner (the rules checked as one types), who can then sign in;
// the link does not work twice, and a restart on the same data prints none.
func TestBrowserFirstRunSetup(t *testing.T) {
	t.Parallel()
	data := filepath.Join(t.TempDir(), "data")
	base, out := startBare(t, data)
	var link string
	for deadline := time.Now().Add(5 * time.Second); link == "" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		link = setupLink.FindString(out.String())
	}
	if link == "" || !strings.HasPrefix(link, base) {
		t.Fatalf("no setup link in the output: %q", out.String())
	}
	ctx := browser(t)
	var done string
	err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/index.html"),
		script(`localStorage.setItem("kagiya.lang", "ja")`),
		chromedp.Navigate(link),
		waitText("#page-title", "組織とオーナー"),
		fill("#login_id", "boss@startup.example"),
		script(`document.getElementById("login_id").dispatchEvent(new Event("change"))`),
		waitText("#rules", "12"),
		fill("#new_password", "short"),
		fill("#new_password2", "short"),
		click("#submit"),
		waitText("#message", "ルール"),
		fill("#new_password", "Tokyo-Startup-2026!"),
		fill("#new_password2", "Tokyo-Startup-2026!"),
		click("#submit"),
		waitText("#message", "boss@startup.example"),
		read(chromedp.Evaluate[string](shownInPlace("#setup-form", "#message")), &done),
		click("#done a"),
		chromedp.WaitVisible(css("#login_id")),
		fill("#login_id", "boss@startup.example"),
		fill("#password", "Tokyo-Startup-2026!"),
		click("#signin-submit"),
		waitText("#me-login-id", "boss@startup.example"),
		chromedp.Navigate(link),
		fill("#login_id", "second@startup.example"),
		fill("#new_password", "Tokyo-Startup-2026!"),
		fill("#new_password2", "Tokyo-Startup-2026!"),
		click("#submit"),
		waitText("#message", "もう使えません"),
	)
	if err != nil {
		t.Fatal(err)
	}
	if done != "" {
		t.Errorf("after the setup: %s", done)
	}
	if strings.Contains(out.String(), "Tokyo-Startup") {
		t.Fatal("the password reached the server's output")
	}
}

// The command line: -h is not an error, an unknown flag is explained once, and a data
// directory another server holds says so.
func TestCommandLine(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	err := run(context.Background(), []string{"-h"}, &out, nil)
	var usage usageError
	if !errorsIsHelp(err) || !strings.Contains(out.String(), "-owner") {
		t.Fatalf("-h: %v %q", err, out.String())
	}
	out.Reset()
	err = run(context.Background(), []string{"-nope"}, &out, nil)
	if !asUsage(err, &usage) || strings.Count(out.String(), "flag provided but not defined") != 1 {
		t.Fatalf("unknown flag: %v %q", err, out.String())
	}
	data := filepath.Join(t.TempDir(), "data")
	startBare(t, data)
	err = run(context.Background(), []string{"-addr", "127.0.0.1:0", "-data", data}, io.Discard, nil)
	if err == nil || !strings.Contains(err.Error(), "in use by another Kagiya server") {
		t.Fatalf("second server on the same data: %v", err)
	}
}

func errorsIsHelp(err error) bool           { return errors.Is(err, flag.ErrHelp) }
func asUsage(err error, u *usageError) bool { return errors.As(err, u) }
