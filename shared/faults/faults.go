// Package faults makes a store and a mailer that fail chosen calls the way
// DynamoDB and SES fail through the AWS SDK (throttling, a timeout, a lost conditional
// race), so that tests (and the local server's /_dev/faults) can run the real flows under
// faults and check what they leave.
//
// A Plan holds the rules; Store and Mailer consult it on every call:
//
//	plan := &faults.Plan{}
//	st := faults.NewStore(real, plan)
//	plan.Fail("RecordLogin", faults.Throttling("DynamoDB", "UpdateItem"))
//	... // every RecordLogin fails until
//	plan.Clear()
package faults

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"github.com/kagiya/kagiya/shared/account"
)

// A Rule fails calls to one method.
type Rule struct {
	// Method is the name of the store or mailer method (SendEmail for the mailer's Send).
	Method string
	// Methods, instead of Method, are several methods whose calls the rule counts
	// together (StoreWrites: every store write).
	Methods []string
	// Skip lets that many matching calls through before the rule applies; Times is how
	// many calls it then fails (0: every one until the plan is cleared).
	Skip, Times int
	// Err is what the failed call returns.
	Err error
	// Applied makes the call go through before it returns Err: the write happened, but
	// its answer was lost (a timeout after DynamoDB applied it).
	Applied bool
	// Before, if set, runs just before each call the rule applies to (another writer
	// landing between two of a flow's calls); with Err nil the call then goes through.
	// It runs outside the plan's lock, so it may call the store through the same plan:
	// those calls are counted, and the rule is already spent for them when Times allows.
	Before func()

	seen, failed int
}

// Plan is the set of rules in force, safe for concurrent use. The zero Plan fails nothing.
type Plan struct {
	mu       sync.Mutex
	rules    []*Rule
	calls    map[string]int
	failures []string // the methods of the calls failed so far
}

// Add puts r in force.
func (p *Plan) Add(r Rule) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rules = append(p.rules, &r)
}

// Fail makes every call to method return err (without doing it) until Clear.
func (p *Plan) Fail(method string, err error) { p.Add(Rule{Method: method, Err: err}) }

// FailNth makes the nth call to method from now (1 is the next) return err, once.
func (p *Plan) FailNth(method string, n int, err error) {
	p.Add(Rule{Method: method, Skip: n - 1, Times: 1, Err: err})
}

// Clear removes every rule: the fault has cleared.
func (p *Plan) Clear() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rules = nil
}

// Left reports what the plan's counted rules (Times above 0) that fail calls (Err set)
// still do: how many matching calls they let through before they apply, and how many
// they fail then.
func (p *Plan) Left() (skip, fail int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, r := range p.rules {
		if r.Times > 0 && r.Err != nil {
			skip += max(r.Skip-r.seen, 0)
			fail += r.Times - r.failed
		}
	}
	return skip, fail
}

// Failures lists the methods of the calls the plan has failed, in order.
func (p *Plan) Failures() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.failures)
}

// Calls reports how many calls to method were made through the plan, failed or not.
func (p *Plan) Calls(method string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.calls[method]
}

// call runs do unless a rule fails it.
func (p *Plan) call(method string, do func() error) error {
	r := p.match(method)
	if r == nil {
		return do()
	}
	if r.Before != nil {
		r.Before()
	}
	if r.Err == nil {
		return do()
	}
	if r.Applied {
		if err := do(); err != nil {
			return err
		}
	}
	return fmt.Errorf("%s: %w", method, r.Err)
}

// match counts a call to method and returns the rule that fails it, if any.
func (p *Plan) match(method string) *Rule {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.calls == nil {
		p.calls = map[string]int{}
	}
	p.calls[method]++
	var hit *Rule
	for _, r := range p.rules {
		if !r.matches(method) || r.Times > 0 && r.failed >= r.Times {
			continue
		}
		r.seen++
		if r.seen <= r.Skip || hit != nil {
			continue
		}
		r.failed++
		hit = r
	}
	if hit != nil && hit.Err != nil {
		p.failures = append(p.failures, method)
	}
	return hit
}

func (r *Rule) matches(method string) bool {
	return r.Method == method || slices.Contains(r.Methods, method)
}

// StoreWrites are the names of the store's methods that write (Secret, which writes only
// a deployment's first call for a name, is a read here).
func StoreWrites() []string {
	return []string{"CreateTenant", "UpdateTenant", "ClaimDomain", "ReleaseDomains", "CreateAccount", "UpdateAccount",
		"ChangeLoginID", "DeleteAccount", "ReserveAttempt", "RecordLogin", "ReleaseAttempt", "Lock", "Unlock",
		"ReserveDeviceAttempt", "RecordDeviceLogin", "CreateSession", "TouchSession", "DeleteSession", "CreateToken",
		"ConsumeToken", "AppendAudit", "Hit", "CreateCredential", "TouchCredential", "DeleteCredential",
		"PutRecoveryCodes", "UseRecoveryCode", "PutHistory", "RaiseSchemaVersion"}
}

// Throttling is the error the SDK returns when the service throttles a call after its
// retries (DynamoDB's ThrottlingException, SES's Throttling).
func Throttling(service, operation string) error {
	code, msg := "ThrottlingException", "Rate of requests exceeds the allowed throughput."
	if service == "SES" {
		code, msg = "Throttling", "Maximum sending rate exceeded."
	}
	return &smithy.OperationError{ServiceID: service, OperationName: operation,
		Err: &smithy.GenericAPIError{Code: code, Message: msg, Fault: smithy.FaultServer}}
}

// Timeout is the error the SDK returns when a call's deadline passes before an answer.
func Timeout(service, operation string) error {
	return &smithy.OperationError{ServiceID: service, OperationName: operation,
		Err: &smithy.CanceledError{Err: context.DeadlineExceeded}}
}

// Unavailable is the error the SDK returns when the service is down (an outage: HTTP 503,
// ServiceUnavailable, after its retries).
func Unavailable(service, operation string) error {
	return &smithy.OperationError{ServiceID: service, OperationName: operation,
		Err: &smithy.GenericAPIError{Code: "ServiceUnavailable", Message: "Service is unable to handle request.", Fault: smithy.FaultServer}}
}

// ConditionLost is a conditional write that lost a race, as the DynamoDB store reports
// it: account.ErrConflict, wrapping the SDK's ConditionalCheckFailedException.
func ConditionLost(operation string) error {
	return fmt.Errorf("%w: %w", account.ErrConflict, &smithy.OperationError{ServiceID: "DynamoDB", OperationName: operation,
		Err: &types.ConditionalCheckFailedException{Message: stringPtr("The conditional request failed")}})
}

func stringPtr(s string) *string { return &s }
