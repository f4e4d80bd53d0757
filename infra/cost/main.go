// Command cost writes docs/cost.md: Kagiya's monthly AWS cost for 10,000, 100,000 and
// 1,000,000 monthly active people, part by part, computed from measured inputs
// (inputs.json) and list prices kept as data (prices.json), beside Amazon Cognito's
// per-user price.
//
//	go run ./infra/cost > docs/cost.md
package main

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strings"
)

//go:embed inputs.json
var inputsJSON []byte

//go:embed prices.json
var pricesJSON []byte

// flow is what one operation consumes.
type flow struct {
	WriteUnits float64 `json:"write_units"`
	ReadUnits  float64 `json:"read_units"`
	APICalls   float64 `json:"api_calls"`
}

// stored is what a sign-in leaves behind (TestStoredSizes, shared/httpapi), in bytes.
type stored struct {
	Account, Login, Index, IndexEntries, Session, Audit, Log int
}

func (s *stored) UnmarshalJSON(b []byte) error {
	var m map[string]int
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	*s = stored{m["account_bytes"], m["login_bytes"], m["index_bytes"], m["index_entries"], m["session_bytes"], m["audit_signin_bytes"], m["log_bytes_signin"]}
	return nil
}

type inputs struct {
	SignIn           flow               `json:"signin"`
	SignInMFA        flow               `json:"signin_mfa"`
	Verify           flow               `json:"service_verify"`
	VerifyApp        flow               `json:"service_verify_app_password"`
	IndexMove        float64            `json:"index_move_write_units"`
	HashMS           float64            `json:"hash_ms_one_core"`
	HashMachine      string             `json:"hash_machine"`
	OtherMS          float64            `json:"other_ms"`
	MemoryMB         float64            `json:"login_memory_mb"`
	RequestsCold     float64            `json:"requests_cold"`
	RequestsFresh    float64            `json:"requests_warm_fresh"`
	RequestsWarm     float64            `json:"requests_warm"`
	BytesCold        float64            `json:"bytes_cold"`
	BytesAPI         float64            `json:"bytes_api_signin"`
	BytesRevalidate  float64            `json:"bytes_page_revalidation"`
	SignInsPerMonth  float64            `json:"signins_per_user_month"`
	MFAShare         float64            `json:"mfa_share"`
	Stored           stored             `json:"stored"`
	ItemOverhead     float64            `json:"item_overhead_bytes"`
	AuditDays        float64            `json:"audit_retention_days"`
	SessionDays      float64            `json:"session_days_stored"`
	PlatformLogBytes float64            `json:"lambda_platform_log_bytes"`
	SystemLogLevel   string             `json:"lambda_system_log_level"` // the template's LoggingConfig
	AccessLogBytes   float64            `json:"access_log_line_bytes"`
	LogDays          float64            `json:"log_retention_days"`
	Alarms           float64            `json:"alarms"`
	AlarmMetrics     float64            `json:"alarm_metrics"` // a metric-math alarm is billed for each metric it reads
	CustomMetrics    float64            `json:"custom_metrics"`
	Secrets          float64            `json:"secrets"`
	KMSKeys          float64            `json:"kms_keys"`
	WAFRules         float64            `json:"waf_rules"`
	Emails           map[string]float64 `json:"emails_per_user_month"`
	MailChecks       map[string]float64 `json:"mail_checks_per_user_day"`
	Binaries         map[string]int     `json:"binary_bytes"`
	// MailQueue is each email's way through the outbox: SQS, the mail sender function,
	// its delivery marks and its mail.sent audit event.
	MailQueue struct {
		SQSPerEmail    float64 `json:"sqs_requests_per_email"` // send, receive, delete
		EmptyReceives  float64 `json:"empty_receives_month"`   // Lambda's long polls of an idle queue
		WritesPerEmail float64 `json:"write_units_per_email"`  // claim, sent mark, audit event
		AuditBytes     float64 `json:"audit_bytes"`
		MS             float64 `json:"ms"`
		MemoryMB       float64 `json:"memory_mb"`
	} `json:"mail_queue"`
	// Bulk is one large bulk job, fanned out (shared/bulk/fanout.go).
	Bulk struct {
		Rows        float64 `json:"rows"`
		ReadsPerRow float64 `json:"read_units_per_row"`  // TestCapacityBudgets: one bulk row
		WritesRow   float64 `json:"write_units_per_row"` // (update with a password)
		MemoryMB    float64 `json:"memory_mb"`
		VCPUs       float64 `json:"vcpus"` // what Lambda gives MemoryMB
		ChunkRows   float64 `json:"chunk_rows"`
		Concurrency float64 `json:"concurrency"`         // BulkMaxConcurrency's default
		JobWrites   float64 `json:"job_writes_per_part"` // BenchmarkFanOut, at 16 invocations
	} `json:"bulk"`
	// LogWithRequestLine is a sign-in's log with the request line the functions no
	// longer write in AWS (TestStoredSizes, as the local server logs it).
	LogWithRequestLine int  `json:"log_bytes_signin_with_request_line"`
	dayKeyed           bool // prices the day-keyed index the week key replaced
	Archive            struct {
		PerSignIn   float64 `json:"events_per_signin"`
		WindowS     float64 `json:"batch_window_s"` // the stream mapping's MaximumBatchingWindowInSeconds
		BatchSize   float64 `json:"batch_size"`     // and its BatchSize
		ObjectBytes float64 `json:"object_bytes"`
		MS          float64 `json:"ms"`
		MemoryMB    float64 `json:"memory_mb"`
		Days        float64 `json:"days"`
	} `json:"archive"`
}

type price struct {
	DynamoWrite, DynamoRead, DynamoGB, PITRGB, LambdaGBs, LambdaReq, HTTPAPI, CloudFront10k, CloudFrontGB,
	LogsIngestGB, LogsStoreGB, Alarm, Metric, SES1000, S3Put1000, S3GB, KMS, Secrets, WAFACL, WAFRule, WAFReq, SQS float64
}

func (p *price) UnmarshalJSON(b []byte) error {
	var m map[string]float64
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	*p = price{m["dynamodb_write_per_million"], m["dynamodb_read_per_million"], m["dynamodb_storage_gb_month"], m["dynamodb_pitr_gb_month"],
		m["lambda_arm_gb_second"], m["lambda_request_per_million"], m["http_api_per_million"], m["cloudfront_https_per_10k"], m["cloudfront_out_gb"],
		m["logs_ingest_gb"], m["logs_storage_gb_month"], m["alarm_month"], m["custom_metric_month"], m["ses_per_1000"], m["s3_put_per_1000"], m["s3_storage_gb_month"],
		m["kms_key_month"], m["secrets_month"], m["waf_acl_month"], m["waf_rule_month"], m["waf_per_million"], m["sqs_per_million"]}
	return nil
}

type prices struct {
	Date    string           `json:"date"`
	Note    string           `json:"note"`
	Regions map[string]price `json:"regions"`
	Free    struct {
		Note  string `json:"note"`
		Items []struct {
			Key     string  `json:"key"`
			Amount  float64 `json:"amount"`
			What    string  `json:"what"`
			Source  string  `json:"source"`
			Checked bool    `json:"checked"`
		} `json:"items"`
	} `json:"always_free"`
	Cognito struct {
		Note    string  `json:"note"`
		PerMAU  float64 `json:"essentials_per_mau"`
		FreeMAU float64 `json:"free_mau"`
	} `json:"cognito"`
}

// line is one part of a bill.
type line struct {
	what  string
	usd   float64
	fixed bool // the same at any size
}

const gb = 1 << 30

// usage is what mau people consume in a month (and what is stored at steady state).
type usage struct {
	signIns, writes, reads, calls, lambdaGBs, cfRequests, cfBytes float64
	tableBytes, logBytes, logStored, emails                       float64
	sqsRequests, mailGBs                                          float64 // the mail queue and its sender
	archived, archiveGBs, archiveBytes                            float64 // objects a month, the function's GB-s, stored
}

func use(in inputs, mau float64) usage {
	n := mau * in.SignInsPerMonth
	mfa, plain := n*in.MFAShare, n*(1-in.MFAShare)
	calls := plain*in.SignIn.APICalls + mfa*in.SignInMFA.APICalls
	extra := calls - n                               // the second factor's own call, after the sign-in's
	hashS := in.HashMS / (in.MemoryMB / 1769) / 1000 // Lambda gives a full vCPU at 1,769 MB
	otherS := in.OtherMS / 1000
	st, oh := in.Stored, in.ItemOverhead
	perAccount := float64(st.Account+st.Login+st.Index) + oh*float64(2+st.IndexEntries)
	sessions := in.SignInsPerMonth * in.SessionDays / 30 * (float64(st.Session) + oh)
	audit := in.SignInsPerMonth * in.AuditDays / 30 * (float64(st.Audit) + oh)
	archived := archiveBatches(n*in.Archive.PerSignIn, in)
	logs := calls*(float64(st.Log)+in.platformBytes()+in.AccessLogBytes) + archived*in.platformBytes()
	emails := 0.0
	for _, e := range in.Emails {
		emails += e * mau
	}
	mq := in.MailQueue
	// Each email is its own invocation of the sender (batches of one: the upper bound),
	// with Lambda's platform lines in the log; its audit event is kept as a sign-in's.
	logs += emails * in.platformBytes()
	mailAudit := emails * in.AuditDays / 30 * (mq.AuditBytes + oh)
	return usage{
		signIns:     n,
		writes:      plain*in.SignIn.WriteUnits + mfa*in.SignInMFA.WriteUnits + mau*indexMoves(in)*in.IndexMove + emails*mq.WritesPerEmail,
		reads:       plain*in.SignIn.ReadUnits + mfa*in.SignInMFA.ReadUnits,
		sqsRequests: emails*mq.SQSPerEmail + mq.EmptyReceives,
		mailGBs:     emails * mq.MS / 1000 * mq.MemoryMB / 1024,
		calls:       calls,
		lambdaGBs:   (n*(hashS+otherS) + extra*otherS) * in.MemoryMB / 1024,
		cfRequests:  mau*(in.RequestsCold+(in.SignInsPerMonth-1)*in.RequestsWarm) + extra,
		cfBytes:     mau*(in.BytesCold+(in.SignInsPerMonth-1)*((in.RequestsWarm-1)*in.BytesRevalidate+in.BytesAPI)) + extra*in.BytesAPI,
		tableBytes:  mau*(perAccount+sessions+audit) + mailAudit,
		logBytes:    logs,
		logStored:   logs * in.LogDays / 30,
		emails:      emails,
		archived:    archived,
		archiveGBs:  archived * in.Archive.MS / 1000 * in.Archive.MemoryMB / 1024,
		// Each object is kept Days under Object Lock, with the new sign-ins' objects
		// every month.
		archiveBytes: mau * in.SignInsPerMonth * in.Archive.PerSignIn * in.Archive.Days / 30 * in.Archive.ObjectBytes,
	}
}

// archiveBatches is how many batches (an invocation and an object each) the stream
// gives the archive for events a month: a batch closes when its window ends or it is
// full, so below one event a window each event is a batch, and above it there is one
// batch a window plus one for each full batch (one stream shard, one tenant).
func archiveBatches(events float64, in inputs) float64 {
	windows := 30 * 24 * 3600 / in.Archive.WindowS
	return min(events, windows+events/in.Archive.BatchSize)
}

// platformBytes is what Lambda's own lines add to the log an invocation: its START, END
// and REPORT lines are INFO, written only when the system log level lets INFO through.
func (in inputs) platformBytes() float64 {
	if in.SystemLogLevel == "WARN" {
		return 0
	}
	return in.PlatformLogBytes
}

// archivePuts names the audit archive's PUTs in month's lines.
const archivePuts = "S3 audit archive: one object a batch"

// month is the bill for mau people in a region, part by part.
func month(in inputs, p price, mau float64) []line {
	u := use(in, mau)
	return []line{
		{"DynamoDB writes (table and index)", u.writes / 1e6 * p.DynamoWrite, false},
		{"DynamoDB reads", u.reads / 1e6 * p.DynamoRead, false},
		{"DynamoDB storage", u.tableBytes / gb * p.DynamoGB, false},
		{"DynamoDB point-in-time recovery", u.tableBytes / gb * p.PITRGB, false},
		{"Lambda duration", (u.lambdaGBs + u.archiveGBs + u.mailGBs) * p.LambdaGBs, false},
		{"Lambda requests", (u.calls + u.archived + u.emails) / 1e6 * p.LambdaReq, false},
		{"API Gateway (HTTP API)", u.calls / 1e6 * p.HTTPAPI, false},
		{"CloudFront requests", u.cfRequests / 1e4 * p.CloudFront10k, false},
		{"CloudFront data out", u.cfBytes / gb * p.CloudFrontGB, false},
		{"CloudWatch Logs ingestion", u.logBytes / gb * p.LogsIngestGB, false},
		{"CloudWatch Logs storage", u.logStored / gb * p.LogsStoreGB, false},
		{fmt.Sprintf("CloudWatch alarms (%.0f, %.0f alarm metrics), custom metrics (%.0f)", in.Alarms, in.AlarmMetrics, in.CustomMetrics), in.AlarmMetrics*p.Alarm + in.CustomMetrics*p.Metric, true},
		{archivePuts, u.archived / 1000 * p.S3Put1000, false},
		{"S3 audit archive: storage", u.archiveBytes / gb * p.S3GB, false},
		{"SES email", u.emails / 1000 * p.SES1000, false},
		{"SQS mail queue", u.sqsRequests / 1e6 * p.SQS, false},
		{fmt.Sprintf("KMS key (%.0f), Secrets Manager secret (%.0f)", in.KMSKeys, in.Secrets), in.KMSKeys*p.KMS + in.Secrets*p.Secrets, true},
	}
}

// part is the cost of the line named what.
func part(ls []line, what string) float64 {
	for _, l := range ls {
		if l.what == what {
			return l.usd
		}
	}
	return 0
}

func total(ls []line) float64 {
	t := 0.0
	for _, l := range ls {
		t += l.usd
	}
	return t
}

func (in inputs) waf(p price, mau float64) float64 {
	return p.WAFACL + in.WAFRules*p.WAFRule + use(in, mau).cfRequests/1e6*p.WAFReq
}

func cognito(pr prices, mau float64) float64 {
	return max(0, mau-pr.Cognito.FreeMAU) * pr.Cognito.PerMAU
}

var sizes = []float64{1e4, 1e5, 1e6}

func write(w io.Writer, in inputs, pr prices) {
	fmt.Fprintf(w, "# What Kagiya costs to run\n\n")
	fmt.Fprintf(w, "Generated by `go run ./infra/cost > docs/cost.md` from measured inputs (`infra/cost/inputs.json`) and AWS list prices of %s (`infra/cost/prices.json`; on demand, no free tier). Where each input comes from, and what is assumed, is under [The inputs](#the-inputs).\n\n", pr.Date)
	fmt.Fprintf(w, "The model: every person signs in %.0f times a month, %.0f%% of them with a second factor; the month's first sign-in is from a cold browser, the others from a warm one; an account's entry in the last-sign-in index moves with the first sign-in of each week (UTC), %.1f times a month (%.0f%% of sign-ins). Storage is at steady state (audit events kept %.0f days in the table and %.0f in the archive, logs %.0f days). Mail-server checks are apart, per mail user, in [Mail servers](#mail-servers): they depend on how many people read mail through Kagiya and how their clients connect.\n\n",
		in.SignInsPerMonth, in.MFAShare*100, indexMoves(in), indexMoves(in)/in.SignInsPerMonth*100, in.AuditDays, in.Archive.Days, in.LogDays)
	regions := sortedRegions(pr)
	for _, r := range regions {
		p := pr.Regions[r]
		fmt.Fprintf(w, "## %s, USD a month\n\n| | 10,000 people | 100,000 people | 1,000,000 people |\n|---|---:|---:|---:|\n", r)
		bills := make([][]line, len(sizes))
		for i, s := range sizes {
			bills[i] = month(in, p, s)
		}
		for j := range bills[0] {
			fmt.Fprintf(w, "| %s |", bills[0][j].what)
			for i := range sizes {
				fmt.Fprintf(w, " %.2f |", bills[i][j].usd)
			}
			fmt.Fprintln(w)
		}
		row := func(name, format string, f func(i int, mau float64) any) {
			fmt.Fprintf(w, "| %s |", name)
			for i, s := range sizes {
				fmt.Fprintf(w, " "+format+" |", f(i, s))
			}
			fmt.Fprintln(w)
		}
		row("**Kagiya, all parts**", "**%.2f**", func(i int, _ float64) any { return total(bills[i]) })
		row("per person", "%.5f", func(i int, s float64) any { return total(bills[i]) / s })
		row(fmt.Sprintf("WAF (optional, infra/waf.yaml: web ACL, %.0f rules, every request)", in.WAFRules), "%.2f", func(_ int, s float64) any { return in.waf(p, s) })
		row("Amazon Cognito Essentials, for comparison", "%.2f", func(_ int, s float64) any { return cognito(pr, s) })
		row("Cognito ÷ Kagiya", "%s", func(i int, s float64) any {
			if cognito(pr, s) == 0 {
				return "–"
			}
			return fmt.Sprintf("%.0f×", cognito(pr, s)/total(bills[i]))
		})
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "Cognito: %s\n\n", pr.Cognito.Note)
	perMillion(w, in, pr, regions)
	goal(w, in, pr)
	levers(w, in, pr)
	freeTier(w, in, pr)
	mailServers(w, in, pr, regions)
	bulkJob(w, in, pr, regions)
	inputsSection(w, in, pr)
	binaries(w, in)
}

// perMillion writes what a million sign-ins of the model's mix cost, part by part: the
// bill at 50,000 people (a million sign-ins) less its fixed parts.
func perMillion(w io.Writer, in inputs, pr prices, regions []string) {
	mau := 1e6 / in.SignInsPerMonth
	fmt.Fprintf(w, "## A million sign-ins, USD\n\nThe model's mix (cold and warm browsers, second factors, index moves, what they store and log at steady state, and the email of %s people), without the fixed parts (alarms, metrics, key, secret):\n\n| | %s |\n|---|%s\n", thousands(mau), strings.Join(regions, " | "), strings.Repeat("---:|", len(regions)))
	rows := make([][]line, len(regions))
	for i, r := range regions {
		for _, l := range month(in, pr.Regions[r], mau) {
			if !l.fixed {
				rows[i] = append(rows[i], l)
			}
		}
	}
	for j := range rows[0] {
		fmt.Fprintf(w, "| %s |", rows[0][j].what)
		for i := range regions {
			fmt.Fprintf(w, " %.2f |", rows[i][j].usd)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "| **a million sign-ins** |")
	for i := range regions {
		fmt.Fprintf(w, " **%.2f** |", total(rows[i]))
	}
	fmt.Fprintf(w, "\n\n")
}

// goal writes where the bill stands against the goals, in us-east-1.
func goal(w io.Writer, in inputs, pr prices) {
	const budget, times, mau, region = 25.0, 50.0, 1e5, "us-east-1"
	bill := month(in, pr.Regions[region], mau)
	t := total(bill)
	ratio := cognito(pr, mau) / t
	verdict := func(ok bool) string {
		if ok {
			return "met"
		}
		return "**not met**"
	}
	fmt.Fprintf(w, "## The goals\n\n100,000 people at %.0f sign-ins each, all parts, WAF aside, in %s:\n\n", in.SignInsPerMonth, region)
	fmt.Fprintf(w, "- At most %.0f USD a month: %s (%.2f USD).\n", budget, verdict(t <= budget), t)
	fmt.Fprintf(w, "- At least %.0f times below Amazon Cognito Essentials (%.2f USD): %s (%.0f times below; %.0f times would need %.2f USD or less).\n\n",
		times, cognito(pr, mau), verdict(ratio >= times), ratio, times, cognito(pr, mau)/times)
	sorted := append([]line(nil), bill...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].usd > sorted[j].usd })
	fmt.Fprintf(w, "The largest parts:")
	for i, l := range sorted[:5] {
		sep := ","
		if i == 4 {
			sep = "."
		}
		fmt.Fprintf(w, " %s %.2f USD (%.0f%%)%s", l.what, l.usd, l.usd/t*100, sep)
	}
	fmt.Fprintf(w, " The sign-in's own floor is a choice the design holds to: an API call through CloudFront and API Gateway, argon2id at OWASP's parameters, and four writes (the attempt counted before the hash is checked, so parallel guesses cannot pass the lockout threshold; the sign-in recorded; the session; the audit event). The audit events are the bulk of the storage and its point-in-time recovery: %.0f days of them are kept. The audit archive writes one S3 object a batch of the stream (%.2f USD here), not one an event.\n\n", in.AuditDays, part(bill, archivePuts))
}

// weeksPerMonth is a 30-day month's weeks.
const weeksPerMonth = 30.0 / 7

// indexMoves is how often a month a person's entry in the last-sign-in index moves: at
// most once a week (its key is the week of the last sign-in), and the model takes the
// worst case, a sign-in in every week. (dayKeyed prices the key it replaced, the day:
// the model took every sign-in as a day's first.)
func indexMoves(in inputs) float64 {
	if in.dayKeyed {
		return in.SignInsPerMonth
	}
	return min(in.SignInsPerMonth, weeksPerMonth)
}

// lever is a design change the model can price: what it changes in the inputs, and what
// it takes from people or operators.
type lever struct {
	name, trade string
	apply       func(*inputs)
	prices      func(*price) // nil: the same prices
}

// made are the changes issue #24 made to reach its goals, each as its undoing: apply
// puts back what was there before, so the model prices what each one saves.
var made = []lever{
	{"Audit events kept 90 days in the table (AuditTableDays), 400 in the archive as before (AuditArchiveDays)",
		"the audit page and its CSV export reach back 90 days; a period that starts earlier says, in ja and en, that older events are in the archive the operator keeps (audit_archived)",
		func(in *inputs) { in.AuditDays = in.Archive.Days }, nil},
	{"The last-sign-in index keyed by the week of the last sign-in, not its day",
		"the account list's order by last sign-in holds to the week; within one, accounts come in ID order (each shows its exact last sign-in)",
		func(in *inputs) { in.dayKeyed = true }, nil},
	{"No Lambda START, END and REPORT lines (system logs from WARN, in Lambda's JSON format)",
		"each invocation's duration, memory and init time are in Lambda's metrics per function, not in the log",
		func(in *inputs) { in.SystemLogLevel = "INFO" }, nil},
	{"No request line of the functions' own in AWS (the API's access line has the request)",
		"the request's path (the access line has its route) and Kagiya's request ID of a request that logged no error",
		func(in *inputs) { in.Stored.Log = in.LogWithRequestLine }, nil},
	{"14 alarms reading 19 metrics, not 26 reading 31",
		"the API functions' errors are one alarm, the API's 5xx from the first, which does not name the function; throttles one alarm for the account's one concurrency pool",
		func(in *inputs) { in.AlarmMetrics = alarmMetricsBefore }, nil},
	{"A warm sign-in is one CloudFront request, not 2: HTML pages cached a week, not five minutes (TestBrowserSignInRequests)",
		"browsers keep a page a week; a deploy reaches it through the API, whose answers name the site build: a page of an older build reloads itself once (README)",
		func(in *inputs) { in.RequestsWarm = 2 }, nil},
}

// alarmMetricsBefore is what the template's alarms read before issue #24's review: 26
// alarms, one of them over six metrics (template.yaml before this change; the earlier
// model counted 26).
const alarmMetricsBefore = 31

// coming is being made apart from this model's changes.
var coming = []lever{}

// notMade are changes the model can price that the project does not make.
var notMade = []lever{
	{"No new-browser notice",
		"not made: a sign-in from a new browser would no longer be told to its owner, so a stolen password used elsewhere would go unnoticed",
		func(in *inputs) {
			emails := map[string]float64{}
			for k, v := range in.Emails {
				if k != "new browser notice" {
					emails[k] = v
				}
			}
			in.Emails = emails
		}, nil},
	{"No API Gateway: CloudFront sends each path to its function's URL (Lambda function URLs)",
		"not made: API Gateway is the architecture. The routes would move to CloudFront's path patterns; the access log and the throttle (100 a second, 200 at once) would have to come from CloudFront's logs, WAF and reserved concurrency; origin access control cannot stand in for the origin header (every POST would have to carry its body's SHA-256, which mail servers and OpenID Connect clients do not send)",
		func(in *inputs) { in.AccessLogBytes = 0 }, func(p *price) { p.HTTPAPI = 0 }},
}

// priced is the bill at mau in p with the levers applied.
func priced(in inputs, p price, mau float64, ls ...lever) float64 {
	for _, l := range ls {
		l.apply(&in)
		if l.prices != nil {
			l.prices(&p)
		}
	}
	return total(month(in, p, mau))
}

// levers writes what issue #24's changes saved, what is being made, and what the
// remaining changes the model can price would save, at the goals' size and region.
func levers(w io.Writer, in inputs, pr prices) {
	const mau, region = 1e5, "us-east-1"
	p := pr.Regions[region]
	now := total(month(in, p, mau))
	before := priced(in, p, mau, made...)
	fmt.Fprintf(w, "## What the goals took, and what they would take\n\nMade (issue #24), each priced by undoing it alone at 100,000 people in %s, where the bill is now %.2f USD; together they took it from %.2f USD (the earlier model said 34.37: it counted the table's throttle alarm, which reads six metrics, as one):\n\n", region, now, before)
	fmt.Fprintf(w, "| change | saves, USD a month | what it takes |\n|---|---:|---|\n")
	for _, l := range made {
		fmt.Fprintf(w, "| %s | %.2f | %s |\n", l.name, priced(in, p, mau, l)-now, l.trade)
	}
	fmt.Fprintf(w, "| **together** | **%.2f** | |\n\n", before-now)
	fmt.Fprintf(w, "Not yet made, and not made, each priced alone from now:\n\n| change | saves, USD a month | then | |\n|---|---:|---:|---|\n")
	for _, l := range append(append([]lever{}, coming...), notMade...) {
		t := priced(in, p, mau, l)
		fmt.Fprintf(w, "| %s | %.2f | %.2f | %s |\n", l.name, now-t, t, l.trade)
	}
	next := priced(in, p, mau, coming...)
	met := func(ok bool) string {
		if ok {
			return "met"
		}
		return "not met"
	}
	var closing []string
	for _, l := range notMade {
		if priced(in, p, mau, append(append([]lever{}, coming...), l)...) <= 25 {
			closing = append(closing, fmt.Sprintf("%q", l.name))
		}
	}
	closes := "none of the changes the model prices closes the rest"
	if len(closing) > 0 {
		closes = "of the changes the model prices, only those the project does not make would close the rest: " + strings.Join(closing, " or ") + ", each alone"
	}
	fmt.Fprintf(w, "\nThe bill is %.2f USD, %.0f times below Cognito Essentials: 50 times (%.2f USD or less) %s, 25 USD %s (%.2f USD short). Then %s. What stays is the sign-in's floor (four writes, an API call through CloudFront and API Gateway, argon2id at OWASP's parameters), the email people need, the audit archive, and the fixed parts (alarms, metrics, key, secret: %.2f USD at any size).\n\n",
		next, cognito(pr, mau)/next, cognito(pr, mau)/50, met(cognito(pr, mau)/next >= 50), met(next <= 25), max(0, next-25), closes, fixedParts(in, p))
}

// freeSaving is what an always-free allowance of amount takes off the bill of mau people
// in p: the allowance's usage, up to the amount, at the price the bill charges for it.
func freeSaving(in inputs, p price, mau float64, key string, amount float64) float64 {
	u := use(in, mau)
	switch key {
	case "cloudfront_requests":
		return min(u.cfRequests, amount) / 1e4 * p.CloudFront10k
	case "cloudfront_gb":
		return min(u.cfBytes/gb, amount) * p.CloudFrontGB
	case "lambda_requests":
		return min(u.calls+u.archived+u.emails, amount) / 1e6 * p.LambdaReq
	case "lambda_gb_s":
		return min(u.lambdaGBs+u.archiveGBs+u.mailGBs, amount) * p.LambdaGBs
	case "logs_ingest_gb":
		return min(u.logBytes/gb, amount) * p.LogsIngestGB
	case "logs_storage_gb":
		return min(u.logStored/gb, amount) * p.LogsStoreGB
	case "alarm_metrics":
		return min(in.AlarmMetrics, amount) * p.Alarm
	case "custom_metrics":
		return min(in.CustomMetrics, amount) * p.Metric
	case "sqs_requests":
		return min(u.sqsRequests, amount) / 1e6 * p.SQS
	case "dynamodb_gb":
		return min(u.tableBytes/gb, amount) * p.DynamoGB
	}
	panic("always_free: unknown allowance " + key)
}

// freeTier writes what the always-free allowances would take off in us-east-1, for an
// organization whose allowances nothing else uses; the main figures leave them out.
func freeTier(w io.Writer, in inputs, pr prices) {
	const region = "us-east-1"
	p := pr.Regions[region]
	fmt.Fprintf(w, "## The always-free tier\n\nThe figures above are list prices without any free tier. AWS also gives always-free allowances a month; with consolidated billing an organization's accounts count as one (AWS Billing adds their usage up: docs.aws.amazon.com/awsaccountbilling/latest/aboutv2/con-bill-blended-rates), so they take this off only where nothing else in the organization uses them. %s In %s, USD a month:\n\n| allowance | where it was found | 10,000 people | 100,000 people | 1,000,000 people |\n|---|---|---:|---:|---:|\n", pr.Free.Note, region)
	off, checked := make([]float64, len(sizes)), make([]float64, len(sizes))
	for _, it := range pr.Free.Items {
		mark := ""
		if !it.Checked {
			mark = " (not verified)"
		}
		fmt.Fprintf(w, "| %s%s | %s |", it.What, mark, it.Source)
		for i, s := range sizes {
			v := freeSaving(in, p, s, it.Key, it.Amount)
			off[i] += v
			if it.Checked {
				checked[i] += v
			}
			fmt.Fprintf(w, " %.2f |", v)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "| **all of them** | |")
	for i := range sizes {
		fmt.Fprintf(w, " **%.2f** |", off[i])
	}
	fmt.Fprintf(w, "\n| of them, the verified ones | |")
	for i := range sizes {
		fmt.Fprintf(w, " %.2f |", checked[i])
	}
	fmt.Fprintf(w, "\n| the bill with them all | |")
	for i, s := range sizes {
		fmt.Fprintf(w, " %.2f |", total(month(in, p, s))-off[i])
	}
	t, tv := total(month(in, p, 1e5))-off[1], total(month(in, p, 1e5))-checked[1]
	fmt.Fprintf(w, "\n\nAt 100,000 people the bill with every allowance would be %.2f USD, %.0f times below Cognito Essentials (%.2f USD with the verified ones alone); the goals above are held to the list prices, which any organization pays once its allowances are used elsewhere. API Gateway's free requests are a 12-month offer and are left out.\n\n", t, cognito(pr, 1e5)/t, tv)
}

// fixedParts is the bill's parts that are the same at any size.
func fixedParts(in inputs, p price) float64 {
	t := 0.0
	for _, l := range month(in, p, 1) {
		if l.fixed {
			t += l.usd
		}
	}
	return t
}

// mailServers writes what a mail server's checks cost per 1,000 mail users.
func mailServers(w io.Writer, in inputs, pr prices, regions []string) {
	fmt.Fprintf(w, "## Mail servers\n\nA mail server asks `POST /api/service/verify` when a mail client signs in and Dovecot's cache cannot answer. docs/integrations.md configures `auth_cache_ttl = 5 min`, so a person's client reaches Kagiya at most once every 5 minutes, however often it reconnects. What 1,000 mail users cost a month, USD (API Gateway, Lambda, DynamoDB, CloudFront requests, logs as for a sign-in, and the audit event archived):\n\n")
	fmt.Fprintf(w, "| checks a day, per user | kind | %s |\n|---|---|%s\n", strings.Join(regions, " | "), strings.Repeat("---:|", len(regions)))
	kinds := []struct {
		name string
		f    flow
		hash bool
	}{{"password (argon2id)", in.Verify, true}, {"app password", in.VerifyApp, false}}
	names := make([]string, 0, len(in.MailChecks))
	for k := range in.MailChecks {
		names = append(names, k)
	}
	sort.Slice(names, func(i, j int) bool { return in.MailChecks[names[i]] < in.MailChecks[names[j]] })
	for _, name := range names {
		checks := 1000 * in.MailChecks[name] * 30
		for _, k := range kinds {
			fmt.Fprintf(w, "| %.0f: %s | %s |", in.MailChecks[name], name, k.name)
			for _, r := range regions {
				p := pr.Regions[r]
				s := in.OtherMS / 1000
				if k.hash {
					s += in.HashMS / (in.MemoryMB / 1769) / 1000
				}
				logs := checks * (float64(in.Stored.Log) + in.platformBytes() + in.AccessLogBytes)
				usd := checks/1e6*(k.f.WriteUnits*p.DynamoWrite+k.f.ReadUnits*p.DynamoRead+p.HTTPAPI+p.LambdaReq) +
					checks*s*in.MemoryMB/1024*p.LambdaGBs + checks/1e4*p.CloudFront10k +
					logs/gb*p.LogsIngestGB + logs*in.LogDays/30/gb*p.LogsStoreGB +
					// its audit event joins the archive's batches: once every window has
					// one, only full batches add objects
					checks/in.Archive.BatchSize*(p.S3Put1000/1000+p.LambdaReq/1e6+in.Archive.MS/1000*in.Archive.MemoryMB/1024*p.LambdaGBs)
				fmt.Fprintf(w, " %.2f |", usd)
			}
			fmt.Fprintln(w)
		}
	}
	fmt.Fprintf(w, "\nA password check is %.0f write and %g read units (the attempt, the sign-in, the audit event; the account read, where its login ID leads kept by the instance) and a hash; an app password %.0f write and %g read units (the account and its app passwords) and no argon2id (TestCapacityBudgets: service_verify, service_verify_app_password). A client that keeps one IMAP IDLE connection and reconnects about hourly makes 24 checks a day; one that reconnects more often than every 5 minutes is held to the cache's 288. At 288 password checks a day a mail user costs more than a hundred people who only sign in: for mail, app passwords are the cheaper kind, and a longer `auth_cache_ttl` divides the figures by as much (at the price of a revocation reaching Dovecot later).\n\n",
		in.Verify.WriteUnits, in.Verify.ReadUnits, in.VerifyApp.WriteUnits, in.VerifyApp.ReadUnits)
}

func inputsSection(w io.Writer, in inputs, pr prices) {
	st := in.Stored
	fmt.Fprintf(w, "## The inputs\n\n")
	fmt.Fprintf(w, "- **DynamoDB units**, counted by `dynamostore.Meter` on minidyn (TestCapacityBudgets, shared/httpapi, which fails when inputs.json differs): a sign-in %.0f write and %.1f read units, with a second factor %.0f and %.1f over %.0f API calls.\n",
		in.SignIn.WriteUnits, in.SignIn.ReadUnits, in.SignInMFA.WriteUnits, in.SignInMFA.ReadUnits, in.SignInMFA.APICalls)
	fmt.Fprintf(w, "- **The last-sign-in index** moves at most once a week per account: its key is the Monday (UTC) of the last sign-in's week, then the account ID (`lastLoginKey`, shared/store/dynamostore; the account list's order by last sign-in holds to the week, and within one accounts come in ID order); a sign-in sets the same value all week, and an unchanged key writes no index entry (TestLastSignInIndexMovesOnceAWeek). A move is %.0f write units (the old entry deleted, the new one put). %.0f sign-ins a month is about one every working day, so the entry moves every week: the model takes that worst case, %.1f moves a month (a 30-day month's weeks), %.0f%% of sign-ins; keyed by the day, it moved with every sign-in that was a day's first, which the model took as all of them.\n",
		in.IndexMove, in.SignInsPerMonth, indexMoves(in), indexMoves(in)/in.SignInsPerMonth*100)
	fmt.Fprintf(w, "- **argon2id** (19 MiB, 2 passes, 1 lane: OWASP's minimum) takes %.1f ms of one core in pure Go, as arm64 Lambda runs it (x/crypto/argon2 has amd64 assembly and none for arm64): `go test -tags purego -bench HashDefault ./shared/password`, measured on %s. Lambda at %.0f MB has %.2f of a vCPU, so a hash is billed %.0f ms; besides it a call is taken to wait %.0f ms on DynamoDB (an estimate, not measured). A Graviton core is not an EPYC core: the figure stands for arm64 only as far as the two are alike.\n",
		in.HashMS, in.HashMachine, in.MemoryMB, in.MemoryMB/1769, in.HashMS/(in.MemoryMB/1769), in.OtherMS)
	fmt.Fprintf(w, "- **CloudFront**: TestBrowserSignInRequests (infra/local, Chromium) counts %.0f requests for a sign-in from a cold browser and %.0f from a warm one whose page the browser has kept a day and a half (served with `Age: 129600`). HTML pages are cached %s (site/build: `max-age=604800`), assets are named by their content's hash and cached a year, so a person who signs in about every day and a half asks for the page only in the month's first, cold sign-in: the model counts a warm sign-in as %.0f request, the sign-in's API call (%.0f bytes: headers, cookies and JSON; with pages cached five minutes, as before, the page's revalidation, a 304 of %.0f bytes of headers, made it 2). A deploy reaches pages kept in browsers through the API: every answer names the site build, and a page of an older build reloads itself once (README, a deploy reaches pages browsers keep): a request more per person and deploy, which the model leaves out. A cold sign-in moves %.0f bytes (the page, the script bundle, the Japanese words, the style sheet and the icon as CloudFront compresses them, gzip -6 here: `go run ./infra/sitebuild -weights`, index.html in Japanese; with the local server's headers, and the API call). Headers were read from `go run ./infra/local`; CloudFront's own headers (Via, X-Cache, X-Amz-Cf-*) are not in them.\n",
		in.RequestsCold, in.RequestsFresh, "a week", in.RequestsWarm, in.BytesAPI, in.BytesRevalidate, in.BytesCold)
	fmt.Fprintf(w, "- **Storage** (TestStoredSizes, shared/httpapi, as DynamoDB counts item sizes, plus %.0f bytes of overhead an item): an account %d bytes, its login item %d, its %d index entries %d in all (every account is in every list index; the state indexes hold the others in scattered partitions); a session %d bytes, kept about %.0f days (12 hours at most, then TTL deletion, which DynamoDB does within days); an audit event of a sign-in %d bytes, kept %.0f days (AuditTableDays: the table's time-to-live; the archive keeps its copy AuditArchiveDays). Point-in-time recovery is billed on the same size.\n",
		in.ItemOverhead, st.Account, st.Login, st.IndexEntries, st.Index, st.Session, in.SessionDays, st.Audit, in.AuditDays)
	fmt.Fprintf(w, "- **Logs**, per API call: the function's JSON lines for a sign-in, %d bytes (the audit line alone: the request line, which carried what the access log has, the request's IDs, route, status and time, is written only by the local server; TestStoredSizes), Lambda's START, END and REPORT lines, %.0f bytes an invocation (their format as the runtime emulator prints them, with a 36-character request ID) if they were written: the template's LoggingConfig keeps Lambda's own lines from %s up, so these INFO lines are not (%.0f bytes counted; each invocation's duration and memory are in Lambda's metrics instead), and the API's access log line, %.0f bytes (template.yaml's format with a sample request filled in; TestInputsMatchTheTemplate). Kept %.0f days (LogRetentionDays), billed uncompressed.\n",
		st.Log, in.PlatformLogBytes, in.SystemLogLevel, in.platformBytes(), in.AccessLogBytes, in.LogDays)
	fmt.Fprintf(w, "- **The audit archive** (functions/auditarchive): the table's stream (read by Lambda at no charge) gives the new audit items to a %.0f MB function in batches (a window of %.0f s, at most %.0f records; template.yaml), which writes each tenant's items of a batch to S3 under Object Lock as one object, kept %.0f days (AuditArchiveDays). Below one event a window each event is still its own batch; above, there is one batch a window and one more for each full batch (the model takes one stream shard and one tenant: more shards or tenants make more, smaller objects). %.0f event a sign-in, %.0f bytes an event (a sign-in's audit item through the archive's own code, as the stream gives it; TestStoredSizes). Not measured: the function's time (%.0f ms taken a batch: one PUT).\n",
		in.Archive.MemoryMB, in.Archive.WindowS, in.Archive.BatchSize, in.Archive.Days, in.Archive.PerSignIn, in.Archive.ObjectBytes, in.Archive.MS)
	fmt.Fprintf(w, "- **Alarms and metrics**: %.0f CloudWatch alarms reading %.0f metrics (the table's throttle alarm adds %.0f operations' ThrottledRequests, which DynamoDB publishes only per operation, and CloudWatch bills an alarm by the metrics it reads: AWS's pricing page as this project read it, not checked from here) and %.0f custom metrics (from the metric filters) in template.yaml; %.0f Secrets Manager secret, %.0f KMS key (TestInputsMatchTheTemplate counts them). They were 26 alarms (31 metrics): each API function had an Errors alarm, now watched by the API's one 5xx alarm from the first 5xx (a failing API function is a 5xx), and each function a Throttles alarm, now one on Lambda's account-wide Throttles (the functions share the account's one concurrency pool); the functions outside the API keep their Errors alarms (TestAlarmsCoverEveryFunction). KMS and Secrets Manager requests (at cold starts, and DynamoDB's table key) are left out: cents. The seal key rotates yearly (EnableKeyRotation); AWS's pricing page, as this project read it and not checked from here, bills each of a key's first two rotations' material 1 USD a month more, so from its second year the key would be 2 USD and from its third 3 USD a month: the figures above take the first year's 1 USD.\n",
		in.Alarms, in.AlarmMetrics, in.AlarmMetrics-in.Alarms+1, in.CustomMetrics, in.Secrets, in.KMSKeys)
	names := make([]string, 0, len(in.Emails))
	sum := 0.0
	for k, v := range in.Emails {
		names = append(names, fmt.Sprintf("%s %.2f", k, v))
		sum += v
	}
	sort.Strings(names)
	fmt.Fprintf(w, "- **Email**, %.2f a person a month, assumed: %s. A new-browser notice goes when a person signs in from a browser without Kagiya's device cookie (kept 400 days): a new phone or computer, a cleared browser, about one in four months. A password changed by its owner about once a year (tenants with an expiry policy more). One person in twenty a month forgets a password (two emails: the link and the notice). Invitations, lock notices and bulk summaries are left out: they follow administrators' actions, not the number of people.\n",
		sum, strings.Join(names, ", "))
	mq := in.MailQueue
	fmt.Fprintf(w, "- **The mail queue** (shared/outbox): each email is %.0f SQS requests (sent by the function that mails, received and deleted by the mail sender), %.0f write units (the sender's claim of the message ID, its sent mark, and the `mail.sent` audit event, kept %.0f days at %.0f bytes: taken as a sign-in's event, not measured) and one invocation of the %.0f MB mail sender (batches of one: at low volume Lambda hands each message over alone), taken as %.0f ms (not measured: one SES call and three writes). An idle queue still costs Lambda's long polls, about %.0f receives a month (5 pollers, a 20-second poll each: AWS's description, not measured). Retries are left out: they follow failures.\n",
		mq.SQSPerEmail, mq.WritesPerEmail, in.AuditDays, mq.AuditBytes, mq.MemoryMB, mq.MS, mq.EmptyReceives)
	fmt.Fprintf(w, "- **Prices**: %s\n\n", pr.Note)
}

func binaries(w io.Writer, in inputs) {
	fmt.Fprintf(w, "## Function sizes\n\nEach function as built for Lambda (`GOOS=linux GOARCH=arm64 CGO_ENABLED=0 go build -tags lambda.norpc -trimpath -ldflags='-s -w'`), in bytes:\n\n| function | bytes | MB |\n|---|---:|---:|\n")
	names := make([]string, 0, len(in.Binaries))
	for k := range in.Binaries {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "| %s | %d | %.1f |\n", n, in.Binaries[n], float64(in.Binaries[n])/1e6)
	}
}

// thousands writes n with commas: 50,000.
func thousands(n float64) string {
	s := fmt.Sprintf("%.0f", n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func sortedRegions(pr prices) []string {
	regions := make([]string, 0, len(pr.Regions))
	for r := range pr.Regions {
		regions = append(regions, r)
	}
	sort.Strings(regions)
	return regions
}

func load() (inputs, prices, error) {
	var in inputs
	var pr prices
	if err := json.Unmarshal(inputsJSON, &in); err != nil {
		return in, pr, fmt.Errorf("inputs: %w", err)
	}
	if err := json.Unmarshal(pricesJSON, &pr); err != nil {
		return in, pr, fmt.Errorf("prices: %w", err)
	}
	return in, pr, nil
}

func main() {
	in, pr, err := load()
	if err != nil {
		fmt.Fprintln(os.Stderr, "cost:", err)
		os.Exit(1)
	}
	write(os.Stdout, in, pr)
}

// bulkJob prices one large bulk job fanned out at the default concurrency.
func bulkJob(w io.Writer, in inputs, pr prices, regions []string) {
	b := in.Bulk
	rate := b.VCPUs / (in.HashMS / 1000) // rows a second an invocation: the hash bounds it, the writes overlap
	seconds := b.Rows / rate             // of invocations, all told
	parts := math.Ceil(b.Rows / b.ChunkRows)
	fmt.Fprintf(w, "## A bulk job of %.0f rows\n\n", b.Rows)
	fmt.Fprintf(w, "A file of more than %.0f rows is applied in parts of %.0f, at most `BulkMaxConcurrency` (default %.0f) bulk invocations at once. An invocation of %.0f MB has about %.1f vCPUs; hashing on two workers a core, it applies about %.0f rows a second (%.1f ms of a core a hash, the writes overlapping the other worker), so at the default concurrency the rows take about %.0f s (the 3-minute goal for 100,000 rows), plus the validation (about 0.2 s) and each part's reading of the file up to its rows. The table then takes about %.0f write and %.0f read units a second (%.0f and %.0f a row): a new on-demand table serves up to 4,000 write units a second at once and more as its peak rises; beyond that DynamoDB throttles, the SDK retries, a row retries with backoff (five attempts), and a part that still fails is delivered again (five times) without writing twice. The bulk function takes up to %.0f of the account's Lambda concurrency, from the same pool as the sign-ins unless BulkReservedConcurrency reserves it. Each part costs about %.0f job-item writes (its count, and conditional writes lost to parts finishing at the same moment; BenchmarkFanOut).\n\n",
		b.ChunkRows, b.ChunkRows, b.Concurrency, b.MemoryMB, b.VCPUs, rate, in.HashMS, b.Rows/(b.Concurrency*rate),
		b.Concurrency*rate*b.WritesRow, b.Concurrency*rate*b.ReadsPerRow, b.WritesRow, b.ReadsPerRow, b.Concurrency, b.JobWrites)
	fmt.Fprintf(w, "| USD, one job | %s |\n|---|%s\n", strings.Join(regions, " | "), strings.Repeat("---:|", len(regions)))
	row := func(name string, f func(p price) float64) {
		fmt.Fprintf(w, "| %s |", name)
		for _, r := range regions {
			fmt.Fprintf(w, " %.2f |", f(pr.Regions[r]))
		}
		fmt.Fprintln(w)
	}
	lambda := func(p price) float64 {
		return seconds*b.MemoryMB/1024*p.LambdaGBs + parts*p.LambdaReq/1e6
	}
	table := func(p price) float64 {
		return b.Rows*(b.WritesRow*p.DynamoWrite+b.ReadsPerRow*p.DynamoRead)/1e6 + parts*b.JobWrites*p.DynamoWrite/1e6
	}
	queue := func(p price) float64 { return parts * 3 * p.SQS / 1e6 }
	notices := func(p price) float64 {
		mailGBs := b.Rows * in.MailQueue.MS / 1000 * in.MailQueue.MemoryMB / 1024
		return b.Rows*p.SES1000/1000 + b.Rows*in.MailQueue.SQSPerEmail*p.SQS/1e6 + b.Rows*in.MailQueue.WritesPerEmail*p.DynamoWrite/1e6 + mailGBs*p.LambdaGBs
	}
	row("bulk function (Lambda)", lambda)
	row("table (rows, audit, the job item)", table)
	row("apply queue (SQS)", queue)
	row("**the job**", func(p price) float64 { return lambda(p) + table(p) + queue(p) })
	row("\"your password was changed\" to every row (SES and the mail queue), if the job sets passwords", notices)
	fmt.Fprintln(w)
}
