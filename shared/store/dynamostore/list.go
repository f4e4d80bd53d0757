package dynamostore

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/kagiya/kagiya/shared/account"
)

// The account list at scale. Every account item carries derived attributes that place it
// in global secondary indexes (toAccountItem computes them, so every full write keeps
// them right; the few partial updates set them too):
//
//	index                  partition     sort            holds
//	by_login               tenant_id     login_key       every account
//	by_created             tenant_id     created_key     every account
//	by_last_login          tenant_id     last_login_key  every account (week of last sign-in, then ID)
//	by_password_changed    tenant_id     pw_key          accounts with a password time (the expired filter)
//	state_locked           s_locked      login_key       the tenant's partition: the locked accounts
//	state_disabled         s_disabled    login_key       ... the suspended ones
//	state_force_change     s_force       login_key       ... those that must change their password
//	state_invited          s_invited     login_key       ... those whose invitation waits
//	state_mfa_locked       s_mfa         login_key       ... those whose second factor is locked
//
// Index keys change rarely: the last-sign-in key once a day per account at most (a
// sign-in sets the same value all day, and an unchanged key writes no index entry), a
// state key when the state begins or ends. A state filter reads its tenant partition whole
// (the accounts in that state, few); the other lists read their order's
// index from the cursor on, in 1 MB pages, filtering role and text on the index's own
// attributes, until the page is full. The unfiltered total is a counter written in the
// transactions that create and delete accounts; a filtered total counts the index.

// listIndex is one of the list's indexes.
type listIndex struct {
	name, pk, sk string
	include      []string // non-key attributes projected into it
}

const (
	attrTenant   = "tenant_id"
	attrLoginKey = "login_key"
	attrCreated  = "created_key"
	attrLast     = "last_login_key"
	attrPw       = "pw_key"
	attrRole     = "role"
	attrComment  = "comment"
	attrCommentL = "comment_l"
)

var listIndexes = []listIndex{
	{"by_login", attrTenant, attrLoginKey, []string{attrRole, attrComment, attrCommentL}},
	{"by_created", attrTenant, attrCreated, []string{attrRole, attrComment, attrCommentL, attrLoginKey}},
	{"by_last_login", attrTenant, attrLast, []string{attrRole, attrComment, attrCommentL, attrLoginKey}},
	{"by_password_changed", attrTenant, attrPw, []string{attrRole, attrComment, attrCommentL, attrLoginKey, attrCreated}},
	{"state_locked", "s_locked", attrLoginKey, []string{attrRole, attrComment, attrCommentL, attrCreated}},
	{"state_disabled", "s_disabled", attrLoginKey, []string{attrRole, attrComment, attrCommentL, attrCreated}},
	{"state_force_change", "s_force", attrLoginKey, []string{attrRole, attrComment, attrCommentL, attrCreated}},
	{"state_invited", "s_invited", attrLoginKey, []string{attrRole, attrComment, attrCommentL, attrCreated}},
	{"state_mfa_locked", "s_mfa", attrLoginKey, []string{attrRole, attrComment, attrCommentL, attrCreated}},
}

// stateIndex is the sparse index of a state.
var stateIndex = map[string]string{
	account.StateLocked: "state_locked", account.StateDisabled: "state_disabled", account.StateForceChange: "state_force_change",
	account.StateInvited: "state_invited", account.StateMFALocked: "state_mfa_locked",
}

// sortAttr is the attribute that holds an order's sort key (account.SortKey).
var sortAttr = map[string]string{account.SortLoginID: attrLoginKey, account.SortCreated: attrCreated, account.SortLastLogin: attrLast}

// sortIndex is the index that keeps an order.
var sortIndex = map[string]string{account.SortLoginID: "by_login", account.SortCreated: "by_created", account.SortLastLogin: "by_last_login"}

// GlobalSecondaryIndexes are the table's indexes, as CreateTable and the template make them.
func GlobalSecondaryIndexes() []types.GlobalSecondaryIndex {
	var out []types.GlobalSecondaryIndex
	for _, ix := range listIndexes {
		out = append(out, types.GlobalSecondaryIndex{
			IndexName: aws.String(ix.name),
			KeySchema: []types.KeySchemaElement{
				{AttributeName: aws.String(ix.pk), KeyType: types.KeyTypeHash},
				{AttributeName: aws.String(ix.sk), KeyType: types.KeyTypeRange},
			},
			Projection: &types.Projection{ProjectionType: types.ProjectionTypeInclude, NonKeyAttributes: ix.include},
		})
	}
	return out
}

// indexAttributes are the attribute definitions the indexes need.
func indexAttributes() []types.AttributeDefinition {
	seen := map[string]bool{}
	var out []types.AttributeDefinition
	for _, ix := range listIndexes {
		for _, a := range []string{ix.pk, ix.sk} {
			if !seen[a] {
				seen[a] = true
				out = append(out, types.AttributeDefinition{AttributeName: aws.String(a), AttributeType: types.ScalarAttributeTypeS})
			}
		}
	}
	return out
}

// listEntry is an account as an index shows it.
type listEntry struct {
	SK        string `dynamodbav:"SK"`
	LoginKey  string `dynamodbav:"login_key"`
	Role      string `dynamodbav:"role"`
	Comment   string `dynamodbav:"comment"`
	CommentL  string `dynamodbav:"comment_l"`
	Created   string `dynamodbav:"created_key"`
	LastLogin string `dynamodbav:"last_login_key"`
	Pw        string `dynamodbav:"pw_key"`
}

func (e listEntry) id() string { return strings.TrimPrefix(e.SK, accountPrefix) }

// matches applies q's role and text filters to what the index shows.
func (e listEntry) matches(q account.ListQuery) bool {
	if q.Role != "" && e.Role != string(q.Role) {
		return false
	}
	needle := strings.ToLower(q.Contains)
	comment := e.CommentL
	if comment == "" {
		comment = e.Comment // stored only once when it has no upper case
	}
	return needle == "" || strings.Contains(e.LoginKey, needle) || strings.Contains(comment, needle)
}

func (e listEntry) sortKey(sort string) string {
	switch sort {
	case account.SortCreated:
		return e.Created
	case account.SortLastLogin:
		return e.LastLogin
	}
	return e.LoginKey
}

// ListAccounts answers a list query from the indexes (see above). The second-factor,
// imported-hash and confirmation-lock filters (rare, with no index of their own) read
// the tenant's accounts.
func (s *Store) ListAccounts(ctx context.Context, tenantID string, q account.ListQuery) (account.AccountPage, error) {
	if q.Sort == "" {
		q.Sort = account.SortLoginID
	}
	switch {
	case q.State == account.StateMFAEnabled || q.State == account.StateLegacyHash || q.State == account.StateConfirmationLocked:
		all, err := s.allAccounts(ctx, tenantID)
		if err != nil {
			return account.AccountPage{}, err
		}
		return q.Page(all), nil
	case q.State != "":
		return s.listState(ctx, tenantID, q)
	}
	return s.listOrdered(ctx, tenantID, q)
}

// allAccounts reads a tenant's partition, a page at a time.
func (s *Store) allAccounts(ctx context.Context, tenantID string) ([]account.Account, error) {
	in := &dynamodb.QueryInput{TableName: &s.table, ConsistentRead: aws.Bool(true),
		KeyConditionExpression: aws.String("PK = :pk AND begins_with(SK, :prefix)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": str(tenantPK(tenantID)), ":prefix": str(accountPrefix)},
	}
	items, err := queryAll[accountItem](ctx, s.db, in)
	if err != nil {
		return nil, fmt.Errorf("list accounts: %w", err)
	}
	var all []account.Account
	for _, it := range items {
		all = append(all, it.account())
	}
	return all, nil
}

// queryIndex reads an index query whole, a 1 MB page at a time, keeping what keep takes
// (it returns false to stop early).
func (s *Store) queryIndex(ctx context.Context, in *dynamodb.QueryInput, keep func(listEntry) bool) error {
	for {
		res, err := s.db.Query(ctx, in)
		if err != nil {
			return fmt.Errorf("query %s: %w", aws.ToString(in.IndexName), err)
		}
		for _, raw := range res.Items {
			var e listEntry
			if err := attributevalue.UnmarshalMap(raw, &e); err != nil {
				return fmt.Errorf("decode %s entry: %w", aws.ToString(in.IndexName), err)
			}
			if !keep(e) {
				return nil
			}
		}
		if res.LastEvaluatedKey == nil {
			return nil
		}
		in.ExclusiveStartKey = res.LastEvaluatedKey
	}
}

// listState answers a state filter from the state's sparse index (or, for expired, the
// password-changed index up to the tenant's cutoff), read whole, then sorted and cut.
func (s *Store) listState(ctx context.Context, tenantID string, q account.ListQuery) (account.AccountPage, error) {
	in := &dynamodb.QueryInput{TableName: &s.table}
	if q.State == account.StateExpired {
		if q.MaxAgeDays <= 0 {
			return account.AccountPage{Accounts: []account.Account{}}, nil
		}
		cutoff := account.TimeKey(q.Now.AddDate(0, 0, -q.MaxAgeDays).Add(time.Nanosecond))
		in.IndexName = aws.String("by_password_changed")
		in.KeyConditionExpression = aws.String("tenant_id = :t AND pw_key < :cut")
		in.ExpressionAttributeValues = map[string]types.AttributeValue{":t": str(tenantID), ":cut": str(cutoff)}
	} else {
		ix, ok := stateIndex[q.State]
		if !ok {
			return account.AccountPage{}, fmt.Errorf("list accounts: no index for state %q", q.State)
		}
		in.IndexName = aws.String(ix)
		pk := ""
		for _, li := range listIndexes {
			if li.name == ix {
				pk = li.pk
			}
		}
		in.KeyConditionExpression = aws.String("#pk = :t")
		in.ExpressionAttributeNames = map[string]string{"#pk": pk}
		in.ExpressionAttributeValues = map[string]types.AttributeValue{":t": str(tenantID)}
	}
	// An account whose password time is past the cutoff to the nanosecond: pw_key sorts
	// as the time it holds.
	var matched []account.Entry
	unsorted := false // an entry without the order's key: the index does not project it
	err := s.queryIndex(ctx, in, func(e listEntry) bool {
		if e.matches(q) {
			k := e.sortKey(q.Sort)
			unsorted = unsorted || k == ""
			matched = append(matched, account.Entry{Key: k, ID: e.id()})
		}
		return true
	})
	if err != nil {
		return account.AccountPage{}, err
	}
	if unsorted {
		ids := make([]string, len(matched))
		for i, m := range matched {
			ids[i] = m.ID
		}
		accts, err := s.batchGet(ctx, tenantID, ids)
		if err != nil {
			return account.AccountPage{}, err
		}
		for i := range matched {
			matched[i].Key = account.SortKey(accts[matched[i].ID], q.Sort)
		}
	}
	page, next := q.Cut(matched)
	return s.pageOf(ctx, tenantID, page, next, len(matched))
}

// listOrdered answers a list without a state filter from its order's index, from the
// cursor on, until the page is full; the total from the counter or by counting.
func (s *Store) listOrdered(ctx context.Context, tenantID string, q account.ListQuery) (account.AccountPage, error) {
	attr := sortAttr[q.Sort]
	// Each request reads a bounded run of the index; the loop goes on until the page is
	// full (a filtered page may take several), so Limit never cuts a page short.
	perRequest := int32(1000)
	if q.Role == "" && q.Contains == "" && q.Limit > 0 {
		perRequest = int32(q.Limit + 1)
	}
	in := &dynamodb.QueryInput{TableName: &s.table, IndexName: aws.String(sortIndex[q.Sort]),
		ScanIndexForward:          aws.Bool(!q.Desc),
		Limit:                     aws.Int32(perRequest),
		KeyConditionExpression:    aws.String("tenant_id = :t"),
		ExpressionAttributeNames:  map[string]string{"#sk": attr},
		ExpressionAttributeValues: map[string]types.AttributeValue{":t": str(tenantID)},
	}
	if q.After != "" {
		op := ">"
		if q.Desc {
			op = "<"
		}
		in.KeyConditionExpression = aws.String("tenant_id = :t AND #sk " + op + " :after")
		in.ExpressionAttributeValues[":after"] = str(q.After)
	} else {
		in.ExpressionAttributeNames = nil // DynamoDB refuses an empty map
	}
	var page []account.Entry
	more := false
	err := s.queryIndex(ctx, in, func(e listEntry) bool {
		if !e.matches(q) {
			return true
		}
		if q.Limit > 0 && len(page) == q.Limit {
			more = true
			return false
		}
		page = append(page, account.Entry{Key: e.sortKey(q.Sort), ID: e.id()})
		return true
	})
	if err != nil {
		return account.AccountPage{}, err
	}
	next := ""
	if more {
		next = page[len(page)-1].Key
	}
	total := 0
	if q.WithTotal {
		if total, err = s.countAccounts(ctx, tenantID, q); err != nil {
			return account.AccountPage{}, err
		}
	}
	return s.pageOf(ctx, tenantID, page, next, total)
}

// countAccounts is how many accounts of a tenant match q's role and text: the tenant's
// counter when there is no filter, else a count over the login index.
func (s *Store) countAccounts(ctx context.Context, tenantID string, q account.ListQuery) (int, error) {
	if q.Role == "" && q.Contains == "" {
		var c counterItem
		err := s.get(ctx, tenantPK(tenantID), skAccountCount, &c)
		if err == nil {
			return int(c.N), nil
		}
		if !isNotFound(err) {
			return 0, fmt.Errorf("account count: %w", err)
		}
		// A tenant made before the counter: count once, below.
	}
	n := 0
	err := s.queryIndex(ctx, &dynamodb.QueryInput{TableName: &s.table, IndexName: aws.String("by_login"),
		Limit:                     aws.Int32(5000), // about 1 MB of entries a request
		KeyConditionExpression:    aws.String("tenant_id = :t"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":t": str(tenantID)},
	}, func(e listEntry) bool {
		if e.matches(q) {
			n++
		}
		return true
	})
	return n, err
}

// pageOf reads the page's accounts (a batch read) in the page's order.
func (s *Store) pageOf(ctx context.Context, tenantID string, page []account.Entry, next string, total int) (account.AccountPage, error) {
	ids := make([]string, len(page))
	for i, e := range page {
		ids[i] = e.ID
	}
	accts, err := s.batchGet(ctx, tenantID, ids)
	if err != nil {
		return account.AccountPage{}, err
	}
	out := account.AccountPage{Accounts: make([]account.Account, 0, len(page)), Next: next, Total: total}
	for _, id := range ids {
		if a, ok := accts[id]; ok { // deleted since the index was read: left out
			out.Accounts = append(out.Accounts, a)
		}
	}
	return out, nil
}

// batchGet reads accounts by ID, 16 at a time, eventually consistently (a list tolerates
// a second's lag). GetItem rather than BatchGetItem: the same units, and every DynamoDB
// the tests run against serves it.
func (s *Store) batchGet(ctx context.Context, tenantID string, ids []string) (map[string]account.Account, error) {
	out := make(map[string]account.Account, len(ids))
	var mu sync.Mutex
	var firstErr error
	sem := make(chan struct{}, 16)
	var wg sync.WaitGroup
	for _, id := range ids {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			a, err := s.GetAccountEventually(ctx, tenantID, id)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				out[id] = a
			case !isNotFound(err) && firstErr == nil:
				firstErr = err
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return nil, fmt.Errorf("read accounts: %w", firstErr)
	}
	return out, nil
}
