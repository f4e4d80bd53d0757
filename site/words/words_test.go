// Package words holds the test that the site has words for every field and field code
// the API can answer (issue: the site never shows a code or a field name).
package words

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/kagiya/kagiya/shared/policy"
)

var (
	literal   = regexp.MustCompile(`FieldError\{"([a-z_]+)", "([a-z_]+)"\}`)
	named     = regexp.MustCompile(`FieldError\{Field: "([a-z_]+)", Code: "([a-z_]+)"\}`)
	indexed   = regexp.MustCompile(`FieldError\{fmt\.Sprintf\("([a-z_]+)\[%d\]", i\), "([a-z_]+)"\}`)
	rangeOf   = regexp.MustCompile(`check\("([a-z_]+)", `)
	i18nEntry = regexp.MustCompile(`"((?:field|code)\.[a-z_]+)":`)
)

// TestEveryFieldAndCodeHasWords scans the server's code for the fields and codes of its
// validation errors (and the password rules' codes) and fails on one that site/words.json
// has no Japanese and English words for.
func TestEveryFieldAndCodeHasWords(t *testing.T) {
	js, err := os.ReadFile("../words.json")
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]int{}
	for _, m := range i18nEntry.FindAllStringSubmatch(string(js), -1) {
		have[m[1]]++
	}
	need := map[string]string{} // key → where it comes from
	add := func(key, from string) {
		if _, ok := need[key]; !ok {
			need[key] = from
		}
	}
	err = filepath.WalkDir("../../shared", func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, re := range []*regexp.Regexp{literal, named, indexed} {
			for _, m := range re.FindAllStringSubmatch(string(src), -1) {
				add("field."+m[1], path)
				add("code."+m[2], path)
			}
		}
		for _, m := range rangeOf.FindAllStringSubmatch(string(src), -1) {
			add("field."+m[1], path)
			add("code.out_of_range", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Codes made at run time: the password rules, the comment's and the domains' checks,
	// a JSON value of the wrong type.
	for _, name := range []string{"standard12", "basic8", "classes3of4", "legacy3to30", "nist"} {
		p, ok := policy.Get(name)
		if !ok {
			t.Fatalf("preset %s", name)
		}
		for _, r := range p.Describe("ja", false, 5) {
			add("code."+r.Code, "policy "+name)
		}
	}
	for _, c := range []string{"same_as_current", "reused", "common", "too_long", "invalid", "too_many", "type", "not_found", "forbidden"} {
		add("code."+c, "run time")
	}
	if len(need) < 40 {
		t.Fatalf("found only %d fields and codes: the scan is broken", len(need))
	}
	for key, from := range need {
		if have[key] < 2 {
			t.Errorf("%s (from %s) has no words in both languages in site/words.json", key, from)
		}
	}
}
