package errcode

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode"
)

func TestEveryEntryHasAStatusAndBothMessages(t *testing.T) {
	seen := map[string]bool{}
	for _, e := range All() {
		if seen[e.Code] {
			t.Errorf("%s is in the table twice", e.Code)
		}
		seen[e.Code] = true
		if e.Status < 400 || e.Status > 599 {
			t.Errorf("%s: status %d is not an error", e.Code, e.Status)
		}
		if strings.TrimSpace(e.En) == "" || !strings.HasSuffix(e.En, ".") {
			t.Errorf("%s: English message %q", e.Code, e.En)
		}
		if !strings.ContainsFunc(e.Ja, func(r rune) bool { return unicode.In(r, unicode.Hiragana, unicode.Katakana, unicode.Han) }) {
			t.Errorf("%s: Japanese message %q", e.Code, e.Ja)
		}
	}
}

// Every code the code base can answer with: the Code constants of the domain and every
// Error{Code: "..."} literal. A code missing from the table fails here.
func TestEveryCodeInTheCodeBaseIsInTheTable(t *testing.T) {
	constant := regexp.MustCompile(`(?m)^\s*Code[A-Za-z]+\s*=\s*"([a-z_]+)"`)
	literal := regexp.MustCompile(`Error\{Code:\s*"([a-z_]+)"`)
	found := map[string]string{}
	root := filepath.Join("..", "..")
	for _, dir := range []string{"shared", "functions", "infra"} {
		err := filepath.WalkDir(filepath.Join(root, dir), func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return err
			}
			src, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			if filepath.Base(filepath.Dir(path)) == "account" {
				for _, m := range constant.FindAllStringSubmatch(string(src), -1) {
					found[m[1]] = path
				}
			}
			for _, m := range literal.FindAllStringSubmatch(string(src), -1) {
				found[m[1]] = path
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(found) < 15 {
		t.Fatalf("found only %d codes; the scan is broken", len(found))
	}
	for code, where := range found {
		if _, ok := Lookup(code); !ok {
			t.Errorf("%s (used in %s) is not in the table", code, where)
		}
	}
}

func TestSiteErrorsJSIsGenerated(t *testing.T) {
	got, err := os.ReadFile(filepath.Join("..", "..", "site", "errors.js"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, JS()) {
		t.Fatal("site/errors.js is out of date: run go generate ./shared/errcode")
	}
}

func TestStatusAndMessage(t *testing.T) {
	if Status("login_id_taken") != 409 || Status("no_such_code") != 400 {
		t.Fatal("status")
	}
	if Message("rate_limited", "en") != "Too many attempts. Please wait and try again." || !strings.Contains(Message("rate_limited", "ja"), "試行回数") {
		t.Fatal("message")
	}
}
