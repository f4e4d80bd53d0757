package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/kagiya/kagiya/shared/bulk"
	"github.com/kagiya/kagiya/shared/s3files"
)

const (
	s3Prefix     = "/_s3"
	uploadBucket = "uploads"
)

// fakeS3 is the local stand-in for S3: gofakes3 under /_s3/, and, like the bucket's
// ObjectCreated notification, every upload is handed to the bulk runner. Like the real
// bucket it is private: over HTTP it takes only presigned uploads (PUT of a live
// presigned URL into uploads/); the runner reads and deletes uploads in process (files).
type fakeS3 struct {
	handler http.Handler
	bucket  *s3files.Bucket // presigns the uploads
	files   memFiles        // what the runner reads
	events  chan string
	now     func() time.Time
}

// memFiles reads and deletes uploads in the in-memory backend (bulk.Files).
type memFiles struct{ backend *s3mem.Backend }

func (m memFiles) Open(_ context.Context, key string) (io.ReadCloser, error) {
	obj, err := m.backend.GetObject(uploadBucket, key, nil)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", key, err)
	}
	return obj.Contents, nil
}

func (m memFiles) Delete(_ context.Context, key string) error {
	_, err := m.backend.DeleteObject(uploadBucket, key)
	return err
}

// presignedUpload reports whether r is a PUT of a live presigned URL into uploads/.
// (The dev stand-in does not recompute the signature; it refuses everything else, so
// no upload can be listed or read back over HTTP.)
func presignedUpload(r *http.Request, now time.Time) bool {
	q := r.URL.Query()
	if r.Method != http.MethodPut || !strings.HasPrefix(r.URL.Path, s3Prefix+"/"+uploadBucket+"/uploads/") ||
		q.Get("X-Amz-Signature") == "" || q.Get("X-Amz-Algorithm") != "AWS4-HMAC-SHA256" {
		return false
	}
	signed, err := time.Parse("20060102T150405Z", q.Get("X-Amz-Date"))
	expires, err2 := strconv.Atoi(q.Get("X-Amz-Expires"))
	return err == nil && err2 == nil && now.Before(signed.Add(time.Duration(expires)*time.Second))
}

func newFakeS3(ctx context.Context, siteURL string) (*fakeS3, error) {
	backend := s3mem.New()
	if err := backend.CreateBucket(uploadBucket); err != nil {
		return nil, err
	}
	client := s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String(siteURL + s3Prefix), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider("local", "local", "")})
	fs := &fakeS3{bucket: s3files.New(client, uploadBucket), files: memFiles{backend}, events: make(chan string, 64), now: time.Now}
	fake := http.StripPrefix(s3Prefix, gofakes3.New(backend).Server())
	fs.handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > bulk.MaxUploadBytes {
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusRequestEntityTooLarge)
			io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>EntityTooLarge</Code></Error>`) //nolint:errcheck
			return
		}
		if !presignedUpload(r, fs.now()) {
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusForbidden)
			io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Only presigned uploads are accepted.</Message></Error>`) //nolint:errcheck
			return
		}
		sw := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		fake.ServeHTTP(sw, r)
		key, ok := strings.CutPrefix(strings.TrimPrefix(r.URL.Path, s3Prefix), "/"+uploadBucket+"/")
		if r.Method == http.MethodPut && ok && sw.status == http.StatusOK {
			select {
			case fs.events <- bulk.EventKey(key):
			case <-ctx.Done():
			}
		}
	})
	return fs, nil
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

// WriteHeader records the status, and drops the any-origin CORS headers gofakes3 adds:
// the site uploads from its own origin.
func (s *statusRecorder) WriteHeader(code int) {
	for k := range s.Header() {
		if strings.HasPrefix(k, "Access-Control-") {
			s.Header().Del(k)
		}
	}
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

// deliver runs each upload event like Lambda's asynchronous invocation: retried with
// backoff when the run fails or another run holds the job.
func (fs *fakeS3) deliver(ctx context.Context, runner *bulk.Runner, log *slog.Logger) {
	for {
		select {
		case <-ctx.Done():
			return
		case key := <-fs.events:
			go func() {
				delay := time.Second
				for attempt := 0; attempt < 5; attempt++ {
					err := runner.Run(ctx, key)
					if err == nil || ctx.Err() != nil {
						return
					}
					if !errors.Is(err, bulk.ErrBusy) {
						log.Error("bulk run failed; retrying", "attempt", attempt+1, "err", err)
					}
					select {
					case <-time.After(delay):
						delay *= 2
					case <-ctx.Done():
						return
					}
				}
			}()
		}
	}
}
