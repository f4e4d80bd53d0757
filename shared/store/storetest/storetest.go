// Package storetest is the contract every account.Store must meet, run against each
// implementation (embedded, DynamoDB on dynalite, DynamoDB on minidyn).
package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/kagiya/kagiya/shared/account"
	"github.com/kagiya/kagiya/shared/bulk"
)

// Features says what a backend can do; cases that need a missing feature skip, saying why.
type Features struct {
	Transactions bool
	Name         string
}

// Run runs the contract. newStore must return an empty store for each call.
func Run(t *testing.T, f Features, newStore func(t *testing.T) account.Store) {
	ctx := context.Background()
	at := time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)
	tenant := func(id string) account.Tenant {
		return account.Tenant{ID: id, Settings: account.Settings{PolicyPreset: "basic8", LockoutThreshold: 5}, CreatedAt: at}
	}
	acct := func(loginID string, role account.Role) account.Account {
		tid, ok := account.ParseLoginID(loginID)
		if !ok {
			t.Fatalf("bad login id %q", loginID)
		}
		return account.Account{TenantID: tid, LoginID: loginID, Role: role, PasswordHash: "$argon2id$x",
			QuotaGB: 5, Comment: "営業部", CreatedAt: at, UpdatedAt: at, PasswordChangedAt: at}
	}

	t.Run("TenantRoundTrip", func(t *testing.T) {
		if !f.Transactions {
			t.Skipf("%s has no transactions, which creating a tenant with its owner needs", f.Name)
		}
		s := newStore(t)
		if err := s.CreateTenant(ctx, tenant("example.com"), acct("Owner@Example.com", account.RoleOwner)); err != nil {
			t.Fatal(err)
		}
		got, err := s.GetTenant(ctx, "example.com")
		if err != nil || got.Settings.PolicyPreset != "basic8" || got.Settings.LockoutThreshold != 5 || !got.CreatedAt.Equal(at) {
			t.Fatalf("GetTenant = %+v, %v", got, err)
		}
		owner, err := s.GetAccount(ctx, "example.com", "owner@example.com")
		if err != nil || owner.LoginID != "Owner@Example.com" || owner.Role != account.RoleOwner || owner.Version != 1 {
			t.Fatalf("owner = %+v, %v", owner, err)
		}
		if err := s.CreateTenant(ctx, tenant("example.com"), acct("other@example.com", account.RoleOwner)); !errors.Is(err, account.ErrConflict) {
			t.Fatalf("second CreateTenant err = %v, want ErrConflict", err)
		}
		if _, err := s.GetTenant(ctx, "nowhere.example"); !errors.Is(err, account.ErrNotFound) {
			t.Fatalf("GetTenant(absent) err = %v", err)
		}
		got.Settings.HistoryDepth, got.Settings.MaxAgeDays = 5, 90
		if err := s.UpdateTenant(ctx, got); err != nil {
			t.Fatal(err)
		}
		if again, _ := s.GetTenant(ctx, "example.com"); again.Settings.HistoryDepth != 5 || again.Settings.MaxAgeDays != 90 || again.Settings.PolicyPreset != "basic8" {
			t.Fatalf("after UpdateTenant %+v", again)
		}
		if err := s.UpdateTenant(ctx, tenant("nowhere.example")); !errors.Is(err, account.ErrNotFound) {
			t.Fatalf("UpdateTenant(absent) err = %v", err)
		}
	})

	t.Run("TenantCreationIsAllOrNothing", func(t *testing.T) {
		if !f.Transactions {
			t.Skipf("%s has no transactions; this case runs on the backends that do", f.Name)
		}
		s := newStore(t)
		// The owner's account exists already (say, left behind): the tenant must not appear.
		if err := s.CreateAccount(ctx, acct("boss@atomic.example", account.RoleUser)); err != nil {
			t.Fatal(err)
		}
		err := s.CreateTenant(ctx, tenant("atomic.example"), acct("boss@atomic.example", account.RoleOwner))
		if !errors.Is(err, account.ErrConflict) {
			t.Fatalf("CreateTenant err = %v, want ErrConflict", err)
		}
		if _, err := s.GetTenant(ctx, "atomic.example"); !errors.Is(err, account.ErrNotFound) {
			t.Fatalf("tenant half-created: GetTenant err = %v", err)
		}
		a, _ := s.GetAccount(ctx, "atomic.example", "boss@atomic.example")
		if a.Role != account.RoleUser {
			t.Fatalf("existing account overwritten: %+v", a)
		}
	})

	t.Run("AccountCRUD", func(t *testing.T) {
		s := newStore(t)
		a := acct("Taro.Yamada@Example.com", account.RoleUser)
		if err := s.CreateAccount(ctx, a); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateAccount(ctx, acct("taro.yamada@example.COM", account.RoleUser)); !errors.Is(err, account.ErrConflict) {
			t.Fatalf("duplicate (other case) err = %v, want ErrConflict", err)
		}
		got, err := s.GetAccount(ctx, "example.com", "taro.yamada@example.com")
		if err != nil {
			t.Fatal(err)
		}
		if got.LoginID != a.LoginID || got.Comment != "営業部" || got.QuotaGB != 5 || got.Version != 1 || !got.PasswordChangedAt.Equal(at) {
			t.Fatalf("got %+v", got)
		}
		got.QuotaGB, got.ForceChange, got.LockedAt, got.SessionEpoch = 10, true, at, 7
		got.PasswordHistory = []string{"$argon2id$old1", "$argon2id$old2"}
		upd, err := s.UpdateAccount(ctx, got)
		if err != nil || upd.Version != 2 {
			t.Fatalf("UpdateAccount = %+v, %v", upd, err)
		}
		again, _ := s.GetAccount(ctx, "example.com", "taro.yamada@example.com")
		if again.QuotaGB != 10 || again.SessionEpoch != 7 || fmt.Sprint(again.PasswordHistory) != "[$argon2id$old1 $argon2id$old2]" || !again.ForceChange || !again.LockedAt.Equal(at) || again.Version != 2 {
			t.Fatalf("after update %+v", again)
		}
		// got still carries version 1: a stale write.
		if _, err := s.UpdateAccount(ctx, got); !errors.Is(err, account.ErrConflict) {
			t.Fatalf("stale update err = %v, want ErrConflict", err)
		}
		if err := s.DeleteAccount(ctx, "example.com", "taro.yamada@example.com"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.GetAccount(ctx, "example.com", "taro.yamada@example.com"); !errors.Is(err, account.ErrNotFound) {
			t.Fatalf("after delete err = %v", err)
		}
		if err := s.DeleteAccount(ctx, "example.com", "taro.yamada@example.com"); !errors.Is(err, account.ErrNotFound) {
			t.Fatalf("second delete err = %v", err)
		}
		if _, err := s.UpdateAccount(ctx, again); !errors.Is(err, account.ErrNotFound) && !errors.Is(err, account.ErrConflict) {
			t.Fatalf("update of deleted err = %v", err)
		}
		if _, err := s.GetAccount(ctx, "example.com", "taro.yamada@example.com"); !errors.Is(err, account.ErrNotFound) {
			t.Fatal("update of a deleted account brought it back")
		}
	})

	t.Run("ConcurrentUpdatesOneWins", func(t *testing.T) {
		s := newStore(t)
		if err := s.CreateAccount(ctx, acct("race@example.com", account.RoleUser)); err != nil {
			t.Fatal(err)
		}
		base, _ := s.GetAccount(ctx, "example.com", "race@example.com")
		const n = 8
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				a := base
				a.Comment = fmt.Sprintf("writer %d", i)
				_, errs[i] = s.UpdateAccount(ctx, a)
			}()
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			switch {
			case err == nil:
				ok++
			case !errors.Is(err, account.ErrConflict):
				t.Fatalf("unexpected error %v", err)
			}
		}
		if ok != 1 {
			t.Fatalf("%d writers succeeded from the same version, want 1", ok)
		}
		final, _ := s.GetAccount(ctx, "example.com", "race@example.com")
		if final.Version != 2 {
			t.Fatalf("version %d, want 2", final.Version)
		}
	})

	t.Run("ListAccountsPagesFiltersAndIsolates", func(t *testing.T) {
		s := newStore(t)
		for i := range 7 {
			if err := s.CreateAccount(ctx, acct(fmt.Sprintf("user%02d@example.com", i), account.RoleUser)); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.CreateAccount(ctx, acct("Sales.Lead@example.com", account.RoleAdmin)); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateAccount(ctx, acct("user99@other.example", account.RoleUser)); err != nil {
			t.Fatal(err)
		}
		var all []string
		after := ""
		for pages := 0; ; pages++ {
			if pages > 10 {
				t.Fatal("paging does not end")
			}
			page, next, err := s.ListAccounts(ctx, "example.com", account.ListQuery{Limit: 3, After: after})
			if err != nil {
				t.Fatal(err)
			}
			if len(page) > 3 {
				t.Fatalf("page of %d > limit 3", len(page))
			}
			for _, a := range page {
				all = append(all, a.Key())
			}
			if next == "" {
				break
			}
			after = next
		}
		want := []string{"sales.lead@example.com", "user00@example.com", "user01@example.com", "user02@example.com",
			"user03@example.com", "user04@example.com", "user05@example.com", "user06@example.com"}
		if fmt.Sprint(all) != fmt.Sprint(want) {
			t.Fatalf("listed %v\nwant %v", all, want)
		}
		found, next, err := s.ListAccounts(ctx, "example.com", account.ListQuery{Contains: "LEAD", Limit: 10})
		if err != nil || len(found) != 1 || found[0].LoginID != "Sales.Lead@example.com" || next != "" {
			t.Fatalf("search = %+v, %q, %v", found, next, err)
		}
		found, _, _ = s.ListAccounts(ctx, "example.com", account.ListQuery{Contains: "user9", Limit: 10})
		if len(found) != 0 {
			t.Fatalf("another tenant's account listed: %+v", found)
		}
		found, next, _ = s.ListAccounts(ctx, "example.com", account.ListQuery{Contains: "user0", Limit: 5})
		if len(found) != 5 || next == "" {
			t.Fatalf("filtered first page %d items, next %q", len(found), next)
		}
		rest, next, _ := s.ListAccounts(ctx, "example.com", account.ListQuery{Contains: "user0", Limit: 5, After: next})
		if len(rest) != 2 || next != "" {
			t.Fatalf("filtered second page %d items, next %q", len(rest), next)
		}
	})

	t.Run("RecordLogin", func(t *testing.T) {
		s := newStore(t)
		a := acct("u@example.com", account.RoleUser)
		a.FailedAttempts = 3
		if err := s.CreateAccount(ctx, a); err != nil {
			t.Fatal(err)
		}
		later := at.Add(time.Hour)
		if err := s.RecordLogin(ctx, "example.com", "u@example.com", later); err != nil {
			t.Fatal(err)
		}
		got, _ := s.GetAccount(ctx, "example.com", "u@example.com")
		if got.FailedAttempts != 0 || !got.LastLoginAt.Equal(later) || got.Version != 2 {
			t.Fatalf("after RecordLogin %+v", got)
		}
		if err := s.RecordLogin(ctx, "example.com", "nobody@example.com", later); !errors.Is(err, account.ErrNotFound) {
			t.Fatalf("RecordLogin(absent) err = %v", err)
		}
	})

	t.Run("Sessions", func(t *testing.T) {
		s := newStore(t)
		sess := account.Session{IDHash: "abc123", TenantID: "example.com", LoginKey: "u@example.com", Epoch: 3,
			CreatedAt: at, LastSeenAt: at, ExpiresAt: at.Add(12 * time.Hour)}
		if err := s.CreateSession(ctx, sess); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateSession(ctx, sess); !errors.Is(err, account.ErrConflict) {
			t.Fatalf("duplicate session err = %v", err)
		}
		got, err := s.GetSession(ctx, "abc123")
		if err != nil || got.LoginKey != "u@example.com" || got.Epoch != 3 || !got.ExpiresAt.Equal(sess.ExpiresAt) {
			t.Fatalf("GetSession = %+v, %v", got, err)
		}
		if err := s.TouchSession(ctx, "abc123", at.Add(5*time.Minute)); err != nil {
			t.Fatal(err)
		}
		got, _ = s.GetSession(ctx, "abc123")
		if !got.LastSeenAt.Equal(at.Add(5 * time.Minute)) {
			t.Fatalf("touch not stored: %+v", got)
		}
		if err := s.DeleteSession(ctx, "abc123"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.GetSession(ctx, "abc123"); !errors.Is(err, account.ErrNotFound) {
			t.Fatalf("after delete err = %v", err)
		}
		if err := s.TouchSession(ctx, "abc123", at); !errors.Is(err, account.ErrNotFound) {
			t.Fatalf("touching a deleted session err = %v (it must not come back)", err)
		}
	})

	t.Run("AuditNewestFirstPerTenant", func(t *testing.T) {
		s := newStore(t)
		for i := range 5 {
			e := account.AuditEvent{TenantID: "example.com", At: at.Add(time.Duration(i) * time.Second),
				Actor: "admin@example.com", Action: fmt.Sprintf("act%d", i), Target: "u@example.com", IP: "192.0.2.1", Result: "ok"}
			if err := s.AppendAudit(ctx, e); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.AppendAudit(ctx, account.AuditEvent{TenantID: "other.example", At: at.Add(time.Hour), Action: "foreign"}); err != nil {
			t.Fatal(err)
		}
		var got []string
		after := ""
		for range 5 {
			page, next, err := s.ListAudit(ctx, "example.com", after, 2)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range page {
				got = append(got, e.Action)
				if e.IP != "192.0.2.1" || e.Actor != "admin@example.com" {
					t.Fatalf("event fields lost: %+v", e)
				}
			}
			if next == "" {
				break
			}
			after = next
		}
		if fmt.Sprint(got) != "[act4 act3 act2 act1 act0]" {
			t.Fatalf("audit order %v", got)
		}
	})

	t.Run("HitCountsPerWindowAtomically", func(t *testing.T) {
		s := newStore(t)
		end := at.Add(time.Minute)
		const n = 20
		var wg sync.WaitGroup
		var mu sync.Mutex
		seen := map[int]bool{}
		for range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c, err := s.Hit(ctx, "login-ip#192.0.2.1#w1", end)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				seen[c] = true
				mu.Unlock()
			}()
		}
		wg.Wait()
		if len(seen) != n || !seen[1] || !seen[n] {
			t.Fatalf("parallel hits saw counts %v; want each of 1..%d once", seen, n)
		}
		if c, _ := s.Hit(ctx, "login-ip#192.0.2.1#w2", end.Add(time.Minute)); c != 1 {
			t.Fatalf("new window starts at %d", c)
		}
	})

	t.Run("AttemptsAreReservedAtomicallyAndLockOnce", func(t *testing.T) {
		s := newStore(t)
		if err := s.CreateAccount(ctx, acct("guess@example.com", account.RoleUser)); err != nil {
			t.Fatal(err)
		}
		const threshold, workers = 10, 40
		var wg sync.WaitGroup
		var mu sync.Mutex
		counts := map[int]int{}
		refused := 0
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				n, ok, err := s.ReserveAttempt(ctx, "example.com", "guess@example.com", threshold)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err != nil:
					t.Error(err)
				case ok:
					counts[n]++
				default:
					refused++
				}
			}()
		}
		wg.Wait()
		if len(counts) != threshold || refused != workers-threshold {
			t.Fatalf("reserved %v, refused %d; want each of 1..%d once and %d refused", counts, refused, threshold, workers-threshold)
		}
		for n, c := range counts {
			if c != 1 || n < 1 || n > threshold {
				t.Fatalf("count %d seen %d times", n, c)
			}
		}
		var locks sync.WaitGroup
		var lockedBy atomicCount
		for range 5 {
			locks.Add(1)
			go func() {
				defer locks.Done()
				ok, err := s.Lock(ctx, "example.com", "guess@example.com", threshold, at)
				if err != nil {
					t.Error(err)
				}
				if ok {
					lockedBy.add()
				}
			}()
		}
		locks.Wait()
		if lockedBy.get() != 1 {
			t.Fatalf("%d callers locked the account, want exactly 1", lockedBy.get())
		}
		a, _ := s.GetAccount(ctx, "example.com", "guess@example.com")
		if !a.LockedAt.Equal(at) || a.FailedAttempts != threshold {
			t.Fatalf("after lock %+v", a)
		}
		if _, ok, _ := s.ReserveAttempt(ctx, "example.com", "guess@example.com", 100); ok {
			t.Fatal("an attempt was reserved on a locked account")
		}
		// An update from before the lock must not undo it.
		stale := acct("guess@example.com", account.RoleUser)
		stale.Version = 1
		if _, err := s.UpdateAccount(ctx, stale); !errors.Is(err, account.ErrConflict) {
			t.Fatalf("stale update over the counter: %v", err)
		}
		if err := s.Unlock(ctx, "example.com", "guess@example.com"); err != nil {
			t.Fatal(err)
		}
		a, _ = s.GetAccount(ctx, "example.com", "guess@example.com")
		if a.Locked() || a.FailedAttempts != 0 {
			t.Fatalf("after unlock %+v", a)
		}
		if err := s.Unlock(ctx, "example.com", "guess@example.com"); !errors.Is(err, account.ErrConflict) {
			t.Fatalf("unlocking an unlocked account: %v", err)
		}
		if err := s.Unlock(ctx, "example.com", "nobody@example.com"); !errors.Is(err, account.ErrNotFound) {
			t.Fatalf("unlocking a missing account: %v", err)
		}
		if ok, err := s.Lock(ctx, "example.com", "guess@example.com", threshold, at); ok || err != nil {
			t.Fatalf("locked below the threshold: %v %v", ok, err)
		}
		if _, _, err := s.ReserveAttempt(ctx, "example.com", "nobody@example.com", 10); !errors.Is(err, account.ErrNotFound) {
			t.Fatalf("reserving on a missing account: %v", err)
		}
	})

	t.Run("TokensAreSingleUse", func(t *testing.T) {
		s := newStore(t)
		tok := account.Token{IDHash: "h1", Purpose: account.PurposeUnlock, TenantID: "example.com", LoginKey: "u@example.com",
			CreatedAt: at, ExpiresAt: at.Add(time.Hour)}
		if err := s.CreateToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateToken(ctx, tok); !errors.Is(err, account.ErrConflict) {
			t.Fatalf("duplicate token: %v", err)
		}
		if p, err := s.PeekToken(ctx, "h1", account.PurposeUnlock, at); err != nil || p.LoginKey != "u@example.com" {
			t.Fatalf("peek: %+v %v", p, err)
		}
		if _, err := s.PeekToken(ctx, "h1", account.PurposeReset, at); !errors.Is(err, account.ErrNotFound) {
			t.Fatalf("peek, other purpose: %v", err)
		}
		if _, err := s.PeekToken(ctx, "h1", account.PurposeUnlock, at.Add(time.Hour)); !errors.Is(err, account.ErrNotFound) {
			t.Fatalf("peek at expiry: %v", err)
		}
		if _, err := s.ConsumeToken(ctx, "h1", account.PurposeReset, at); !errors.Is(err, account.ErrNotFound) {
			t.Fatalf("other purpose: %v", err)
		}
		if _, err := s.ConsumeToken(ctx, "h1", account.PurposeUnlock, at.Add(time.Hour)); !errors.Is(err, account.ErrNotFound) {
			t.Fatalf("at expiry: %v", err)
		}
		var wins atomicCount
		var wg sync.WaitGroup
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				got, err := s.ConsumeToken(ctx, "h1", account.PurposeUnlock, at.Add(time.Minute))
				if err == nil {
					wins.add()
					if got.LoginKey != "u@example.com" || got.TenantID != "example.com" || !got.ExpiresAt.Equal(tok.ExpiresAt) {
						t.Errorf("token %+v", got)
					}
				} else if !errors.Is(err, account.ErrNotFound) {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if wins.get() != 1 {
			t.Fatalf("token used %d times", wins.get())
		}
		if _, err := s.PeekToken(ctx, "h1", account.PurposeUnlock, at); !errors.Is(err, account.ErrNotFound) {
			t.Fatalf("peek after use: %v", err)
		}
		if _, err := s.ConsumeToken(ctx, "nope", account.PurposeUnlock, at); !errors.Is(err, account.ErrNotFound) {
			t.Fatalf("unknown token: %v", err)
		}
	})

	t.Run("JobsRoundTripWithVersions", func(t *testing.T) {
		js, ok := newStore(t).(bulk.JobStore)
		if !ok {
			t.Fatal("the store does not keep bulk jobs")
		}
		j := bulk.Job{ID: "0123456789abcdef0123456789abcdef", TenantID: "example.com", Owner: "admin@example.com", Mode: "update",
			Filename: "パスワード一覧.csv", Key: "uploads/example.com/0123/パスワード一覧.csv", State: bulk.StateWaitingUpload,
			Skipped: []string{}, Errors: []bulk.Problem{}, CreatedAt: at}
		if err := js.CreateJob(ctx, j); err != nil {
			t.Fatal(err)
		}
		if err := js.CreateJob(ctx, j); !errors.Is(err, account.ErrConflict) {
			t.Fatalf("duplicate job: %v", err)
		}
		got, err := js.GetJob(ctx, "example.com", j.ID)
		if err != nil || got.Filename != j.Filename || got.Key != j.Key || got.Version != 1 || got.State != bulk.StateWaitingUpload {
			t.Fatalf("GetJob = %+v, %v", got, err)
		}
		if _, err := js.GetJob(ctx, "other.example", j.ID); !errors.Is(err, account.ErrNotFound) {
			t.Fatalf("another tenant's job: %v", err)
		}
		got.State, got.AppliedThrough, got.LeaseUntil = bulk.StateApplying, 42, at.Add(time.Minute)
		got.Errors = []bulk.Problem{{Line: 3, Column: "password", Code: "too_short"}}
		upd, err := js.UpdateJob(ctx, got)
		if err != nil || upd.Version != 2 {
			t.Fatalf("UpdateJob = %+v, %v", upd, err)
		}
		again, _ := js.GetJob(ctx, "example.com", j.ID)
		if again.AppliedThrough != 42 || !again.LeaseUntil.Equal(at.Add(time.Minute)) || len(again.Errors) != 1 || again.Errors[0].Code != "too_short" {
			t.Fatalf("after update %+v", again)
		}
		if _, err := js.UpdateJob(ctx, got); !errors.Is(err, account.ErrConflict) {
			t.Fatalf("stale job update: %v", err)
		}
	})
}

type atomicCount struct {
	mu sync.Mutex
	n  int
}

func (c *atomicCount) add() { c.mu.Lock(); c.n++; c.mu.Unlock() }
func (c *atomicCount) get() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}
