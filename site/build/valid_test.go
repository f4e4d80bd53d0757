package build

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"

	"golang.org/x/net/html"

	"github.com/kagiya/kagiya/site"
)

// void elements have no end tag (HTML's list; the pages use no other).
var void = map[string]bool{
	"area": true, "base": true, "br": true, "col": true, "embed": true, "hr": true, "img": true,
	"input": true, "link": true, "meta": true, "source": true, "track": true, "wbr": true,
}

// labelable elements are those a <label for> may name.
var labelable = map[string]bool{
	"button": true, "input": true, "meter": true, "output": true, "progress": true, "select": true, "textarea": true,
}

// markupProblems lists what is wrong with a page's markup, each with its line: an
// element left open or closed out of order, an end tag with nothing to close, a form
// inside a form, an id used twice, a <label for> that names no control. Every non-void
// element must be closed explicitly: the pages never lean on HTML's optional end tags
// (</li>, </p>, </body>…), so an omitted one is a mistake here. A browser repairs all of
// these silently, and not as the page meant: a lost </form> makes the next form part of
// this one.
func markupProblems(page []byte) []string {
	type open struct {
		tag  string
		line int
	}
	var (
		problems []string
		stack    []open
		ids      = map[string]int{}    // id → line
		tags     = map[string]string{} // id → its element
		hidden   = map[string]bool{}   // id → whether it is an <input type=hidden>
		labels   []open                // the for of each label, and its line
		line     = 1
	)
	report := func(at int, format string, args ...any) {
		problems = append(problems, fmt.Sprintf("line %d: ", at)+fmt.Sprintf(format, args...))
	}
	z := html.NewTokenizer(bytes.NewReader(page))
	for {
		tt := z.Next()
		at := line
		line += bytes.Count(z.Raw(), []byte("\n"))
		if tt == html.ErrorToken {
			if err := z.Err(); !errors.Is(err, io.EOF) {
				report(at, "%v", err)
			}
			break
		}
		if tt != html.StartTagToken && tt != html.SelfClosingTagToken && tt != html.EndTagToken {
			continue
		}
		tok := z.Token()
		name := tok.Data
		if tt == html.EndTagToken {
			if void[name] {
				report(at, "</%s>: %s has no end tag", name, name)
				continue
			}
			i := len(stack) - 1
			for i >= 0 && stack[i].tag != name {
				i--
			}
			if i < 0 {
				report(at, "</%s> closes nothing", name)
				continue
			}
			for _, o := range stack[i+1:] {
				report(at, "</%s> closes <%s> (line %d) while <%s> (line %d) is still open", name, name, stack[i].line, o.tag, o.line)
			}
			stack = stack[:i]
			continue
		}
		var id, inputType string
		for _, a := range tok.Attr {
			switch {
			case a.Key == "id":
				id = a.Val
			case a.Key == "type":
				inputType = strings.ToLower(a.Val)
			case a.Key == "for" && name == "label":
				labels = append(labels, open{a.Val, at})
			}
		}
		if id != "" {
			if first, ok := ids[id]; ok {
				report(at, "id %q again (first on line %d)", id, first)
			} else {
				ids[id], tags[id] = at, name
				hidden[id] = name == "input" && inputType == "hidden"
			}
		}
		if void[name] {
			continue
		}
		if tt == html.SelfClosingTagToken {
			report(at, "<%s/>: only void elements close themselves; this one stays open", name)
			continue
		}
		if name == "form" {
			for _, o := range stack {
				if o.tag == "form" {
					report(at, "<form> inside the <form> of line %d", o.line)
				}
			}
		}
		stack = append(stack, open{name, at})
	}
	for _, o := range stack {
		report(o.line, "<%s> is never closed", o.tag)
	}
	for _, l := range labels {
		switch el := tags[l.tag]; {
		case el == "":
			report(l.line, "<label for=%q>: no element has that id", l.tag)
		case !labelable[el] || hidden[l.tag]:
			report(l.line, "<label for=%q>: names a <%s>, which is not a form control", l.tag, el)
		}
	}
	return problems
}

// checkPages reports the problems of every page (every .html file, in any folder).
func checkPages(t *testing.T, files fs.FS) {
	t.Helper()
	pages := 0
	err := fs.WalkDir(files, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || path.Ext(p) != ".html" {
			return err
		}
		pages++
		body, err := fs.ReadFile(files, p)
		if err != nil {
			return err
		}
		for _, problem := range markupProblems(body) {
			t.Errorf("%s %s", p, problem)
		}
		return nil
	})
	if err != nil || pages == 0 {
		t.Fatalf("%d pages: %v", pages, err)
	}
}

// Every page of the site, as written and as built, is well-formed HTML.
func TestEveryPageIsWellFormed(t *testing.T) {
	t.Run("source", func(t *testing.T) { checkPages(t, site.Files) })
	t.Run("built", func(t *testing.T) {
		files, err := Site(site.Files)
		if err != nil {
			t.Fatal(err)
		}
		built := fstest.MapFS{}
		for _, f := range files {
			built[f.Name] = &fstest.MapFile{Data: f.Body}
		}
		checkPages(t, built)
	})
}

// The checker itself: each kind of mistake is found, on its line, and a page without
// one passes. First the mistake it is here for: the merge that dropped the
// confirmation-password form's </form></section> from security.html, so that the
// browser made the passkey form part of it (TestBrowserPasskeys timed out).
func TestMarkupProblemsAreFound(t *testing.T) {
	security, err := fs.ReadFile(site.Files, "security.html")
	if err != nil {
		t.Fatal(err)
	}
	beforePasskeys := regexp.MustCompile(`</form>\s*</section>(\s*<section class="card" id="passkeys")`)
	if !beforePasskeys.Match(security) {
		t.Fatal("security.html no longer closes a form and a section before the passkeys section: update this case")
	}
	merged := markupProblems(beforePasskeys.ReplaceAll(security, []byte("$1")))
	if len(merged) == 0 || !strings.Contains(merged[0], "<form> inside the <form>") {
		t.Errorf("security.html without the </form></section>: got %q, want first a form inside a form", merged)
	}
	for _, c := range []struct {
		name, page string
		want       []string // a part of each problem, in order
	}{
		{"well-formed", "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>t</title></head>\n<body><form><label for=\"a\">A</label><input id=\"a\"><br></form></body></html>\n", nil},
		{"unclosed", "<div>\n<p>text\n</div>", []string{"line 3: </div> closes <div> (line 1) while <p> (line 2) is still open"}},
		{"mis-nested", "<b><i>x</b></i>", []string{"</b> closes <b> (line 1) while <i>", "</i> closes nothing"}},
		{"stray end tag", "<p>x</p>\n</span>", []string{"line 2: </span> closes nothing"}},
		{"end tag of a void element", "<p>x<br></br></p>", []string{"</br>: br has no end tag"}},
		{"self-closed div", "<div/>", []string{"<div/>: only void elements"}},
		{"duplicate id", "<p id=\"x\">a</p>\n<p id=\"x\">b</p>", []string{`line 2: id "x" again (first on line 1)`}},
		{"label for nothing", `<label for="gone">x</label><input id="here">`, []string{`<label for="gone">: no element has that id`}},
		{"label for a paragraph", `<label for="p">x</label><p id="p">y</p>`, []string{`<label for="p">: names a <p>`}},
		{"label for a hidden input", `<label for="h">x</label><input type="hidden" id="h">`, []string{`<label for="h">: names a <input>`}},
	} {
		got := markupProblems([]byte(c.page))
		ok := len(got) == len(c.want)
		for i := 0; ok && i < len(got); i++ {
			ok = strings.Contains(got[i], c.want[i])
		}
		if !ok {
			t.Errorf("%s: got %q, want problems containing %q", c.name, got, c.want)
		}
	}
}
