package templatecheck

import (
	"encoding/json"
	"fmt"
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
	decodeTemplate(t, &doc)
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

// TestRestoredTableCanTakeOver: with ExternalTable set (docs/operations.md, restoring the
// table), the stack's own table leaves it and is kept, and every use of the table (the
// functions' TABLE_NAME, their rights, the alarm, the output) names the restored one.
func TestRestoredTableCanTakeOver(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(root, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Parameters map[string]struct {
			Default *string `yaml:"Default"`
		} `yaml:"Parameters"`
		Conditions map[string]valueOf `yaml:"Conditions"`
		Resources  map[string]struct {
			Type                string `yaml:"Type"`
			Condition           string `yaml:"Condition"`
			DeletionPolicy      string `yaml:"DeletionPolicy"`
			UpdateReplacePolicy string `yaml:"UpdateReplacePolicy"`
			Properties          struct {
				TableName valueOf `yaml:"TableName"`
			} `yaml:"Properties"`
		} `yaml:"Resources"`
	}
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"ExternalTable", "TableName"} {
		if d := doc.Parameters[p].Default; d == nil || *d != "" {
			t.Errorf("parameter %s must exist and default to empty", p)
		}
	}
	own := doc.Conditions["OwnTable"]
	if own.Tag != "!Equals" || len(own.Items) != 2 || own.Items[0].Tag != "!Ref" || own.Items[0].Arg != "ExternalTable" || own.Items[1].Arg != "" {
		t.Errorf("OwnTable is %+v, want !Equals [!Ref ExternalTable, \"\"]", own)
	}
	tbl := doc.Resources["Table"]
	if tbl.Condition != "OwnTable" || tbl.DeletionPolicy != "Retain" || tbl.UpdateReplacePolicy != "Retain" {
		t.Errorf("Table: Condition %q, DeletionPolicy %q, UpdateReplacePolicy %q; want OwnTable, Retain, Retain",
			tbl.Condition, tbl.DeletionPolicy, tbl.UpdateReplacePolicy)
	}
	if n := tbl.Properties.TableName; n.Tag != "!If" || len(n.Items) != 3 || n.Items[0].Arg != "HasTableName" || n.Items[1].Arg != "TableName" {
		t.Errorf("Table's TableName is %+v, want the TableName parameter when set", n)
	}
	// Every reference to the table is one of the two forms that follow ExternalTable.
	s := string(raw)
	arn := `!If [OwnTable, !GetAtt Table.Arn, !Sub "arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/${ExternalTable}"]`
	name := `!If [OwnTable, !Ref Table, !Ref ExternalTable]`
	if !strings.Contains(s, "TABLE_NAME: "+name) {
		t.Error("the functions' TABLE_NAME does not follow ExternalTable")
	}
	rest := strings.NewReplacer(arn, "", name, "").Replace(s)
	for _, ref := range regexp.MustCompile(`Table\.Arn|!Ref Table\b|\$\{Table\}`).FindAllString(rest, -1) {
		t.Errorf("template.yaml uses the table as %q, which does not follow ExternalTable", ref)
	}
	// The runbook's parameters and import name what the template has.
	book, err := os.ReadFile(filepath.Join(root, "docs", "operations.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"--param ExternalTable=", "ParameterKey=TableName,", `"ResourceType": "AWS::DynamoDB::Table", "LogicalResourceId": "Table"`,
		"AttributeName=expires_at", "PointInTimeRecoveryEnabled=true", "--deletion-protection-enabled",
		"StreamViewType=NEW_AND_OLD_IMAGES", "--param ExternalTableStreamArn="} {
		if !strings.Contains(string(book), want) {
			t.Errorf("docs/operations.md lacks %q", want)
		}
	}
}

// TestPepperKeyIsDecryptable: every function that reads the pepper parameter may decrypt
// it with the customer-managed key named by PepperKeyArn (README, Deployment).
func TestPepperKeyIsDecryptable(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(root, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(raw)
	reads := strings.Count(s, "Action: [ssm:GetParameter]")
	decrypts := strings.Count(s, "Action: [kms:Decrypt]\n              Resource: !If [HasPepperKey, !Ref PepperKeyArn,")
	if reads == 0 || reads != decrypts {
		t.Errorf("%d functions read the pepper, %d may decrypt it with PepperKeyArn", reads, decrypts)
	}
	if !strings.Contains(s, `HasPepperKey: !Not [!Equals [!Ref PepperKeyArn, ""]]`) {
		t.Error("no HasPepperKey condition on PepperKeyArn")
	}
}

// TestAuditArchiveIsLocked: the table streams its items; only audit items reach the
// archive function, whose one right on data is writing to the archive bucket; the bucket
// keeps every version in compliance mode (nobody, whatever their rights, changes or
// deletes one before AuditArchiveDays); and nothing in the template may delete objects
// there or loosen the lock.
func TestAuditArchiveIsLocked(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(root, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Resources map[string]struct {
			Type           string         `yaml:"Type"`
			Condition      string         `yaml:"Condition"`
			DeletionPolicy string         `yaml:"DeletionPolicy"`
			Properties     map[string]any `yaml:"Properties"`
		} `yaml:"Resources"`
	}
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	table := doc.Resources["Table"].Properties
	if v := fmt.Sprint(table["StreamSpecification"]); v != "map[StreamViewType:NEW_AND_OLD_IMAGES]" {
		t.Errorf("the table's stream is %s", v)
	}
	b := doc.Resources["AuditArchiveBucket"]
	lock := fmt.Sprint(b.Properties["ObjectLockConfiguration"])
	if b.Properties["ObjectLockEnabled"] != true || !strings.Contains(lock, "Mode:COMPLIANCE") || !strings.Contains(lock, "Days:AuditArchiveDays") ||
		fmt.Sprint(b.Properties["VersioningConfiguration"]) != "map[Status:Enabled]" || b.DeletionPolicy != "Retain" {
		t.Errorf("the archive bucket: lock %s, versioning %v, deletion %s", lock, b.Properties["VersioningConfiguration"], b.DeletionPolicy)
	}
	mappings := 0
	for name, r := range doc.Resources {
		if r.Type != "AWS::Lambda::EventSourceMapping" {
			continue
		}
		mappings++
		if fmt.Sprint(r.Properties["FunctionName"]) != "AuditArchiveFunction" ||
			!strings.Contains(fmt.Sprint(r.Properties["FilterCriteria"]), `{"dynamodb": {"Keys": {"PK": {"S": [{"prefix": "AUDIT#"}]}}}}`) {
			t.Errorf("%s: %v", name, r.Properties)
		}
	}
	if mappings != 2 || doc.Resources["AuditArchiveStream"].Condition != "OwnTable" || doc.Resources["AuditArchiveExternalStream"].Condition != "HasExternalStream" {
		t.Errorf("%d stream mappings; want the own table's and a restored one's", mappings)
	}
	for _, bad := range []string{"s3:DeleteObjectVersion", "s3:PutObjectRetention", "s3:BypassGovernanceRetention", "s3:PutBucketObjectLockConfiguration"} {
		if strings.Contains(string(raw), bad) {
			t.Errorf("the template grants %s", bad)
		}
	}
}
