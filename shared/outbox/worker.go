package outbox

import (
	"context"
	"sync"
	"time"
)

// Store is the local server's queue: items kept in the embedded store until delivered.
type Store interface {
	Queue
	// DueMail returns up to limit items whose NotBefore has come by now, oldest first,
	// and when the earliest of the others is due (zero if there is none).
	DueMail(ctx context.Context, now time.Time, limit int) ([]Item, time.Time, error)
	// RetryMail stores it's Attempts and NotBefore.
	RetryMail(ctx context.Context, it Item) error
	// RemoveMail removes the item with id (delivered or given up).
	RemoveMail(ctx context.Context, id string) error
}

// LocalRetryDelay is how long the local worker waits before the next send of a message
// whose send failed attempts times: 1, 2, 4, then 8 seconds, so a failed send is retried
// within 10 seconds (docs/api.md).
func LocalRetryDelay(attempts int) time.Duration {
	if attempts < 1 {
		attempts = 1
	}
	if attempts > 4 {
		return 8 * time.Second
	}
	return time.Second << (attempts - 1)
}

// Worker is the local server's sender: it delivers each queued item, retrying failed
// sends, one at a time. It is at least once: an item leaves the queue only after its
// send succeeded, so a server that stops between the two sends it again at its next
// start (a duplicate is harmless, a lost unlock link is not).
type Worker struct {
	store   Store
	deliver *Deliverer
	wake    chan struct{}

	mu                sync.Mutex
	started, finished int           // passes over the queue
	passed            chan struct{} // closed when a pass finishes
}

// NewWorker returns a worker that delivers store's items through d.
func NewWorker(store Store, d *Deliverer) *Worker {
	return &Worker{store: store, deliver: d, wake: make(chan struct{}, 1), passed: make(chan struct{})}
}

// Flush returns once the worker has tried to send every item that was due when it was
// called (delivered, or failed and scheduled again), or when ctx ends: the dev
// mailbox's reader sees what the requests before it mailed.
func (w *Worker) Flush(ctx context.Context) error {
	w.mu.Lock()
	after := w.started // a pass that starts later sees every item queued by now
	w.mu.Unlock()
	w.Wake()
	for {
		w.mu.Lock()
		done, passed := w.finished > after, w.passed
		w.mu.Unlock()
		if done {
			return nil
		}
		select {
		case <-passed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Wake tells the worker that an item is waiting (the Outbox calls it after an enqueue).
func (w *Worker) Wake() {
	select {
	case w.wake <- struct{}{}:
	default: // a wake-up is pending already
	}
}

// batch is how many items the worker reads at a time.
const batch = 16

// Run delivers until ctx ends, starting with what an earlier run left in the queue.
func (w *Worker) Run(ctx context.Context) {
	for {
		next := w.drain(ctx)
		var due <-chan time.Time
		var timer *time.Timer
		if !next.IsZero() {
			timer = time.NewTimer(next.Sub(w.deliver.Now()))
			due = timer.C
		}
		select {
		case <-ctx.Done():
		case <-w.wake:
		case <-due:
		}
		if timer != nil {
			timer.Stop()
		}
		if ctx.Err() != nil {
			return
		}
	}
}

// drain sends every item that is due and returns when the next one is (zero: none).
// A store that fails is tried again a second later, never in a busy loop.
func (w *Worker) drain(ctx context.Context) time.Time {
	w.mu.Lock()
	w.started++
	w.mu.Unlock()
	defer func() {
		w.mu.Lock()
		w.finished++
		close(w.passed)
		w.passed = make(chan struct{})
		w.mu.Unlock()
	}()
	for ctx.Err() == nil {
		now := w.deliver.Now()
		items, next, err := w.store.DueMail(ctx, now, batch)
		if err != nil {
			w.deliver.Log.ErrorContext(ctx, "outbox: read the queue", "err", err)
			return now.Add(time.Second)
		}
		if len(items) == 0 {
			return next
		}
		for _, it := range items {
			if err := w.one(ctx, it); err != nil {
				w.deliver.Log.ErrorContext(ctx, "outbox: update the queue", "id", it.ID, "err", err)
				return now.Add(time.Second)
			}
		}
	}
	return time.Time{}
}

// one delivers it, or schedules its retry, or gives it up; the error is the queue's.
func (w *Worker) one(ctx context.Context, it Item) error {
	err := w.deliver.Deliver(ctx, it)
	if err == nil {
		return w.store.RemoveMail(ctx, it.ID)
	}
	now := w.deliver.Now().UTC()
	it.Attempts++
	if Permanent(err) || now.Sub(it.Enqueued) >= MaxAge {
		w.deliver.GiveUp(ctx, it, err)
		return w.store.RemoveMail(ctx, it.ID)
	}
	it.NotBefore = now.Add(LocalRetryDelay(it.Attempts))
	w.deliver.Log.WarnContext(ctx, "mail not sent: will retry", "id", it.ID, "kind", it.Meta.Kind, "attempts", it.Attempts,
		"retry_at", it.NotBefore, "err", err)
	return w.store.RetryMail(ctx, it)
}
