package dynamostore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/kagiya/kagiya/shared/account"
	"github.com/kagiya/kagiya/shared/outbox"
)

var _ outbox.Marks = (*Store)(nil)

// The outbox's delivery marks: MAIL#<message ID>, state "sending" until lease_until
// (Unix nanoseconds) or "sent", gone by TTL after the queue's retention.

const (
	mailSending = "sending"
	mailSent    = "sent"
)

func mailPK(id string) string { return "MAIL#" + id }

type mailMark struct {
	PK         string `dynamodbav:"PK"`
	SK         string `dynamodbav:"SK"`
	State      string `dynamodbav:"state"`
	LeaseUntil int64  `dynamodbav:"lease_until,omitempty"`
	TTL        int64  `dynamodbav:"expires_at"`
}

// ClaimMail takes the message for this sender until leaseUntil, unless it was sent or
// another sender's lease is running: one conditional write.
func (s *Store) ClaimMail(ctx context.Context, id string, now, leaseUntil, expires time.Time) (outbox.Claim, error) {
	item := map[string]types.AttributeValue{attrPK: str(mailPK(id)), attrSK: str("MAIL"), "state": str(mailSending),
		"lease_until": num(leaseUntil.UnixNano()), "expires_at": num(expires.Unix())}
	_, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.table, Item: item,
		ConditionExpression:       aws.String("attribute_not_exists(PK) OR (#s = :sending AND lease_until < :now)"),
		ExpressionAttributeNames:  map[string]string{"#s": "state"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":sending": str(mailSending), ":now": num(now.UnixNano())}})
	if err == nil {
		return outbox.Claimed, nil
	}
	if !conditionFailed(err) {
		return outbox.Busy, fmt.Errorf("claim mail: %w", err)
	}
	var m mailMark
	if err := s.get(ctx, mailPK(id), "MAIL", &m); errors.Is(err, account.ErrNotFound) {
		return outbox.Busy, nil // released meanwhile: the next try claims it
	} else if err != nil {
		return outbox.Busy, fmt.Errorf("claim mail: %w", err)
	}
	if m.State == mailSent {
		return outbox.AlreadySent, nil
	}
	return outbox.Busy, nil
}

// MarkMailSent records the delivery until expires.
func (s *Store) MarkMailSent(ctx context.Context, id string, expires time.Time) error {
	_, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.table, Item: map[string]types.AttributeValue{
		attrPK: str(mailPK(id)), attrSK: str("MAIL"), "state": str(mailSent), "expires_at": num(expires.Unix())}})
	if err != nil {
		return fmt.Errorf("mark mail sent: %w", err)
	}
	return nil
}

// ReleaseMail gives a claim back after a failed send, so the next try need not wait for
// the lease; a mark that says sent stays.
func (s *Store) ReleaseMail(ctx context.Context, id string) error {
	_, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &s.table, Key: key(mailPK(id), "MAIL"),
		ConditionExpression:       aws.String("#s = :sending"),
		ExpressionAttributeNames:  map[string]string{"#s": "state"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":sending": str(mailSending)}})
	if err != nil && !conditionFailed(err) {
		return fmt.Errorf("release mail: %w", err)
	}
	return nil
}
