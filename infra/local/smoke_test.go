package main

import (
	"context"
	"strings"
	"testing"

	"github.com/kagiya/kagiya/infra/smoke/check"
)

// The deployment smoke test passes against the local server (plain http: no HSTS or
// Secure cookie to check), and fails with a wrong password.
func TestSmokeAgainstTheLocalServer(t *testing.T) {
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
