// Command oidc is the Lambda function of the OpenID Connect provider (package idp):
// discovery, keys, authorize and its sign-in hand-over, token, userinfo, revocation,
// introspection and end-session. API Gateway sends it only those routes (template.yaml).
package main

import (
	"context"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/kagiya/kagiya/shared/httpapi"
	"github.com/kagiya/kagiya/shared/idp"
	"github.com/kagiya/kagiya/shared/lambdaapi"
)

func main() {
	keys := func(cfg aws.Config, secrets lambdaapi.SecretStore, keyID string) func(context.Context) ([]byte, error) {
		return lambdaapi.SealKeyFromKMS(lambdaapi.KMS(kms.NewFromConfig(cfg)), secrets, keyID)
	}
	provider := func(ctx context.Context, env lambdaapi.Env) (http.Handler, error) {
		cookie := httpapi.CookieName
		if strings.HasPrefix(env.Config.SiteURL, "https://") {
			cookie = httpapi.SecureCookieName
		}
		return idp.New(ctx, idp.Deps{Issuer: env.Config.SiteURL, Integrations: env.Services.Integrations, Sessions: env.Services.SignIn,
			Store: env.Store, SessionCookies: []string{cookie}, Now: time.Now, Log: env.Log})
	}
	h, err := lambdaapi.Handler(context.Background(), os.Getenv, lambdaapi.Parts{Keys: keys, OIDC: provider})
	if err != nil {
		slog.Error("oidc: start", "err", err)
		os.Exit(1)
	}
	lambda.Start(httpadapter.NewV2(h).ProxyWithContext)
}
