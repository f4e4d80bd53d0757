// Package mail renders Kagiya's emails (ja/en, text and HTML) and keeps the local
// server's mailbox. SES delivery lives in mail/sesmail.
package mail

import (
	"context"
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
	// Meta is what the message is about, for the outbox's audit and counts; it is
	// never sent, nor shown by the dev mailbox.
	Meta Meta `json:"-"`
}

// Meta says what a message is about: its kind and the account it concerns, never its
// address or links.
type Meta struct {
	Kind      string `json:"kind"`                 // the kind of email: lock_notice, password_reset, ...
	TenantID  string `json:"tenant_id,omitempty"`  // the account's tenant
	AccountID string `json:"account_id,omitempty"` // the account it goes to
	LoginID   string `json:"login_id,omitempty"`   // that account's login ID, the audit's target
	// BulkJob is the bulk job whose "password changed" notice this is: its delivery
	// counts in the job's notified.
	BulkJob string `json:"bulk_job,omitempty"`
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
