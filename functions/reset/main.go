// Command reset is the Lambda function for forgotten passwords: the reset email
// (POST /api/password/forgot) and the reset (POST /api/password/reset). API Gateway
// sends it only those routes (template.yaml); the handler is the shared one.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/kagiya/kagiya/shared/lambdaapi"
	"github.com/kagiya/kagiya/shared/outbox/sqsoutbox"
)

func main() {
	h, err := lambdaapi.Handler(context.Background(), os.Getenv, lambdaapi.Parts{Mail: sqsoutbox.Mailer})
	if err != nil {
		slog.Error("reset: start", "err", err)
		os.Exit(1)
	}
	lambda.Start(httpadapter.NewV2(h).ProxyWithContext)
}
