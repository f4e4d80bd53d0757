package outbox_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kagiya/kagiya/shared/account"
	"github.com/kagiya/kagiya/shared/faults"
	"github.com/kagiya/kagiya/shared/mail"
	"github.com/kagiya/kagiya/shared/outbox"
	"github.com/kagiya/kagiya/shared/store/boltstore"
)

// audits records the audit events.
type audits struct {
	mu  sync.Mutex
	evs []account.AuditEvent
}

func (a *audits) AppendAudit(_ context.Context, e account.AuditEvent) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.evs = append(a.evs, e)
	return nil
}

func (a *audits) all() []account.AuditEvent {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]account.AuditEvent(nil), a.evs...)
}

// tries is a Sender that reports each send's outcome on a channel, so that a test
// waits for the sends it expects rather than for a time.
type tries struct {
	next outbox.Sender
	out  chan error
}

func (s tries) Send(ctx context.Context, m mail.Message) error {
	err := s.next.Send(ctx, m)
	s.out <- err
	return err
}

// await returns the outcome of the next send.
func (s tries) await(t *testing.T) error {
	t.Helper()
	select {
	case err := <-s.out:
		return err
	case <-time.After(time.Minute): // a worker that never sends; not a wait for one that does
		t.Fatal("no send within a minute")
		return nil
	}
}

type rig struct {
	store   *boltstore.Store
	box     *mail.Mailbox
	plan    *faults.Plan
	sends   tries
	audit   *audits
	outbox  *outbox.Outbox
	worker  *outbox.Worker
	running context.CancelFunc
}

func newRig(t *testing.T, path string) *rig {
	t.Helper()
	st, err := boltstore.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{store: st, box: mail.NewMailbox(time.Now), plan: &faults.Plan{}, audit: &audits{}}
	r.sends = tries{next: faults.NewMailer(r.box, r.plan), out: make(chan error, 100)}
	r.worker = outbox.NewWorker(st, &outbox.Deliverer{Sender: r.sends, Audit: r.audit, Now: time.Now,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	r.outbox = outbox.New(st, time.Now, r.worker.Wake)
	t.Cleanup(func() { r.stop(); st.Close() })
	return r
}

// start runs the worker until stop (or the test's end).
func (r *rig) start() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.worker.Run(ctx); close(done) }()
	r.running = func() { cancel(); <-done }
}

func (r *rig) stop() {
	if r.running != nil {
		r.running()
		r.running = nil
	}
}

func (r *rig) queued(t *testing.T) int {
	t.Helper()
	items, next, err := r.store.DueMail(context.Background(), time.Now().Add(outbox.MaxAge), 1000)
	if err != nil {
		t.Fatal(err)
	}
	if !next.IsZero() {
		t.Fatalf("items beyond a day: next at %v", next)
	}
	return len(items)
}

func lockNotice() mail.Message {
	return mail.Message{To: []string{"hanako@example.com"}, Subject: "locked", Text: "https://id.example.com/unlock.html?token=secret",
		Meta: mail.Meta{Kind: "lock_notice", TenantID: "ten_1", AccountID: "acc_1", LoginID: "hanako@example.com"}}
}

func TestFailedSendIsRetriedUntilDelivered(t *testing.T) {
	r := newRig(t, filepath.Join(t.TempDir(), "k.db"))
	r.plan.Add(faults.Rule{Method: "SendEmail", Times: 2, Err: faults.Throttling("SES", "SendRawEmail")})
	r.start()
	if err := r.outbox.Send(context.Background(), lockNotice()); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if err := r.sends.await(t); err == nil {
			t.Fatalf("send %d passed; the plan fails it", i+1)
		}
	}
	if err := r.sends.await(t); err != nil {
		t.Fatalf("third send: %v", err)
	}
	r.stop()
	got := r.box.Messages("hanako@example.com")
	if len(got) != 1 || got[0].Subject != "locked" || got[0].SentAt.IsZero() {
		t.Fatalf("delivered: %+v", got)
	}
	if n := r.queued(t); n != 0 {
		t.Errorf("%d items left in the queue", n)
	}
	evs := r.audit.all()
	if len(evs) != 1 || evs[0].Action != "mail.sent" || evs[0].Result != "ok:lock_notice" || evs[0].TenantID != "ten_1" ||
		evs[0].TargetID != "acc_1" || evs[0].Actor != "system" {
		t.Fatalf("audit: %+v", evs)
	}
	if strings.Contains(evs[0].Result, "token") {
		t.Errorf("the audit holds the link: %+v", evs[0])
	}
}

func TestQueuedMailSurvivesARestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k.db")
	r := newRig(t, path)
	if err := r.outbox.Send(context.Background(), lockNotice()); err != nil {
		t.Fatal(err)
	}
	r.store.Close() // stopped before any worker ran
	again := newRig(t, path)
	again.start()
	if err := again.sends.await(t); err != nil {
		t.Fatal(err)
	}
	again.stop()
	if got := again.box.Messages(""); len(got) != 1 || got[0].Text != lockNotice().Text {
		t.Fatalf("delivered after the restart: %+v", got)
	}
}

// rejected is an error SES gives for a message it will never take.
type rejected struct{}

func (rejected) Error() string   { return "MessageRejected" }
func (rejected) Permanent() bool { return true }

func TestRejectedMailIsGivenUpAndAudited(t *testing.T) {
	r := newRig(t, filepath.Join(t.TempDir(), "k.db"))
	r.plan.Add(faults.Rule{Method: "SendEmail", Times: 1, Err: rejected{}})
	r.start()
	if err := r.outbox.Send(context.Background(), lockNotice()); err != nil {
		t.Fatal(err)
	}
	if err := r.sends.await(t); !errors.As(err, &rejected{}) {
		t.Fatalf("send: %v", err)
	}
	r.stop() // the send's outcome is recorded before the worker stops
	if n := r.queued(t); n != 0 {
		t.Errorf("%d items left in the queue", n)
	}
	evs := r.audit.all()
	if len(evs) != 1 || evs[0].Action != "mail.failed" || evs[0].Result != "failed:lock_notice" || evs[0].TargetID != "acc_1" {
		t.Fatalf("audit: %+v", evs)
	}
}

func TestLocalRetryWithinTenSeconds(t *testing.T) {
	prev := time.Duration(0)
	for n := 1; n <= 100; n++ {
		d := outbox.LocalRetryDelay(n)
		if d <= 0 || d > 10*time.Second || d < prev {
			t.Fatalf("attempt %d: %v (after %v)", n, d, prev)
		}
		prev = d
	}
}
