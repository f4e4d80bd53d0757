package build

import (
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
