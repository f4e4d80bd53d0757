// Command login is the Lambda function for sign-in (with the second factor, so it alone
// links the KMS client that opens the seal key, and with passkeys, so it alone links
// WebAuthn), sign-out, the signed-in account, its second factor and passkeys, and the
// health check. API Gateway sends it only
// those routes (template.yaml); the handler is the shared one.
package main

import (
	"context"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/kagiya/kagiya/shared/account"
	"github.com/kagiya/kagiya/shared/federation"
	"github.com/kagiya/kagiya/shared/lambdaapi"
	"github.com/kagiya/kagiya/shared/outbox/sqsoutbox"
	"github.com/kagiya/kagiya/shared/passkey"
)

func main() {
	keys := func(cfg aws.Config, secrets lambdaapi.SecretStore, keyID string) func(context.Context) ([]byte, error) {
		return lambdaapi.SealKeyFromKMS(lambdaapi.KMS(kms.NewFromConfig(cfg)), secrets, keyID)
	}
	// The sign-in through a tenant's identity provider (its discovery and keys are kept
	// for the instance's life).
	rp := federation.New(federation.Config{})
	passkeys := func(origin string, secrets account.Secrets, now func() time.Time) (account.PasskeyRP, error) {
		return passkey.New(origin, account.SecretKey(secrets, account.PasskeyKeyName), now)
	}
	h, err := lambdaapi.Handler(context.Background(), os.Getenv, lambdaapi.Parts{Keys: keys, Mail: sqsoutbox.Mailer, Passkeys: passkeys, Relying: rp})
	if err != nil {
		slog.Error("login: start", "err", err)
		os.Exit(1)
	}
	lambda.Start(httpadapter.NewV2(h).ProxyWithContext)
}
