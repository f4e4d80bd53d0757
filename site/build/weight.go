package build

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// Weight is what a cold load of one page in one language fetches from the site: the page
// and every file it names (stylesheet, icon, scripts) and its language's words, each
// counted as CloudFront sends it, compressed with gzip -6. API calls are not counted.
type Weight struct {
	Page, Lang string // Lang "": the page is the same in every language
	Requests   int
	Bytes      int // gzip -6, summed over the requests
}

// wordsMeta matches the <meta> naming a language's words file (see words).
var wordsMeta = regexp.MustCompile(`<meta name="kagiya-words-([a-z]{2})" content="([^"]+)">`)

// Weights measures every page of a built site, in each language it has words for.
func Weights(files []File) ([]Weight, error) {
	byName := map[string]File{}
	for _, f := range files {
		byName[f.Name] = f
	}
	gz := map[string]int{}
	size := func(name string) (int, error) {
		if n, ok := gz[name]; ok {
			return n, nil
		}
		f, ok := byName[name]
		if !ok {
			return 0, fmt.Errorf("%s is not in the site", name)
		}
		var b bytes.Buffer
		w, err := gzip.NewWriterLevel(&b, 6)
		if err != nil {
			return 0, err
		}
		if _, err := w.Write(f.Body); err != nil {
			return 0, err
		}
		if err := w.Close(); err != nil {
			return 0, err
		}
		gz[name] = b.Len()
		return b.Len(), nil
	}
	var out []Weight
	for _, f := range files {
		if !strings.HasSuffix(f.Name, ".html") {
			continue
		}
		names := []string{f.Name}
		for _, m := range reference.FindAllStringSubmatch(string(f.Body), -1) {
			names = append(names, m[2])
		}
		langs := map[string]string{"": ""} // language → its words file
		if ms := wordsMeta.FindAllStringSubmatch(string(f.Body), -1); len(ms) > 0 {
			langs = map[string]string{}
			for _, m := range ms {
				langs[m[1]] = m[2]
			}
		}
		for lang, wordsFile := range langs {
			w := Weight{Page: f.Name, Lang: lang}
			load := names
			if wordsFile != "" {
				load = append(names[:len(names):len(names)], wordsFile)
			}
			for _, n := range load {
				b, err := size(n)
				if err != nil {
					return nil, fmt.Errorf("%s: %w", f.Name, err)
				}
				w.Requests++
				w.Bytes += b
			}
			out = append(out, w)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Page != out[j].Page {
			return out[i].Page < out[j].Page
		}
		return out[i].Lang < out[j].Lang
	})
	return out, nil
}
