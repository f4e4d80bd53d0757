package faults_test

import (
	"context"
	"errors"
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
