package sesmail

import (
	"bytes"
	"context"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	netmail "net/mail"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/ses"
	"github.com/aws/smithy-go"

	"github.com/kagiya/kagiya/shared/faults"
	"github.com/kagiya/kagiya/shared/mail"
	"github.com/kagiya/kagiya/shared/outbox"
)

// captured is a Client that keeps what it was asked to send.
type captured struct{ in []*ses.SendRawEmailInput }

func (c *captured) SendRawEmail(_ context.Context, in *ses.SendRawEmailInput, _ ...func(*ses.Options)) (*ses.SendRawEmailOutput, error) {
	c.in = append(c.in, in)
	return &ses.SendRawEmailOutput{}, nil
}

// A subject (or a name in it) that holds line breaks stays one header: the message has
// the headers it should and no other, and each part reads back as it was.
func TestMessageHeadersHoldHostileValues(t *testing.T) {
	c := &captured{}
	s := New(c, "Kagiya 鍵屋 <no-reply@example.com>").WithConfigurationSet("events")
	for _, subject := range []string{
		"[Kagiya] You are invited to Acme\r\nBcc: evil@example.com",
		"【Kagiya】Acme\n\nX-Injected: 1\r\n.\r\n",
		"[Kagiya] plain ASCII",
		"[Kagiya] " + strings.Repeat("長い件名", 40),
		"=?utf-8?q?Bcc:_evil@example.com?=",
	} {
		m := mail.Message{To: []string{"hanako@example.com"}, Subject: subject,
			Text: "line 1\r\n.\r\nBcc: evil@example.com\n" + strings.Repeat("x", 200), HTML: "<p>こんにちは\r\n</p>"}
		if err := s.Send(context.Background(), m); err != nil {
			t.Fatal(err)
		}
		in := c.in[len(c.in)-1]
		if *in.Source != "Kagiya 鍵屋 <no-reply@example.com>" || *in.ConfigurationSetName != "events" || len(in.Destinations) != 1 {
			t.Fatalf("input %+v", in)
		}
		msg, err := netmail.ReadMessage(bytes.NewReader(in.RawMessage.Data))
		if err != nil {
			t.Fatal(err)
		}
		if len(msg.Header) != 5 || msg.Header.Get("Bcc") != "" || msg.Header.Get("X-Injected") != "" {
			t.Fatalf("%q: headers %v", subject, msg.Header)
		}
		got, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
		if strings.HasPrefix(subject, "=?") { // looks like an encoded word: passed as is, read as one
			subject = "Bcc: evil@example.com"
		}
		if err != nil || got != subject {
			t.Errorf("subject %q read back as %q (%v)", subject, got, err)
		}
		from, err := msg.Header.AddressList("From")
		if err != nil || len(from) != 1 || from[0].Name != "Kagiya 鍵屋" || from[0].Address != "no-reply@example.com" {
			t.Errorf("from %v %v", from, err)
		}
		if to, err := msg.Header.AddressList("To"); err != nil || len(to) != 1 || to[0].Address != "hanako@example.com" {
			t.Errorf("to %v %v", to, err)
		}
		_, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
		if err != nil {
			t.Fatal(err)
		}
		r := multipart.NewReader(msg.Body, params["boundary"])
		for _, want := range []struct{ kind, body string }{{"text/plain", m.Text}, {"text/html", m.HTML}} {
			p, err := r.NextPart() // quoted-printable is decoded by the reader
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(p)
			body := strings.ReplaceAll(string(b), "\r\n", "\n") // quoted-printable text: line breaks are CRLF
			if kind, ps, _ := mime.ParseMediaType(p.Header.Get("Content-Type")); kind != want.kind || ps["charset"] != "utf-8" ||
				body != strings.ReplaceAll(want.body, "\r\n", "\n") {
				t.Errorf("%s part: %q %q", want.kind, p.Header, b)
			}
		}
		for _, line := range strings.Split(string(in.RawMessage.Data), "\r\n") {
			if len(line) > 998 {
				t.Errorf("a line of %d bytes", len(line))
			}
		}
	}
}

// An address that is not one (a line break, a display name, nothing) is not sent.
func TestMessageRefusesBadAddresses(t *testing.T) {
	c := &captured{}
	for _, to := range [][]string{{"a@example.com\r\nBcc: evil@example.com"}, {"Evil <a@example.com>"}, {"not an address"}, nil} {
		if err := New(c, "no-reply@example.com").Send(context.Background(), mail.Message{To: to, Subject: "s", Text: "t", HTML: "h"}); err == nil {
			t.Errorf("%q sent", to)
		} else if !outbox.Permanent(err) { // the outbox gives it up rather than retrying it for a day
			t.Errorf("%q: %v is not permanent", to, err)
		}
	}
	if err := New(c, "no-reply@example.com\r\nBcc: evil@example.com").Send(context.Background(), mail.Message{To: []string{"a@example.com"}, Subject: "s"}); err == nil {
		t.Error("a from with a line break sent")
	}
	if len(c.in) != 0 {
		t.Fatalf("%d sent", len(c.in))
	}
}

// SES's rejection of a message is permanent (the outbox gives it up); its throttling
// and a timeout are not (the outbox retries them).
func TestSendErrorsPermanentOrNot(t *testing.T) {
	for _, c := range []struct {
		err       error
		permanent bool
	}{
		{&smithy.OperationError{ServiceID: "SES", OperationName: "SendRawEmail", Err: &smithy.GenericAPIError{Code: "MessageRejected", Message: "Email address is not verified."}}, true},
		{faults.Throttling("SES", "SendRawEmail"), false},
		{faults.Timeout("SES", "SendRawEmail"), false},
	} {
		fail := SendRawEmailFunc(func(context.Context, *ses.SendRawEmailInput, ...func(*ses.Options)) (*ses.SendRawEmailOutput, error) {
			return nil, c.err
		})
		err := New(fail, "no-reply@example.com").Send(context.Background(), mail.Message{To: []string{"a@example.com"}, Subject: "s"})
		if err == nil || outbox.Permanent(err) != c.permanent || !errors.Is(err, c.err) {
			t.Errorf("%v: %v, permanent %t", c.err, err, outbox.Permanent(err))
		}
	}
}
