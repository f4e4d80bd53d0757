package bulk_test

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kagiya/kagiya/shared/account"
	"github.com/kagiya/kagiya/shared/bulk"
	"github.com/kagiya/kagiya/shared/password"
	"github.com/kagiya/kagiya/shared/policy"
)

// rowsReader produces a CSV of n rows on the fly, so the file itself takes no memory.
type rowsReader struct {
	n, i int
	buf  []byte
}

func (r *rowsReader) Read(p []byte) (int, error) {
	for len(r.buf) == 0 {
		if r.i > r.n {
			return 0, io.EOF
		}
		if r.i == 0 {
			r.buf = []byte("mail_account,password,mail_capacity\r\n")
		} else {
			r.buf = fmt.Appendf(nil, "user%07d,Shin-Pass-%03d-%04d-Ok!,20\r\n", r.i, r.i/10000, r.i%10000)
		}
		r.i++
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	return n, nil
}

// peakHeap samples the heap while f runs and returns the highest in-use bytes above
// what was in use before.
func peakHeap(f func()) uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	var peak atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var m runtime.MemStats
		for {
			runtime.ReadMemStats(&m)
			if m.HeapInuse > base && m.HeapInuse-base > peak.Load() {
				peak.Store(m.HeapInuse - base)
			}
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	f()
	close(stop)
	wg.Wait()
	return peak.Load()
}

// BenchmarkValidate streams 100,000 and 1,000,000-row files through the validator
// (standard12 checks on every password, duplicate detection, existing accounts: 10,000).
func BenchmarkValidate(b *testing.B) {
	p, _ := policy.Get("standard12")
	existing := map[string]account.ExistingAccount{}
	for i := range 10_000 {
		existing[fmt.Sprintf("user%07d@example.com", i)] = account.ExistingAccount{Role: account.RoleUser}
	}
	for _, n := range []int{100_000, 1_000_000} {
		b.Run(fmt.Sprintf("rows=%d", n), func(b *testing.B) {
			var peak uint64
			for b.Loop() {
				peak = max(peak, peakHeap(func() {
					res, err := bulk.Validate(context.Background(), func(context.Context) (io.ReadCloser, error) { return io.NopCloser(&rowsReader{n: n}), nil }, bulk.Rules{Mode: "update", Domains: []string{"example.com"},
						Preset: p, ActorRole: account.RoleOwner, Existing: existing})
					if err != nil || res.ProblemsTotal != 0 || res.Rows != n {
						b.Fatalf("%+v %v", res.Problems, err)
					}
				}))
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
			b.ReportMetric(float64(peak)/(1<<20), "peak-MiB")
		})
	}
}

// BenchmarkApply measures rows applied per second with the production argon2id parameters
// on the embedded store (update mode: hash, write, audit per row). Compare with
// password.BenchmarkHashDefaultParallel, the machine's raw hash rate on all cores.
func BenchmarkApply(b *testing.B) {
	const rows = 300
	e := newEnvHashing(b, backends(b)["bbolt"], rows, password.Default)
	e.runner.Workers = 0 // the default: two per core
	for b.Loop() {
		_, key := e.upload(b, "bench.csv", "update", false, file(rows, -1))
		if err := e.runner.Run(context.Background(), key); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
