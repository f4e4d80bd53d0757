// Command smoke checks a deployment: sign-in with a test account, headers, caching and
// the client address the API sees; it signs out again. With -admin, an administrator
// makes a temporary account for the test and deletes it afterwards (the deploy runs it
// so); with neither -id nor -admin, only the pages, headers and the API's health.
//
//	KAGIYA_SMOKE_PASSWORD=... go run ./infra/smoke -url https://id.example.com -id smoke@example.com
//	KAGIYA_SMOKE_ADMIN_PASSWORD=... go run ./infra/smoke -url https://id.example.com -admin owner@example.com
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
	id := flag.String("id", "", "a test account without a second factor (password: KAGIYA_SMOKE_PASSWORD)")
	admin := flag.String("admin", "", "an administrator without a second factor who makes and removes a temporary test account (password: KAGIYA_SMOKE_ADMIN_PASSWORD)")
	flag.Parse()
	if *url == "" || *id != "" && os.Getenv("KAGIYA_SMOKE_PASSWORD") == "" || *admin != "" && os.Getenv("KAGIYA_SMOKE_ADMIN_PASSWORD") == "" || *id != "" && *admin != "" {
		fmt.Fprintln(os.Stderr, "smoke: -url is required, with -id and KAGIYA_SMOKE_PASSWORD, or -admin and KAGIYA_SMOKE_ADMIN_PASSWORD, or neither")
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var results []check.Result
	var err error
	if *admin != "" {
		results, err = check.Temporary(ctx, *url, *admin, os.Getenv("KAGIYA_SMOKE_ADMIN_PASSWORD"))
	} else {
		results, err = check.Run(ctx, *url, *id, os.Getenv("KAGIYA_SMOKE_PASSWORD"))
		if *id == "" {
			fmt.Println("(no account given: the sign-in checks did not run)")
		}
	}
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
