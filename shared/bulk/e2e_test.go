package bulk_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/truora/minidyn/server"

	"github.com/kagiya/kagiya/shared/account"
	"github.com/kagiya/kagiya/shared/bulk"
	"github.com/kagiya/kagiya/shared/mail"
	"github.com/kagiya/kagiya/shared/outbox"
	"github.com/kagiya/kagiya/shared/password"
	"github.com/kagiya/kagiya/shared/s3files"
	"github.com/kagiya/kagiya/shared/store/boltstore"
	"github.com/kagiya/kagiya/shared/store/dynamostore"
)

var fastHash = password.Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32}

// store is both stores the bulk path needs.
type store interface {
	account.Store
	bulk.JobStore
	outbox.JobCounter
}

// deliverNow is the outbox with its sender in one step: each email is delivered (and a
// bulk notice counted in its job) as it is sent, so a job's notified is known when it ends.
type deliverNow struct{ d *outbox.Deliverer }

func (n deliverNow) Send(ctx context.Context, m mail.Message) error {
	return n.d.Deliver(ctx, outbox.Item{ID: "now", Message: m, Meta: m.Meta, Enqueued: time.Now()})
}

// flaky fails account writes while armed, after a number of successes: a throttled or
// failing database midway through a job.
type flaky struct {
	store
	okLeft atomic.Int64
	armed  atomic.Bool
	// beforeApply, if set, runs once between a job's validation and its first row:
	// something another administrator does while the job runs.
	beforeApply atomic.Pointer[func()]
}

// UpdateJob runs the beforeApply hook once, when the job has been validated and is saved
// as applying, before any row is written.
func (f *flaky) UpdateJob(ctx context.Context, j bulk.Job) (bulk.Job, error) {
	if j.State == bulk.StateApplying {
		if hook := f.beforeApply.Swap(nil); hook != nil {
			(*hook)()
		}
	}
	return f.store.UpdateJob(ctx, j)
}

func (f *flaky) UpdateAccount(ctx context.Context, a account.Account) (account.Account, error) {
	if f.armed.Load() && f.okLeft.Add(-1) < 0 {
		return account.Account{}, errors.New("ProvisionedThroughputExceededException: rate exceeded")
	}
	return f.store.UpdateAccount(ctx, a)
}

type env struct {
	store   *flaky
	svc     *account.Flows
	jobs    *bulk.Jobs
	runner  *bulk.Runner
	mailbox *mail.Mailbox
	owner   account.Principal
	bucket  *s3files.Bucket
}

func backends(t testing.TB) map[string]func(t testing.TB) store {
	return map[string]func(t testing.TB) store{
		"bbolt": func(t testing.TB) store {
			s, err := boltstore.Open(filepath.Join(t.TempDir(), "k.db"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		},
		"minidyn": func(t testing.TB) store {
			srv := httptest.NewServer(server.NewServer())
			t.Cleanup(srv.Close)
			db := dynamodb.New(dynamodb.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL),
				Credentials: credentials.NewStaticCredentialsProvider("t", "t", "")})
			if err := dynamostore.CreateTable(context.Background(), db, "kagiya"); err != nil {
				t.Fatal(err)
			}
			return dynamostore.New(db, "kagiya", 0)
		},
	}
}

func newEnv(t testing.TB, newStore func(t testing.TB) store, users int) *env {
	return newEnvHashing(t, newStore, users, fastHash)
}

func newEnvHashing(t testing.TB, newStore func(t testing.TB) store, users int, hash password.Params) *env {
	ctx := context.Background()
	s3srv := httptest.NewServer(gofakes3.New(s3mem.New()).Server())
	t.Cleanup(s3srv.Close)
	client := s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String(s3srv.URL), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider("t", "t", "")})
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("uploads")}); err != nil {
		t.Fatal(err)
	}
	bucket := s3files.New(client, "uploads")
	st := &flaky{store: newStore(t)}
	tmpl, _ := mail.LoadTemplates()
	box := mail.NewMailbox(time.Now)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	mailer := deliverNow{&outbox.Deliverer{Sender: box, Audit: st, Jobs: st, Now: time.Now, Log: log}}
	svc, err := account.New(account.Deps{Store: st, Mailer: mailer, Templates: tmpl, Now: time.Now, Log: log,
		SiteURL: "https://id.example.com"}, account.Config{Hash: hash})
	if err != nil {
		t.Fatal(err)
	}
	tenant, _, err := svc.SignIn.Bootstrap(ctx, "owner@example.com", "Kagi-2026-Tokyo!", account.Settings{})
	if err != nil {
		t.Fatal(err)
	}
	old, _ := password.Hash(fastHash, "Old-Passw0rd-Kept!")
	for i := range users {
		id := fmt.Sprintf("user%03d@example.com", i)
		if err := st.CreateAccount(ctx, account.Account{ID: fmt.Sprintf("acc_user%03d", i), TenantID: tenant.ID, LoginID: id, Role: account.RoleUser, PasswordHash: old, QuotaGB: 1}); err != nil {
			t.Fatal(err)
		}
	}
	owner, _ := account.FindAccount(ctx, st, "owner@example.com")
	return &env{store: st, svc: svc, mailbox: box, owner: account.Principal{Account: owner}, bucket: bucket,
		jobs:   &bulk.Jobs{Store: st, Presign: bucket, Now: time.Now},
		runner: &bulk.Runner{Jobs: st, Files: bucket, Accounts: svc.Bulk, Now: time.Now, Log: log, Workers: 4}}
}

// upload starts a job, PUTs the file to its presigned URL as a browser would, and returns
// the key as an S3 event would carry it (URL-encoded).
func (e *env) upload(t testing.TB, filename, mode string, force bool, file []byte) (bulk.Job, string) {
	t.Helper()
	up, err := e.jobs.Start(context.Background(), e.owner, bulk.StartOptions{Filename: filename, Mode: mode, ForceChange: force, Size: int64(len(file))}, "192.0.2.77")
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("PUT", up.URL, bytes.NewReader(file))
	for k, v := range up.Headers {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("upload: %d", res.StatusCode)
	}
	return up.Job, bulk.EventKey(up.Job.Key)
}

func (e *env) job(t *testing.T, id string) bulk.Job {
	j, err := e.jobs.Get(context.Background(), e.owner, id)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

func file(rows int, bad int) []byte {
	var b strings.Builder
	b.WriteString("mail_account,password,mail_capacity\r\n")
	for i := range rows {
		pw := fmt.Sprintf("Shin-Pass-%03d-Ok!", i)
		if i == bad {
			pw = "short"
		}
		fmt.Fprintf(&b, "user%03d,%s,20\r\n", i, pw)
	}
	return []byte(b.String())
}

func TestOneBadRowChangesNothing(t *testing.T) {
	for name, nb := range backends(t) {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, nb, 150)
			before, _ := account.FindAccount(context.Background(), e.store, "user000@example.com")
			job, key := e.upload(t, "全角 ファイル名.csv", "update", false, file(150, 149))
			if err := e.runner.Run(context.Background(), key); err != nil {
				t.Fatal(err)
			}
			j := e.job(t, job.ID)
			if j.State != bulk.StateRejected || j.ErrorsTotal != 4 || j.Errors[0].Line != 151 || j.Updated != 0 {
				t.Fatalf("job %+v", j)
			}
			for i := range 150 {
				a, _ := account.FindAccount(context.Background(), e.store, fmt.Sprintf("user%03d@example.com", i))
				if a.PasswordHash != before.PasswordHash || a.QuotaGB != 1 || a.Version != 1 {
					t.Fatalf("user%03d changed by a rejected file: %+v", i, a)
				}
			}
			if m := e.mailbox.Messages("owner@example.com"); len(m) != 1 || !strings.Contains(m[0].Subject, "何も変更していません") {
				t.Fatalf("summary %+v", m)
			}
		})
	}
}

// A duplicate is decided by reading the upload a second time (from the file store, as in
// AWS): the job names both lines and changes nothing.
func TestADuplicatedAccountRejectsTheFile(t *testing.T) {
	for name, nb := range backends(t) {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, nb, 20)
			f := append(file(20, -1), []byte("USER007@example.com,Shin-Pass-999-Ok!,20\r\n")...)
			job, key := e.upload(t, "dup.csv", "update", false, f)
			if err := e.runner.Run(context.Background(), key); err != nil {
				t.Fatal(err)
			}
			j := e.job(t, job.ID)
			if j.State != bulk.StateRejected || j.ErrorsTotal != 1 || j.Errors[0].Line != 22 || j.Errors[0].Code != bulk.CodeDuplicate ||
				!strings.Contains(j.Errors[0].Message, "line 9") || j.Updated != 0 {
				t.Fatalf("job %+v", j)
			}
		})
	}
}

func TestAppliesOnceEvenWhenDeliveredTwice(t *testing.T) {
	for name, nb := range backends(t) {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, nb, 60)
			content := file(60, -1)
			content = append(content, "ghost,Shin-Pass-999-Ok!,5\r\n"...)
			job, key := e.upload(t, "passwords.csv", "update", true, content)
			if err := e.runner.Run(context.Background(), key); err != nil {
				t.Fatal(err)
			}
			if err := e.runner.Run(context.Background(), key); err != nil { // the same event again
				t.Fatal(err)
			}
			j := e.job(t, job.ID)
			if j.State != bulk.StateSucceeded || j.Updated != 60 || j.SkippedTotal != 1 || j.Skipped[0] != "ghost@example.com" || j.Rows != 61 || j.Applied != 60 {
				t.Fatalf("job %+v", j)
			}
			for i := range 60 {
				a, _ := account.FindAccount(context.Background(), e.store, fmt.Sprintf("user%03d@example.com", i))
				ok, _, _ := password.Verify(fastHash, a.PasswordHash, fmt.Sprintf("Shin-Pass-%03d-Ok!", i))
				if !ok || a.QuotaGB != 20 || !a.ForceChange || a.Version != 2 {
					t.Fatalf("user%03d: ok=%v %+v", i, ok, a)
				}
			}
			if m := e.mailbox.Messages("owner@example.com"); len(m) != 1 || !strings.Contains(m[0].Subject, "60件のアカウントを更新しました") {
				t.Fatalf("%d summaries: %+v", len(m), m)
			}
			if _, err := e.bucket.Open(context.Background(), job.Key); err == nil {
				t.Fatal("the upload, with its passwords, was kept after the job ended")
			}
		})
	}
}

func TestFailureMidwayThenRetryCompletesExactlyOnce(t *testing.T) {
	for name, nb := range backends(t) {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, nb, 120)
			job, key := e.upload(t, "big.csv", "update", false, file(120, -1))
			e.store.okLeft.Store(50)
			e.store.armed.Store(true)
			if err := e.runner.Run(context.Background(), key); err == nil {
				t.Fatal("the run did not report the failing store")
			}
			mid := e.job(t, job.ID)
			if mid.State != bulk.StateApplying || mid.Updated > 50 || mid.Updated == 0 {
				t.Fatalf("after the failure %+v", mid)
			}
			e.store.armed.Store(false)
			if err := e.runner.Run(context.Background(), key); err != nil { // the event's retry
				t.Fatal(err)
			}
			j := e.job(t, job.ID)
			if j.State != bulk.StateSucceeded || j.Updated != 120 {
				t.Fatalf("after the retry %+v", j)
			}
			for i := range 120 {
				a, _ := account.FindAccount(context.Background(), e.store, fmt.Sprintf("user%03d@example.com", i))
				if a.Version != 2 {
					t.Fatalf("user%03d written %d times", i, a.Version-1)
				}
			}
		})
	}
}

func TestCreateMode(t *testing.T) {
	e := newEnv(t, backends(t)["bbolt"], 1)
	_, key := e.upload(t, "new.csv", "create", false, []byte("login_id,password,quota_gb\nnew1,Atarashii-Pass-1!,5\nnew2@example.com,Atarashii-Pass-2!,\n"))
	if err := e.runner.Run(context.Background(), key); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"new1@example.com", "new2@example.com"} {
		a, err := account.FindAccount(context.Background(), e.store, id)
		if err != nil || a.Role != account.RoleUser {
			t.Fatalf("%s: %+v %v", id, a, err)
		}
	}
	res, err := e.svc.SignIn.Login(context.Background(), "new1@example.com", "Atarashii-Pass-1!", account.Client{IP: "192.0.2.1"})
	if err != nil || res.Token == "" {
		t.Fatalf("sign-in as a created account: %v", err)
	}
}

func TestForeignOrUnknownUploadsAreIgnored(t *testing.T) {
	e := newEnv(t, backends(t)["bbolt"], 1)
	for _, key := range []string{"elsewhere/x.csv", "uploads/example.com/0123456789abcdef0123456789abcdef/x.csv", "uploads/%zz"} {
		if err := e.runner.Run(context.Background(), key); err != nil {
			t.Errorf("%s: %v", key, err)
		}
	}
}

// handOver records the keys handed to a later invocation, and how long each waits.
type handOver struct {
	keys   []string
	delays []time.Duration
}

func (h *handOver) Continue(_ context.Context, key string, after time.Duration) error {
	h.keys = append(h.keys, key)
	h.delays = append(h.delays, after)
	return nil
}

func TestNearTheDeadlineTheJobIsHandedOver(t *testing.T) {
	e := newEnv(t, backends(t)["bbolt"], 30)
	job, key := e.upload(t, "slow.csv", "update", false, file(30, -1))
	ho := &handOver{}
	e.runner.Continue = ho
	e.runner.Reserve = time.Hour // every deadline is "near"
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	if err := e.runner.Run(ctx, key); err != nil {
		t.Fatal(err)
	}
	if len(ho.keys) != 1 || ho.keys[0] != job.Key {
		t.Fatalf("handed over %q", ho.keys)
	}
	if j := e.job(t, job.ID); j.State != bulk.StateApplying || !j.LeaseUntil.IsZero() {
		t.Fatalf("after the hand-over %+v", j)
	}
	// The next invocation (the queue message) has all the time it needs.
	if err := e.runner.Run(context.Background(), bulk.EventKey(ho.keys[0])); err != nil {
		t.Fatal(err)
	}
	if j := e.job(t, job.ID); j.State != bulk.StateSucceeded || j.Updated != 30 {
		t.Fatalf("after the continuation %+v", j)
	}
}

// The review's finding: an admin's job sets a user's password; while it applies, the
// owner makes that user an owner. Rights hold at the moment each row is written, so the
// row is refused (reported in the job, audited) and the new owner's password stays.
func TestRightsHoldWhenEachRowIsWritten(t *testing.T) {
	for name, newStore := range backends(t) {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, newStore, 10)
			ctx := context.Background()
			if _, err := e.svc.Admin.CreateAccount(ctx, e.owner, account.NewAccount{LoginID: "kanri@example.com", Role: account.RoleAdmin}, "Kagi-2026-Tokyo!", "192.0.2.9"); err != nil {
				t.Fatal(err)
			}
			admin, _ := account.FindAccount(ctx, e.store, "kanri@example.com")
			e.owner = account.Principal{Account: admin} // the admin starts the job
			job, key := e.upload(t, "pw.csv", "update", false, file(10, -1))
			promote := func() {
				u, _ := account.FindAccount(ctx, e.store, "user005@example.com")
				u.Role = account.RoleOwner
				if _, err := e.store.store.UpdateAccount(ctx, u); err != nil {
					t.Error(err)
				}
			}
			e.store.beforeApply.Store(&promote)
			if err := e.runner.Run(ctx, key); err != nil {
				t.Fatal(err)
			}
			j := e.job(t, job.ID)
			if j.State != bulk.StateSucceeded || j.Updated != 9 || j.RefusedTotal != 1 || fmt.Sprint(j.Refused) != "[user005@example.com]" {
				t.Fatalf("job %+v", j)
			}
			if _, err := e.svc.SignIn.Login(ctx, "user005@example.com", "Old-Passw0rd-Kept!", account.Client{IP: "192.0.2.1"}); err != nil {
				t.Fatalf("the promoted account's password was changed: %v", err)
			}
			if _, err := e.svc.SignIn.Login(ctx, "user004@example.com", "Shin-Pass-004-Ok!", account.Client{IP: "192.0.2.1"}); err != nil {
				t.Fatalf("a row the admin may still change was not applied: %v", err)
			}
			events, _, _ := e.store.ListAudit(ctx, admin.TenantID, "", 200)
			var refused, applied int
			for _, ev := range events {
				switch {
				case ev.Action == "bulk.update" && strings.HasPrefix(ev.Result, "refused:") && ev.Target == "user005@example.com":
					refused++
				case ev.Action == "bulk.update" && ev.IP == "192.0.2.77":
					applied++
				}
			}
			if refused != 1 || applied != 9 {
				t.Fatalf("audit: %d refused, %d applied with the uploader's IP; want 1 and 9", refused, applied)
			}
			for _, m := range e.mailbox.Messages("user005@example.com") {
				if strings.Contains(m.Subject, "パスワードが変更されました") {
					t.Fatal("a refused row mailed a password change")
				}
			}
			if j.Queued != 9 || j.Notified != 9 {
				t.Fatalf("%d notices queued, %d delivered; want 9", j.Queued, j.Notified)
			}
			// The admin loses its role: every further row is refused.
			admin, _ = account.FindAccount(ctx, e.store, "kanri@example.com")
			admin.Role = account.RoleUser
			if _, err := e.store.store.UpdateAccount(ctx, admin); err != nil {
				t.Fatal(err)
			}
			out, err := e.svc.Bulk.ApplyBulkChange(ctx, account.BulkChange{JobID: j.ID, Line: 99, TenantID: admin.TenantID,
				Actor: admin.LoginID, ActorID: admin.ID, Mode: "update", LoginID: "user001@example.com", Password: "Sonota-Pass-01!", HasPassword: true})
			if err != nil || out != account.BulkForbidden {
				t.Fatalf("a demoted administrator's row: %s %v", out, err)
			}
		})
	}
}

// A run that failed every retry ends its job as failed (never stuck in validating), once.
func TestFailEndsAStuckJob(t *testing.T) {
	e := newEnv(t, backends(t)["bbolt"], 2)
	job, key := e.upload(t, "stuck.csv", "update", false, file(2, -1))
	if err := e.runner.Fail(context.Background(), key, "the run failed 3 times (RetriesExhausted)"); err != nil {
		t.Fatal(err)
	}
	j := e.job(t, job.ID)
	if j.State != bulk.StateFailed || j.FailureReason != "the run failed 3 times (RetriesExhausted)" || j.FinishedAt.IsZero() {
		t.Fatalf("job %+v", j)
	}
	if err := e.runner.Run(context.Background(), key); err != nil {
		t.Fatal(err)
	}
	if again := e.job(t, job.ID); again.State != bulk.StateFailed || again.Updated != 0 {
		t.Fatalf("a failed job ran again: %+v", again)
	}
	if err := e.runner.Fail(context.Background(), key, "again"); err != nil || e.job(t, job.ID).FailureReason != j.FailureReason {
		t.Fatalf("a second failure changed the job: %v", err)
	}
	mails := 0
	for _, m := range e.mailbox.Messages("owner@example.com") {
		if strings.Contains(m.Text, "stuck.csv") {
			mails++
		}
	}
	if mails != 1 {
		t.Fatalf("%d summary emails, want 1", mails)
	}
}

// The review's finding: bulk password changes were silent. Every account whose password
// the job changed gets "your password was changed", after the rows are applied; a row
// that was refused or only changed the capacity sends nothing; a repeated event resends
// nothing.
func TestBulkPasswordChangesAreMailed(t *testing.T) {
	for name, newStore := range backends(t) {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, newStore, 40)
			var b strings.Builder
			b.WriteString("mail_account,password,mail_capacity\r\n")
			for i := range 40 {
				if i%4 == 3 {
					fmt.Fprintf(&b, "user%03d,,20\r\n", i) // capacity only
				} else {
					fmt.Fprintf(&b, "user%03d,Shin-Pass-%03d-Ok!,20\r\n", i, i)
				}
			}
			job, key := e.upload(t, "pw.csv", "update", false, []byte(b.String()))
			if err := e.runner.Run(context.Background(), key); err != nil {
				t.Fatal(err)
			}
			if err := e.runner.Run(context.Background(), key); err != nil { // a duplicate delivery
				t.Fatal(err)
			}
			j := e.job(t, job.ID)
			if j.State != bulk.StateSucceeded || j.Updated != 40 || j.Queued != 30 || j.Notified != 30 {
				t.Fatalf("job %+v", j)
			}
			for i := range 40 {
				id := fmt.Sprintf("user%03d@example.com", i)
				n := 0
				for _, m := range e.mailbox.Messages(id) {
					if strings.Contains(m.Subject, "パスワードが変更されました") && strings.Contains(m.Text, "管理者") {
						n++
					}
				}
				if want := map[bool]int{true: 0, false: 1}[i%4 == 3]; n != want {
					t.Fatalf("%s got %d notices, want %d", id, n, want)
				}
			}
		})
	}
}

// One tenant's jobs cannot take every bulk slot: with two of its jobs running, a third
// waits its turn (handed to a later invocation), and runs once a slot is free.
func TestATenantRunsAtMostTwoJobsAtOnce(t *testing.T) {
	e := newEnv(t, backends(t)["bbolt"], 3)
	ho := &handOver{}
	e.runner.Continue = ho
	ctx := context.Background()
	var running []bulk.Job
	for i := range 2 {
		j, _ := e.upload(t, fmt.Sprintf("busy%d.csv", i), "update", false, file(3, -1))
		j, _ = e.jobs.Get(ctx, e.owner, j.ID)
		j.State, j.LeaseUntil = bulk.StateApplying, time.Now().Add(time.Minute)
		saved, err := e.store.UpdateJob(ctx, j)
		if err != nil {
			t.Fatal(err)
		}
		running = append(running, saved)
	}
	third, key := e.upload(t, "third.csv", "update", false, file(3, -1))
	if err := e.runner.Run(ctx, key); err != nil {
		t.Fatal(err)
	}
	if j := e.job(t, third.ID); j.State != bulk.StateWaitingUpload || len(ho.keys) != 1 || ho.delays[0] != bulk.SlotWait {
		t.Fatalf("the third job ran: %+v, handed over %v after %v", j, ho.keys, ho.delays)
	}
	running[0].LeaseUntil = time.Time{} // one run ends
	running[0].State = bulk.StateSucceeded
	if _, err := e.store.UpdateJob(ctx, running[0]); err != nil {
		t.Fatal(err)
	}
	if err := e.runner.Run(ctx, key); err != nil {
		t.Fatal(err)
	}
	if j := e.job(t, third.ID); j.State != bulk.StateSucceeded || j.Updated != 3 {
		t.Fatalf("the third job after a slot freed: %+v", j)
	}
}

// Third security review (issue 23): the job-level audit event (bulk.job) had no IP
// address; it carries the one the job was started from, as its rows' events do.
func TestBulkJobAuditEventHasTheUploadersIP(t *testing.T) {
	for name, nb := range backends(t) {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, nb, 5)
			job, key := e.upload(t, "a.csv", "update", false, file(5, -1))
			if err := e.runner.Run(context.Background(), key); err != nil {
				t.Fatal(err)
			}
			if j := e.job(t, job.ID); j.State != bulk.StateSucceeded {
				t.Fatalf("job %+v", j)
			}
			events, _, _ := e.store.ListAudit(context.Background(), e.owner.Account.TenantID, "", 200)
			for _, ev := range events {
				if ev.Action == "bulk.job" {
					if ev.IP != "192.0.2.77" {
						t.Fatalf("bulk.job audited from %q, want the uploader's 192.0.2.77", ev.IP)
					}
					return
				}
			}
			t.Fatal("no bulk.job event")
		})
	}
}

// A create file with an address in a domain another tenant verified is rejected at its
// line, and nothing of it is created.
func TestCreateInAnotherTenantsDomainIsRejected(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, backends(t)["bbolt"], 0)
	own, err := e.store.GetTenant(ctx, e.owner.Account.TenantID)
	if err != nil {
		t.Fatal(err)
	}
	own.Domains = nil // takes any address
	if err := e.store.UpdateTenant(ctx, own); err != nil {
		t.Fatal(err)
	}
	other, _, err := e.svc.SignIn.Bootstrap(ctx, "boss@held.example", "Kagi-2026-Tokyo!", account.Settings{})
	if err != nil {
		t.Fatal(err)
	}
	other.Claims = []account.DomainClaim{{Domain: "held.example", Token: "t", RequestedAt: time.Now(), VerifiedAt: time.Now()}}
	if err := e.store.ClaimDomain(ctx, other, "held.example"); err != nil {
		t.Fatal(err)
	}
	job, key := e.upload(t, "new.csv", "create", false, []byte("login_id,password\nfree@gmail.example,Atarashii-Pass-1!\nmine@held.example,Atarashii-Pass-2!\n"))
	if err := e.runner.Run(ctx, key); err != nil {
		t.Fatal(err)
	}
	j := e.job(t, job.ID)
	if j.State != bulk.StateRejected || j.ErrorsTotal != 1 || j.Errors[0].Line != 3 || j.Errors[0].Code != bulk.CodeOtherTenant {
		t.Fatalf("job: %s %+v", j.State, j.Errors)
	}
	if _, err := account.FindAccount(ctx, e.store, "free@gmail.example"); err == nil {
		t.Fatal("a rejected file created an account")
	}
}

// TestLoginMethodColumn: login_method makes idp accounts (no password) where the tenant's
// identity provider serves the domain, moves existing ones (their password dropped, the
// person mailed), and rejects the file for an idp row with a password, of an
// administrator, or in a domain without a provider.
func TestLoginMethodColumn(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, backends(t)["bbolt"], 2)
	run := func(mode, csv string) bulk.Job {
		t.Helper()
		job, key := e.upload(t, "m.csv", mode, false, []byte(csv))
		if err := e.runner.Run(ctx, key); err != nil {
			t.Fatal(err)
		}
		return e.job(t, job.ID)
	}
	if j := run("create", "login_id,login_method\nnew1,idp\n"); j.State != bulk.StateRejected || j.Errors[0].Code != bulk.CodeNoProvider {
		t.Fatalf("idp without a provider: %s %+v", j.State, j.Errors)
	}
	tid := e.owner.Account.TenantID
	own, err := e.store.GetTenant(ctx, tid)
	if err != nil {
		t.Fatal(err)
	}
	own.Claims = []account.DomainClaim{{Domain: "example.com", Token: "t", RequestedAt: time.Now(), VerifiedAt: time.Now()}}
	if err := e.store.ClaimDomain(ctx, own, "example.com"); err != nil {
		t.Fatal(err)
	}
	if err := e.store.CreateCredential(ctx, account.Credential{Kind: account.CredIdP, Owner: tid, ID: tid + ".idp_test", TenantID: tid,
		Name: "Corp IdP", Issuer: "https://idp.example.com", ClientID: "c", Domains: []string{"example.com"}, CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	for csv, code := range map[string]string{
		"login_id,login_method,password\nnew2,idp,Atarashii-Pass-1!\n": bulk.CodeInvalidMethod,
		"login_id,login_method,role\nnew3,idp,admin\n":                 bulk.CodeMethodRole,
		"login_id,login_method\nnew4,sso\n":                            bulk.CodeInvalidMethod,
	} {
		j := run("create", csv)
		if j.State != bulk.StateRejected || !slices.ContainsFunc(j.Errors, func(p bulk.Problem) bool { return p.Code == code && p.Column == bulk.ColMethod }) {
			t.Errorf("%q: %s %+v, want %s", csv, j.State, j.Errors, code)
		}
	}
	if j := run("create", "login_id,login_method\nnew1,idp\nnew5,\n"); j.State != bulk.StateRejected {
		t.Fatalf("a password row without a password still needs one: %s %+v", j.State, j.Errors)
	}
	if j := run("create", "login_id,login_method\nnew1,idp\n"); j.State != bulk.StateSucceeded || j.Created != 1 {
		t.Fatalf("create idp: %s %+v", j.State, j.Errors)
	}
	a, err := account.FindAccount(ctx, e.store, "new1@example.com")
	if err != nil || !a.UsesIdP() || a.PasswordHash != "" {
		t.Fatalf("new1: %+v %v", a, err)
	}
	if j := run("update", "login_id,login_method\nuser000,idp\nuser001,password\n"); j.State != bulk.StateSucceeded || j.Updated != 1 {
		t.Fatalf("update to idp: %s updated %d %+v", j.State, j.Updated, j.Errors)
	}
	a, err = account.FindAccount(ctx, e.store, "user000@example.com")
	if err != nil || !a.UsesIdP() || a.PasswordHash != "" {
		t.Fatalf("user000: %+v %v", a, err)
	}
	if _, err := e.svc.SignIn.Login(ctx, "user000@example.com", "Old-Passw0rd-Kept!", account.Client{IP: "192.0.2.1"}); account.CodeOf(err) != account.CodeInvalidCredentials {
		t.Fatalf("the dropped password still signs in: %v", err)
	}
	msgs := e.mailbox.Messages("user000@example.com")
	if len(msgs) != 1 || !strings.Contains(msgs[0].Text, "Corp IdP") {
		t.Fatalf("the change is not mailed: %+v", msgs)
	}
}

// TestExportUploadsBack: the accounts export, login_method included, is an update file as
// it is: uploaded back it changes nothing, even for an idp account whose provider has
// gone since; with one login_method cell edited it moves that account, as the column
// does in any update file.
func TestExportUploadsBack(t *testing.T) {
	for name, nb := range backends(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			e := newEnv(t, nb, 3)
			tid := e.owner.Account.TenantID
			own, err := e.store.GetTenant(ctx, tid)
			if err != nil {
				t.Fatal(err)
			}
			own.Claims = []account.DomainClaim{{Domain: "example.com", Token: "t", RequestedAt: time.Now(), VerifiedAt: time.Now()}}
			if err := e.store.ClaimDomain(ctx, own, "example.com"); err != nil {
				t.Fatal(err)
			}
			idp := account.Credential{Kind: account.CredIdP, Owner: tid, ID: tid + ".idp_test", TenantID: tid,
				Name: "Corp IdP", Issuer: "https://idp.example.com", ClientID: "c", Domains: []string{"example.com"}, CreatedAt: time.Now()}
			if err := e.store.CreateCredential(ctx, idp); err != nil {
				t.Fatal(err)
			}
			run := func(csv string) bulk.Job {
				t.Helper()
				job, key := e.upload(t, "export.csv", "update", false, []byte(csv))
				if err := e.runner.Run(ctx, key); err != nil {
					t.Fatal(err)
				}
				return e.job(t, job.ID)
			}
			if j := run("login_id,login_method\nuser000,idp\n"); j.State != bulk.StateSucceeded || j.Updated != 1 {
				t.Fatalf("to idp: %s %+v", j.State, j.Errors)
			}
			// The provider is removed: user000 stays an idp account (it cannot sign in until
			// another provider serves its domain), and its unchanged row is no problem.
			if err := e.store.DeleteCredential(ctx, account.CredIdP, tid, idp.ID); err != nil {
				t.Fatal(err)
			}
			export := func() string {
				var b strings.Builder
				w := csv.NewWriter(&b)
				w.Write(bulk.ExportHeader)
				for _, id := range []string{"owner", "user000", "user001", "user002"} {
					a, err := account.FindAccount(ctx, e.store, id+"@example.com")
					if err != nil {
						t.Fatal(err)
					}
					w.Write(bulk.ExportRow(a, nil, "ja"))
				}
				w.Flush()
				return b.String()
			}
			file := export()
			if !strings.Contains(file, "user000@example.com,user,1,,idp,") || !strings.Contains(file, "user001@example.com,user,1,,password,") ||
				!strings.Contains(file, "owner@example.com,owner,") {
				t.Fatalf("export:\n%s", file)
			}
			if j := run(file); j.State != bulk.StateSucceeded || j.Updated != 0 || len(j.Errors) != 0 {
				t.Fatalf("the export uploaded back: %s updated %d %+v", j.State, j.Updated, j.Errors)
			}
			if err := e.store.CreateCredential(ctx, idp); err != nil {
				t.Fatal(err)
			}
			edited := strings.Replace(file, "user001@example.com,user,1,,password,", "user001@example.com,user,1,,idp,", 1)
			if j := run(edited); j.State != bulk.StateSucceeded || j.Updated != 1 {
				t.Fatalf("an edited export: %s updated %d %+v", j.State, j.Updated, j.Errors)
			}
			if a, err := account.FindAccount(ctx, e.store, "user001@example.com"); err != nil || !a.UsesIdP() {
				t.Fatalf("user001 not moved by its edited row: %+v %v", a, err)
			}
			if a, err := account.FindAccount(ctx, e.store, "user002@example.com"); err != nil || a.UsesIdP() || a.PasswordHash == "" {
				t.Fatalf("user002 changed: %+v %v", a, err)
			}
		})
	}
}
