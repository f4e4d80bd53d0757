package lambdaapi

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

const originARN = "arn:aws:secretsmanager:ap-northeast-1:123456789012:secret:OriginSecret-abc"

// secretsServer answers GetSecretValue as Secrets Manager does, after checking the call
// is SigV4-signed for secretsmanager with the test key and names the origin secret.
func secretsServer(t *testing.T, value string, status int) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in struct{ SecretId string }
		json.NewDecoder(r.Body).Decode(&in)
		auth := r.Header.Get("Authorization")
		if r.Header.Get("X-Amz-Target") != "secretsmanager.GetSecretValue" || in.SecretId != originARN ||
			!strings.HasPrefix(auth, "AWS4-HMAC-SHA256 Credential=AKIATEST/") || !strings.Contains(auth, "/ap-northeast-1/secretsmanager/aws4_request") ||
			r.Header.Get("Content-Type") != "application/x-amz-json-1.1" {
			w.WriteHeader(http.StatusForbidden)
			w.Write([]byte(`{"__type":"AccessDeniedException"}`))
			return
		}
		w.WriteHeader(status)
		if status != http.StatusOK {
			w.Write([]byte(`{"__type":"ResourceNotFoundException","Message":"no"}`))
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"ARN": originARN, "Name": "OriginSecret-abc", "SecretString": value})
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestOriginSecretFromSecretsManager: with ORIGIN_SECRET_ARN, an API function reads the
// origin secret from Secrets Manager at start; a refusal or an empty secret stops it,
// and no error carries the value. Without it, ORIGIN_SECRET (local runs) is used.
func TestOriginSecretFromSecretsManager(t *testing.T) {
	cfg := aws.Config{Region: "ap-northeast-1", Credentials: credentials.NewStaticCredentialsProvider("AKIATEST", "secret", "tok")}
	ctx := context.Background()
	const value = "s3cr3t-origin-value-from-secrets-manager"
	getenv := func(endpoint string) func(string) string {
		return env(map[string]string{"ORIGIN_SECRET_ARN": originARN, "AWS_ENDPOINT_URL_SECRETS_MANAGER": endpoint,
			"ORIGIN_SECRET": "not-this-one"})
	}
	if got, err := originSecret(ctx, cfg, getenv(secretsServer(t, value, 200).URL)); err != nil || got != value {
		t.Fatalf("origin secret %q, %v", got, err)
	}
	if _, err := originSecret(ctx, cfg, getenv(secretsServer(t, value, 400).URL)); err == nil || !strings.Contains(err.Error(), "ResourceNotFoundException") {
		t.Fatalf("a missing secret: %v", err)
	}
	if _, err := originSecret(ctx, cfg, getenv(secretsServer(t, "", 200).URL)); err == nil {
		t.Fatal("an empty secret accepted")
	}
	other := aws.Config{Region: "ap-northeast-1", Credentials: credentials.NewStaticCredentialsProvider("AKIAOTHER", "secret", "")}
	if _, err := originSecret(ctx, other, getenv(secretsServer(t, value, 200).URL)); err == nil || strings.Contains(err.Error(), value) {
		t.Fatalf("a refused call: %v", err)
	}
	if got, err := originSecret(ctx, cfg, env(map[string]string{"ORIGIN_SECRET": "local"})); err != nil || got != "local" {
		t.Fatalf("without ORIGIN_SECRET_ARN: %q, %v", got, err)
	}
}
