package bulk

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/kagiya/kagiya/shared/account"
)

// Fanning out: once a file has passed validation, its apply pass is cut into parts of
// ChunkRows rows (by their order in the file, so every reading cuts the same way) and
// each part runs on its own, in as many invocations at once as the queue allows (SQS and
// the bulk function in AWS; a worker pool in the local server). A part is idempotent: its
// rows carry their markers, so a redelivered part writes nothing twice, and its figures
// join the job in one conditional update that also sets its bit, so they count once. The
// update that sets the last bit closes the job (one closer: the job's version decides)
// and the run that made it goes on to the emails and the summary, as a single run does.

// DefaultChunkRows is how many rows one part holds: at about 35 rows a second per
// invocation (argon2id on the bulk function's cores, two per row), a part takes about
// 15 seconds, far inside the function's time, and a redelivery repeats little.
const DefaultChunkRows = 500

// Fanout queues parts of a job to run in parallel.
type Fanout interface {
	// Apply runs the parts numbered chunks of the job whose upload is at key, each
	// through Runner.RunChunk, retried when it fails; a part that fails every retry ends
	// the job through Runner.Fail.
	Apply(ctx context.Context, key string, chunks []int) error
}

func (r *Runner) chunkRows() int {
	if r.ChunkRows > 0 {
		return r.ChunkRows
	}
	return DefaultChunkRows
}

// fanOut cuts a validated job into parts (once) and queues every part not yet applied.
// The run lets the job go first (its lease), so the part that closes the job can take it
// for the emails and the summary however soon that is.
func (r *Runner) fanOut(ctx context.Context, job *Job, log *slog.Logger) error {
	if job.Chunks == 0 {
		job.ChunkRows = r.chunkRows()
		job.Chunks = (job.Rows + job.ChunkRows - 1) / job.ChunkRows
		job.ChunkDone = make([]byte, (job.Chunks+7)/8)
	}
	job.LeaseUntil = time.Time{}
	saved, err := r.Jobs.UpdateJob(ctx, *job)
	if err != nil {
		return fmt.Errorf("fan out: %w", err)
	}
	*job = saved
	var todo []int
	for i := range job.Chunks {
		if !job.chunkDone(i) {
			todo = append(todo, i)
		}
	}
	if err := r.Fanout.Apply(ctx, job.Key, todo); err != nil {
		return fmt.Errorf("fan out: %w", err) // the event is retried: the parts not yet counted are queued again
	}
	log.InfoContext(ctx, "bulk: fanned out", "chunks", job.Chunks, "queued", len(todo))
	return nil
}

func (j *Job) chunkDone(i int) bool {
	return i/8 < len(j.ChunkDone) && j.ChunkDone[i/8]&(1<<(i%8)) != 0
}

// RunChunk applies part chunk of the job whose upload is at eventKey. An error means the
// part should run again (every row it applied stays applied, and is not applied twice).
func (r *Runner) RunChunk(ctx context.Context, eventKey string, chunk int) error {
	tenantID, jobID, key, err := ParseKey(eventKey)
	if err != nil {
		r.Log.WarnContext(ctx, "bulk: a part of something that is not an upload", "err", err)
		return nil
	}
	job, err := r.Jobs.GetJob(ctx, tenantID, jobID)
	if errors.Is(err, account.ErrNotFound) || err == nil && job.Key != key {
		return nil
	} else if err != nil {
		return fmt.Errorf("bulk part: %w", err)
	}
	switch {
	case job.Done() || job.State != StateApplying:
		return nil
	case job.Notifying:
		return r.finishParts(ctx, eventKey) // closed: the closer's run may not have finished it
	case chunk < 0 || chunk >= job.Chunks || job.chunkDone(chunk):
		return nil // counted already
	}
	bc, err := r.Accounts.BulkPartContext(ctx, job.TenantID, job.OwnerID)
	if err != nil {
		return err
	}
	part, err := r.applyChunk(ctx, &job, bc, chunk)
	if err != nil {
		return err
	}
	closed, err := r.countChunk(ctx, job, chunk, part)
	if err != nil || !closed {
		return err
	}
	r.Log.InfoContext(ctx, "bulk: every part applied", "job", job.ID, "tenant", job.TenantID, "chunks", job.Chunks)
	return r.finishParts(ctx, eventKey)
}

// finishParts runs a closed job's emails and summary as a single run does. Another run
// holding the job is finishing it already (and its own event is retried if it fails).
func (r *Runner) finishParts(ctx context.Context, eventKey string) error {
	if err := r.Run(ctx, eventKey); !errors.Is(err, ErrBusy) {
		return err
	}
	return nil
}

// applyChunk applies the rows of part chunk on the runner's workers and returns their
// figures (on a zero Job that holds only counts).
func (r *Runner) applyChunk(ctx context.Context, job *Job, bc account.BulkContext, chunk int) (Job, error) {
	f, rd, err := r.reopen(ctx, job)
	if err != nil {
		return Job{}, err
	}
	defer f.Close()
	from, to := chunk*job.ChunkRows, (chunk+1)*job.ChunkRows
	var changes []account.BulkChange
	for i := 0; i < to; i++ {
		row, _, err := rd.Next()
		if errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return Job{}, err
		}
		if i < from || row.Broken || row.Line <= job.AppliedThrough {
			continue
		}
		c, ok, err := change(job, bc, row)
		if err != nil {
			return Job{}, err
		} else if ok {
			changes = append(changes, c)
		}
	}
	outcomes := make([]string, len(changes))
	work := make(chan int)
	errs := make(chan error, 1)
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	for range r.workers() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				o, err := r.applyWithRetry(runCtx, changes[i])
				if err != nil {
					select {
					case errs <- err:
					default:
					}
					cancel()
					continue
				}
				outcomes[i] = o
			}
		}()
	}
feed:
	for i := range changes {
		select {
		case work <- i:
		case <-runCtx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()
	select {
	case err := <-errs:
		return Job{}, err
	default:
	}
	if err := ctx.Err(); err != nil {
		return Job{}, err
	}
	part := Job{Mode: job.Mode}
	for i, c := range changes {
		part.count(outcomes[i], c.LoginID, c.PasswordHash != "", c.Invite)
	}
	return part, nil
}

// countChunk adds a part's figures to the job and sets its bit, in one conditional
// update (again on a lost race), unless the bit is set already. It reports whether this
// update closed the job: every part counted.
func (r *Runner) countChunk(ctx context.Context, job Job, chunk int, part Job) (bool, error) {
	for attempt := 0; ; attempt++ {
		if job.chunkDone(chunk) || job.Done() || job.Notifying {
			return false, nil
		}
		next := job
		next.ChunkDone = append([]byte(nil), job.ChunkDone...)
		next.ChunkDone[chunk/8] |= 1 << (chunk % 8)
		next.ChunksDone++
		next.Updated += part.Updated
		next.Created += part.Created
		next.Invited += part.Invited
		next.Imported += part.Imported
		next.Applied += part.Applied
		next.RefusedTotal += part.RefusedTotal
		next.Refused = append(append([]string(nil), job.Refused...), part.Refused...)[:min(len(job.Refused)+len(part.Refused), MaxSkipped)]
		closing := next.ChunksDone == next.Chunks
		next.Notifying = closing
		_, err := r.Jobs.UpdateJob(ctx, next)
		if err == nil {
			return closing, nil
		}
		if !errors.Is(err, account.ErrConflict) || attempt == 50 {
			return false, fmt.Errorf("count part: %w", err)
		}
		if job, err = r.Jobs.GetJob(ctx, job.TenantID, job.ID); err != nil {
			return false, fmt.Errorf("count part: %w", err)
		}
	}
}
