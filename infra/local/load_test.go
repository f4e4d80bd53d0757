package main

import (
	"context"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/kagiya/kagiya/infra/load/loadrun"
)

// The load program (infra/load) against the local server on each store, for a few
// seconds: every request is answered and counted under its route, none is a 5xx, and the
// report has the server's memory at start and end.
func TestLoadProgramReports(t *testing.T) {
	t.Parallel()
	for _, store := range []string{"bbolt", "minidyn"} {
		t.Run(store, func(t *testing.T) {
			base := startServer(t, "-rate-limit=false", "-store", store)
			rep, err := loadrun.Run(context.Background(), loadrun.Options{BaseURL: base, Owner: "owner@example.com", OwnerPassword: "Kagi-2026-Tokyo!",
				Rate: 20, Duration: 3 * time.Second, Users: 5, PID: os.Getpid(), Seed: 21})
			if err != nil {
				t.Fatal(err)
			}
			var b strings.Builder
			rep.Write(&b)
			t.Log("\n" + b.String())
			answered, routes := 0, 0
			for _, r := range rep.Routes {
				answered += r.Count
				if r.Count > 0 {
					routes++
				}
				if r.Count > 0 && (r.P50 <= 0 || r.P99 < r.P50) {
					t.Errorf("%s: p50 %s, p99 %s", r.Name, r.P50, r.P99)
				}
			}
			if rep.Started != 60 || answered != rep.Started || routes < 5 || rep.Statuses[0] != 0 {
				t.Errorf("started %d, answered %d, routes with answers %d, without a status %d", rep.Started, answered, routes, rep.Statuses[0])
			}
			if n := rep.ServerErrors(); n != 0 {
				t.Errorf("%d answers were 5xx", n)
			}
			if len(rep.Memory) < 2 || rep.Memory[0].Bytes <= 0 || !strings.Contains(b.String(), "server VmRSS MiB: start") {
				t.Errorf("memory: %v", rep.Memory)
			}
		})
	}
	if _, err := parseFlags([]string{"-store", "postgres"}, io.Discard); err == nil {
		t.Fatal("-store postgres was accepted")
	}
}
