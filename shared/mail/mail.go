// Package mail renders Kagiya's emails (ja/en, text and HTML) and keeps the local
// server's mailbox. SES delivery lives in mail/sesmail.
package mail

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
	"sync"
	"time"
)

// Message is one email, ready to send.
type Message struct {
	To      []string  `json:"to"`
	Subject string    `json:"subject"`
	Text    string    `json:"text"`
	HTML    string    `json:"html"`
	SentAt  time.Time `json:"sent_at"`
}

//go:embed templates
var templateFS embed.FS

// Templates renders the emails. Each kind has, per language, a file
// templates/<kind>.<lang>.txt whose first line is the subject, and <kind>.<lang>.html
// (the template language: render.go).
type Templates struct {
	byName map[string]*tmpl
	strict bool // a field the data lacks is an error, not an empty place
}

// Strict returns templates whose Render fails when the data lacks a field the message
// prints: for tests and the local server, so that a caller that forgets one is caught.
// Otherwise (in AWS) the message goes out with the place empty.
func (t *Templates) Strict() *Templates {
	c := *t
	c.strict = true
	return &c
}

// LoadTemplates parses the embedded templates.
func LoadTemplates() (*Templates, error) {
	names, err := fs.Glob(templateFS, "templates/*.*")
	if err != nil {
		return nil, fmt.Errorf("mail templates: %w", err)
	}
	t := &Templates{byName: map[string]*tmpl{}}
	for _, name := range names {
		src, err := templateFS.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("mail templates: %w", err)
		}
		base := path.Base(name)
		if t.byName[base], err = parseTemplate(base, string(src), path.Ext(base) == ".html"); err != nil {
			return nil, fmt.Errorf("mail templates: %w", err)
		}
	}
	return t, nil
}

// Render builds the message of kind in lang ("ja" or "en") for to, filled from data.
func (t *Templates) Render(kind, lang string, to string, data any) (Message, error) {
	if lang != "en" {
		lang = "ja"
	}
	text, html := t.byName[kind+"."+lang+".txt"], t.byName[kind+"."+lang+".html"]
	if text == nil || html == nil {
		return Message{}, fmt.Errorf("no email template %s.%s", kind, lang)
	}
	var tb, hb strings.Builder
	missing := append(text.execute(&tb, data), html.execute(&hb, data)...)
	slices.Sort(missing)
	if missing = slices.Compact(missing); t.strict && len(missing) > 0 {
		return Message{}, fmt.Errorf("render %s.%s: no value for %s", kind, lang, strings.Join(missing, ", "))
	}
	subject, body, _ := strings.Cut(tb.String(), "\n")
	return Message{To: []string{to}, Subject: strings.TrimSpace(subject), Text: strings.TrimLeft(body, "\n"), HTML: hb.String()}, nil
}

// Mailbox is the local server's stand-in for SES: it keeps every message, in order.
type Mailbox struct {
	mu   sync.Mutex
	msgs []Message
	now  func() time.Time
}

// NewMailbox returns an empty mailbox stamped by now.
func NewMailbox(now func() time.Time) *Mailbox { return &Mailbox{now: now} }

// Send stores m.
func (b *Mailbox) Send(_ context.Context, m Message) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	m.SentAt = b.now().UTC()
	b.msgs = append(b.msgs, m)
	return nil
}

// Messages returns the messages sent so far, oldest first; to (if not empty) keeps only
// those addressed to it, compared case-insensitively.
func (b *Mailbox) Messages(to string) []Message {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := []Message{}
	for _, m := range b.msgs {
		if to == "" || containsFold(m.To, to) {
			out = append(out, m)
		}
	}
	return out
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}
