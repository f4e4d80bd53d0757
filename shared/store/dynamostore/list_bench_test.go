package dynamostore

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/truora/minidyn/server"

	"github.com/kagiya/kagiya/shared/account"
)

// seedTenant writes n accounts of tenant "t1" straight into the table (25 an
// BatchWriteItem): roles, comments, a few locked, suspended and never signed in.
func seedTenant(tb testing.TB, db *dynamodb.Client, n int) []account.Account {
	return seedTenantIn(tb, db, "kagiya", n)
}

func seedTenantIn(tb testing.TB, db *dynamodb.Client, table string, n int) []account.Account {
	var all []account.Account
	ctx := context.Background()
	at := time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)
	var batch []types.WriteRequest
	flush := func() {
		if len(batch) == 0 {
			return
		}
		if _, err := db.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{table: batch}}); err != nil {
			tb.Fatal(err)
		}
		batch = batch[:0]
	}
	for i := range n {
		a := account.Account{ID: fmt.Sprintf("acc_%08d", i), TenantID: "t1", LoginID: fmt.Sprintf("user%07d@example.com", i),
			Role: account.RoleUser, PasswordHash: "$argon2id$x", PasswordChangedAt: at.Add(-time.Duration(i) * 10 * time.Minute),
			CreatedAt: at.Add(time.Duration(i) * time.Second), Comment: "部署" + strconv.Itoa(i%50), QuotaGB: 5}
		if i%10 != 0 {
			a.LastLoginAt = at.Add(time.Duration(i%1000) * time.Hour)
		}
		if i%1000 == 7 {
			a.LockedAt = at
		}
		if i%500 == 3 {
			a.Disabled = true
		}
		if i%100 == 1 {
			a.Role = account.RoleAdmin
		}
		all = append(all, a)
		item, err := attributevalue.MarshalMap(toAccountItem(a))
		if err != nil {
			tb.Fatal(err)
		}
		batch = append(batch, types.WriteRequest{PutRequest: &types.PutRequest{Item: item}})
		if len(batch) == 25 {
			flush()
		}
	}
	flush()
	cnt, _ := attributevalue.MarshalMap(counterItem{PK: tenantPK("t1"), SK: skAccountCount, N: int64(n)})
	if _, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: cnt}); err != nil {
		tb.Fatal(err)
	}
	return all
}

// TestListOnDynalite holds the index-backed list to the in-memory one (ListQuery.Page)
// on dynalite, whose indexes behave as DynamoDB's; the accounts are written directly
// (dynalite has no transactions to create them with).
func TestListOnDynalite(t *testing.T) {
	endpoint := os.Getenv(EndpointEnv)
	if endpoint == "" {
		t.Skipf("%s is not set: no dynalite to test against (infra/test.sh starts one)", EndpointEnv)
	}
	db := client(endpoint)
	table := freshTable(t, db)
	all := seedTenantIn(t, db, table, 1200)
	s := New(db, table, 0)
	now := time.Date(2026, 4, 2, 9, 0, 0, 0, time.UTC)
	ids := func(accts []account.Account) string {
		var out []string
		for _, a := range accts {
			out = append(out, a.ID)
		}
		return strings.Join(out, " ")
	}
	for _, q := range []account.ListQuery{
		{}, {Desc: true}, {Sort: account.SortCreated, Desc: true}, {Sort: account.SortLastLogin}, {Sort: account.SortLastLogin, Desc: true},
		{Role: account.RoleAdmin}, {Contains: "user00012"}, {Contains: "部署7", Sort: account.SortCreated},
		{State: account.StateLocked}, {State: account.StateDisabled, Sort: account.SortLastLogin}, {State: account.StateExpired, MaxAgeDays: 2},
		{State: account.StateDisabled, Role: account.RoleAdmin},
	} {
		q.Limit, q.WithTotal, q.Now = 25, true, now
		want := q.Page(all)
		for page := 0; page < 3; page++ {
			got, err := s.ListAccounts(context.Background(), "t1", q)
			if err != nil {
				t.Fatalf("%+v: %v", q, err)
			}
			if ids(got.Accounts) != ids(want.Accounts) || got.Next != want.Next || got.Total != want.Total {
				t.Fatalf("%+v page %d:\n got %s (next %q, total %d)\nwant %s (next %q, total %d)", q, page,
					ids(got.Accounts), got.Next, got.Total, ids(want.Accounts), want.Next, want.Total)
			}
			if want.Next == "" {
				break
			}
			q.After = want.Next
			want = q.Page(all)
		}
	}
}

// BenchmarkList is the account list of a tenant of KAGIYA_BENCH_ACCOUNTS accounts
// (default 20,000) on minidyn in process, or on the DynamoDB at KAGIYA_BENCH_DYNAMODB
// (dynalite: minidyn rebuilds its index order on every write, so filling it takes time
// that grows with the square of the accounts): each query's first page of 50 with its
// total, and the read units it costs.
func BenchmarkList(b *testing.B) {
	n := 20_000
	if s := os.Getenv("KAGIYA_BENCH_ACCOUNTS"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	endpoint := os.Getenv("KAGIYA_BENCH_DYNAMODB")
	if endpoint == "" {
		srv := httptest.NewServer(server.NewServer())
		defer srv.Close()
		endpoint = srv.URL
	}
	db := dynamodb.New(dynamodb.Options{Region: "us-east-1", BaseEndpoint: aws.String(endpoint),
		Credentials: credentials.NewStaticCredentialsProvider("t", "t", "")})
	ctx := context.Background()
	if err := CreateTable(ctx, db, "kagiya"); err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	seedTenant(b, db, n)
	b.Logf("seeded %d accounts in %s", n, time.Since(start).Round(time.Second))
	meter := NewMeter(db, "kagiya")
	s := New(meter, "kagiya", 0)
	now := time.Date(2026, 4, 2, 9, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name string
		q    account.ListQuery
	}{
		{"all_by_login", account.ListQuery{}},
		{"all_by_last_login_desc", account.ListQuery{Sort: account.SortLastLogin, Desc: true}},
		{"all_by_created", account.ListQuery{Sort: account.SortCreated}},
		{"role_admin", account.ListQuery{Role: account.RoleAdmin}},
		{"state_locked", account.ListQuery{State: account.StateLocked}},
		{"state_disabled", account.ListQuery{State: account.StateDisabled}},
		{"state_expired", account.ListQuery{State: account.StateExpired, MaxAgeDays: 60}},
		{"search_login", account.ListQuery{Contains: "user00123"}},
		{"search_comment", account.ListQuery{Contains: "部署7"}},
	} {
		b.Run(c.name, func(b *testing.B) {
			q := c.q
			q.Limit, q.WithTotal, q.Now = 50, true, now
			meter.Reset()
			var total int
			for b.Loop() {
				page, err := s.ListAccounts(ctx, "t1", q)
				if err != nil {
					b.Fatal(err)
				}
				total = page.Total
			}
			r, _ := meter.Units()
			b.ReportMetric(float64(total), "total")
			b.ReportMetric(r/float64(b.N), "reads/op")
		})
	}
}
