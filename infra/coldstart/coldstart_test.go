// Package coldstart measures a Lambda function's init: the time from exec to its first
// request for work, against a stand-in for the Lambda Runtime API that answers nothing.
package coldstart

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/truora/minidyn/server"

	"github.com/kagiya/kagiya/shared/store/dynamostore"
)

// initTime runs the function binary and returns how long it took to ask for its first
// invocation.
func initTime(b *testing.B, bin, store string) time.Duration {
	asked := make(chan time.Time, 1)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case asked <- time.Now():
		default:
		}
		<-r.Context().Done() // no invocation: hold the request until the process ends
	})}
	go srv.Serve(ln) //nolint:errcheck // closed below
	defer srv.Close()
	cmd := exec.Command(bin)
	cmd.Env = []string{"AWS_LAMBDA_RUNTIME_API=" + ln.Addr().String(), "AWS_REGION=us-east-1",
		"AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "TABLE_NAME=kagiya", "SITE_URL=https://id.example.com",
		"MAIL_FROM=no-reply@example.com", "SEAL_KMS_KEY=arn:aws:kms:us-east-1:000000000000:key/test", "UPLOAD_BUCKET=uploads",
		"CONTINUE_QUEUE_URL=https://sqs.us-east-1.amazonaws.com/000000000000/continue",
		"APPLY_QUEUE_URL=https://sqs.us-east-1.amazonaws.com/000000000000/apply", "FAILED_RUN_QUEUE_ARN=arn:aws:sqs:us-east-1:000000000000:failed", "AWS_ENDPOINT_URL=" + store,
		"MAIL_QUEUE_URL=https://sqs.us-east-1.amazonaws.com/000000000000/mail", "MAIL_SENDERS=2", "MAIL_MAX_RECEIVES=31",
		"HOME=" + b.TempDir()}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }() //nolint:errcheck
	select {
	case at := <-asked:
		return at.Sub(start)
	case <-time.After(10 * time.Second):
		b.Fatal("the function did not ask for work in 10 s")
	}
	return 0
}

// BenchmarkInit reports each function's init (ms/init) and binary size, built as
// infra/test.sh builds them but for this machine. The OpenID Connect provider reads (or
// makes) its key-sealing secret in the table at start: the table is minidyn's, in process.
func BenchmarkInit(b *testing.B) {
	srv := httptest.NewServer(server.NewServer())
	defer srv.Close()
	db := dynamodb.New(dynamodb.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL),
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")})
	if err := dynamostore.CreateTable(context.Background(), db, "kagiya"); err != nil {
		b.Fatal(err)
	}
	for _, fn := range []string{"login", "password", "reset", "unlock", "admin", "bulk", "oidc", "mailevents", "mailsender"} {
		b.Run(fn, func(b *testing.B) {
			bin := filepath.Join(b.TempDir(), fn)
			build := exec.Command("go", "build", "-tags", "lambda.norpc", "-trimpath", "-ldflags=-s -w", "-o", bin, "../../functions/"+fn)
			build.Env = append(os.Environ(), "CGO_ENABLED=0")
			if out, err := build.CombinedOutput(); err != nil {
				b.Fatalf("build: %v\n%s", err, out)
			}
			st, _ := os.Stat(bin)
			b.ResetTimer()
			var total time.Duration
			for i := 0; i < b.N; i++ {
				total += initTime(b, bin, srv.URL)
			}
			b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "ms/init")
			b.ReportMetric(float64(st.Size())/1e6, "MB")
		})
	}
}
