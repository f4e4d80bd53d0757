package build

import (
	"encoding/json"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/kagiya/kagiya/site"
)

func TestEveryAssetIsHashedAndEveryReferenceRewritten(t *testing.T) {
	files, err := Site(site.Files)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]File{}
	for _, f := range files {
		byName[f.Name] = f
	}
	index, ok := byName["index.html"]
	if !ok || index.CacheControl != PageCache {
		t.Fatalf("index.html: %+v", index.Name)
	}
	for _, f := range files {
		if strings.HasSuffix(f.Name, ".html") {
			for _, m := range reference.FindAllStringSubmatch(string(f.Body), -1) {
				a, ok := byName[m[2]]
				if !ok || a.CacheControl != AssetCache {
					t.Errorf("%s refers to %s, which is not a built asset", f.Name, m[2])
				}
			}
			continue
		}
		if !strings.Contains(f.Name, ".") || f.CacheControl != AssetCache {
			t.Errorf("%s: %s", f.Name, f.CacheControl)
		}
	}
	if !strings.Contains(string(index.Body), `rel="icon" href="favicon.`) {
		t.Error("no icon")
	}
	if n := strings.Count(string(index.Body), "<script"); n != 1 {
		t.Errorf("index.html loads %d scripts, want one bundle", n)
	}
}

func TestAChangedAssetGetsANewName(t *testing.T) {
	page := &fstest.MapFile{Data: []byte(`<script src="a.js" defer></script>`)}
	one, _ := Site(fstest.MapFS{"index.html": page, "a.js": {Data: []byte("1")}})
	two, _ := Site(fstest.MapFS{"index.html": page, "a.js": {Data: []byte("2")}})
	if one[0].Name == two[0].Name || string(one[1].Body) == string(two[1].Body) || !strings.Contains(string(one[1].Body), one[0].Name) {
		t.Fatalf("%s / %s", one[0].Name, two[0].Name)
	}
	if _, err := Site(fstest.MapFS{"index.html": {Data: []byte(`<script src="gone.js"></script>`)}}); err == nil {
		t.Fatal("a page referring to a missing asset was built")
	}
}

// Each page names its words, one file a language, and carries neither language's words
// itself; each words file holds its language alone, as lang.js expects it.
func TestPagesLoadOnlyTheirLanguagesWords(t *testing.T) {
	files, err := Site(site.Files)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]File{}
	for _, f := range files {
		byName[f.Name] = f
	}
	// A sentence of each language, which only the word table has.
	ja, en := "この組織では2段階認証が必須です。設定するとログインが完了します。", "Your organization requires two-step verification. Set it up to finish signing in."
	pages := 0
	for _, f := range files {
		if !strings.HasSuffix(f.Name, ".html") {
			continue
		}
		pages++
		langs := map[string]string{}
		for _, m := range wordsMeta.FindAllStringSubmatch(string(f.Body), -1) {
			langs[m[1]] = m[2]
		}
		if len(langs) != 2 || byName[langs["ja"]].CacheControl != AssetCache || byName[langs["en"]].CacheControl != AssetCache {
			t.Errorf("%s names its words as %v", f.Name, langs)
		}
		for _, m := range reference.FindAllStringSubmatch(string(f.Body), -1) {
			if body := string(byName[m[2]].Body); strings.Contains(body, ja) || strings.Contains(body, en) {
				t.Errorf("%s loads %s, which carries the words", f.Name, m[2])
			}
		}
	}
	if pages < 10 {
		t.Fatalf("%d pages", pages)
	}
	for lang, want := range map[string]string{"ja": ja, "en": en} {
		var file File
		for _, f := range files {
			if strings.HasPrefix(f.Name, "words-"+lang+".") {
				file = f
			}
		}
		// The file is one statement: this language's words, as JSON (a JavaScript value),
		// put in the table lang.js declares.
		head := "\"use strict\";\nKAGIYA_STRINGS." + lang + " = "
		body, ok := strings.CutPrefix(string(file.Body), head)
		body, ok2 := strings.CutSuffix(body, ";\n")
		var words map[string]string
		if !ok || !ok2 || json.Unmarshal([]byte(body), &words) != nil {
			t.Fatalf("%s is not one assignment of %s's words: %.80q", file.Name, lang, file.Body)
		}
		if got := words["mfa.enrol_required"]; got != want {
			t.Errorf("%s: mfa.enrol_required is %q", file.Name, got)
		}
	}
}

// Every page names the build, and any change to the site makes another.
func TestEveryPageNamesItsBuild(t *testing.T) {
	site := func(css string) []File {
		files, err := Site(fstest.MapFS{
			"index.html": {Data: []byte(`<head><link rel="stylesheet" href="a.css"></head>`)},
			"home.html":  {Data: []byte(`<head></head>`)},
			"a.css":      {Data: []byte(css)},
		})
		if err != nil {
			t.Fatal(err)
		}
		return files
	}
	one, two := site("a{}"), site("b{}")
	id := ID(one)
	if len(id) != 12 || ID(two) == id || ID(site("a{}")) != id {
		t.Fatalf("IDs %q, %q", id, ID(two))
	}
	for _, f := range one {
		if strings.HasSuffix(f.Name, ".html") && !strings.Contains(string(f.Body), `<meta name="kagiya-build" content="`+id+`">`) {
			t.Errorf("%s: %s", f.Name, f.Body)
		}
	}
}
