package main

import (
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kagiya/kagiya/shared/faults"
	"github.com/kagiya/kagiya/shared/mail"
	"github.com/kagiya/kagiya/shared/outbox"
)

// sends reports each send's outcome, so that a test waits for the send it expects.
type sends struct {
	next outbox.Sender
	out  chan error
}

func (s sends) Send(ctx context.Context, m mail.Message) error {
	err := s.next.Send(ctx, m)
	s.out <- err
	return err
}

func (s sends) await(t *testing.T) error {
	t.Helper()
	select {
	case err := <-s.out:
		return err
	case <-time.After(time.Minute): // no send at all; a send that comes is not waited for by time
		t.Fatal("no send within a minute")
		return nil
	}
}

// The lock email, whose SES send fails twice (an outage), is delivered by the outbox's
// retry, within 10 seconds of each failure, and its link unlocks: no email is lost.
// /_dev/mail lists what was delivered as docs/api.md says.
func TestFailedSendIsDeliveredLater(t *testing.T) {
	plan := &faults.Plan{}
	tried := sends{out: make(chan error, 100)}
	base := startServerOpts(t, func(o *options) {
		o.wrapSender = func(s outbox.Sender) outbox.Sender {
			tried.next = faults.NewMailer(s, plan)
			return tried
		}
	}, "-rate-limit=false")
	createUser(t, base, "kaito@example.com", "Fuji-Passw0rd-26!")
	res, err := http.Post(base+"/api/password/forgot", "application/json", strings.NewReader(`{"login_id":"owner@example.com"}`))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if err := tried.await(t); err != nil { // the owner's reset email, before any fault
		t.Fatal(err)
	}
	plan.Add(faults.Rule{Method: "SendEmail", Times: 2, Err: faults.Throttling("SES", "SendRawEmail")})
	for i := range 10 {
		res, err := http.Post(base+"/api/login", "application/json", strings.NewReader(`{"login_id":"kaito@example.com","password":"Wrong-Passw0rd-26!"}`))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 401 {
			t.Fatalf("wrong password %d: %d", i+1, res.StatusCode)
		}
	}
	var failedAt []time.Time
	for {
		err := tried.await(t)
		if err == nil {
			break
		}
		failedAt = append(failedAt, time.Now())
	}
	if len(failedAt) != 2 {
		t.Fatalf("%d failed sends before the delivery, want 2", len(failedAt))
	}

	// The JSON is exactly docs/api.md's: to, subject, text, html, sent_at (RFC 3339).
	res, err = http.Get(base + "/_dev/mail?to=KAITO@example.com")
	if err != nil {
		t.Fatal(err)
	}
	var raw []map[string]any
	json.NewDecoder(res.Body).Decode(&raw)
	res.Body.Close()
	if len(raw) != 1 {
		t.Fatalf("%d mails to kaito, want the lock email once", len(raw))
	}
	var keys []string
	for k := range raw[0] {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if want := []string{"html", "sent_at", "subject", "text", "to"}; !reflect.DeepEqual(keys, want) {
		t.Errorf("fields %v, want %v", keys, want)
	}
	sentAt, err := time.Parse(time.RFC3339, raw[0]["sent_at"].(string))
	if err != nil || sentAt.Before(failedAt[1].Add(-time.Second)) {
		t.Errorf("sent_at %v (%v), the last failure at %v", raw[0]["sent_at"], err, failedAt[1])
	}
	if to, _ := raw[0]["to"].([]any); len(to) != 1 || to[0] != "kaito@example.com" {
		t.Errorf("to: %v", raw[0]["to"])
	}
	if others := mailsTo(t, base, "nobody@example.com"); len(others) != 0 {
		t.Errorf("?to= filter: %d mails to nobody", len(others))
	}
	all := mailsTo(t, base, "")
	if len(all) != 2 || !slices.IsSortedFunc(all, func(a, b mail.Message) int { return a.SentAt.Compare(b.SentAt) }) {
		t.Errorf("every mail, oldest first: %d", len(all))
	}

	link := mailedLink(t, base, "kaito@example.com", "unlock")
	token := link[strings.Index(link, "token=")+len("token="):]
	res, err = http.Post(base+"/api/unlock", "application/json", strings.NewReader(`{"token":"`+token+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("unlock by the delivered link: %d", res.StatusCode)
	}
	apiAs(t, base, "kaito@example.com", "Fuji-Passw0rd-26!") // signs in again
}

func mailsTo(t *testing.T, base, to string) []mail.Message {
	t.Helper()
	res, err := http.Get(base + "/_dev/mail?to=" + to)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out []mail.Message
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

// A bulk job's notified counts the password notices delivered, not those queued: of
// three, the one SES rejects is queued and never counted.
func TestBulkNotifiedCountsDeliveredMail(t *testing.T) {
	plan := &faults.Plan{}
	tried := sends{out: make(chan error, 100)}
	base := startServerOpts(t, func(o *options) {
		o.wrapSender = func(s outbox.Sender) outbox.Sender {
			tried.next = faults.NewMailer(s, plan)
			return tried
		}
	})
	for _, id := range []string{"ichi@example.com", "ni@example.com", "san@example.com"} {
		createUser(t, base, id, "Fuji-Passw0rd-26!")
	}
	owner := apiAs(t, base, "owner@example.com", "Kagi-2026-Tokyo!")
	plan.Add(faults.Rule{Method: "SendEmail", Times: 1, Err: rejectedMail{}})
	job := bulkUpload(t, owner, "update", []byte("mail_account,password\nichi,Shin-Passw0rd-26!a\nni,Shin-Passw0rd-26!b\nsan,Shin-Passw0rd-26!c\n"))
	if job["state"] != "succeeded" || job["queued"] != 3.0 {
		t.Fatalf("job: %v", job)
	}
	for range 4 { // three notices and the owner's summary
		tried.await(t)
	}
	mailsTo(t, base, "") // the worker has finished with them (counted, given up)
	res := owner("GET", "/api/admin/bulk/"+job["job_id"].(string), nil)
	var got map[string]any
	json.NewDecoder(res.Body).Decode(&got)
	res.Body.Close()
	if got["queued"] != 3.0 || got["notified"] != 2.0 {
		t.Fatalf("queued %v, notified %v; want 3 and 2", got["queued"], got["notified"])
	}
}

type rejectedMail struct{}

func (rejectedMail) Error() string   { return "MessageRejected" }
func (rejectedMail) Permanent() bool { return true }
