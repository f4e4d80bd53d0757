// Command auditarchive is the Lambda function that copies audit events from the table's
// stream to the audit archive bucket, where Object Lock keeps them unchanged for the
// retention period (shared/auditarchive). It has no right on the table's items.
package main

import (
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/kagiya/kagiya/shared/auditarchive"
	"github.com/kagiya/kagiya/shared/lambdaapi"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	cfg, err := lambdaapi.AWS(os.Getenv)
	if err != nil {
		log.Error("auditarchive: start", "err", err)
		os.Exit(1)
	}
	bucket := os.Getenv("ARCHIVE_BUCKET")
	if bucket == "" {
		log.Error("auditarchive: start", "err", "ARCHIVE_BUCKET is not set")
		os.Exit(1)
	}
	a := auditarchive.Archive{Put: s3.NewFromConfig(cfg).PutObject, Bucket: bucket, Log: log}
	lambda.Start(a.Handle)
}
