package bulk_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/kagiya/kagiya/shared/account"
	"github.com/kagiya/kagiya/shared/bulk"
	"github.com/kagiya/kagiya/shared/faults"
	"github.com/kagiya/kagiya/shared/outbox"
	"github.com/kagiya/kagiya/shared/password"
)

// faulty is a backend whose account side fails as a plan says (the job records pass).
type faulty struct {
	*faults.Store
	bulk.JobStore
	outbox.JobCounter
}

// A job that changes passwords, with a throttled account write at each of its writes in
// turn, on bbolt and minidyn: the run completes (or reports the failure, and the event's
// retry completes it), every row is applied and every person gets one notice (none
// lost, none twice).
func TestApplyUnderAFaultAtEachWrite(t *testing.T) {
	const rows = 3
	writes := func(plan *faults.Plan) int {
		n := 0
		for _, m := range faults.StoreWrites() {
			n += plan.Calls(m)
		}
		return n
	}
	for name, nb := range backends(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			start := func() (*env, *faults.Plan, string) {
				plan := &faults.Plan{}
				e := newEnv(t, func(t testing.TB) store { inner := nb(t); return faulty{faults.NewStore(inner, plan), inner, inner} }, rows)
				_, key := e.upload(t, "pw.csv", "update", false, file(rows, -1))
				return e, plan, key
			}
			e, plan, key := start()
			before := writes(plan)
			if err := e.runner.Run(context.Background(), key); err != nil {
				t.Fatal(err)
			}
			n := writes(plan) - before
			if n < rows {
				t.Fatalf("%d store writes for %d rows", n, rows)
			}
			retried, hit := 0, 0
			for k := 1; k <= n; k++ {
				e, plan, key := start()
				plan.Add(faults.Rule{Methods: faults.StoreWrites(), Skip: k - 1, Times: 1, Err: faults.Throttling("DynamoDB", "UpdateItem")})
				first := e.runner.Run(context.Background(), key)
				failed := plan.Failures()
				plan.Clear()
				hit += len(failed)
				if first != nil {
					retried++
					if err := e.runner.Run(context.Background(), key); err != nil { // the event's retry
						t.Fatalf("write %d of %d (%v) failing: the retry: %v", k, n, failed, err)
					}
				}
				jobs, _, err := e.jobs.List(context.Background(), e.owner, "")
				if err != nil || len(jobs) != 1 {
					t.Fatalf("jobs %v %v", jobs, err)
				}
				j := jobs[0]
				if j.State != bulk.StateSucceeded || j.Updated != rows || j.Notified != rows {
					t.Fatalf("write %d of %d (%v) failing (run: %v): job %+v", k, n, failed, first, j)
				}
				for i := range rows {
					id := fmt.Sprintf("user%03d@example.com", i)
					a, err := account.FindAccount(context.Background(), e.store, id)
					if err != nil {
						t.Fatal(err)
					}
					if ok, _, _ := password.Verify(fastHash, a.PasswordHash, fmt.Sprintf("Shin-Pass-%03d-Ok!", i)); !ok {
						t.Fatalf("write %d of %d (%v) failing: %s keeps its old password", k, n, failed, id)
					}
					notices := 0
					for _, m := range e.mailbox.Messages(id) {
						if strings.Contains(m.Subject, "パスワードが変更されました") {
							notices++
						}
					}
					if notices != 1 {
						t.Fatalf("write %d of %d (%v) failing: %s got %d notices", k, n, failed, id, notices)
					}
				}
			}
			// The runner tries a row again itself: a single throttled write seldom fails the run.
			t.Logf("%d writes, %d faults hit; %d failed the run, which the event's retry completed", n, hit, retried)
			if hit != n {
				t.Fatalf("%d of %d faults hit a write", hit, n)
			}
		})
	}
}
