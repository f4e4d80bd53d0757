// Command smoke checks a deployment: sign-in with a test account, headers, caching and
// the client address the API sees; it signs out again.
//
//	KAGIYA_SMOKE_PASSWORD=... go run ./infra/smoke -url https://id.example.com -id smoke@example.com
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/kagiya/kagiya/infra/smoke/check"
)

func main() {
	url := flag.String("url", "", "the deployment's address (https://SiteDomain)")
	id := flag.String("id", "", "a test account without a second factor")
	flag.Parse()
	pw := os.Getenv("KAGIYA_SMOKE_PASSWORD")
	if *url == "" || *id == "" || pw == "" {
		fmt.Fprintln(os.Stderr, "smoke: -url, -id and KAGIYA_SMOKE_PASSWORD are required")
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	results, err := check.Run(ctx, *url, *id, pw)
	failed := err != nil
	for _, r := range results {
		fmt.Println(r)
		failed = failed || !r.OK
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "smoke:", err)
	}
	if failed {
		os.Exit(1)
	}
}
