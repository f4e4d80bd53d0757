// Package s3files keeps the bulk uploads in an S3 bucket: presigned PUT URLs for the
// browser, and reading an uploaded object back; and large exports, written here and
// downloaded through presigned GET URLs.
package s3files

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Bucket is one bucket through an S3 client.
type Bucket struct {
	client  *s3.Client
	presign *s3.PresignClient
	name    string
}

// New returns the bucket called name.
func New(client *s3.Client, name string) *Bucket {
	return &Bucket{client: client, presign: s3.NewPresignClient(client), name: name}
}

// ContentType is what uploads are sent as.
const ContentType = "text/csv"

// PresignPut returns a URL that accepts one PUT of exactly size bytes at key until ttl
// runs out, and the headers the PUT must carry. Content-Length is signed but not among
// the headers: the browser sets it from the file, as it must.
func (b *Bucket) PresignPut(ctx context.Context, key string, size int64, ttl time.Duration) (string, map[string]string, error) {
	req, err := b.presign.PresignPutObject(ctx, &s3.PutObjectInput{Bucket: &b.name, Key: &key, ContentType: aws.String(ContentType),
		ContentLength: aws.Int64(size)}, s3.WithPresignExpires(ttl))
	if err != nil {
		return "", nil, fmt.Errorf("presign %s: %w", key, err)
	}
	headers := map[string]string{}
	for name, values := range req.SignedHeader {
		if n := http.CanonicalHeaderKey(name); n != "Host" && n != "Content-Length" && len(values) > 0 {
			headers[http.CanonicalHeaderKey(name)] = values[0]
		}
	}
	return req.URL, headers, nil
}

// Delete removes the object at key.
func (b *Bucket) Delete(ctx context.Context, key string) error {
	if _, err := b.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &b.name, Key: &key}); err != nil {
		return fmt.Errorf("delete %s: %w", key, err)
	}
	return nil
}

// Open reads the object at key.
func (b *Bucket) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	out, err := b.client.GetObject(ctx, &s3.GetObjectInput{Bucket: &b.name, Key: &key})
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", key, err)
	}
	return out.Body, nil
}

// Put stores body (size bytes) at key as a CSV download.
func (b *Bucket) Put(ctx context.Context, key string, body io.ReadSeeker, size int64) error {
	_, err := b.client.PutObject(ctx, &s3.PutObjectInput{Bucket: &b.name, Key: &key, Body: body, ContentLength: aws.Int64(size),
		ContentType: aws.String(ContentType + "; charset=utf-8")})
	if err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	return nil
}

// PresignGet returns a URL that downloads the object at key, as a file called filename,
// until ttl runs out.
func (b *Bucket) PresignGet(ctx context.Context, key string, ttl time.Duration, filename string) (string, error) {
	req, err := b.presign.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: &b.name, Key: &key,
		ResponseContentDisposition: aws.String(`attachment; filename="` + filename + `"`)}, s3.WithPresignExpires(ttl))
	if err != nil {
		return "", fmt.Errorf("presign %s: %w", key, err)
	}
	return req.URL, nil
}
