package bulklambda

import (
	"context"
	"encoding/json"
	"testing"
)

type recorder struct{ keys []string }

func (r *recorder) Run(_ context.Context, key string) error { r.keys = append(r.keys, key); return nil }

func TestDispatchS3AndSQSEvents(t *testing.T) {
	s3Event := `{"Records":[{"eventSource":"aws:s3","eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{"key":"uploads/example.com/0123456789abcdef0123456789abcdef/%E5%85%A8%E8%A7%92+%E5%90%8D.csv"}}}]}`
	sqsEvent := `{"Records":[{"eventSource":"aws:sqs","body":"uploads/example.com/0123456789abcdef0123456789abcdef/全角 名.csv"}]}`
	r := &recorder{}
	for _, ev := range []string{s3Event, sqsEvent} {
		if err := dispatch(context.Background(), r, json.RawMessage(ev)); err != nil {
			t.Fatal(err)
		}
	}
	if len(r.keys) != 2 || r.keys[0] != r.keys[1] {
		t.Fatalf("keys %q", r.keys)
	}
	for _, bad := range []string{`{}`, `{"Records":[{"eventSource":"aws:sns"}]}`, `nope`} {
		if err := dispatch(context.Background(), r, json.RawMessage(bad)); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}
