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
type ssmParameters struct {
	endpoint string // https://ssm.<region>.amazonaws.com
	region   string
	creds    aws.CredentialsProvider
	client   *http.Client
	now      func() time.Time
}

func newSSMParameters(cfg aws.Config, endpoint string) ssmParameters {
	switch {
	case endpoint != "":
	case cfg.BaseEndpoint != nil:
		endpoint = *cfg.BaseEndpoint
	default:
		endpoint = "https://ssm." + cfg.Region + ".amazonaws.com"
	}
	return ssmParameters{endpoint: endpoint, region: cfg.Region, creds: cfg.Credentials, client: &http.Client{Timeout: 5 * time.Second}, now: time.Now}
}

func (p ssmParameters) GetParameter(ctx context.Context, name string) (string, error) {
	body, err := json.Marshal(map[string]any{"Name": name, "WithDecryption": true})
	if err != nil {
		return "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.endpoint+"/", bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "AmazonSSM.GetParameter")
	creds, err := p.creds.Retrieve(ctx)
	if err != nil {
		return "", fmt.Errorf("credentials: %w", err)
	}
	sum := sha256.Sum256(body)
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "ssm", p.region, p.now().UTC()); err != nil {
		return "", fmt.Errorf("sign: %w", err)
	}
	res, err := p.client.Do(req)
	if err != nil {
		return "", fmt.Errorf("ssm: %w", err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, 64<<10))
	if err != nil {
		return "", fmt.Errorf("ssm: %w", err)
	}
	if res.StatusCode != http.StatusOK {
		var e struct {
			Type string `json:"__type"`
		}
		json.Unmarshal(raw, &e) //nolint:errcheck // the status says enough without it
		return "", fmt.Errorf("ssm GetParameter: %d %s", res.StatusCode, e.Type)
	}
	var out struct {
		Parameter struct {
			Value string
		}
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		return "", fmt.Errorf("ssm GetParameter: %w", err)
	}
	return out.Parameter.Value, nil
}
