package bulk

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/kagiya/kagiya/shared/account"
	"github.com/kagiya/kagiya/shared/password"
	"github.com/kagiya/kagiya/shared/policy"
)

// Accounts is what a run needs from the account service.
type Accounts interface {
	BulkContext(ctx context.Context, tenantID, actorID string) (account.BulkContext, error)
	// BulkPartContext is BulkContext without Existing (the tenant's accounts).
	BulkPartContext(ctx context.Context, tenantID, actorID string) (account.BulkContext, error)
	// DomainHeldElsewhere reports whether a tenant other than tenantID verified domain.
	DomainHeldElsewhere(ctx context.Context, tenantID, domain string) (bool, error)
	ApplyBulkChange(ctx context.Context, c account.BulkChange) (string, error)
	// NotifyBulkPasswordChange mails "your password was changed" to the account with
	// loginID if this job's row (marker) is what last changed it; it reports whether it did.
	NotifyBulkPasswordChange(ctx context.Context, tenantID, loginID, marker string) (bool, error)
	BulkFinished(ctx context.Context, sum account.BulkSummary)
}

// Continuer hands the rest of a job to a later invocation (an SQS message in AWS).
type Continuer interface {
	// Continue runs the job of key again in a later invocation, no sooner than after.
	Continue(ctx context.Context, key string, after time.Duration) error
}

// MaxRunningPerTenant is how many of one tenant's jobs run at once where runs can wait
// (in AWS): a further job waits its turn, so no tenant takes every bulk slot.
const MaxRunningPerTenant = 2

// SlotWait is how long a job that found its tenant's slots taken waits before it asks
// again.
const SlotWait = time.Minute

// Runner processes uploaded files: the bulk function's core, the same in Lambda and in
// the local server.
type Runner struct {
	Jobs     JobStore
	Files    Files
	Accounts Accounts
	Continue Continuer // nil: never hand over (the local server has no time limit)
	Now      func() time.Time
	Log      *slog.Logger
	Workers  int           // rows hashed and written in parallel; 0: two per core, so writes overlap hashing
	Lease    time.Duration // how long a run holds a job between heartbeats; 0: 2 minutes
	Reserve  time.Duration // time before the deadline to stop and hand over; 0: 1 minute
	// Fanout, if set, applies a validated job in parts run in parallel (fanout.go);
	// nil: one run applies it all, handing over near its deadline.
	Fanout    Fanout
	ChunkRows int // rows in a part; 0: DefaultChunkRows
}

// ErrBusy says another run holds the job; the event should be retried later.
var ErrBusy = errors.New("bulk job is being processed by another run")

// Run processes the upload at key (as the S3 event gives it). It is idempotent: a job
// that has ended is left alone, and rows applied by an earlier run are not applied again.
func (r *Runner) Run(ctx context.Context, eventKey string) error {
	tenantID, jobID, key, err := ParseKey(eventKey)
	if err != nil {
		r.Log.WarnContext(ctx, "bulk: not an upload", "err", err)
		return nil
	}
	job, err := r.Jobs.GetJob(ctx, tenantID, jobID)
	if errors.Is(err, account.ErrNotFound) || err == nil && job.Key != key {
		r.Log.WarnContext(ctx, "bulk: upload without its job", "tenant", tenantID, "job", jobID)
		return nil
	} else if err != nil {
		return fmt.Errorf("bulk: %w", err)
	}
	if r.Continue != nil && !job.Done() && job.LeaseUntil.IsZero() && job.State != StateApplying {
		// A job that has not begun waits while its tenant's slots are taken.
		busy, err := r.tenantBusy(ctx, job)
		if err != nil {
			return err
		}
		if busy {
			r.Log.InfoContext(ctx, "bulk: the tenant's slots are taken; the job waits", "job", job.ID, "tenant", job.TenantID)
			if err := r.Continue.Continue(ctx, job.Key, SlotWait); err != nil {
				return fmt.Errorf("wait for a slot: %w", err)
			}
			return nil
		}
	}
	if job, err = r.claim(ctx, job); err != nil || job.Done() {
		return err
	}
	log := r.Log.With("job", job.ID, "tenant", job.TenantID)
	err = r.process(ctx, &job, log)
	if err != nil && !errors.Is(err, errHandedOver) {
		// Let a retry of the event resume at once rather than after the lease.
		job.LeaseUntil = time.Time{}
		if saved, serr := r.Jobs.UpdateJob(context.WithoutCancel(ctx), job); serr == nil {
			job = saved
		}
		log.ErrorContext(ctx, "bulk: run failed; a retry resumes it", "err", err, "applied_through", job.AppliedThrough)
		return err
	}
	return nil
}

// Fail ends the job of the upload at key as failed, with reason, unless it has ended
// already: the run gave up (Lambda's retries of its event are used up), so the job must
// not sit in validating or applying forever. Rows applied so far stay applied; the
// administrator gets the summary email.
func (r *Runner) Fail(ctx context.Context, eventKey, reason string) error {
	tenantID, jobID, key, err := ParseKey(eventKey)
	if err != nil {
		r.Log.WarnContext(ctx, "bulk: failure of something that is not an upload", "err", err)
		return nil
	}
	for attempt := 0; ; attempt++ {
		job, err := r.Jobs.GetJob(ctx, tenantID, jobID)
		if errors.Is(err, account.ErrNotFound) || err == nil && (job.Key != key || job.Done()) {
			return nil
		} else if err != nil {
			return fmt.Errorf("bulk fail: %w", err)
		}
		if len(reason) > 500 {
			reason = reason[:500]
		}
		job.State, job.FinishedAt, job.FailureReason, job.LeaseUntil = StateFailed, r.Now().UTC(), reason, time.Time{}
		saved, err := r.Jobs.UpdateJob(ctx, job)
		if err == nil {
			r.Log.ErrorContext(ctx, "bulk: job failed", "job", job.ID, "tenant", job.TenantID, "reason", reason)
			r.finish(ctx, &saved)
			return nil
		}
		if !errors.Is(err, account.ErrConflict) || attempt == 3 {
			return fmt.Errorf("bulk fail: %w", err)
		}
	}
}

// tenantBusy reports whether MaxRunningPerTenant other jobs of job's tenant are running
// (holding a live lease) among its recent ones.
func (r *Runner) tenantBusy(ctx context.Context, job Job) (bool, error) {
	recent, _, err := r.Jobs.ListJobs(ctx, job.TenantID, "", 50)
	if err != nil {
		return false, fmt.Errorf("bulk slots: %w", err)
	}
	now, running := r.Now(), 0
	for _, other := range recent {
		if other.ID != job.ID && !other.Done() && now.Before(other.LeaseUntil) {
			running++
		}
	}
	return running >= MaxRunningPerTenant, nil
}

func (r *Runner) lease() time.Duration {
	if r.Lease > 0 {
		return r.Lease
	}
	return 2 * time.Minute
}

// claim takes the job for this run, unless it has ended or another run holds it.
func (r *Runner) claim(ctx context.Context, job Job) (Job, error) {
	for attempt := 0; ; attempt++ {
		if job.Done() {
			return job, nil
		}
		now := r.Now()
		if now.Before(job.LeaseUntil) {
			return job, ErrBusy
		}
		next := job
		next.LeaseUntil = now.Add(r.lease())
		if next.State == StateWaitingUpload {
			next.State = StateValidating
		}
		saved, err := r.Jobs.UpdateJob(ctx, next)
		if err == nil {
			return saved, nil
		}
		if !errors.Is(err, account.ErrConflict) || attempt == 3 {
			return job, fmt.Errorf("claim job: %w", err)
		}
		if job, err = r.Jobs.GetJob(ctx, job.TenantID, job.ID); err != nil {
			return job, fmt.Errorf("claim job: %w", err)
		}
	}
}

// save writes the job (renewing the lease); the job must still be this run's.
func (r *Runner) save(ctx context.Context, job *Job) error {
	job.LeaseUntil = r.Now().Add(r.lease())
	saved, err := r.Jobs.UpdateJob(ctx, *job)
	if err != nil {
		return fmt.Errorf("save job: %w", err)
	}
	*job = saved
	return nil
}

var errHandedOver = errors.New("handed over")

func (r *Runner) process(ctx context.Context, job *Job, log *slog.Logger) error {
	bc, err := r.Accounts.BulkContext(ctx, job.TenantID, job.OwnerID)
	if err != nil {
		return err
	}
	if job.State == StateValidating {
		if err := r.validate(ctx, job, bc); err != nil {
			return err
		}
		if job.State == StateRejected {
			log.InfoContext(ctx, "bulk: rejected", "errors", job.ErrorsTotal)
			r.finish(ctx, job)
			return nil
		}
	}
	if !job.Notifying {
		if r.Fanout != nil && (job.Chunks > 0 || job.Rows > r.chunkRows()) {
			return r.fanOut(ctx, job, log) // the parts apply the rows and close the job
		}
		if err := r.apply(ctx, job, bc, log); err != nil {
			return err
		}
		job.Notifying = true
		if err := r.save(ctx, job); err != nil {
			return err
		}
	}
	if err := r.notify(ctx, job, bc.Tenant.Domains, log); err != nil {
		return err
	}
	job.State, job.FinishedAt = StateSucceeded, r.Now().UTC()
	if err := r.save(ctx, job); err != nil {
		return err
	}
	log.InfoContext(ctx, "bulk: succeeded", "rows", job.Rows, "updated", job.Updated, "created", job.Created)
	r.finish(ctx, job)
	return nil
}

func (r *Runner) rules(job *Job, bc account.BulkContext) Rules {
	p, ok := policy.Get(bc.Settings.Effective().PolicyPreset)
	if !ok {
		p, _ = policy.Get(account.DefaultPolicyPreset)
	}
	return Rules{Mode: job.Mode, Domains: bc.Tenant.Domains, Preset: p, ActorRole: bc.ActorRole, ActorKey: bc.ActorKey, Existing: bc.Existing,
		AllowWeakHashes: job.AllowWeakHashes, Invite: job.Invite, IdPDomains: bc.IdPDomains}
}

func (r *Runner) validate(ctx context.Context, job *Job, bc account.BulkContext) error {
	rules := r.rules(job, bc)
	held, heldErr := map[string]bool{}, error(nil)
	rules.HeldElsewhere = func(domain string) bool {
		if v, ok := held[domain]; ok || heldErr != nil {
			return v
		}
		held[domain], heldErr = r.Accounts.DomainHeldElsewhere(ctx, job.TenantID, domain)
		return held[domain]
	}
	upload := func(ctx context.Context) (io.ReadCloser, error) { return r.Files.Open(ctx, job.Key) }
	res, err := Validate(ctx, upload, rules)
	if err == nil {
		err = heldErr
	}
	if err != nil {
		return fmt.Errorf("validate: %w", err)
	}
	job.Encoding, job.Rows, job.ToApply = res.Encoding, res.Rows, res.ToApply
	job.Skipped, job.SkippedTotal = append([]string{}, res.Skipped...), res.SkippedTotal
	job.Errors, job.ErrorsTotal = append([]Problem{}, res.Problems...), res.ProblemsTotal
	for i := range job.Errors {
		job.Errors[i].Message = problemMessage(job.Errors[i])
	}
	if res.ProblemsTotal > 0 {
		job.State, job.FinishedAt = StateRejected, r.Now().UTC()
	} else {
		job.State = StateApplying
	}
	return r.save(ctx, job)
}

// apply streams the file again and applies its rows on all cores, saving progress as
// it goes. It resumes after the last line an earlier run saved as applied.
func (r *Runner) apply(ctx context.Context, job *Job, bc account.BulkContext, log *slog.Logger) error {
	f, rd, err := r.reopen(ctx, job)
	if err != nil {
		return err
	}
	defer f.Close()
	workers := r.workers()
	type result struct {
		line    int
		loginID string
		outcome string
		hashed  bool // the row brought an imported hash
		invited bool // the row's account was invited
		err     error
	}
	work := make(chan account.BulkChange)
	results := make(chan result)
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	for range workers {
		go func() {
			for c := range work {
				outcome, err := r.applyWithRetry(runCtx, c)
				results <- result{c.Line, c.LoginID, outcome, c.PasswordHash != "", c.Invite, err}
			}
		}()
	}

	// The feeder sends rows in file order; pending tracks lines sent but not finished, so
	// AppliedThrough only ever covers lines whose every predecessor is done, and the counts
	// move with it: a saved job never counts a row that a resumed run will see again.
	var pending []int
	finished := map[int]result{}
	inFlight := 0
	var firstErr error
	lastSave := r.Now()
	handOver := false
	advance := func() {
		for len(pending) > 0 {
			res, done := finished[pending[0]]
			if !done {
				return
			}
			job.count(res.outcome, res.loginID, res.hashed, res.invited)
			job.AppliedThrough = pending[0]
			delete(finished, pending[0])
			pending = pending[1:]
		}
	}
	record := func(res result) {
		inFlight--
		if res.err != nil {
			if firstErr == nil {
				firstErr = res.err
				cancel()
			}
			return
		}
		finished[res.line] = res
		advance()
	}
	nearDeadline := func() bool {
		d, ok := ctx.Deadline()
		return ok && r.Continue != nil && time.Until(d) < r.reserve()
	}
	for firstErr == nil {
		row, _, err := rd.Next()
		if errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			firstErr = err
			break
		}
		if row.Line <= job.AppliedThrough || row.Broken {
			continue
		}
		c, ok, err := change(job, bc, row)
		if err != nil {
			firstErr = err
			break
		} else if !ok {
			continue
		}
		if nearDeadline() {
			handOver = true
			break
		}
		pending = append(pending, row.Line)
		for sent := false; !sent; {
			select {
			case work <- c:
				sent = true
				inFlight++
			case res := <-results:
				record(res)
			}
		}
		if time.Since(lastSave) > 2*time.Second && firstErr == nil {
			if err := r.save(ctx, job); err != nil {
				firstErr = err
			}
			lastSave = r.Now()
		}
	}
	close(work)
	for inFlight > 0 {
		record(<-results)
	}
	if firstErr != nil {
		return firstErr
	}
	if handOver {
		if err := r.save(ctx, job); err != nil {
			return err
		}
		// Release the lease so the next invocation can claim at once.
		job.LeaseUntil = time.Time{}
		if saved, err := r.Jobs.UpdateJob(ctx, *job); err == nil {
			*job = saved
		}
		log.InfoContext(ctx, "bulk: handing over", "applied_through", job.AppliedThrough)
		if err := r.Continue.Continue(ctx, job.Key, 0); err != nil {
			return fmt.Errorf("hand over: %w", err)
		}
		return errHandedOver
	}
	return nil
}

func (r *Runner) workers() int {
	if r.Workers > 0 {
		return r.Workers
	}
	return 2 * runtime.GOMAXPROCS(0)
}

// change is the change row makes, or false for a row with nothing to do: skipped (the
// validation reported it) or as the account is already. Without bc.Existing (a part of a
// fanned-out job), ApplyBulkChange tells those rows apart as it reads each account.
func change(job *Job, bc account.BulkContext, row Row) (account.BulkChange, bool, error) {
	id, _ := LoginID(row.Account, bc.Tenant.Domains)
	if ex, exists := bc.Existing[account.Key(id)]; job.Mode == "update" && bc.Existing != nil && (!exists || !Changes(row, ex)) {
		return account.BulkChange{}, false, nil
	}
	c := account.BulkChange{JobID: job.ID, Line: row.Line, Actor: job.Owner, ActorID: job.OwnerID, IP: job.OwnerIP, TenantID: job.TenantID, Mode: job.Mode, LoginID: id,
		Password: row.Password, HasPassword: row.HasPassword, Capacity: row.Capacity, HasCapacity: row.HasCapacity,
		Role: account.Role(strings.ToLower(row.Role)), Comment: row.Comment, HasComment: row.HasComment,
		Invite: job.Invite && !row.HasPassword && !row.HasHash, Method: row.Method,
		ForceChange: job.ForceChange, Settings: bc.Settings}
	if row.HasHash {
		in, err := password.ParseImported(row.Hash, job.AllowWeakHashes)
		if err != nil { // validated already: the file changed under the job
			return account.BulkChange{}, false, fmt.Errorf("line %d: imported hash: %w", row.Line, err)
		}
		c.PasswordHash, c.WeakHash, c.HasPassword = in.Stored, in.Weak, true
	}
	return c, true, nil
}

// applyWithRetry retries a row on infrastructure errors (throttling, timeouts) with
// backoff; the row is idempotent, so a retry after a lost answer is safe.
func (r *Runner) applyWithRetry(ctx context.Context, c account.BulkChange) (string, error) {
	delay := 100 * time.Millisecond
	for attempt := 0; ; attempt++ {
		outcome, err := r.Accounts.ApplyBulkChange(ctx, c)
		if err == nil || attempt == 4 || ctx.Err() != nil {
			return outcome, err
		}
		select {
		case <-time.After(delay):
			delay *= 2
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
}

func (r *Runner) finish(ctx context.Context, job *Job) {
	if err := r.Files.Delete(ctx, job.Key); err != nil {
		r.Log.WarnContext(ctx, "bulk: upload not deleted; the bucket's lifecycle will", "job", job.ID, "err", err)
	}
	r.Accounts.BulkFinished(ctx, account.BulkSummary{JobID: job.ID, TenantID: job.TenantID, Owner: job.Owner, OwnerID: job.OwnerID, OwnerIP: job.OwnerIP,
		Filename: job.Filename, Mode: job.Mode, State: job.State, Rows: job.Rows, Updated: job.Updated,
		Created: job.Created, Skipped: job.SkippedTotal, Refused: job.RefusedTotal, Errors: job.ErrorsTotal, Finished: job.FinishedAt})
}

// problemMessage is the English description of a problem, for the job document; the site
// shows its own ja/en text by code.
func problemMessage(p Problem) string {
	text := map[string]string{
		CodeEncoding: "not valid text in the file's encoding", CodeSyntax: "not valid CSV",
		CodeFieldCount: "a different number of cells than the header", CodeEmpty: "no data rows",
		CodeUnknownColumn: "unknown column", CodeDuplicateColumn: "column given twice",
		CodeMissingColumn: "required column missing", CodeCellTooLong: "cell too long",
		CodeRequired: "required", CodeInvalidAccount: "not a valid account", CodeOtherTenant: "another organization's account",
		CodeDuplicate: "the same account twice", CodeInvalidCapacity: "capacity must be one of 0, 1, 2, 5, 10, 20, 50, 100",
		CodeExists: "the account exists already", CodeForbidden: "not allowed to change this account",
		CodeTooManyRows:     "more rows than allowed",
		CodePasswordAndHash: "give a password or a password_hash, not both",
		"hash_malformed":    "not a password hash Kagiya reads",
		"hash_plaintext":    "a plaintext password: put it in the password column instead",
		"hash_weak":         "an unsalted or broken scheme: allowed only with allow_weak_hashes, and the account must then change its password",
		"hash_unsupported":  "a scheme that cannot be checked against a password ({CRAM-MD5}, yescrypt, ...): give a password instead",
		"hash_cost":         "a cost above what one sign-in may spend",
		CodeInvalidRole:     "role must be user, admin or owner",
		CodeInvalidComment:  "the comment is too long or has invisible characters",
		CodeInvalidMethod:   "login_method must be password or idp, and an idp row has no password",
		CodeNoProvider:      "no identity provider of the organization serves this domain",
		CodeMethodRole:      "only accounts of role user sign in with an identity provider",
	}[p.Code]
	if text == "" {
		text = "the password breaks the rule " + p.Code
	}
	if p.Message != "" {
		text += " (" + p.Message + ")"
	}
	return text
}

// notifyBatch is how many "your password was changed" emails go out at once.
const notifyBatch = 16

// notify mails every account whose password the job changed, after every row is applied
// (off the apply pass, so the hashing is not held up), a batch at a time in parallel.
// Progress is saved like the apply pass's, and near the deadline the rest is handed over;
// a row's email goes out only if the account still carries that row's marker (it was
// applied, not refused or skipped, and nothing changed it since).
func (r *Runner) notify(ctx context.Context, job *Job, domains []string, log *slog.Logger) error {
	if job.Mode != "update" {
		return nil // new accounts: no password of theirs was changed
	}
	f, rd, err := r.reopen(ctx, job)
	if err != nil {
		return err
	}
	defer f.Close()
	type row struct {
		line    int
		loginID string
	}
	lastSave := r.Now()
	send := func(batch []row) error {
		var wg sync.WaitGroup
		sent := make([]bool, len(batch))
		errs := make([]error, len(batch))
		for i, rw := range batch {
			wg.Add(1)
			go func() {
				defer wg.Done()
				sent[i], errs[i] = r.Accounts.NotifyBulkPasswordChange(ctx, job.TenantID, rw.loginID, fmt.Sprintf("%s#%d", job.ID, rw.line))
			}()
		}
		wg.Wait()
		for i := range batch {
			if errs[i] != nil {
				return errs[i]
			}
			if sent[i] {
				job.Queued++ // Notified counts it when it is delivered
			}
		}
		job.NotifiedThrough = batch[len(batch)-1].line
		if time.Since(lastSave) > 2*time.Second {
			lastSave = r.Now()
			return r.save(ctx, job)
		}
		return nil
	}
	var batch []row
	for {
		rw, _, err := rd.Next()
		if errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return err
		}
		if rw.Line <= job.NotifiedThrough || rw.Broken || !(rw.HasPassword || rw.HasHash) {
			continue
		}
		id, code := LoginID(rw.Account, domains)
		if code != "" {
			continue
		}
		batch = append(batch, row{rw.Line, id})
		if len(batch) < notifyBatch {
			continue
		}
		if err := send(batch); err != nil {
			return err
		}
		batch = batch[:0]
		if d, ok := ctx.Deadline(); ok && r.Continue != nil && time.Until(d) < r.reserve() {
			if err := r.save(ctx, job); err != nil {
				return err
			}
			log.InfoContext(ctx, "bulk: handing over the emails", "notified_through", job.NotifiedThrough)
			if err := r.Continue.Continue(ctx, job.Key, 0); err != nil {
				return fmt.Errorf("hand over: %w", err)
			}
			return errHandedOver
		}
	}
	if len(batch) > 0 {
		return send(batch)
	}
	return nil
}

// reserve is the time left before the deadline at which a run hands over.
func (r *Runner) reserve() time.Duration {
	if r.Reserve > 0 {
		return r.Reserve
	}
	return time.Minute
}

// reopen reads a validated upload again from its first row (the apply and the email
// passes each stream it once more).
func (r *Runner) reopen(ctx context.Context, job *Job) (io.Closer, *Reader, error) {
	f, err := r.Files.Open(ctx, job.Key)
	if err != nil {
		return nil, nil, fmt.Errorf("open upload: %w", err)
	}
	rd, problems, err := newReader(f, job.Mode, job.Invite)
	if err != nil || len(problems) > 0 || rd == nil {
		f.Close()
		return nil, nil, fmt.Errorf("re-read upload: %v %w", problems, err)
	}
	return f, rd, nil
}
