package bulk_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kagiya/kagiya/shared/account"
	"github.com/kagiya/kagiya/shared/bulk"
)

// queue stands in for the apply queue and the bulk function's invocations: parts are
// delivered to `invocations` goroutines at once, a part whose run fails is delivered
// again (up to maxReceive times, then to the failed-run path: Runner.Fail), and every
// part is delivered a second time on purpose, as SQS may.
type queue struct {
	runner     *bulk.Runner
	maxReceive int
	once       bool                                      // deliver each part once (no duplicate on purpose)
	kill       func(chunk, delivery int) context.Context // a delivery's context; nil: the test's

	mu       sync.Mutex
	pending  []delivery
	inFlight int
	cond     *sync.Cond
	received map[int]int
}

type delivery struct {
	key   string
	chunk int
}

func newQueue(r *bulk.Runner, maxReceive int) *queue {
	q := &queue{runner: r, maxReceive: maxReceive, received: map[int]int{}}
	q.cond = sync.NewCond(&q.mu)
	return q
}

func (q *queue) Apply(_ context.Context, key string, chunks []int) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, c := range chunks {
		q.pending = append(q.pending, delivery{key, c})
		if !q.once {
			q.pending = append(q.pending, delivery{key, c}) // and its duplicate
		}
	}
	q.cond.Broadcast()
	return nil
}

// drain runs invocations until the queue is empty and nothing is in flight.
func (q *queue) drain(t testing.TB, invocations int) {
	var wg sync.WaitGroup
	for range invocations {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				q.mu.Lock()
				for len(q.pending) == 0 && q.inFlight > 0 {
					q.cond.Wait()
				}
				if len(q.pending) == 0 {
					q.mu.Unlock()
					return
				}
				d := q.pending[0]
				q.pending = q.pending[1:]
				q.inFlight++
				q.received[d.chunk]++
				n := q.received[d.chunk]
				q.mu.Unlock()

				ctx := context.Background()
				if q.kill != nil {
					if k := q.kill(d.chunk, n); k != nil {
						ctx = k
					}
				}
				err := q.runner.RunChunk(ctx, d.key, d.chunk)
				q.mu.Lock()
				switch {
				case err == nil:
				case n < q.maxReceive:
					q.pending = append(q.pending, d)
				default:
					q.mu.Unlock()
					if err := q.runner.Fail(context.Background(), d.key, fmt.Sprintf("part %d failed every retry", d.chunk+1)); err != nil {
						t.Error(err)
					}
					q.mu.Lock()
				}
				q.inFlight--
				q.cond.Broadcast()
				q.mu.Unlock()
			}
		}()
	}
	wg.Wait()
}

// accountsHook lets a test act on a row as it is applied.
type accountsHook struct {
	bulk.Accounts
	apply func(ctx context.Context, c account.BulkChange) error
}

func (a accountsHook) ApplyBulkChange(ctx context.Context, c account.BulkChange) (string, error) {
	if err := a.apply(ctx, c); err != nil {
		return "", err
	}
	return a.Accounts.ApplyBulkChange(ctx, c)
}

// A job of 210 rows in parts of 20, four invocations at once, every part delivered
// twice, and one delivery killed halfway: every row is applied once, every figure is
// exact, one run closes the job, and each person gets one email.
func TestFannedOutJobAppliesEveryRowOnce(t *testing.T) {
	for name, nb := range backends(t) {
		t.Run(name, func(t *testing.T) {
			const rows = 210
			e := newEnv(t, nb, rows)
			killed := map[string]context.CancelFunc{}
			var mu sync.Mutex
			e.runner.Accounts = accountsHook{Accounts: e.svc.Bulk, apply: func(ctx context.Context, c account.BulkChange) error {
				mu.Lock()
				defer mu.Unlock()
				if cancel, ok := killed["armed"]; ok && c.Line == 2+3*20+5 { // row 65: part 4
					delete(killed, "armed")
					cancel() // the invocation dies after this row
				}
				return ctx.Err()
			}}
			q := newQueue(e.runner, 5)
			q.kill = func(chunk, n int) context.Context {
				if chunk != 3 || n != 1 {
					return nil
				}
				ctx, cancel := context.WithCancel(context.Background())
				mu.Lock()
				killed["armed"] = cancel
				mu.Unlock()
				return ctx
			}
			e.runner.Fanout, e.runner.ChunkRows, e.runner.Workers = q, 20, 2
			job, key := e.upload(t, "big.csv", "update", false, file(rows, -1))
			if err := e.runner.Run(context.Background(), key); err != nil {
				t.Fatal(err)
			}
			q.drain(t, 4)
			j := e.job(t, job.ID)
			if j.State != bulk.StateSucceeded || j.Updated != rows || j.Applied != rows || j.Chunks != 11 || j.ChunksDone != 11 || j.Notified != rows {
				t.Fatalf("job %+v", j)
			}
			if q.received[3] < 3 {
				t.Fatalf("part 4 was delivered %d times; the killed delivery was not retried", q.received[3])
			}
			for i := range rows {
				id := fmt.Sprintf("user%03d@example.com", i)
				a, _ := account.FindAccount(context.Background(), e.store, id)
				if a.QuotaGB != 20 || a.Version != 2 {
					t.Fatalf("%s: quota %d version %d (applied more or less than once)", id, a.QuotaGB, a.Version)
				}
				if m := e.mailbox.Messages(id); len(m) != 1 {
					t.Fatalf("%s got %d emails", id, len(m))
				}
			}
			summaries := 0
			for _, m := range e.mailbox.Messages("owner@example.com") {
				if strings.Contains(m.Subject, "big.csv") || strings.Contains(m.Text, "big.csv") {
					summaries++
				}
			}
			if summaries != 1 {
				t.Fatalf("%d summaries (one closer expected)", summaries)
			}
		})
	}
}

// A part whose rows fail every delivery ends the job as failed, with the figures of the
// parts that were counted: never silently partial.
func TestAFailingPartFailsTheJob(t *testing.T) {
	for name, nb := range backends(t) {
		t.Run(name, func(t *testing.T) {
			const rows = 200
			e := newEnv(t, nb, rows)
			e.runner.Accounts = accountsHook{Accounts: e.svc.Bulk, apply: func(_ context.Context, c account.BulkChange) error {
				if c.Line == 2+6*20+3 { // part 7
					return errors.New("ValidationException: item too large")
				}
				return nil
			}}
			q := newQueue(e.runner, 3)
			e.runner.Fanout, e.runner.ChunkRows, e.runner.Workers = q, 20, 2
			job, key := e.upload(t, "bad-part.csv", "update", false, file(rows, -1))
			if err := e.runner.Run(context.Background(), key); err != nil {
				t.Fatal(err)
			}
			q.drain(t, 4)
			j := e.job(t, job.ID)
			if j.State != bulk.StateFailed || !strings.Contains(j.FailureReason, "part 7") || j.ChunksDone >= j.Chunks || j.Applied != 20*j.ChunksDone || j.Updated != j.Applied {
				t.Fatalf("job %+v", j)
			}
		})
	}
}

// countingJobs counts the job item's reads and writes: the coordination a part costs.
type countingJobs struct {
	store
	gets, updates atomic.Int64
}

func (c *countingJobs) GetJob(ctx context.Context, tenantID, id string) (bulk.Job, error) {
	c.gets.Add(1)
	return c.store.GetJob(ctx, tenantID, id)
}

func (c *countingJobs) UpdateJob(ctx context.Context, j bulk.Job) (bulk.Job, error) {
	c.updates.Add(1)
	return c.store.UpdateJob(ctx, j)
}

// BenchmarkFanOut applies the same 320-row job in 16 parts with 1, 2, 4, 8 and 16
// simulated invocations. The hash is replaced by a fixed-cost stand-in that waits 10 ms
// a row instead of computing (each Lambda invocation has its own cores; one machine's two
// cannot show that), so the wall time shows how the work spreads and what coordinating
// it costs: job-item reads and writes and queue messages per part.
func BenchmarkFanOut(b *testing.B) {
	const rows, parts = 320, 16
	for _, inv := range []int{1, 2, 4, 8, 16} {
		b.Run(fmt.Sprintf("invocations=%d", inv), func(b *testing.B) {
			var gets, updates, messages int64
			for b.Loop() {
				b.StopTimer()
				e := newEnv(b, backends(b)["bbolt"], rows)
				jobs := &countingJobs{store: e.store}
				e.runner.Jobs = jobs
				e.runner.Accounts = accountsHook{Accounts: e.svc.Bulk, apply: func(ctx context.Context, _ account.BulkChange) error {
					select {
					case <-time.After(10 * time.Millisecond): // the stand-in for one row's hash
						return nil
					case <-ctx.Done():
						return ctx.Err()
					}
				}}
				q := newQueue(e.runner, 5)
				q.once = true
				e.runner.Fanout, e.runner.ChunkRows, e.runner.Workers = q, rows/parts, 1
				_, key := e.upload(b, "bench.csv", "update", false, file(rows, -1))
				jobs.gets.Store(0)
				jobs.updates.Store(0)
				b.StartTimer()
				if err := e.runner.Run(context.Background(), key); err != nil {
					b.Fatal(err)
				}
				q.drain(b, inv)
				b.StopTimer()
				gets += jobs.gets.Load()
				updates += jobs.updates.Load()
				for _, n := range q.received {
					messages += int64(n)
				}
				b.StartTimer()
			}
			n := float64(b.N) * parts
			b.ReportMetric(float64(gets)/n, "job-reads/part")
			b.ReportMetric(float64(updates)/n, "job-writes/part")
			b.ReportMetric(float64(messages)/n, "messages/part")
		})
	}
}
