package dynamostore

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/truora/minidyn/server"

	"github.com/kagiya/kagiya/shared/account"
	"github.com/kagiya/kagiya/shared/store/storetest"
)

// EndpointEnv names a DynamoDB endpoint (dynalite, started by infra/test.sh) to test against.
const EndpointEnv = "KAGIYA_TEST_DYNAMODB_ENDPOINT"

func client(endpoint string) *dynamodb.Client {
	return dynamodb.New(dynamodb.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
	})
}

var tableSeq atomic.Int64

func freshTable(t *testing.T, db *dynamodb.Client) string {
	t.Helper()
	ctx := context.Background()
	name := fmt.Sprintf("kagiya-test-%d-%d", time.Now().UnixNano(), tableSeq.Add(1))
	if err := CreateTable(ctx, db, name); err != nil {
		t.Fatal(err)
	}
	// dynalite reports CREATING for a moment; minidyn reports no status at all.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		out, err := db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: &name})
		if err == nil && (out.Table.TableStatus == types.TableStatusActive || out.Table.TableStatus == "") {
			return name
		}
		if time.Now().After(deadline) {
			t.Fatalf("table %s not active: %v", name, err)
		}
	}
}

func TestContractDynalite(t *testing.T) {
	endpoint := os.Getenv(EndpointEnv)
	if endpoint == "" {
		t.Skipf("%s is not set: no dynalite to test against (infra/test.sh starts one)", EndpointEnv)
	}
	db := client(endpoint)
	storetest.Run(t, storetest.Features{Name: "dynalite", Transactions: false}, func(t *testing.T) account.Store {
		return New(db, freshTable(t, db), 0)
	})
}

func TestContractMinidyn(t *testing.T) {
	srv := httptest.NewServer(server.NewServer())
	t.Cleanup(srv.Close)
	db := client(srv.URL)
	storetest.Run(t, storetest.Features{Name: "minidyn", Transactions: true}, func(t *testing.T) account.Store {
		return New(SDK(db), freshTable(t, db), 0) // as the Lambda functions hold the client
	})
}

// Creating the table again (as a retried create does) is not an error.
func TestCreateTableTwice(t *testing.T) {
	srv := httptest.NewServer(server.NewServer())
	t.Cleanup(srv.Close)
	db := client(srv.URL)
	for i := range 2 {
		if err := CreateTable(context.Background(), db, "kagiya"); err != nil {
			t.Fatalf("create %d: %v", i+1, err)
		}
	}
}

// An audit item's time-to-live is its time plus the table's retention: 90 days unless
// the function is given AuditTableDays (the template's parameter).
func TestAuditItemTimeToLive(t *testing.T) {
	srv := httptest.NewServer(server.NewServer())
	t.Cleanup(srv.Close)
	db := client(srv.URL)
	at := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		retention time.Duration
		want      time.Time
	}{{0, at.AddDate(0, 0, 90)}, {400 * 24 * time.Hour, at.AddDate(0, 0, 400)}} {
		table := freshTable(t, db)
		if err := New(db, table, c.retention).AppendAudit(context.Background(), account.AuditEvent{TenantID: "t1", At: at, Action: "login", Result: "ok"}); err != nil {
			t.Fatal(err)
		}
		out, err := db.Scan(context.Background(), &dynamodb.ScanInput{TableName: &table})
		if err != nil || len(out.Items) != 1 {
			t.Fatalf("scan: %v, %d items", err, len(out.Items))
		}
		ttl, _ := out.Items[0]["expires_at"].(*types.AttributeValueMemberN)
		if ttl == nil || ttl.Value != fmt.Sprint(c.want.Unix()) {
			t.Errorf("retention %v: expires_at %v, want %d (%v)", c.retention, out.Items[0]["expires_at"], c.want.Unix(), c.want)
		}
	}
}
