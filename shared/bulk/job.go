package bulk

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kagiya/kagiya/shared/account"
)

// Job states of docs/api.md.
const (
	StateWaitingUpload = "waiting_upload"
	StateValidating    = "validating"
	StateApplying      = "applying"
	StateSucceeded     = "succeeded"
	StateRejected      = "rejected"
	StateFailed        = "failed"
)

// Job is one bulk change: its document is what GET /api/admin/bulk/{job_id} shows.
type Job struct {
	ID              string    `json:"job_id"`
	TenantID        string    `json:"-"`
	Owner           string    `json:"owner"`    // the login ID of the administrator who started it
	OwnerID         string    `json:"owner_id"` // and its account_id, which the run acts as
	OwnerIP         string    `json:"-"`        // the client IP it started the job from, for the audit
	Mode            string    `json:"mode"`
	ForceChange     bool      `json:"force_change"`
	AllowWeakHashes bool      `json:"allow_weak_hashes"`
	Invite          bool      `json:"invite"`   // create mode: rows without a password get invitations
	Invited         int       `json:"invited"`  // invitations sent
	Imported        int       `json:"imported"` // accounts that got an imported password hash
	Filename        string    `json:"filename"`
	Size            int64     `json:"size"` // the upload's declared byte length
	Key             string    `json:"-"`    // the object key of the upload
	State           string    `json:"state"`
	FailureReason   string    `json:"failure_reason,omitempty"` // why a failed job failed
	Encoding        string    `json:"encoding,omitempty"`
	Rows            int       `json:"rows"`
	ToApply         int       `json:"to_apply"`
	Applied         int       `json:"applied"` // progress of the apply pass
	Updated         int       `json:"updated"`
	Created         int       `json:"created"`
	Skipped         []string  `json:"skipped"`
	SkippedTotal    int       `json:"skipped_total"`
	Refused         []string  `json:"refused"`       // rows not applied: the rights they need no longer held
	RefusedTotal    int       `json:"refused_total"` // (first MaxSkipped login IDs above)
	Errors          []Problem `json:"errors"`
	ErrorsTotal     int       `json:"errors_total"`
	AppliedThrough  int       `json:"-"`      // every row up to this line is applied
	Notifying       bool      `json:"-"`      // every row is applied; the password emails are going out
	NotifiedThrough int       `json:"-"`      // every password email up to this line has gone out
	Queued          int       `json:"queued"` // "your password was changed" emails queued by the job
	// Notified is how many of those were delivered: the mail sender counts each in the
	// store (CountNotified), which keeps the count beside the job and never lets
	// UpdateJob write it.
	Notified   int       `json:"notified"`
	Chunks     int       `json:"chunks,omitempty"`      // fanned out: the apply pass's parts (fanout.go)
	ChunksDone int       `json:"chunks_done,omitempty"` // and how many have been applied
	ChunkRows  int       `json:"-"`                     // rows in a part
	ChunkDone  []byte    `json:"-"`                     // a bit a part: applied and counted
	LeaseUntil time.Time `json:"-"`                     // a run holds the job until then
	CreatedAt  time.Time `json:"created_at"`
	FinishedAt time.Time `json:"finished_at,omitzero"`
	Version    int64     `json:"-"`
}

// Record is a job as a store keeps it: the document the API shows, and the fields that
// document leaves out. Stores encode it as JSON.
type Record struct {
	Job
	TenantID        string    `json:"tenant_id"`
	Key             string    `json:"key"`
	AppliedThrough  int       `json:"applied_through"`
	LeaseUntil      time.Time `json:"lease_until"`
	OwnerIP         string    `json:"owner_ip"`
	Notifying       bool      `json:"notifying"`
	NotifiedThrough int       `json:"notified_through"`
	ChunkRows       int       `json:"chunk_rows,omitempty"`
	ChunkDone       []byte    `json:"chunk_done,omitempty"`
}

// Record returns what a store keeps of j.
func (j Job) Record() Record {
	return Record{Job: j, TenantID: j.TenantID, Key: j.Key, AppliedThrough: j.AppliedThrough, LeaseUntil: j.LeaseUntil, OwnerIP: j.OwnerIP,
		Notifying: j.Notifying, NotifiedThrough: j.NotifiedThrough, ChunkRows: j.ChunkRows, ChunkDone: j.ChunkDone}
}

// Restore returns the job a store kept, at version.
func (r Record) Restore(version int64) Job {
	j := r.Job
	j.TenantID, j.Key, j.AppliedThrough, j.LeaseUntil, j.OwnerIP, j.Version = r.TenantID, r.Key, r.AppliedThrough, r.LeaseUntil, r.OwnerIP, version
	j.Notifying, j.NotifiedThrough, j.ChunkRows, j.ChunkDone = r.Notifying, r.NotifiedThrough, r.ChunkRows, r.ChunkDone
	return j
}

// Done reports whether the job has ended.
func (j Job) Done() bool {
	return j.State == StateSucceeded || j.State == StateRejected || j.State == StateFailed
}

// JobStore keeps jobs. UpdateJob writes only if the stored version equals j.Version, and
// returns what it stored; otherwise account.ErrConflict (or ErrNotFound).
type JobStore interface {
	CreateJob(ctx context.Context, j Job) error
	GetJob(ctx context.Context, tenantID, id string) (Job, error)
	UpdateJob(ctx context.Context, j Job) (Job, error)
	// ListJobs returns a tenant's jobs newest first (job IDs sort by time), a page of at
	// most limit after the job ID after, and the cursor of the next page ("" at the end).
	ListJobs(ctx context.Context, tenantID, after string, limit int) ([]Job, string, error)
}

// Presigner makes an upload URL for an object key.
type Presigner interface {
	// PresignPut signs one PUT of exactly size bytes (the length is part of the
	// signature, so S3 refuses any other).
	PresignPut(ctx context.Context, key string, size int64, ttl time.Duration) (url string, headers map[string]string, err error)
}

// Files opens uploaded objects, and deletes them once their job has ended (they may hold
// passwords).
type Files interface {
	Open(ctx context.Context, key string) (io.ReadCloser, error)
	Delete(ctx context.Context, key string) error
}

// keyPrefix is where uploads go: uploads/<tenant>/<job>/<file name>.
const keyPrefix = "uploads/"

// ObjectKey is the upload key of a job; the file name is kept as the person gave it.
func ObjectKey(tenantID, jobID, filename string) string {
	return keyPrefix + tenantID + "/" + jobID + "/" + filename
}

// ParseKey returns the tenant and job of an upload key, as S3 events give it
// (URL-encoded, spaces as '+').
func ParseKey(eventKey string) (tenantID, jobID, key string, err error) {
	key, err = url.QueryUnescape(eventKey)
	if err != nil {
		return "", "", "", fmt.Errorf("object key %q: %w", eventKey, err)
	}
	rest, ok := strings.CutPrefix(key, keyPrefix)
	parts := strings.SplitN(rest, "/", 3)
	if !ok || len(parts) != 3 || parts[0] == "" || parts[1] == "" {
		return "", "", "", fmt.Errorf("object key %q is not an upload", key)
	}
	return parts[0], parts[1], key, nil
}

// UploadTTL is how long an upload URL works.
const UploadTTL = 15 * time.Minute

// Jobs starts jobs and shows them (the administration API's side).
type Jobs struct {
	Store   JobStore
	Presign Presigner
	Now     func() time.Time
}

// Upload is a new job and where to put its file.
type Upload struct {
	Job     Job
	URL     string
	Headers map[string]string
}

// MaxFilenameBytes bounds the file name kept with a job.
const MaxFilenameBytes = 255

// MaxUploadBytes bounds an uploaded file (docs/api.md: 64 MiB; 413 file_too_large).
const MaxUploadBytes = 64 << 20

// Start creates a job waiting for its upload and returns the upload URL.
// StartOptions are what a job is started with (POST /api/admin/bulk).
type StartOptions struct {
	Filename        string
	Mode            string // "update" or "create"
	ForceChange     bool
	AllowWeakHashes bool
	Invite          bool
	Size            int64
}

func (js *Jobs) Start(ctx context.Context, p account.Principal, o StartOptions, ip string) (Upload, error) {
	filename, mode, size := o.Filename, o.Mode, o.Size
	if !p.Account.Role.IsAdmin() {
		return Upload{}, &account.Error{Code: account.CodeForbidden}
	}
	if size > MaxUploadBytes {
		return Upload{}, &account.Error{Code: "file_too_large", Fields: []account.FieldError{{Field: "size", Code: "too_large"}}}
	}
	var fields []account.FieldError
	filename = strings.TrimSpace(filename)
	if filename == "" || filename == "." || filename == ".." || len(filename) > MaxFilenameBytes || !utf8.ValidString(filename) ||
		strings.ContainsAny(filename, "/\\\x00") {
		fields = append(fields, account.FieldError{Field: "filename", Code: "invalid"})
	}
	if mode != "update" && mode != "create" {
		fields = append(fields, account.FieldError{Field: "mode", Code: "invalid"})
	}
	if size <= 0 {
		fields = append(fields, account.FieldError{Field: "size", Code: "required"})
	}
	if len(fields) > 0 {
		return Upload{}, &account.Error{Code: account.CodeValidation, Fields: fields}
	}
	id, err := newID(js.Now())
	if err != nil {
		return Upload{}, err
	}
	j := Job{ID: id, TenantID: p.Account.TenantID, Owner: p.Account.LoginID, OwnerID: p.Account.ID, OwnerIP: ip, Mode: mode, ForceChange: o.ForceChange, AllowWeakHashes: o.AllowWeakHashes, Invite: o.Invite && mode == "create",
		Filename: filename, Size: size, Key: ObjectKey(p.Account.TenantID, id, filename), State: StateWaitingUpload,
		Skipped: []string{}, Refused: []string{}, Errors: []Problem{}, CreatedAt: js.Now().UTC()}
	url, headers, err := js.Presign.PresignPut(ctx, j.Key, size, UploadTTL)
	if err != nil {
		return Upload{}, fmt.Errorf("presign: %w", err)
	}
	if err := js.Store.CreateJob(ctx, j); err != nil {
		return Upload{}, fmt.Errorf("create job: %w", err)
	}
	return Upload{Job: j, URL: url, Headers: headers}, nil
}

// Get returns a job of the principal's tenant.
func (js *Jobs) Get(ctx context.Context, p account.Principal, id string) (Job, error) {
	if !p.Account.Role.IsAdmin() {
		return Job{}, &account.Error{Code: account.CodeForbidden}
	}
	if len(id) != 32 || strings.Trim(id, "0123456789abcdef") != "" {
		return Job{}, &account.Error{Code: account.CodeNotFound}
	}
	j, err := js.Store.GetJob(ctx, p.Account.TenantID, id)
	if errors.Is(err, account.ErrNotFound) {
		return Job{}, &account.Error{Code: account.CodeNotFound}
	} else if err != nil {
		return Job{}, fmt.Errorf("job %s: %w", id, err)
	}
	return j, nil
}

// newID makes a job ID: 32 hex digits, the first 12 the creation time in milliseconds
// (so IDs, and the store's keys, sort newest last), the other 20 random (80 bits).
func newID(now time.Time) (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b[6:]); err != nil {
		return "", fmt.Errorf("job id: %w", err)
	}
	ms := uint64(now.UnixMilli())
	for i := 5; i >= 0; i-- {
		b[i], ms = byte(ms), ms>>8
	}
	return hex.EncodeToString(b), nil
}

// List returns a page of the principal's tenant's jobs, newest first.
func (js *Jobs) List(ctx context.Context, p account.Principal, after string) ([]Job, string, error) {
	if !p.Account.Role.IsAdmin() {
		return nil, "", &account.Error{Code: account.CodeForbidden}
	}
	if after != "" && (len(after) != 32 || strings.Trim(after, "0123456789abcdef") != "") {
		return nil, "", &account.Error{Code: account.CodeValidation, Fields: []account.FieldError{{Field: "cursor", Code: "invalid"}}}
	}
	jobs, next, err := js.Store.ListJobs(ctx, p.Account.TenantID, after, 20)
	if err != nil {
		return nil, "", fmt.Errorf("list jobs: %w", err)
	}
	return jobs, next, nil
}

// Sample is the sample file an administrator downloads, edits and uploads (UTF-8 with a
// BOM, so Excel opens it as UTF-8; CRLF as Excel writes). domain is the tenant's first
// domain, which bare account names get; a tenant without domains takes full addresses.
func Sample(domain string) []byte {
	bare := "yamada.taro"
	if domain == "" {
		domain, bare = "example.com", "yamada.taro@example.com"
	}
	return []byte("\ufeffmail_account,password,mail_capacity\r\n" +
		bare + ",Change-Me-2026!a,10\r\n" +
		"sato.hanako@" + domain + ",,20\r\n")
}

// EventKey encodes an object key the way S3 event notifications carry it (each path
// segment URL-encoded, spaces as '+').
func EventKey(key string) string {
	parts := strings.Split(key, "/")
	for i, p := range parts {
		parts[i] = url.QueryEscape(p)
	}
	return strings.Join(parts, "/")
}

// count adds a row's outcome to the job's figures. A row that found nothing to change
// (its account gone, or already as the row says) is not counted as applied.
func (j *Job) count(outcome, loginID string, hashed, invited bool) {
	switch {
	case outcome == account.BulkSkipped, outcome == account.BulkUnchanged:
		return
	case outcome == account.BulkForbidden:
		j.RefusedTotal++
		if len(j.Refused) < MaxSkipped {
			j.Refused = append(j.Refused, loginID)
		}
	case outcome == account.BulkUpdated, outcome == account.BulkAlready && j.Mode == "update":
		j.Updated++
		j.countImported(hashed)
	case outcome == account.BulkCreated, outcome == account.BulkAlready && j.Mode == "create":
		j.Created++
		j.countImported(hashed)
		if invited {
			j.Invited++
		}
	}
	j.Applied++
}

// countImported counts an applied row that brought an imported hash.
func (j *Job) countImported(hashed bool) {
	if hashed {
		j.Imported++
	}
}
