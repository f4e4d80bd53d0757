// Command sitebuild writes the site as it is served (site/build: hashed asset names,
// rewritten references) to a folder, for the deploy to upload:
//
//	go run ./infra/sitebuild -out /tmp/site
//	aws s3 sync /tmp/site s3://BUCKET/ --exclude '*.html' --cache-control 'public, max-age=31536000, immutable'
//	aws s3 sync /tmp/site s3://BUCKET/ --exclude '*' --include '*.html' --cache-control 'max-age=604800'
//
// With -weights it writes, instead, what a cold load of each page fetches (requests, and
// bytes compressed with gzip -6 as CloudFront sends them), in each language, as a
// Markdown table; with -id, the build's ID alone (which every page names, and the API
// with it: infra/deploy passes it to the template as SiteBuild).
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
	weights := flag.Bool("weights", false, "print each page's cold-load requests and gzip -6 bytes instead")
	id := flag.Bool("id", false, "print the build's ID instead")
	flag.Parse()
	if *out == "" && !*weights && !*id {
		fmt.Fprintln(os.Stderr, "sitebuild: -out, -weights or -id is required")
		os.Exit(2)
	}
	files, err := sitebuild.Site(site.Files)
	if err == nil && *id {
		fmt.Println(sitebuild.ID(files))
		return
	}
	if err == nil && *weights {
		err = printWeights(files)
		if err == nil {
			return
		}
	}
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

func printWeights(files []sitebuild.File) error {
	ws, err := sitebuild.Weights(files)
	if err != nil {
		return err
	}
	fmt.Println("| page | language | requests | bytes (gzip -6) |")
	fmt.Println("|---|---|--:|--:|")
	for _, w := range ws {
		lang := w.Lang
		if lang == "" {
			lang = "ja, en"
		}
		fmt.Printf("| %s | %s | %d | %d |\n", w.Page, lang, w.Requests, w.Bytes)
	}
	return nil
}
