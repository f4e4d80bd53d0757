// Package build makes the site as it is served: every asset (CSS, JS, the icon) renamed
// with a hash of its content and every page's references rewritten, so an asset can be
// cached for a year and a deploy never mixes old and new files; pages are always checked
// again. The words (words.json, both languages) become one file a language, which the pages
// name in a <meta> for lang.js to load. The local server serves the result, and the deploy
// step uploads it.
package build

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"net/http"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"
)

// File is one file of the built site.
type File struct {
	Name         string // as served
	Body         []byte
	ContentType  string
	CacheControl string
}

// Cache-Control of the two kinds of file.
const (
	// HTML: fresh for a week, so a person who signs in every day or two asks the network
	// for nothing but the API call. A page holds no account data (that comes from
	// /api/me, no-store), so sign-out is not affected; its headers (the CSP) come with it
	// from the cache. A deploy reaches browsers through the API: every answer names the
	// site build, and a page of an older build reloads itself (site/api.js); the assets
	// an older page names stay in the bucket.
	PageCache  = "max-age=604800"
	AssetCache = "public, max-age=31536000, immutable" // hashed assets: never change
)

var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8", ".css": "text/css; charset=utf-8",
	".js": "text/javascript; charset=utf-8", ".svg": "image/svg+xml",
}

// script matches a page's script tags; blankLines what removing them leaves.
var (
	script     = regexp.MustCompile(`<script src="([a-z0-9_.-]+\.js)" defer></script>`)
	blankLines = regexp.MustCompile(`\n\s*\n`)
)

// reference matches src="x.js" and href="x.css" in a page.
var reference = regexp.MustCompile(`(src|href)="([a-z0-9_.-]+\.(?:js|css|svg))"`)

// WordsSource is the site's word table as people edit it: JSON, language → key → text.
// No page loads it: the build splits it by language.
const WordsSource = "words.json"

// Site builds the files of src (the site folder).
func Site(src fs.FS) ([]File, error) {
	names, err := fs.Glob(src, "*")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	hashed := map[string]string{}
	var out []File
	for _, n := range names {
		ext := path.Ext(n)
		if ext == ".html" || contentTypes[ext] == "" || n == WordsSource {
			continue
		}
		body, err := fs.ReadFile(src, n)
		if err != nil {
			return nil, err
		}
		name := hashedName(strings.TrimSuffix(n, ext), ext, body)
		hashed[n] = name
		out = append(out, File{Name: name, Body: body, ContentType: contentTypes[ext], CacheControl: AssetCache})
	}
	wordFiles, wordMetas, err := words(src)
	if err != nil {
		return nil, err
	}
	out = append(out, wordFiles...)
	bundles := map[string]string{} // the scripts of a page, joined → their bundle's name
	for _, n := range names {
		if path.Ext(n) != ".html" {
			continue
		}
		body, err := fs.ReadFile(src, n)
		if err != nil {
			return nil, err
		}
		// A page's scripts (all defer, run in order) become one file: fewer requests on a
		// cold load. Pages with the same scripts share their bundle.
		var scripts []string
		for _, m := range script.FindAllSubmatch(body, -1) {
			scripts = append(scripts, string(m[1]))
		}
		if len(scripts) > 1 {
			key := strings.Join(scripts, " ")
			name, ok := bundles[key]
			if !ok {
				var joined []byte
				for _, sc := range scripts {
					js, err := fs.ReadFile(src, sc)
					if err != nil {
						return nil, fmt.Errorf("%s: %w", n, err)
					}
					joined = append(append(append(joined, "// "+sc+"\n"...), js...), '\n')
				}
				name = hashedName("bundle", ".js", joined)
				bundles[key] = name
				out = append(out, File{Name: name, Body: joined, ContentType: contentTypes[".js"], CacheControl: AssetCache})
			}
			first := true
			body = script.ReplaceAllFunc(body, func([]byte) []byte {
				if first {
					first = false
					return []byte(`<script src="` + name + `" defer></script>`)
				}
				return nil
			})
			body = blankLines.ReplaceAll(body, []byte("\n"))
		}
		var missing []string
		body = reference.ReplaceAllFunc(body, func(m []byte) []byte {
			sub := reference.FindSubmatch(m)
			if strings.HasPrefix(string(sub[2]), "bundle.") {
				return m
			}
			h, ok := hashed[string(sub[2])]
			if !ok {
				missing = append(missing, string(sub[2]))
				return m
			}
			return []byte(string(sub[1]) + `="` + h + `"`)
		})
		if len(missing) > 0 {
			return nil, fmt.Errorf("%s refers to %v, which the site does not have", n, missing)
		}
		if len(wordMetas) > 0 {
			head := bytes.Index(body, []byte("</head>"))
			if head < 0 {
				return nil, fmt.Errorf("%s has no </head> for its words", n)
			}
			body = slices.Concat(body[:head], wordMetas, body[head:])
		}
		out = append(out, File{Name: n, Body: body, ContentType: contentTypes[".html"], CacheControl: PageCache})
	}
	// The build's ID, a hash of every file as built, goes into every page, where the
	// pages' script compares it with the API's (api.js; the API names the build it was
	// deployed with).
	sum := sha256.New()
	for _, f := range out {
		fmt.Fprintf(sum, "%s %d\n", f.Name, len(f.Body))
		sum.Write(f.Body)
	}
	id := hex.EncodeToString(sum.Sum(nil))[:12]
	for i, f := range out {
		if head := bytes.Index(f.Body, []byte("</head>")); head >= 0 && f.ContentType == contentTypes[".html"] {
			out[i].Body = slices.Concat(f.Body[:head], []byte(`<meta name="kagiya-build" content="`+id+"\">\n"), f.Body[head:])
		}
	}
	return out, nil
}

// buildMeta is the <meta> that names a page's build.
var buildMeta = regexp.MustCompile(`<meta name="kagiya-build" content="([0-9a-f]+)">`)

// ID is the build's ID, as its pages name it ("" for a site without pages).
func ID(files []File) string {
	for _, f := range files {
		if m := buildMeta.FindSubmatch(f.Body); m != nil && f.ContentType == contentTypes[".html"] {
			return string(m[1])
		}
	}
	return ""
}

// hashedName is base.<the first 10 hex digits of body's SHA-256>ext.
func hashedName(base, ext string, body []byte) string {
	sum := sha256.Sum256(body)
	return base + "." + hex.EncodeToString(sum[:])[:10] + ext
}

// words evaluates the word table of src (WordsSource), as a browser would, and returns a
// file of each language's words (words-ja.<hash>.js, ...), which fills KAGIYA_STRINGS[lang]
// (declared by lang.js), and the <meta> lines that name them to a page. A site without the
// table has neither.
func words(src fs.FS) (files []File, metas []byte, err error) {
	js, err := fs.ReadFile(src, WordsSource)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, nil
	} else if err != nil {
		return nil, nil, err
	}
	var table map[string]map[string]string
	if err := json.Unmarshal(js, &table); err != nil {
		return nil, nil, fmt.Errorf("words: %s is not language → key → text: %w", WordsSource, err)
	}
	for _, lang := range slices.Sorted(maps.Keys(table)) {
		if !language.MatchString(lang) {
			return nil, nil, fmt.Errorf("words: %q is not a language code", lang)
		}
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false) // a script, not HTML: "<" as it is
		if err := enc.Encode(table[lang]); err != nil {
			return nil, nil, err
		}
		body := slices.Concat([]byte("\"use strict\";\nKAGIYA_STRINGS."+lang+" = "), bytes.TrimSpace(b.Bytes()), []byte(";\n"))
		f := File{Name: hashedName("words-"+lang, ".js", body), Body: body, ContentType: contentTypes[".js"], CacheControl: AssetCache}
		files = append(files, f)
		metas = fmt.Appendf(metas, "<meta name=\"kagiya-words-%s\" content=\"%s\">\n", lang, f.Name)
	}
	return files, metas, nil
}

var language = regexp.MustCompile(`^[a-z]{2}$`)

// Handler serves built files with their types and caching; "/" is index.html, and
// anything else is 404.
func Handler(files []File) http.Handler {
	byPath := map[string]File{}
	for _, f := range files {
		byPath["/"+f.Name] = f
	}
	byPath["/"] = byPath["/index.html"]
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, ok := byPath[r.URL.Path]
		if !ok || r.Method != http.MethodGet && r.Method != http.MethodHead {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", f.ContentType)
		w.Header().Set("Cache-Control", f.CacheControl)
		http.ServeContent(w, r, f.Name, time.Time{}, bytes.NewReader(f.Body))
	})
}
