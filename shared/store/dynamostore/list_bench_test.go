package dynamostore

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"strconv"
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
func seedTenant(tb testing.TB, db *dynamodb.Client, n int) {
	ctx := context.Background()
	at := time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)
	var batch []types.WriteRequest
	flush := func() {
		if len(batch) == 0 {
			return
		}
		if _, err := db.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{"kagiya": batch}}); err != nil {
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
	if _, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("kagiya"), Item: cnt}); err != nil {
		tb.Fatal(err)
	}
}

// BenchmarkList is the account list of a tenant of KAGIYA_BENCH_ACCOUNTS accounts
// (default 100,000) on minidyn, in process: each query's first page of 50 with its total.
func BenchmarkList(b *testing.B) {
	n := 100_000
	if s := os.Getenv("KAGIYA_BENCH_ACCOUNTS"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	srv := httptest.NewServer(server.NewServer())
	defer srv.Close()
	db := dynamodb.New(dynamodb.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL),
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
