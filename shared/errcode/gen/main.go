// Command gen writes site/errors.js from the error table (go generate ./shared/errcode).
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/kagiya/kagiya/shared/errcode"
)

func main() {
	out := filepath.Join("..", "..", "site", "errors.js")
	if err := os.WriteFile(out, errcode.JS(), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
