// Package sesmail sends Kagiya's emails through Amazon SES.
package sesmail

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ses"
	"github.com/aws/aws-sdk-go-v2/service/ses/types"

	"github.com/kagiya/kagiya/shared/mail"
)

// Client is the part of the SES API this sender uses.
type Client interface {
	SendEmail(ctx context.Context, in *ses.SendEmailInput, opts ...func(*ses.Options)) (*ses.SendEmailOutput, error)
}

// SendEmailFunc is a Client made of SES's SendEmail alone: pass the method's value
// (ses.Client.SendEmail), so that the client's type never reaches an interface and a
// program that looks methods up by name does not keep all of SES's operations.
type SendEmailFunc func(ctx context.Context, in *ses.SendEmailInput, opts ...func(*ses.Options)) (*ses.SendEmailOutput, error)

// SendEmail calls f.
func (f SendEmailFunc) SendEmail(ctx context.Context, in *ses.SendEmailInput, opts ...func(*ses.Options)) (*ses.SendEmailOutput, error) {
	return f(ctx, in, opts...)
}

// Sender sends from one verified identity.
type Sender struct {
	ses       Client
	from      string
	configSet string // SES configuration set: bounces and complaints go to its events
}

// New returns a Sender that sends as from (an SES-verified address or domain).
func New(c Client, from string) *Sender { return &Sender{ses: c, from: from} }

// WithConfigurationSet sends through the SES configuration set name ("" for none), whose
// event destination reports bounces and complaints.
func (s *Sender) WithConfigurationSet(name string) *Sender {
	s.configSet = name
	return s
}

func utf8Content(s string) *types.Content {
	return &types.Content{Charset: aws.String("UTF-8"), Data: aws.String(s)}
}

// Send delivers m.
func (s *Sender) Send(ctx context.Context, m mail.Message) error {
	var configSet *string
	if s.configSet != "" {
		configSet = aws.String(s.configSet)
	}
	_, err := s.ses.SendEmail(ctx, &ses.SendEmailInput{
		ConfigurationSetName: configSet,
		Source:               aws.String(s.from),
		Destination:          &types.Destination{ToAddresses: m.To},
		Message: &types.Message{
			Subject: utf8Content(m.Subject),
			Body:    &types.Body{Text: utf8Content(m.Text), Html: utf8Content(m.HTML)},
		},
	})
	if err != nil {
		return fmt.Errorf("ses send %q: %w", m.Subject, err)
	}
	return nil
}
