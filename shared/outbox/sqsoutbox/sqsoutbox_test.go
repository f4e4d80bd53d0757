package sqsoutbox_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/truora/minidyn/server"
	"golang.org/x/time/rate"

	"github.com/kagiya/kagiya/shared/account"
	"github.com/kagiya/kagiya/shared/faults"
	"github.com/kagiya/kagiya/shared/mail"
	"github.com/kagiya/kagiya/shared/outbox"
	"github.com/kagiya/kagiya/shared/outbox/sqsoutbox"
	"github.com/kagiya/kagiya/shared/store/dynamostore"
)

// The SQS side is tested with the queue's two calls recorded here: no SQS stand-in
// speaks the JSON protocol of the SDK's SQS client (goaws v0.4.5 and npm sqslite 2.1.1
// answer the query protocol only). The table is minidyn, in process.

type audits struct {
	mu  sync.Mutex
	evs []account.AuditEvent
}

func (a *audits) AppendAudit(_ context.Context, e account.AuditEvent) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.evs = append(a.evs, e)
	return nil
}

func (a *audits) actions() map[string]int {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := map[string]int{}
	for _, e := range a.evs {
		n[e.Action+" "+e.Result]++
	}
	return n
}

// queue records SendMessage and ChangeMessageVisibility.
type queue struct {
	mu         sync.Mutex
	bodies     []string
	visibility map[string]int32 // receipt handle → seconds
}

func (q *queue) send(_ context.Context, in *sqs.SendMessageInput, _ ...func(*sqs.Options)) (*sqs.SendMessageOutput, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.bodies = append(q.bodies, aws.ToString(in.MessageBody))
	return &sqs.SendMessageOutput{}, nil
}

func (q *queue) change(_ context.Context, in *sqs.ChangeMessageVisibilityInput, _ ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityOutput, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.visibility[aws.ToString(in.ReceiptHandle)] = in.VisibilityTimeout
	return &sqs.ChangeMessageVisibilityOutput{}, nil
}

type rig struct {
	q        *queue
	box      *mail.Mailbox
	plan     *faults.Plan
	audit    *audits
	store    *dynamostore.Store
	consumer *sqsoutbox.Consumer
	out      *outbox.Outbox
}

func newRig(t *testing.T) *rig {
	t.Helper()
	srv := httptest.NewServer(server.NewServer())
	t.Cleanup(srv.Close)
	db := dynamodb.New(dynamodb.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL),
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")})
	if err := dynamostore.CreateTable(context.Background(), db, "kagiya"); err != nil {
		t.Fatal(err)
	}
	r := &rig{q: &queue{visibility: map[string]int32{}}, box: mail.NewMailbox(time.Now), plan: &faults.Plan{}, audit: &audits{},
		store: dynamostore.New(dynamostore.SDK(db), "kagiya", 0)}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	r.consumer = &sqsoutbox.Consumer{
		Deliver:     &outbox.Deliverer{Sender: faults.NewMailer(r.box, r.plan), Audit: r.audit, Now: time.Now, Log: log},
		Marks:       r.store,
		Pace:        rate.NewLimiter(rate.Inf, 1),
		Visibility:  r.q.change,
		QueueURL:    "https://sqs.us-east-1.amazonaws.com/000000000000/kagiya-MailQueue",
		MaxReceives: sqsoutbox.ReceivesFor(outbox.MaxAge),
		Log:         log,
	}
	r.out = outbox.New(sqsoutbox.Queue{Send: r.q.send, URL: r.consumer.QueueURL}, time.Now, nil)
	return r
}

// enqueue sends n messages through the outbox and returns them as the event source
// mapping delivers them, received for the receives-th time.
func (r *rig) enqueue(t *testing.T, n int) []events.SQSMessage {
	t.Helper()
	for i := range n {
		m := mail.Message{To: []string{fmt.Sprintf("user%d@example.com", i)}, Subject: "reset", Text: "https://id.example.com/reset.html?token=t",
			Meta: mail.Meta{Kind: "password_reset", TenantID: "ten_1", AccountID: fmt.Sprintf("acc_%d", i)}}
		if err := r.out.Send(context.Background(), m); err != nil {
			t.Fatal(err)
		}
	}
	r.q.mu.Lock()
	defer r.q.mu.Unlock()
	var recs []events.SQSMessage
	for i, b := range r.q.bodies[len(r.q.bodies)-n:] {
		recs = append(recs, events.SQSMessage{MessageId: fmt.Sprintf("m%d", i), ReceiptHandle: fmt.Sprintf("rh%d", i), Body: b,
			EventSource: "aws:sqs", Attributes: map[string]string{"ApproximateReceiveCount": "1"}})
	}
	return recs
}

func received(recs []events.SQSMessage, times int) events.SQSEvent {
	out := make([]events.SQSMessage, len(recs))
	for i, r := range recs {
		r.Attributes = map[string]string{"ApproximateReceiveCount": strconv.Itoa(times)}
		r.ReceiptHandle = fmt.Sprintf("%s-%d", r.MessageId, times)
		out[i] = r
	}
	return events.SQSEvent{Records: out}
}

func (r *rig) handle(t *testing.T, ev events.SQSEvent) []string {
	t.Helper()
	resp, err := r.consumer.Handle(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	var kept []string
	for _, f := range resp.BatchItemFailures {
		kept = append(kept, f.ItemIdentifier)
	}
	return kept
}

// A message the queue delivers again (a retried invocation, a deletion that failed) is
// not mailed again: the sent mark is found.
func TestRedeliveredMessageIsSentOnce(t *testing.T) {
	r := newRig(t)
	recs := r.enqueue(t, 2)
	if kept := r.handle(t, received(recs, 1)); len(kept) != 0 {
		t.Fatalf("kept %v", kept)
	}
	if kept := r.handle(t, received(recs, 2)); len(kept) != 0 {
		t.Fatalf("kept on redelivery %v", kept)
	}
	if n := len(r.box.Messages("")); n != 2 {
		t.Fatalf("%d mails for 2 messages delivered twice", n)
	}
	if got := r.audit.actions(); got["mail.sent ok:password_reset"] != 2 || len(got) != 1 {
		t.Fatalf("audit: %v", got)
	}
	var it outbox.Item
	json.Unmarshal([]byte(recs[0].Body), &it)
	if it.Meta.AccountID != "acc_0" || it.Message.Subject != "reset" || it.ID == "" {
		t.Fatalf("queued item: %+v", it)
	}
}

// SES throttles the first send: that message and the rest of the batch are kept, each
// invisible for its retry delay, and nothing is mailed; the next receive delivers them.
func TestThrottledBatchIsKeptAndRetried(t *testing.T) {
	r := newRig(t)
	recs := r.enqueue(t, 3)
	r.plan.Add(faults.Rule{Method: "SendEmail", Times: 1, Err: faults.Throttling("SES", "SendRawEmail")})
	kept := r.handle(t, received(recs, 3))
	if len(kept) != 3 || r.plan.Calls("SendEmail") != 1 || len(r.box.Messages("")) != 0 {
		t.Fatalf("kept %v, %d sends, %d mails", kept, r.plan.Calls("SendEmail"), len(r.box.Messages("")))
	}
	for _, rec := range recs {
		if v := r.q.visibility[rec.MessageId+"-3"]; v != int32(sqsoutbox.RetryDelay(3)/time.Second) {
			t.Errorf("%s invisible %d s, want %v", rec.MessageId, v, sqsoutbox.RetryDelay(3))
		}
	}
	if kept := r.handle(t, received(recs, 4)); len(kept) != 0 {
		t.Fatalf("kept after the fault cleared: %v", kept)
	}
	if n := len(r.box.Messages("")); n != 3 {
		t.Fatalf("%d mails, want 3", n)
	}
}

// A send that fails at the queue's last receive is audited mail.failed and left to the
// dead-letter queue; a rejected message is given up at once.
func TestLastReceiveAndRejectionAuditFailure(t *testing.T) {
	r := newRig(t)
	recs := r.enqueue(t, 1)
	r.plan.Add(faults.Rule{Method: "SendEmail", Err: faults.Timeout("SES", "SendRawEmail")})
	if kept := r.handle(t, received(recs, 2)); len(kept) != 1 || len(r.audit.actions()) != 0 {
		t.Fatalf("an early failure: kept %v, audit %v", kept, r.audit.actions())
	}
	if kept := r.handle(t, received(recs, r.consumer.MaxReceives)); len(kept) != 1 || r.audit.actions()["mail.failed failed:password_reset"] != 1 {
		t.Fatalf("the last receive: kept %v, audit %v", kept, r.audit.actions())
	}
	r.plan.Clear()
	r.plan.Add(faults.Rule{Method: "SendEmail", Err: rejected{}})
	recs = r.enqueue(t, 1)
	if kept := r.handle(t, received(recs, 1)); len(kept) != 0 || r.audit.actions()["mail.failed failed:password_reset"] != 2 {
		t.Fatalf("a rejection: kept %v, audit %v", kept, r.audit.actions())
	}
}

type rejected struct{}

func (rejected) Error() string   { return "MessageRejected" }
func (rejected) Permanent() bool { return true }

// A message another sender holds (its lease running) is looked at again after the
// lease, not sent now.
func TestClaimedMessageWaitsForTheLease(t *testing.T) {
	r := newRig(t)
	recs := r.enqueue(t, 1)
	var it outbox.Item
	json.Unmarshal([]byte(recs[0].Body), &it)
	now := time.Now()
	if c, err := r.store.ClaimMail(context.Background(), it.ID, now, now.Add(sqsoutbox.Lease), now.Add(time.Hour)); err != nil || c != outbox.Claimed {
		t.Fatalf("claim: %v %v", c, err)
	}
	if kept := r.handle(t, received(recs, 1)); len(kept) != 1 || len(r.box.Messages("")) != 0 ||
		r.q.visibility[recs[0].MessageId+"-1"] != int32(sqsoutbox.Lease/time.Second) {
		t.Fatalf("kept %v, %d mails, visibility %v", kept, len(r.box.Messages("")), r.q.visibility)
	}
	// A lease that ended (its sender died) is taken over.
	if err := r.store.ReleaseMail(context.Background(), it.ID); err != nil {
		t.Fatal(err)
	}
	if c, err := r.store.ClaimMail(context.Background(), it.ID, now, now.Add(-time.Second), now.Add(time.Hour)); err != nil || c != outbox.Claimed {
		t.Fatalf("claim: %v %v", c, err)
	}
	if kept := r.handle(t, received(recs, 2)); len(kept) != 0 || len(r.box.Messages("")) != 1 {
		t.Fatalf("after the lease: kept %v, %d mails", kept, len(r.box.Messages("")))
	}
}

// The retries last at least a day before the dead-letter queue, and none waits longer
// than the queue allows (12 hours of visibility).
func TestRetriesCoverADay(t *testing.T) {
	n := sqsoutbox.ReceivesFor(outbox.MaxAge)
	var total time.Duration
	for i := 1; i < n; i++ {
		d := sqsoutbox.RetryDelay(i)
		if d > 12*time.Hour {
			t.Fatalf("delay %d: %v", i, d)
		}
		total += d
	}
	if total < outbox.MaxAge || total-sqsoutbox.RetryDelay(n-1) >= outbox.MaxAge {
		t.Fatalf("%d receives span %v", n, total)
	}
}
