package httpapi_test

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/kagiya/kagiya/shared/s3files"
)

func fakeS3(t testing.TB) *s3files.Bucket {
	srv := httptest.NewServer(gofakes3.New(s3mem.New()).Server())
	t.Cleanup(srv.Close)
	c := s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider("t", "t", "")})
	if _, err := c.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String("uploads")}); err != nil {
		t.Fatal(err)
	}
	return s3files.New(c, "uploads")
}

func withBulk(s *setup) { s.bulk = true }

func TestBulkStartAndShow(t *testing.T) {
	e := newEnv(t, withBulk)
	e.withUser(userID, "user")
	owner := e.signedIn(ownerID, ownerPW)
	res := owner.do("POST", "/api/admin/bulk", map[string]any{"filename": "パスワード 一覧.csv", "mode": "update", "force_change": true, "size": 1234, "confirm_password": ownerPW})
	body := res.json(t)
	if res.status != 201 || body["upload_method"] != "PUT" || !strings.Contains(body["upload_url"].(string), "X-Amz-Signature") || len(body["job_id"].(string)) != 32 {
		t.Fatalf("start: %d %s", res.status, res.body)
	}
	if h := body["upload_headers"].(map[string]any); h["Content-Type"] != "text/csv" || h["Content-Length"] != nil {
		t.Fatalf("headers %v", h)
	}
	if u := body["upload_url"].(string); !strings.Contains(u, "content-length") {
		t.Fatalf("the declared size is not signed: %s", u)
	}
	job := owner.do("GET", "/api/admin/bulk/"+body["job_id"].(string), nil).json(t)
	if job["state"] != "waiting_upload" || job["filename"] != "パスワード 一覧.csv" || job["mode"] != "update" || job["force_change"] != true {
		t.Fatalf("job %v", job)
	}
	for _, bad := range []map[string]any{{"filename": "x.csv", "mode": "replace", "size": 10, "confirm_password": ownerPW}, {"filename": "", "mode": "update", "size": 10, "confirm_password": ownerPW}, {"filename": "../x.csv", "mode": "update", "size": 10, "confirm_password": ownerPW}, {"filename": "..", "mode": "update", "size": 10, "confirm_password": ownerPW}, {"filename": ".", "mode": "update", "size": 10, "confirm_password": ownerPW}, {"filename": "x.csv", "mode": "update", "size": 10}, {"filename": "x.csv", "mode": "update", "confirm_password": ownerPW}} {
		if res := owner.do("POST", "/api/admin/bulk", bad); res.status != 422 {
			t.Errorf("%v: %d", bad, res.status)
		}
	}
	res = owner.do("POST", "/api/admin/bulk", map[string]any{"filename": "big.csv", "mode": "update", "size": 64<<20 + 1, "confirm_password": ownerPW})
	if res.status != 413 || res.code(t) != "file_too_large" {
		t.Fatalf("a file over 64 MiB: %d %s", res.status, res.body)
	}
	user := e.signedIn(userID, userPW)
	if res := user.do("POST", "/api/admin/bulk", map[string]any{"filename": "x.csv", "mode": "update"}); res.status != 403 {
		t.Fatalf("user starts a job: %d", res.status)
	}
	for _, id := range []string{"0123456789abcdef0123456789abcdef", "nope", "ABCDEF0123456789abcdef0123456789"} {
		if res := owner.do("GET", "/api/admin/bulk/"+id, nil); res.status != 404 {
			t.Errorf("job %s: %d", id, res.status)
		}
	}
}

func TestBulkUnavailableWithoutUploads(t *testing.T) {
	e := newEnv(t)
	if res := e.signedIn(ownerID, ownerPW).do("POST", "/api/admin/bulk", map[string]any{"filename": "x.csv", "mode": "update", "size": 10, "confirm_password": ownerPW}); res.status != 503 || res.code(t) != "unavailable" {
		t.Fatalf("%d %s", res.status, res.body)
	}
}

func TestSampleAndExportCSV(t *testing.T) {
	e := newEnv(t)
	owner := e.signedIn(ownerID, ownerPW)
	owner.do("POST", "/api/admin/accounts", map[string]any{"login_id": "keiri@example.com", "password": "Keisan-Ki-2026!", "quota_gb": 50, "comment": "=HYPERLINK(\"http://evil\")"})
	sample := owner.do("GET", "/api/admin/bulk/sample.csv", nil)
	if sample.status != 200 || !strings.HasPrefix(string(sample.body), "\ufeffmail_account,password,mail_capacity\r\n") || !strings.HasPrefix(sample.header.Get("Content-Type"), "text/csv") {
		t.Fatalf("sample %d %q", sample.status, sample.body)
	}
	res := owner.do("GET", "/api/admin/accounts/export.csv", nil)
	if res.status != 200 || !strings.HasPrefix(string(res.body), "\ufeff") {
		t.Fatalf("export %d", res.status)
	}
	rows, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(string(res.body), "\ufeff"))).ReadAll()
	if err != nil || len(rows) != 3 || rows[0][0] != "mail_account" {
		t.Fatalf("rows %v %v", rows, err)
	}
	if rows[1][0] != "keiri@example.com" || rows[1][2] != "50" || rows[1][3] != `'=HYPERLINK("http://evil")` || rows[0][4] != "login_method" || rows[1][4] != "password" {
		t.Fatalf("row %v", rows[1])
	}
	if strings.Contains(string(res.body), "argon2") {
		t.Fatal("a hash in the export")
	}
	// Times in Japan's with the offset; the role, states and login method also in words,
	// Japanese by default (no Accept-Language), English when asked.
	if h := rows[0]; len(h) != 11 || h[8] != "role_label" || h[9] != "state_label" || h[10] != "login_method_label" {
		t.Fatalf("header %v", h)
	}
	if !strings.HasSuffix(rows[1][7], "+09:00") || rows[1][8] != "利用者" || rows[1][9] != "利用可" || rows[1][10] != "パスワード" {
		t.Fatalf("row in Japanese %v", rows[1])
	}
	en := owner.do("GET", "/api/admin/accounts/export.csv?lang=en", nil)
	enRows, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(string(en.body), "\ufeff"))).ReadAll()
	if err != nil || len(enRows) != 3 || enRows[1][8] != "User" || enRows[1][9] != "Active" || enRows[1][10] != "Password" || enRows[1][1] != "user" {
		t.Fatalf("export in English: %v %v", enRows, err)
	}
	if enRows[2][0] != ownerID || enRows[2][8] != "Owner" {
		t.Fatalf("the owner's row in English: %v", enRows[2])
	}
	if res := owner.do("GET", "/api/admin/accounts/export.csv?lang=fr", nil); res.status != 422 || !strings.Contains(string(res.body), `"field":"lang"`) {
		t.Fatalf("a language it has no words in: %d %s", res.status, res.body)
	}
	e.withUser(userID, "user")
	if res := e.signedIn(userID, userPW).do("GET", "/api/admin/accounts/export.csv", nil); res.status != 403 {
		t.Fatalf("user export: %d", res.status)
	}
}

func TestBulkJobsListNewestFirst(t *testing.T) {
	e := newEnv(t, withBulk)
	owner := e.signedIn(ownerID, ownerPW)
	for i := range 3 {
		e.clock.Add(time.Second)
		res := owner.do("POST", "/api/admin/bulk", map[string]any{"filename": fmt.Sprintf("f%d.csv", i), "mode": "update", "size": 10, "confirm_password": ownerPW})
		if res.status != 201 {
			t.Fatalf("start: %d %s", res.status, res.body)
		}
	}
	res := owner.do("GET", "/api/admin/bulk", nil)
	jobs, _ := res.json(t)["jobs"].([]any)
	if res.status != 200 || len(jobs) != 3 || jobs[0].(map[string]any)["filename"] != "f2.csv" || jobs[2].(map[string]any)["filename"] != "f0.csv" {
		t.Fatalf("list: %d %s", res.status, res.body)
	}
	if res := owner.do("GET", "/api/admin/bulk?cursor=nope", nil); res.status != 422 {
		t.Fatalf("a bad cursor: %d", res.status)
	}
	e.withUser(userID, "user")
	if res := e.signedIn(userID, userPW).do("GET", "/api/admin/bulk", nil); res.status != 403 {
		t.Fatalf("a user lists jobs: %d", res.status)
	}
}

func withExports(s *setup) { s.exports = true }

// Where the response could not hold a large export (Lambda), the export goes to storage
// and the answer links to it.
func TestExportThroughStorage(t *testing.T) {
	e := newEnv(t, withExports)
	owner := e.signedIn(ownerID, ownerPW)
	owner.do("POST", "/api/admin/accounts", map[string]any{"login_id": "keiri@example.com", "password": "Keisan-Ki-2026!", "comment": "経理"})
	res := owner.do("GET", "/api/admin/accounts/export.csv", nil)
	loc := res.header.Get("Location")
	if res.status != 303 || !strings.Contains(loc, "exports/") || !strings.Contains(loc, "response-content-disposition") {
		t.Fatalf("export: %d %q", res.status, loc)
	}
	got, err := http.Get(loc)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(got.Body)
	got.Body.Close()
	if got.StatusCode != 200 || !strings.HasPrefix(string(body), "\ufeffmail_account,role,mail_capacity,comment") || !strings.Contains(string(body), "keiri@example.com,user,0,経理") {
		t.Fatalf("download: %d %q", got.StatusCode, body)
	}
}
