package bulklambda

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/truora/minidyn/server"

	"github.com/kagiya/kagiya/shared/account"
	"github.com/kagiya/kagiya/shared/store/dynamostore"
)

// TestRefusesTableOfNewerSchema: the bulk function, built from its environment against a
// table (minidyn) that a newer version marked, refuses each event before running it.
func TestRefusesTableOfNewerSchema(t *testing.T) {
	ctx := context.Background()
	srv := httptest.NewServer(server.NewServer())
	t.Cleanup(srv.Close)
	db := dynamodb.New(dynamodb.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL),
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")})
	if err := dynamostore.CreateTable(ctx, db, "kagiya"); err != nil {
		t.Fatal(err)
	}
	if err := dynamostore.New(dynamostore.SDK(db), "kagiya", 0).RaiseSchemaVersion(ctx, account.SchemaVersion+1); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"TABLE_NAME": "kagiya", "SITE_URL": "https://id.example.com", "MAIL_FROM": "no-reply@example.com",
		"UPLOAD_BUCKET": "uploads", "CONTINUE_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/continue",
		"APPLY_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/apply", "FAILED_RUN_QUEUE_ARN": "arn:aws:sqs:us-east-1:123456789012:failed",
		"AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
		"MAIL_QUEUE_URL":            "https://sqs.us-east-1.amazonaws.com/123456789012/mail",
		"AWS_ENDPOINT_URL_DYNAMODB": srv.URL}
	h, err := Handler(ctx, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	ev := `{"Records":[{"eventSource":"aws:sqs","body":"uploads/example.com/0123456789abcdef0123456789abcdef/a.csv"}]}`
	if err := h(ctx, json.RawMessage(ev)); !errors.Is(err, account.ErrSchemaNewer) {
		t.Fatalf("err = %v; want the newer schema refused", err)
	}
}
