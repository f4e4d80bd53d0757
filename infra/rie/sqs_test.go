package rie

import (
	"crypto/md5" //nolint:gosec // SQS's checksum of a message body, which the SDK checks
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

// mailQueue stands in for SQS's SendMessage and ChangeMessageVisibility in the JSON
// protocol that the SDK's SQS client speaks (no SQS stand-in on the registries here
// does: goaws v0.4.5 and sqslite 2.1.1 answer the query protocol only). It keeps each
// message sent to the mail queue until deliver hands it to the mail sender function,
// as the event source mapping would.
type mailQueue struct {
	url string // the mail queue's URL, as the template gives it

	mu      sync.Mutex
	pending []string
	n       int
	seen    []string // requests it does not answer
}

func (q *mailQueue) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var in struct{ QueueUrl, MessageBody, ReceiptHandle string }
	target := r.Header.Get("X-Amz-Target")
	ok := strings.Contains(r.Header.Get("Authorization"), "/sqs/aws4_request") && json.NewDecoder(r.Body).Decode(&in) == nil && in.QueueUrl == q.url
	q.mu.Lock()
	defer q.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	switch {
	case ok && target == "AmazonSQS.SendMessage":
		q.n++
		q.pending = append(q.pending, in.MessageBody)
		sum := md5.Sum([]byte(in.MessageBody)) //nolint:gosec // SQS's checksum
		out := map[string]string{"MessageId": fmt.Sprintf("rie-mail-%d", q.n), "MD5OfMessageBody": hex.EncodeToString(sum[:])}
		json.NewEncoder(w).Encode(out) //nolint:errcheck // the caller sees a short answer
	case ok && target == "AmazonSQS.ChangeMessageVisibility":
		w.Write([]byte("{}")) //nolint:errcheck
	default:
		q.seen = append(q.seen, r.Method+" "+target+" "+in.QueueUrl)
		http.Error(w, "not the mail queue", http.StatusBadRequest)
	}
}

// deliver hands every message sent so far to the mail sender, one event, and fails the
// test if it keeps any for a retry.
func (q *mailQueue) deliver(t *testing.T, sender *running) {
	t.Helper()
	q.mu.Lock()
	bodies := q.pending
	q.pending = nil
	q.mu.Unlock()
	if len(bodies) == 0 {
		return
	}
	var ev events.SQSEvent
	for i, b := range bodies {
		ev.Records = append(ev.Records, events.SQSMessage{MessageId: fmt.Sprintf("rie-%d", i), ReceiptHandle: fmt.Sprintf("rh-%d", i), Body: b,
			Attributes: map[string]string{"ApproximateReceiveCount": "1"}, EventSource: "aws:sqs", AWSRegion: "us-east-1",
			EventSourceARN: "arn:aws:sqs:us-east-1:000000000000:kagiya-MailQueue"})
	}
	var resp events.SQSEventResponse
	decode(t, sender.invoke(t, ev), &resp)
	if len(resp.BatchItemFailures) > 0 {
		t.Fatalf("the mail sender kept %d of %d emails for a retry: %+v", len(resp.BatchItemFailures), len(bodies), resp)
	}
}
