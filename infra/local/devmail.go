package main

import (
	"context"
	"encoding/json"
	"html/template"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kagiya/kagiya/shared/mail"
)

// The local mailbox (docs/api.md: GET /_dev/mail): JSON for scripts and tests, and, for a
// browser (Accept: text/html), an inbox like the mail catchers developers know: newest
// first, each message as sent (text with its links clickable, and the HTML part in a
// sandboxed frame).

var inboxPage = template.Must(template.New("inbox").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{if .One}}{{.One.Subject}} - {{end}}Kagiya dev mailbox</title><link rel="stylesheet" href="/_dev/mail.css"></head>
<body><header><a href="/_dev/mail">Kagiya dev mailbox</a> <span>{{len .All}} messages · this server only</span></header><main>
{{if .One}}{{with .One}}
<h1>{{.Subject}}</h1>
<dl><dt>To</dt><dd>{{range .To}}{{.}} {{end}}</dd><dt>Sent</dt><dd><time datetime="{{.SentAt.Format "2006-01-02T15:04:05Z07:00"}}">{{.SentAt.Format "2006-01-02 15:04:05 MST"}}</time></dd></dl>
{{if .HTML}}<h2>HTML</h2><iframe sandbox title="the HTML part" src="/_dev/mail/{{$.N}}/html"></iframe>{{end}}
<h2>Text</h2><pre>{{$.Text}}</pre>
{{end}}{{else}}
<h1>Inbox</h1>
{{if not .All}}<p>No mail yet.</p>{{else}}<table><thead><tr><th scope="col">To</th><th scope="col">Subject</th><th scope="col">Sent</th></tr></thead><tbody>
{{range .All}}<tr><td>{{range .M.To}}{{.}} {{end}}</td><td><a href="/_dev/mail/{{.N}}">{{.M.Subject}}</a></td><td><time datetime="{{.M.SentAt.Format "2006-01-02T15:04:05Z07:00"}}">{{.M.SentAt.Format "2006-01-02 15:04:05"}}</time></td></tr>
{{end}}</tbody></table>{{end}}{{end}}
</main></body></html>`))

const inboxCSS = `body{font:15px/1.5 system-ui,sans-serif;margin:0;color:#1f2328}header{background:#24292f;color:#fff;padding:.6rem 1rem}
header a{color:#fff;font-weight:600}header span{color:#d0d7de;margin-left:1rem}main{padding:1rem;max-width:70rem}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.4rem;border-bottom:1px solid #d0d7de;overflow-wrap:anywhere}
iframe{width:100%;height:28rem;border:1px solid #d0d7de}pre{white-space:pre-wrap;background:#f6f8fa;padding:1rem}
dt{font-weight:600}a{color:#0550ae}`

var linkPattern = regexp.MustCompile(`https?://[^\s<>"]+`)

// linkify escapes text and makes its URLs links.
func linkify(text string) template.HTML {
	var b strings.Builder
	last := 0
	for _, m := range linkPattern.FindAllStringIndex(text, -1) {
		b.WriteString(template.HTMLEscapeString(text[last:m[0]]))
		u := text[m[0]:m[1]]
		b.WriteString(`<a href="` + template.HTMLEscapeString(u) + `">` + template.HTMLEscapeString(u) + `</a>`)
		last = m[1]
	}
	b.WriteString(template.HTMLEscapeString(text[last:]))
	return template.HTML(b.String()) //nolint:gosec // every piece is escaped above
}

func wantsHTML(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "text/html")
}

// devMail serves the mailbox (docs/api.md: GET /_dev/mail[?to=ADDRESS]) and its pages: the
// mail delivered so far. Mail goes out through the outbox; flush lets its worker try
// what is queued first (a send that failed and waits for its retry is not waited for),
// so a reader sees what the requests before it mailed.
func devMail(b *mail.Mailbox, flush func(context.Context) error) http.Handler {
	mux := http.NewServeMux()
	settled := func(h http.HandlerFunc) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
			flush(ctx) //nolint:errcheck // what was delivered by then is the answer
			cancel()
			h(w, r)
		}
	}
	page := func(w http.ResponseWriter, data any) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; frame-src 'self'; base-uri 'none'; form-action 'none'")
		inboxPage.Execute(w, data) //nolint:errcheck // the client went away
	}
	type entry struct {
		N int
		M mail.Message
	}
	mux.HandleFunc("GET /_dev/mail", settled(func(w http.ResponseWriter, r *http.Request) {
		msgs := b.Messages(r.URL.Query().Get("to"))
		if !wantsHTML(r) {
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			w.Header().Set("Cache-Control", "no-store")
			json.NewEncoder(w).Encode(msgs) //nolint:errcheck
			return
		}
		to := r.URL.Query().Get("to")
		var list []entry
		for i, m := range b.Messages("") {
			if to == "" || slices.ContainsFunc(m.To, func(a string) bool { return strings.EqualFold(a, to) }) {
				list = append(list, entry{i, m})
			}
		}
		slices.Reverse(list) // newest first
		page(w, map[string]any{"All": list})
	}))
	message := func(r *http.Request) (int, mail.Message, bool) {
		all := b.Messages("")
		n, err := strconv.Atoi(r.PathValue("n"))
		if err != nil || n < 0 || n >= len(all) {
			return 0, mail.Message{}, false
		}
		return n, all[n], true
	}
	mux.HandleFunc("GET /_dev/mail/{n}", func(w http.ResponseWriter, r *http.Request) {
		n, m, ok := message(r)
		if !ok {
			http.NotFound(w, r)
			return
		}
		page(w, map[string]any{"One": &m, "N": n, "Text": linkify(m.Text), "All": b.Messages("")})
	})
	mux.HandleFunc("GET /_dev/mail/{n}/html", func(w http.ResponseWriter, r *http.Request) {
		_, m, ok := message(r)
		if !ok {
			http.NotFound(w, r)
			return
		}
		// The email's own HTML, as sent: no script, nothing fetched, in a sandbox.
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Security-Policy", "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:")
		w.Write([]byte(m.HTML)) //nolint:errcheck
	})
	mux.HandleFunc("GET /_dev/mail.css", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
		w.Write([]byte(inboxCSS)) //nolint:errcheck
	})
	return mux
}
