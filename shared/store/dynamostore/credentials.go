package dynamostore

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/kagiya/kagiya/shared/account"
)

// credItem is a credential under its owner's partition; its attributes are the
// Credential's own field names.
type credItem struct {
	PK string `dynamodbav:"PK"`
	SK string `dynamodbav:"SK"`
	account.Credential
}

func (s *Store) CreateCredential(ctx context.Context, c account.Credential) error {
	item, err := attributevalue.MarshalMap(credItem{PK: credPK(c.Kind, c.Owner), SK: c.ID, Credential: c})
	if err != nil {
		return fmt.Errorf("encode credential: %w", err)
	}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.table, Item: item, ConditionExpression: aws.String(notExists)})
	if conditionFailed(err) {
		return account.ErrConflict
	} else if err != nil {
		return fmt.Errorf("put credential: %w", err)
	}
	return nil
}

func (s *Store) GetCredential(ctx context.Context, kind, owner, id string) (account.Credential, error) {
	var it credItem
	if err := s.get(ctx, credPK(kind, owner), id, &it); err != nil {
		return account.Credential{}, err
	}
	return it.Credential, nil
}

func (s *Store) ListCredentials(ctx context.Context, kind, owner string) ([]account.Credential, error) {
	return s.listCredentials(ctx, kind, owner, true)
}

// ListCredentialsEventually reads them eventually consistent: half the read units.
func (s *Store) ListCredentialsEventually(ctx context.Context, kind, owner string) ([]account.Credential, error) {
	return s.listCredentials(ctx, kind, owner, false)
}

func (s *Store) listCredentials(ctx context.Context, kind, owner string, consistent bool) ([]account.Credential, error) {
	in := &dynamodb.QueryInput{TableName: &s.table, ConsistentRead: aws.Bool(consistent),
		KeyConditionExpression:    aws.String("PK = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(credPK(kind, owner))}}
	items, err := queryAll[credItem](ctx, s.db, in)
	if err != nil {
		return nil, fmt.Errorf("list credentials: %w", err)
	}
	var out []account.Credential
	for _, it := range items {
		out = append(out, it.Credential)
	}
	slices.SortFunc(out, func(a, b account.Credential) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return out, nil
}

func (s *Store) TouchCredential(ctx context.Context, kind, owner, id string, at time.Time) error {
	t, err := attributevalue.Marshal(at)
	if err != nil {
		return fmt.Errorf("encode time: %w", err)
	}
	_, err = s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &s.table, Key: key(credPK(kind, owner), id),
		ConditionExpression:       aws.String("attribute_exists(PK)"),
		UpdateExpression:          aws.String("SET LastUsedAt = :t"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":t": t}})
	if conditionFailed(err) {
		return account.ErrNotFound
	} else if err != nil {
		return fmt.Errorf("touch credential: %w", err)
	}
	return nil
}

func (s *Store) DeleteCredential(ctx context.Context, kind, owner, id string) error {
	_, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &s.table, Key: key(credPK(kind, owner), id),
		ConditionExpression: aws.String("attribute_exists(PK)")})
	if conditionFailed(err) {
		return account.ErrNotFound
	} else if err != nil {
		return fmt.Errorf("delete credential: %w", err)
	}
	return nil
}
