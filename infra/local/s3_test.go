package main

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// The S3 stand-in is private like the real bucket: nothing but a live presigned upload
// gets through, so no one reads uploads (which hold passwords) back over HTTP.
func TestS3StandInTakesOnlyPresignedUploads(t *testing.T) {
	t.Parallel()
	base := startServer(t)
	for _, c := range []struct{ method, path string }{
		{"GET", "/_s3/"},
		{"GET", "/_s3/uploads/"},
		{"GET", "/_s3/uploads/uploads/t/j/f.csv"},
		{"DELETE", "/_s3/uploads/uploads/t/j/f.csv"},
		{"PUT", "/_s3/uploads/uploads/t/j/f.csv"},
		{"PUT", "/_s3/uploads/uploads/t/j/f.csv?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=x&X-Amz-Date=20200101T000000Z&X-Amz-Expires=900"},
		{"PUT", "/_s3/other/f.csv?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=x&X-Amz-Date=" + time.Now().UTC().Format("20060102T150405Z") + "&X-Amz-Expires=900"},
	} {
		req, _ := http.NewRequest(c.method, base+c.path, strings.NewReader("mail_account\n"))
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 403 || !strings.Contains(string(body), "AccessDenied") || res.Header.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("%s %s: %d %s", c.method, c.path, res.StatusCode, body)
		}
	}
}

func TestPresignedUploadCheck(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	ok := "/_s3/uploads/uploads/t/j/f.csv?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=abc&X-Amz-Date=20261123T095500Z&X-Amz-Expires=900"
	req, _ := http.NewRequest("PUT", "http://x"+ok, nil)
	if !presignedUpload(req, now) {
		t.Fatal("a live presigned upload was refused")
	}
	if presignedUpload(req, now.Add(11*time.Minute)) {
		t.Fatal("an expired presigned URL was taken")
	}
	get, _ := http.NewRequest("GET", "http://x"+ok, nil)
	if presignedUpload(get, now) {
		t.Fatal("a GET was taken")
	}
}
