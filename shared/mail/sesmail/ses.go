// Package sesmail sends Kagiya's emails through Amazon SES.
package sesmail

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	netmail "net/mail"
	"net/textproto"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ses"
	"github.com/aws/aws-sdk-go-v2/service/ses/types"
	"github.com/aws/smithy-go"

	"github.com/kagiya/kagiya/shared/mail"
)

// Client is the part of the SES API this sender uses.
type Client interface {
	SendRawEmail(ctx context.Context, in *ses.SendRawEmailInput, opts ...func(*ses.Options)) (*ses.SendRawEmailOutput, error)
}

// SendRawEmailFunc is a Client made of SES's SendRawEmail alone: pass the method's value
// (ses.Client.SendRawEmail), so that the client's type never reaches an interface and a
// program that looks methods up by name does not keep all of SES's operations.
type SendRawEmailFunc func(ctx context.Context, in *ses.SendRawEmailInput, opts ...func(*ses.Options)) (*ses.SendRawEmailOutput, error)

// SendRawEmail calls f.
func (f SendRawEmailFunc) SendRawEmail(ctx context.Context, in *ses.SendRawEmailInput, opts ...func(*ses.Options)) (*ses.SendRawEmailOutput, error) {
	return f(ctx, in, opts...)
}

// Sender sends from one verified identity.
type Sender struct {
	ses       Client
	from      string
	configSet string // SES configuration set: bounces and complaints go to its events
}

// New returns a Sender that sends as from (an SES-verified address or domain, with or
// without a display name: "Kagiya <no-reply@example.com>").
func New(c Client, from string) *Sender { return &Sender{ses: c, from: from} }

// WithConfigurationSet sends through the SES configuration set name ("" for none), whose
// event destination reports bounces and complaints.
func (s *Sender) WithConfigurationSet(name string) *Sender {
	s.configSet = name
	return s
}

// Send delivers m.
func (s *Sender) Send(ctx context.Context, m mail.Message) error {
	raw, err := message(s.from, m)
	if err != nil {
		return permanent{fmt.Errorf("ses send: %w", err)}
	}
	var configSet *string
	if s.configSet != "" {
		configSet = aws.String(s.configSet)
	}
	_, err = s.ses.SendRawEmail(ctx, &ses.SendRawEmailInput{
		ConfigurationSetName: configSet,
		Source:               aws.String(s.from),
		Destinations:         m.To,
		RawMessage:           &types.RawMessage{Data: raw},
	})
	if err != nil {
		err = fmt.Errorf("ses send %q: %w", m.Subject, err)
		var ae smithy.APIError
		if errors.As(err, &ae) && rejections[ae.ErrorCode()] {
			return permanent{err}
		}
		return err
	}
	return nil
}

// rejections are SES's answers for a message it will never take as it is; anything else
// (throttling, a timeout, an outage, a paused account) may pass later.
var rejections = map[string]bool{"MessageRejected": true, "MailFromDomainNotVerifiedException": true,
	"MailFromDomainNotVerified": true, "ConfigurationSetDoesNotExist": true, "ConfigurationSetDoesNotExistException": true}

// permanent is a send that retrying cannot make succeed (outbox.Permanent).
type permanent struct{ err error }

func (p permanent) Error() string   { return p.err.Error() }
func (p permanent) Unwrap() error   { return p.err }
func (p permanent) Permanent() bool { return true }

// message builds m as an Internet message (RFC 5322, MIME): its headers are made by
// net/mail (addresses) and mime (the subject as an encoded word, the content types), so
// that no value can end a header or start another; the text and HTML parts are
// alternatives, quoted-printable in UTF-8.
func message(from string, m mail.Message) ([]byte, error) {
	sender, err := netmail.ParseAddress(from)
	if err != nil {
		return nil, fmt.Errorf("from %q: %w", from, err)
	}
	if len(m.To) == 0 {
		return nil, fmt.Errorf("no recipient")
	}
	to := make([]string, len(m.To))
	for i, addr := range m.To {
		a, err := netmail.ParseAddress(addr)
		if err != nil || a.Name != "" {
			return nil, fmt.Errorf("recipient %q is not an address", addr)
		}
		to[i] = a.String()
	}
	var body bytes.Buffer
	parts := multipart.NewWriter(&body)
	header := []struct{ key, value string }{
		{"From", sender.String()},
		{"To", strings.Join(to, ", ")},
		{"Subject", subject(m.Subject)},
		{"MIME-Version", "1.0"},
		{"Content-Type", mime.FormatMediaType("multipart/alternative", map[string]string{"boundary": parts.Boundary()})},
	}
	for _, p := range []struct{ kind, text string }{{"text/plain", m.Text}, {"text/html", m.HTML}} {
		w, err := parts.CreatePart(textproto.MIMEHeader{
			"Content-Type":              {mime.FormatMediaType(p.kind, map[string]string{"charset": "utf-8"})},
			"Content-Transfer-Encoding": {"quoted-printable"},
		})
		if err != nil {
			return nil, err
		}
		qp := quotedprintable.NewWriter(w)
		if _, err := qp.Write([]byte(p.text)); err != nil {
			return nil, err
		}
		if err := qp.Close(); err != nil {
			return nil, err
		}
	}
	if err := parts.Close(); err != nil {
		return nil, err
	}
	var out bytes.Buffer
	for _, h := range header {
		// What the encoders make holds no line break but the folds between encoded words.
		if strings.ContainsAny(strings.ReplaceAll(h.value, "\r\n ", ""), "\r\n") || h.value == "" {
			return nil, fmt.Errorf("header %s: %q", h.key, h.value)
		}
		fmt.Fprintf(&out, "%s: %s\r\n", h.key, h.value)
	}
	out.WriteString("\r\n")
	out.Write(body.Bytes())
	return out.Bytes(), nil
}

// subject encodes s for the Subject header: text that is not printable ASCII (a line
// break among it) becomes encoded words (RFC 2047), one line each, folded.
func subject(s string) string {
	return strings.ReplaceAll(mime.QEncoding.Encode("utf-8", s), "?= =?", "?=\r\n =?")
}
