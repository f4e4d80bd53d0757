package lambdaapi

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestLoadConfig(t *testing.T) {
	ok := map[string]string{"TABLE_NAME": "kagiya", "SITE_URL": "https://id.example.com/", "MAIL_FROM": "no-reply@example.com"}
	c, err := LoadConfig(env(ok))
	if err != nil || c.SiteURL != "https://id.example.com" || c.Hash.MemoryKiB != 19456 {
		t.Fatalf("%+v %v", c, err)
	}
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
}

type fakeSSM struct {
	value string
	err   error
	asked *ssm.GetParameterInput
}

func (f *fakeSSM) GetParameter(_ context.Context, in *ssm.GetParameterInput, _ ...func(*ssm.Options)) (*ssm.GetParameterOutput, error) {
	f.asked = in
	if f.err != nil {
		return nil, f.err
	}
	return &ssm.GetParameterOutput{Parameter: &ssmtypes.Parameter{Value: aws.String(f.value)}}, nil
}

func TestLoadPepper(t *testing.T) {
	good := &fakeSSM{value: strings.Repeat("p", 40)}
	if p, err := LoadPepper(context.Background(), good, "/kagiya/pepper"); err != nil || p != good.value ||
		aws.ToString(good.asked.Name) != "/kagiya/pepper" || !aws.ToBool(good.asked.WithDecryption) {
		t.Fatalf("pepper %q, %v, asked %+v", p, err, good.asked)
	}
	short := &fakeSSM{value: "tiny-secret"}
	if _, err := LoadPepper(context.Background(), short, "/kagiya/pepper"); err == nil || strings.Contains(err.Error(), "tiny-secret") {
		t.Fatalf("a short pepper: %v", err)
	}
	if _, err := LoadPepper(context.Background(), &fakeSSM{err: errors.New("AccessDenied")}, "/kagiya/pepper"); err == nil {
		t.Fatal("an unreadable parameter was accepted")
	}
	cfg, err := LoadConfig(func(k string) string {
		return map[string]string{"TABLE_NAME": "t", "SITE_URL": "https://id.example.com", "MAIL_FROM": "a@b.c", "PASSWORD_PEPPER_PARAM": "/kagiya/pepper"}[k]
	})
	if err != nil || cfg.PepperParam != "/kagiya/pepper" {
		t.Fatalf("config %+v %v", cfg, err)
	}
}

func TestLambdaConfigFromTheEnvironment(t *testing.T) {
	env := map[string]string{"AWS_REGION": "ap-northeast-1", "AWS_ACCESS_KEY_ID": "AKIA", "AWS_SECRET_ACCESS_KEY": "s", "AWS_SESSION_TOKEN": "tok"}
	cfg, err := lambdaConfig(func(k string) string { return env[k] })
	if err != nil || cfg.Region != "ap-northeast-1" {
		t.Fatalf("%+v %v", cfg, err)
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
