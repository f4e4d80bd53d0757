package lambdaapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/kagiya/kagiya/shared/account"
)

// sesEvent is the part of an SES event (configuration-set event publishing, through SNS)
// that matters here.
type sesEvent struct {
	EventType string `json:"eventType"`
	Bounce    struct {
		BounceType        string `json:"bounceType"`
		BounceSubType     string `json:"bounceSubType"`
		BouncedRecipients []struct {
			EmailAddress string `json:"emailAddress"`
		} `json:"bouncedRecipients"`
	} `json:"bounce"`
	Complaint struct {
		FeedbackType         string `json:"complaintFeedbackType"`
		ComplainedRecipients []struct {
			EmailAddress string `json:"emailAddress"`
		} `json:"complainedRecipients"`
	} `json:"complaint"`
}

// MailEvents records SES's bounce and complaint events (functions/mailevents): each
// permanent bounce or complaint marks its account and is audited. Transient bounces
// (a full mailbox, a server down) are left: SES retries them. Nothing is done on a table
// written by a newer version of Kagiya (account.ErrSchemaNewer: the events are retried).
func MailEvents(ctx context.Context, svc *account.Flows, ev events.SNSEvent) error {
	if err := svc.Schema.Check(ctx); err != nil {
		return fmt.Errorf("mail events: %w", err)
	}
	admin := svc.Admin
	var errs []error
	for _, rec := range ev.Records {
		var e sesEvent
		if err := json.Unmarshal([]byte(rec.SNS.Message), &e); err != nil {
			errs = append(errs, fmt.Errorf("SES event %s: %w", rec.SNS.MessageID, err))
			continue
		}
		switch strings.ToLower(e.EventType) {
		case "bounce":
			if e.Bounce.BounceType != "Permanent" {
				continue
			}
			for _, r := range e.Bounce.BouncedRecipients {
				errs = append(errs, admin.RecordMailEvent(ctx, account.MailBounce, r.EmailAddress, e.Bounce.BounceSubType))
			}
		case "complaint":
			for _, r := range e.Complaint.ComplainedRecipients {
				errs = append(errs, admin.RecordMailEvent(ctx, account.MailComplaint, r.EmailAddress, e.Complaint.FeedbackType))
			}
		}
	}
	return errors.Join(errs...)
}
