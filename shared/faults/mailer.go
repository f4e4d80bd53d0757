package faults

import (
	"context"

	"github.com/kagiya/kagiya/shared/mail"
)

// Sender is the mailer the wrapped one is (account.Mailer's shape).
type Sender interface {
	Send(ctx context.Context, m mail.Message) error
}

// Mailer passes messages to a Sender unless the plan fails the call (method "SendEmail").
type Mailer struct {
	next Sender
	plan *Plan
}

// NewMailer wraps next with plan.
func NewMailer(next Sender, plan *Plan) *Mailer { return &Mailer{next: next, plan: plan} }

// Send sends m through the wrapped mailer, or fails as the plan says.
func (m *Mailer) Send(ctx context.Context, msg mail.Message) error {
	return m.plan.call("SendEmail", func() error { return m.next.Send(ctx, msg) })
}
