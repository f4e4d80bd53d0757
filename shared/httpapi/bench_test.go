package httpapi_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/kagiya/kagiya/shared/account"
	"github.com/kagiya/kagiya/shared/password"
)

// BenchmarkLogin measures sign-ins per second through the real handler on the embedded
// store, with the production argon2id parameters. Compare its ns/op with
// password.BenchmarkHashDefaultParallel on the same machine (README, Benchmarks).
func BenchmarkLogin(b *testing.B) {
	e := newEnv(b, withConfig(productionSignIn))
	benchmarkLogin(b, e)
}

// BenchmarkLoginDynamo is the same on DynamoDB (minidyn, in process), and reports the
// capacity units a sign-in consumes (reads/op, writes/op).
func BenchmarkLoginDynamo(b *testing.B) {
	d := newDynamoEnv(b, withConfig(productionSignIn))
	d.meter.Reset()
	benchmarkLogin(b, d.env)
	r, w := d.meter.Units()
	b.ReportMetric(r/float64(b.N), "reads/op")
	b.ReportMetric(w/float64(b.N), "writes/op")
}

func productionSignIn(c *account.Config) {
	c.Hash = password.Default
	c.LoginPerIPMinute = -1
	c.LoginPerAcctMinute = 1 << 30
}

func benchmarkLogin(b *testing.B, e *env) {
	body := []byte(`{"login_id":"` + ownerID + `","password":"` + ownerPW + `"}`)
	b.SetParallelism(4) // a server has many requests in flight, not one per core
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := httptest.NewRequest("POST", "/api/login", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.RemoteAddr = "192.0.2.1:1234"
			rec := httptest.NewRecorder()
			e.handler.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				b.Fatalf("login: %d %s", rec.Code, rec.Body)
			}
		}
	})
}
