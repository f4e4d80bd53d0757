package lambdaapi

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/events"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/ses"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/kagiya/kagiya/shared/account"
	"github.com/kagiya/kagiya/shared/bulk"
	"github.com/kagiya/kagiya/shared/mail"
	"github.com/kagiya/kagiya/shared/mail/sesmail"
	"github.com/kagiya/kagiya/shared/s3files"
	"github.com/kagiya/kagiya/shared/store/dynamostore"
)

// queue hands the rest of a job to the next invocation through SQS.
type queue struct {
	client *sqs.Client
	url    string
}

func (q queue) Continue(ctx context.Context, key string) error {
	_, err := q.client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: &q.url, MessageBody: &key})
	if err != nil {
		return fmt.Errorf("sqs send: %w", err)
	}
	return nil
}

// BulkHandler builds the bulk function's event handler: S3 ObjectCreated events of the
// upload bucket, and SQS messages that carry the key of a job to continue.
func BulkHandler(ctx context.Context, getenv func(string) string) (func(context.Context, json.RawMessage) error, error) {
	cfg, err := LoadConfig(getenv)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	bucket, queueURL := getenv("UPLOAD_BUCKET"), getenv("CONTINUE_QUEUE_URL")
	if bucket == "" || queueURL == "" {
		return nil, fmt.Errorf("config: UPLOAD_BUCKET and CONTINUE_QUEUE_URL are required")
	}
	log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: cfg.LogLevel}))
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("aws config: %w", err)
	}
	tmpl, err := mail.LoadTemplates()
	if err != nil {
		return nil, err
	}
	store := dynamostore.New(dynamodb.NewFromConfig(awsCfg), cfg.Table, 0)
	svc, err := account.NewService(account.Deps{Store: store, Mailer: sesmail.New(ses.NewFromConfig(awsCfg), cfg.MailFrom),
		Templates: tmpl, Now: time.Now, Log: log, SiteURL: cfg.SiteURL}, account.Config{Hash: cfg.Hash})
	if err != nil {
		return nil, err
	}
	runner := &bulk.Runner{Jobs: store, Files: s3files.New(s3.NewFromConfig(awsCfg), bucket), Accounts: svc,
		Continue: queue{sqs.NewFromConfig(awsCfg), queueURL}, Now: time.Now, Log: log}
	return func(ctx context.Context, raw json.RawMessage) error { return dispatch(ctx, runner, raw) }, nil
}

// dispatch runs each record of an S3 or SQS event. An error makes Lambda retry the event
// (S3: asynchronous retries; SQS: redelivery), which resumes the job.
func dispatch(ctx context.Context, runner interface {
	Run(context.Context, string) error
}, raw json.RawMessage) error {
	var probe struct {
		Records []struct {
			EventSource string `json:"eventSource"`
		} `json:"Records"`
	}
	if err := json.Unmarshal(raw, &probe); err != nil || len(probe.Records) == 0 {
		return fmt.Errorf("bulk: not an S3 or SQS event")
	}
	switch probe.Records[0].EventSource {
	case "aws:s3":
		var ev events.S3Event
		if err := json.Unmarshal(raw, &ev); err != nil {
			return fmt.Errorf("bulk: s3 event: %w", err)
		}
		for _, r := range ev.Records {
			if err := runner.Run(ctx, r.S3.Object.Key); err != nil {
				return err
			}
		}
	case "aws:sqs":
		var ev events.SQSEvent
		if err := json.Unmarshal(raw, &ev); err != nil {
			return fmt.Errorf("bulk: sqs event: %w", err)
		}
		for _, m := range ev.Records {
			if err := runner.Run(ctx, bulk.EventKey(m.Body)); err != nil {
				return err
			}
		}
	default:
		return fmt.Errorf("bulk: events from %q are not handled", probe.Records[0].EventSource)
	}
	return nil
}
