package dynamostore

import (
	"context"
	"fmt"
	"net/http/httptest"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/truora/minidyn/server"

	"github.com/kagiya/kagiya/shared/account"
	"github.com/kagiya/kagiya/shared/store/dynamostore/access"
	"github.com/kagiya/kagiya/shared/store/storetest"
)

// recorder passes every call on and notes each action with the partition key it names
// (each item of a transaction on its own), as IAM's dynamodb:LeadingKeys sees them.
type recorder struct {
	Client
	mu    sync.Mutex
	calls map[string]map[string]bool // action → partition keys
	// byMethod: the Store method that made each call → "Action KIND" (access.ByMethod)
	byMethod map[string]map[string]bool
}

// storeMethod is the outermost exported method of *Store on the caller's stack: the one
// the store's user called.
func storeMethod() string {
	pcs := make([]uintptr, 64)
	frames := runtime.CallersFrames(pcs[:runtime.Callers(3, pcs)])
	const prefix = "github.com/kagiya/kagiya/shared/store/dynamostore.(*Store)."
	out := "?"
	for {
		f, more := frames.Next()
		if m, ok := strings.CutPrefix(f.Function, prefix); ok && m != "" && m[0] >= 'A' && m[0] <= 'Z' {
			out = m
		}
		if !more {
			return out
		}
	}
}

// kindOf is the part of a partition key value that the template's LeadingKeys patterns
// name: up to the first "#", or the whole value (SCHEMA).
func kindOf(pk string) string {
	if i := strings.Index(pk, "#"); i >= 0 {
		return pk[:i+1]
	}
	return pk
}

func (r *recorder) noteMethod(action, pk string) {
	if r.byMethod == nil {
		return
	}
	m := storeMethod()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.byMethod[m] == nil {
		r.byMethod[m] = map[string]bool{}
	}
	r.byMethod[m]["dynamodb:"+action+" "+kindOf(pk)] = true
}

func (r *recorder) note(action string, key map[string]types.AttributeValue) {
	pk, _ := key[attrPK].(*types.AttributeValueMemberS)
	if pk == nil {
		return
	}
	r.noteMethod(action, pk.Value)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.calls[action] == nil {
		r.calls[action] = map[string]bool{}
	}
	r.calls[action][pk.Value] = true
}

func (r *recorder) GetItem(ctx context.Context, in *dynamodb.GetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	r.note("GetItem", in.Key)
	return r.Client.GetItem(ctx, in, o...)
}
func (r *recorder) PutItem(ctx context.Context, in *dynamodb.PutItemInput, o ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	r.note("PutItem", in.Item)
	return r.Client.PutItem(ctx, in, o...)
}
func (r *recorder) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, o ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	r.note("UpdateItem", in.Key)
	return r.Client.UpdateItem(ctx, in, o...)
}
func (r *recorder) DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, o ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error) {
	r.note("DeleteItem", in.Key)
	return r.Client.DeleteItem(ctx, in, o...)
}
func (r *recorder) Query(ctx context.Context, in *dynamodb.QueryInput, o ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	if in.IndexName != nil {
		// Every index's partition is a tenant ID (list.go), which the account package
		// makes as "ten_<random>" (the contract's tenants have shorter IDs).
		r.noteMethod("Query", "ten_")
		return r.Client.Query(ctx, in, o...)
	}
	// The table's partition value is the key condition's placeholder ("PK = :pk ...").
	expr := aws.ToString(in.KeyConditionExpression)
	if i := strings.Index(expr, ":"); i >= 0 {
		name := expr[i:]
		if j := strings.IndexAny(name, " )"); j >= 0 {
			name = name[:j]
		}
		if v, ok := in.ExpressionAttributeValues[name].(*types.AttributeValueMemberS); ok {
			r.noteMethod("Query", v.Value)
		}
	}
	return r.Client.Query(ctx, in, o...)
}

func (r *recorder) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, o ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	for _, it := range in.TransactItems {
		switch {
		case it.Put != nil:
			r.note("PutItem", it.Put.Item)
		case it.Update != nil:
			r.note("UpdateItem", it.Update.Key)
		case it.Delete != nil:
			r.note("DeleteItem", it.Delete.Key)
		case it.ConditionCheck != nil:
			r.note("ConditionCheckItem", it.ConditionCheck.Key)
		}
	}
	return r.Client.TransactWriteItems(ctx, in, o...)
}

// TestSecretAndSchemaItemsAreOnlyReadAndPut: the template denies every function
// UpdateItem and DeleteItem on SECRET# items and the SCHEMA item. Through the whole
// store contract on minidyn, the store touches them with GetItem and PutItem only, so
// the deny takes nothing the code does.
func TestSecretAndSchemaItemsAreOnlyReadAndPut(t *testing.T) {
	srv := httptest.NewServer(server.NewServer())
	t.Cleanup(srv.Close)
	db := client(srv.URL)
	rec := &recorder{Client: SDK(db), calls: map[string]map[string]bool{}}
	storetest.Run(t, storetest.Features{Name: "minidyn", Transactions: true}, func(t *testing.T) account.Store {
		return New(rec, freshTable(t, db), 0)
	})
	guarded := func(pk string) bool { return strings.HasPrefix(pk, "SECRET#") || pk == pkSchema }
	seen := map[string]bool{}
	for action, pks := range rec.calls {
		for pk := range pks {
			if !guarded(pk) {
				continue
			}
			seen[action+" "+strings.SplitAfter(pk, "#")[0]] = true
			if action != "GetItem" && action != "PutItem" {
				t.Errorf("%s on %s: the template denies it", action, pk)
			}
		}
	}
	for _, want := range []string{"GetItem SECRET#", "PutItem SECRET#", "GetItem SCHEMA", "PutItem SCHEMA"} {
		if !seen[want] {
			t.Errorf("the contract never did %s, so this test cannot vouch for it (seen %v)", want, seen)
		}
	}
}

// TestTableAccessIsDeclared runs the whole store contract on minidyn and requires
// access.ByMethod, which the template test holds each function's rights to, to be
// exactly what each Store method asked of DynamoDB: a call it lacks would be refused in
// AWS, one it has too many would grant a right nothing uses.
func TestTableAccessIsDeclared(t *testing.T) {
	srv := httptest.NewServer(server.NewServer())
	t.Cleanup(srv.Close)
	db := client(srv.URL)
	rec := &recorder{Client: SDK(db), calls: map[string]map[string]bool{}, byMethod: map[string]map[string]bool{}}
	storetest.Run(t, storetest.Features{Name: "minidyn", Transactions: true}, func(t *testing.T) account.Store {
		return New(rec, freshTable(t, db), 0)
	})
	// The mail sender's marks are this store's alone (the local server queues mail in its
	// own bucket), so the contract does not run them: a claim, a lost claim, a release
	// and a sent mark.
	st, ctx, now := New(rec, freshTable(t, db), 0), context.Background(), time.Now()
	for range 2 {
		if _, err := st.ClaimMail(ctx, "msg-1", now, now.Add(time.Minute), now.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.ReleaseMail(ctx, "msg-1"); err != nil {
		t.Fatal(err)
	}
	if err := st.MarkMailSent(ctx, "msg-1", now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	for m, calls := range rec.byMethod {
		for c := range calls {
			got[m] = append(got[m], c)
		}
		slices.Sort(got[m])
	}
	var methods []string
	for m := range got {
		methods = append(methods, m)
	}
	for m := range access.ByMethod {
		if got[m] == nil {
			methods = append(methods, m)
		}
	}
	slices.Sort(methods)
	methods = slices.Compact(methods)
	var b strings.Builder
	bad := false
	for _, m := range methods {
		want := slices.Sorted(slices.Values(access.ByMethod[m]))
		if !slices.Equal(want, got[m]) {
			bad = true
			t.Errorf("%s: access.ByMethod says %q, the contract did %q", m, want, got[m])
		}
		fmt.Fprintf(&b, "\t%q: {%s},\n", m, quoted(got[m]))
	}
	if bad {
		t.Logf("what the contract did, as access.ByMethod:\n%s", b.String())
	}
}

func quoted(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ", ")
}

// TestEveryStoreMethodIsDeclared: every exported method of *Store is in access.ByMethod
// (and so, by TestTableAccessIsDeclared, was run by the store contract): a method the
// contract does not reach could not be vouched for, and the template test would refuse a
// function that calls it.
func TestEveryStoreMethodIsDeclared(t *testing.T) {
	typ := reflect.TypeOf(&Store{})
	for i := range typ.NumMethod() {
		if m := typ.Method(i).Name; access.ByMethod[m] == nil {
			t.Errorf("(*Store).%s is not in access.ByMethod: run it in TestTableAccessIsDeclared and declare what it asks", m)
		}
	}
}
