// Package templatecheck checks template.yaml against the code: every function builds
// from a main package here, and the HTTP API's routes are exactly the handler's.
package templatecheck

import (
	"fmt"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/awslabs/goformation/v7"
	"github.com/awslabs/goformation/v7/cloudformation"
	"gopkg.in/yaml.v3"

	"github.com/kagiya/kagiya/shared/httpapi"
	"github.com/kagiya/kagiya/shared/idp"
	"github.com/kagiya/kagiya/shared/store/dynamostore"
)

const root = "../.."

// decodeTemplate reads template.yaml into doc, a struct of the parts a test looks at.
func decodeTemplate(t *testing.T, doc any) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(root, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(raw, doc); err != nil {
		t.Fatal(err)
	}
}

func load(t *testing.T) *cloudformation.Template {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(root, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := goformation.ParseYAML(withoutAccessLogSettings(t, raw))
	if err != nil {
		t.Fatalf("template.yaml: %v", err)
	}
	return tmpl
}

// withoutAccessLogSettings drops the HTTP API's AccessLogSettings, which goformation
// v7.14.9 refuses: it spells the property AccessLogSetting, while SAM (and cfn-lint, which
// runs SAM's translator) takes AccessLogSettings. TestAPIAccessLogs reads it instead.
func withoutAccessLogSettings(t *testing.T, raw []byte) []byte {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	props := lookup(lookup(lookup(doc.Content[0], "Resources"), "HttpApi"), "Properties")
	if props != nil {
		for i := 0; i+1 < len(props.Content); i += 2 {
			if props.Content[i].Value == "AccessLogSettings" {
				props.Content = append(props.Content[:i], props.Content[i+2:]...)
				break
			}
		}
	}
	out, err := yaml.Marshal(&doc)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// lookup returns the value of key in a YAML mapping node, or nil.
func lookup(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

func TestFunctionsAreMainPackagesBuiltForLambda(t *testing.T) {
	fns := load(t).GetAllServerlessFunctionResources()
	if len(fns) < 2 {
		t.Fatalf("%d functions in the template", len(fns))
	}
	for name, fn := range fns {
		if fn.CodeUri == nil || fn.CodeUri.String == nil {
			t.Errorf("%s: no local CodeUri", name)
			continue
		}
		dir := filepath.Join(root, *fn.CodeUri.String)
		f, err := parser.ParseFile(token.NewFileSet(), filepath.Join(dir, "main.go"), nil, parser.PackageClauseOnly)
		if err != nil || f.Name.Name != "main" {
			t.Errorf("%s: CodeUri %s is not a main package: %v", name, *fn.CodeUri.String, err)
		}
		if !strings.HasPrefix(*fn.CodeUri.String, "functions/") {
			t.Errorf("%s: CodeUri %s is outside functions/", name, *fn.CodeUri.String)
		}
		// Built by infra/build/Makefile, with the flags infra/test.sh uses.
		if fn.AWSCloudFormationMetadata["BuildMethod"] != "makefile" || fn.AWSCloudFormationMetadata["ContextPath"] != "infra/build" {
			t.Errorf("%s: Metadata = %v, want BuildMethod makefile in infra/build", name, fn.AWSCloudFormationMetadata)
		}
		mk, _ := os.ReadFile(filepath.Join(root, "infra", "build", "Makefile"))
		target := "build-" + name + ":\n\t$(GO_BUILD) -o \"$(ARTIFACTS_DIR)/bootstrap\" ./" + strings.TrimSuffix(*fn.CodeUri.String, "/")
		if !strings.Contains(string(mk), target) {
			t.Errorf("%s: infra/build/Makefile lacks %q", name, target)
		}
		sh, _ := os.ReadFile(filepath.Join(root, "infra", "test.sh"))
		if !strings.Contains(string(mk), "CGO_ENABLED=0 go build -tags lambda.norpc -trimpath -ldflags='-s -w'") ||
			!strings.Contains(string(sh), "CGO_ENABLED=0 go build -tags lambda.norpc -trimpath -ldflags='-s -w'") {
			t.Error("the Makefile and infra/test.sh build Lambda binaries differently")
		}
	}
	raw, err := os.ReadFile(filepath.Join(root, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Runtime: provided.al2023", "Architectures: [arm64]", "Handler: bootstrap"} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("Globals lack %q", want)
		}
	}
}

func TestRoutesMatchTheHandler(t *testing.T) {
	var inTemplate []string
	for name, fn := range load(t).GetAllServerlessFunctionResources() {
		for ev, src := range fn.Events {
			if src.Type != "HttpApi" {
				continue
			}
			p := src.Properties
			var method, path string
			switch {
			case p.HttpApiEvent != nil && p.HttpApiEvent.Method != nil:
				method, path = *p.HttpApiEvent.Method, *p.HttpApiEvent.Path
			case p.ApiEvent != nil:
				method, path = p.ApiEvent.Method, p.ApiEvent.Path
			default:
				t.Errorf("%s.%s: no method and path", name, ev)
				continue
			}
			inTemplate = append(inTemplate, strings.ToUpper(method)+" "+path)
		}
	}
	served := append(httpapi.Routes(), idp.Routes()...)
	for _, r := range inTemplate {
		if !slices.Contains(served, r) {
			t.Errorf("template routes %q, which the handler does not serve", r)
		}
	}
	for _, r := range served {
		if !slices.Contains(inTemplate, r) {
			t.Errorf("the handler serves %q, which no function in the template receives", r)
		}
	}
	slices.Sort(inTemplate)
	if len(slices.Compact(slices.Clone(inTemplate))) != len(inTemplate) {
		t.Errorf("a route goes to two functions: %v", inTemplate)
	}
}

func TestTableAndPermissions(t *testing.T) {
	tmpl := load(t)
	tables := tmpl.GetAllDynamoDBTableResources()
	tbl, ok := tables["Table"]
	if !ok {
		t.Fatal("no Table")
	}
	if tbl.BillingMode == nil || *tbl.BillingMode != "PAY_PER_REQUEST" {
		t.Error("table is not on-demand")
	}
	if tbl.TimeToLiveSpecification == nil || tbl.TimeToLiveSpecification.AttributeName == nil || *tbl.TimeToLiveSpecification.AttributeName != "expires_at" || !tbl.TimeToLiveSpecification.Enabled {
		t.Error("TTL is not on expires_at")
	}
	if tbl.PointInTimeRecoverySpecification == nil || tbl.PointInTimeRecoverySpecification.PointInTimeRecoveryEnabled == nil || !*tbl.PointInTimeRecoverySpecification.PointInTimeRecoveryEnabled {
		t.Error("point-in-time recovery is off")
	}
	raw, _ := os.ReadFile(filepath.Join(root, "template.yaml"))
	// (A Resource of "*" is refused in every function's policy by TestFunctionPermissions;
	// in the KMS key's own policy it means that key.)
	for _, forbidden := range []string{"dynamodb:*", "ses:*", "DynamoDBCrudPolicy", "AmazonDynamoDBFullAccess"} {
		if strings.Contains(string(raw), forbidden) {
			t.Errorf("template grants %q: permissions must be least-privilege", forbidden)
		}
	}
}

// TestFunctionPermissions reads each function's policy statements: table actions only on
// the table and only those the function's store calls need; mail only into the mail
// queue, only for the functions that send mail (and have the outbox's mailer), and SES
// only for the mail sender, only from the configured identity.
func TestFunctionPermissions(t *testing.T) {
	var doc struct {
		Resources map[string]struct {
			Type       string `yaml:"Type"`
			Properties struct {
				CodeURI  string `yaml:"CodeUri"`
				Policies []struct {
					Statement []struct {
						Action    []string `yaml:"Action"`
						Resource  any      `yaml:"Resource"`
						Condition any      `yaml:"Condition"`
					} `yaml:"Statement"`
				} `yaml:"Policies"`
			} `yaml:"Properties"`
		} `yaml:"Resources"`
	}
	decodeTemplate(t, &doc)
	sends := map[string]bool{"LoginFunction": true, "AdminFunction": true, "ResetFunction": true, "PasswordFunction": true,
		"BulkFunction": true, "UnlockFunction": false, "MailEventsFunction": false, "OidcFunction": false,
		"AuditArchiveFunction": false, "MailSenderFunction": false}
	const sesSender = "MailSenderFunction" // the one function that talks to SES
	allowed := map[string]bool{"dynamodb:GetItem": true, "dynamodb:PutItem": true, "dynamodb:UpdateItem": true,
		"dynamodb:DeleteItem": true, "dynamodb:Query": true, "dynamodb:TransactWriteItems": true, "ses:SendRawEmail": true,
		"s3:PutObject": true, "s3:GetObject": true, "s3:DeleteObject": true, "sqs:SendMessage": true, "ssm:GetParameter": true,
		"kms:GenerateDataKey": true, "kms:Decrypt": true, "secretsmanager:GetSecretValue": true,
		"ses:GetSendQuota": true, "sqs:ChangeMessageVisibility": true,
		"dynamodb:DescribeStream": true, "dynamodb:GetRecords": true, "dynamodb:GetShardIterator": true, "dynamodb:ListStreams": true}
	// The functions behind the HTTP API read the origin secret at start.
	servesHTTP := map[string]bool{"LoginFunction": true, "AdminFunction": true, "PasswordFunction": true, "UnlockFunction": true,
		"ResetFunction": true, "OidcFunction": true}
	// Only the function that checks codes (and opens identity providers' client secrets),
	// the provider (whose signing keys are sealed) and the administration (which seals an
	// identity provider's client secret when the owner registers it) open the seal key.
	opensSealKey := map[string]bool{"LoginFunction": true, "OidcFunction": true, "AdminFunction": true}
	for name, res := range doc.Resources {
		if res.Type != "AWS::Serverless::Function" {
			continue
		}
		want, known := sends[name]
		if !known {
			t.Errorf("%s: a function this test does not know; add what it may do", name)
		}
		mails, usesSES, readsOrigin := false, false, false
		for _, p := range res.Properties.Policies {
			for _, st := range p.Statement {
				// GetSendQuota names no resource; IAM grants it on "*" alone.
				if st.Resource == "*" && !(name == sesSender && slices.Equal(st.Action, []string{"ses:GetSendQuota"})) {
					t.Errorf("%s: a statement on every resource", name)
				}
				for _, action := range st.Action {
					if !allowed[action] {
						t.Errorf("%s: action %s", name, action)
					}
					if strings.HasPrefix(action, "kms:") {
						// The pepper's customer-managed key, when there is one: decrypt only.
						if r, _ := st.Resource.([]any); len(r) == 3 && r[0] == "HasPepperKey" && r[1] == "PepperKeyArn" {
							if action != "kms:Decrypt" || !strings.Contains(fmt.Sprint(st.Condition), "kms:ViaService:ssm.${AWS::Region}.amazonaws.com") {
								t.Errorf("%s: %s on the pepper's key, beyond decrypting through SSM (%v)", name, action, st.Condition)
							}
							continue
						}
						if r, _ := st.Resource.(string); r != "SealKey.Arn" || !opensSealKey[name] {
							t.Errorf("%s: %s on %v: only the sign-in, provider and administration functions, only on the seal key", name, action, st.Resource)
						}
					}
					if strings.HasPrefix(action, "dynamodb:") && strings.Contains(action, "Stream") || action == "dynamodb:GetRecords" || action == "dynamodb:GetShardIterator" {
						if r, _ := st.Resource.(string); name != "AuditArchiveFunction" || !strings.HasSuffix(r, ":table/*/stream/*") {
							t.Errorf("%s: %s on %v: only the audit archive reads streams", name, action, st.Resource)
						}
					}
					if strings.HasPrefix(action, "s3:") && name == "AuditArchiveFunction" {
						if r, _ := st.Resource.(string); action != "s3:PutObject" || r != "${AuditArchiveBucket.Arn}/*" {
							t.Errorf("%s: %s on %v, beyond writing to the archive", name, action, st.Resource)
						}
						continue
					}
					if strings.HasPrefix(action, "s3:") {
						r, _ := st.Resource.(string)
						export := name == "AdminFunction" && strings.HasSuffix(r, "-uploads-${AWS::Region}-${AWS::AccountId}/exports/*") // large exports, downloaded by a presigned link
						if !export && !strings.HasSuffix(r, "-uploads-${AWS::Region}-${AWS::AccountId}/uploads/*") {
							t.Errorf("%s: %s on %v, beyond the upload bucket's uploads/", name, action, st.Resource)
						}
					}
					if strings.HasPrefix(action, "secretsmanager:") {
						readsOrigin = true
						if r, _ := st.Resource.(string); r != "OriginSecret" || !servesHTTP[name] {
							t.Errorf("%s: %s on %v: only the HTTP functions, only the origin secret", name, action, st.Resource)
						}
					}
					if strings.HasPrefix(action, "ssm:") {
						if r, _ := st.Resource.(string); !strings.HasSuffix(r, ":parameter${PepperParameter}") {
							t.Errorf("%s: %s on %v, beyond the pepper parameter", name, action, st.Resource)
						}
					}
					if strings.HasPrefix(action, "sqs:") {
						r, _ := st.Resource.(string)
						switch {
						case action == "sqs:SendMessage" && r == "MailQueue.Arn":
							mails = true
						case action == "sqs:SendMessage" && name == "BulkFunction" && (r == "ContinueQueue.Arn" || r == "ApplyQueue.Arn"):
						case action == "sqs:ChangeMessageVisibility" && name == sesSender && r == "MailQueue.Arn":
						default:
							t.Errorf("%s: %s on %v", name, action, st.Resource)
						}
					}
					if strings.HasPrefix(action, "ses:") {
						usesSES = true
						if name != sesSender {
							t.Errorf("%s: %s: only the mail sender talks to SES", name, action)
						}
						if action == "ses:GetSendQuota" {
							continue
						}
						rs, _ := st.Resource.([]any)
						for _, r := range rs {
							s, _ := r.(string)
							if !strings.HasSuffix(s, ":identity/${MailIdentity}") && !strings.HasSuffix(s, ":configuration-set/${MailConfigurationSet}") {
								t.Errorf("%s: mail permission on %v, beyond the identity and its configuration set", name, r)
							}
						}
						if len(rs) != 2 {
							t.Errorf("%s: mail permission on %v", name, st.Resource)
						}
					}
				}
			}
		}
		if readsOrigin != servesHTTP[name] {
			t.Errorf("%s: may read the origin secret = %v, serves HTTP = %v", name, readsOrigin, servesHTTP[name])
		}
		if mails != want {
			t.Errorf("%s: may send mail = %v, want %v", name, mails, want)
		}
		// A function has a mailer exactly when it may enqueue mail, and talks to SES
		// exactly when it is the mail sender.
		main := mainOf(t, res.Properties.CodeURI)
		takes := strings.Contains(main, "Mail: sqsoutbox.Mailer") || strings.Contains(main, "bulklambda.Handler(") // bulklambda passes it
		if takes != mails {
			t.Errorf("%s (%s): has a mailer = %v, may enqueue mail = %v", name, res.Properties.CodeURI, takes, mails)
		}
		if delivers := strings.Contains(main, "maillambda.Handler("); delivers != usesSES || usesSES != (name == sesSender) {
			t.Errorf("%s (%s): delivers the mail queue = %v, may use SES = %v", name, res.Properties.CodeURI, delivers, usesSES)
		}
	}
}

// mainOf is the source of the function in dir (functions/x).
func mainOf(t *testing.T, dir string) string {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(root, dir, "main.go"))
	if err != nil {
		t.Fatal(err)
	}
	return string(src)
}

// TestBulkWiring checks the upload bucket and the bulk function's triggers.
func TestBulkWiring(t *testing.T) {
	raw, _ := os.ReadFile(filepath.Join(root, "template.yaml"))
	var doc struct {
		Resources map[string]struct {
			Type       string         `yaml:"Type"`
			Properties map[string]any `yaml:"Properties"`
		} `yaml:"Resources"`
	}
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	bucket := doc.Resources["UploadBucket"].Properties
	for _, key := range []string{"PublicAccessBlockConfiguration", "BucketEncryption", "LifecycleConfiguration", "CorsConfiguration"} {
		if bucket[key] == nil {
			t.Errorf("upload bucket lacks %s", key)
		}
	}
	fn := doc.Resources["BulkFunction"].Properties
	events, _ := fn["Events"].(map[string]any)
	kinds := map[string]bool{}
	for _, e := range events {
		kinds[e.(map[string]any)["Type"].(string)] = true
	}
	if !kinds["S3"] || !kinds["SQS"] {
		t.Errorf("bulk function triggers %v; want S3 and SQS", kinds)
	}
	for _, name := range []string{"ContinueQueue", "FailedRunQueue", "ApplyQueue"} {
		q := doc.Resources[name].Properties
		if vt, _ := q["VisibilityTimeout"].(int); vt <= fn["Timeout"].(int) {
			t.Errorf("%s visibility %v not longer than the function timeout %v", name, q["VisibilityTimeout"], fn["Timeout"])
		}
	}
	// A run that fails every retry must end its job: the on-failure destination is the
	// queue the function reads.
	dest, _ := fn["EventInvokeConfig"].(map[string]any)["DestinationConfig"].(map[string]any)["OnFailure"].(map[string]any)
	if dest["Type"] != "SQS" || !strings.Contains(fmt.Sprint(dest["Destination"]), "FailedRunQueue") {
		t.Errorf("bulk function's on-failure destination %v", dest)
	}
	reads := false
	for _, e := range events {
		if props, _ := e.(map[string]any)["Properties"].(map[string]any); strings.Contains(fmt.Sprint(props["Queue"]), "FailedRunQueue") {
			reads = true
		}
	}
	if !reads {
		t.Error("the bulk function does not read its on-failure queue")
	}
	// A large job's parts: one a delivery, at most BulkMaxConcurrency at once, and a part
	// that fails every delivery lands where the function ends its job as failed.
	apply, _ := events["Apply"].(map[string]any)["Properties"].(map[string]any)
	scaling, _ := apply["ScalingConfig"].(map[string]any)
	if !strings.Contains(fmt.Sprint(apply["Queue"]), "ApplyQueue") || apply["BatchSize"] != 1 || fmt.Sprint(scaling["MaximumConcurrency"]) != "BulkMaxConcurrency" {
		t.Errorf("bulk function's apply queue event %v", apply)
	}
	redrive, _ := doc.Resources["ApplyQueue"].Properties["RedrivePolicy"].(map[string]any)
	if !strings.Contains(fmt.Sprint(redrive["deadLetterTargetArn"]), "FailedRunQueue") {
		t.Errorf("apply queue's dead letters go to %v, not the failed-run queue", redrive["deadLetterTargetArn"])
	}
}

// TestTableIndexesAreTheStoresOwn holds the template's global secondary indexes to the
// ones the store queries (dynamostore.GlobalSecondaryIndexes, which CreateTable makes).
func TestTableIndexesAreTheStoresOwn(t *testing.T) {
	tbl := load(t).GetAllDynamoDBTableResources()["Table"]
	describe := func(name string, keys []string, projection string, include []string) string {
		return fmt.Sprintf("%s %v %s %v", name, keys, projection, include)
	}
	var got, want []string
	for _, ix := range tbl.GlobalSecondaryIndexes {
		var keys []string
		for _, k := range ix.KeySchema {
			keys = append(keys, k.AttributeName+":"+k.KeyType)
		}
		got = append(got, describe(ix.IndexName, keys, *ix.Projection.ProjectionType, ix.Projection.NonKeyAttributes))
	}
	for _, ix := range dynamostore.GlobalSecondaryIndexes() {
		var keys []string
		for _, k := range ix.KeySchema {
			keys = append(keys, *k.AttributeName+":"+string(k.KeyType))
		}
		want = append(want, describe(*ix.IndexName, keys, string(ix.Projection.ProjectionType), ix.Projection.NonKeyAttributes))
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("template indexes:\n%s\nthe store's:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestOriginSecretIsWired checks that CloudFront sends the origin secret the functions
// expect, and forwards the viewer's address.
func TestOriginSecretIsWired(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(root, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(raw)
	ref := `"{{resolve:secretsmanager:${OriginSecret}:SecretString}}"`
	// The functions get the secret's ARN and read it at start; its value is in no
	// function's environment (only CloudFront's origin header has it).
	if strings.Count(s, "{{resolve:secretsmanager:") != 1 || strings.Contains(s, "ORIGIN_SECRET:") {
		t.Error("the origin secret's value reaches somewhere else than CloudFront's origin header")
	}
	for _, want := range []string{"ORIGIN_SECRET_ARN: !Ref OriginSecret", "HeaderName: " + httpapi.OriginHeader, "HeaderValue: !Sub " + ref,
		"CloudFront-Viewer-Address", "OriginRequestPolicyId: !Ref ApiOriginRequests", "Type: AWS::SecretsManager::Secret"} {
		if !strings.Contains(s, want) {
			t.Errorf("template.yaml lacks %q", want)
		}
	}
}

// Third security review (issue 23): the site's CSP let it connect to any https origin.
// CloudFront's policy allows its own origin and the upload bucket (presigned uploads and
// exports), nothing else.
func TestSiteCSPConnectsOnlyToItsOriginAndTheUploadBucket(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(root, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`ContentSecurityPolicy: (.*connect-src ([^;]*);.*)`)
	m := re.FindAllStringSubmatch(string(raw), -1)
	if len(m) != 1 {
		t.Fatalf("%d content security policies in template.yaml", len(m))
	}
	if got := m[0][2]; got != "'self' https://${UploadBucket.RegionalDomainName}" || !strings.HasPrefix(m[0][1], "!Sub ") {
		t.Fatalf("connect-src %s", got)
	}
}

// TestOperations holds the template to what an operator needs: every function's logs
// kept for a set time and watched for errors and throttles, alarms to a topic, the table
// protected from deletion, audit items never changed or removed by a function, and names
// that carry the region.
func TestOperations(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(root, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Resources map[string]struct {
			Type       string         `yaml:"Type"`
			Properties map[string]any `yaml:"Properties"`
		} `yaml:"Resources"`
	}
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	logs, alarms := map[string]bool{}, map[string]bool{}
	for _, r := range doc.Resources {
		switch r.Type {
		case "AWS::Logs::LogGroup":
			if r.Properties["RetentionInDays"] == nil {
				t.Errorf("a log group without retention: %v", r.Properties["LogGroupName"])
			}
			logs[fmt.Sprint(r.Properties["LogGroupName"])] = true
		case "AWS::CloudWatch::Alarm":
			alarms[fmt.Sprint(r.Properties["MetricName"])] = true
			ms, _ := r.Properties["Metrics"].([]any)
			for _, m := range ms {
				if stat, ok := m.(map[string]any)["MetricStat"].(map[string]any); ok {
					alarms[fmt.Sprint(stat["Metric"].(map[string]any)["MetricName"])] = true
				}
			}
			if r.Properties["AlarmActions"] == nil {
				t.Errorf("an alarm that tells no one: %v", r.Properties["AlarmDescription"])
			}
		}
	}
	for name, r := range doc.Resources {
		if r.Type != "AWS::Serverless::Function" {
			continue
		}
		if !logs["/aws/lambda/${"+name+"}"] {
			t.Errorf("%s: no log group with retention", name)
		}
	}
	for _, m := range []string{"Errors", "Throttles", "5xx", "ThrottledRequests", "ApproximateNumberOfMessagesVisible", "MailNotSent", "RateLimited", "NumberOfMessagesSent"} {
		if !alarms[m] {
			t.Errorf("no alarm on %s", m)
		}
	}
	if doc.Resources["Table"].Properties["DeletionProtectionEnabled"] != true {
		t.Error("the table can be deleted")
	}
	s := string(raw)
	if n, fns := strings.Count(s, `dynamodb:LeadingKeys: ["AUDIT#*"]`), strings.Count(s, "Type: AWS::Serverless::Function"); n != fns || !strings.Contains(s, "Effect: Deny\n              Action: [dynamodb:UpdateItem, dynamodb:DeleteItem]") {
		t.Errorf("%d audit denials for %d functions", n, fns)
	}
	for _, r := range doc.Resources {
		if name, ok := r.Properties["BucketName"].(string); ok && !strings.Contains(name, "${AWS::Region}") {
			t.Errorf("bucket name %q does not carry the region", name)
		}
	}
	if strings.Contains(s, "ReservedConcurrentExecutions: 10") {
		t.Error("a fixed reserved concurrency fails on accounts whose quota is 10")
	}
}

// TestDeployScript checks the one-command deploy parses and finds what it reads.
func TestDeployScript(t *testing.T) {
	script := filepath.Join(root, "infra", "deploy", "deploy.sh")
	if out, err := exec.Command("bash", "-n", script).CombinedOutput(); err != nil {
		t.Fatalf("bash -n: %v\n%s", err, out)
	}
	raw, _ := os.ReadFile(filepath.Join(root, "template.yaml"))
	sh, _ := os.ReadFile(script)
	for _, o := range []string{"SiteBucketName", "DistributionId", "AdminFunctionName", "SiteURL"} {
		if strings.Contains(string(sh), o) && !strings.Contains(string(raw), "  "+o+":") {
			t.Errorf("deploy.sh reads the output %s, which the template lacks", o)
		}
	}
	if !strings.Contains(string(raw), "WebACLId: !If [HasWebACL, !Ref WebACLArn, !Ref AWS::NoValue]") {
		t.Error("the distribution does not take the web ACL")
	}
}

// TestAPICustomDomainIsOptional: with ApiDomainName and ApiCertificateArn, the API gets a
// regional custom domain, CloudFront reaches it there, and the execute-api endpoint is
// turned off; without them nothing changes.
func TestAPICustomDomainIsOptional(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(root, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(raw)
	for _, want := range []string{
		"ApiDomainName:\n    Type: String\n    Default: \"\"",
		"ApiCertificateArn:\n    Type: String\n    Default: \"\"",
		`HasApiDomain: !And [!Not [!Equals [!Ref ApiDomainName, ""]], !Not [!Equals [!Ref ApiCertificateArn, ""]]]`,
		"DisableExecuteApiEndpoint: !If [HasApiDomain, true, false]",
		"Type: AWS::ApiGatewayV2::DomainName\n    Condition: HasApiDomain",
		"EndpointType: REGIONAL",
		"Type: AWS::ApiGatewayV2::ApiMapping\n    Condition: HasApiDomain",
		`DomainName: !If [HasApiDomain, !Ref ApiDomainName, !Sub "${HttpApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}"]`,
	} {
		if !strings.Contains(s, want) {
			t.Errorf("template.yaml lacks %q", want)
		}
	}
}
