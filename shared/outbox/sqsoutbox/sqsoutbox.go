// Package sqsoutbox is the outbox in AWS: the flows' Queue sends each message to an SQS
// queue (encrypted at rest: messages carry reset and unlock links), and the mail
// sender function's Consumer delivers the queue's messages through SES at SES's rate,
// idempotent on the message ID, retrying transient failures for more than a day before
// SQS moves them to the dead-letter queue.
package sqsoutbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/smithy-go"

	"github.com/kagiya/kagiya/shared/account"
	"github.com/kagiya/kagiya/shared/outbox"
)

// SendMessageFunc is SQS's SendMessage: pass the method's value (sqs.Client.SendMessage),
// so that the client's type never reaches an interface and the linker drops the other
// operations.
type SendMessageFunc func(ctx context.Context, in *sqs.SendMessageInput, opts ...func(*sqs.Options)) (*sqs.SendMessageOutput, error)

// ChangeVisibilityFunc is SQS's ChangeMessageVisibility, as SendMessageFunc.
type ChangeVisibilityFunc func(ctx context.Context, in *sqs.ChangeMessageVisibilityInput, opts ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityOutput, error)

// Queue enqueues to the SQS queue at URL (outbox.Queue).
type Queue struct {
	Send SendMessageFunc
	URL  string
}

// EnqueueMail sends it to the queue as JSON.
func (q Queue) EnqueueMail(ctx context.Context, it outbox.Item) error {
	body, err := json.Marshal(it)
	if err != nil {
		return fmt.Errorf("encode mail: %w", err)
	}
	if _, err := q.Send(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(q.URL), MessageBody: aws.String(string(body))}); err != nil {
		return fmt.Errorf("sqs send: %w", err)
	}
	return nil
}

// Mailer is the flows' mailer in AWS: an outbox that enqueues to the SQS queue at url
// (lambdaapi.MailClient).
func Mailer(awsCfg aws.Config, url string) account.Mailer {
	client := sqs.NewFromConfig(awsCfg)
	return outbox.New(Queue{Send: client.SendMessage, URL: url}, time.Now, nil)
}

// RetryDelay is how long a message whose send failed for the nth time (n from 1) stays
// invisible before its next try: 30 s, doubling, at most an hour.
func RetryDelay(n int) time.Duration {
	if n < 1 {
		n = 1
	}
	if n > 8 {
		return time.Hour
	}
	return min(30*time.Second<<(n-1), time.Hour)
}

// ReceivesFor is the smallest maxReceiveCount whose retries, RetryDelay apart, last at
// least d: the queue's redrive policy holds a message that long before dead-lettering it.
func ReceivesFor(d time.Duration) int {
	var total time.Duration
	n := 1
	for ; total < d; n++ {
		total += RetryDelay(n)
	}
	return n
}

// Lease is how long a claim holds a message: longer than the function's timeout, so a
// claim outlives the invocation that took it only when that invocation died.
const Lease = 2 * time.Minute

// MarkRetention is how long a sent mark is kept: longer than the queue keeps a message
// (its retention, 4 days), so no redelivery outlives the mark.
const MarkRetention = 5 * 24 * time.Hour

// Limiter paces sends (golang.org/x/time/rate's Limiter).
type Limiter interface {
	Wait(ctx context.Context) error
}

// Consumer is the mail sender function's work: each SQS message is one outbox.Item.
type Consumer struct {
	Deliver    *outbox.Deliverer
	Marks      outbox.Marks
	Pace       Limiter // SES's sending rate, this instance's share
	Visibility ChangeVisibilityFunc
	QueueURL   string
	// MaxReceives is the queue's maxReceiveCount: a transient failure at that receive
	// is the last (SQS then dead-letters the message), so mail.failed is audited.
	MaxReceives int
	Log         *slog.Logger
}

// Handle delivers a batch and answers which messages to keep for a retry (the event
// source mapping's ReportBatchItemFailures); a message kept has had its visibility set
// to its retry delay. When SES throttles, the rest of the batch is kept for later
// without being tried.
func (c *Consumer) Handle(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	var resp events.SQSEventResponse
	throttled := false
	for _, rec := range ev.Records {
		receives, _ := strconv.Atoi(rec.Attributes["ApproximateReceiveCount"])
		keep := func(delay time.Duration) {
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: rec.MessageId})
			if _, err := c.Visibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(c.QueueURL),
				ReceiptHandle: aws.String(rec.ReceiptHandle), VisibilityTimeout: int32(delay / time.Second)}); err != nil {
				c.Log.WarnContext(ctx, "mail: visibility not changed (retried at the queue's timeout)", "err", err)
			}
		}
		if throttled {
			keep(RetryDelay(receives))
			continue
		}
		var it outbox.Item
		if err := json.Unmarshal([]byte(rec.Body), &it); err != nil || it.ID == "" {
			// Never deliverable; nothing in it to audit. Dropped, said in the log.
			c.Log.ErrorContext(ctx, "mail: not an outbox message, dropped", "message_id", rec.MessageId, "err", err)
			continue
		}
		it.Attempts = max(receives-1, 0)
		err := c.one(ctx, it)
		switch {
		case err == nil:
		case errors.Is(err, errBusy):
			keep(Lease) // another sender holds it: look again when its lease has ended
		case outbox.Permanent(err):
			c.Deliver.GiveUp(ctx, it, err)
		default:
			throttled = isThrottling(err)
			if receives >= c.MaxReceives {
				c.Deliver.GiveUp(ctx, it, err) // SQS dead-letters it at its next receive
			} else {
				c.Log.WarnContext(ctx, "mail not sent: will retry", "id", it.ID, "kind", it.Meta.Kind, "receives", receives, "err", err)
			}
			keep(RetryDelay(receives))
		}
	}
	return resp, nil
}

var errBusy = errors.New("another sender holds the message")

// one delivers it once: claimed, sent, marked; a failed send gives its claim back.
func (c *Consumer) one(ctx context.Context, it outbox.Item) error {
	now := c.Deliver.Now().UTC()
	claim, err := c.Marks.ClaimMail(ctx, it.ID, now, now.Add(Lease), now.Add(MarkRetention))
	switch {
	case err != nil:
		return err
	case claim == outbox.AlreadySent:
		c.Log.InfoContext(ctx, "mail: delivered before, not sent again", "id", it.ID)
		return nil
	case claim == outbox.Busy:
		return errBusy
	}
	if err := c.Pace.Wait(ctx); err != nil {
		c.release(ctx, it)
		return err
	}
	if err := c.Deliver.Deliver(ctx, it); err != nil {
		c.release(ctx, it)
		return err
	}
	if err := c.Marks.MarkMailSent(ctx, it.ID, now.Add(MarkRetention)); err != nil {
		// Delivered; the message is deleted all the same. Only a redelivery would send it again.
		c.Log.ErrorContext(ctx, "mail: delivered but not marked", "id", it.ID, "err", err)
	}
	return nil
}

func (c *Consumer) release(ctx context.Context, it outbox.Item) {
	if err := c.Marks.ReleaseMail(ctx, it.ID); err != nil {
		c.Log.WarnContext(ctx, "mail: claim not released (it ends with its lease)", "id", it.ID, "err", err)
	}
}

// isThrottling reports whether SES refused the send for the account's rate
// (Throttling, "Maximum sending rate exceeded"); the daily quota's refusal is
// Throttling too, and backing off is as right for it.
func isThrottling(err error) bool {
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return false
	}
	switch ae.ErrorCode() {
	case "Throttling", "ThrottlingException", "MaxSendingRateExceeded", "MaxSendingRateExceededException":
		return true
	}
	return false
}
