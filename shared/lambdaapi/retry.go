package lambdaapi

import (
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
)

// How the API functions' DynamoDB and SES calls retry, chosen rather than left to the
// SDK's defaults (3 attempts, backoff up to 20 s, no time limit on an attempt), which do
// not fit a function that has 10 s (template.yaml) for a whole request of several calls:
//   - an attempt gets callAttemptTimeout. DynamoDB answers in milliseconds and SES in
//     tens of them; an attempt still open after 1.5 s is a lost connection, and is better
//     retried than waited out (the SDK retries a timeout like a throttle);
//   - callAttempts attempts (one more than the SDK's 3: a throttle, far likelier than a
//     hang, usually passes within a second) with jittered exponential backoff of at most
//     callMaxBackoff, so one call that fails every attempt takes at most
//     4 × 1.5 s + 3 × 0.5 s = 7.5 s and leaves the rest of the 10 s to answer 500 cleanly
//     instead of timing out; the request's own context (the invocation's deadline) ends
//     any call sooner;
//   - the SDK's retry quota stays on: in an outage, retries stop once the quota is spent,
//     so the functions fail fast rather than multiply the load on a throttled table.
//
// A retried conditional write whose first attempt was applied but not answered meets its
// own write: the condition fails, which the domain already treats as a lost race
// (account.ErrConflict), never as a second change. The bulk function's S3 reads stream
// large files and keep the SDK's defaults.
const (
	callAttempts       = 4
	callAttemptTimeout = 1500 * time.Millisecond
	callMaxBackoff     = 500 * time.Millisecond
)

// apiCallRetryer is the retryer of the API functions' DynamoDB and SES clients.
func apiCallRetryer() aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = callAttempts
		o.MaxBackoff = callMaxBackoff
	})
}

// apiCallHTTPClient bounds each attempt of an API function's DynamoDB and SES calls.
func apiCallHTTPClient() *awshttp.BuildableClient {
	return awshttp.NewBuildableClient().WithTimeout(callAttemptTimeout)
}
