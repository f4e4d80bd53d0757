package lambdaapi

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/aws/smithy-go"

	"github.com/kagiya/kagiya/shared/account"
)

// The functions' DynamoDB client retries a throttled call callAttempts times in all,
// then gives the throttle to the caller; a throttle that passes within them is not seen.
func TestStoreCallsRetryAsConfigured(t *testing.T) {
	var calls, throttles atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		if throttles.Add(-1) >= 0 {
			w.WriteHeader(400)
			w.Write([]byte(`{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException","message":"Rate of requests exceeds the allowed throughput."}`))
			return
		}
		w.Write([]byte(`{}`)) // GetItem: no such item
	}))
	t.Cleanup(srv.Close)
	e, err := Build(context.Background(), env(map[string]string{"TABLE_NAME": "kagiya", "SITE_URL": "https://id.example.com", "MAIL_FROM": "no-reply@example.com",
		"AWS_REGION": "ap-northeast-1", "AWS_ACCESS_KEY_ID": "AKIA", "AWS_SECRET_ACCESS_KEY": "s", "AWS_ENDPOINT_URL": srv.URL}), Parts{})
	if err != nil {
		t.Fatal(err)
	}
	throttles.Store(callAttempts - 1)
	if _, err := e.Store.GetAccount(context.Background(), "t1", "acc_x"); !errors.Is(err, account.ErrNotFound) || calls.Load() != callAttempts {
		t.Fatalf("throttled %d times: %v after %d calls", callAttempts-1, err, calls.Load())
	}
	calls.Store(0)
	throttles.Store(callAttempts)
	var api smithy.APIError
	if _, err := e.Store.GetAccount(context.Background(), "t1", "acc_x"); !errors.As(err, &api) || api.ErrorCode() != "ThrottlingException" || calls.Load() != callAttempts {
		t.Fatalf("throttled on every attempt: %v after %d calls, want the throttle after %d", err, calls.Load(), callAttempts)
	}
}
