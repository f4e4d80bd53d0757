// Package auditarchive copies each audit event from the table's stream to an S3 bucket
// under Object Lock, where no function (and no one) can change or remove it before its
// retention ends. A change or removal of an audit item in the table (which Kagiya never
// makes; only the table's time-to-live removes them) is archived too, beside the event,
// and logged as "audit item changed", which an alarm watches.
package auditarchive

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// auditPrefix begins the partition key of every audit item (shared/store/dynamostore).
const auditPrefix = "AUDIT#"

// PutObjectFunc writes one object (the S3 client's PutObject).
type PutObjectFunc func(ctx context.Context, in *s3.PutObjectInput, opts ...func(*s3.Options)) (*s3.PutObjectOutput, error)

// Archive writes audit events to Bucket.
type Archive struct {
	Put    PutObjectFunc
	Bucket string
	Log    *slog.Logger
}

// record is what an archived object holds: the stream record's keys and images, in
// DynamoDB's JSON, as the table had them.
type record struct {
	Event    string                                   `json:"event"` // INSERT, MODIFY, REMOVE
	EventID  string                                   `json:"event_id"`
	Keys     map[string]events.DynamoDBAttributeValue `json:"keys"`
	NewImage map[string]events.DynamoDBAttributeValue `json:"new,omitempty"`
	OldImage map[string]events.DynamoDBAttributeValue `json:"old,omitempty"`
}

// Handle archives the audit items of a batch of stream records: the new items of each
// tenant as one object, events/<tenant>/<first sort key>+<count>.jsonl (one record a
// line, in the stream's order), and any other change as its own object,
// changes/<tenant>/<sort key>/<event id>.json. Expiry by time-to-live is not a change.
// One object a batch rather than one an event is what keeps the archive's PUTs cheap
// (the stream's batching window gathers a minute of events). An error makes Lambda
// retry the batch; an object already written is written again as a new version of the
// same key, the first staying locked.
func (a Archive) Handle(ctx context.Context, ev events.DynamoDBEvent) error {
	var errs []error
	put := func(key string, body []byte) {
		if _, err := a.Put(ctx, &s3.PutObjectInput{Bucket: &a.Bucket, Key: &key, Body: bytes.NewReader(body),
			ContentType: str("application/json"), ChecksumAlgorithm: types.ChecksumAlgorithmSha256}); err != nil {
			errs = append(errs, fmt.Errorf("archive %s: %w", key, err))
		}
	}
	type batch struct {
		first string // the sort key of the tenant's first new item in the batch
		lines bytes.Buffer
		n     int
	}
	inserts := map[string]*batch{}
	var tenants []string // in the order they first appear
	for _, rec := range ev.Records {
		pk, sk := rec.Change.Keys["PK"], rec.Change.Keys["SK"]
		if pk.DataType() != events.DataTypeString || !strings.HasPrefix(pk.String(), auditPrefix) || sk.DataType() != events.DataTypeString {
			continue
		}
		tenant := strings.TrimPrefix(pk.String(), auditPrefix)
		if rec.EventName == string(events.DynamoDBOperationTypeRemove) && expired(rec) {
			continue
		}
		body, err := json.Marshal(record{Event: rec.EventName, EventID: rec.EventID, Keys: rec.Change.Keys,
			NewImage: rec.Change.NewImage, OldImage: rec.Change.OldImage})
		if err != nil {
			errs = append(errs, fmt.Errorf("audit record %s: %w", rec.EventID, err))
			continue
		}
		if rec.EventName != string(events.DynamoDBOperationTypeInsert) {
			a.Log.ErrorContext(ctx, "audit item changed", "event", rec.EventName, "tenant", tenant, "sk", sk.String())
			put("changes/"+tenant+"/"+sk.String()+"/"+rec.EventID+".json", body)
			continue
		}
		b := inserts[tenant]
		if b == nil {
			b = &batch{first: sk.String()}
			inserts[tenant] = b
			tenants = append(tenants, tenant)
		}
		b.lines.Write(body)
		b.lines.WriteByte('\n')
		b.n++
	}
	for _, tenant := range tenants {
		b := inserts[tenant]
		put(fmt.Sprintf("events/%s/%s+%d.jsonl", tenant, b.first, b.n), b.lines.Bytes())
	}
	return errors.Join(errs...)
}

// expired reports whether DynamoDB's time-to-live removed the item (the stream names
// the service as the one who removed it).
func expired(rec events.DynamoDBEventRecord) bool {
	return rec.UserIdentity != nil && rec.UserIdentity.Type == "Service" && rec.UserIdentity.PrincipalID == "dynamodb.amazonaws.com"
}

func str(s string) *string { return &s }
