// Package outbox makes every email durable: the flows' mailer (Outbox) only enqueues
// the rendered message, and a sender delivers it from the queue, retrying what failed
// until it is delivered or too old, auditing mail.sent or mail.failed. In AWS the queue
// is SQS and the sender a Lambda (the mailsender function); locally it is a bucket of
// the embedded store and a Worker.
package outbox

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/kagiya/kagiya/shared/account"
	"github.com/kagiya/kagiya/shared/mail"
)

// Item is one queued email: the message as rendered, what it is about, and when it was
// made. Its ID makes its delivery idempotent.
type Item struct {
	ID       string       `json:"id"`
	Message  mail.Message `json:"message"`
	Meta     mail.Meta    `json:"meta"` // Message.Meta, which Message's JSON leaves out
	Enqueued time.Time    `json:"enqueued"`
	// Attempts is how many sends failed so far; NotBefore is when the next may start
	// (the local queue's schedule; SQS keeps its own).
	Attempts  int       `json:"attempts,omitempty"`
	NotBefore time.Time `json:"not_before,omitempty"`
}

// MaxAge is how long a message is retried before it is given up (and, in AWS, dead-lettered).
const MaxAge = 24 * time.Hour

// Queue takes messages to deliver.
type Queue interface {
	EnqueueMail(ctx context.Context, it Item) error
}

// Outbox is the flows' mailer (account.Mailer): Send enqueues the message durably, and
// returns an error only when it could not be enqueued.
type Outbox struct {
	queue Queue
	now   func() time.Time
	wake  func() // tells a local worker that a message is waiting (nil: nobody to tell)
}

// New returns an outbox that enqueues to q; wake, if not nil, is called after each
// enqueue.
func New(q Queue, now func() time.Time, wake func()) *Outbox {
	return &Outbox{queue: q, now: now, wake: wake}
}

// Send enqueues m.
func (o *Outbox) Send(ctx context.Context, m mail.Message) error {
	id, err := newID()
	if err != nil {
		return err
	}
	now := o.now().UTC()
	it := Item{ID: id, Message: m, Meta: m.Meta, Enqueued: now, NotBefore: now}
	it.Message.Meta = mail.Meta{}
	if err := o.queue.EnqueueMail(ctx, it); err != nil {
		return fmt.Errorf("enqueue %s mail: %w", m.Meta.Kind, err)
	}
	if o.wake != nil {
		o.wake()
	}
	return nil
}

// newID is a message ID: 128 random bits, base32.
func newID() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("message id: %w", err)
	}
	return "msg_" + base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b), nil
}

// Sender delivers one message (SES in AWS, the dev mailbox locally).
type Sender interface {
	Send(ctx context.Context, m mail.Message) error
}

// AuditLog files the deliveries' events.
type AuditLog interface {
	AppendAudit(ctx context.Context, e account.AuditEvent) error
}

// JobCounter counts a bulk job's delivered notices.
type JobCounter interface {
	CountNotified(ctx context.Context, tenantID, jobID string) error
}

// Deliverer sends items and records what became of them.
type Deliverer struct {
	Sender Sender
	Audit  AuditLog
	Jobs   JobCounter // nil: bulk notices are not counted (no bulk jobs here)
	Now    func() time.Time
	Log    *slog.Logger
}

// Deliver sends it. On success it audits mail.sent and counts a bulk notice; the error
// of a failed send is returned (see Permanent) for the caller to retry or give up.
func (d *Deliverer) Deliver(ctx context.Context, it Item) error {
	m := it.Message
	m.Meta = it.Meta
	if err := d.Sender.Send(ctx, m); err != nil {
		return err
	}
	d.audit(ctx, it, "mail.sent", "ok:"+it.Meta.Kind)
	if it.Meta.BulkJob != "" && d.Jobs != nil {
		if err := d.Jobs.CountNotified(ctx, it.Meta.TenantID, it.Meta.BulkJob); err != nil {
			d.Log.ErrorContext(ctx, "bulk notice delivered but not counted", "job", it.Meta.BulkJob, "err", err)
		}
	}
	return nil
}

// GiveUp records that it will not be delivered: err was permanent, or it failed for
// longer than MaxAge.
func (d *Deliverer) GiveUp(ctx context.Context, it Item, err error) {
	d.Log.ErrorContext(ctx, "mail given up", "id", it.ID, "kind", it.Meta.Kind, "attempts", it.Attempts, "permanent", Permanent(err), "err", err)
	d.audit(ctx, it, "mail.failed", "failed:"+it.Meta.Kind)
}

// audit files one event about it under its account; the address and links stay out
// (the target is the account's login ID, as in every other event).
func (d *Deliverer) audit(ctx context.Context, it Item, action, result string) {
	e := account.AuditEvent{TenantID: it.Meta.TenantID, At: d.Now().UTC(), Actor: "system", Action: action,
		Target: it.Meta.LoginID, TargetID: it.Meta.AccountID, Result: result}
	d.Log.InfoContext(ctx, "audit", "tenant", e.TenantID, "actor", e.Actor, "action", e.Action, "target_id", e.TargetID, "result", e.Result)
	if e.TenantID == "" {
		return // the log keeps it
	}
	if err := d.Audit.AppendAudit(ctx, e); err != nil {
		d.Log.ErrorContext(ctx, "audit not stored", "err", err, "action", e.Action)
	}
}

// Permanent reports whether err says the message can never be sent as it is (a
// malformed address, a message SES rejects): retrying it is pointless. Anything else
// (throttling, a timeout, an outage) is retried.
func Permanent(err error) bool {
	var p interface{ Permanent() bool }
	return errors.As(err, &p) && p.Permanent()
}

// Claim is what ClaimMail found.
type Claim int

const (
	// Claimed: this sender holds the message until its lease ends; it sends it.
	Claimed Claim = iota
	// AlreadySent: the message was delivered before (a redelivered queue message).
	AlreadySent
	// Busy: another sender holds it now (its lease has not ended).
	Busy
)

// Marks make a delivery idempotent on the message ID (in AWS: a table item with a TTL).
// A sender claims the message before sending, for a lease longer than a send can take,
// and marks it sent after: a message redelivered by the queue (a retried Lambda, a
// batch item whose deletion failed) finds the mark and is not sent again. The one case
// that mails twice is a sender that stops after SES took the message and before the
// mark: its lease ends and the message is sent again. That is the choice: at least
// once, since a duplicate notice is harmless and a lost unlock or reset link is not.
type Marks interface {
	ClaimMail(ctx context.Context, id string, now, leaseUntil, expires time.Time) (Claim, error)
	MarkMailSent(ctx context.Context, id string, expires time.Time) error
	ReleaseMail(ctx context.Context, id string) error
}
