package bulklambda

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"testing"
)

type recorder struct{ keys, failed, parts []string }

func (r *recorder) RunChunk(_ context.Context, key string, chunk int) error {
	r.parts = append(r.parts, key+" "+strconv.Itoa(chunk))
	return nil
}

func (r *recorder) Run(_ context.Context, key string) error { r.keys = append(r.keys, key); return nil }
func (r *recorder) Fail(_ context.Context, key, reason string) error {
	r.failed = append(r.failed, key+" "+reason)
	return nil
}

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

const failedARN = "arn:aws:sqs:ap-northeast-1:1:kagiya-FailedRunQueue"

// A part's message runs the part; the same message from the failed-run queue (it failed
// every delivery of the apply queue) ends its job as failed.
func TestDispatchParts(t *testing.T) {
	body, _ := json.Marshal(`{"apply":"uploads/ten_x/0123456789abcdef0123456789abcdef/a.csv","chunk":7}`)
	r := &recorder{}
	for _, arn := range []string{"arn:aws:sqs:ap-northeast-1:1:kagiya-ApplyQueue", failedARN} {
		ev := `{"Records":[{"eventSource":"aws:sqs","eventSourceARN":"` + arn + `","body":` + string(body) + `}]}`
		if err := dispatch(context.Background(), r, failedARN, discard, json.RawMessage(ev)); err != nil {
			t.Fatal(err)
		}
	}
	if len(r.keys) != 0 || len(r.parts) != 1 || r.parts[0] != "uploads/ten_x/0123456789abcdef0123456789abcdef/a.csv 7" ||
		len(r.failed) != 1 || r.failed[0] != "uploads/ten_x/0123456789abcdef0123456789abcdef/a.csv part 8 of the file failed every retry" {
		t.Fatalf("keys %q parts %q failed %q", r.keys, r.parts, r.failed)
	}
}

func TestDispatchS3AndSQSEvents(t *testing.T) {
	s3Event := `{"Records":[{"eventSource":"aws:s3","eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{"key":"uploads/example.com/0123456789abcdef0123456789abcdef/%E5%85%A8%E8%A7%92+%E5%90%8D.csv"}}}]}`
	sqsEvent := `{"Records":[{"eventSource":"aws:sqs","body":"uploads/example.com/0123456789abcdef0123456789abcdef/全角 名.csv"}]}`
	r := &recorder{}
	for _, ev := range []string{s3Event, sqsEvent} {
		if err := dispatch(context.Background(), r, failedARN, discard, json.RawMessage(ev)); err != nil {
			t.Fatal(err)
		}
	}
	if len(r.keys) != 2 || r.keys[0] != r.keys[1] {
		t.Fatalf("keys %q", r.keys)
	}
	for _, bad := range []string{`{}`, `{"Records":[{"eventSource":"aws:sns"}]}`, `nope`} {
		if err := dispatch(context.Background(), r, failedARN, discard, json.RawMessage(bad)); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

// An upload event that failed every retry comes back through the on-failure destination
// (SQS): its job is ended as failed, with a reason that names no internals.
func TestDispatchFailureRecords(t *testing.T) {
	record := `{"version":"1.0","requestContext":{"requestId":"r","functionArn":"arn:aws:lambda:ap-northeast-1:1:function:bulk","condition":"RetriesExhausted","approximateInvokeCount":3},` +
		`"requestPayload":{"Records":[{"eventSource":"aws:s3","s3":{"bucket":{"name":"b"},"object":{"key":"uploads/ten_x/0123456789abcdef0123456789abcdef/a.csv"}}}]},` +
		`"responseContext":{"statusCode":200,"functionError":"Unhandled"},"responsePayload":{"errorMessage":"dynamodb: ProvisionedThroughputExceeded on table kagiya-prod"}}`
	body, _ := json.Marshal(record)
	ev := `{"Records":[{"eventSource":"aws:sqs","body":` + string(body) + `}]}`
	r := &recorder{}
	if err := dispatch(context.Background(), r, failedARN, discard, json.RawMessage(ev)); err != nil {
		t.Fatal(err)
	}
	if len(r.keys) != 0 || len(r.failed) != 1 || !strings.HasPrefix(r.failed[0], "uploads/ten_x/0123456789abcdef0123456789abcdef/a.csv the run failed 3 times (RetriesExhausted)") ||
		strings.Contains(r.failed[0], "kagiya-prod") {
		t.Fatalf("keys %q, failed %q", r.keys, r.failed)
	}
}
