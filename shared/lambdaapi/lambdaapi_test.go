package lambdaapi

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
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

type recorder struct{ keys []string }

func (r *recorder) Run(_ context.Context, key string) error { r.keys = append(r.keys, key); return nil }

func TestDispatchS3AndSQSEvents(t *testing.T) {
	s3Event := `{"Records":[{"eventSource":"aws:s3","eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{"key":"uploads/example.com/0123456789abcdef0123456789abcdef/%E5%85%A8%E8%A7%92+%E5%90%8D.csv"}}}]}`
	sqsEvent := `{"Records":[{"eventSource":"aws:sqs","body":"uploads/example.com/0123456789abcdef0123456789abcdef/全角 名.csv"}]}`
	r := &recorder{}
	for _, ev := range []string{s3Event, sqsEvent} {
		if err := dispatch(context.Background(), r, json.RawMessage(ev)); err != nil {
			t.Fatal(err)
		}
	}
	if len(r.keys) != 2 || r.keys[0] != r.keys[1] {
		t.Fatalf("keys %q", r.keys)
	}
	for _, bad := range []string{`{}`, `{"Records":[{"eventSource":"aws:sns"}]}`, `nope`} {
		if err := dispatch(context.Background(), r, json.RawMessage(bad)); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}
