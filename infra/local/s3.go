package main

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
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
// ObjectCreated notification, every upload is handed to the bulk runner.
type fakeS3 struct {
	handler http.Handler
	bucket  *s3files.Bucket
	events  chan string
}

func newFakeS3(ctx context.Context, siteURL string) (*fakeS3, error) {
	backend := s3mem.New()
	if err := backend.CreateBucket(uploadBucket); err != nil {
		return nil, err
	}
	client := s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String(siteURL + s3Prefix), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider("local", "local", "")})
	fs := &fakeS3{bucket: s3files.New(client, uploadBucket), events: make(chan string, 64)}
	fake := http.StripPrefix(s3Prefix, gofakes3.New(backend).Server())
	fs.handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
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

func (s *statusRecorder) WriteHeader(code int) { s.status = code; s.ResponseWriter.WriteHeader(code) }

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
