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
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/ses"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestLoadConfig(t *testing.T) {
	ok := map[string]string{"TABLE_NAME": "kagiya", "SITE_URL": "https://id.example.com/", "MAIL_FROM": "no-reply@example.com"}
	c, err := LoadConfig(env(ok))
	if err != nil || c.SiteURL != "https://id.example.com" || c.Hash.MemoryKiB != 19456 || c.SiteBuild != "" {
		t.Fatalf("%+v %v", c, err)
	}
	ok["SITE_BUILD"] = "0123456789ab"
	if c, err := LoadConfig(env(ok)); err != nil || c.SiteBuild != "0123456789ab" {
		t.Fatalf("SITE_BUILD: %+v %v", c, err)
	}
	delete(ok, "SITE_BUILD")
	_, err = LoadConfig(env(map[string]string{}))
	for _, name := range []string{"TABLE_NAME", "SITE_URL", "MAIL_FROM"} {
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("missing %s not reported: %v", name, err)
		}
	}
	weak := map[string]string{"ARGON2_MEMORY_KIB": "1024"}
	for k, v := range ok {
		weak[k] = v
	}
	if _, err := LoadConfig(env(weak)); err == nil {
		t.Error("argon2 memory below OWASP's minimum accepted")
	}
	weak["ARGON2_MEMORY_KIB"] = "65536"
	weak["ARGON2_ITERATIONS"] = "3"
	if c, err := LoadConfig(env(weak)); err != nil || c.Hash.MemoryKiB != 65536 || c.Hash.Iterations != 3 {
		t.Errorf("stronger params: %+v %v", c.Hash, err)
	}
	// The audit items' time-to-live: 90 days unless the template says otherwise.
	if c.AuditTableDays != 90 {
		t.Errorf("AUDIT_TABLE_DAYS unset: %d days, want 90", c.AuditTableDays)
	}
	for v, want := range map[string]int{"400": 400, "0": -1, "-3": -1, "ninety": -1} {
		weak["AUDIT_TABLE_DAYS"] = v
		c, err := LoadConfig(env(weak))
		if want < 0 && (err == nil || !strings.Contains(err.Error(), "AUDIT_TABLE_DAYS")) || want > 0 && (err != nil || c.AuditTableDays != want) {
			t.Errorf("AUDIT_TABLE_DAYS=%s: %d days, %v", v, c.AuditTableDays, err)
		}
	}
}

// ssmServer answers GetParameter as SSM does, after checking the call is SigV4-signed
// for ssm with the given key and names the parameter with decryption.
func ssmServer(t *testing.T, value string, status int) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Name           string
			WithDecryption bool
		}
		json.NewDecoder(r.Body).Decode(&in)
		auth := r.Header.Get("Authorization")
		if r.Header.Get("X-Amz-Target") != "AmazonSSM.GetParameter" || in.Name != "/kagiya/pepper" || !in.WithDecryption ||
			!strings.HasPrefix(auth, "AWS4-HMAC-SHA256 Credential=AKIATEST/") || !strings.Contains(auth, "/ap-northeast-1/ssm/aws4_request") ||
			r.Header.Get("X-Amz-Security-Token") != "tok" {
			w.WriteHeader(http.StatusForbidden)
			w.Write([]byte(`{"__type":"UnrecognizedClientException"}`))
			return
		}
		w.WriteHeader(status)
		if status != http.StatusOK {
			w.Write([]byte(`{"__type":"ParameterNotFound","message":"no"}`))
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"Parameter": map[string]any{"Name": in.Name, "Type": "SecureString", "Value": value}})
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestLoadPepper(t *testing.T) {
	cfg := aws.Config{Region: "ap-northeast-1", Credentials: credentials.NewStaticCredentialsProvider("AKIATEST", "secret", "tok")}
	pepper := strings.Repeat("p", 40)
	if p, err := LoadPepper(context.Background(), newSSMParameters(cfg, ssmServer(t, pepper, 200).URL), "/kagiya/pepper"); err != nil || p != pepper {
		t.Fatalf("pepper %q, %v", p, err)
	}
	if _, err := LoadPepper(context.Background(), newSSMParameters(cfg, ssmServer(t, "tiny-secret", 200).URL), "/kagiya/pepper"); err == nil || strings.Contains(err.Error(), "tiny-secret") {
		t.Fatalf("a short pepper: %v", err)
	}
	if _, err := LoadPepper(context.Background(), newSSMParameters(cfg, ssmServer(t, pepper, 400).URL), "/kagiya/pepper"); err == nil || !strings.Contains(err.Error(), "ParameterNotFound") {
		t.Fatalf("a missing parameter: %v", err)
	}
	other := aws.Config{Region: "ap-northeast-1", Credentials: credentials.NewStaticCredentialsProvider("AKIAOTHER", "secret", "")}
	if _, err := LoadPepper(context.Background(), newSSMParameters(other, ssmServer(t, pepper, 200).URL), "/kagiya/pepper"); err == nil {
		t.Fatal("a call the server refused gave a pepper")
	}
	cfg2, err := LoadConfig(func(k string) string {
		return map[string]string{"TABLE_NAME": "t", "SITE_URL": "https://id.example.com", "MAIL_FROM": "a@b.c", "PASSWORD_PEPPER_PARAM": "/kagiya/pepper"}[k]
	})
	if err != nil || cfg2.PepperParam != "/kagiya/pepper" {
		t.Fatalf("config %+v %v", cfg2, err)
	}
}

func TestLambdaConfigFromTheEnvironment(t *testing.T) {
	env := map[string]string{"AWS_REGION": "ap-northeast-1", "AWS_ACCESS_KEY_ID": "AKIA", "AWS_SECRET_ACCESS_KEY": "s", "AWS_SESSION_TOKEN": "tok"}
	cfg, err := lambdaConfig(func(k string) string { return env[k] })
	if err != nil || cfg.Region != "ap-northeast-1" || cfg.BaseEndpoint != nil {
		t.Fatalf("%+v %v", cfg, err)
	}
	env["AWS_ENDPOINT_URL"] = "http://127.0.0.1:4566"
	if cfg, _ := lambdaConfig(func(k string) string { return env[k] }); cfg.BaseEndpoint == nil || *cfg.BaseEndpoint != env["AWS_ENDPOINT_URL"] {
		t.Fatalf("AWS_ENDPOINT_URL not used: %+v", cfg.BaseEndpoint)
	}
	creds, err := cfg.Credentials.Retrieve(context.Background())
	if err != nil || creds.AccessKeyID != "AKIA" || creds.SessionToken != "tok" {
		t.Fatalf("%+v %v", creds, err)
	}
	delete(env, "AWS_SECRET_ACCESS_KEY")
	if _, err := lambdaConfig(func(k string) string { return env[k] }); err == nil {
		t.Fatal("no credentials, no error")
	}
}

// Each client goes to the stand-in its AWS_ENDPOINT_URL_<SERVICE> names (the runtime
// emulator tests run DynamoDB, S3 and SES as three servers), and to AWS without one.
func TestServiceEndpointsFromTheEnvironment(t *testing.T) {
	env := map[string]string{"AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "AKIA", "AWS_SECRET_ACCESS_KEY": "s",
		"AWS_ENDPOINT_URL_DYNAMODB": "http://127.0.0.1:8001", "AWS_ENDPOINT_URL_S3": "http://127.0.0.1:8002",
		"AWS_ENDPOINT_URL_SES": "http://127.0.0.1:8003"}
	cfg, err := lambdaConfig(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]*string{
		"AWS_ENDPOINT_URL_DYNAMODB": dynamodb.NewFromConfig(cfg).Options().BaseEndpoint,
		"AWS_ENDPOINT_URL_S3":       s3.NewFromConfig(cfg).Options().BaseEndpoint,
		"AWS_ENDPOINT_URL_SES":      ses.NewFromConfig(cfg).Options().BaseEndpoint,
	}
	for name, ep := range got {
		if ep == nil || *ep != env[name] {
			t.Errorf("%s = %s, but the client's endpoint is %v", name, env[name], ep)
		}
	}
	if ep := sqs.NewFromConfig(cfg).Options().BaseEndpoint; ep != nil {
		t.Errorf("SQS without AWS_ENDPOINT_URL_SQS goes to %s, not AWS", *ep)
	}
}
