package httpapi_test

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/truora/minidyn/server"

	"github.com/kagiya/kagiya/shared/account"
	"github.com/kagiya/kagiya/shared/faults"
	"github.com/kagiya/kagiya/shared/store/boltstore"
	"github.com/kagiya/kagiya/shared/store/dynamostore"
)

// faultCases run the real handlers over a store that fails the calls a plan chooses, with
// the errors the AWS SDK returns, on the embedded store and on DynamoDB (minidyn).
var faultCases = map[string]func(*testing.T, *env, *faults.Plan){
	"RightPasswordsDuringAnOutageNeverLock": faultRightPasswordsNeverLock,
	"RightCodesDuringAnOutageNeverLock":     faultRightCodesNeverLock,
	"ForgotAnswersTheSameWhateverTheStore":  faultForgotAnswersTheSame,
}

func TestFaults(t *testing.T) {
	for name, run := range faultCases {
		t.Run(name+"/bbolt", func(t *testing.T) {
			st, err := boltstore.Open(filepath.Join(t.TempDir(), "k.db"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			plan := &faults.Plan{}
			run(t, newEnvOn(t, faults.NewStore(st, plan), withConfig(noThrottle)), plan)
		})
		t.Run(name+"/minidyn", func(t *testing.T) {
			srv := httptest.NewServer(server.NewServer())
			t.Cleanup(srv.Close)
			db := dynamodb.New(dynamodb.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL),
				Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")})
			if err := dynamostore.CreateTable(context.Background(), db, "kagiya"); err != nil {
				t.Fatal(err)
			}
			plan := &faults.Plan{}
			run(t, newEnvOn(t, faults.NewStore(dynamostore.New(db, "kagiya", 0), plan), withConfig(noThrottle)), plan)
		})
	}
}

// internalOnly checks that res is the plain 500 of a fault: no store or SDK text.
func internalOnly(t *testing.T, what string, res response) {
	t.Helper()
	body := string(res.body)
	if res.status != 500 || res.code(t) != "internal" {
		t.Fatalf("%s: %d %s, want 500 internal", what, res.status, body)
	}
	for _, leak := range []string{"Throttl", "DynamoDB", "exceeds", "UpdateItem", "RecordLogin", "UpdateAccount", "deadline"} {
		if strings.Contains(body, leak) {
			t.Fatalf("%s: the body shows %q: %s", what, leak, body)
		}
	}
}

// Right passwords whose success write fails are given back: once the fault clears the
// right password signs in, and the account was never locked (before, the reservations
// stayed counted, and a minute later the full counter locked the account).
func faultRightPasswordsNeverLock(t *testing.T, e *env, plan *faults.Plan) {
	e.withUser(userID, "user")
	threshold := account.DefaultLockoutThreshold // the tenant keeps the default
	plan.Fail("RecordLogin", faults.Throttling("DynamoDB", "UpdateItem"))
	for range threshold {
		internalOnly(t, "right password during the fault", e.client().login(userID, userPW))
	}
	plan.Clear()
	e.clock.Add(2 * account.StalledAttempt) // long past any attempt in flight
	if res := e.client().login(userID, userPW); res.status != 200 {
		t.Fatalf("the right password after the fault: %d %s", res.status, res.body)
	}
	a := e.account(userID)
	if a.Locked() || a.FailedAttempts != 0 {
		t.Fatalf("after the fault: locked %v, counter %d", a.Locked(), a.FailedAttempts)
	}
	if got := e.auditActions(t); strings.Contains(got, "lock:") {
		t.Fatalf("a lock was audited: %s", got)
	}
}

// Right codes whose write fails give their counted try back: after as many as lock the
// second factor, the right code still signs in once the fault clears.
func faultRightCodesNeverLock(t *testing.T, e *env, plan *faults.Plan) {
	e.withUser(userID, "user")
	c := e.signedIn(userID, userPW)
	secret, _ := e.enrol(c, userPW)
	b := e.client()
	ch := b.mfaLogin(userID, userPW)
	for range account.DefaultOTPLockThreshold + 1 {
		// A code is two account writes: its try counted, then the right code's own write.
		plan.FailNth("UpdateAccount", 2, faults.Timeout("DynamoDB", "UpdateItem"))
		internalOnly(t, "right code during the fault", b.giveCode(ch, map[string]any{"code": e.code(secret, 0)}))
	}
	plan.Clear()
	if res := b.giveCode(ch, map[string]any{"code": e.code(secret, 0)}); res.status != 200 {
		t.Fatalf("the right code after the fault: %d %s", res.status, res.body)
	}
	if a := e.account(userID); a.MFALocked() || a.MFA.Failures != 0 {
		t.Fatalf("after the fault: second factor locked %v, failures %d", a.MFALocked(), a.MFA.Failures)
	}
}

// forgot answers 202 with the same body for a known and an unknown account whichever of
// its store calls fails (before, a failure after the lookup, which only a known account
// reaches, was a 500: it told the two apart); once the fault clears, the link is mailed.
func faultForgotAnswersTheSame(t *testing.T, e *env, plan *faults.Plan) {
	e.withUser(userID, "user")
	forgot := func(id string) response {
		return e.client().do("POST", "/api/password/forgot", map[string]string{"login_id": id})
	}
	for _, method := range []string{"LookupLogin", "GetAccount", "Hit", "GetTenant", "CreateToken", "AppendAudit"} {
		e.clock.Add(time.Hour) // a fresh hour: the per-account and per-IP counters start again
		plan.Fail(method, faults.Throttling("DynamoDB", "Query"))
		known, unknown := forgot(userID), forgot("nobody@example.com")
		plan.Clear()
		if known.status != 202 || unknown.status != 202 || string(known.body) != string(unknown.body) {
			t.Fatalf("%s failing: known %d %s, unknown %d %s", method, known.status, known.body, unknown.status, unknown.body)
		}
	}
	before := len(e.mailbox.Messages(userID))
	e.clock.Add(time.Hour)
	if res := forgot(userID); res.status != 202 || len(e.mailbox.Messages(userID)) != before+1 {
		t.Fatalf("after the fault: %d, mails %d then %d", res.status, before, len(e.mailbox.Messages(userID)))
	}
}
