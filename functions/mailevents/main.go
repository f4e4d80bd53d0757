// Command mailevents is the Lambda function that records SES's bounces and complaints
// (the configuration set's events, through SNS): the account is marked for its
// administrators and the event audited.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/kagiya/kagiya/shared/lambdaapi"
)

func main() {
	env, err := lambdaapi.Build(context.Background(), os.Getenv, lambdaapi.Parts{})
	if err != nil {
		slog.Error("mailevents: start", "err", err)
		os.Exit(1)
	}
	lambda.Start(func(ctx context.Context, ev events.SNSEvent) error {
		return lambdaapi.MailEvents(ctx, env.Services, ev)
	})
}
