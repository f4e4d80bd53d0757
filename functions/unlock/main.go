// Command unlock is the Lambda function for the emailed unlock link (POST /api/unlock).
// API Gateway sends it only that route (template.yaml); the handler is the shared one.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/kagiya/kagiya/shared/lambdaapi"
)

func main() {
	h, err := lambdaapi.Handler(context.Background(), os.Getenv, lambdaapi.Parts{})
	if err != nil {
		slog.Error("unlock: start", "err", err)
		os.Exit(1)
	}
	lambda.Start(httpadapter.NewV2(h).ProxyWithContext)
}
