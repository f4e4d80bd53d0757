package main

import (
	"bytes"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// docs/cost.md is what the program writes from the committed inputs and prices.
func TestCostDocIsGenerated(t *testing.T) {
	in, pr, err := load()
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	write(&b, in, pr)
	doc, err := os.ReadFile("../../docs/cost.md")
	if err != nil || !bytes.Equal(doc, b.Bytes()) {
		t.Fatalf("docs/cost.md is out of date (%v): go run ./infra/cost > docs/cost.md", err)
	}
	for r, p := range pr.Regions {
		if p.DynamoWrite == 0 || p.CloudFront10k == 0 || p.CloudFrontGB == 0 || p.HTTPAPI == 0 || p.DynamoGB == 0 || p.PITRGB == 0 ||
			p.LogsIngestGB == 0 || p.LogsStoreGB == 0 || p.Alarm == 0 || p.Metric == 0 || p.SES1000 == 0 || p.S3Put1000 == 0 || p.S3GB == 0 {
			t.Errorf("%s: a price was not read: %+v", r, p)
		}
	}
	if in.Stored.Account == 0 || in.AccessLogBytes == 0 || in.BytesCold == 0 || in.HashMS == 0 || len(in.Binaries) == 0 {
		t.Errorf("an input was not read: %+v", in)
	}
}

// accessLogSample fills the API's access log format with a sign-in as API Gateway logs
// it: its request ID form, a Lambda request ID, an IPv4 address, the measured response.
var accessLogSample = map[string]string{
	"$context.requestId": "Jw3oIjTHoAMEb7A=", "$context.integration.requestId": "8f5d9a3c-2b1e-4c7a-9e0f-6d4b2a1c3e5f",
	"$context.requestTimeEpoch": "1764720000123", "$context.identity.sourceIp": "203.0.113.195",
	"$context.routeKey": "POST /api/login", "$context.status": "200", "$context.protocol": "HTTP/1.1",
	"$context.responseLength": "410", "$context.responseLatency": "97", "$context.integrationLatency": "95",
	"$context.integrationErrorMessage": "-",
}

// The figures the model reads from the template are the template's: the access log
// line's size, the alarms, the custom metrics, the secrets, the keys, the WAF's rules.
func TestInputsMatchTheTemplate(t *testing.T) {
	in, _, err := load()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile("../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	tmpl := string(raw)
	// The format is a folded scalar (>-): its lines are joined by spaces.
	lines := strings.Split(tmpl, "\n")
	var parts []string
	for i, l := range lines {
		if strings.TrimSpace(l) != "Format: >-" {
			continue
		}
		indent := len(l) - len(strings.TrimLeft(l, " "))
		for _, f := range lines[i+1:] {
			if len(f)-len(strings.TrimLeft(f, " ")) <= indent {
				break
			}
			parts = append(parts, strings.TrimSpace(f))
		}
	}
	if len(parts) == 0 {
		t.Fatal("template.yaml: no access log Format")
	}
	line := strings.Join(parts, " ")
	for _, v := range regexp.MustCompile(`\$context\.[A-Za-z.]+`).FindAllString(line, -1) {
		s, ok := accessLogSample[v]
		if !ok {
			t.Fatalf("the access log has %s, which accessLogSample does not fill", v)
		}
		line = strings.Replace(line, v, s, 1)
	}
	line += "\n"
	t.Logf("access log line, %d bytes: %s", len(line), line)
	count := func(re string) float64 { return float64(len(regexp.MustCompile(re).FindAllString(tmpl, -1))) }
	metrics := map[string]bool{}
	for _, mm := range regexp.MustCompile(`MetricNamespace: (\S+)\s+MetricName: (\S+)`).FindAllStringSubmatch(tmpl, -1) {
		metrics[mm[1]+"/"+mm[2]] = true
	}
	waf, err := os.ReadFile("../waf.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if m := regexp.MustCompile(`(?s)Globals:.*?LoggingConfig:.*?SystemLogLevel: (\w+)`).FindStringSubmatch(tmpl); m == nil || m[1] != in.SystemLogLevel {
		t.Errorf("inputs.json has lambda_system_log_level %q; the template's Globals have %v", in.SystemLogLevel, m)
	}
	for _, c := range []struct {
		name      string
		got, want float64
	}{
		{"access_log_line_bytes", float64(len(line)), in.AccessLogBytes},
		{"alarms", count(`Type: AWS::CloudWatch::Alarm\b`), in.Alarms},
		// each single-metric alarm reads one; a metric-math alarm each of its MetricStats
		{"alarm_metrics", count(`Type: AWS::CloudWatch::Alarm\b`) - count(`\n      Metrics:\n`) + count(`\bMetricStat:`), in.AlarmMetrics},
		{"custom_metrics", float64(len(metrics)), in.CustomMetrics},
		{"secrets", count(`Type: AWS::SecretsManager::Secret\b`), in.Secrets},
		{"kms_keys", count(`Type: AWS::KMS::Key\b`), in.KMSKeys},
		{"waf_rules", float64(len(regexp.MustCompile(`\n\s+Priority:`).FindAllString(string(waf), -1))), in.WAFRules},
		{"archive.memory_mb", first(t, tmpl, `(?s)AuditArchiveFunction:\n.*?MemorySize: (\d+)`), in.Archive.MemoryMB},
		{"mail_queue.memory_mb", first(t, tmpl, `(?s)MailSenderFunction:\n.*?MemorySize: (\d+)`), in.MailQueue.MemoryMB},
		{"archive.days", first(t, tmpl, `(?s)AuditArchiveDays:\n.*?Default: (\d+)`), in.Archive.Days},
		{"audit_retention_days", first(t, tmpl, `(?s)AuditTableDays:\n.*?Default: (\d+)`), in.AuditDays},
		{"archive.batch_window_s", first(t, tmpl, `(?s)AuditArchiveStream:\n.*?MaximumBatchingWindowInSeconds: (\d+)`), in.Archive.WindowS},
		{"archive.batch_size", first(t, tmpl, `(?s)AuditArchiveStream:\n.*?BatchSize: (\d+)`), in.Archive.BatchSize},
		{"log_retention_days", first(t, tmpl, `(?s)LogRetentionDays:\n.*?Default: (\d+)`), in.LogDays},
	} {
		if c.got != c.want {
			t.Errorf("inputs.json has %s = %v; the template has %v: update it and regenerate docs/cost.md", c.name, c.want, c.got)
		}
	}
}

// first is the number re's group matches first in s.
func first(t *testing.T, s, re string) float64 {
	t.Helper()
	m := regexp.MustCompile(re).FindStringSubmatch(s)
	if m == nil {
		t.Fatalf("template.yaml: no %s", re)
	}
	n, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// Each change the model prices moves the bill the way it says: undoing a made one raises
// it, a coming or unmade one lowers it; pricing one leaves the model's inputs as they were.
func TestLeversEachSave(t *testing.T) {
	in, pr, err := load()
	if err != nil {
		t.Fatal(err)
	}
	p := pr.Regions["us-east-1"]
	now := total(month(in, p, 1e5))
	emails := len(in.Emails)
	for _, l := range made {
		if got := priced(in, p, 1e5, l); got <= now {
			t.Errorf("undoing %s: %.2f USD, not above %.2f", l.name, got, now)
		}
	}
	for _, l := range append(append([]lever{}, coming...), notMade...) {
		if got := priced(in, p, 1e5, l); got >= now {
			t.Errorf("%s: %.2f USD, not below %.2f", l.name, got, now)
		}
	}
	if len(in.Emails) != emails || total(month(in, p, 1e5)) != now {
		t.Error("pricing a change changed the model's inputs")
	}
}
