// Command sitebuild writes the site as it is served (site/build: hashed asset names,
// rewritten references) to a folder, for the deploy to upload:
//
//	go run ./infra/sitebuild -out /tmp/site
//	aws s3 sync /tmp/site s3://BUCKET/ --exclude '*.html' --cache-control 'public, max-age=31536000, immutable'
//	aws s3 sync /tmp/site s3://BUCKET/ --exclude '*' --include '*.html' --cache-control 'max-age=300, must-revalidate'
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/kagiya/kagiya/site"
	sitebuild "github.com/kagiya/kagiya/site/build"
)

func main() {
	out := flag.String("out", "", "the folder to write the built site to")
	flag.Parse()
	if *out == "" {
		fmt.Fprintln(os.Stderr, "sitebuild: -out is required")
		os.Exit(2)
	}
	files, err := sitebuild.Site(site.Files)
	if err == nil {
		err = os.MkdirAll(*out, 0o755)
	}
	for _, f := range files {
		if err != nil {
			break
		}
		err = os.WriteFile(filepath.Join(*out, f.Name), f.Body, 0o644)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "sitebuild:", err)
		os.Exit(1)
	}
	fmt.Printf("%d files in %s\n", len(files), *out)
}
