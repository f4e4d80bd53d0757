package site

import (
	"io/fs"
	"regexp"
	"strings"
	"testing"
)

// homeSection is the home page's section, as the sign-in page carries it too.
var homeSection = regexp.MustCompile(`(?s)<section class="card" id="home-section".*?</section>`)

// The sign-in page shows the home section in place once a sign-in ends (login.js): its
// copy is the home page's, but for the page title, which stays the sign-in's until then.
func TestSignInPageCarriesTheHomeSection(t *testing.T) {
	read := func(name string) string {
		b, err := Files.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	home, index := homeSection.FindString(read("home.html")), homeSection.FindString(read("index.html"))
	if home == "" || index == "" {
		t.Fatalf("home section missing: home.html %t, index.html %t", home != "", index != "")
	}
	if want := strings.Replace(home, ` data-i18n-title="home.title"`, "", 1); index != want {
		t.Fatalf("index.html's home section differs from home.html's:\n%s\n---\n%s", index, want)
	}
	for _, s := range []string{`<script src="shell.js" defer></script>`, `<script src="home.js" defer></script>`} {
		if !strings.Contains(read("index.html"), s) {
			t.Errorf("index.html does not load %s", s)
		}
	}
}

// A page's scripts start with kagiyaReady (lang.js), which waits for the page's words
// (a file of their own, loaded after the scripts): one that started at DOMContentLoaded
// could run before them and show keys.
func TestScriptsStartWhenTheWordsAreHere(t *testing.T) {
	names, err := fs.Glob(Files, "*.js")
	if err != nil || len(names) < 10 {
		t.Fatalf("%v %v", names, err)
	}
	for _, n := range names {
		b, err := Files.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		if n != "lang.js" && strings.Contains(string(b), "DOMContentLoaded") {
			t.Errorf("%s starts at DOMContentLoaded: use kagiyaReady", n)
		}
	}
}
