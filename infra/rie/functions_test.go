package rie

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/truora/minidyn/server"

	"github.com/kagiya/kagiya/shared/bulk"
	"github.com/kagiya/kagiya/shared/httpapi"
	"github.com/kagiya/kagiya/shared/store/dynamostore"
)

const siteDomain = "id.example.com"

// localStack is what the deploy would resolve, pointing at this test's stand-ins.
func localStack(originSecret string) stack {
	const account, region = "000000000000", "us-east-1"
	arn := func(service, res string) string {
		return "arn:aws:" + service + ":" + region + ":" + account + ":" + res
	}
	queueURL := func(name string) string { return "https://sqs." + region + ".amazonaws.com/" + account + "/" + name }
	secretARN := arn("secretsmanager", "secret:OriginSecret-rie")
	return stack{
		Params: map[string]any{"SiteDomain": siteDomain, "CertificateArn": arn("acm", "certificate/rie"),
			"MailIdentity": "example.com", "MailFrom": "no-reply@example.com"},
		Pseudo: map[string]string{"AWS::Region": region, "AWS::AccountId": account, "AWS::StackName": "kagiya",
			"AWS::Partition": "aws", "AWS::URLSuffix": "amazonaws.com"},
		Refs: map[string]string{
			"Table":                "kagiya-Table-RIE",
			"MailConfigurationSet": "kagiya-" + region,
			"OriginSecret":         secretARN,
			"ContinueQueue":        queueURL("kagiya-ContinueQueue"),
			"FailedRunQueue":       queueURL("kagiya-FailedRunQueue"),
			"ApplyQueue":           queueURL("kagiya-ApplyQueue"),
			"MailQueue":            queueURL("kagiya-MailQueue"),
			"UploadBucket":         "kagiya-uploads-" + region + "-" + account,
			"MailEventsTopic":      arn("sns", "kagiya-MailEventsTopic"),
			"AuditArchiveBucket":   "kagiya-auditarchive-" + region + "-" + account,
		},
		Attrs: map[string]string{
			"SealKey.Arn":        arn("kms", "key/rie"),
			"Table.Arn":          arn("dynamodb", "table/kagiya-Table-RIE"),
			"ContinueQueue.Arn":  arn("sqs", "kagiya-ContinueQueue"),
			"FailedRunQueue.Arn": arn("sqs", "kagiya-FailedRunQueue"),
			"ApplyQueue.Arn":     arn("sqs", "kagiya-ApplyQueue"),
			"MailQueue.Arn":      arn("sqs", "kagiya-MailQueue"),
		},
		Secrets: map[string]string{secretARN: originSecret},
	}
}

// otherAWS stands in for Secrets Manager's GetSecretValue of the stack's secrets (what a
// function that reads a secret at start asks), and answers every other request, for a
// service that has no stand-in here (SQS, KMS, SSM, ...), with an error, keeping what was
// asked: the run must ask nothing of those.
type otherAWS struct {
	secrets map[string]string
	mu      sync.Mutex
	seen    []string
}

func (o *otherAWS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var in struct{ SecretId string }
	if r.Header.Get("X-Amz-Target") == "secretsmanager.GetSecretValue" && strings.Contains(r.Header.Get("Authorization"), "/secretsmanager/aws4_request") &&
		json.NewDecoder(r.Body).Decode(&in) == nil && o.secrets[in.SecretId] != "" {
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		json.NewEncoder(w).Encode(map[string]any{"ARN": in.SecretId, "SecretString": o.secrets[in.SecretId]}) //nolint:errcheck // the caller sees a short answer
		return
	}
	o.mu.Lock()
	o.seen = append(o.seen, r.Method+" "+r.URL.Path+" "+r.Header.Get("X-Amz-Target"))
	o.mu.Unlock()
	http.Error(w, "no stand-in for this service in infra/rie", http.StatusNotImplemented)
}

func randomHex(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// randomLetters is n random lower-case letters (no digits: a password's digit runs break
// the policy).
func randomLetters(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	for i := range b {
		b[i] = 'a' + b[i]%26
	}
	return string(b)
}

// TestFunctionsUnderTheEmulator runs every function of template.yaml under the Runtime
// Interface Emulator, as Lambda runs it, and drives the product through them: the first
// tenant's setup, sign-in, the signed-in account, the account list, a bulk upload end to
// end (presigned PUT, the S3 event, the job read back), a job continued and one ended
// through SQS, an SES bounce through SNS, a password reset and an unlock by their
// emailed links (each email through the mail queue and the mail sender function), and
// the OpenID Connect discovery document.
func TestFunctionsUnderTheEmulator(t *testing.T) {
	ses := os.Getenv(sesEnv)
	if ses == "" {
		skipOrFail(t, "%s is not set: no aws-ses-v2-local for the functions' mail (infra/test.sh starts one)", sesEnv)
	}
	rie := emulator(t)

	originSecret := "rie-" + randomHex(t, 16)
	st := localStack(originSecret)
	fns := st.functions(t, "../../template.yaml")
	if t.Failed() {
		t.FailNow()
	}
	byDir := map[string]function{}
	for _, f := range fns {
		byDir[f.Dir] = f
	}
	for _, dir := range []string{"functions/login", "functions/admin", "functions/password", "functions/reset",
		"functions/unlock", "functions/bulk", "functions/mailevents", "functions/oidc", "functions/mailsender"} {
		if _, ok := byDir[dir]; !ok {
			t.Fatalf("template.yaml has no function with CodeUri %s", dir)
		}
	}
	bins := build(t, fns, t.TempDir())

	// The stand-ins: DynamoDB (minidyn, with transactions), S3 (gofakes3), SES
	// (aws-ses-v2-local), the mail queue (SQS), the stack's secrets, and every other
	// service refusing.
	ctx := context.Background()
	dyn := httptest.NewServer(server.NewServer())
	t.Cleanup(dyn.Close)
	db := dynamodb.New(dynamodb.Options{Region: "us-east-1", BaseEndpoint: aws.String(dyn.URL),
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")})
	if err := dynamostore.CreateTable(ctx, db, st.Refs["Table"]); err != nil {
		t.Fatal(err)
	}
	s3 := s3mem.New()
	if err := s3.CreateBucket(st.Refs["UploadBucket"]); err != nil {
		t.Fatal(err)
	}
	s3srv := httptest.NewServer(gofakes3.New(s3).Server())
	t.Cleanup(s3srv.Close)
	other := &otherAWS{secrets: st.Secrets}
	othersrv := httptest.NewServer(other)
	t.Cleanup(othersrv.Close)
	mq := &mailQueue{url: st.Refs["MailQueue"]}
	mqsrv := httptest.NewServer(mq)
	t.Cleanup(mqsrv.Close)
	endpoints := map[string]string{"AWS_ENDPOINT_URL": othersrv.URL, "AWS_ENDPOINT_URL_DYNAMODB": dyn.URL,
		"AWS_ENDPOINT_URL_S3": s3srv.URL, "AWS_ENDPOINT_URL_SES": ses, "AWS_ENDPOINT_URL_SECRETS_MANAGER": othersrv.URL,
		"AWS_ENDPOINT_URL_SQS": mqsrv.URL}

	fn := map[string]*running{}
	for name, f := range fns {
		fn[strings.TrimPrefix(f.Dir, "functions/")] = start(t, rie, name, bins[name], f.environ(endpoints))
	}
	if upload := byDir["functions/admin"].Env["UPLOAD_BUCKET"]; upload != byDir["functions/bulk"].Env["UPLOAD_BUCKET"] || upload != st.Refs["UploadBucket"] {
		t.Fatalf("the admin function presigns for bucket %q, the bulk function reads %q, the template makes %q",
			upload, byDir["functions/bulk"].Env["UPLOAD_BUCKET"], st.Refs["UploadBucket"])
	}

	stamp := time.Now().UTC().Format("150405") + randomHex(t, 3)
	owner := "owner." + stamp + "@example.com"
	user1, user2 := "sato."+stamp+"@example.com", "suzuki."+stamp+"@example.com"
	ownerPW, userPW, newPW := "Rie-Owner-7!"+randomLetters(t, 8), "Rie-Member-7!"+randomLetters(t, 8), "Rie-Renewed-7!"+randomLetters(t, 8)
	changedPW := "Rie-Changed-7!" + randomLetters(t, 8)
	secrets := []string{originSecret, ownerPW, userPW, newPW, changedPW}
	api := apiClient{t: t, origin: originSecret}

	// The deploy's one-off setup invocation makes the first tenant and its owner.
	var setup struct {
		TenantID string `json:"tenant_id"`
		Created  bool   `json:"created"`
	}
	decode(t, fn["admin"].invoke(t, map[string]any{"setup": map[string]string{"owner": owner, "password": ownerPW, "policy": "standard12"}}), &setup)
	if !setup.Created || setup.TenantID == "" {
		t.Fatalf("setup: %+v", setup)
	}

	// Only CloudFront's requests are served: the function has the stack's origin secret, as
	// the template gives it (its ARN, read from Secrets Manager at start).
	if res := api.call(fn["login"], "GET", "/api/health", "", nil, withoutOrigin()); res.StatusCode != http.StatusForbidden {
		t.Fatalf("health without the origin secret: %d %s", res.StatusCode, res.Body)
	}
	if res := api.call(fn["login"], "GET", "/api/health", "", nil); res.StatusCode != http.StatusOK {
		t.Fatalf("health: %d %s", res.StatusCode, res.Body)
	}

	ownerS := api.signIn(fn["login"], owner, ownerPW)
	var me struct {
		LoginID string `json:"login_id"`
		Role    string `json:"role"`
	}
	api.expect(fn["login"], "GET", "/api/me", "", ownerS, http.StatusOK, &me)
	if me.LoginID != owner || me.Role != "owner" {
		t.Fatalf("GET /api/me: %+v", me)
	}
	if list := api.accounts(fn["admin"], ownerS); list.Total != 1 || len(list.Accounts) != 1 || list.Accounts[0].LoginID != owner {
		t.Fatalf("account list after setup: %+v", list)
	}
	var policy struct {
		Preset string `json:"preset"`
		Rules  []any  `json:"rules"`
	}
	api.expect(fn["password"], "GET", "/api/password/policy", "", ownerS, http.StatusOK, &policy)
	if policy.Preset != "standard12" || len(policy.Rules) == 0 {
		t.Fatalf("GET /api/password/policy: %+v", policy)
	}

	// A bulk upload end to end: the admin function presigns, the file goes to S3, the
	// bucket's event starts the bulk function, the job is read back through the admin one.
	csv := "\ufeffmail_account,password,mail_capacity\r\n" + user1 + "," + userPW + ",10\r\n" + user2 + "," + userPW + ",20\r\n"
	job1, key1 := api.startBulk(fn["admin"], ownerS, "社員 一覧.csv", "create", csv, ownerPW)
	fn["bulk"].invoke(t, s3Event(st.Refs["UploadBucket"], key1))
	if j := api.job(fn["admin"], ownerS, job1); j.State != "succeeded" || j.Created != 2 || j.Rows != 2 {
		t.Fatalf("bulk job after the S3 event: %+v", j)
	}
	if list := api.accounts(fn["admin"], ownerS); list.Total != 3 {
		t.Fatalf("account list after the bulk job: %+v", list)
	}
	mq.deliver(t, fn["mailsender"])
	if !slices.ContainsFunc(mailTo(t, ses, owner), func(m sesMail) bool {
		return m.From == "no-reply@example.com" && strings.Contains(m.Body.Text, "社員 一覧.csv")
	}) {
		t.Error("the owner got no summary of the bulk job from SES (from MAIL_FROM)")
	}
	// The person changes its password through the password function.
	user1S := api.signIn(fn["login"], user1, userPW)
	api.expect(fn["password"], "POST", "/api/me/password", `{"current_password":"`+userPW+`","new_password":"`+changedPW+`"}`, user1S, http.StatusNoContent, nil)
	api.signIn(fn["login"], user1, changedPW)

	// SQS: a job continued by a message (its key, as the bulk function sends it), and a
	// job whose upload event failed every retry, ended by its on-failure record.
	job2, key2 := api.startBulk(fn["admin"], ownerS, "update.csv", "update", "mail_account,mail_capacity\n"+user2+",50\n", ownerPW)
	fn["bulk"].invoke(t, sqsEvent(bulk.EventKey(key2)))
	if j := api.job(fn["admin"], ownerS, job2); j.State != "succeeded" || j.Updated != 1 {
		t.Fatalf("bulk job continued through SQS: %+v", j)
	}
	job3, key3 := api.startBulk(fn["admin"], ownerS, "never.csv", "update", "mail_account\n"+user2+"\n", ownerPW)
	failure, err := json.Marshal(map[string]any{
		"version":         "1.0",
		"requestContext":  map[string]any{"condition": "RetriesExhausted", "approximateInvokeCount": 3},
		"requestPayload":  s3Event(st.Refs["UploadBucket"], key3),
		"responsePayload": map[string]any{"errorMessage": "rie: a run that failed", "errorType": "errorString"},
	})
	if err != nil {
		t.Fatal(err)
	}
	fn["bulk"].invoke(t, sqsEvent(string(failure)))
	if j := api.job(fn["admin"], ownerS, job3); j.State != "failed" || !strings.Contains(j.FailureReason, "3 times") {
		t.Fatalf("bulk job after its on-failure record: %+v", j)
	}

	// SES's bounce, published through SNS, marks the account for its administrators.
	bounce, err := json.Marshal(map[string]any{"eventType": "Bounce", "bounce": map[string]any{
		"bounceType": "Permanent", "bounceSubType": "General", "bouncedRecipients": []map[string]string{{"emailAddress": user1}}}})
	if err != nil {
		t.Fatal(err)
	}
	fn["mailevents"].invoke(t, events.SNSEvent{Records: []events.SNSEventRecord{{EventSource: "aws:sns", EventVersion: "1.0",
		SNS: events.SNSEntity{Type: "Notification", MessageID: "rie-" + stamp, TopicArn: st.Refs["MailEventsTopic"], Message: string(bounce), Timestamp: time.Now()}}}})
	list := api.accounts(fn["admin"], ownerS)
	i := slices.IndexFunc(list.Accounts, func(a listed) bool { return a.LoginID == user1 })
	if i < 0 || list.Accounts[i].MailSuppressed != "bounce" {
		t.Fatalf("account list after the bounce: %+v", list)
	}

	// A password reset by its emailed link, then a sign-in with the new password.
	api.expect(fn["reset"], "POST", "/api/password/forgot", `{"login_id":"`+user2+`"}`, nil, http.StatusAccepted, nil)
	mq.deliver(t, fn["mailsender"])
	token := linkToken(t, mailTo(t, ses, user2), "/reset.html?token=")
	secrets = append(secrets, token)
	api.expect(fn["reset"], "POST", "/api/password/reset", `{"token":"`+token+`","new_password":"`+newPW+`"}`, nil, http.StatusOK, nil)
	api.signIn(fn["login"], user2, newPW)

	// Wrong passwords up to the threshold lock the account and mail an unlock link; the
	// link, through the unlock function, lets it sign in again.
	for range 10 {
		res := api.call(fn["login"], "POST", "/api/login", `{"login_id":"`+user2+`","password":"Wrong-guess-2026!x"}`, nil)
		if res.StatusCode != http.StatusUnauthorized {
			t.Fatalf("a wrong password: %d %s", res.StatusCode, res.Body)
		}
	}
	if res := api.call(fn["login"], "POST", "/api/login", `{"login_id":"`+user2+`","password":"`+newPW+`"}`, nil); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("the right password on a locked account: %d %s", res.StatusCode, res.Body)
	}
	mq.deliver(t, fn["mailsender"])
	token = linkToken(t, mailTo(t, ses, user2), "/unlock.html?token=")
	secrets = append(secrets, token)
	api.expect(fn["unlock"], "POST", "/api/unlock", `{"token":"`+token+`"}`, nil, http.StatusOK, nil)
	api.signIn(fn["login"], user2, newPW)

	// The OpenID Connect provider starts (its key-sealing secret in the table) and names
	// the site as its issuer.
	var discovery struct {
		Issuer        string `json:"issuer"`
		TokenEndpoint string `json:"token_endpoint"`
	}
	api.expect(fn["oidc"], "GET", "/.well-known/openid-configuration", "", nil, http.StatusOK, &discovery)
	if discovery.Issuer != "https://"+siteDomain || !strings.HasPrefix(discovery.TokenEndpoint, "https://"+siteDomain+"/") {
		t.Fatalf("discovery: %+v", discovery)
	}

	mq.mu.Lock()
	if len(mq.seen) > 0 {
		t.Errorf("SQS requests other than the mail queue's: %q", mq.seen)
	}
	mq.mu.Unlock()
	other.mu.Lock()
	defer other.mu.Unlock()
	if len(other.seen) > 0 {
		t.Errorf("the functions asked services that have no stand-in here: %q", other.seen)
	}
	for name, r := range fn {
		out := r.log.String()
		for _, s := range append(secrets, ownerS.token) {
			if strings.Contains(out, s) {
				t.Errorf("the %s function's log holds a secret (%.6s...)", name, s)
			}
		}
	}
}

func decode(t *testing.T, raw []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatalf("%v: %s", err, raw)
	}
}

var tokenAfter = regexp.MustCompile(`[A-Za-z0-9_-]+`)

// linkToken is the token of the newest emailed link with prefix among msgs.
func linkToken(t *testing.T, msgs []sesMail, prefix string) string {
	t.Helper()
	for i := len(msgs) - 1; i >= 0; i-- {
		if _, rest, ok := strings.Cut(msgs[i].Body.Text, prefix); ok {
			if tok := tokenAfter.FindString(rest); tok != "" {
				return tok
			}
		}
	}
	t.Fatalf("no %s link among %d emails", prefix, len(msgs))
	return ""
}

// s3Event is the bucket's ObjectCreated notification for key (encoded as S3 encodes it).
func s3Event(bucketName, key string) events.S3Event {
	return events.S3Event{Records: []events.S3EventRecord{{EventVersion: "2.1", EventSource: "aws:s3", AWSRegion: "us-east-1",
		EventTime: time.Now().UTC(), EventName: "ObjectCreated:Put",
		S3: events.S3Entity{SchemaVersion: "1.0", Bucket: events.S3Bucket{Name: bucketName, Arn: "arn:aws:s3:::" + bucketName},
			Object: events.S3Object{Key: bulk.EventKey(key)}}}}}
}

// sqsEvent is one SQS message with body, as the event source mapping delivers it.
func sqsEvent(body string) events.SQSEvent {
	return events.SQSEvent{Records: []events.SQSMessage{{MessageId: "rie-" + fmt.Sprint(time.Now().UnixNano()), Body: body,
		EventSource: "aws:sqs", AWSRegion: "us-east-1", EventSourceARN: "arn:aws:sqs:us-east-1:000000000000:kagiya-ContinueQueue"}}}
}

// apiClient sends API Gateway HTTP API (payload 2.0) events as CloudFront's requests
// reach the API: with the origin secret and the viewer's address.
type apiClient struct {
	t      *testing.T
	origin string
}

type session struct {
	cookie string // name=value
	token  string
	csrf   string
}

type callOption func(*events.APIGatewayV2HTTPRequest)

func withoutOrigin() callOption {
	return func(r *events.APIGatewayV2HTTPRequest) { delete(r.Headers, strings.ToLower(httpapi.OriginHeader)) }
}

func (c apiClient) call(fn *running, method, path, body string, s *session, opts ...callOption) events.APIGatewayV2HTTPResponse {
	c.t.Helper()
	rawPath, query, _ := strings.Cut(path, "?")
	req := events.APIGatewayV2HTTPRequest{Version: "2.0", RouteKey: "$default", RawPath: rawPath, RawQueryString: query,
		Headers: map[string]string{
			"host": siteDomain, "user-agent": "Mozilla/5.0 (X11; Linux x86_64) infra/rie", "accept-language": "en",
			"cloudfront-viewer-address": "198.51.100.7:46532", strings.ToLower(httpapi.OriginHeader): c.origin,
		},
		RequestContext: events.APIGatewayV2HTTPRequestContext{AccountID: "000000000000", APIID: "rie", Stage: "$default",
			DomainName: siteDomain, RequestID: fmt.Sprint(time.Now().UnixNano()), RouteKey: "$default",
			Time: time.Now().UTC().Format("02/Jan/2006:15:04:05 -0700"), TimeEpoch: time.Now().UnixMilli(),
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: method, Path: rawPath, Protocol: "HTTP/1.1",
				SourceIP: "130.176.0.1", UserAgent: "Amazon CloudFront"}},
		Body: body,
	}
	if body != "" {
		req.Headers["content-type"] = "application/json"
	}
	if s != nil {
		req.Cookies = []string{s.cookie}
		req.Headers["x-csrf-token"] = s.csrf
	}
	for _, o := range opts {
		o(&req)
	}
	var res events.APIGatewayV2HTTPResponse
	decode(c.t, fn.invoke(c.t, req), &res)
	if res.IsBase64Encoded {
		b, err := base64.StdEncoding.DecodeString(res.Body)
		if err != nil {
			c.t.Fatal(err)
		}
		res.Body = string(b)
	}
	return res
}

// expect calls and requires status, decoding the answer into v (if not nil).
func (c apiClient) expect(fn *running, method, path, body string, s *session, status int, v any) {
	c.t.Helper()
	res := c.call(fn, method, path, body, s)
	if res.StatusCode != status {
		c.t.Fatalf("%s %s: %d %s, want %d", method, path, res.StatusCode, res.Body, status)
	}
	if v != nil {
		decode(c.t, []byte(res.Body), v)
	}
}

// signIn signs in and returns the session: the cookie as secure as https makes it.
func (c apiClient) signIn(fn *running, loginID, password string) *session {
	c.t.Helper()
	res := c.call(fn, "POST", "/api/login", `{"login_id":"`+loginID+`","password":"`+password+`"}`, nil)
	var ok struct {
		Result string `json:"result"`
		CSRF   string `json:"csrf_token"`
	}
	if res.StatusCode != http.StatusOK {
		c.t.Fatalf("sign-in of %s: %d %s", loginID, res.StatusCode, res.Body)
	}
	decode(c.t, []byte(res.Body), &ok)
	for _, sc := range res.Cookies {
		h := http.Header{"Set-Cookie": {sc}}
		for _, ck := range (&http.Response{Header: h}).Cookies() {
			if ck.Name == httpapi.SecureCookieName {
				if !ck.Secure || !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Path != "/" {
					c.t.Fatalf("session cookie %q: not Secure, HttpOnly, SameSite=Strict on /", sc)
				}
				if ok.Result != "ok" || ok.CSRF == "" {
					c.t.Fatalf("sign-in of %s: %s", loginID, res.Body)
				}
				return &session{cookie: ck.Name + "=" + ck.Value, token: ck.Value, csrf: ok.CSRF}
			}
		}
	}
	c.t.Fatalf("sign-in of %s set no %s cookie: %q", loginID, httpapi.SecureCookieName, res.Cookies)
	return nil
}

type listed struct {
	LoginID        string `json:"login_id"`
	Role           string `json:"role"`
	MailSuppressed string `json:"mail_suppressed"`
}

type accountList struct {
	Accounts []listed `json:"accounts"`
	Total    int      `json:"total"`
}

func (c apiClient) accounts(fn *running, s *session) accountList {
	c.t.Helper()
	var l accountList
	c.expect(fn, "GET", "/api/admin/accounts?limit=200", "", s, http.StatusOK, &l)
	return l
}

type jobView struct {
	State         string `json:"state"`
	Rows          int    `json:"rows"`
	Created       int    `json:"created"`
	Updated       int    `json:"updated"`
	FailureReason string `json:"failure_reason"`
}

func (c apiClient) job(fn *running, s *session, id string) jobView {
	c.t.Helper()
	var j jobView
	c.expect(fn, "GET", "/api/admin/bulk/"+id, "", s, http.StatusOK, &j)
	return j
}

// startBulk starts a job and uploads content through its presigned URL; it returns the
// job's ID and the object's key (from the URL, path-style on the S3 stand-in).
func (c apiClient) startBulk(fn *running, s *session, filename, mode, content, confirm string) (string, string) {
	c.t.Helper()
	body, err := json.Marshal(map[string]any{"filename": filename, "mode": mode, "size": len(content), "confirm_password": confirm})
	if err != nil {
		c.t.Fatal(err)
	}
	var started struct {
		JobID   string            `json:"job_id"`
		URL     string            `json:"upload_url"`
		Method  string            `json:"upload_method"`
		Headers map[string]string `json:"upload_headers"`
	}
	c.expect(fn, "POST", "/api/admin/bulk", string(body), s, http.StatusCreated, &started)
	req, err := http.NewRequest(started.Method, started.URL, bytes.NewReader([]byte(content)))
	if err != nil {
		c.t.Fatal(err)
	}
	for k, v := range started.Headers {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		c.t.Fatalf("upload to the presigned URL: %d", res.StatusCode)
	}
	u, err := url.Parse(started.URL)
	if err != nil {
		c.t.Fatal(err)
	}
	_, key, _ := strings.Cut(strings.TrimPrefix(u.Path, "/"), "/") // path-style: /bucket/key
	return started.JobID, key
}
