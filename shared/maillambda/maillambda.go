// Package maillambda wires the mail sender function: the mail queue's SQS events to
// sqsoutbox.Consumer, sending through SES.
package maillambda

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ses"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"golang.org/x/time/rate"

	"github.com/kagiya/kagiya/shared/lambdaapi"
	"github.com/kagiya/kagiya/shared/mail/sesmail"
	"github.com/kagiya/kagiya/shared/outbox"
	"github.com/kagiya/kagiya/shared/outbox/sqsoutbox"
	"github.com/kagiya/kagiya/shared/store/dynamostore"
)

// Handler builds the mail sender function (functions/mailsender): the mail queue's
// messages, delivered through SES from MAIL_FROM (in MAIL_CONFIG_SET), at this
// instance's share of SES's sending rate (MaxSendRate from GetSendQuota, divided by
// MAIL_SENDERS, the event source mapping's maximum concurrency), retried on the queue
// MAIL_QUEUE_URL until MAIL_MAX_RECEIVES (its redrive policy's maxReceiveCount).
func Handler(ctx context.Context, getenv func(string) string) (func(context.Context, events.SQSEvent) (events.SQSEventResponse, error), error) {
	var errs []error
	need := func(name string) string {
		v := getenv(name)
		if v == "" {
			errs = append(errs, fmt.Errorf("%s is not set", name))
		}
		return v
	}
	table, from, queueURL := need("TABLE_NAME"), need("MAIL_FROM"), need("MAIL_QUEUE_URL")
	intEnv := func(name string) int {
		n, err := strconv.Atoi(need(name))
		if err != nil || n < 1 {
			errs = append(errs, fmt.Errorf("%s: want a positive number", name))
		}
		return n
	}
	senders, maxReceives := intEnv("MAIL_SENDERS"), intEnv("MAIL_MAX_RECEIVES")
	auditDays, err := lambdaapi.AuditTableDays(getenv) // its mail.sent events
	if err != nil {
		errs = append(errs, err)
	}
	var level slog.Level
	if s := getenv("LOG_LEVEL"); s != "" {
		if err := level.UnmarshalText([]byte(s)); err != nil {
			errs = append(errs, fmt.Errorf("LOG_LEVEL: %w", err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	awsCfg, err := lambdaapi.AWS(getenv)
	if err != nil {
		return nil, fmt.Errorf("aws config: %w", err)
	}
	awsCfg = lambdaapi.CallConfig(awsCfg)
	db := dynamodb.NewFromConfig(awsCfg)
	store := dynamostore.New(dynamostore.SDK(db), table, time.Duration(auditDays)*24*time.Hour)
	sesClient := ses.NewFromConfig(awsCfg)
	queue := sqs.NewFromConfig(awsCfg)
	c := &sqsoutbox.Consumer{
		Deliver: &outbox.Deliverer{
			Sender: sesmail.New(sesmail.SendRawEmailFunc(sesClient.SendRawEmail), from).WithConfigurationSet(getenv("MAIL_CONFIG_SET")),
			Audit:  store, Jobs: store, Now: time.Now, Log: log},
		Marks:       store,
		Pace:        &sesPace{quota: sesClient.GetSendQuota, share: senders, log: log},
		Visibility:  queue.ChangeMessageVisibility,
		QueueURL:    queueURL,
		MaxReceives: maxReceives,
		Log:         log,
	}
	return c.Handle, nil
}

// sesPace holds sends to this instance's share of SES's sending rate, asking SES for
// the rate at the first send and every quotaRefresh after (a raised limit applies
// without a deploy). Until SES has answered, the instances share one send a second (a
// new account's rate in the sandbox).
type sesPace struct {
	quota func(ctx context.Context, in *ses.GetSendQuotaInput, opts ...func(*ses.Options)) (*ses.GetSendQuotaOutput, error)
	share int
	log   *slog.Logger

	mu      sync.Mutex
	limiter *rate.Limiter
	asked   time.Time
}

const quotaRefresh = 10 * time.Minute

// Wait blocks until the next send may start.
func (p *sesPace) Wait(ctx context.Context) error {
	p.mu.Lock()
	if p.limiter == nil {
		p.limiter = rate.NewLimiter(rate.Limit(1/float64(p.share)), 1)
	}
	if time.Since(p.asked) > quotaRefresh {
		p.asked = time.Now()
		if q, err := p.quota(ctx, &ses.GetSendQuotaInput{}); err != nil {
			p.log.WarnContext(ctx, "mail: SES sending rate unknown, pacing as before", "err", err)
		} else if q.MaxSendRate > 0 {
			p.limiter.SetLimit(rate.Limit(q.MaxSendRate / float64(p.share)))
		}
	}
	limiter := p.limiter
	p.mu.Unlock()
	return limiter.Wait(ctx)
}
