package faults_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/aws/smithy-go"

	"github.com/kagiya/kagiya/shared/account"
	"github.com/kagiya/kagiya/shared/faults"
	"github.com/kagiya/kagiya/shared/mail"
)

type sent struct{ n int }

func (s *sent) Send(context.Context, mail.Message) error { s.n++; return nil }

func TestPlanFailsChosenCalls(t *testing.T) {
	ctx := context.Background()
	plan := &faults.Plan{}
	box := &sent{}
	m := faults.NewMailer(box, plan)
	// The 2nd call fails without sending; the others go through.
	plan.FailNth("SendEmail", 2, faults.Throttling("SES", "SendEmail"))
	var errs []error
	for range 3 {
		errs = append(errs, m.Send(ctx, mail.Message{}))
	}
	var api smithy.APIError
	if errs[0] != nil || errs[2] != nil || !errors.As(errs[1], &api) || api.ErrorCode() != "Throttling" || box.n != 2 {
		t.Fatalf("errors %v, sent %d", errs, box.n)
	}
	// Applied: the call happens, its answer is lost.
	plan.Add(faults.Rule{Method: "SendEmail", Times: 1, Applied: true, Err: faults.Timeout("SES", "SendEmail")})
	if err := m.Send(ctx, mail.Message{}); !errors.Is(err, context.DeadlineExceeded) || box.n != 3 {
		t.Fatalf("applied timeout: %v, sent %d", err, box.n)
	}
	// Every call until the plan is cleared.
	plan.Fail("SendEmail", faults.Throttling("SES", "SendEmail"))
	for range 3 {
		if m.Send(ctx, mail.Message{}) == nil {
			t.Fatal("a call went through a standing fault")
		}
	}
	plan.Clear()
	if err := m.Send(ctx, mail.Message{}); err != nil || box.n != 4 || plan.Calls("SendEmail") != 8 {
		t.Fatalf("after clear: %v, sent %d, calls %d", err, box.n, plan.Calls("SendEmail"))
	}
	if !errors.Is(faults.ConditionLost("UpdateItem"), account.ErrConflict) {
		t.Fatal("a lost condition is not the store's ErrConflict")
	}
}

// A rule over several methods counts their calls together; Left says what it still does.
func TestRuleOverSeveralMethods(t *testing.T) {
	plan := &faults.Plan{}
	plan.Add(faults.Rule{Methods: []string{"CreateToken", "UpdateAccount"}, Skip: 2, Times: 2, Err: faults.Throttling("DynamoDB", "UpdateItem")})
	if skip, fail := plan.Left(); skip != 2 || fail != 2 {
		t.Fatalf("left %d, %d before any call", skip, fail)
	}
	var failed []int
	for i, method := range []string{"CreateToken", "GetAccount", "UpdateAccount", "UpdateAccount", "CreateToken", "CreateToken"} {
		if plan.Match(method) {
			failed = append(failed, i)
		}
		if i == 3 {
			if skip, fail := plan.Left(); skip != 0 || fail != 1 {
				t.Fatalf("left %d, %d after one failed call", skip, fail)
			}
		}
	}
	if fmt.Sprint(failed) != "[3 4]" {
		t.Fatalf("failed calls %v, want [3 4] (GetAccount is not counted)", failed)
	}
	if skip, fail := plan.Left(); skip != 0 || fail != 0 {
		t.Fatalf("left %d, %d when spent", skip, fail)
	}
}

// Every name in StoreWrites is a method of the store.
func TestStoreWritesAreStoreMethods(t *testing.T) {
	st := reflect.TypeFor[*faults.Store]()
	for _, name := range faults.StoreWrites() {
		if _, ok := st.MethodByName(name); !ok {
			t.Errorf("%s is not a store method", name)
		}
	}
}

// A rule's Before runs just before the call it applies to, once for Times 1; the call then
// goes through (no Err), and calls Before makes through the same plan do not run it again.
func TestBeforeRunsAHookBeforeTheNthCall(t *testing.T) {
	ctx := context.Background()
	plan := &faults.Plan{}
	box := &sent{}
	m := faults.NewMailer(box, plan)
	var seen []int // how many emails had gone out each time the hook ran
	plan.Add(faults.Rule{Method: "SendEmail", Skip: 1, Times: 1, Before: func() {
		seen = append(seen, box.n)
		if err := m.Send(ctx, mail.Message{}); err != nil { // through the plan: counted, no hook
			t.Errorf("the hook's own call: %v", err)
		}
	}})
	if skip, fail := plan.Left(); skip != 0 || fail != 0 {
		t.Fatalf("a hook counted as a fault: left %d, %d", skip, fail)
	}
	for range 3 {
		if err := m.Send(ctx, mail.Message{}); err != nil {
			t.Fatalf("a call with a hook failed: %v", err)
		}
	}
	if fmt.Sprint(seen) != "[1]" || box.n != 4 || plan.Calls("SendEmail") != 4 || len(plan.Failures()) != 0 {
		t.Fatalf("hook ran after %v emails; sent %d, calls %d, failures %v", seen, box.n, plan.Calls("SendEmail"), plan.Failures())
	}
}
