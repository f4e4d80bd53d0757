package lambdaapi

import (
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
