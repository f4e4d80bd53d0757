package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/truora/minidyn/server"

	"github.com/kagiya/kagiya/shared/account"
	"github.com/kagiya/kagiya/shared/auditarchive"
	"github.com/kagiya/kagiya/shared/passkey/passkeytest"
	"github.com/kagiya/kagiya/shared/store/dynamostore"
)

// dynamoEnv is the API on DynamoDB (minidyn, in process) through a Meter that counts the
// capacity units each flow consumes. raw is the same table unmetered, for setting up.
type dynamoEnv struct {
	*env
	meter *dynamostore.Meter
	raw   *dynamostore.Store
	db    *dynamodb.Client // the table itself, for reading what a flow stored
}

func newDynamoEnv(tb testing.TB, opts ...option) *dynamoEnv {
	tb.Helper()
	srv := httptest.NewServer(server.NewServer())
	tb.Cleanup(srv.Close)
	db := dynamodb.New(dynamodb.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL),
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")})
	if err := dynamostore.CreateTable(context.Background(), db, "kagiya"); err != nil {
		tb.Fatal(err)
	}
	meter := dynamostore.NewMeter(db, "kagiya")
	// A warm function instance: the tenant stays in its cache for the whole run.
	opts = append([]option{withConfig(func(c *account.Config) {
		c.TenantCacheTTL = 1000 * time.Hour
		c.LoginPerIPMinute, c.LoginPerAcctMinute = -1, 1<<30
	})}, opts...)
	e := newEnvOn(tb, dynamostore.New(meter, "kagiya", 0), opts...)
	return &dynamoEnv{env: e, meter: meter, raw: dynamostore.New(db, "kagiya", 0), db: db}
}

// units runs f and returns the capacity units it consumed.
func (d *dynamoEnv) units(f func()) (reads, writes float64) {
	r0, w0 := d.meter.Units()
	f()
	r1, w1 := d.meter.Units()
	return r1 - r0, w1 - w0
}

// budget is a flow's DynamoDB goal per operation (0: no goal, only reported).
type budget struct{ reads, writes float64 }

// capacityFlow is one flow to measure: setup returns its operation.
type capacityFlow struct {
	name  string
	goal  budget
	setup func(d *dynamoEnv) func(i int)
}

// capacityFlows are the flows of the identity-core issue with their goals: a successful
// sign-in at most 1 read and 4 write units, a wrong password at most 3 writes, GET
// /api/me at most 1 read; the others are reported.
var capacityFlows = []capacityFlow{
	// An account's first sign-in of a day also moves its entry in the last-sign-in index
	// (2 more write units); the goals are for the others.
	{"signin_ok", budget{1, 4}, func(d *dynamoEnv) func(int) {
		d.untimed(func() { d.client().login(userID, userPW) })
		return func(int) { d.expect(d.client().login(userID, userPW), 200) }
	}},
	{"signin_known_browser", budget{1, 4}, func(d *dynamoEnv) func(int) {
		var home *client
		d.untimed(func() {
			home = d.signedIn(userID, userPW)
			home.login(userID, userPW) // the browser's first known sign-in starts its counter (once)
		})
		return func(int) { d.expect(home.login(userID, userPW), 200) }
	}},
	// The second factor costs at most 2 write units more than a sign-in without it: the
	// code's attempt is counted before it is checked (1), and the right code, the
	// sign-in record and the used-up challenge are one write (1); the challenge itself
	// is not stored.
	{"signin_mfa", budget{2, 6}, func(d *dynamoEnv) func(int) {
		var secret string
		op := func(int) {
			d.untimed(func() { d.clock.Add(30 * time.Second) })
			c := d.client()
			d.expect(c.giveCode(c.mfaLogin(userID, userPW), map[string]any{"code": d.code(secret, 0)}), 200)
		}
		d.untimed(func() {
			secret, _ = d.enrol(d.signedIn(userID, userPW), userPW)
			op(0) // a warm instance: the challenge key is made and loaded once
		})
		return op
	}},
	{"signin_remembered_browser", budget{1, 4}, func(d *dynamoEnv) func(int) {
		var home *client
		d.untimed(func() {
			secret, _ := d.enrol(d.signedIn(userID, userPW), userPW)
			home = d.client()
			home.giveCode(home.mfaLogin(userID, userPW), map[string]any{"code": d.code(secret, 0), "remember_browser": true})
			home.login(userID, userPW) // the browser's first known sign-in starts its counter (once)
		})
		return func(int) { d.expect(home.login(userID, userPW), 200) }
	}},
	{"signin_wrong_password", budget{1, 3}, func(d *dynamoEnv) func(int) {
		return func(i int) {
			if i%8 == 7 { // keep below the lockout threshold, outside the measurement
				d.untimed(func() {
					d.raw.RecordLogin(context.Background(), d.account(userID).TenantID, d.account(userID).ID, d.clock.Now())
				})
			}
			d.expect(d.client().login(userID, "Wrong-Guess-000!"), 401)
		}
	}},
	// A mail server's check costs no more than a sign-in (the service credential is read
	// once a warm instance, then every 30 s).
	{"service_verify", budget{1, 3}, func(d *dynamoEnv) func(int) {
		var secret string
		d.untimed(func() {
			secret = d.serviceCredential("mail")
			// The first check from the mail server's address remembers it (1 W more),
			// the second makes the account's map of known clients (once): a mail client
			// re-authenticating from its address is the steady state measured.
			d.expect(d.verify(secret, userID, userPW), 200)
			d.expect(d.verify(secret, userID, userPW), 200)
		})
		return func(int) { d.expect(d.verify(secret, userID, userPW), 200) }
	}},
	// A right app password is no attempt and no sign-in: the audit event is its one
	// write (its last use is written at most once an hour). Its reads are the account and
	// the account's app passwords (0.5 each, eventually consistent); where the login ID
	// leads is the instance's from the mail client's previous check, proven by the
	// account read.
	{"service_verify_app_password", budget{1, 1}, func(d *dynamoEnv) func(int) {
		var secret, pw string
		d.untimed(func() {
			secret = d.serviceCredential("mail")
			c := d.signedIn(userID, userPW)
			d.enrol(c, userPW)
			pw = c.do("POST", "/api/me/app-passwords", map[string]string{"name": "phone", "current_password": userPW}).json(d.t)["password"].(string)
			d.expect(d.verify(secret, userID, pw), 200)
		})
		return func(int) { d.expect(d.verify(secret, userID, pw), 200) }
	}},
	// A passkey alone: its options are signed, not stored (0 units); the sign-in reads
	// the passkey and the account (0.5 each, eventually consistent), and writes the
	// passkey's use (its counter, and the challenge taken once), the sign-in record, the
	// session and the audit event. Its goal is a password sign-in's.
	{"signin_passkey", budget{1, 4}, func(d *dynamoEnv) func(int) {
		auth := passkeytest.New(siteOrigin)
		d.untimed(func() {
			d.expect(d.signedIn(userID, userPW).addPasskey(auth, userPW, "phone"), 201)
			d.expect(d.client().passkeyLogin(auth), 200) // a warm instance: the challenge key is made and loaded once
		})
		return func(int) { d.expect(d.client().passkeyLogin(auth), 200) }
	}},
	// A passkey as the second factor after the password: the writes of a code's step;
	// its options read the flow's account and the account's passkeys, the step the
	// flow's account and the passkey the credential names.
	{"signin_password_then_passkey", budget{4, 6}, func(d *dynamoEnv) func(int) {
		auth := passkeytest.New(siteOrigin)
		op := func(int) {
			c := d.client()
			res := c.login(userID, userPW)
			challenge, _ := res.json(d.t)["challenge"].(string)
			d.untimed(func() { d.clock.Add(time.Second) })
			o := c.do("POST", "/api/login/mfa/passkey-options", map[string]string{"challenge": challenge})
			var opts struct {
				PublicKey json.RawMessage `json:"public_key"`
			}
			json.Unmarshal(o.body, &opts) //nolint:errcheck // the answer is checked below
			cred, err := auth.Get(opts.PublicKey)
			if err != nil {
				d.t.Fatal(err)
			}
			d.expect(c.giveCode(challenge, map[string]any{"credential": json.RawMessage(cred)}), 200)
		}
		d.untimed(func() {
			d.expect(d.signedIn(userID, userPW).addPasskey(auth, userPW, "phone"), 201)
			op(0) // a warm instance
		})
		return op
	}},
	{"signin_unknown_account", budget{}, func(d *dynamoEnv) func(int) {
		return func(int) { d.expect(d.client().login("nobody@example.com", userPW), 401) }
	}},
	{"me", budget{1, 0}, func(d *dynamoEnv) func(int) {
		var c *client
		d.untimed(func() { c = d.signedIn(userID, userPW) })
		return func(int) { d.expect(c.do("GET", "/api/me", nil), 200) }
	}},
	{"self_change", budget{}, func(d *dynamoEnv) func(int) {
		var c *client
		d.untimed(func() { c = d.signedIn(userID, userPW) })
		pws := []string{userPW, "Kawa-no-Sakana-7!"}
		return func(i int) {
			res := c.do("POST", "/api/me/password", map[string]string{"current_password": pws[i%2], "new_password": pws[(i+1)%2]})
			d.expect(res, 204)
			c.csrf = res.header.Get("X-CSRF-Token")
		}
	}},
	{"forgot", budget{}, func(d *dynamoEnv) func(int) {
		return func(int) {
			d.untimed(func() { d.clock.Add(time.Hour) }) // below the hourly cap of reset emails
			d.expect(d.client().do("POST", "/api/password/forgot", map[string]string{"login_id": userID}), 202)
		}
	}},
	{"reset", budget{}, func(d *dynamoEnv) func(int) {
		return func(i int) {
			var token string
			d.untimed(func() {
				d.clock.Add(time.Hour)
				d.client().do("POST", "/api/password/forgot", map[string]string{"login_id": userID})
				m := d.mailbox.Messages(userID)
				token = tokenFrom(d.t, m[len(m)-1], "reset")
			})
			d.expect(d.client().do("POST", "/api/password/reset", map[string]string{"token": token, "new_password": fmt.Sprintf("Atarashii-Pass-%d!", i)}), 200)
		}
	}},
	{"unlock", budget{}, func(d *dynamoEnv) func(int) {
		return func(int) {
			var token string
			d.untimed(func() {
				d.clock.Add(time.Second) // a link issued in the instant the last one was spent is void with it
				for range 10 {
					d.client().login(userID, "Wrong-Guess-000!")
				}
				m := d.mailbox.Messages(userID)
				token = tokenFrom(d.t, m[len(m)-1], "unlock")
			})
			d.expect(d.client().do("POST", "/api/unlock", map[string]string{"token": token}), 200)
		}
	}},
	{"bulk_row", budget{}, func(d *dynamoEnv) func(int) {
		var actorID string
		d.untimed(func() { actorID = d.account(ownerID).ID })
		return func(i int) {
			out, err := d.svc.Bulk.ApplyBulkChange(context.Background(), account.BulkChange{JobID: "job1", Line: i + 2,
				TenantID: d.tenant.ID, Actor: ownerID, ActorID: actorID, Mode: "update", LoginID: userID, Password: fmt.Sprintf("Bulk-Passw0rd-%d!", i),
				HasPassword: true, Settings: account.Settings{}.Effective()})
			if err != nil || out != account.BulkUpdated {
				d.t.Fatalf("bulk row: %s %v", out, err)
			}
		}
	}},
}

// measure runs n operations of f on a fresh API over DynamoDB and returns the units each
// consumed on average.
func measure(tb testing.TB, f capacityFlow, n int) (reads, writes float64) {
	d := newDynamoEnv(tb)
	d.untimed(func() { d.withUser(userID, "user") })
	op := f.setup(d)
	if b, ok := tb.(*testing.B); ok {
		b.ResetTimer()
	}
	for i := range n {
		r, w := d.units(func() { op(i) })
		if debugUnits {
			tb.Logf("op %d: %.1f R %.1f W", i, r, w)
		}
		reads, writes = reads+r, writes+w
	}
	return reads / float64(n), writes / float64(n)
}

func (f capacityFlow) check(tb testing.TB, reads, writes float64) {
	if f.goal != (budget{}) && (reads > f.goal.reads || writes > f.goal.writes) {
		tb.Errorf("%s: %.2f reads and %.2f writes an operation; the goal is at most %.0f and %.0f", f.name, reads, writes, f.goal.reads, f.goal.writes)
	}
}

// BenchmarkCapacity reports, per flow, the DynamoDB read and write units one operation
// consumes (reads/op, writes/op) on minidyn, counted by dynamostore.Meter.
func BenchmarkCapacity(b *testing.B) {
	for _, f := range capacityFlows {
		b.Run(f.name, func(b *testing.B) {
			r, w := measure(b, f, b.N)
			b.ReportMetric(r, "reads/op")
			b.ReportMetric(w, "writes/op")
			f.check(b, r, w)
		})
	}
}

// TestCapacityBudgets holds every flow to its goal on every test run, and the cost
// model's inputs (infra/cost/inputs.json) to what was measured.
func TestCapacityBudgets(t *testing.T) {
	raw, err := os.ReadFile("../../infra/cost/inputs.json")
	if err != nil {
		t.Fatal(err)
	}
	var inputs map[string]json.RawMessage
	json.Unmarshal(raw, &inputs) //nolint:errcheck // checked by what follows
	costKey := map[string]string{"signin_ok": "signin", "signin_mfa": "signin_mfa",
		"service_verify": "service_verify", "service_verify_app_password": "service_verify_app_password"}
	for _, f := range capacityFlows {
		t.Run(f.name, func(t *testing.T) {
			r, w := measure(t, f, 12)
			t.Logf("%s: %.2f reads/op, %.2f writes/op", f.name, r, w)
			f.check(t, r, w)
			if k, ok := costKey[f.name]; ok {
				var in struct {
					W float64 `json:"write_units"`
					R float64 `json:"read_units"`
				}
				if json.Unmarshal(inputs[k], &in) != nil || in.W != w || in.R != r {
					t.Errorf("infra/cost/inputs.json has %s at %v W, %v R; measured %.2f W, %.2f R: update it and regenerate docs/cost.md", k, in.W, in.R, w, r)
				}
			}
		})
	}
}

// untimed runs f outside both the timer and the meter's measurement.
func (d *dynamoEnv) untimed(f func()) {
	if b, ok := d.t.(*testing.B); ok {
		b.StopTimer()
		defer b.StartTimer()
	}
	r0, w0 := d.meter.Units()
	f()
	r1, w1 := d.meter.Units()
	d.meter.Add(-(r1 - r0), -(w1 - w0))
}

func (d *dynamoEnv) expect(res response, status int) {
	if res.status != status {
		d.t.Fatalf("got %d, want %d: %s", res.status, status, res.body)
	}
}

// debugUnits logs every operation's units.
const debugUnits = false

// TestStoredSizes measures what a sign-in leaves behind, for the cost model: the size of
// each item as DynamoDB counts it (the account, its login item and its index entries,
// the session, the audit event, the audit archive's object for it) and the bytes the API
// logs in AWS (the audit line: API Gateway's access log has the request); infra/cost/inputs.json must hold these figures (the log's within a few bytes:
// its times and duration vary).
func TestStoredSizes(t *testing.T) {
	d := newDynamoEnv(t, accessLogged) // as the functions log in AWS
	d.withUser(userID, "user")
	n := len(d.logs.String())
	d.expect(d.client().login(userID, userPW), 200)
	logged := len(d.logs.String()) - n
	out, err := d.db.Scan(context.Background(), &dynamodb.ScanInput{TableName: aws.String("kagiya")})
	if err != nil {
		t.Fatal(err)
	}
	accountID := d.account(userID).ID
	str := func(it map[string]types.AttributeValue, a string) string {
		v, _ := it[a].(*types.AttributeValueMemberS)
		if v == nil {
			return ""
		}
		return v.Value
	}
	got := map[string]int{"log_bytes_signin": logged}
	for _, it := range out.Items {
		pk, sk := str(it, "PK"), str(it, "SK")
		switch {
		case strings.HasSuffix(sk, "ACCOUNT#"+accountID):
			got["account_bytes"] = dynamostore.ItemSize(it)
			got["index_bytes"], got["index_entries"] = dynamostore.IndexEntriesSize(it)
		case pk == "LOGIN#"+userID:
			got["login_bytes"] = dynamostore.ItemSize(it)
		case pk == "SESSION#"+accountID:
			got["session_bytes"] = dynamostore.ItemSize(it)
		case strings.HasPrefix(pk, "AUDIT#") && str(it, "action") == "login" && str(it, "target") == userID:
			got["audit_signin_bytes"] = dynamostore.ItemSize(it)
			got["archive_object_bytes"] = archivedSize(t, it)
		}
	}
	raw, err := os.ReadFile("../../infra/cost/inputs.json")
	if err != nil {
		t.Fatal(err)
	}
	var in struct {
		Stored  map[string]int `json:"stored"`
		Archive struct {
			ObjectBytes int `json:"object_bytes"`
		} `json:"archive"`
	}
	if err := json.Unmarshal(raw, &in); err != nil {
		t.Fatal(err)
	}
	in.Stored["archive_object_bytes"] = in.Archive.ObjectBytes
	for k, v := range got {
		t.Logf("%s: %d", k, v)
		slack := 0
		if k == "log_bytes_signin" {
			slack = 16
		}
		if w := in.Stored[k]; w < v-slack || w > v+slack {
			t.Errorf("infra/cost/inputs.json has stored.%s = %d; measured %d: update it and regenerate docs/cost.md", k, w, v)
		}
	}
	if len(got) != 8 {
		t.Errorf("measured %v: an item was not found", got)
	}
	// The same sign-in's log with the request line the handler writes without an access
	// log (the local server): what the functions wrote before API Gateway's line stood in.
	local := newDynamoEnv(t)
	local.withUser(userID, "user")
	n = len(local.logs.String())
	local.expect(local.client().login(userID, userPW), 200)
	var before struct {
		Bytes int `json:"log_bytes_signin_with_request_line"`
	}
	json.Unmarshal(raw, &before) //nolint:errcheck // read above
	if v := len(local.logs.String()) - n; before.Bytes < v-16 || before.Bytes > v+16 {
		t.Errorf("infra/cost/inputs.json has log_bytes_signin_with_request_line = %d; measured %d", before.Bytes, v)
	}
}

// archivedSize is the size of the object the audit archive writes for item, given to it
// as the table's stream gives a new item.
func archivedSize(t *testing.T, item map[string]types.AttributeValue) int {
	t.Helper()
	image := map[string]events.DynamoDBAttributeValue{}
	for k, v := range item {
		switch v := v.(type) {
		case *types.AttributeValueMemberS:
			image[k] = events.NewStringAttribute(v.Value)
		case *types.AttributeValueMemberN:
			image[k] = events.NewNumberAttribute(v.Value)
		default:
			t.Fatalf("audit item attribute %s: %T", k, v)
		}
	}
	size := 0
	a := auditarchive.Archive{Bucket: "audit", Log: slog.New(slog.DiscardHandler),
		Put: func(_ context.Context, in *s3.PutObjectInput, _ ...func(*s3.Options)) (*s3.PutObjectOutput, error) {
			b, err := io.ReadAll(in.Body)
			size += len(b)
			return &s3.PutObjectOutput{}, err
		}}
	ev := events.DynamoDBEvent{Records: []events.DynamoDBEventRecord{{EventID: "8f5d9a3c2b1e4c7a9e0f6d4b2a1c3e5f", EventName: "INSERT",
		Change: events.DynamoDBStreamRecord{Keys: map[string]events.DynamoDBAttributeValue{"PK": image["PK"], "SK": image["SK"]}, NewImage: image}}}}
	if err := a.Handle(context.Background(), ev); err != nil || size == 0 {
		t.Fatalf("archive: %v, %d bytes", err, size)
	}
	return size
}

// The last-sign-in index is keyed by the week (UTC, from Monday): a sign-in later in the
// same week writes the account alone (the sign-in's 4 write units), and the first of a
// new week moves the entry too (index_move_write_units more: the old entry
// deleted, the new one put), as infra/cost/inputs.json takes them.
func TestLastSignInIndexMovesOnceAWeek(t *testing.T) {
	raw, err := os.ReadFile("../../infra/cost/inputs.json")
	if err != nil {
		t.Fatal(err)
	}
	var in struct {
		SignIn struct {
			W float64 `json:"write_units"`
		} `json:"signin"`
		Move float64 `json:"index_move_write_units"`
	}
	if err := json.Unmarshal(raw, &in); err != nil {
		t.Fatal(err)
	}
	d := newDynamoEnv(t)
	d.untimed(func() {
		d.withUser(userID, "user")
		d.expect(d.client().login(userID, userPW), 200) // Wednesday 2026-04-01
	})
	for _, step := range []struct {
		to   time.Time
		want float64
	}{
		{time.Date(2026, 4, 3, 9, 0, 0, 0, time.UTC), in.SignIn.W},            // Friday
		{time.Date(2026, 4, 5, 23, 30, 0, 0, time.UTC), in.SignIn.W},          // Sunday night
		{time.Date(2026, 4, 6, 0, 30, 0, 0, time.UTC), in.SignIn.W + in.Move}, // Monday: a new week
		{time.Date(2026, 4, 10, 9, 0, 0, 0, time.UTC), in.SignIn.W},           // that Friday
	} {
		d.untimed(func() { d.clock.Add(step.to.Sub(d.clock.Now())) })
		_, w := d.units(func() { d.expect(d.client().login(userID, userPW), 200) })
		if w != step.want {
			t.Errorf("a sign-in on %s: %.1f write units, want %.1f", step.to.Format("Monday 2006-01-02 15:04"), w, step.want)
		}
	}
}
