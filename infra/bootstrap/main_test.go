package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/truora/minidyn/server"

	"github.com/kagiya/kagiya/shared/account"
	"github.com/kagiya/kagiya/shared/store/dynamostore"
)

func TestBootstrapOnDynamoDB(t *testing.T) {
	srv := httptest.NewServer(server.NewServer())
	defer srv.Close()
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	t.Setenv("AWS_REGION", "us-east-1")
	ctx := context.Background()
	db := dynamodb.New(dynamodb.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL),
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")})
	if err := dynamostore.CreateTable(ctx, db, "kagiya"); err != nil {
		t.Fatal(err)
	}
	args := []string{"-table", "kagiya", "-owner", "Boss@Example.com", "-endpoint", srv.URL}
	noenv := func(string) string { return "" }
	var out bytes.Buffer
	if err := run(ctx, args, noenv, strings.NewReader("Kagi-2026-Tokyo!\n"), &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), `created tenant "example.com"`) || !strings.Contains(out.String(), "domain example.com) with owner Boss@Example.com") {
		t.Fatalf("output %q", out.String())
	}
	st := dynamostore.New(db, "kagiya", 0)
	a, err := account.FindAccount(ctx, st, "boss@example.com")
	if err != nil || a.Role != "owner" || !strings.HasPrefix(a.PasswordHash, "$argon2id$") || !strings.HasPrefix(a.ID, "acc_") {
		t.Fatalf("owner %+v, %v", a, err)
	}
	if tn, err := st.GetTenant(ctx, a.TenantID); err != nil || tn.Name != "example.com" || fmt.Sprint(tn.Domains) != "[example.com]" {
		t.Fatalf("tenant %+v, %v", tn, err)
	}
	out.Reset()
	if err := run(ctx, args, noenv, strings.NewReader("Other-Passw0rd!\n"), &out); err != nil || !strings.Contains(out.String(), "nothing changed") {
		t.Fatalf("second run: %v %q", err, out.String())
	}
	if err := run(ctx, args[:2], noenv, strings.NewReader(""), &out); err == nil {
		t.Fatal("missing -owner accepted")
	}
}
