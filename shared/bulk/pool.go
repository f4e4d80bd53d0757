package bulk

import (
	"context"
	"strconv"
	"time"
)

// Pool is the Fanout of the local server: parts run on a few goroutines as SQS and the
// bulk function run them in AWS, each retried with backoff when it fails, and a part that
// fails every attempt fails its job.
type Pool struct {
	runner   *Runner
	parts    chan part
	ctx      context.Context
	attempts int
	backoff  time.Duration
}

type part struct {
	key   string
	chunk int
}

// NewPool starts workers that run parts with runner until ctx ends. A part is tried
// attempts times, waiting backoff after the first failure and twice as long after each
// further one.
func NewPool(ctx context.Context, runner *Runner, workers, attempts int, backoff time.Duration) *Pool {
	p := &Pool{runner: runner, parts: make(chan part), ctx: ctx, attempts: attempts, backoff: backoff}
	for range workers {
		go p.work()
	}
	return p
}

// Apply queues the parts and returns at once: a part that closes the job must find it
// free, so the run that fans out may not wait for its parts.
func (p *Pool) Apply(_ context.Context, key string, chunks []int) error {
	go func() {
		for _, c := range chunks {
			select {
			case p.parts <- part{key, c}:
			case <-p.ctx.Done():
				return
			}
		}
	}()
	return nil
}

func (p *Pool) work() {
	for {
		select {
		case <-p.ctx.Done():
			return
		case pt := <-p.parts:
			p.run(pt)
		}
	}
}

func (p *Pool) run(pt part) {
	delay := p.backoff
	for attempt := 1; ; attempt++ {
		err := p.runner.RunChunk(p.ctx, pt.key, pt.chunk)
		if err == nil || p.ctx.Err() != nil {
			return
		}
		p.runner.Log.ErrorContext(p.ctx, "bulk: a part failed", "chunk", pt.chunk, "attempt", attempt, "err", err)
		if attempt == p.attempts {
			if err := p.runner.Fail(p.ctx, pt.key, "part "+strconv.Itoa(pt.chunk+1)+" failed "+strconv.Itoa(attempt)+" times"); err != nil {
				p.runner.Log.ErrorContext(p.ctx, "bulk: the job could not be ended as failed", "err", err)
			}
			return
		}
		select {
		case <-time.After(delay):
			delay *= 2
		case <-p.ctx.Done():
			return
		}
	}
}
