// Package mail renders Kagiya's emails (ja/en, text and HTML) and keeps the local
// server's mailbox. SES delivery lives in mail/sesmail.
package mail

import (
	"bytes"
	"context"
	"embed"
	"fmt"
	htmltemplate "html/template"
	"strings"
	"sync"
	texttemplate "text/template"
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
// templates/<kind>.<lang>.txt whose first line is the subject, and <kind>.<lang>.html.
type Templates struct {
	text *texttemplate.Template
	html *htmltemplate.Template
}

// LoadTemplates parses the embedded templates.
func LoadTemplates() (*Templates, error) {
	t, err := texttemplate.ParseFS(templateFS, "templates/*.txt")
	if err != nil {
		return nil, fmt.Errorf("mail text templates: %w", err)
	}
	h, err := htmltemplate.ParseFS(templateFS, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("mail html templates: %w", err)
	}
	return &Templates{text: t, html: h}, nil
}

// Render builds the message of kind in lang ("ja" or "en") for to, filled from data.
func (t *Templates) Render(kind, lang string, to string, data any) (Message, error) {
	if lang != "en" {
		lang = "ja"
	}
	var text, html bytes.Buffer
	if err := t.text.ExecuteTemplate(&text, kind+"."+lang+".txt", data); err != nil {
		return Message{}, fmt.Errorf("render %s.%s text: %w", kind, lang, err)
	}
	if err := t.html.ExecuteTemplate(&html, kind+"."+lang+".html", data); err != nil {
		return Message{}, fmt.Errorf("render %s.%s html: %w", kind, lang, err)
	}
	subject, body, _ := strings.Cut(text.String(), "\n")
	return Message{To: []string{to}, Subject: strings.TrimSpace(subject), Text: strings.TrimLeft(body, "\n"), HTML: html.String()}, nil
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
