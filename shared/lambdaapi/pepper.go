package lambdaapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// ParameterReader reads a SecureString parameter, decrypted.
type ParameterReader interface {
	GetParameter(ctx context.Context, name string) (string, error)
}

// MinPepperBytes is the least a pepper may hold.
const MinPepperBytes = 32

// LoadPepper reads the password pepper from the SSM SecureString parameter name. Its
// value never goes to a log; an error names only the parameter.
func LoadPepper(ctx context.Context, params ParameterReader, name string) (string, error) {
	v, err := params.GetParameter(ctx, name)
	if err != nil {
		return "", fmt.Errorf("PASSWORD_PEPPER_PARAM %s: %w", name, err)
	}
	if len(v) < MinPepperBytes {
		return "", fmt.Errorf("PASSWORD_PEPPER_PARAM %s: the pepper must hold at least %d bytes", name, MinPepperBytes)
	}
	return v, nil
}

// ssmParameters makes SSM's one call a function needs, GetParameter, as a request signed
// by the SDK's SigV4 signer: the SDK's SSM client would add 4 MB to every function (and
// its schema to each cold start) for it.
type ssmParameters struct{ api awsJSON }

func newSSMParameters(cfg aws.Config, endpoint string) ssmParameters {
	return ssmParameters{api: newAWSJSON(cfg, endpoint, "ssm")}
}

func (p ssmParameters) GetParameter(ctx context.Context, name string) (string, error) {
	var out struct {
		Parameter struct {
			Value string
		}
	}
	if err := p.api.call(ctx, "AmazonSSM.GetParameter", map[string]any{"Name": name, "WithDecryption": true}, &out); err != nil {
		return "", err
	}
	return out.Parameter.Value, nil
}

// awsJSON calls one operation of an AWS service that speaks the JSON 1.1 protocol (SSM,
// Secrets Manager), signed by the SDK's SigV4 signer.
type awsJSON struct {
	endpoint string // https://<service>.<region>.amazonaws.com
	service  string // the signing name: ssm, secretsmanager
	region   string
	creds    aws.CredentialsProvider
	client   *http.Client
	now      func() time.Time
}

// newAWSJSON calls service at endpoint, or else at the configuration's base endpoint,
// or else at the service's regional endpoint.
func newAWSJSON(cfg aws.Config, endpoint, service string) awsJSON {
	switch {
	case endpoint != "":
	case cfg.BaseEndpoint != nil:
		endpoint = *cfg.BaseEndpoint
	default:
		endpoint = "https://" + service + "." + cfg.Region + ".amazonaws.com"
	}
	return awsJSON{endpoint: endpoint, service: service, region: cfg.Region, creds: cfg.Credentials,
		client: &http.Client{Timeout: 5 * time.Second}, now: time.Now}
}

// call sends in to the operation target (X-Amz-Target) and decodes the answer into out.
// An error names the operation and the service's error type, never a value.
func (c awsJSON) call(ctx context.Context, target string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint+"/", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", target)
	creds, err := c.creds.Retrieve(ctx)
	if err != nil {
		return fmt.Errorf("credentials: %w", err)
	}
	sum := sha256.Sum256(body)
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), c.service, c.region, c.now().UTC()); err != nil {
		return fmt.Errorf("sign: %w", err)
	}
	res, err := c.client.Do(req)
	if err != nil {
		return fmt.Errorf("%s: %w", c.service, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, 64<<10))
	if err != nil {
		return fmt.Errorf("%s: %w", c.service, err)
	}
	if res.StatusCode != http.StatusOK {
		var e struct {
			Type string `json:"__type"`
		}
		json.Unmarshal(raw, &e) //nolint:errcheck // the status says enough without it
		return fmt.Errorf("%s: %d %s", target, res.StatusCode, e.Type)
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("%s: %w", target, err)
	}
	return nil
}
