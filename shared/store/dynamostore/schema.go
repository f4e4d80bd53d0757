package dynamostore

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/kagiya/kagiya/shared/account"
)

type schemaItem struct {
	PK      string `dynamodbav:"PK"`
	SK      string `dynamodbav:"SK"`
	Version int    `dynamodbav:"version"`
}

// SchemaVersion reads the schema item (one strongly consistent GetItem); a table
// without one holds version 1 items.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var it schemaItem
	err := s.get(ctx, pkSchema, skSchema, &it)
	if errors.Is(err, account.ErrNotFound) {
		return 1, nil
	}
	if err != nil {
		return 0, fmt.Errorf("schema version: %w", err)
	}
	return it.Version, nil
}

// RaiseSchemaVersion writes the schema item unless it holds a higher version.
func (s *Store) RaiseSchemaVersion(ctx context.Context, v int) error {
	_, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: &s.table,
		Item: map[string]types.AttributeValue{
			attrPK: str(pkSchema), attrSK: str(skSchema), "version": num(int64(v)),
		},
		ConditionExpression:       aws.String("attribute_not_exists(PK) OR version <= :v"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":v": num(int64(v))},
	})
	if err != nil && !conditionFailed(err) {
		return fmt.Errorf("raise schema version to %s: %w", strconv.Itoa(v), err)
	}
	return nil
}
