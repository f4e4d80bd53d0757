package account

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
	"testing"
)

// challengeFactor stands for a factor that needs a server-issued challenge (a passkey):
// what the sign-in's step asks of every factor, it must be able to answer.
type challengeFactor struct {
	removed   []string
	removeErr error
}

func (*challengeFactor) Kind() string            { return "passkey" }
func (*challengeFactor) Enrolled(a Account) bool { return a.Comment == "has passkey" }
func (*challengeFactor) Challenge(_ context.Context, a Account) (any, error) {
	return map[string]string{"challenge": "for " + a.ID}, nil
}
func (*challengeFactor) Verify(_ context.Context, a Account, _ Settings, in Answer, _ string, w StepWrite) (Account, error) {
	if string(in.Response) != `{"ok":true}` {
		return Account{}, codeErr(CodeInvalidCode)
	}
	if w.Guard != nil {
		if err := w.Guard(a); err != nil {
			return Account{}, err
		}
	}
	if w.Done != nil {
		w.Done(&a)
	}
	return a, nil
}
func (*challengeFactor) Clear(a *Account) { a.Comment = "" }
func (f *challengeFactor) Remove(_ context.Context, a Account) error {
	f.removed = append(f.removed, a.ID)
	return f.removeErr
}
func (*challengeFactor) Describe(_ context.Context, a Account) (FactorState, error) {
	return FactorState{Kind: "passkey", Enrolled: a.Comment == "has passkey", Count: 1}, nil
}

// TestFactorsAskEachFactor: the sign-in's methods are the enrolled factors' kinds in
// order, the step finds a factor by kind, and a reset clears and removes every factor
// (one that fails to remove does not stop the others).
func TestFactorsAskEachFactor(t *testing.T) {
	pk := &challengeFactor{removeErr: errors.New("store down")}
	app := &totpFactor{}
	codes := &recoveryCodes{}
	fs := &factors{list: []Factor{app, codes, pk}, authenticator: app, recoveryCodes: codes,
		log: slog.New(slog.NewTextHandler(io.Discard, nil))}

	both := Account{ID: "acc_a", MFA: MFA{Secret: "v1.sealed"}, Comment: "has passkey"}
	if got := fs.enrolled(both); !slices.Equal(got, []string{KindTOTP, KindRecoveryCode, "passkey"}) {
		t.Fatalf("enrolled: %v", got)
	}
	if got := fs.enrolled(Account{ID: "acc_b", Comment: "has passkey"}); !slices.Equal(got, []string{"passkey"}) {
		t.Fatalf("a passkey alone: %v", got)
	}
	f, ok := fs.byKind("passkey")
	if !ok {
		t.Fatal("passkey not found")
	}
	if ch, err := f.Challenge(context.Background(), both); err != nil || ch.(map[string]string)["challenge"] != "for acc_a" {
		t.Fatalf("challenge: %v %v", ch, err)
	}
	if ch, err := app.Challenge(context.Background(), both); err != nil || ch != nil {
		t.Fatalf("a code's challenge: %v %v", ch, err)
	}
	done := false
	if _, err := f.Verify(context.Background(), both, Settings{}, Answer{Response: []byte(`{"ok":true}`)}, "", StepWrite{Done: func(*Account) { done = true }}); err != nil || !done {
		t.Fatalf("verify: %v, step done %v", err, done)
	}
	if _, ok := fs.byKind("sms"); ok {
		t.Fatal("an unknown kind found")
	}

	a := both
	fs.clear(&a)
	if a.MFA.Secret != "" || a.Comment != "" || a.MFA.BrowserEpoch != 1 {
		t.Fatalf("cleared: %+v", a)
	}
	if got := fs.enrolled(a); len(got) != 0 {
		t.Fatalf("enrolled after clear: %v", got)
	}
	codes.recovery = failingCodes{} // the recovery codes' store fails too: both are tried
	fs.remove(context.Background(), a)
	if !slices.Equal(pk.removed, []string{"acc_a"}) {
		t.Fatalf("passkey removed: %v", pk.removed)
	}
}

// failingCodes is a RecoveryCodes store that fails every call.
type failingCodes struct{}

func (failingCodes) RecoveryCodes(context.Context, string, string) ([]string, error) {
	return nil, errors.New("store down")
}
func (failingCodes) PutRecoveryCodes(context.Context, string, string, []string) error {
	return errors.New("store down")
}
func (failingCodes) UseRecoveryCode(context.Context, string, string, string) (int, error) {
	return 0, errors.New("store down")
}
