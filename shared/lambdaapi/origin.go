package lambdaapi

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// SecretReader reads a Secrets Manager secret's string.
type SecretReader interface {
	GetSecretValue(ctx context.Context, id string) (string, error)
}

// LoadOriginSecret reads the value CloudFront adds to every request it forwards (the
// OriginSecret of template.yaml) from Secrets Manager, once at a function's start: the
// value is in no environment variable. Its value never goes to a log or an error.
func LoadOriginSecret(ctx context.Context, secrets SecretReader, id string) (string, error) {
	v, err := secrets.GetSecretValue(ctx, id)
	if err != nil {
		return "", fmt.Errorf("ORIGIN_SECRET_ARN %s: %w", id, err)
	}
	if v == "" {
		return "", fmt.Errorf("ORIGIN_SECRET_ARN %s: %w", id, errors.New("the secret is empty"))
	}
	return v, nil
}

// secretsManager makes Secrets Manager's one call the API functions need,
// GetSecretValue, as ssmParameters does SSM's (the SDK's client would weigh on every
// function for one call).
type secretsManager struct{ api awsJSON }

func newSecretsManager(cfg aws.Config, endpoint string) secretsManager {
	return secretsManager{api: newAWSJSON(cfg, endpoint, "secretsmanager")}
}

func (s secretsManager) GetSecretValue(ctx context.Context, id string) (string, error) {
	var out struct {
		SecretString string
	}
	if err := s.api.call(ctx, "secretsmanager.GetSecretValue", map[string]string{"SecretId": id}, &out); err != nil {
		return "", err
	}
	return out.SecretString, nil
}

// originSecret is the origin secret of an API function: read from Secrets Manager when
// ORIGIN_SECRET_ARN names it (in AWS), else ORIGIN_SECRET (tests and local runs; empty:
// no check).
func originSecret(ctx context.Context, cfg aws.Config, getenv func(string) string) (string, error) {
	id := getenv("ORIGIN_SECRET_ARN")
	if id == "" {
		return getenv("ORIGIN_SECRET"), nil
	}
	return LoadOriginSecret(ctx, newSecretsManager(cfg, getenv("AWS_ENDPOINT_URL_SECRETS_MANAGER")), id)
}
