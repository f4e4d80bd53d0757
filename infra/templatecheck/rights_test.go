package templatecheck

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/truora/minidyn/server"

	"github.com/kagiya/kagiya/shared/account"
	"github.com/kagiya/kagiya/shared/lambdaapi"
	"github.com/kagiya/kagiya/shared/password"
	"github.com/kagiya/kagiya/shared/store/dynamostore"
)

// recorder notes each table call as IAM sees it: the action and the partition key's
// kind ("TENANT#"), a transaction as each item's own action.
type recorder struct {
	dynamostore.Client
	mu    sync.Mutex
	calls map[string]bool
}

func kind(key map[string]types.AttributeValue) string {
	pk, _ := key["PK"].(*types.AttributeValueMemberS)
	if pk == nil {
		return "?"
	}
	if i := strings.Index(pk.Value, "#"); i >= 0 {
		return pk.Value[:i+1]
	}
	return pk.Value
}

func (r *recorder) note(action, k string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls[action+" "+k] = true
}

func (r *recorder) GetItem(ctx context.Context, in *dynamodb.GetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	r.note("dynamodb:GetItem", kind(in.Key))
	return r.Client.GetItem(ctx, in, o...)
}

func (r *recorder) PutItem(ctx context.Context, in *dynamodb.PutItemInput, o ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	r.note("dynamodb:PutItem", kind(in.Item))
	return r.Client.PutItem(ctx, in, o...)
}

func (r *recorder) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, o ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	r.note("dynamodb:UpdateItem", kind(in.Key))
	return r.Client.UpdateItem(ctx, in, o...)
}

func (r *recorder) DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, o ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error) {
	r.note("dynamodb:DeleteItem", kind(in.Key))
	return r.Client.DeleteItem(ctx, in, o...)
}

func (r *recorder) Query(ctx context.Context, in *dynamodb.QueryInput, o ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	if in.IndexName != nil {
		r.note("dynamodb:Query", "index")
	} else {
		r.note("dynamodb:Query", kind(map[string]types.AttributeValue{"PK": in.ExpressionAttributeValues[":pk"]}))
	}
	return r.Client.Query(ctx, in, o...)
}

func (r *recorder) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, o ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	for _, it := range in.TransactItems {
		switch {
		case it.Put != nil:
			r.note("dynamodb:PutItem", kind(it.Put.Item))
		case it.Update != nil:
			r.note("dynamodb:UpdateItem", kind(it.Update.Key))
		case it.Delete != nil:
			r.note("dynamodb:DeleteItem", kind(it.Delete.Key))
		case it.ConditionCheck != nil:
			r.note("dynamodb:ConditionCheckItem", kind(it.ConditionCheck.Key))
		}
	}
	return r.Client.TransactWriteItems(ctx, in, o...)
}

// itemActions are the table's item and query actions.
var itemActions = map[string]bool{"dynamodb:GetItem": true, "dynamodb:PutItem": true, "dynamodb:UpdateItem": true,
	"dynamodb:DeleteItem": true, "dynamodb:Query": true, "dynamodb:ConditionCheckItem": true, "dynamodb:Scan": true,
	"dynamodb:BatchGetItem": true, "dynamodb:BatchWriteItem": true}

// granted is what a function's Allow statements on the table permit: "action PREFIX#"
// for each action and each dynamodb:LeadingKeys pattern ("*" for none), with " (index)"
// after those on the table's indexes.
func granted(t *testing.T, function string) map[string]bool {
	t.Helper()
	var doc struct {
		Resources map[string]struct {
			Properties struct {
				Policies []struct {
					Statement []struct {
						Effect    string   `yaml:"Effect"`
						Action    []string `yaml:"Action"`
						Resource  valueOf  `yaml:"Resource"`
						Condition struct {
							All map[string][]string `yaml:"ForAllValues:StringLike"`
						} `yaml:"Condition"`
					} `yaml:"Statement"`
				} `yaml:"Policies"`
			} `yaml:"Properties"`
		} `yaml:"Resources"`
	}
	decodeTemplate(t, &doc)
	out := map[string]bool{}
	for _, p := range doc.Resources[function].Properties.Policies {
		for _, st := range p.Statement {
			if st.Effect != "Allow" {
				continue
			}
			keys := st.Condition.All["dynamodb:LeadingKeys"]
			if keys == nil {
				keys = []string{"*"}
			}
			where := ""
			if st.Resource.Tag == "!Sub" && len(st.Resource.Items) > 0 && strings.Contains(st.Resource.Items[0].Arg, "/index/") {
				where = " (index)"
			}
			for _, a := range st.Action {
				if !itemActions[a] {
					continue // not on the table's items (its stream, other services)
				}
				for _, k := range keys {
					out[a+" "+strings.TrimSuffix(k, "*")+where] = true
				}
			}
		}
	}
	return out
}

// TestMailEventsRightsAreWhatItUses runs the mail-event function's work (SES bounces and
// complaints through lambdaapi.MailEvents, on a cold instance) against DynamoDB (minidyn)
// and holds its template rights to exactly the table calls it made: each action on the
// key kinds it touched, and nothing else (it may not touch the server secrets, sessions
// or tokens).
func TestMailEventsRightsAreWhatItUses(t *testing.T) {
	ctx := context.Background()
	srv := httptest.NewServer(server.NewServer())
	t.Cleanup(srv.Close)
	db := dynamodb.New(dynamodb.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL),
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")})
	if err := dynamostore.CreateTable(ctx, db, "kagiya"); err != nil {
		t.Fatal(err)
	}
	services := func(c dynamostore.Client) *account.Flows {
		svc, err := account.New(account.Deps{Store: dynamostore.New(c, "kagiya", 0), Now: time.Now,
			Log: slog.New(slog.NewTextHandler(io.Discard, nil))},
			account.Config{Hash: password.Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32}})
		if err != nil {
			t.Fatal(err)
		}
		return svc
	}
	if _, err := lambdaapi.RunSetup(ctx, services(db), lambdaapi.Setup{Owner: "owner@example.com", Password: "Kagi-2026-Tokyo!"}); err != nil {
		t.Fatal(err)
	}
	rec := &recorder{Client: db, calls: map[string]bool{}}
	svc := services(rec) // a cold instance: nothing cached
	msg := func(s string) events.SNSEventRecord {
		return events.SNSEventRecord{SNS: events.SNSEntity{MessageID: "m", Message: s}}
	}
	if err := lambdaapi.MailEvents(ctx, svc, events.SNSEvent{Records: []events.SNSEventRecord{
		msg(`{"eventType":"Bounce","bounce":{"bounceType":"Permanent","bounceSubType":"NoEmail","bouncedRecipients":[{"emailAddress":"owner@example.com"},{"emailAddress":"nobody@example.com"}]}}`),
		msg(`{"eventType":"Complaint","complaint":{"complaintFeedbackType":"abuse","complainedRecipients":[{"emailAddress":"owner@example.com"}]}}`),
	}}); err != nil {
		t.Fatal(err)
	}
	var used []string
	for c := range rec.calls {
		used = append(used, c)
	}
	slices.Sort(used)
	var allowed []string
	for g := range granted(t, "MailEventsFunction") {
		allowed = append(allowed, g)
	}
	slices.Sort(allowed)
	if strings.Join(used, "\n") != strings.Join(allowed, "\n") {
		t.Errorf("MailEventsFunction's table rights:\n%s\nwhat it did:\n%s", strings.Join(allowed, "\n"), strings.Join(used, "\n"))
	}
}

// TestServerSecretsAndSchemaCannotBeChanged: every function is denied UpdateItem and
// DeleteItem on the server secrets (SECRET#) and the schema version (SCHEMA), which the
// store only reads and puts (dynamostore's TestSecretAndSchemaItemsAreOnlyReadAndPut);
// only the admin function, whose setup invocation records the schema version, may put
// SCHEMA.
func TestServerSecretsAndSchemaCannotBeChanged(t *testing.T) {
	var doc struct {
		Resources map[string]struct {
			Type       string `yaml:"Type"`
			Properties struct {
				Policies []struct {
					Statement []struct {
						Effect    string   `yaml:"Effect"`
						Action    []string `yaml:"Action"`
						Condition struct {
							Any map[string][]string `yaml:"ForAnyValue:StringLike"`
						} `yaml:"Condition"`
					} `yaml:"Statement"`
				} `yaml:"Policies"`
			} `yaml:"Properties"`
		} `yaml:"Resources"`
	}
	decodeTemplate(t, &doc)
	n := 0
	for name, r := range doc.Resources {
		if r.Type != "AWS::Serverless::Function" {
			continue
		}
		n++
		denied := map[string]bool{}
		for _, p := range r.Properties.Policies {
			for _, st := range p.Statement {
				if st.Effect != "Deny" {
					continue
				}
				for _, a := range st.Action {
					for _, k := range st.Condition.Any["dynamodb:LeadingKeys"] {
						denied[a+" "+k] = true
					}
				}
			}
		}
		want := []string{"dynamodb:UpdateItem SECRET#*", "dynamodb:DeleteItem SECRET#*", "dynamodb:UpdateItem SCHEMA", "dynamodb:DeleteItem SCHEMA"}
		if name != "AdminFunction" {
			want = append(want, "dynamodb:PutItem SCHEMA")
		} else if denied["dynamodb:PutItem SCHEMA"] {
			t.Errorf("%s: denied PutItem on SCHEMA, which its setup invocation writes", name)
		}
		for _, w := range want {
			if !denied[w] {
				t.Errorf("%s: not denied %s", name, w)
			}
		}
	}
	if n == 0 {
		t.Fatal("no functions in the template")
	}
}
