// Command bulk is the Lambda function that applies uploaded CSV files: it is started by
// the upload bucket's ObjectCreated events, and by SQS messages when a large job continues
// in a further invocation.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/kagiya/kagiya/shared/bulklambda"
)

func main() {
	h, err := bulklambda.Handler(context.Background(), os.Getenv)
	if err != nil {
		slog.Error("bulk: start", "err", err)
		os.Exit(1)
	}
	lambda.Start(h)
}
