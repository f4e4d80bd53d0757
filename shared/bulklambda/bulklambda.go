// Package bulklambda wires the bulk function: S3 and SQS events to the bulk runner, and
// SQS to hand a large job to the next invocation.
package bulklambda

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/kagiya/kagiya/shared/bulk"
	"github.com/kagiya/kagiya/shared/lambdaapi"
	"github.com/kagiya/kagiya/shared/outbox/sqsoutbox"
	"github.com/kagiya/kagiya/shared/s3files"
)

// queue hands the rest of a job to the next invocation through SQS. It holds the client
// through SendMessage's value: a queue reaches an interface (bulk.Runner's Continue), so
// a client in a field would keep every SQS operation in a program that looks methods up
// by name, as text/template does (0.3 MB).
type queue struct {
	send func(context.Context, *sqs.SendMessageInput, ...func(*sqs.Options)) (*sqs.SendMessageOutput, error)
	url  string
}

func (q queue) Continue(ctx context.Context, key string, after time.Duration) error {
	_, err := q.send(ctx, &sqs.SendMessageInput{QueueUrl: &q.url, MessageBody: &key,
		DelaySeconds: int32(min(after, 15*time.Minute) / time.Second)})
	if err != nil {
		return fmt.Errorf("sqs send: %w", err)
	}
	return nil
}

// parts queues the parts of a fanned-out job (bulk.Fanout), ten to a call.
type parts struct {
	send func(context.Context, *sqs.SendMessageBatchInput, ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error)
	url  string
}

// partMessage is the body of a part's message.
type partMessage struct {
	Key   string `json:"apply"`
	Chunk int    `json:"chunk"`
}

func (q parts) Apply(ctx context.Context, key string, chunks []int) error {
	for len(chunks) > 0 {
		n := min(len(chunks), 10)
		in := &sqs.SendMessageBatchInput{QueueUrl: &q.url}
		for _, c := range chunks[:n] {
			body, _ := json.Marshal(partMessage{Key: key, Chunk: c})
			in.Entries = append(in.Entries, types.SendMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(c)), MessageBody: aws.String(string(body))})
		}
		out, err := q.send(ctx, in)
		if err != nil {
			return fmt.Errorf("sqs send batch: %w", err)
		}
		if len(out.Failed) > 0 {
			return fmt.Errorf("sqs send batch: %d of %d parts not queued (%s)", len(out.Failed), n, aws.ToString(out.Failed[0].Code))
		}
		chunks = chunks[n:]
	}
	return nil
}

// Handler builds the bulk function's event handler: S3 ObjectCreated events of the upload
// bucket, SQS messages that carry the key of a job to continue, and the records of the
// function's on-failure destination (an upload event that failed every retry), which
// end their job as failed.
func Handler(ctx context.Context, getenv func(string) string) (func(context.Context, json.RawMessage) error, error) {
	bucket, queueURL, applyURL, failedARN := getenv("UPLOAD_BUCKET"), getenv("CONTINUE_QUEUE_URL"), getenv("APPLY_QUEUE_URL"), getenv("FAILED_RUN_QUEUE_ARN")
	if bucket == "" || queueURL == "" || applyURL == "" || failedARN == "" {
		return nil, fmt.Errorf("config: UPLOAD_BUCKET, CONTINUE_QUEUE_URL, APPLY_QUEUE_URL and FAILED_RUN_QUEUE_ARN are required")
	}
	env, err := lambdaapi.Build(ctx, getenv, lambdaapi.Parts{Mail: sqsoutbox.Mailer})
	if err != nil {
		return nil, err
	}
	q := sqs.NewFromConfig(env.AWS)
	runner := &bulk.Runner{Jobs: env.Store, Files: s3files.New(s3.NewFromConfig(env.AWS), bucket), Accounts: env.Services.Bulk,
		Continue: queue{q.SendMessage, queueURL}, Fanout: parts{q.SendMessageBatch, applyURL}, Now: time.Now, Log: env.Log}
	return func(ctx context.Context, raw json.RawMessage) error {
		if err := env.CheckSchema(ctx); err != nil {
			return err // retried, then the on-failure destination: nothing applied
		}
		return dispatch(ctx, runner, failedARN, env.Log, raw)
	}, nil
}

// dispatch runs each record of an S3 or SQS event. An error makes Lambda retry the event
// (S3: asynchronous retries; SQS: redelivery), which resumes the job. A part's message
// that arrives from the failed-run queue (failedARN) failed every delivery: it ends its
// job as failed.
func dispatch(ctx context.Context, runner interface {
	Run(context.Context, string) error
	RunChunk(ctx context.Context, key string, chunk int) error
	Fail(ctx context.Context, key, reason string) error
}, failedARN string, log *slog.Logger, raw json.RawMessage) error {
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
			if failed, ok := failureRecord(m.Body); ok {
				// The run of an upload event failed after Lambda's retries: end its job.
				log.ErrorContext(ctx, "bulk: upload event failed after its retries", "condition", failed.RequestContext.Condition,
					"err", failed.ResponsePayload.ErrorMessage)
				for _, r := range failed.RequestPayload.Records {
					if err := runner.Fail(ctx, r.S3.Object.Key, failed.reason()); err != nil {
						return err
					}
				}
				continue
			}
			if p, ok := partRecord(m.Body); ok {
				var err error
				if m.EventSourceARN == failedARN {
					log.ErrorContext(ctx, "bulk: a part failed every delivery", "chunk", p.Chunk)
					err = runner.Fail(ctx, bulk.EventKey(p.Key), "part "+strconv.Itoa(p.Chunk+1)+" of the file failed every retry")
				} else {
					err = runner.RunChunk(ctx, bulk.EventKey(p.Key), p.Chunk)
				}
				if err != nil {
					return err
				}
				continue
			}
			if err := runner.Run(ctx, bulk.EventKey(m.Body)); err != nil {
				return err
			}
		}
	default:
		return fmt.Errorf("bulk: events from %q are not handled", probe.Records[0].EventSource)
	}
	return nil
}

// invocationRecord is what Lambda sends to the function's on-failure destination when
// an asynchronous invocation (the S3 event) has failed every retry.
type invocationRecord struct {
	RequestContext struct {
		Condition           string `json:"condition"`
		ApproximateAttempts int    `json:"approximateInvokeCount"`
	} `json:"requestContext"`
	RequestPayload  events.S3Event `json:"requestPayload"`
	ResponsePayload struct {
		ErrorMessage string `json:"errorMessage"`
	} `json:"responsePayload"`
}

// failureRecord reads an SQS body as an on-failure record, if it is one.
func failureRecord(body string) (invocationRecord, bool) {
	if !strings.HasPrefix(strings.TrimSpace(body), "{") {
		return invocationRecord{}, false
	}
	var rec invocationRecord
	if err := json.Unmarshal([]byte(body), &rec); err != nil || rec.RequestContext.Condition == "" || len(rec.RequestPayload.Records) == 0 {
		return invocationRecord{}, false
	}
	return rec, true
}

// partRecord reads an SQS body as a part's message, if it is one.
func partRecord(body string) (partMessage, bool) {
	var p partMessage
	if !strings.HasPrefix(strings.TrimSpace(body), "{") || json.Unmarshal([]byte(body), &p) != nil || p.Key == "" {
		return partMessage{}, false
	}
	return p, true
}

// reason is what the job shows an administrator: how often the run failed, never the
// error itself (it may name infrastructure; the function's log has it).
func (r invocationRecord) reason() string {
	return "the run failed " + strconv.Itoa(r.RequestContext.ApproximateAttempts) + " times (" + r.RequestContext.Condition + ")"
}
