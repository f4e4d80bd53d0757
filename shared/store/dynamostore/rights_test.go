package dynamostore

import (
	"context"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/truora/minidyn/server"

	"github.com/kagiya/kagiya/shared/account"
	"github.com/kagiya/kagiya/shared/store/storetest"
)

// recorder passes every call on and notes each action with the partition key it names
// (each item of a transaction on its own), as IAM's dynamodb:LeadingKeys sees them.
type recorder struct {
	Client
	mu    sync.Mutex
	calls map[string]map[string]bool // action → partition keys
}

func (r *recorder) note(action string, key map[string]types.AttributeValue) {
	pk, _ := key[attrPK].(*types.AttributeValueMemberS)
	if pk == nil {
		return
	}
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
