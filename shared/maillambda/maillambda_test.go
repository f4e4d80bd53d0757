package maillambda

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/ses"
	"golang.org/x/time/rate"
)

// The sender paces at its share of SES's MaxSendRate, asked once (not at every send);
// while SES does not answer, the instances share one send a second.
func TestPaceIsTheShareOfSESRate(t *testing.T) {
	asked, answer := 0, error(errors.New("ses down"))
	p := &sesPace{share: 2, log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		quota: func(context.Context, *ses.GetSendQuotaInput, ...func(*ses.Options)) (*ses.GetSendQuotaOutput, error) {
			asked++
			if answer != nil {
				return nil, answer
			}
			return &ses.GetSendQuotaOutput{MaxSendRate: 14}, nil
		}}
	if err := p.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	if p.limiter.Limit() != rate.Limit(0.5) {
		t.Fatalf("without SES's answer: %v a second", p.limiter.Limit())
	}
	p.asked, answer = p.asked.Add(-quotaRefresh-1), nil // the refresh is due
	for range 3 {
		if err := p.Wait(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if p.limiter.Limit() != rate.Limit(7) || asked != 2 {
		t.Fatalf("%v a second after %d questions; want 7 after 2", p.limiter.Limit(), asked)
	}
}
