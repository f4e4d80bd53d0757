// Command load drives a Kagiya local server started with -rate-limit=false at a fixed rate
// for a fixed time with the mix of requests a deployment sees, and prints throughput,
// p50/p99 per route, answers by status and the server's memory (VmRSS) at start and end:
//
//	go run ./infra/local -rate-limit=false -owner owner@example.com -owner-password 'Change-me-2026!' &
//	go run ./infra/load -owner owner@example.com -owner-password 'Change-me-2026!' -pid $! -rate 10 -duration 10m
//
// It exits 1 if any answer was a 5xx.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"time"

	"github.com/kagiya/kagiya/infra/load/loadrun"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o loadrun.Options
	fs.StringVar(&o.BaseURL, "url", "http://127.0.0.1:8080", "the local server")
	fs.StringVar(&o.Owner, "owner", "", "an owner's login ID (the run makes its accounts with it)")
	fs.StringVar(&o.OwnerPassword, "owner-password", "", "that owner's password")
	fs.Float64Var(&o.Rate, "rate", 10, "requests started a second")
	fs.DurationVar(&o.Duration, "duration", time.Minute, "how long requests are started")
	fs.IntVar(&o.Users, "users", 100, "accounts made for the run")
	fs.IntVar(&o.MaxInFlight, "max-in-flight", 256, "requests waiting at once; more are dropped and counted")
	fs.IntVar(&o.PID, "pid", 0, "the server's process ID, whose VmRSS (/proc/PID/status) is reported (0: not read)")
	fs.Uint64Var(&o.Seed, "seed", 0, "seed of the mix's random choices (0: from the clock)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if o.Owner == "" || o.OwnerPassword == "" {
		return fmt.Errorf("-owner and -owner-password are needed")
	}
	rep, err := loadrun.Run(ctx, o)
	if rep != nil {
		rep.Write(stdout)
	}
	if err != nil {
		return err
	}
	if n := rep.ServerErrors(); n > 0 {
		return fmt.Errorf("%d answers were 5xx", n)
	}
	return nil
}
