// Command mailsender is the Lambda function that delivers the mail queue: every email
// the other functions enqueue is sent through SES here, at SES's sending rate, once,
// retried for more than a day before the dead-letter queue (shared/outbox/sqsoutbox).
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/kagiya/kagiya/shared/maillambda"
)

func main() {
	h, err := maillambda.Handler(context.Background(), os.Getenv)
	if err != nil {
		slog.Error("mailsender: start", "err", err)
		os.Exit(1)
	}
	lambda.Start(h)
}
