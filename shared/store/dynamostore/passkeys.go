package dynamostore

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/kagiya/kagiya/shared/account"
)

// passkeyItem is a passkey under its account's partition.
type passkeyItem struct {
	PK                string   `dynamodbav:"PK"`
	SK                string   `dynamodbav:"SK"` // the passkey ID
	TenantID          string   `dynamodbav:"tenant_id"`
	AccountID         string   `dynamodbav:"account_id"`
	Name              string   `dynamodbav:"name"`
	CredentialID      []byte   `dynamodbav:"credential_id"`
	PublicKey         []byte   `dynamodbav:"public_key"`
	SignCount         uint32   `dynamodbav:"sign_count"`
	BackupEligible    bool     `dynamodbav:"backup_eligible"`
	BackupState       bool     `dynamodbav:"backup_state"`
	AAGUID            []byte   `dynamodbav:"aaguid,omitempty"`
	Transports        []string `dynamodbav:"transports,omitempty"`
	AttestationFormat string   `dynamodbav:"attestation_format,omitempty"`
	CreatedAt         string   `dynamodbav:"created_at"`
	LastUsedAt        string   `dynamodbav:"last_used_at,omitempty"`
	ChallengeAt       int64    `dynamodbav:"challenge_at"`
}

func toPasskeyItem(p account.Passkey) passkeyItem {
	it := passkeyItem{PK: passkeyPK(p.AccountID), SK: p.ID, TenantID: p.TenantID, AccountID: p.AccountID, Name: p.Name,
		CredentialID: p.CredentialID, PublicKey: p.PublicKey, SignCount: p.SignCount, BackupEligible: p.BackupEligible,
		BackupState: p.BackupState, AAGUID: p.AAGUID, Transports: p.Transports, AttestationFormat: p.AttestationFormat,
		CreatedAt: fmtTime(p.CreatedAt), LastUsedAt: fmtTime(p.LastUsedAt), ChallengeAt: p.ChallengeAt}
	if len(it.Transports) == 0 {
		it.Transports = nil // not stored: minidyn garbles an empty list put in a transaction
	}
	return it
}

func (it passkeyItem) passkey() account.Passkey {
	return account.Passkey{ID: it.SK, TenantID: it.TenantID, AccountID: it.AccountID, Name: it.Name,
		CredentialID: it.CredentialID, PublicKey: it.PublicKey, SignCount: it.SignCount, BackupEligible: it.BackupEligible,
		BackupState: it.BackupState, AAGUID: it.AAGUID, Transports: it.Transports, AttestationFormat: it.AttestationFormat,
		CreatedAt: parseTime(it.CreatedAt), LastUsedAt: parseTime(it.LastUsedAt), ChallengeAt: it.ChallengeAt}
}

func (s *Store) ListPasskeys(ctx context.Context, accountID string) ([]account.Passkey, error) {
	items, err := s.passkeyItems(ctx, accountID)
	if err != nil {
		return nil, err
	}
	var out []account.Passkey
	for _, it := range items {
		out = append(out, it.passkey())
	}
	slices.SortFunc(out, func(a, b account.Passkey) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return out, nil
}

func (s *Store) passkeyItems(ctx context.Context, accountID string) ([]passkeyItem, error) {
	in := &dynamodb.QueryInput{TableName: &s.table, ConsistentRead: aws.Bool(true),
		KeyConditionExpression:    aws.String("PK = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(passkeyPK(accountID))}}
	items, err := queryAll[passkeyItem](ctx, s.db, in)
	if err != nil {
		return nil, fmt.Errorf("list passkeys: %w", err)
	}
	return items, nil
}

func (s *Store) GetPasskeyEventually(ctx context.Context, accountID, id string) (account.Passkey, error) {
	var it passkeyItem
	if err := s.readMostlyEventually(ctx, passkeyPK(accountID), id, &it); err != nil {
		return account.Passkey{}, err
	}
	return it.passkey(), nil
}

// countedPut writes a at its version (as UpdateAccount does) with delta more passkeys.
func (s *Store) countedPut(a account.Account, delta int) (account.Account, types.TransactWriteItem, error) {
	want := a.Version
	a.Version++
	a.Passkeys += delta
	item, err := attributevalue.MarshalMap(toAccountItem(a))
	if err != nil {
		return a, types.TransactWriteItem{}, fmt.Errorf("encode account: %w", err)
	}
	return a, types.TransactWriteItem{Put: &types.Put{TableName: &s.table, Item: item,
		ConditionExpression:       aws.String("version = :v AND login_key = :lk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":v": num(want), ":lk": str(a.Key())}}}, nil
}

func (s *Store) AddPasskey(ctx context.Context, a account.Account, p account.Passkey) (account.Account, error) {
	pi, err := attributevalue.MarshalMap(toPasskeyItem(p))
	if err != nil {
		return account.Account{}, fmt.Errorf("encode passkey: %w", err)
	}
	a, put, err := s.countedPut(a, 1)
	if err != nil {
		return account.Account{}, err
	}
	if err := s.transact(ctx, "add passkey", put,
		types.TransactWriteItem{Put: &types.Put{TableName: &s.table, Item: pi, ConditionExpression: aws.String(notExists)}}); err != nil {
		return account.Account{}, err
	}
	return a, nil
}

func (s *Store) RemovePasskeys(ctx context.Context, a account.Account, ids []string) (account.Account, error) {
	a, put, err := s.countedPut(a, -len(ids))
	if err != nil {
		return account.Account{}, err
	}
	items := []types.TransactWriteItem{put}
	for _, id := range ids {
		items = append(items, types.TransactWriteItem{Delete: &types.Delete{TableName: &s.table, Key: key(passkeyPK(a.ID), id),
			ConditionExpression: aws.String("attribute_exists(PK)")}})
	}
	if err := s.transact(ctx, "remove passkeys", items...); err != nil {
		return account.Account{}, err
	}
	return a, nil
}

func (s *Store) RenamePasskey(ctx context.Context, accountID, id, name string) error {
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &s.table, Key: key(passkeyPK(accountID), id),
		ConditionExpression:       aws.String("attribute_exists(PK)"),
		UpdateExpression:          aws.String("SET #name = :name"),
		ExpressionAttributeNames:  map[string]string{"#name": "name"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":name": str(name)}})
	if conditionFailed(err) {
		return account.ErrNotFound
	} else if err != nil {
		return fmt.Errorf("rename passkey: %w", err)
	}
	return nil
}

func (s *Store) UsePasskey(ctx context.Context, accountID, id string, u account.PasskeyUse) error {
	counted := "sign_count < :n"
	if u.SignCount == 0 {
		counted = "sign_count = :n" // an authenticator without a counter reports 0 every time
	}
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &s.table, Key: key(passkeyPK(accountID), id),
		ConditionExpression: aws.String("attribute_exists(PK) AND challenge_at < :c AND " + counted),
		UpdateExpression:    aws.String("SET sign_count = :n, backup_state = :bs, last_used_at = :t, challenge_at = :c"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":n": num(int64(u.SignCount)), ":c": num(u.ChallengeAt),
			":bs": &types.AttributeValueMemberBOOL{Value: u.BackupState}, ":t": str(fmtTime(u.At))}})
	if conditionFailed(err) {
		var it passkeyItem
		if err := s.get(ctx, passkeyPK(accountID), id, &it); errors.Is(err, account.ErrNotFound) {
			return account.ErrNotFound
		}
		return account.ErrConflict
	} else if err != nil {
		return fmt.Errorf("use passkey: %w", err)
	}
	return nil
}

// passkeyDeletes are the deletes of an account's passkeys, for the account's removal.
func (s *Store) passkeyDeletes(ctx context.Context, accountID string) ([]types.TransactWriteItem, error) {
	items, err := s.passkeyItems(ctx, accountID)
	if err != nil {
		return nil, err
	}
	var out []types.TransactWriteItem
	for _, it := range items {
		out = append(out, types.TransactWriteItem{Delete: &types.Delete{TableName: &s.table, Key: key(it.PK, it.SK)}})
	}
	return out, nil
}
