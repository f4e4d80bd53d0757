// Package site embeds the static site (HTML, CSS, JS; ja and en) so the local server can
// serve it; in AWS the same files are uploaded to the site bucket.
package site

import "embed"

// Files holds the site, rooted at the site's own folder.
//
//go:embed *.html *.css *.js *.svg words.json
var Files embed.FS
