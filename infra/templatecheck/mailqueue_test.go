package templatecheck

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/truora/minidyn/server"
	"golang.org/x/time/rate"

	"github.com/kagiya/kagiya/shared/bulk"
	"github.com/kagiya/kagiya/shared/faults"
	"github.com/kagiya/kagiya/shared/mail"
	"github.com/kagiya/kagiya/shared/outbox"
	"github.com/kagiya/kagiya/shared/outbox/sqsoutbox"
	"github.com/kagiya/kagiya/shared/store/dynamostore"
)

// TestMailQueueHoldsADay: the mail queue keeps a failing email for the day of retries
// (maxReceiveCount is sqsoutbox.ReceivesFor(outbox.MaxAge) and the sender is told so),
// for longer than that in the queue, encrypted, visible again after six of the
// sender's timeouts, with a dead-letter queue that raises an alarm; the sender's
// concurrency is the share of SES's rate it takes, and a claim outlives an invocation.
// Every function that mails has the queue's URL.
func TestMailQueueHoldsADay(t *testing.T) {
	type queue struct {
		VisibilityTimeout      int  `yaml:"VisibilityTimeout"`
		MessageRetentionPeriod int  `yaml:"MessageRetentionPeriod"`
		SqsManagedSseEnabled   bool `yaml:"SqsManagedSseEnabled"`
		RedrivePolicy          struct {
			DeadLetterTargetArn valueOf `yaml:"deadLetterTargetArn"`
			MaxReceiveCount     int     `yaml:"maxReceiveCount"`
		} `yaml:"RedrivePolicy"`
	}
	var doc struct {
		Resources struct {
			MailQueue struct {
				Properties queue `yaml:"Properties"`
			} `yaml:"MailQueue"`
			MailDeadLetters struct {
				Properties queue `yaml:"Properties"`
			} `yaml:"MailDeadLetters"`
			Alarm struct {
				Properties struct {
					MetricName string `yaml:"MetricName"`
					Dimensions []struct {
						Value valueOf `yaml:"Value"`
					} `yaml:"Dimensions"`
				} `yaml:"Properties"`
			} `yaml:"MailDeadLettersAlarm"`
			Sender struct {
				Properties struct {
					Timeout     int `yaml:"Timeout"`
					Environment struct {
						Variables map[string]string `yaml:"Variables"`
					} `yaml:"Environment"`
					Events struct {
						Mail struct {
							Properties struct {
								Queue                 valueOf  `yaml:"Queue"`
								FunctionResponseTypes []string `yaml:"FunctionResponseTypes"`
								ScalingConfig         struct {
									MaximumConcurrency int `yaml:"MaximumConcurrency"`
								} `yaml:"ScalingConfig"`
							} `yaml:"Properties"`
						} `yaml:"Mail"`
					} `yaml:"Events"`
				} `yaml:"Properties"`
			} `yaml:"MailSenderFunction"`
		} `yaml:"Resources"`
	}
	decodeTemplate(t, &doc)
	q, dlq, fn := doc.Resources.MailQueue.Properties, doc.Resources.MailDeadLetters.Properties, doc.Resources.Sender.Properties
	receives := sqsoutbox.ReceivesFor(outbox.MaxAge)
	if q.RedrivePolicy.MaxReceiveCount != receives || fn.Environment.Variables["MAIL_MAX_RECEIVES"] != strconv.Itoa(receives) {
		t.Errorf("maxReceiveCount %d, MAIL_MAX_RECEIVES %q: want %d (a day of retries)", q.RedrivePolicy.MaxReceiveCount,
			fn.Environment.Variables["MAIL_MAX_RECEIVES"], receives)
	}
	var span time.Duration
	for n := 1; n < receives; n++ {
		span += sqsoutbox.RetryDelay(n)
	}
	if retention := time.Duration(q.MessageRetentionPeriod) * time.Second; retention < span+time.Hour {
		t.Errorf("the queue keeps a message %v, its retries span %v", retention, span)
	}
	if time.Duration(dlq.MessageRetentionPeriod)*time.Second < 7*24*time.Hour || !q.SqsManagedSseEnabled || !dlq.SqsManagedSseEnabled {
		t.Errorf("dead letters kept %d s; encrypted %t, %t", dlq.MessageRetentionPeriod, q.SqsManagedSseEnabled, dlq.SqsManagedSseEnabled)
	}
	if q.RedrivePolicy.DeadLetterTargetArn.Arg != "MailDeadLetters.Arn" {
		t.Errorf("dead letters go to %v", q.RedrivePolicy.DeadLetterTargetArn)
	}
	if a := doc.Resources.Alarm.Properties; a.MetricName != "ApproximateNumberOfMessagesVisible" || len(a.Dimensions) != 1 || a.Dimensions[0].Value.Arg != "MailDeadLetters.QueueName" {
		t.Errorf("dead-letter alarm: %+v", a)
	}
	if q.VisibilityTimeout < 6*fn.Timeout || sqsoutbox.Lease <= time.Duration(fn.Timeout)*time.Second {
		t.Errorf("visibility %d s, lease %v, for a timeout of %d s", q.VisibilityTimeout, sqsoutbox.Lease, fn.Timeout)
	}
	ev := fn.Events.Mail.Properties
	if ev.Queue.Arg != "MailQueue.Arn" || !slices.Equal(ev.FunctionResponseTypes, []string{"ReportBatchItemFailures"}) ||
		fn.Environment.Variables["MAIL_SENDERS"] != strconv.Itoa(ev.ScalingConfig.MaximumConcurrency) || ev.ScalingConfig.MaximumConcurrency < 2 {
		t.Errorf("the sender's event source: %+v, MAIL_SENDERS %q", ev, fn.Environment.Variables["MAIL_SENDERS"])
	}

	var all struct {
		Resources map[string]struct {
			Type       string `yaml:"Type"`
			Properties struct {
				CodeURI     string `yaml:"CodeUri"`
				Environment struct {
					Variables map[string]valueOf `yaml:"Variables"`
				} `yaml:"Environment"`
			} `yaml:"Properties"`
		} `yaml:"Resources"`
	}
	decodeTemplate(t, &all)
	for name, r := range all.Resources {
		if r.Type != "AWS::Serverless::Function" {
			continue
		}
		main := mainOf(t, r.Properties.CodeURI)
		mails := strings.Contains(main, "Mail: sqsoutbox.Mailer") || strings.Contains(main, "bulklambda.Handler(") || name == "MailSenderFunction"
		if v := r.Properties.Environment.Variables["MAIL_QUEUE_URL"]; (v.Tag == "!Ref" && v.Arg == "MailQueue") != mails {
			t.Errorf("%s: MAIL_QUEUE_URL %+v, mails %t", name, v, mails)
		}
	}
}

// TestMailSenderRightsAreWhatItUses runs the mail sender's work (sqsoutbox.Consumer:
// a delivery, a redelivery of it, a failed send, a bulk job's notice counted) against
// DynamoDB (minidyn) and holds its template rights to exactly the table calls it made.
func TestMailSenderRightsAreWhatItUses(t *testing.T) {
	ctx := context.Background()
	srv := httptest.NewServer(server.NewServer())
	t.Cleanup(srv.Close)
	db := dynamodb.New(dynamodb.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL),
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")})
	if err := dynamostore.CreateTable(ctx, db, "kagiya"); err != nil {
		t.Fatal(err)
	}
	jobs := dynamostore.New(dynamostore.SDK(db), "kagiya", 0)
	if err := jobs.CreateJob(ctx, bulk.Job{ID: "job_1", TenantID: "ten_1", State: bulk.StateApplying, CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	rec := &recorder{Client: db, calls: map[string]bool{}}
	store := dynamostore.New(rec, "kagiya", 0)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	plan := &faults.Plan{}
	var bodies []string
	q := sqsoutbox.Queue{URL: "https://sqs.us-east-1.amazonaws.com/000000000000/kagiya-MailQueue",
		Send: func(_ context.Context, in *sqs.SendMessageInput, _ ...func(*sqs.Options)) (*sqs.SendMessageOutput, error) {
			bodies = append(bodies, aws.ToString(in.MessageBody))
			return &sqs.SendMessageOutput{}, nil
		}}
	c := &sqsoutbox.Consumer{
		Deliver: &outbox.Deliverer{Sender: faults.NewMailer(mail.NewMailbox(time.Now), plan), Audit: store, Jobs: store, Now: time.Now, Log: log},
		Marks:   store, Pace: rate.NewLimiter(rate.Inf, 1), QueueURL: q.URL, MaxReceives: 31, Log: log,
		Visibility: func(context.Context, *sqs.ChangeMessageVisibilityInput, ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityOutput, error) {
			return &sqs.ChangeMessageVisibilityOutput{}, nil
		},
	}
	out := outbox.New(q, time.Now, nil)
	for i := range 2 {
		if err := out.Send(ctx, mail.Message{To: []string{"hanako@example.com"}, Subject: "s",
			Meta: mail.Meta{Kind: "password_changed", TenantID: "ten_1", AccountID: "acc_1", BulkJob: []string{"job_1", ""}[i]}}); err != nil {
			t.Fatal(err)
		}
	}
	event := func(body string) events.SQSEvent {
		return events.SQSEvent{Records: []events.SQSMessage{{MessageId: "m", ReceiptHandle: "r", Body: body,
			Attributes: map[string]string{"ApproximateReceiveCount": "1"}}}}
	}
	plan.Add(faults.Rule{Method: "SendEmail", Skip: 1, Times: 1, Err: faults.Timeout("SES", "SendRawEmail")})
	for _, b := range []string{bodies[0], bodies[0], bodies[1]} { // delivered, redelivered, failed
		if _, err := c.Handle(ctx, event(b)); err != nil {
			t.Fatal(err)
		}
	}
	if j, err := jobs.GetJob(ctx, "ten_1", "job_1"); plan.Calls("SendEmail") != 2 || err != nil || j.Notified != 1 {
		t.Fatalf("%d sends, want 2; the job's notified %d (%v), want 1", plan.Calls("SendEmail"), j.Notified, err)
	}
	var used, allowed []string
	for c := range rec.calls {
		used = append(used, c)
	}
	for g := range granted(t, "MailSenderFunction") {
		allowed = append(allowed, g)
	}
	slices.Sort(used)
	slices.Sort(allowed)
	if strings.Join(used, "\n") != strings.Join(allowed, "\n") {
		t.Errorf("MailSenderFunction's table rights:\n%s\nwhat it did:\n%s", strings.Join(allowed, "\n"), strings.Join(used, "\n"))
	}
}
