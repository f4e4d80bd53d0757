package main

import (
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
)

// -rate-limit=false turns off every per-IP limit (sign-in, forgot, reset, unlock), as
// docs/api.md says; with the default, the 31st unlock attempt from one address is throttled.
func TestRateLimitFlag(t *testing.T) {
	t.Parallel()
	statuses := func(base string, n int) map[int]int {
		got := map[int]int{}
		for range n {
			res, err := http.Post(base+"/api/unlock", "application/json", strings.NewReader(`{"token":"not-a-token"}`))
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			got[res.StatusCode]++
		}
		return got
	}
	// The window is a calendar minute: a run that straddles its end is tried once more.
	base := startServer(t)
	got := statuses(base, 31)
	if got[429] == 0 {
		got = statuses(startServer(t), 31)
	}
	if got[429] != 1 || got[400] != 30 {
		t.Fatalf("with throttling: %v", got)
	}
	if got := statuses(startServer(t, "-rate-limit=false"), 40); got[400] != 40 {
		t.Fatalf("with -rate-limit=false: %v", got)
	}
}

func TestLogLevelFromTheEnvironment(t *testing.T) {
	t.Parallel()
	env := map[string]string{"LOG_LEVEL": "warn"}
	o, err := parseFlags(envFlags(func(k string) string { return env[k] }), io.Discard)
	if err != nil || o.logLevel != slog.LevelWarn {
		t.Fatalf("LOG_LEVEL=warn: %v %v", o.logLevel, err)
	}
	if _, err := parseFlags([]string{"-log-level", "loud"}, io.Discard); err == nil {
		t.Fatal("a bad level was accepted")
	}
}
