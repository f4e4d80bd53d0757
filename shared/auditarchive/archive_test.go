package auditarchive

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// stream is a batch as DynamoDB Streams delivers it to Lambda: a new audit event, a
// change to it, a removal of it by hand, its expiry by time-to-live, and a session item.
const stream = `{"Records":[
 {"eventID":"e1","eventName":"INSERT","eventSource":"aws:dynamodb","dynamodb":{
   "Keys":{"PK":{"S":"AUDIT#t_1"},"SK":{"S":"2026-12-03T04:00:00Z#abc"}},
   "NewImage":{"PK":{"S":"AUDIT#t_1"},"SK":{"S":"2026-12-03T04:00:00Z#abc"},"action":{"S":"login"},"result":{"S":"failed:password"},"expires_at":{"N":"1796000000"}},
   "StreamViewType":"NEW_AND_OLD_IMAGES"}},
 {"eventID":"e2","eventName":"MODIFY","eventSource":"aws:dynamodb","dynamodb":{
   "Keys":{"PK":{"S":"AUDIT#t_1"},"SK":{"S":"2026-12-03T04:00:00Z#abc"}},
   "OldImage":{"action":{"S":"login"},"result":{"S":"failed:password"}},
   "NewImage":{"action":{"S":"login"},"result":{"S":"ok"}}}},
 {"eventID":"e3","eventName":"REMOVE","eventSource":"aws:dynamodb","dynamodb":{
   "Keys":{"PK":{"S":"AUDIT#t_1"},"SK":{"S":"2026-12-03T04:00:00Z#abc"}},
   "OldImage":{"action":{"S":"login"},"result":{"S":"ok"}}}},
 {"eventID":"e4","eventName":"REMOVE","eventSource":"aws:dynamodb","userIdentity":{"type":"Service","principalId":"dynamodb.amazonaws.com"},"dynamodb":{
   "Keys":{"PK":{"S":"AUDIT#t_1"},"SK":{"S":"2025-01-01T00:00:00Z#old"}},
   "OldImage":{"action":{"S":"login"}}}},
 {"eventID":"e5","eventName":"INSERT","eventSource":"aws:dynamodb","dynamodb":{
   "Keys":{"PK":{"S":"SESSION#acc_1"},"SK":{"S":"h"}},"NewImage":{"PK":{"S":"SESSION#acc_1"}}}},
 {"eventID":"e6","eventName":"INSERT","eventSource":"aws:dynamodb","dynamodb":{
   "Keys":{"PK":{"S":"AUDIT#t_2"},"SK":{"S":"2026-12-03T04:00:01Z#def"}},
   "NewImage":{"action":{"S":"unlock"},"result":{"S":"ok"}}}},
 {"eventID":"e7","eventName":"INSERT","eventSource":"aws:dynamodb","dynamodb":{
   "Keys":{"PK":{"S":"AUDIT#t_1"},"SK":{"S":"2026-12-03T04:00:02Z#ghi"}},
   "NewImage":{"action":{"S":"logout"},"result":{"S":"ok"}}}}
]}`

func newBucket(t *testing.T) *s3.Client {
	t.Helper()
	srv := httptest.NewServer(gofakes3.New(s3mem.New()).Server())
	t.Cleanup(srv.Close)
	client := s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider("t", "t", "")})
	if _, err := client.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String("audit")}); err != nil {
		t.Fatal(err)
	}
	return client
}

func TestArchiveKeepsEventsAndChanges(t *testing.T) {
	ctx := context.Background()
	client := newBucket(t)
	var logs bytes.Buffer
	a := Archive{Put: client.PutObject, Bucket: "audit", Log: slog.New(slog.NewJSONHandler(&logs, nil))}
	var ev events.DynamoDBEvent
	if err := json.Unmarshal([]byte(stream), &ev); err != nil {
		t.Fatal(err)
	}
	if err := a.Handle(ctx, ev); err != nil {
		t.Fatal(err)
	}
	list, err := client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("audit")})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, o := range list.Contents {
		keys = append(keys, *o.Key)
	}
	// One object for each tenant's new items of the batch (t_1: two, t_2: one), one for
	// each change; the expiry and the session item are not archived.
	want := []string{
		"changes/t_1/2026-12-03T04:00:00Z#abc/e2.json",
		"changes/t_1/2026-12-03T04:00:00Z#abc/e3.json",
		"events/t_1/2026-12-03T04:00:00Z#abc+2.jsonl",
		"events/t_2/2026-12-03T04:00:01Z#def+1.jsonl",
	}
	if strings.Join(keys, "\n") != strings.Join(want, "\n") {
		t.Fatalf("archived:\n%s\nwant:\n%s", strings.Join(keys, "\n"), strings.Join(want, "\n"))
	}
	read := func(key string) []record {
		out, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("audit"), Key: aws.String(key)})
		if err != nil {
			t.Fatal(err)
		}
		defer out.Body.Close()
		raw, _ := io.ReadAll(out.Body)
		var rs []record
		for _, line := range strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n") {
			var r record
			if err := json.Unmarshal([]byte(line), &r); err != nil {
				t.Fatalf("%s: %v\n%s", key, err, raw)
			}
			rs = append(rs, r)
		}
		return rs
	}
	if rs := read(want[2]); len(rs) != 2 || rs[0].Event != "INSERT" || rs[0].NewImage["result"].String() != "failed:password" ||
		rs[0].NewImage["expires_at"].Number() != "1796000000" || rs[1].EventID != "e7" || rs[1].NewImage["action"].String() != "logout" {
		t.Errorf("the tenant's events as archived, in the stream's order: %+v", rs)
	}
	if rs := read(want[3]); len(rs) != 1 || rs[0].NewImage["action"].String() != "unlock" {
		t.Errorf("the other tenant's event: %+v", rs)
	}
	if rs := read(want[0]); len(rs) != 1 || rs[0].OldImage["result"].String() != "failed:password" || rs[0].NewImage["result"].String() != "ok" {
		t.Errorf("the change as archived: %+v", rs)
	}
	if n := strings.Count(logs.String(), `"msg":"audit item changed"`); n != 2 {
		t.Errorf("%d changes logged, want 2:\n%s", n, logs.String())
	}
}

func TestArchiveFailsWhenTheBucketRefuses(t *testing.T) {
	refuse := func(context.Context, *s3.PutObjectInput, ...func(*s3.Options)) (*s3.PutObjectOutput, error) {
		return nil, errors.New("AccessDenied")
	}
	a := Archive{Put: refuse, Bucket: "audit", Log: slog.New(slog.NewJSONHandler(io.Discard, nil))}
	var ev events.DynamoDBEvent
	if err := json.Unmarshal([]byte(stream), &ev); err != nil {
		t.Fatal(err)
	}
	if err := a.Handle(context.Background(), ev); err == nil || !strings.Contains(err.Error(), "AccessDenied") {
		t.Fatalf("a refused write: %v", err)
	}
}
