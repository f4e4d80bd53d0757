package main

import (
	"fmt"
	"io/fs"
	"net/http"
	"strings"
	"sync/atomic"

	sitebuild "github.com/kagiya/kagiya/site/build"
)

// builtSite serves the site as built (site/build) and names its build for the API's
// answers. A test may put another build in its place (options.siteSwap): its pages
// replace the old ones, and the old build's assets stay, as the deploy leaves them in the
// site bucket.
type builtSite struct {
	cur atomic.Pointer[siteVersion]
}

type siteVersion struct {
	files   []sitebuild.File
	handler http.Handler
	id      string
}

func newBuiltSite(src fs.FS) (*builtSite, error) {
	s := &builtSite{}
	return s, s.swap(src)
}

// swap builds src and serves it from now on.
func (s *builtSite) swap(src fs.FS) error {
	files, err := sitebuild.Site(src)
	if err != nil {
		return fmt.Errorf("site: %w", err)
	}
	v := &siteVersion{files: files, id: sitebuild.ID(files)}
	if old := s.cur.Load(); old != nil {
		have := map[string]bool{}
		for _, f := range files {
			have[f.Name] = true
		}
		for _, f := range old.files {
			if !have[f.Name] && !strings.HasSuffix(f.Name, ".html") {
				v.files = append(v.files, f)
			}
		}
	}
	v.handler = sitebuild.Handler(v.files)
	s.cur.Store(v)
	return nil
}

func (s *builtSite) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.cur.Load().handler.ServeHTTP(w, r)
}

// ID is the build served now.
func (s *builtSite) ID() string { return s.cur.Load().id }
