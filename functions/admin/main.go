// Command admin is the Lambda function for administration of accounts, tenant settings,
// bulk jobs (it presigns the uploads), the audit log and the identity providers (it seals
// their client secrets); and, invoked directly by the
// deploy, the first tenant's setup. API Gateway sends it only
// those routes (template.yaml); the handler is the shared one.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/kagiya/kagiya/shared/bulk"
	"github.com/kagiya/kagiya/shared/httpapi"
	"github.com/kagiya/kagiya/shared/lambdaapi"
	"github.com/kagiya/kagiya/shared/outbox/sqsoutbox"
	"github.com/kagiya/kagiya/shared/s3files"
)

func main() {
	uploads := func(cfg aws.Config, bucket string) bulk.Presigner { return s3files.New(s3.NewFromConfig(cfg), bucket) }
	exports := func(cfg aws.Config, bucket string) httpapi.Exports { return s3files.New(s3.NewFromConfig(cfg), bucket) }
	// The seal key seals identity providers' client secrets when the owner registers one.
	keys := func(cfg aws.Config, secrets lambdaapi.SecretStore, keyID string) func(context.Context) ([]byte, error) {
		return lambdaapi.SealKeyFromKMS(lambdaapi.KMS(kms.NewFromConfig(cfg)), secrets, keyID)
	}
	entry, err := lambdaapi.AdminEntry(context.Background(), os.Getenv, lambdaapi.Parts{Uploads: uploads, Exports: exports, Mail: sqsoutbox.Mailer, Keys: keys})
	if err != nil {
		slog.Error("admin: start", "err", err)
		os.Exit(1)
	}
	lambda.Start(entry)
}
