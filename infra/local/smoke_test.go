package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/kagiya/kagiya/infra/smoke/check"
	"github.com/kagiya/kagiya/shared/policy"
)

// The deployment smoke test passes against the local server (plain http: no HSTS or
// Secure cookie to check), and fails with a wrong password.
func TestSmokeAgainstTheLocalServer(t *testing.T) {
	t.Parallel()
	base := startServer(t)
	createUser(t, base, "smoke@example.com", "Fuji-Passw0rd-26!")
	results, err := check.Run(context.Background(), base, "smoke@example.com", "Fuji-Passw0rd-26!")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range results {
		t.Log(r)
		if !r.OK {
			t.Errorf("%s", r)
		}
	}
	if len(results) < 8 {
		t.Fatalf("%d checks", len(results))
	}
	bad, _ := check.Run(context.Background(), base, "smoke@example.com", "Wrong-Pass-123!")
	failed := false
	for _, r := range bad {
		failed = failed || !r.OK && strings.HasPrefix(r.Name, "sign-in")
	}
	if !failed {
		t.Fatal("a wrong password passed the smoke test")
	}
}

// The deploy's smoke test (check.Temporary, as infra/deploy/deploy.sh runs it), under
// each password preset: the owner makes a temporary account, every check passes with
// it, and it is gone afterwards.
func TestSmokeWithATemporaryAccount(t *testing.T) {
	for _, preset := range policy.Names() {
		t.Run(preset, func(t *testing.T) { smokeWithATemporaryAccount(t, preset) })
	}
}

func smokeWithATemporaryAccount(t *testing.T, preset string) {
	const pw = "Kagi-2026-Tokyo." // within every preset (basic8: 16 at most, "-_." only)
	base := startServer(t, "-policy", preset, "-owner-password", pw)
	results, err := check.Temporary(context.Background(), base, "owner@example.com", pw)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, r := range results {
		t.Log(r)
		names[r.Name] = true
		if !r.OK {
			t.Errorf("%s", r)
		}
	}
	for _, want := range []string{"temporary account", "sign-in", "session cookie", "client address", "sign-out", "temporary account removed"} {
		if !names[want] {
			t.Errorf("no %q check", want)
		}
	}
	res := apiAs(t, base, "owner@example.com", pw)("GET", "/api/admin/accounts?q=kagiya-smoke-", nil)
	defer res.Body.Close()
	var list struct {
		Total int `json:"total"`
	}
	if err := json.NewDecoder(res.Body).Decode(&list); err != nil || res.StatusCode != 200 {
		t.Fatalf("list: %d %v", res.StatusCode, err)
	}
	if list.Total != 0 {
		t.Fatalf("%d temporary accounts left", list.Total)
	}
	bad, _ := check.Temporary(context.Background(), base, "owner@example.com", "Wrong-Pass-123!")
	if len(bad) != 1 || bad[0].OK {
		t.Fatalf("a wrong administrator password: %v", bad)
	}
}
