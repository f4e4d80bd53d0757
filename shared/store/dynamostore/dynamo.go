// Package dynamostore is the account.Store on one DynamoDB table (PK/SK strings,
// PAY_PER_REQUEST, TTL on expires_at). Expiry is always checked in code as well, since
// TTL deletion is late in AWS and absent in emulators.
package dynamostore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"github.com/kagiya/kagiya/shared/account"
	"github.com/kagiya/kagiya/shared/bulk"
)

// Client is the part of the DynamoDB API this store uses.
type Client interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
	Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, opts ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
}

// Store is an account.Store on a DynamoDB table.
type Store struct {
	db             Client
	table          string
	auditRetention time.Duration
}

var (
	_ account.Store = (*Store)(nil)
	_ bulk.JobStore = (*Store)(nil)
)

// New returns a Store on table. Audit events are kept for auditRetention (their
// time-to-live; 0: account.DefaultAuditTableDays).
func New(db Client, table string, auditRetention time.Duration) *Store {
	if auditRetention <= 0 {
		auditRetention = account.DefaultAuditTableDays * 24 * time.Hour
	}
	return &Store{db: db, table: table, auditRetention: auditRetention}
}

func key(pk, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{attrPK: &types.AttributeValueMemberS{Value: pk}, attrSK: &types.AttributeValueMemberS{Value: sk}}
}

func str(s string) types.AttributeValue { return &types.AttributeValueMemberS{Value: s} }
func num(n int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
}

// conditionFailed reports whether err is a failed condition, alone or in a transaction.
func conditionFailed(err error) bool {
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return true
	}
	var tce *types.TransactionCanceledException
	if errors.As(err, &tce) {
		for _, r := range tce.CancellationReasons {
			if aws.ToString(r.Code) == "ConditionalCheckFailed" {
				return true
			}
		}
	}
	return false
}

const notExists = "attribute_not_exists(PK)"

// isValidation reports whether err is DynamoDB's ValidationException.
func isValidation(err error) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && ae.ErrorCode() == "ValidationException"
}

func (s *Store) get(ctx context.Context, pk, sk string, out any) error {
	return s.read(ctx, pk, sk, true, out)
}

// read gets one item, strongly consistent or not.
func (s *Store) read(ctx context.Context, pk, sk string, consistent bool, out any) error {
	res, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table, Key: key(pk, sk), ConsistentRead: aws.Bool(consistent)})
	if err != nil {
		return fmt.Errorf("get %s: %w", pk, err)
	}
	if res.Item == nil {
		return account.ErrNotFound
	}
	if err := attributevalue.UnmarshalMap(res.Item, out); err != nil {
		return fmt.Errorf("decode %s: %w", pk, err)
	}
	return nil
}

// readMostlyEventually reads an item that, once written, rarely changes (a session, a
// login ID): an eventually consistent read (half the cost), and a strongly consistent one
// only when that finds nothing, so an item written a moment ago is never missed.
func (s *Store) readMostlyEventually(ctx context.Context, pk, sk string, out any) error {
	err := s.read(ctx, pk, sk, false, out)
	if errors.Is(err, account.ErrNotFound) {
		err = s.read(ctx, pk, sk, true, out)
	}
	return err
}

func (s *Store) transact(ctx context.Context, what string, items ...types.TransactWriteItem) error {
	_, err := s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
	if conditionFailed(err) {
		return account.ErrConflict
	} else if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// accountPuts are the two puts that create an account: the account and its login ID's
// uniqueness item, each only if absent.
func (s *Store) accountPuts(a account.Account) ([]types.TransactWriteItem, error) {
	a.Version = 1
	ai, err := attributevalue.MarshalMap(toAccountItem(a))
	if err != nil {
		return nil, fmt.Errorf("encode account: %w", err)
	}
	li, err := attributevalue.MarshalMap(loginItem{PK: loginPK(a.Key()), SK: skLogin, TenantID: a.TenantID, AccountID: a.ID})
	if err != nil {
		return nil, fmt.Errorf("encode login: %w", err)
	}
	return []types.TransactWriteItem{
		{Put: &types.Put{TableName: &s.table, Item: ai, ConditionExpression: aws.String(notExists)}},
		{Put: &types.Put{TableName: &s.table, Item: li, ConditionExpression: aws.String(notExists)}},
		s.countAccount(a.TenantID, 1),
	}, nil
}

func (s *Store) CreateTenant(ctx context.Context, t account.Tenant, owner account.Account) error {
	ti, err := attributevalue.MarshalMap(toTenantItem(t))
	if err != nil {
		return fmt.Errorf("encode tenant: %w", err)
	}
	puts, err := s.accountPuts(owner)
	if err != nil {
		return err
	}
	return s.transact(ctx, "create tenant "+t.ID,
		append(puts, types.TransactWriteItem{Put: &types.Put{TableName: &s.table, Item: ti, ConditionExpression: aws.String(notExists)}})...)
}

func (s *Store) GetTenant(ctx context.Context, id string) (account.Tenant, error) {
	var it tenantItem
	if err := s.get(ctx, tenantPK(id), skTenant, &it); err != nil {
		return account.Tenant{}, err
	}
	return it.tenant(), nil
}

func (s *Store) UpdateTenant(ctx context.Context, t account.Tenant) error {
	item, err := attributevalue.MarshalMap(toTenantItem(t))
	if err != nil {
		return fmt.Errorf("encode tenant: %w", err)
	}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.table, Item: item, ConditionExpression: aws.String("attribute_exists(PK)")})
	if conditionFailed(err) {
		return account.ErrNotFound
	} else if err != nil {
		return fmt.Errorf("update tenant %s: %w", t.ID, err)
	}
	return nil
}

func (s *Store) DomainHolder(ctx context.Context, domain string) (string, error) {
	var it domainItem
	if err := s.get(ctx, domainPK(domain), skDomain, &it); err != nil {
		return "", err
	}
	return it.TenantID, nil
}

// tenantPut replaces an existing tenant, as one item of a transaction.
func (s *Store) tenantPut(t account.Tenant) (types.TransactWriteItem, error) {
	item, err := attributevalue.MarshalMap(toTenantItem(t))
	if err != nil {
		return types.TransactWriteItem{}, fmt.Errorf("encode tenant: %w", err)
	}
	return types.TransactWriteItem{Put: &types.Put{TableName: &s.table, Item: item, ConditionExpression: aws.String("attribute_exists(PK)")}}, nil
}

// heldByOrFree is the condition on a domain item that t may write or remove.
const heldByOrFree = "attribute_not_exists(PK) OR tenant_id = :t"

func (s *Store) ClaimDomain(ctx context.Context, t account.Tenant, domain string) error {
	tp, err := s.tenantPut(t)
	if err != nil {
		return err
	}
	di, err := attributevalue.MarshalMap(domainItem{PK: domainPK(domain), SK: skDomain, TenantID: t.ID})
	if err != nil {
		return fmt.Errorf("encode domain: %w", err)
	}
	err = s.transact(ctx, "claim domain "+domain, tp, types.TransactWriteItem{Put: &types.Put{TableName: &s.table, Item: di,
		ConditionExpression: aws.String(heldByOrFree), ExpressionAttributeValues: map[string]types.AttributeValue{":t": str(t.ID)}}})
	if errors.Is(err, account.ErrConflict) {
		if _, gerr := s.GetTenant(ctx, t.ID); errors.Is(gerr, account.ErrNotFound) {
			return account.ErrNotFound
		}
	}
	return err
}

func (s *Store) ReleaseDomains(ctx context.Context, t account.Tenant, domains []string) error {
	tp, err := s.tenantPut(t)
	if err != nil {
		return err
	}
	items := []types.TransactWriteItem{tp}
	for _, d := range domains {
		holder, err := s.DomainHolder(ctx, d)
		if errors.Is(err, account.ErrNotFound) || err == nil && holder != t.ID {
			continue
		} else if err != nil {
			return err
		}
		items = append(items, types.TransactWriteItem{Delete: &types.Delete{TableName: &s.table, Key: key(domainPK(d), skDomain),
			ConditionExpression: aws.String(heldByOrFree), ExpressionAttributeValues: map[string]types.AttributeValue{":t": str(t.ID)}}})
	}
	err = s.transact(ctx, "release domains", items...)
	if errors.Is(err, account.ErrConflict) {
		return account.ErrNotFound // the tenant is gone: the domain items' conditions cannot fail
	}
	return err
}

func (s *Store) CreateAccount(ctx context.Context, a account.Account) error {
	puts, err := s.accountPuts(a)
	if err != nil {
		return err
	}
	return s.transact(ctx, "create account", puts...)
}

func (s *Store) LookupLogin(ctx context.Context, loginKey string) (account.LoginRef, error) {
	var it loginItem
	if err := s.readMostlyEventually(ctx, loginPK(loginKey), skLogin, &it); err != nil {
		return account.LoginRef{}, err
	}
	return account.LoginRef{TenantID: it.TenantID, AccountID: it.AccountID}, nil
}

func (s *Store) GetAccount(ctx context.Context, tenantID, id string) (account.Account, error) {
	var it accountItem
	if err := s.get(ctx, tenantPK(tenantID), accountSK(id), &it); err != nil {
		return account.Account{}, err
	}
	return it.account(), nil
}

func (s *Store) GetAccountEventually(ctx context.Context, tenantID, id string) (account.Account, error) {
	var it accountItem
	if err := s.read(ctx, tenantPK(tenantID), accountSK(id), false, &it); err != nil {
		return account.Account{}, err
	}
	return it.account(), nil
}

// absentOrConflict tells a failed condition on an account apart: gone, or changed.
func (s *Store) absentOrConflict(ctx context.Context, tenantID, id string) error {
	if _, err := s.GetAccount(ctx, tenantID, id); errors.Is(err, account.ErrNotFound) {
		return account.ErrNotFound
	}
	return account.ErrConflict
}

func (s *Store) UpdateAccount(ctx context.Context, a account.Account) (account.Account, error) {
	want := a.Version
	a.Version++
	item, err := attributevalue.MarshalMap(toAccountItem(a))
	if err != nil {
		return account.Account{}, fmt.Errorf("encode account: %w", err)
	}
	// The login ID changes only with its uniqueness item (ChangeLoginID).
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.table, Item: item,
		ConditionExpression:       aws.String("version = :v AND login_key = :lk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":v": num(want), ":lk": str(a.Key())}})
	if conditionFailed(err) {
		return account.Account{}, s.absentOrConflict(ctx, a.TenantID, a.ID)
	} else if err != nil {
		return account.Account{}, fmt.Errorf("update account: %w", err)
	}
	return a, nil
}

func (s *Store) ChangeLoginID(ctx context.Context, a account.Account, newLoginID string) (account.Account, error) {
	cur, err := s.GetAccount(ctx, a.TenantID, a.ID)
	if err != nil {
		return account.Account{}, err
	}
	if cur.Version != a.Version {
		return account.Account{}, account.ErrConflict
	}
	next := a
	next.LoginID = newLoginID
	next.Version++
	item, err := attributevalue.MarshalMap(toAccountItem(next))
	if err != nil {
		return account.Account{}, fmt.Errorf("encode account: %w", err)
	}
	items := []types.TransactWriteItem{{Put: &types.Put{TableName: &s.table, Item: item,
		ConditionExpression:       aws.String("version = :v"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":v": num(a.Version)}}}}
	if next.Key() != cur.Key() {
		li, err := attributevalue.MarshalMap(loginItem{PK: loginPK(next.Key()), SK: skLogin, TenantID: a.TenantID, AccountID: a.ID})
		if err != nil {
			return account.Account{}, fmt.Errorf("encode login: %w", err)
		}
		items = append(items,
			types.TransactWriteItem{Put: &types.Put{TableName: &s.table, Item: li, ConditionExpression: aws.String(notExists)}},
			types.TransactWriteItem{Delete: &types.Delete{TableName: &s.table, Key: key(loginPK(cur.Key()), skLogin),
				ConditionExpression:       aws.String("account_id = :id"),
				ExpressionAttributeValues: map[string]types.AttributeValue{":id": str(a.ID)}}})
	}
	if err := s.transact(ctx, "change login id", items...); err != nil {
		return account.Account{}, err
	}
	return next, nil
}

func (s *Store) DeleteAccount(ctx context.Context, tenantID, id string) error {
	for range 5 {
		a, err := s.GetAccount(ctx, tenantID, id)
		if err != nil {
			return err
		}
		// A passkey added since this list was read changed the account's version.
		passkeys, err := s.passkeyDeletes(ctx, id)
		if err != nil {
			return err
		}
		// The version condition makes sure the login item removed is the account's own.
		err = s.transact(ctx, "delete account", append([]types.TransactWriteItem{
			{Delete: &types.Delete{TableName: &s.table, Key: key(tenantPK(tenantID), accountSK(id)),
				ConditionExpression:       aws.String("version = :v"),
				ExpressionAttributeValues: map[string]types.AttributeValue{":v": num(a.Version)}}},
			{Delete: &types.Delete{TableName: &s.table, Key: key(loginPK(a.Key()), skLogin)}},
			{Delete: &types.Delete{TableName: &s.table, Key: key(tenantPK(tenantID), historySK(id))}},
			{Delete: &types.Delete{TableName: &s.table, Key: key(tenantPK(tenantID), recoverySK(id))}},
			s.countAccount(tenantID, -1)}, passkeys...)...)
		if !errors.Is(err, account.ErrConflict) {
			return err
		}
	}
	return fmt.Errorf("delete account %s: it kept changing", id)
}

func (s *Store) GetHistory(ctx context.Context, tenantID, id string) ([]string, error) {
	var it historyItem
	err := s.get(ctx, tenantPK(tenantID), historySK(id), &it)
	if errors.Is(err, account.ErrNotFound) {
		return nil, nil
	}
	return it.Hashes, err
}

func (s *Store) PutHistory(ctx context.Context, tenantID, id string, hashes []string) error {
	item, err := attributevalue.MarshalMap(historyItem{PK: tenantPK(tenantID), SK: historySK(id), Hashes: hashes})
	if err != nil {
		return fmt.Errorf("encode history: %w", err)
	}
	if _, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.table, Item: item}); err != nil {
		return fmt.Errorf("put history: %w", err)
	}
	return nil
}

type recoveryItem struct {
	PK    string   `dynamodbav:"PK"`
	SK    string   `dynamodbav:"SK"`
	Codes []string `dynamodbav:"codes,stringset"`
}

func (s *Store) RecoveryCodes(ctx context.Context, tenantID, id string) ([]string, error) {
	var it recoveryItem
	err := s.get(ctx, tenantPK(tenantID), recoverySK(id), &it)
	if errors.Is(err, account.ErrNotFound) {
		return nil, nil
	}
	return it.Codes, err
}

func (s *Store) PutRecoveryCodes(ctx context.Context, tenantID, id string, hashes []string) error {
	if len(hashes) == 0 {
		if _, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &s.table, Key: key(tenantPK(tenantID), recoverySK(id))}); err != nil {
			return fmt.Errorf("delete recovery codes: %w", err)
		}
		return nil
	}
	item, err := attributevalue.MarshalMap(recoveryItem{PK: tenantPK(tenantID), SK: recoverySK(id), Codes: hashes})
	if err != nil {
		return fmt.Errorf("encode recovery codes: %w", err)
	}
	if _, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.table, Item: item}); err != nil {
		return fmt.Errorf("put recovery codes: %w", err)
	}
	return nil
}

// UseRecoveryCode deletes the hash from the code set on condition that the set holds it:
// one conditional write, so of parallel uses exactly one succeeds. A read comes first, so
// that a wrong code costs no write (and an account without codes has no set to test).
func (s *Store) UseRecoveryCode(ctx context.Context, tenantID, id, hash string) (int, error) {
	codes, err := s.RecoveryCodes(ctx, tenantID, id)
	if err != nil {
		return 0, err
	}
	if !slices.Contains(codes, hash) {
		return 0, account.ErrNotFound
	}
	if len(codes) == 1 { // the last one: the item goes, rather than leave an empty set
		_, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &s.table, Key: key(tenantPK(tenantID), recoverySK(id)),
			ConditionExpression:       aws.String("contains(codes, :h)"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":h": str(hash)}})
		if conditionFailed(err) {
			return 0, account.ErrNotFound
		} else if err != nil {
			return 0, fmt.Errorf("use recovery code: %w", err)
		}
		return 0, nil
	}
	out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &s.table, Key: key(tenantPK(tenantID), recoverySK(id)),
		ConditionExpression:       aws.String("attribute_exists(codes) AND contains(codes, :h)"),
		UpdateExpression:          aws.String("DELETE codes :set"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":h": str(hash), ":set": &types.AttributeValueMemberSS{Value: []string{hash}}},
		ReturnValues:              types.ReturnValueAllNew,
	})
	if conditionFailed(err) {
		return 0, account.ErrNotFound
	} else if err != nil {
		return 0, fmt.Errorf("use recovery code: %w", err)
	}
	left := 0
	if ss, ok := out.Attributes["codes"].(*types.AttributeValueMemberSS); ok {
		left = len(ss.Value)
	}
	return left, nil
}

func (s *Store) RecordLogin(ctx context.Context, tenantID, id string, at time.Time) error {
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &s.table, Key: key(tenantPK(tenantID), accountSK(id)),
		ConditionExpression: aws.String("attribute_exists(PK)"),
		UpdateExpression:    aws.String("SET last_login_at = :t, last_login_key = :llk, failed_attempts = :zero ADD version :one"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":t": str(fmtTime(at)), ":llk": str(lastLoginKey(at, id)), ":zero": num(0), ":one": num(1)},
	})
	if conditionFailed(err) {
		return account.ErrNotFound
	} else if err != nil {
		return fmt.Errorf("record login: %w", err)
	}
	return nil
}

func (s *Store) CreateSession(ctx context.Context, sess account.Session) error {
	item, err := attributevalue.MarshalMap(sessionItem{PK: sessionPK(sess.AccountID), SK: sess.IDHash, IDHash: sess.IDHash,
		TenantID: sess.TenantID, AccountID: sess.AccountID, IP: sess.IP, UserAgent: sess.UserAgent, Epoch: sess.Epoch, AMR: sess.AMR,
		IdPAuthAt: fmtTime(sess.IdPAuthAt), CreatedAt: fmtTime(sess.CreatedAt), LastSeenAt: fmtTime(sess.LastSeenAt), ExpiresAt: fmtTime(sess.ExpiresAt), TTL: sess.ExpiresAt.Unix()})
	if err != nil {
		return fmt.Errorf("encode session: %w", err)
	}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.table, Item: item, ConditionExpression: aws.String(notExists)})
	if conditionFailed(err) {
		return account.ErrConflict
	} else if err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	return nil
}

func (it sessionItem) session() account.Session {
	return account.Session{IDHash: it.IDHash, TenantID: it.TenantID, AccountID: it.AccountID, IP: it.IP, UserAgent: it.UserAgent,
		Epoch: it.Epoch, AMR: it.AMR, IdPAuthAt: parseTime(it.IdPAuthAt), CreatedAt: parseTime(it.CreatedAt), LastSeenAt: parseTime(it.LastSeenAt), ExpiresAt: parseTime(it.ExpiresAt)}
}

func (s *Store) GetSession(ctx context.Context, accountID, idHash string) (account.Session, error) {
	var it sessionItem
	if err := s.readMostlyEventually(ctx, sessionPK(accountID), idHash, &it); err != nil {
		return account.Session{}, err
	}
	return it.session(), nil
}

func (s *Store) TouchSession(ctx context.Context, accountID, idHash string, at time.Time) error {
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &s.table, Key: key(sessionPK(accountID), idHash),
		ConditionExpression:       aws.String("attribute_exists(PK)"),
		UpdateExpression:          aws.String("SET last_seen_at = :t"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":t": str(fmtTime(at))},
	})
	if conditionFailed(err) {
		return account.ErrNotFound
	} else if err != nil {
		return fmt.Errorf("touch session: %w", err)
	}
	return nil
}

func (s *Store) DeleteSession(ctx context.Context, accountID, idHash string) error {
	_, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &s.table, Key: key(sessionPK(accountID), idHash),
		ConditionExpression: aws.String("attribute_exists(PK)")})
	if conditionFailed(err) {
		return account.ErrNotFound
	} else if err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

func (s *Store) ListSessions(ctx context.Context, accountID string) ([]account.Session, error) {
	in := &dynamodb.QueryInput{TableName: &s.table, ConsistentRead: aws.Bool(true),
		KeyConditionExpression:    aws.String("PK = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(sessionPK(accountID))}}
	items, err := queryAll[sessionItem](ctx, s.db, in)
	if err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	var out []account.Session
	for _, it := range items {
		out = append(out, it.session())
	}
	slices.SortFunc(out, func(a, b account.Session) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return out, nil
}

// queryAll reads in whole, a 1 MB page at a time, each item decoded as T.
func queryAll[T any](ctx context.Context, db Client, in *dynamodb.QueryInput) ([]T, error) {
	var out []T
	for {
		res, err := db.Query(ctx, in)
		if err != nil {
			return nil, err
		}
		for _, raw := range res.Items {
			var it T
			if err := attributevalue.UnmarshalMap(raw, &it); err != nil {
				return nil, fmt.Errorf("decode: %w", err)
			}
			out = append(out, it)
		}
		if res.LastEvaluatedKey == nil {
			return out, nil
		}
		in.ExclusiveStartKey = res.LastEvaluatedKey
	}
}

func (s *Store) AppendAudit(ctx context.Context, e account.AuditEvent) error {
	r := make([]byte, 4)
	if _, err := rand.Read(r); err != nil {
		return fmt.Errorf("audit key: %w", err)
	}
	item, err := attributevalue.MarshalMap(auditItem{PK: auditPK(e.TenantID),
		SK: e.At.UTC().Format("20060102T150405.000000000") + "#" + hex.EncodeToString(r),
		At: fmtTime(e.At), Actor: e.Actor, Action: e.Action, Target: e.Target, TargetID: e.TargetID, IP: e.IP, Result: e.Result,
		TTL: e.At.Add(s.auditRetention).Unix()})
	if err != nil {
		return fmt.Errorf("encode audit: %w", err)
	}
	if _, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.table, Item: item}); err != nil {
		return fmt.Errorf("append audit: %w", err)
	}
	return nil
}

func (s *Store) ListAudit(ctx context.Context, tenantID, after string, limit int) ([]account.AuditEvent, string, error) {
	in := &dynamodb.QueryInput{TableName: &s.table, ScanIndexForward: aws.Bool(false),
		KeyConditionExpression:    aws.String("PK = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(auditPK(tenantID))},
		Limit:                     aws.Int32(int32(limit + 1)),
	}
	if after != "" {
		in.ExclusiveStartKey = key(auditPK(tenantID), after)
	}
	res, err := s.db.Query(ctx, in)
	if err != nil {
		return nil, "", fmt.Errorf("list audit: %w", err)
	}
	var out []account.AuditEvent
	var sks []string
	for _, raw := range res.Items {
		var it auditItem
		if err := attributevalue.UnmarshalMap(raw, &it); err != nil {
			return nil, "", fmt.Errorf("decode audit: %w", err)
		}
		out = append(out, account.AuditEvent{TenantID: tenantID, At: parseTime(it.At), Actor: it.Actor,
			Action: it.Action, Target: it.Target, TargetID: it.TargetID, IP: it.IP, Result: it.Result})
		sks = append(sks, it.SK)
	}
	if len(out) > limit {
		return out[:limit], sks[limit-1], nil
	}
	return out, "", nil
}

func (s *Store) Hit(ctx context.Context, k string, windowEnd time.Time) (int, error) {
	res, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &s.table, Key: key(hitPK(k), skHit),
		UpdateExpression: aws.String("ADD n :one SET expires_at = :ttl"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":one": num(1), ":ttl": num(windowEnd.Add(time.Hour).Unix())},
		ReturnValues: types.ReturnValueUpdatedNew,
	})
	if err != nil {
		return 0, fmt.Errorf("hit: %w", err)
	}
	var out struct {
		N int `dynamodbav:"n"`
	}
	if err := attributevalue.UnmarshalMap(res.Attributes, &out); err != nil {
		return 0, fmt.Errorf("decode hit: %w", err)
	}
	return out.N, nil
}

// CreateTable makes the table (PK/SK, on-demand) for tests and the operator command; in
// AWS, template.yaml owns it. A table of that name already there is not an error: the
// SDK retries a create whose answer was lost, and the retry finds the first one's table.
func CreateTable(ctx context.Context, db interface {
	CreateTable(context.Context, *dynamodb.CreateTableInput, ...func(*dynamodb.Options)) (*dynamodb.CreateTableOutput, error)
}, table string) error {
	_, err := db.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:   &table,
		BillingMode: types.BillingModePayPerRequest,
		AttributeDefinitions: append([]types.AttributeDefinition{
			{AttributeName: aws.String(attrPK), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String(attrSK), AttributeType: types.ScalarAttributeTypeS},
		}, indexAttributes()...),
		GlobalSecondaryIndexes: GlobalSecondaryIndexes(),
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String(attrPK), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String(attrSK), KeyType: types.KeyTypeRange},
		},
	})
	var exists *types.ResourceInUseException
	if err != nil && !errors.As(err, &exists) {
		return fmt.Errorf("create table %s: %w", table, err)
	}
	return nil
}

// accountUpdate runs an UpdateItem on an account; a failed condition is reported as
// (false, nil), a missing account as ErrNotFound.
func (s *Store) accountUpdate(ctx context.Context, tenantID, id, update, cond string, values map[string]types.AttributeValue, ret types.ReturnValue) (*dynamodb.UpdateItemOutput, bool, error) {
	values[":one"] = num(1)
	res, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &s.table, Key: key(tenantPK(tenantID), accountSK(id)),
		UpdateExpression:          aws.String(update + " ADD version :one"),
		ConditionExpression:       aws.String("attribute_exists(PK) AND " + cond),
		ExpressionAttributeValues: values,
		ReturnValues:              ret,
	})
	if conditionFailed(err) {
		return nil, false, nil
	} else if err != nil {
		return nil, false, fmt.Errorf("update account: %w", err)
	}
	return res, true, nil
}

// ReserveAttempt is one conditional update that returns the whole account as written, so
// a sign-in reads nothing else of it. A failed condition is not told apart from a missing
// account here (the caller reads the account on that rare path).
func (s *Store) ReserveAttempt(ctx context.Context, tenantID, id string, threshold int, at time.Time) (account.Account, bool, error) {
	res, ok, err := s.accountUpdate(ctx, tenantID, id, "SET failed_attempts = failed_attempts + :one, last_attempt_at = :at",
		"attribute_not_exists(locked_at) AND failed_attempts < :t AND disabled = :no AND attribute_exists(password_hash)",
		map[string]types.AttributeValue{":t": num(int64(threshold)), ":no": &types.AttributeValueMemberBOOL{Value: false}, ":at": str(fmtTime(at))}, types.ReturnValueAllNew)
	if err != nil || !ok {
		return account.Account{}, false, err
	}
	var it accountItem
	if err := attributevalue.UnmarshalMap(res.Attributes, &it); err != nil {
		return account.Account{}, false, fmt.Errorf("decode attempt: %w", err)
	}
	return it.account(), true, nil
}

// ReleaseAttempt takes one off the counter in one conditional update; a counter at 0 or
// a locked account is left as it is.
func (s *Store) ReleaseAttempt(ctx context.Context, tenantID, id string) error {
	_, _, err := s.accountUpdate(ctx, tenantID, id, "SET failed_attempts = failed_attempts - :one",
		"attribute_not_exists(locked_at) AND failed_attempts > :zero", map[string]types.AttributeValue{":zero": num(0)}, types.ReturnValueNone)
	return err
}

// ReserveDeviceAttempt adds to the browser's counter in the account's devices map and
// to the account's hourly count of known-browser attempts, in one conditional write
// that also holds the cookie's session epoch.
// The map does not exist until a first reservation makes it (a nested path needs its
// map), and the hour's count starts again in a new hour: the write is tried in each of
// those shapes, the usual one first; of two first reservations at once, the second is
// refused and the sign-in counts as an unknown client's.
func (s *Store) ReserveDeviceAttempt(ctx context.Context, tenantID, id, deviceID string, lim account.DeviceLimits) (account.Account, bool, error) {
	const (
		usable    = "attribute_exists(PK) AND disabled = :no AND attribute_exists(password_hash) AND session_epoch = :e"
		slot      = " AND attribute_exists(devices) AND (devices.#d < :t OR (attribute_not_exists(devices.#d) AND size(devices) < :max))"
		noMap     = " AND attribute_not_exists(devices)"
		sameHour  = " AND device_hour = :h AND device_hour_n < :ceil"
		otherHour = " AND (attribute_not_exists(device_hour) OR device_hour <> :h)"
		count     = "SET devices.#d = if_not_exists(devices.#d, :zero) + :one, "
		start     = "SET devices = :first, "
	)
	tries := []struct{ update, cond string }{
		{count + "device_hour_n = device_hour_n + :one ADD version :one", usable + slot + sameHour},
		{count + "device_hour = :h, device_hour_n = :one ADD version :one", usable + slot + otherHour},
		{start + "device_hour_n = device_hour_n + :one ADD version :one", usable + noMap + sameHour},
		{start + "device_hour = :h, device_hour_n = :one ADD version :one", usable + noMap + otherHour},
	}
	// :max counts the map's anchor too (items.go).
	values := map[string]types.AttributeValue{":zero": num(0), ":one": num(1), ":t": num(int64(lim.Threshold)),
		":max": num(int64(lim.MaxDevices + 1)), ":ceil": num(int64(lim.HourlyCeiling)), ":h": str(lim.Hour()),
		":no": &types.AttributeValueMemberBOOL{Value: false}, ":e": num(lim.Epoch),
		":first": &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{deviceAnchor: num(0), deviceID: num(1)}}}
	for _, try := range tries {
		// Each shape names only the values it uses (DynamoDB refuses unused ones).
		used := map[string]types.AttributeValue{}
		expr := try.update + " " + try.cond
		for _, k := range placeholder.FindAllString(expr, -1) {
			used[k] = values[k]
		}
		var names map[string]string
		if strings.Contains(expr, "#d") {
			names = map[string]string{"#d": deviceID}
		}
		res, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &s.table, Key: key(tenantPK(tenantID), accountSK(id)),
			UpdateExpression: aws.String(try.update), ConditionExpression: aws.String(try.cond),
			ExpressionAttributeNames: names, ExpressionAttributeValues: used, ReturnValues: types.ReturnValueAllNew})
		// Without the map, DynamoDB may answer the nested path with a failed condition or
		// with a validation error (emulators differ): either way, try the next shape.
		if conditionFailed(err) || isValidation(err) {
			continue
		} else if err != nil {
			return account.Account{}, false, fmt.Errorf("reserve device attempt: %w", err)
		}
		var it accountItem
		if err := attributevalue.UnmarshalMap(res.Attributes, &it); err != nil {
			return account.Account{}, false, fmt.Errorf("decode attempt: %w", err)
		}
		return it.account(), true, nil
	}
	return account.Account{}, false, nil
}

// placeholder is a value's name in an expression.
var placeholder = regexp.MustCompile(`:[a-z]+`)

// RecordDeviceLogin drops the browser's counter: the map holds browsers with failures
// only (and the anchor, so that it never becomes empty).
func (s *Store) RecordDeviceLogin(ctx context.Context, tenantID, id, deviceID string, at time.Time) error {
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &s.table, Key: key(tenantPK(tenantID), accountSK(id)),
		ConditionExpression:      aws.String("attribute_exists(PK) AND attribute_exists(devices)"), // the reservation made it
		UpdateExpression:         aws.String("SET last_login_at = :t, last_login_key = :llk ADD version :one REMOVE devices.#d"),
		ExpressionAttributeNames: map[string]string{"#d": deviceID},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":t": str(fmtTime(at)), ":llk": str(lastLoginKey(at, id)), ":one": num(1)},
	})
	if conditionFailed(err) {
		return account.ErrNotFound
	} else if err != nil {
		return fmt.Errorf("record device login: %w", err)
	}
	return nil
}

func (s *Store) Secret(ctx context.Context, name string, fresh []byte) ([]byte, error) {
	item, err := attributevalue.MarshalMap(secretItem{PK: secretPK(name), SK: skSecret, Value: fresh})
	if err != nil {
		return nil, fmt.Errorf("encode secret: %w", err)
	}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.table, Item: item, ConditionExpression: aws.String(notExists)})
	if err != nil && !conditionFailed(err) {
		return nil, fmt.Errorf("store secret %s: %w", name, err)
	}
	var it secretItem
	if err := s.get(ctx, secretPK(name), skSecret, &it); err != nil {
		return nil, fmt.Errorf("read secret %s: %w", name, err)
	}
	return it.Value, nil
}

func (s *Store) Lock(ctx context.Context, tenantID, id string, threshold int, at, linkUntil time.Time) (bool, error) {
	_, ok, err := s.accountUpdate(ctx, tenantID, id, "SET locked_at = :at, s_locked = :tenant, unlock_link_until = :until",
		"attribute_not_exists(locked_at) AND failed_attempts >= :t",
		map[string]types.AttributeValue{":t": num(int64(threshold)), ":at": str(fmtTime(at)), ":tenant": str(tenantID), ":until": str(fmtTime(linkUntil))}, types.ReturnValueNone)
	if err == nil && !ok {
		if _, gerr := s.GetAccount(ctx, tenantID, id); errors.Is(gerr, account.ErrNotFound) {
			return false, account.ErrNotFound
		}
	}
	return ok, err
}

// Unlock is a read and a version-conditioned write, retried on a race: REMOVE of a
// top-level attribute is not applied by minidyn, and a full write works everywhere.
func (s *Store) Unlock(ctx context.Context, tenantID, id string) error {
	for range 10 {
		a, err := s.GetAccount(ctx, tenantID, id)
		if err != nil {
			return err
		}
		if !a.Locked() {
			return account.ErrConflict
		}
		a.LockedAt, a.FailedAttempts = time.Time{}, 0
		if _, err := s.UpdateAccount(ctx, a); !errors.Is(err, account.ErrConflict) {
			return err
		}
	}
	return fmt.Errorf("unlock %s: the account kept changing", id)
}

func (s *Store) CreateToken(ctx context.Context, t account.Token) error {
	item, err := attributevalue.MarshalMap(tokenItem{PK: tokenPK(t.IDHash), SK: skToken, IDHash: t.IDHash, Purpose: t.Purpose,
		TenantID: t.TenantID, AccountID: t.AccountID, Data: t.Data, CreatedAt: fmtTime(t.CreatedAt),
		Expires: t.ExpiresAt.UnixNano(), TTL: t.ExpiresAt.Unix() + 1})
	if err != nil {
		return fmt.Errorf("encode token: %w", err)
	}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.table, Item: item, ConditionExpression: aws.String(notExists)})
	if conditionFailed(err) {
		return account.ErrConflict
	} else if err != nil {
		return fmt.Errorf("create token: %w", err)
	}
	return nil
}

func (s *Store) PeekToken(ctx context.Context, idHash, purpose string, now time.Time) (account.Token, error) {
	var it tokenItem
	if err := s.get(ctx, tokenPK(idHash), skToken, &it); err != nil {
		return account.Token{}, err
	}
	if it.Purpose != purpose || it.Expires <= now.UnixNano() {
		return account.Token{}, account.ErrNotFound
	}
	return it.token(), nil
}

func (s *Store) ConsumeToken(ctx context.Context, idHash, purpose string, now time.Time) (account.Token, error) {
	res, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &s.table, Key: key(tokenPK(idHash), skToken),
		ConditionExpression:       aws.String("attribute_exists(PK) AND purpose = :p AND expires_ns > :now"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":p": str(purpose), ":now": num(now.UnixNano())},
		ReturnValues:              types.ReturnValueAllOld,
	})
	if conditionFailed(err) {
		return account.Token{}, account.ErrNotFound
	} else if err != nil {
		return account.Token{}, fmt.Errorf("consume token: %w", err)
	}
	var it tokenItem
	if err := attributevalue.UnmarshalMap(res.Attributes, &it); err != nil {
		return account.Token{}, fmt.Errorf("decode token: %w", err)
	}
	return it.token(), nil
}

func (it tokenItem) token() account.Token {
	return account.Token{IDHash: it.IDHash, Purpose: it.Purpose, TenantID: it.TenantID, AccountID: it.AccountID, Data: it.Data,
		CreatedAt: parseTime(it.CreatedAt), ExpiresAt: time.Unix(0, it.Expires).UTC()}
}

// A job is one item under its tenant; its document is kept as JSON (with the fields the
// API leaves out), and version guards every write.
type jobItem struct {
	PK      string `dynamodbav:"PK"`
	SK      string `dynamodbav:"SK"`
	Doc     string `dynamodbav:"doc"`
	Version int64  `dynamodbav:"version"`
	TTL     int64  `dynamodbav:"expires_at"`
	// Delivered counts the job's notices the mail sender delivered (CountNotified, an
	// ADD that no job update overwrites).
	Delivered int `dynamodbav:"delivered,omitempty"`
}

// job is the job the item holds.
func (it jobItem) job() (bulk.Job, error) {
	var rec bulk.Record
	if err := json.Unmarshal([]byte(it.Doc), &rec); err != nil {
		return bulk.Job{}, fmt.Errorf("decode job: %w", err)
	}
	j := rec.Restore(it.Version)
	if j.Queued > 0 || it.Delivered > 0 { // a job from before the outbox keeps its count of sent notices
		j.Notified = it.Delivered
	}
	return j, nil
}

// CountNotified counts one delivered notice of the job: one UpdateItem of the job's
// delivered attribute alone (the mail sender may touch no other).
func (s *Store) CountNotified(ctx context.Context, tenantID, id string) error {
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &s.table, Key: key(tenantPK(tenantID), jobSK(id)),
		UpdateExpression: aws.String("ADD delivered :one"), ConditionExpression: aws.String("attribute_exists(PK)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":one": num(1)}})
	if conditionFailed(err) {
		return account.ErrNotFound
	} else if err != nil {
		return fmt.Errorf("count notified: %w", err)
	}
	return nil
}

// JobRetention is how long a job document is kept.
const JobRetention = 90 * 24 * time.Hour

func (s *Store) jobItem(j bulk.Job) (map[string]types.AttributeValue, error) {
	doc, err := json.Marshal(j.Record())
	if err != nil {
		return nil, fmt.Errorf("encode job: %w", err)
	}
	return attributevalue.MarshalMap(jobItem{PK: tenantPK(j.TenantID), SK: jobSK(j.ID), Doc: string(doc), Version: j.Version,
		TTL: j.CreatedAt.Add(JobRetention).Unix()})
}

func (s *Store) CreateJob(ctx context.Context, j bulk.Job) error {
	j.Version = 1
	item, err := s.jobItem(j)
	if err != nil {
		return err
	}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.table, Item: item, ConditionExpression: aws.String(notExists)})
	if conditionFailed(err) {
		return account.ErrConflict
	} else if err != nil {
		return fmt.Errorf("create job: %w", err)
	}
	return nil
}

func (s *Store) GetJob(ctx context.Context, tenantID, id string) (bulk.Job, error) {
	var it jobItem
	if err := s.get(ctx, tenantPK(tenantID), jobSK(id), &it); err != nil {
		return bulk.Job{}, err
	}
	return it.job()
}

// UpdateJob writes the job's document and version, and leaves its delivered count to
// CountNotified: an update, not a put, so no count is lost to a job saved meanwhile.
func (s *Store) UpdateJob(ctx context.Context, j bulk.Job) (bulk.Job, error) {
	want := j.Version
	j.Version++
	doc, err := json.Marshal(j.Record())
	if err != nil {
		return bulk.Job{}, fmt.Errorf("encode job: %w", err)
	}
	res, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &s.table, Key: key(tenantPK(j.TenantID), jobSK(j.ID)),
		UpdateExpression:    aws.String("SET doc = :doc, version = :nv, expires_at = :ttl"),
		ConditionExpression: aws.String("version = :v"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":v": num(want), ":nv": num(j.Version), ":doc": str(string(doc)),
			":ttl": num(j.CreatedAt.Add(JobRetention).Unix())},
		ReturnValues: types.ReturnValueAllNew})
	if err == nil {
		var it jobItem
		if uerr := attributevalue.UnmarshalMap(res.Attributes, &it); uerr == nil {
			j.Notified = it.Delivered
		}
	}
	if conditionFailed(err) {
		if _, gerr := s.GetJob(ctx, j.TenantID, j.ID); errors.Is(gerr, account.ErrNotFound) {
			return bulk.Job{}, account.ErrNotFound
		}
		return bulk.Job{}, account.ErrConflict
	} else if err != nil {
		return bulk.Job{}, fmt.Errorf("update job: %w", err)
	}
	return j, nil
}

func (s *Store) ListJobs(ctx context.Context, tenantID, after string, limit int) ([]bulk.Job, string, error) {
	in := &dynamodb.QueryInput{TableName: &s.table, ConsistentRead: aws.Bool(true), ScanIndexForward: aws.Bool(false),
		KeyConditionExpression: aws.String("PK = :pk AND begins_with(SK, :prefix)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": str(tenantPK(tenantID)), ":prefix": str(jobPrefix)},
		Limit: aws.Int32(int32(limit + 1)),
	}
	if after != "" {
		in.ExclusiveStartKey = key(tenantPK(tenantID), jobSK(after))
	}
	var out []bulk.Job
	for {
		res, err := s.db.Query(ctx, in)
		if err != nil {
			return nil, "", fmt.Errorf("list jobs: %w", err)
		}
		for _, raw := range res.Items {
			var it jobItem
			if err := attributevalue.UnmarshalMap(raw, &it); err != nil {
				return nil, "", fmt.Errorf("decode job: %w", err)
			}
			j, err := it.job()
			if err != nil {
				return nil, "", err
			}
			out = append(out, j)
		}
		if len(out) > limit {
			return out[:limit], out[limit-1].ID, nil
		}
		if res.LastEvaluatedKey == nil {
			return out, "", nil
		}
		in.ExclusiveStartKey = res.LastEvaluatedKey
	}
}

// countAccount is the transaction item that counts an account in (+1) or out (-1) of its
// tenant's total.
func (s *Store) countAccount(tenantID string, delta int64) types.TransactWriteItem {
	return types.TransactWriteItem{Update: &types.Update{TableName: &s.table, Key: key(tenantPK(tenantID), skAccountCount),
		UpdateExpression:          aws.String("ADD n :d"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":d": num(delta)}}}
}

func isNotFound(err error) bool { return errors.Is(err, account.ErrNotFound) }
