// Package faulttest is the fault suites' one harness (for tests only): a fresh store of
// each kind the suites run on, and the sweep that runs a flow with a store write failing
// at each of its writes in turn.
package faulttest

import (
	"context"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/truora/minidyn/server"

	"github.com/kagiya/kagiya/shared/account"
	"github.com/kagiya/kagiya/shared/faults"
	"github.com/kagiya/kagiya/shared/store/boltstore"
	"github.com/kagiya/kagiya/shared/store/dynamostore"
)

// Stores open a fresh store of each kind the suites run on, by name: the embedded store
// (bbolt) and DynamoDB (minidyn, in process). Each is closed when its test ends.
func Stores() map[string]func(t *testing.T) account.Store {
	return map[string]func(t *testing.T) account.Store{
		"bbolt": func(t *testing.T) account.Store {
			st, err := boltstore.Open(filepath.Join(t.TempDir(), "k.db"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return st
		},
		"minidyn": func(t *testing.T) account.Store {
			srv := httptest.NewServer(server.NewServer())
			t.Cleanup(srv.Close)
			db := dynamodb.New(dynamodb.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL),
				Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")})
			if err := dynamostore.CreateTable(context.Background(), db, "kagiya"); err != nil {
				t.Fatal(err)
			}
			return dynamostore.New(db, "kagiya", 0)
		},
	}
}

// Writes counts the store writes made through plan so far.
func Writes(plan *faults.Plan) int {
	n := 0
	for _, m := range faults.StoreWrites() {
		n += plan.Calls(m)
	}
	return n
}

// Answer is what a flow's request got back.
type Answer struct {
	Status int
	Body   string
}

// Shows is the first word of the store's or the SDK's in body ("" if none): what an
// answer under a fault must never show.
func Shows(body string) string {
	for _, w := range append([]string{"Throttl", "DynamoDB", "exceeds", "UpdateItem", "operation error", "deadline"}, faults.StoreWrites()...) {
		if strings.Contains(body, w) {
			return w
		}
	}
	return ""
}

// A Flow is one flow that writes. Prepare makes what it needs on st (no fault yet) and
// returns its request, which the sweep sends under a fault and again once the fault has
// cleared, and a check of what the flow leaves (nil: none).
type Flow func(t *testing.T, st account.Store) (send func() Answer, after func(t *testing.T))

// EachWrite runs flow on a fresh store from open without a fault, which must answer as
// ok allows and make at least one store write; then, on a fresh store each time, with
// each of those writes in turn failing (DynamoDB's throttling, after the SDK's retries).
// Under the fault the answer is the flow's own (the failed write was one it can do
// without) or a server error, and neither shows anything of the store (Shows); after a
// server error the same request, once the fault has cleared, gets the flow's own answer
// (no link or code used up, no attempt left counted). The flow's check runs each time.
func EachWrite(t *testing.T, open func(t *testing.T) account.Store, ok func(status int) bool, flow Flow) {
	t.Helper()
	plan := &faults.Plan{}
	send, after := flow(t, faults.NewStore(open(t), plan))
	before := Writes(plan)
	want := send()
	n := Writes(plan) - before
	if !ok(want.Status) {
		t.Fatalf("without a fault: %d %s", want.Status, want.Body)
	}
	if n == 0 {
		t.Fatal("the flow made no store write")
	}
	if after != nil {
		after(t)
	}
	for k := 1; k <= n; k++ {
		plan := &faults.Plan{}
		send, after := flow(t, faults.NewStore(open(t), plan))
		plan.Add(faults.Rule{Methods: faults.StoreWrites(), Skip: k - 1, Times: 1, Err: faults.Throttling("DynamoDB", "UpdateItem")})
		got := send()
		plan.Clear()
		what := func(s string) string {
			return fmt.Sprintf("write %d of %d (%s) failing: %s", k, n, strings.Join(plan.Failures(), ", "), s)
		}
		if w := Shows(got.Body); w != "" {
			t.Fatalf("%s: %d %s shows %q", what("the answer"), got.Status, got.Body, w)
		}
		switch {
		case got.Status == want.Status:
		case got.Status >= 500:
			again := send()
			if w := Shows(again.Body); w != "" {
				t.Fatalf("%s: %d %s shows %q", what("the retry"), again.Status, again.Body, w)
			}
			if again.Status != want.Status {
				t.Fatalf("%s: %d %s, want %d", what("the same request once the fault cleared"), again.Status, again.Body, want.Status)
			}
		default:
			t.Fatalf("%s: %d %s, want %d or a server error", what("the answer"), got.Status, got.Body, want.Status)
		}
		if after != nil {
			func() {
				defer func() {
					if t.Failed() {
						t.Logf("%s (answered %d)", what("the check after"), got.Status)
					}
				}()
				after(t)
			}()
		}
	}
}
