// Command password is the Lambda function for self-service password changes
// (POST /api/me/password) and the policy description (GET /api/password/policy). API
// Gateway sends it only those routes (template.yaml); the handler is the shared one.
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
		slog.Error("password: start", "err", err)
		os.Exit(1)
	}
	lambda.Start(httpadapter.NewV2(h).ProxyWithContext)
}
