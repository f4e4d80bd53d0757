package httpapi_test

import (
	"strings"
	"testing"

	"github.com/kagiya/kagiya/shared/account"
	"github.com/kagiya/kagiya/shared/faults"
	"github.com/kagiya/kagiya/shared/faults/faulttest"
)

// withMailFaults makes the service's mailer (in AWS the outbox's queue) fail as plan says.
func withMailFaults(plan *faults.Plan) option {
	return func(s *setup) { s.deps.Mailer = faults.NewMailer(s.deps.Mailer, plan) }
}

// The lock notice that cannot be queued (the queue failing right after the lock was
// written) is not lost for good: the lock is left without a live link, so the next
// attempt that meets it issues and mails a new link, which unlocks. Before, the lock
// kept a link nobody was ever sent until it expired (14 days).
func TestLockNoticeThatCannotBeQueuedIsMailedAtTheNextAttempt(t *testing.T) {
	run := func(t *testing.T, st account.Store) {
		plan := &faults.Plan{}
		e := newEnvOn(t, st, withConfig(noThrottle), withMailFaults(plan))
		e.withUser(userID, "user")
		for range account.DefaultLockoutThreshold - 1 {
			e.client().login(userID, "Wrong-Pass-123!")
		}
		mails := len(e.mailbox.Messages(userID))
		plan.Fail("SendEmail", faults.Throttling("SQS", "SendMessage"))
		if res := e.client().login(userID, "Wrong-Pass-123!"); res.status != 401 {
			t.Fatalf("the locking attempt: %d %s", res.status, res.body)
		}
		plan.Clear()
		if !e.account(userID).Locked() || len(e.mailbox.Messages(userID)) != mails {
			t.Fatalf("after the locking attempt: locked %v, %d mails (had %d)", e.account(userID).Locked(), len(e.mailbox.Messages(userID)), mails)
		}
		if !strings.Contains(e.logs.String(), `"msg":"mail not sent"`) {
			t.Fatal("the lost notice is not in the log (the MailNotSent alarm's filter)")
		}
		e.client().login(userID, userPW) // meets the lock: a new link is mailed
		m := e.mailbox.Messages(userID)
		if len(m) != mails+1 {
			t.Fatalf("the next attempt: %d mails, want %d", len(m), mails+1)
		}
		if res := e.client().do("POST", "/api/unlock", map[string]string{"token": tokenFrom(t, m[len(m)-1], "unlock")}); res.status != 200 || e.account(userID).Locked() {
			t.Fatalf("the new link: %d %s", res.status, res.body)
		}
		e.logs.forget("mail not sent") // this test caused it on purpose
	}
	for name, open := range faulttest.Stores() {
		t.Run(name, func(t *testing.T) { run(t, open(t)) })
	}
}

// forget drops the log lines that hold s.
func (s *syncBuffer) forget(sub string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var kept []string
	for _, line := range strings.Split(s.b.String(), "\n") {
		if !strings.Contains(line, sub) {
			kept = append(kept, line)
		}
	}
	s.b.Reset()
	s.b.WriteString(strings.Join(kept, "\n"))
}
