package words

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/kagiya/kagiya/shared/errcode"
	"github.com/kagiya/kagiya/shared/policy"
)

// term is a row of docs/glossary.md: the words to use and the words to avoid.
type term struct {
	use, avoidJa, avoidEn []string
	reserved              bool // not shown yet (予約語)
}

// glossary reads the table of docs/glossary.md.
func glossary(t *testing.T) []term {
	t.Helper()
	md, err := os.ReadFile("../../docs/glossary.md")
	if err != nil {
		t.Fatal(err)
	}
	split := func(cell string) []string {
		var out []string
		for _, w := range regexp.MustCompile(`[、,]`).Split(cell, -1) {
			if w = strings.TrimSpace(w); w != "" {
				out = append(out, w)
			}
		}
		return out
	}
	var terms []term
	inTable := false
	for _, line := range strings.Split(string(md), "\n") {
		if !strings.HasPrefix(line, "|") {
			inTable = false
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		if strings.TrimSpace(cells[0]) == "使う" {
			inTable = true
			continue
		}
		if !inTable || strings.HasPrefix(strings.TrimSpace(cells[0]), "---") || len(cells) < 5 {
			continue
		}
		terms = append(terms, term{use: split(cells[0]), avoidJa: split(cells[2]), avoidEn: split(cells[3]),
			reserved: strings.HasPrefix(strings.TrimSpace(cells[4]), "予約語")})
	}
	if len(terms) < 5 {
		t.Fatalf("docs/glossary.md: %d terms read: the table or its reading is broken", len(terms))
	}
	return terms
}

var (
	i18nValue = regexp.MustCompile(`"[a-z0-9_.]+":\s*"((?:[^"\\]|\\.)*)"`)
	htmlText  = regexp.MustCompile(`>([^<]+)<`)
	htmlAttr  = regexp.MustCompile(`(?:aria-label|title|alt|placeholder)="([^"]*)"`)
)

// siteTexts is every string a person can read: the site's word table and pages, the
// error table, the password rules of every preset and the emails, in both languages.
func siteTexts(t *testing.T) map[string][]string {
	t.Helper()
	texts := map[string][]string{}
	pages, err := filepath.Glob("../*.html")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range append(pages, "../words.json") {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		res := []*regexp.Regexp{htmlText, htmlAttr}
		if strings.HasSuffix(name, ".js") {
			res = []*regexp.Regexp{i18nValue}
		}
		for _, re := range res {
			for _, m := range re.FindAllStringSubmatch(string(b), -1) {
				texts[filepath.Base(name)] = append(texts[filepath.Base(name)], m[1])
			}
		}
	}
	for _, e := range errcode.All() {
		texts["error table"] = append(texts["error table"], e.Ja, e.En)
	}
	for _, name := range []string{"standard12", "basic8", "classes3of4", "legacy3to30", "nist"} {
		p, _ := policy.Get(name)
		for _, lang := range []string{"ja", "en"} {
			for _, r := range p.Describe(lang, false, 5) {
				texts["password rules"] = append(texts["password rules"], r.Text)
			}
		}
	}
	emails, err := filepath.Glob("../../shared/mail/templates/*.*")
	if err != nil || len(emails) == 0 {
		t.Fatalf("no email templates (%v)", err)
	}
	for _, name := range emails {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		// The words a reader sees: not the template's actions ({{.Tenant}}) or tags.
		text := templateAction.ReplaceAllString(string(b), " ")
		text = htmlTag.ReplaceAllString(text, " ")
		texts["email "+filepath.Base(name)] = append(texts["email "+filepath.Base(name)], strings.Split(text, "\n")...)
	}
	return texts
}

var (
	templateAction = regexp.MustCompile(`\{\{[^}]*\}\}`)
	htmlTag        = regexp.MustCompile(`<[^>]*>`)
)

// misuses lists where texts use a word the glossary says to avoid.
func misuses(terms []term, texts map[string][]string) []string {
	var out []string
	for where, list := range texts {
		for _, text := range list {
			for _, tm := range terms {
				for _, w := range tm.avoidJa {
					if strings.Contains(text, w) {
						out = append(out, where+": "+w+" in "+text)
					}
				}
				for _, w := range tm.avoidEn {
					if regexp.MustCompile(`(?i)\b` + regexp.QuoteMeta(w) + `\b`).MatchString(text) {
						out = append(out, where+": "+w+" in "+text)
					}
				}
			}
		}
	}
	return out
}

// TestPagesUseTheGlossary holds the site, the error table and the password rules to
// docs/glossary.md: no word of its "avoid" columns, each of its words in use, and its
// reserved words not yet.
func TestPagesUseTheGlossary(t *testing.T) {
	terms := glossary(t)
	texts := siteTexts(t)
	// The scan finds a misuse it is shown.
	if got := misuses(terms, map[string][]string{"probe": {"テナントの設定", "Tenant settings"}}); len(got) != 2 {
		t.Fatalf("the scan missed a misuse: %v", got)
	}
	for _, m := range misuses(terms, texts) {
		t.Error(m)
	}
	all := ""
	for _, list := range texts {
		all += strings.Join(list, "\n") + "\n"
	}
	for _, tm := range terms {
		for _, w := range tm.use {
			if tm.reserved {
				if strings.Contains(all, w) {
					t.Errorf("the reserved word %q is on the site", w)
				}
				continue
			}
			if !strings.Contains(all, w) {
				t.Errorf("the glossary's %q is used nowhere on the site", w)
			}
		}
	}
}
