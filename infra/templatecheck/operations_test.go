package templatecheck

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// TestAPIAccessLogs: the HTTP API writes one JSON object a request to a log group of the
// stack kept LogRetentionDays, with API Gateway's request ID and the Lambda's, and nothing
// that carries a query string (OIDC codes and states, emailed tokens) or a raw path.
func TestAPIAccessLogs(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(root, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Resources map[string]struct {
			Type       string `yaml:"Type"`
			Properties struct {
				AccessLogSettings struct {
					DestinationArn valueOf `yaml:"DestinationArn"`
					Format         string  `yaml:"Format"`
				} `yaml:"AccessLogSettings"`
				LogGroupName    valueOf `yaml:"LogGroupName"`
				RetentionInDays valueOf `yaml:"RetentionInDays"`
			} `yaml:"Properties"`
		} `yaml:"Resources"`
	}
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	api := doc.Resources["HttpApi"].Properties.AccessLogSettings
	dest := api.DestinationArn
	group := regexp.MustCompile(`:log-group:\$\{(\w+)\}$`).FindStringSubmatch(dest.Arg)
	if dest.Tag != "!Sub" || group == nil || doc.Resources[group[1]].Type != "AWS::Logs::LogGroup" {
		t.Fatalf("access logs go to %s %s, not a log group of the stack", dest.Tag, dest.Arg)
	}
	if r := doc.Resources[group[1]].Properties.RetentionInDays; r.Tag != "!Ref" || r.Arg != "LogRetentionDays" {
		t.Errorf("the access log group keeps logs %s %s, not LogRetentionDays", r.Tag, r.Arg)
	}
	// Each variable becomes a string value; the result must be one JSON object.
	vars := regexp.MustCompile(`\$context\.[A-Za-z.]+`)
	var line map[string]string
	if err := json.Unmarshal([]byte(vars.ReplaceAllString(api.Format, "x")), &line); err != nil {
		t.Fatalf("the access log format is not JSON: %v\n%s", err, api.Format)
	}
	for _, want := range []string{"$context.requestId", "$context.integration.requestId", "$context.routeKey", "$context.status"} {
		if !strings.Contains(api.Format, want) {
			t.Errorf("the access log lacks %s", want)
		}
	}
	for _, v := range vars.FindAllString(api.Format, -1) {
		if v == "$context.path" || strings.Contains(strings.ToLower(v), "query") {
			t.Errorf("the access log writes %s, which carries the path or the query string", v)
		}
	}
	if strings.Contains(api.Format, "$request.") {
		t.Error("the access log writes request parameters")
	}
}
