// Package deploy holds deploy.sh, the one deployment command, and its tests: the dry run
// against stub aws and sam commands.
package deploy

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// stubAWS answers the read-only calls of the checks from STUB_* variables and logs every
// call but --version (v2 unless STUB_AWS_VERSION says otherwise); stubSAM only logs.
const stubAWS = `#!/usr/bin/env bash
if [ "$1" = --version ]; then
  v=${STUB_AWS_VERSION:-aws-cli/2.22.35 Python/3.12.6 Linux/6.1.0 exe/x86_64.debian.12}
  case "$v" in aws-cli/1.*) echo "$v" >&2 ;; *) echo "$v" ;; esac
  exit 0
fi
echo "aws $*" >> "$STUB_LOG"
case "$1 $2" in
  "sts get-caller-identity") echo 123456789012 ;;
  "sesv2 get-email-identity") echo "${STUB_SES_VERIFIED:-True}" ;;
  "sesv2 get-account") echo "${STUB_SES_PRODUCTION:-True}" ;;
  "acm describe-certificate")
    case "$*" in
      *Certificate.Status*) echo "${STUB_CERT_STATUS:-ISSUED}" ;;
      *) echo "${STUB_CERT_NAMES:-id.example.com}" ;;
    esac ;;
  "lambda get-account-settings") echo "${STUB_CONCURRENCY:-1000}" ;;
  "ssm describe-parameters") echo "${STUB_PEPPER_KEY:-alias/aws/ssm}" ;;
esac
`

const stubSAM = `#!/usr/bin/env bash
echo "sam $*" >> "$STUB_LOG"
`

// readOnly are the calls the checks make; a dry run makes no other.
var readOnly = []string{"aws sts get-caller-identity", "aws sesv2 get-email-identity", "aws sesv2 get-account",
	"aws acm describe-certificate", "aws lambda get-account-settings", "aws ssm describe-parameters"}

type result struct {
	out, errOut string
	code        int
	calls       []string
}

// dryRun runs deploy.sh --dry-run with the stubs first on PATH and env added. Its
// standard input is a pipe nobody writes to: a prompt would wait on it for ever, so the
// test's deadline (a failure, never a pause) reports it.
func dryRun(t *testing.T, env []string, args ...string) result {
	t.Helper()
	bin := t.TempDir()
	for name, body := range map[string]string{"aws": stubAWS, "sam": stubSAM} {
		if err := os.WriteFile(filepath.Join(bin, name), []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	log := filepath.Join(t.TempDir(), "calls")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", append([]string{"deploy.sh", "--dry-run"}, args...)...)
	cmd.Env = append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"), "STUB_LOG="+log,
		"KAGIYA_STACK=", "KAGIYA_REGION=", "KAGIYA_SITE_DOMAIN=", "KAGIYA_CERTIFICATE_ARN=", "KAGIYA_MAIL_IDENTITY=",
		"KAGIYA_MAIL_FROM=", "KAGIYA_ALARM_EMAIL=", "KAGIYA_PEPPER_PARAMETER=", "KAGIYA_PARAMS=", "KAGIYA_OWNER=",
		"KAGIYA_OWNER_PASSWORD=", "AWS_REGION=", "AWS_DEFAULT_REGION=")
	cmd.Env = append(cmd.Env, env...)
	stdin, hold, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	defer hold.Close()
	cmd.Stdin = stdin
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("deploy.sh did not end: it waits for an answer\n%s\n%s", out.String(), errOut.String())
	}
	r := result{out: out.String(), errOut: errOut.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	if f, err := os.Open(log); err == nil {
		defer f.Close()
		for s := bufio.NewScanner(f); s.Scan(); {
			r.calls = append(r.calls, s.Text())
		}
	}
	return r
}

func site() []string {
	return []string{"--stack", "kagiya-test", "--region", "ap-northeast-1", "--site-domain", "id.example.com",
		"--certificate-arn", "arn:aws:acm:us-east-1:123456789012:certificate/abc", "--mail-identity", "example.com",
		"--mail-from", "no-reply@example.com"}
}

// TestDryRunPrintsEveryStepAndAsksNothing: with the site's values as flags, the dry run
// checks the prerequisites (read-only calls only), prints every command of the
// deployment, writes nothing, never prompts and never runs sam.
func TestDryRunPrintsEveryStepAndAsksNothing(t *testing.T) {
	config := filepath.Join(t.TempDir(), "samconfig.local.toml")
	r := dryRun(t, []string{"KAGIYA_OWNER_PASSWORD=Very-secret-2026!"},
		append(site(), "--config", config, "--owner", "owner@example.com", "--param", "LogRetentionDays=365")...)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.out, r.errOut)
	}
	for _, want := range []string{
		"+ aws cloudformation deploy --region us-east-1 --stack-name kagiya-test-waf --template-file infra/waf.yaml --no-fail-on-empty-changeset\n",
		"+ sam build --config-file " + config + "\n",
		"+ sam deploy --config-file " + config + " --no-confirm-changeset --no-fail-on-empty-changeset --capabilities CAPABILITY_IAM\n",
		`+ go run ./infra/sitebuild -out \<temporary-directory\>`,
		`+ aws s3 sync \<temporary-directory\> s3://\<kagiya-test:SiteBucketName\>/ --exclude \*.html --cache-control public\,\ max-age=31536000\,\ immutable`,
		`--exclude \* --include \*.html --cache-control max-age=604800 --delete`,
		`+ aws cloudfront create-invalidation --distribution-id \<kagiya-test:DistributionId\> --paths / /\*.html`,
		`+ aws lambda invoke --region ap-northeast-1 --function-name \<kagiya-test:AdminFunctionName\>`,
		`\"password\":\"\*\*\*\*\*\*\*\*\"`,
		// The smoke test with a temporary account, made and removed by the new owner.
		`+ KAGIYA_SMOKE_ADMIN_PASSWORD=******** go run ./infra/smoke -url https://\<kagiya-test:DistributionDomain\> -admin owner@example.com`,
		"confirm_changeset = false\n",
		`stack_name = "kagiya-test"`,
		`region = "ap-northeast-1"`,
		`SiteDomain=\"id.example.com\"`, `CertificateArn=\"arn:aws:acm:us-east-1:123456789012:certificate/abc\"`,
		`MailIdentity=\"example.com\"`, `MailFrom=\"no-reply@example.com\"`, `LogRetentionDays=\"365\"`,
		`WebACLArn=\"<kagiya-test-waf:WebACLArn>\"`, "+ go run ./infra/sitebuild -id\n", `SiteBuild=\"<site-build>\"`,
	} {
		if !strings.Contains(r.out, want) {
			t.Errorf("the dry run does not print %q", want)
		}
	}
	if strings.Contains(r.out+r.errOut, "Very-secret-2026!") {
		t.Error("the dry run prints the owner's password")
	}
	if strings.Contains(r.out, "--guided") {
		t.Error("a guided deploy asks questions")
	}
	if _, err := os.Stat(config); !os.IsNotExist(err) {
		t.Errorf("the dry run wrote %s (%v)", config, err)
	}
	checked := map[string]bool{}
	for _, c := range r.calls {
		ok := false
		for _, prefix := range readOnly {
			if strings.HasPrefix(c, prefix+" ") {
				ok, checked[prefix] = true, true
			}
		}
		if !ok {
			t.Errorf("the dry run ran %q", c)
		}
	}
	for _, prefix := range readOnly[:5] {
		if !checked[prefix] {
			t.Errorf("the checks never ran %q", prefix)
		}
	}
}

// TestDryRunSmokeWithoutAnAdministrator: with no owner made and no KAGIYA_SMOKE_ADMIN,
// the smoke test checks the pages and health only, and says why.
func TestDryRunSmokeWithoutAnAdministrator(t *testing.T) {
	r := dryRun(t, nil, append(site(), "--config", filepath.Join(t.TempDir(), "c.toml"))...)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.out, r.errOut)
	}
	for _, want := range []string{"pages and health only", "+ go run ./infra/smoke -url https://\\<kagiya-test:DistributionDomain\\>\n"} {
		if !strings.Contains(r.out, want) {
			t.Errorf("the dry run does not print %q:\n%s", want, r.out)
		}
	}
	r = dryRun(t, []string{"KAGIYA_SMOKE_ADMIN=admin@example.com", "KAGIYA_SMOKE_ADMIN_PASSWORD=Very-secret-2026!"},
		append(site(), "--config", filepath.Join(t.TempDir(), "c.toml"))...)
	if want := "go run ./infra/smoke -url https://\\<kagiya-test:DistributionDomain\\> -admin admin@example.com"; !strings.Contains(r.out, want) {
		t.Errorf("the dry run does not print %q:\n%s", want, r.out)
	}
	if strings.Contains(r.out+r.errOut, "Very-secret-2026!") {
		t.Error("the dry run prints the administrator's password")
	}
}

// TestDeployChecksSayWhatIsMissing: each missing prerequisite stops the run before
// anything is deployed, with a message that names it.
func TestDeployChecksSayWhatIsMissing(t *testing.T) {
	cases := []struct {
		name string
		env  []string
		args []string
		want string
	}{
		{"no site values", nil, []string{"--region", "ap-northeast-1"},
			"missing: the site's host name: --site-domain or KAGIYA_SITE_DOMAIN\nmissing: the certificate: --certificate-arn or KAGIYA_CERTIFICATE_ARN\nmissing: the SES identity: --mail-identity or KAGIYA_MAIL_IDENTITY\nmissing: the sender: --mail-from or KAGIYA_MAIL_FROM"},
		{"no region", nil, []string{"--site-domain", "id.example.com"}, "missing: a region: --region, KAGIYA_REGION or AWS_REGION"},
		{"SES identity not verified", []string{"STUB_SES_VERIFIED=False"}, site(),
			"missing: the SES identity example.com, verified for sending in ap-northeast-1 (it is: False): verify it (SES console, Identities) and run again"},
		{"SES sandbox", []string{"STUB_SES_PRODUCTION=False"}, site(),
			"missing: SES production access in ap-northeast-1: the account is in the SES sandbox, where mail reaches only verified addresses; request production access (SES console, Account dashboard) or pass --ses-sandbox-ok to deploy anyway"},
		{"certificate outside us-east-1", nil, append(site(), "--certificate-arn", "arn:aws:acm:ap-northeast-1:123456789012:certificate/abc"),
			"missing: the ACM certificate in us-east-1 (CloudFront takes certificates only from there): arn:aws:acm:ap-northeast-1:123456789012:certificate/abc is not"},
		{"certificate pending", []string{"STUB_CERT_STATUS=PENDING_VALIDATION"}, site(),
			"missing: the ACM certificate arn:aws:acm:us-east-1:123456789012:certificate/abc, issued (it is: PENDING_VALIDATION): finish its DNS validation"},
		{"certificate for another name", []string{"STUB_CERT_NAMES=www.example.org"}, site(),
			"missing: an ACM certificate for id.example.com: arn:aws:acm:us-east-1:123456789012:certificate/abc covers only: www.example.org"},
		{"reserved concurrency beyond the quota", []string{"STUB_CONCURRENCY=10"}, append(site(), "--param", "BulkReservedConcurrency=5"),
			"missing: Lambda concurrency in ap-northeast-1: the quota is 10, and BulkReservedConcurrency=5 leaves fewer than the 10 unreserved Lambda requires"},
		{"pepper under a customer key", []string{"STUB_PEPPER_KEY=arn:aws:kms:ap-northeast-1:123456789012:key/k1"}, append(site(), "--pepper-parameter", "/kagiya/pepper"),
			"missing: the ARN of arn:aws:kms:ap-northeast-1:123456789012:key/k1, which encrypts /kagiya/pepper: pass --param PepperKeyArn=<its ARN>"},
		{"owner without a password", nil, append(site(), "--owner", "owner@example.com"),
			"missing: KAGIYA_OWNER_PASSWORD, the first password of owner@example.com (this script never asks)"},
		// aws-cli 1.x (which answers --version on stderr, as the stub does) is refused.
		{"AWS CLI v1", []string{"STUB_AWS_VERSION=aws-cli/1.29.62 Python/3.11.2 Linux/6.1.0 botocore/1.31.62"}, site(),
			"missing: the AWS CLI v2 (aws): this one is aws-cli/1.29.62; install version 2: https://docs.aws.amazon.com/cli/latest/userguide/getting-started-install.html"},
		// Everything missing is listed at once: the values, and what the account lacks.
		{"several at once", []string{"STUB_SES_VERIFIED=False", "STUB_SES_PRODUCTION=False", "STUB_CERT_STATUS=PENDING_VALIDATION"},
			append(site(), "--mail-from", "", "--owner", "owner@example.com"),
			"missing: the sender: --mail-from or KAGIYA_MAIL_FROM\n" +
				"missing: KAGIYA_OWNER_PASSWORD, the first password of owner@example.com (this script never asks)\n" +
				"missing: the SES identity example.com, verified for sending in ap-northeast-1 (it is: False): verify it (SES console, Identities) and run again\n" +
				"missing: SES production access in ap-northeast-1: the account is in the SES sandbox, where mail reaches only verified addresses; request production access (SES console, Account dashboard) or pass --ses-sandbox-ok to deploy anyway\n" +
				"missing: the ACM certificate arn:aws:acm:us-east-1:123456789012:certificate/abc, issued (it is: PENDING_VALIDATION): finish its DNS validation"},
		{"v1 and no site values", []string{"STUB_AWS_VERSION=aws-cli/1.18.69 Python/2.7.18"}, []string{"--region", "ap-northeast-1"},
			"missing: the AWS CLI v2 (aws): this one is aws-cli/1.18.69; install version 2: https://docs.aws.amazon.com/cli/latest/userguide/getting-started-install.html\n" +
				"missing: the site's host name: --site-domain or KAGIYA_SITE_DOMAIN\nmissing: the certificate: --certificate-arn or KAGIYA_CERTIFICATE_ARN"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			args := append(c.args, "--config", filepath.Join(t.TempDir(), "none.toml"))
			r := dryRun(t, c.env, args...)
			if r.code != 1 || !strings.Contains(r.errOut, c.want) {
				t.Fatalf("exit %d, stderr:\n%s\nwant it to say:\n%s", r.code, r.errOut, c.want)
			}
			if strings.Contains(r.out, "\n+ ") {
				t.Errorf("commands after a failed check:\n%s", r.out)
			}
		})
	}
	// The quota of a new account is only a warning: the deployment works, throttled.
	r := dryRun(t, []string{"STUB_CONCURRENCY=10"}, append(site(), "--config", filepath.Join(t.TempDir(), "c.toml"))...)
	if r.code != 0 || !strings.Contains(r.out, "warning: the Lambda concurrency quota in ap-northeast-1 is 10") {
		t.Errorf("exit %d, want a warning about the quota:\n%s\n%s", r.code, r.out, r.errOut)
	}
}

// TestDeployReadsThePreviousRun: the values a run saved are used by the next, with no
// flag; a flag replaces one of them.
func TestDeployReadsThePreviousRun(t *testing.T) {
	config := filepath.Join(t.TempDir(), "samconfig.local.toml")
	saved := `version = 0.1
[default.global.parameters]
stack_name = "kagiya-saved"
region = "eu-west-1"
[default.deploy.parameters]
parameter_overrides = "SiteDomain=\"id.example.com\" CertificateArn=\"arn:aws:acm:us-east-1:123456789012:certificate/abc\" MailIdentity=\"example.com\" MailFrom=\"no-reply@example.com\" ExternalTable=\"\""
`
	if err := os.WriteFile(config, []byte(saved), 0o600); err != nil {
		t.Fatal(err)
	}
	r := dryRun(t, nil, "--config", config, "--no-waf", "--mail-from", "id@example.com")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.out, r.errOut)
	}
	for _, want := range []string{`stack_name = "kagiya-saved"`, `region = "eu-west-1"`, `SiteDomain=\"id.example.com\"`,
		`MailFrom=\"id@example.com\"`, `ExternalTable=\"\"`, `WebACLArn=\"\"`} {
		if !strings.Contains(r.out, want) {
			t.Errorf("the settings lack %s:\n%s", want, r.out)
		}
	}
	if strings.Contains(r.out, "no-reply@example.com") || strings.Contains(r.out, "waf.yaml") {
		t.Errorf("a replaced value or the firewall is still there:\n%s", r.out)
	}
}

// TestDeployScriptIsBash32 refuses what bash 3.2 (macOS) lacks or does differently:
// arrays (an empty one is an unbound variable there under set -u), associative arrays,
// case conversion, mapfile, |&, &>>, ;& and ;;&, and reading from the terminal.
func TestDeployScriptIsBash32(t *testing.T) {
	src, err := os.ReadFile("deploy.sh")
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []*regexp.Regexp{
		regexp.MustCompile(`\[@\]|\[\*\]|=\(`), regexp.MustCompile(`declare -A|local -A|typeset -A`),
		regexp.MustCompile(`\$\{[A-Za-z_]+(,,?|\^\^?)\}`), regexp.MustCompile(`\b(mapfile|readarray|coproc)\b`),
		regexp.MustCompile(`\|&|&>>|;;&|;&`), regexp.MustCompile(`(^|[;&|])\s*read\b`),
	} {
		for i, line := range strings.Split(string(src), "\n") {
			if strings.HasPrefix(strings.TrimSpace(line), "#") {
				continue
			}
			if bad.MatchString(line) {
				t.Errorf("deploy.sh:%d: %q (%s)", i+1, line, bad)
			}
		}
	}
	if out, err := exec.Command("bash", "-n", "deploy.sh").CombinedOutput(); err != nil {
		t.Fatalf("bash -n: %v\n%s", err, out)
	}
}
