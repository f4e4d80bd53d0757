// Package storetest is the contract every account.Store must meet, run against each
// implementation (embedded, DynamoDB on dynalite, DynamoDB on minidyn). It has one group
// of cases per store role (Tenants, Logins, Accounts, Attempts, Sessions, Tokens, Audit,
// Counters, Jobs, Passkeys).
package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
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
	tenant := func(id string, domains ...string) account.Tenant {
		return account.Tenant{ID: id, Name: "Example " + id, Domains: domains,
			Settings: account.Settings{PolicyPreset: "basic8", LockoutThreshold: 5}, CreatedAt: at}
	}
	ids := 0
	acct := func(tenantID, loginID string, role account.Role) account.Account {
		ids++
		return account.Account{ID: fmt.Sprintf("acc_%s_%d", tenantID, ids), TenantID: tenantID, LoginID: loginID, Role: role,
			PasswordHash: "$argon2id$x", QuotaGB: 5, Comment: "営業部", CreatedAt: at, UpdatedAt: at, PasswordChangedAt: at}
	}
	// Creating an account writes it with its login ID's uniqueness item in one
	// transaction, so every case that needs an account needs transactions.
	needsAccounts := func(t *testing.T) {
		t.Helper()
		if !f.Transactions {
			t.Skipf("%s has no transactions, which creating an account with its login ID needs; this case runs on the backends that have them", f.Name)
		}
	}
	create := func(t *testing.T, s account.Store, a account.Account) account.Account {
		t.Helper()
		if err := s.CreateAccount(ctx, a); err != nil {
			t.Fatalf("CreateAccount(%s): %v", a.LoginID, err)
		}
		a.Version = 1
		return a
	}

	t.Run("Schema", func(t *testing.T) {
		s := newStore(t)
		version := func(want int) {
			t.Helper()
			if v, err := s.SchemaVersion(ctx); err != nil || v != want {
				t.Fatalf("SchemaVersion = %d, %v; want %d", v, err, want)
			}
		}
		version(1) // a table that records no version holds version 1 items
		if err := s.RaiseSchemaVersion(ctx, 3); err != nil {
			t.Fatal(err)
		}
		version(3)
		if err := s.RaiseSchemaVersion(ctx, 2); err != nil { // an older version deployed again
			t.Fatal(err)
		}
		version(3)
		if err := s.RaiseSchemaVersion(ctx, 4); err != nil {
			t.Fatal(err)
		}
		version(4)
	})

	t.Run("Tenants", func(t *testing.T) {
		needsAccounts(t)
		t.Run("RoundTrip", func(t *testing.T) {
			s := newStore(t)
			owner := acct("t1", "Owner@Example.com", account.RoleOwner)
			if err := s.CreateTenant(ctx, tenant("t1", "example.com", "example.co.jp"), owner); err != nil {
				t.Fatal(err)
			}
			got, err := s.GetTenant(ctx, "t1")
			if err != nil || got.Name != "Example t1" || fmt.Sprint(got.Domains) != "[example.com example.co.jp]" ||
				got.Settings.PolicyPreset != "basic8" || got.Settings.LockoutThreshold != 5 || !got.CreatedAt.Equal(at) {
				t.Fatalf("GetTenant = %+v, %v", got, err)
			}
			ref, err := s.LookupLogin(ctx, "owner@example.com")
			if err != nil || ref != (account.LoginRef{TenantID: "t1", AccountID: owner.ID}) {
				t.Fatalf("owner's login = %+v, %v", ref, err)
			}
			o, err := s.GetAccount(ctx, "t1", owner.ID)
			if err != nil || o.LoginID != "Owner@Example.com" || o.Role != account.RoleOwner || o.Version != 1 || o.ID != owner.ID {
				t.Fatalf("owner = %+v, %v", o, err)
			}
			if err := s.CreateTenant(ctx, tenant("t1"), acct("t1", "other@example.com", account.RoleOwner)); !errors.Is(err, account.ErrConflict) {
				t.Fatalf("second CreateTenant err = %v, want ErrConflict", err)
			}
			if _, err := s.LookupLogin(ctx, "other@example.com"); !errors.Is(err, account.ErrNotFound) {
				t.Fatalf("a refused tenant left its owner's login ID: %v", err)
			}
			if _, err := s.GetTenant(ctx, "nowhere"); !errors.Is(err, account.ErrNotFound) {
				t.Fatalf("GetTenant(absent) err = %v", err)
			}
			got.Name, got.Domains = "Renamed", []string{"example.org"}
			got.Settings.HistoryDepth, got.Settings.MaxAgeDays = 5, 90
			if err := s.UpdateTenant(ctx, got); err != nil {
				t.Fatal(err)
			}
			if again, _ := s.GetTenant(ctx, "t1"); again.Name != "Renamed" || fmt.Sprint(again.Domains) != "[example.org]" ||
				again.Settings.HistoryDepth != 5 || again.Settings.MaxAgeDays != 90 || again.Settings.PolicyPreset != "basic8" {
				t.Fatalf("after UpdateTenant %+v", again)
			}
			if err := s.UpdateTenant(ctx, tenant("nowhere")); !errors.Is(err, account.ErrNotFound) {
				t.Fatalf("UpdateTenant(absent) err = %v", err)
			}
		})
		t.Run("CreationIsAllOrNothing", func(t *testing.T) {
			s := newStore(t)
			// The owner's login ID belongs to an account of another tenant already.
			existing := create(t, s, acct("t0", "boss@atomic.example", account.RoleUser))
			err := s.CreateTenant(ctx, tenant("t2", "atomic.example"), acct("t2", "Boss@Atomic.example", account.RoleOwner))
			if !errors.Is(err, account.ErrConflict) {
				t.Fatalf("CreateTenant err = %v, want ErrConflict", err)
			}
			if _, err := s.GetTenant(ctx, "t2"); !errors.Is(err, account.ErrNotFound) {
				t.Fatalf("tenant half-created: GetTenant err = %v", err)
			}
			if ref, _ := s.LookupLogin(ctx, "boss@atomic.example"); ref.AccountID != existing.ID {
				t.Fatalf("existing login ID overwritten: %+v", ref)
			}
		})
	})

	t.Run("Domains", func(t *testing.T) {
		needsAccounts(t)
		s := newStore(t)
		for _, id := range []string{"t1", "t2"} {
			if err := s.CreateTenant(ctx, tenant(id, id+".example"), acct(id, "owner@"+id+".example", account.RoleOwner)); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.DomainHolder(ctx, "example.com"); !errors.Is(err, account.ErrNotFound) {
			t.Fatalf("DomainHolder of a free domain: %v", err)
		}
		claimed := func(id string, domains ...string) account.Tenant {
			tn := tenant(id, domains...)
			tn.Claims = []account.DomainClaim{{Domain: "example.com", Token: "tok-" + id, RequestedAt: at, VerifiedAt: at.Add(time.Minute)}}
			return tn
		}
		if err := s.ClaimDomain(ctx, claimed("t1", "t1.example", "example.com"), "example.com"); err != nil {
			t.Fatal(err)
		}
		if h, err := s.DomainHolder(ctx, "example.com"); err != nil || h != "t1" {
			t.Fatalf("DomainHolder = %q, %v", h, err)
		}
		got, err := s.GetTenant(ctx, "t1")
		if err != nil || fmt.Sprint(got.Domains) != "[t1.example example.com]" || len(got.Claims) != 1 ||
			got.Claims[0] != (account.DomainClaim{Domain: "example.com", Token: "tok-t1", RequestedAt: at, VerifiedAt: at.Add(time.Minute)}) {
			t.Fatalf("the claiming tenant = %+v, %v", got, err)
		}
		// Claiming again is harmless; another tenant cannot, and nothing of it is written.
		if err := s.ClaimDomain(ctx, claimed("t1", "t1.example", "example.com"), "example.com"); err != nil {
			t.Fatalf("claim again: %v", err)
		}
		if err := s.ClaimDomain(ctx, claimed("t2", "example.com"), "example.com"); !errors.Is(err, account.ErrConflict) {
			t.Fatalf("a second tenant's claim: %v, want ErrConflict", err)
		}
		if got, _ := s.GetTenant(ctx, "t2"); fmt.Sprint(got.Domains) != "[t2.example]" || len(got.Claims) != 0 {
			t.Fatalf("the refused claim wrote the tenant: %+v", got)
		}
		if err := s.ClaimDomain(ctx, claimed("t9", "example.org"), "example.org"); !errors.Is(err, account.ErrNotFound) {
			t.Fatalf("a claim of a missing tenant: %v, want ErrNotFound", err)
		}
		if _, err := s.DomainHolder(ctx, "example.org"); !errors.Is(err, account.ErrNotFound) {
			t.Fatalf("a missing tenant's claim left its domain held: %v", err)
		}
		// Releasing: only the releasing tenant's own items go; then the domain is free.
		if err := s.ReleaseDomains(ctx, tenant("t2"), []string{"example.com", "t2.example"}); err != nil {
			t.Fatal(err)
		}
		if h, err := s.DomainHolder(ctx, "example.com"); err != nil || h != "t1" {
			t.Fatalf("another tenant released t1's domain: %q, %v", h, err)
		}
		if got, err := s.GetTenant(ctx, "t2"); err != nil || len(got.Domains) != 0 {
			t.Fatalf("the releasing tenant = %+v, %v", got, err)
		}
		if err := s.ReleaseDomains(ctx, tenant("t1", "t1.example"), []string{"example.com"}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.DomainHolder(ctx, "example.com"); !errors.Is(err, account.ErrNotFound) {
			t.Fatalf("a released domain: %v", err)
		}
		if err := s.ClaimDomain(ctx, claimed("t2", "example.com"), "example.com"); err != nil {
			t.Fatalf("a claim of a released domain: %v", err)
		}
		if h, _ := s.DomainHolder(ctx, "example.com"); h != "t2" {
			t.Fatalf("holder after the second claim: %q", h)
		}
	})

	t.Run("Logins", func(t *testing.T) {
		needsAccounts(t)
		t.Run("UniqueAcrossTenantsCaseInsensitive", func(t *testing.T) {
			s := newStore(t)
			a := create(t, s, acct("t1", "Taro.Yamada@Example.com", account.RoleUser))
			if err := s.CreateAccount(ctx, acct("t2", "taro.yamada@example.COM", account.RoleUser)); !errors.Is(err, account.ErrConflict) {
				t.Fatalf("same login ID in another tenant err = %v, want ErrConflict", err)
			}
			if ref, err := s.LookupLogin(ctx, "taro.yamada@example.com"); err != nil || ref != (account.LoginRef{TenantID: "t1", AccountID: a.ID}) {
				t.Fatalf("LookupLogin = %+v, %v", ref, err)
			}
			if _, err := s.LookupLogin(ctx, "nobody@example.com"); !errors.Is(err, account.ErrNotFound) {
				t.Fatalf("LookupLogin(absent) err = %v", err)
			}
		})
		t.Run("ParallelCreationsInTwoTenantsOneWins", func(t *testing.T) {
			s := newStore(t)
			const n = 6
			var wg sync.WaitGroup
			errs := make([]error, n)
			accts := make([]account.Account, n)
			for i := range n {
				accts[i] = acct(fmt.Sprintf("t%d", i%2), "same@example.com", account.RoleUser)
			}
			for i := range n {
				wg.Add(1)
				go func() { defer wg.Done(); errs[i] = s.CreateAccount(ctx, accts[i]) }()
			}
			wg.Wait()
			winner := -1
			for i, err := range errs {
				switch {
				case err == nil && winner >= 0:
					t.Fatalf("two creations of one login ID succeeded (%d and %d)", winner, i)
				case err == nil:
					winner = i
				case !errors.Is(err, account.ErrConflict):
					t.Fatalf("creation %d: %v", i, err)
				}
			}
			if winner < 0 {
				t.Fatal("no creation succeeded")
			}
			ref, _ := s.LookupLogin(ctx, "same@example.com")
			if ref.AccountID != accts[winner].ID {
				t.Fatalf("login points at %+v, want the winner %s", ref, accts[winner].ID)
			}
			for i, a := range accts {
				if _, err := s.GetAccount(ctx, a.TenantID, a.ID); (i == winner) != (err == nil) {
					t.Fatalf("account %d present = %v, want only the winner", i, err == nil)
				}
			}
		})
		t.Run("ChangeLoginIDIsOneTransaction", func(t *testing.T) {
			s := newStore(t)
			a := create(t, s, acct("t1", "old@example.com", account.RoleUser))
			create(t, s, acct("t2", "taken@example.com", account.RoleUser))
			if _, err := s.ChangeLoginID(ctx, a, "Taken@example.com"); !errors.Is(err, account.ErrConflict) {
				t.Fatalf("change to a taken login ID err = %v", err)
			}
			if ref, err := s.LookupLogin(ctx, "old@example.com"); err != nil || ref.AccountID != a.ID {
				t.Fatalf("a refused change lost the old login ID: %+v %v", ref, err)
			}
			moved, err := s.ChangeLoginID(ctx, a, "New@Example.com")
			if err != nil || moved.LoginID != "New@Example.com" || moved.Version != 2 || moved.ID != a.ID {
				t.Fatalf("ChangeLoginID = %+v, %v", moved, err)
			}
			if _, err := s.LookupLogin(ctx, "old@example.com"); !errors.Is(err, account.ErrNotFound) {
				t.Fatalf("old login ID still taken: %v", err)
			}
			if ref, _ := s.LookupLogin(ctx, "new@example.com"); ref.AccountID != a.ID {
				t.Fatalf("new login ID points at %+v", ref)
			}
			if got, _ := s.GetAccount(ctx, "t1", a.ID); got.LoginID != "New@Example.com" || got.Comment != "営業部" {
				t.Fatalf("account after the change %+v", got)
			}
			if _, err := s.ChangeLoginID(ctx, a, "third@example.com"); !errors.Is(err, account.ErrConflict) {
				t.Fatalf("change from a stale version err = %v", err)
			}
			// The old login ID is free for anyone now.
			create(t, s, acct("t2", "old@example.com", account.RoleUser))
			// UpdateAccount never moves a login ID by itself (it refuses, or keeps the stored one).
			moved.LoginID = "sneaky@example.com"
			s.UpdateAccount(ctx, moved) //nolint:errcheck // either answer is fine; what is stored counts
			if got, _ := s.GetAccount(ctx, "t1", a.ID); got.LoginID != "New@Example.com" {
				t.Fatalf("UpdateAccount changed the login ID to %q without its uniqueness item", got.LoginID)
			}
		})
		t.Run("DeleteAndRecreateIsAnotherAccount", func(t *testing.T) {
			s := newStore(t)
			old := create(t, s, acct("t1", "again@example.com", account.RoleUser))
			if err := s.PutHistory(ctx, "t1", old.ID, []string{"$argon2id$old"}); err != nil {
				t.Fatal(err)
			}
			if err := s.DeleteAccount(ctx, "t1", old.ID); err != nil {
				t.Fatal(err)
			}
			if _, err := s.LookupLogin(ctx, "again@example.com"); !errors.Is(err, account.ErrNotFound) {
				t.Fatalf("a deleted account's login ID is still taken: %v", err)
			}
			fresh := create(t, s, acct("t1", "again@example.com", account.RoleUser))
			if _, err := s.GetAccount(ctx, "t1", old.ID); !errors.Is(err, account.ErrNotFound) {
				t.Fatalf("the old account_id resolves after re-creation: %v", err)
			}
			if ref, _ := s.LookupLogin(ctx, "again@example.com"); ref.AccountID != fresh.ID {
				t.Fatalf("login points at %+v, want the new account", ref)
			}
			if h, err := s.GetHistory(ctx, "t1", fresh.ID); err != nil || len(h) != 0 {
				t.Fatalf("the new account inherited a history: %v %v", h, err)
			}
			if _, _, err := s.ReserveAttempt(ctx, "t1", old.ID, 10, at); err != nil && !errors.Is(err, account.ErrNotFound) {
				t.Fatalf("reserve on the old account_id: %v", err)
			} else if _, ok, _ := s.ReserveAttempt(ctx, "t1", old.ID, 10, at); ok {
				t.Fatal("an attempt was reserved on a deleted account")
			}
		})
	})

	t.Run("Accounts", func(t *testing.T) {
		needsAccounts(t)
		t.Run("CRUD", func(t *testing.T) {
			s := newStore(t)
			a := create(t, s, acct("t1", "Taro.Yamada@Example.com", account.RoleUser))
			got, err := s.GetAccount(ctx, "t1", a.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.ID != a.ID || got.LoginID != a.LoginID || got.Comment != "営業部" || got.QuotaGB != 5 || got.Version != 1 || !got.PasswordChangedAt.Equal(at) {
				t.Fatalf("got %+v", got)
			}
			if _, err := s.GetAccount(ctx, "t2", a.ID); !errors.Is(err, account.ErrNotFound) {
				t.Fatalf("an account read through another tenant: %v", err)
			}
			if ev, err := s.GetAccountEventually(ctx, "t1", a.ID); err != nil || ev.LoginID != a.LoginID || ev.Version != 1 {
				t.Fatalf("GetAccountEventually = %+v, %v", ev, err)
			}
			got.QuotaGB, got.ForceChange, got.LockedAt, got.SessionEpoch, got.TokensAfter = 10, true, at, 7, at.Add(time.Minute)
			got.FlowSeq = 3
			got.MFA = account.MFA{Secret: "v1.sealed", EnabledAt: at, LastStep: 59_000_000, Failures: 2, LockedAt: at, BrowserEpoch: 4, Remembered: 1}
			conf := account.Confirmation{Hash: "$argon2id$x", ChangedAt: at, ForceChange: true, Failures: 3, AttemptAt: at.Add(time.Second), LockedAt: at.Add(2 * time.Second)}
			got.Confirmation = conf
			upd, err := s.UpdateAccount(ctx, got)
			if err != nil || upd.Version != 2 {
				t.Fatalf("UpdateAccount = %+v, %v", upd, err)
			}
			again, _ := s.GetAccount(ctx, "t1", a.ID)
			if again.QuotaGB != 10 || again.SessionEpoch != 7 || !again.ForceChange || !again.LockedAt.Equal(at) || again.Version != 2 ||
				!again.TokensAfter.Equal(at.Add(time.Minute)) || again.FlowSeq != 3 || !again.MFA.EnabledAt.Equal(at) || !again.MFA.LockedAt.Equal(at) {
				t.Fatalf("after update %+v", again)
			}
			if m := again.MFA; m.Secret != "v1.sealed" || m.LastStep != 59_000_000 || m.Failures != 2 || m.BrowserEpoch != 4 || m.Remembered != 1 {
				t.Fatalf("second factor after update %+v", m)
			}
			if c := again.Confirmation; c.Hash != conf.Hash || !c.ChangedAt.Equal(conf.ChangedAt) || !c.ForceChange || c.Failures != 3 ||
				!c.AttemptAt.Equal(conf.AttemptAt) || !c.LockedAt.Equal(conf.LockedAt) {
				t.Fatalf("confirmation password after update %+v", c)
			}
			if err := s.PutRecoveryCodes(ctx, "t1", a.ID, []string{"h1"}); err != nil {
				t.Fatal(err)
			}
			// got still carries version 1: a stale write.
			if _, err := s.UpdateAccount(ctx, got); !errors.Is(err, account.ErrConflict) {
				t.Fatalf("stale update err = %v, want ErrConflict", err)
			}
			if err := s.DeleteAccount(ctx, "t1", a.ID); err != nil {
				t.Fatal(err)
			}
			if _, err := s.GetAccount(ctx, "t1", a.ID); !errors.Is(err, account.ErrNotFound) {
				t.Fatalf("after delete err = %v", err)
			}
			if err := s.DeleteAccount(ctx, "t1", a.ID); !errors.Is(err, account.ErrNotFound) {
				t.Fatalf("second delete err = %v", err)
			}
			if codes, _ := s.RecoveryCodes(ctx, "t1", a.ID); len(codes) != 0 {
				t.Fatal("the recovery codes outlived their account")
			}
			if _, err := s.UpdateAccount(ctx, again); !errors.Is(err, account.ErrNotFound) && !errors.Is(err, account.ErrConflict) {
				t.Fatalf("update of deleted err = %v", err)
			}
			if _, err := s.GetAccount(ctx, "t1", a.ID); !errors.Is(err, account.ErrNotFound) {
				t.Fatal("update of a deleted account brought it back")
			}
		})
		t.Run("ConcurrentUpdatesOneWins", func(t *testing.T) {
			s := newStore(t)
			base := create(t, s, acct("t1", "race@example.com", account.RoleUser))
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
			if final, _ := s.GetAccount(ctx, "t1", base.ID); final.Version != 2 {
				t.Fatalf("version %d, want 2", final.Version)
			}
		})
		t.Run("ListPagesFiltersAndIsolates", func(t *testing.T) {
			s := newStore(t)
			for i := range 7 {
				create(t, s, acct("t1", fmt.Sprintf("user%02d@example.com", (i*3)%7), account.RoleUser))
			}
			create(t, s, acct("t1", "Sales.Lead@example.com", account.RoleAdmin))
			create(t, s, acct("t2", "user99@example.com", account.RoleUser))
			list := func(q account.ListQuery) account.AccountPage {
				t.Helper()
				q.WithTotal = true
				page, err := s.ListAccounts(ctx, "t1", q)
				if err != nil {
					t.Fatal(err)
				}
				return page
			}
			keys := func(accts []account.Account) string {
				var k []string
				for _, a := range accts {
					k = append(k, a.Key())
				}
				return strings.Join(k, " ")
			}
			// every page, following the cursors
			walk := func(q account.ListQuery) (string, int) {
				t.Helper()
				var all []string
				total := -1
				for pages := 0; ; pages++ {
					if pages > 10 {
						t.Fatal("paging does not end")
					}
					page := list(q)
					if q.Limit > 0 && len(page.Accounts) > q.Limit {
						t.Fatalf("page of %d > limit %d", len(page.Accounts), q.Limit)
					}
					if total >= 0 && page.Total != total {
						t.Fatalf("the total moved from %d to %d between pages", total, page.Total)
					}
					total = page.Total
					all = append(all, keys(page.Accounts))
					if page.Next == "" {
						return strings.Join(strings.Fields(strings.Join(all, " ")), " "), total
					}
					q.After = page.Next
				}
			}
			want := "sales.lead@example.com user00@example.com user01@example.com user02@example.com user03@example.com user04@example.com user05@example.com user06@example.com"
			if got, total := walk(account.ListQuery{Limit: 3}); got != want || total != 8 {
				t.Fatalf("listed %q (total %d)\nwant %q", got, total, want)
			}
			if got, _ := walk(account.ListQuery{Limit: 3, Desc: true}); got != strings.Join(reversed(strings.Fields(want)), " ") {
				t.Fatalf("descending: %q", got)
			}
			if p := list(account.ListQuery{Contains: "LEAD", Limit: 10}); keys(p.Accounts) != "sales.lead@example.com" || p.Next != "" || p.Total != 1 {
				t.Fatalf("search = %q, %q, %d", keys(p.Accounts), p.Next, p.Total)
			}
			if p := list(account.ListQuery{Contains: "営業", Limit: 10}); p.Total != 8 {
				t.Fatalf("search in comments: %d", p.Total)
			}
			if p := list(account.ListQuery{Contains: "user9", Limit: 10}); len(p.Accounts) != 0 || p.Total != 0 {
				t.Fatalf("another tenant's account listed: %q", keys(p.Accounts))
			}
			if got, total := walk(account.ListQuery{Contains: "user0", Limit: 5}); total != 7 || len(strings.Fields(got)) != 7 {
				t.Fatalf("filtered pages: %q, total %d", got, total)
			}
			if got, total := walk(account.ListQuery{Role: account.RoleAdmin, Limit: 2}); got != "sales.lead@example.com" || total != 1 {
				t.Fatalf("by role: %q %d", got, total)
			}
			// States, each from its own index: a lock, a suspension, an expired password.
			lead := list(account.ListQuery{Contains: "lead"}).Accounts[0]
			if ok, err := s.Lock(ctx, "t1", lead.ID, 0, at, at.Add(time.Hour)); err != nil || !ok {
				t.Fatalf("lock: %v %v", ok, err)
			}
			u3 := list(account.ListQuery{Contains: "user03"}).Accounts[0]
			u3.Disabled, u3.PasswordChangedAt = true, at.AddDate(0, 0, -100)
			if _, err := s.UpdateAccount(ctx, u3); err != nil {
				t.Fatal(err)
			}
			state := func(st string) string {
				t.Helper()
				got, total := walk(account.ListQuery{State: st, Limit: 1, MaxAgeDays: 90, Now: at})
				if total != len(strings.Fields(got)) {
					t.Fatalf("state %s: total %d for %q", st, total, got)
				}
				return got
			}
			if got := state(account.StateLocked); got != "sales.lead@example.com" {
				t.Fatalf("locked: %q", got)
			}
			if got := state(account.StateDisabled); got != "user03@example.com" {
				t.Fatalf("disabled: %q", got)
			}
			if got := state(account.StateExpired); got != "user03@example.com" {
				t.Fatalf("expired: %q", got)
			}
			if got := state(account.StateForceChange); got != "" {
				t.Fatalf("force_change: %q", got)
			}
			if err := s.Unlock(ctx, "t1", lead.ID); err != nil {
				t.Fatal(err)
			}
			if got := state(account.StateLocked); got != "" {
				t.Fatalf("locked after unlock: %q", got)
			}
			// The other orders: creation time, last sign-in (by day).
			first := list(account.ListQuery{Contains: "user05"}).Accounts[0]
			first.CreatedAt = at.Add(-time.Hour)
			if _, err := s.UpdateAccount(ctx, first); err != nil {
				t.Fatal(err)
			}
			if p := list(account.ListQuery{Sort: account.SortCreated, Limit: 1}); keys(p.Accounts) != "user05@example.com" || p.Total != 8 {
				t.Fatalf("oldest first: %q", keys(p.Accounts))
			}
			if err := s.RecordLogin(ctx, "t1", u3.ID, at.Add(48*time.Hour)); err != nil {
				t.Fatal(err)
			}
			if p := list(account.ListQuery{Sort: account.SortLastLogin, Desc: true, Limit: 1}); keys(p.Accounts) != "user03@example.com" {
				t.Fatalf("last signed in first: %q", keys(p.Accounts))
			}
			if got, _ := walk(account.ListQuery{Sort: account.SortLastLogin, Limit: 3}); len(strings.Fields(got)) != 8 || !strings.HasSuffix(got, "user03@example.com") {
				t.Fatalf("by last sign-in, pages: %q", got)
			}
			if err := s.DeleteAccount(ctx, "t1", first.ID); err != nil {
				t.Fatal(err)
			}
			if p := list(account.ListQuery{Limit: 1}); p.Total != 7 {
				t.Fatalf("total after a deletion: %d", p.Total)
			}
		})
		// The order by last sign-in holds to the week (UTC, from Monday): within one,
		// accounts come in ID order, so an account's index entry moves at most once a
		// week; the exact time stays on the account.
		t.Run("LastSignInOrderHoldsToTheWeek", func(t *testing.T) {
			s := newStore(t)
			a := create(t, s, acct("t1", "a@example.com", account.RoleUser))
			b := create(t, s, acct("t1", "b@example.com", account.RoleUser))
			c := create(t, s, acct("t1", "c@example.com", account.RoleUser))
			if a.ID < b.ID { // b signs in on the Sunday, a earlier: a's ID comes after b's
				a, b = b, a
			}
			never := create(t, s, acct("t1", "never@example.com", account.RoleUser))
			monday := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
			sunday := time.Date(2026, 12, 6, 23, 59, 0, 0, time.UTC) // the same week's last minute
			next := time.Date(2026, 12, 7, 0, 1, 0, 0, time.UTC)     // the next week's first
			for _, l := range []struct {
				id string
				at time.Time
			}{{b.ID, sunday}, {a.ID, monday}, {c.ID, next}, {a.ID, monday.Add(72 * time.Hour)}} {
				if err := s.RecordLogin(ctx, "t1", l.id, l.at); err != nil {
					t.Fatal(err)
				}
			}
			week := []string{b.ID, a.ID} // ID order: b, who signed in later that week, first
			order := func(desc bool) string {
				page, err := s.ListAccounts(ctx, "t1", account.ListQuery{Sort: account.SortLastLogin, Desc: desc, Limit: 2})
				var ids []string
				for err == nil {
					for _, x := range page.Accounts {
						ids = append(ids, x.ID)
					}
					if page.Next == "" {
						break
					}
					page, err = s.ListAccounts(ctx, "t1", account.ListQuery{Sort: account.SortLastLogin, Desc: desc, Limit: 2, After: page.Next})
				}
				if err != nil {
					t.Fatal(err)
				}
				return strings.Join(ids, " ")
			}
			if got, want := order(false), strings.Join([]string{never.ID, week[0], week[1], c.ID}, " "); got != want {
				t.Errorf("by last sign-in: %s, want %s (never, that week in ID order, the next week)", got, want)
			}
			if got, want := order(true), strings.Join([]string{c.ID, week[1], week[0], never.ID}, " "); got != want {
				t.Errorf("by last sign-in, newest first: %s, want %s", got, want)
			}
			if got, err := s.GetAccount(ctx, "t1", b.ID); err != nil || !got.LastLoginAt.Equal(sunday) {
				t.Errorf("b's last sign-in: %v, %v; want %v exactly", got.LastLoginAt, err, sunday)
			}
			if got, err := s.GetAccount(ctx, "t1", a.ID); err != nil || !got.LastLoginAt.Equal(monday.Add(72*time.Hour)) {
				t.Errorf("a's last sign-in: %v, %v; want Thursday's", got.LastLoginAt, err)
			}
		})
		t.Run("HistoryIsKeptApart", func(t *testing.T) {
			s := newStore(t)
			a := create(t, s, acct("t1", "hist@example.com", account.RoleUser))
			if h, err := s.GetHistory(ctx, "t1", a.ID); err != nil || len(h) != 0 {
				t.Fatalf("new account's history = %v, %v", h, err)
			}
			if err := s.PutHistory(ctx, "t1", a.ID, []string{"$argon2id$old1", "$argon2id$old2"}); err != nil {
				t.Fatal(err)
			}
			if h, _ := s.GetHistory(ctx, "t1", a.ID); fmt.Sprint(h) != "[$argon2id$old1 $argon2id$old2]" {
				t.Fatalf("history = %v", h)
			}
			if got, _ := s.GetAccount(ctx, "t1", a.ID); got.Version != 1 {
				t.Fatalf("writing the history changed the account: %+v", got)
			}
		})
	})

	t.Run("Attempts", func(t *testing.T) {
		needsAccounts(t)
		t.Run("RecordLogin", func(t *testing.T) {
			s := newStore(t)
			a := acct("t1", "u@example.com", account.RoleUser)
			a.FailedAttempts = 3
			a = create(t, s, a)
			later := at.Add(time.Hour)
			if err := s.RecordLogin(ctx, "t1", a.ID, later); err != nil {
				t.Fatal(err)
			}
			got, _ := s.GetAccount(ctx, "t1", a.ID)
			if got.FailedAttempts != 0 || !got.LastLoginAt.Equal(later) || got.Version != 2 {
				t.Fatalf("after RecordLogin %+v", got)
			}
			if err := s.RecordLogin(ctx, "t1", "acc_nobody", later); !errors.Is(err, account.ErrNotFound) {
				t.Fatalf("RecordLogin(absent) err = %v", err)
			}
		})
		t.Run("ReleaseAttempt", func(t *testing.T) {
			s := newStore(t)
			a := create(t, s, acct("t1", "release@example.com", account.RoleUser))
			for range 2 {
				if _, ok, err := s.ReserveAttempt(ctx, "t1", a.ID, 3, at); !ok || err != nil {
					t.Fatalf("reserve: %v %v", ok, err)
				}
			}
			if err := s.ReleaseAttempt(ctx, "t1", a.ID); err != nil {
				t.Fatal(err)
			}
			if got, _ := s.GetAccount(ctx, "t1", a.ID); got.FailedAttempts != 1 {
				t.Fatalf("after one release the counter is %d, want 1", got.FailedAttempts)
			}
			// Nothing below 0, and a lock stands.
			for range 2 {
				if err := s.ReleaseAttempt(ctx, "t1", a.ID); err != nil {
					t.Fatal(err)
				}
			}
			if got, _ := s.GetAccount(ctx, "t1", a.ID); got.FailedAttempts != 0 {
				t.Fatalf("released below 0: %d", got.FailedAttempts)
			}
			for range 3 {
				s.ReserveAttempt(ctx, "t1", a.ID, 3, at) //nolint:errcheck
			}
			if ok, err := s.Lock(ctx, "t1", a.ID, 3, at, at.Add(time.Hour)); !ok || err != nil {
				t.Fatalf("lock: %v %v", ok, err)
			}
			if err := s.ReleaseAttempt(ctx, "t1", a.ID); err != nil {
				t.Fatal(err)
			}
			if got, _ := s.GetAccount(ctx, "t1", a.ID); got.FailedAttempts != 3 || !got.Locked() {
				t.Fatalf("a release changed a locked account: %+v", got)
			}
		})
		t.Run("ReservedAtomicallyAndLockOnce", func(t *testing.T) {
			s := newStore(t)
			g := create(t, s, acct("t1", "guess@example.com", account.RoleUser))
			const threshold, workers = 10, 40
			var wg sync.WaitGroup
			var mu sync.Mutex
			counts := map[int]int{}
			refused := 0
			for range workers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					a, ok, err := s.ReserveAttempt(ctx, "t1", g.ID, threshold, at)
					mu.Lock()
					defer mu.Unlock()
					switch {
					case err != nil:
						t.Error(err)
					case ok:
						counts[a.FailedAttempts]++
						if a.ID != g.ID || a.PasswordHash != g.PasswordHash || a.LoginID != g.LoginID {
							t.Errorf("the reservation returned %+v, not the account", a)
						}
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
					ok, err := s.Lock(ctx, "t1", g.ID, threshold, at, at.Add(time.Hour))
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
			a, _ := s.GetAccount(ctx, "t1", g.ID)
			if !a.LockedAt.Equal(at) || a.FailedAttempts != threshold || !a.LastAttemptAt.Equal(at) || !a.UnlockLinkUntil.Equal(at.Add(time.Hour)) {
				t.Fatalf("after lock %+v", a)
			}
			if _, ok, _ := s.ReserveAttempt(ctx, "t1", g.ID, 100, at); ok {
				t.Fatal("an attempt was reserved on a locked account")
			}
			// An update from before the lock must not undo it.
			if _, err := s.UpdateAccount(ctx, g); !errors.Is(err, account.ErrConflict) {
				t.Fatalf("stale update over the counter: %v", err)
			}
			if err := s.Unlock(ctx, "t1", g.ID); err != nil {
				t.Fatal(err)
			}
			a, _ = s.GetAccount(ctx, "t1", g.ID)
			if a.Locked() || a.FailedAttempts != 0 {
				t.Fatalf("after unlock %+v", a)
			}
			if err := s.Unlock(ctx, "t1", g.ID); !errors.Is(err, account.ErrConflict) {
				t.Fatalf("unlocking an unlocked account: %v", err)
			}
			if err := s.Unlock(ctx, "t1", "acc_nobody"); !errors.Is(err, account.ErrNotFound) {
				t.Fatalf("unlocking a missing account: %v", err)
			}
			if ok, err := s.Lock(ctx, "t1", g.ID, threshold, at, at.Add(time.Hour)); ok || err != nil {
				t.Fatalf("locked below the threshold: %v %v", ok, err)
			}
			if _, ok, err := s.ReserveAttempt(ctx, "t1", "acc_nobody", 10, at); ok || err != nil && !errors.Is(err, account.ErrNotFound) {
				t.Fatalf("reserving on a missing account: %v %v", ok, err)
			}
		})
		t.Run("KnownBrowsersCountApart", func(t *testing.T) {
			s := newStore(t)
			g := create(t, s, acct("t1", "known@example.com", account.RoleUser))
			// The account is locked for unknown clients; a known browser still has its own
			// attempts, reserved atomically below the threshold.
			for range 3 {
				s.ReserveAttempt(ctx, "t1", g.ID, 3, at) //nolint:errcheck
			}
			if ok, err := s.Lock(ctx, "t1", g.ID, 3, at, at.Add(time.Hour)); !ok || err != nil {
				t.Fatalf("lock: %v %v", ok, err)
			}
			// The browser's first reservation (two at once may refuse one: the safe side, it
			// then counts as an unknown client), then many at once: never more than the
			// threshold in all.
			lim := account.DeviceLimits{Threshold: 5, MaxDevices: 16, HourlyCeiling: 100, At: at, Epoch: g.SessionEpoch}
			if _, ok, err := s.ReserveDeviceAttempt(ctx, "t1", g.ID, "dev-1", lim); !ok || err != nil {
				t.Fatalf("first device attempt: %v %v", ok, err)
			}
			const workers = 12
			var wg sync.WaitGroup
			var reserved atomicCount
			for range workers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					a, ok, err := s.ReserveDeviceAttempt(ctx, "t1", g.ID, "dev-1", lim)
					if err != nil {
						t.Error(err)
					}
					if ok {
						reserved.add()
						if a.ID != g.ID || a.PasswordHash == "" {
							t.Errorf("the reservation returned %+v", a)
						}
					}
				}()
			}
			wg.Wait()
			if reserved.get() != 4 {
				t.Fatalf("%d more device attempts reserved, want 4", reserved.get())
			}
			a, _ := s.GetAccount(ctx, "t1", g.ID)
			if a.DeviceFailures["dev-1"] != 5 || a.FailedAttempts != 3 || !a.Locked() {
				t.Fatalf("after the device's attempts %+v", a)
			}
			if _, ok, _ := s.ReserveDeviceAttempt(ctx, "t1", g.ID, "dev-2", lim); !ok {
				t.Fatal("another browser's attempts were used up")
			}
			if err := s.RecordDeviceLogin(ctx, "t1", g.ID, "dev-1", at.Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
			a, _ = s.GetAccount(ctx, "t1", g.ID)
			if _, kept := a.DeviceFailures["dev-1"]; kept || a.DeviceFailures["dev-2"] != 1 || !a.LastLoginAt.Equal(at.Add(time.Hour)) || a.FailedAttempts != 3 || !a.Locked() {
				t.Fatalf("after a known browser's sign-in (its entry dropped) %+v", a)
			}
			if a.DeviceHour != lim.Hour() || a.DeviceHourAttempts != 6 {
				t.Fatalf("the hour's known-browser attempts: %q %d, want %q 6", a.DeviceHour, a.DeviceHourAttempts, lim.Hour())
			}
			// A full write keeps the counters.
			if upd, err := s.UpdateAccount(ctx, a); err != nil || upd.DeviceFailures["dev-2"] != 1 {
				t.Fatalf("UpdateAccount lost the device counters: %+v %v", upd, err)
			}
			if again, _ := s.GetAccount(ctx, "t1", g.ID); again.DeviceFailures["dev-2"] != 1 {
				t.Fatalf("stored device counters %+v", again.DeviceFailures)
			}
		})
		// Issue 23: the devices tracked per account are capped (the item stays small), and
		// all of an account's known browsers together have an hourly ceiling (ASVS 2.2.1).
		t.Run("KnownBrowsersAreCappedAndHaveAnHourlyCeiling", func(t *testing.T) {
			s := newStore(t)
			g := create(t, s, acct("t1", "capped@example.com", account.RoleUser))
			lim := account.DeviceLimits{Threshold: 5, MaxDevices: 3, HourlyCeiling: 8, At: at, Epoch: g.SessionEpoch}
			for i := range 3 {
				if _, ok, err := s.ReserveDeviceAttempt(ctx, "t1", g.ID, fmt.Sprintf("dev-%d", i), lim); !ok || err != nil {
					t.Fatalf("browser %d: %v %v", i, ok, err)
				}
			}
			if _, ok, err := s.ReserveDeviceAttempt(ctx, "t1", g.ID, "dev-3", lim); ok || err != nil {
				t.Fatalf("a fourth browser was tracked past the cap of 3: %v %v", ok, err)
			}
			// A tracked browser keeps its attempts; one dropped (a sign-in) makes room.
			if _, ok, _ := s.ReserveDeviceAttempt(ctx, "t1", g.ID, "dev-0", lim); !ok {
				t.Fatal("a tracked browser lost its attempts to the cap")
			}
			if err := s.RecordDeviceLogin(ctx, "t1", g.ID, "dev-1", at); err != nil {
				t.Fatal(err)
			}
			if _, ok, _ := s.ReserveDeviceAttempt(ctx, "t1", g.ID, "dev-3", lim); !ok {
				t.Fatal("no room after a browser's entry was dropped")
			}
			// 5 attempts so far this hour; the ceiling of 8 leaves 3, whichever browser.
			n := 0
			for range 10 {
				if _, ok, _ := s.ReserveDeviceAttempt(ctx, "t1", g.ID, "dev-2", lim); ok {
					n++
				}
				if _, ok, _ := s.ReserveDeviceAttempt(ctx, "t1", g.ID, "dev-3", lim); ok {
					n++
				}
			}
			if n != 3 {
				t.Fatalf("%d attempts reserved under the hourly ceiling, want 3", n)
			}
			// A cookie of another session epoch (from before a reset) has no attempt.
			lim.At = at.Add(time.Hour)
			other := lim
			other.Epoch = g.SessionEpoch + 1
			if _, ok, err := s.ReserveDeviceAttempt(ctx, "t1", g.ID, "dev-0", other); ok || err != nil {
				t.Fatalf("a browser of another epoch reserved an attempt: %v %v", ok, err)
			}
			// The next hour starts the count again.
			a, ok, err := s.ReserveDeviceAttempt(ctx, "t1", g.ID, "dev-0", lim)
			if !ok || err != nil || a.DeviceHour != lim.Hour() || a.DeviceHourAttempts != 1 {
				t.Fatalf("the next hour: %v %v %q %d", ok, err, a.DeviceHour, a.DeviceHourAttempts)
			}
		})
		t.Run("AccountsThatCannotSignInReserveNothing", func(t *testing.T) {
			s := newStore(t)
			d := acct("t1", "off@example.com", account.RoleUser)
			d.Disabled = true
			d = create(t, s, d)
			n := acct("t1", "nopassword@example.com", account.RoleUser)
			n.PasswordHash = ""
			n = create(t, s, n)
			for _, a := range []account.Account{d, n} {
				if _, ok, err := s.ReserveAttempt(ctx, "t1", a.ID, 10, at); ok || err != nil {
					t.Fatalf("reserved on %s: %v %v", a.LoginID, ok, err)
				}
				if got, _ := s.GetAccount(ctx, "t1", a.ID); got.FailedAttempts != 0 {
					t.Fatalf("%s's counter moved: %+v", a.LoginID, got)
				}
			}
		})
	})

	t.Run("Sessions", func(t *testing.T) {
		s := newStore(t)
		sess := account.Session{IDHash: "abc123", TenantID: "t1", AccountID: "acc_u", IP: "192.0.2.5", UserAgent: "Firefox/140", Epoch: 3,
			AMR: []string{"fed", "otp", "mfa"}, IdPAuthAt: at.Add(-3 * time.Minute), CreatedAt: at, LastSeenAt: at, ExpiresAt: at.Add(12 * time.Hour)}
		if err := s.CreateSession(ctx, sess); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateSession(ctx, sess); !errors.Is(err, account.ErrConflict) {
			t.Fatalf("duplicate session err = %v", err)
		}
		got, err := s.GetSession(ctx, "acc_u", "abc123")
		if err != nil || got.AccountID != "acc_u" || got.TenantID != "t1" || got.Epoch != 3 || got.IP != "192.0.2.5" ||
			got.UserAgent != "Firefox/140" || !got.ExpiresAt.Equal(sess.ExpiresAt) || !got.CreatedAt.Equal(sess.CreatedAt) ||
			strings.Join(got.AMR, " ") != "fed otp mfa" || !got.IdPAuthAt.Equal(sess.IdPAuthAt) {
			t.Fatalf("GetSession = %+v, %v", got, err)
		}
		if _, err := s.GetSession(ctx, "acc_other", "abc123"); !errors.Is(err, account.ErrNotFound) {
			t.Fatalf("a session found under another account: %v", err)
		}
		if err := s.TouchSession(ctx, "acc_u", "abc123", at.Add(5*time.Minute)); err != nil {
			t.Fatal(err)
		}
		got, _ = s.GetSession(ctx, "acc_u", "abc123")
		if !got.LastSeenAt.Equal(at.Add(5 * time.Minute)) {
			t.Fatalf("touch not stored: %+v", got)
		}
		// An account's sessions list together, oldest first, and only its own.
		second := sess
		second.IDHash, second.CreatedAt = "def456", at.Add(time.Hour)
		other := sess
		other.IDHash, other.AccountID = "ghi789", "acc_other"
		for _, x := range []account.Session{second, other} {
			if err := s.CreateSession(ctx, x); err != nil {
				t.Fatal(err)
			}
		}
		list, err := s.ListSessions(ctx, "acc_u")
		if err != nil || len(list) != 2 || list[0].IDHash != "abc123" || list[1].IDHash != "def456" {
			t.Fatalf("ListSessions = %+v, %v", list, err)
		}
		if err := s.DeleteSession(ctx, "acc_u", "abc123"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.GetSession(ctx, "acc_u", "abc123"); !errors.Is(err, account.ErrNotFound) {
			t.Fatalf("after delete err = %v", err)
		}
		if err := s.TouchSession(ctx, "acc_u", "abc123", at); !errors.Is(err, account.ErrNotFound) {
			t.Fatalf("touching a deleted session err = %v (it must not come back)", err)
		}
		if err := s.DeleteSession(ctx, "acc_u", "abc123"); !errors.Is(err, account.ErrNotFound) {
			t.Fatalf("second delete err = %v", err)
		}
		if list, _ := s.ListSessions(ctx, "acc_u"); len(list) != 1 {
			t.Fatalf("after delete %d sessions", len(list))
		}
	})

	t.Run("AuditNewestFirstPerTenant", func(t *testing.T) {
		s := newStore(t)
		for i := range 5 {
			e := account.AuditEvent{TenantID: "example.com", At: at.Add(time.Duration(i) * time.Second),
				Actor: "admin@example.com", Action: fmt.Sprintf("act%d", i), Target: "u@example.com", TargetID: "acc_u", IP: "192.0.2.1", Result: "ok"}
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
				if e.IP != "192.0.2.1" || e.Actor != "admin@example.com" || e.TargetID != "acc_u" {
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

	t.Run("RecoveryCodesAreUsedOnce", func(t *testing.T) {
		s := newStore(t)
		if got, err := s.RecoveryCodes(ctx, "t1", "acc_1"); err != nil || len(got) != 0 {
			t.Fatalf("none yet: %v %v", got, err)
		}
		if err := s.PutRecoveryCodes(ctx, "t1", "acc_1", []string{"h1", "h2", "h3"}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.UseRecoveryCode(ctx, "t1", "acc_2", "h1"); !errors.Is(err, account.ErrNotFound) {
			t.Fatalf("another account's code: %v", err)
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		used, left := 0, -1
		for range 8 {
			wg.Go(func() {
				n, err := s.UseRecoveryCode(ctx, "t1", "acc_1", "h2")
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					used, left = used+1, n
				case !errors.Is(err, account.ErrNotFound):
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if used != 1 || left != 2 {
			t.Fatalf("one code used %d times, %d left", used, left)
		}
		got, _ := s.RecoveryCodes(ctx, "t1", "acc_1")
		slices.Sort(got)
		if fmt.Sprint(got) != "[h1 h3]" {
			t.Fatalf("left: %v", got)
		}
		for _, h := range []string{"h1", "h3"} {
			if _, err := s.UseRecoveryCode(ctx, "t1", "acc_1", h); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.UseRecoveryCode(ctx, "t1", "acc_1", "h1"); !errors.Is(err, account.ErrNotFound) {
			t.Fatalf("all used: %v", err)
		}
		s.PutRecoveryCodes(ctx, "t1", "acc_1", []string{"n1"})
		if err := s.PutRecoveryCodes(ctx, "t1", "acc_1", nil); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.RecoveryCodes(ctx, "t1", "acc_1"); len(got) != 0 {
			t.Fatalf("removed: %v", got)
		}
	})

	t.Run("CredentialsByOwner", func(t *testing.T) {
		s := newStore(t)
		mk := func(kind, owner, id string, created time.Time) account.Credential {
			return account.Credential{Kind: kind, Owner: owner, ID: id, TenantID: "t1", Name: "名前 " + id,
				SecretHash: "h-" + id, CreatedAt: created, RedirectURIs: []string{"https://app.example/cb"}, Scopes: []string{"openid"}}
		}
		want := []account.Credential{
			mk(account.CredAppPassword, "acc_1", "apw_b", at),
			mk(account.CredAppPassword, "acc_1", "apw_a", at.Add(time.Minute)),
		}
		for _, c := range append(want, mk(account.CredAppPassword, "acc_2", "apw_c", at), mk(account.CredService, "acc_1", "svc_d", at)) {
			if err := s.CreateCredential(ctx, c); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.CreateCredential(ctx, want[0]); !errors.Is(err, account.ErrConflict) {
			t.Fatalf("same key again: %v", err)
		}
		got, err := s.ListCredentials(ctx, account.CredAppPassword, "acc_1")
		if err != nil || len(got) != 2 || got[0].ID != "apw_b" || got[1].ID != "apw_a" {
			t.Fatalf("list (oldest first, this owner and kind only): %+v %v", got, err)
		}
		// The eventually consistent read gives the same (these servers answer it at once).
		if ev, err := s.ListCredentialsEventually(ctx, account.CredAppPassword, "acc_1"); err != nil || len(ev) != 2 || ev[0].ID != "apw_b" || ev[1].SecretHash != "h-apw_a" {
			t.Fatalf("list eventually consistent: %+v %v", ev, err)
		}
		if !got[0].CreatedAt.Equal(at) || got[0].Name != want[0].Name || got[0].SecretHash != "h-apw_b" ||
			len(got[0].RedirectURIs) != 1 || got[0].Scopes[0] != "openid" || !got[0].LastUsedAt.IsZero() {
			t.Fatalf("round trip: %+v", got[0])
		}
		if err := s.TouchCredential(ctx, account.CredAppPassword, "acc_1", "apw_a", at.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		c, err := s.GetCredential(ctx, account.CredAppPassword, "acc_1", "apw_a")
		if err != nil || !c.LastUsedAt.Equal(at.Add(time.Hour)) || c.SecretHash != "h-apw_a" {
			t.Fatalf("touched: %+v %v", c, err)
		}
		if err := s.DeleteCredential(ctx, account.CredAppPassword, "acc_1", "apw_a"); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteCredential(ctx, account.CredAppPassword, "acc_1", "apw_a"); !errors.Is(err, account.ErrNotFound) {
			t.Fatalf("deleted twice: %v", err)
		}
		// A touch after the delete must not bring it back.
		if err := s.TouchCredential(ctx, account.CredAppPassword, "acc_1", "apw_a", at); !errors.Is(err, account.ErrNotFound) {
			t.Fatalf("touch of a deleted one: %v", err)
		}
		if _, err := s.GetCredential(ctx, account.CredAppPassword, "acc_1", "apw_a"); !errors.Is(err, account.ErrNotFound) {
			t.Fatalf("get of a deleted one: %v", err)
		}
		if got, _ := s.ListCredentials(ctx, account.CredService, "nobody"); len(got) != 0 {
			t.Fatalf("unknown owner: %v", got)
		}
	})

	t.Run("Passkeys", func(t *testing.T) {
		needsAccounts(t)
		s := newStore(t)
		a := create(t, s, acct("t1", "passkeys@example.com", account.RoleUser))
		other := create(t, s, acct("t1", "other@example.com", account.RoleUser))
		mk := func(owner account.Account, cred string, created time.Time) account.Passkey {
			return account.Passkey{ID: account.PasskeyID([]byte(cred)), TenantID: owner.TenantID, AccountID: owner.ID,
				Name: "鍵 " + cred, CredentialID: []byte(cred), PublicKey: []byte{0xa5, 1, 2, 3, 0x26}, SignCount: 0,
				BackupEligible: true, BackupState: true, AAGUID: make([]byte, 16), Transports: []string{"internal", "hybrid"},
				AttestationFormat: "none", CreatedAt: created}
		}
		second, first := mk(a, "cred-b", at.Add(time.Minute)), mk(a, "cred-a", at)
		var err error
		for _, p := range []account.Passkey{second, first} {
			if a, err = s.AddPasskey(ctx, a, p); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.AddPasskey(ctx, other, mk(other, "cred-c", at)); err != nil {
			t.Fatal(err)
		}
		if got, err := s.GetAccount(ctx, "t1", a.ID); err != nil || got.Passkeys != 2 || got.Version != a.Version || a.Passkeys != 2 {
			t.Fatalf("count on the account: stored %+v %v; returned %d v%d", got, err, a.Passkeys, a.Version)
		}
		// The same credential again, or an account read before a change, writes nothing.
		if _, err := s.AddPasskey(ctx, a, first); !errors.Is(err, account.ErrConflict) {
			t.Fatalf("same passkey again: %v", err)
		}
		stale := a
		stale.Version--
		if _, err := s.AddPasskey(ctx, stale, mk(a, "cred-d", at)); !errors.Is(err, account.ErrConflict) {
			t.Fatalf("stale account: %v", err)
		}
		if _, err := s.GetPasskeyEventually(ctx, a.ID, account.PasskeyID([]byte("cred-d"))); !errors.Is(err, account.ErrNotFound) {
			t.Fatalf("the passkey of a refused add was written: %v", err)
		}
		got, err := s.ListPasskeys(ctx, a.ID)
		if err != nil || len(got) != 2 || got[0].ID != first.ID || got[1].ID != second.ID {
			t.Fatalf("list (oldest first, this account only): %+v %v", got, err)
		}
		if p := got[0]; p.Name != "鍵 cred-a" || string(p.CredentialID) != "cred-a" || len(p.PublicKey) != 5 || !p.BackupEligible ||
			!p.BackupState || len(p.AAGUID) != 16 || len(p.Transports) != 2 || p.AttestationFormat != "none" ||
			!p.CreatedAt.Equal(at) || !p.LastUsedAt.IsZero() || p.TenantID != "t1" || p.AccountID != a.ID {
			t.Fatalf("round trip: %+v", p)
		}

		// Uses: each must be newer than the last, by challenge and by counter.
		use := func(id string, count uint32, challengeAt int64) error {
			return s.UsePasskey(ctx, a.ID, id, account.PasskeyUse{SignCount: count, BackupState: false, At: at.Add(time.Hour), ChallengeAt: challengeAt})
		}
		if err := use(first.ID, 0, 100); err != nil {
			t.Fatalf("first use of a counterless passkey: %v", err)
		}
		if err := use(first.ID, 0, 100); !errors.Is(err, account.ErrConflict) {
			t.Fatalf("the same challenge again: %v", err)
		}
		if err := use(first.ID, 0, 99); !errors.Is(err, account.ErrConflict) {
			t.Fatalf("an older challenge: %v", err)
		}
		if err := use(first.ID, 0, 101); err != nil {
			t.Fatalf("a newer challenge: %v", err)
		}
		if err := use(first.ID, 5, 102); err != nil {
			t.Fatalf("a counter that starts: %v", err)
		}
		if err := use(first.ID, 5, 103); !errors.Is(err, account.ErrConflict) {
			t.Fatalf("a counter that did not move: %v", err)
		}
		if err := use(first.ID, 0, 104); !errors.Is(err, account.ErrConflict) {
			t.Fatalf("a counter back to 0: %v", err)
		}
		p, err := s.GetPasskeyEventually(ctx, a.ID, first.ID)
		if err != nil || p.SignCount != 5 || p.ChallengeAt != 102 || p.BackupState || !p.LastUsedAt.Equal(at.Add(time.Hour)) || p.Name != first.Name {
			t.Fatalf("after its uses: %+v %v", p, err)
		}
		// Parallel uses of one challenge: exactly one wins.
		var wins atomicCount
		var wg sync.WaitGroup
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := use(second.ID, 0, 200); err == nil {
					wins.add()
				} else if !errors.Is(err, account.ErrConflict) {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if wins.get() != 1 {
			t.Fatalf("%d parallel uses of one challenge succeeded, want 1", wins.get())
		}

		if err := s.RenamePasskey(ctx, a.ID, second.ID, "仕事用の鍵"); err != nil {
			t.Fatal(err)
		}
		if p, _ := s.GetPasskeyEventually(ctx, a.ID, second.ID); p.Name != "仕事用の鍵" || p.ChallengeAt != 200 {
			t.Fatalf("renamed: %+v", p)
		}
		if err := s.RenamePasskey(ctx, other.ID, second.ID, "x"); !errors.Is(err, account.ErrNotFound) {
			t.Fatalf("rename through another account: %v", err)
		}

		// Removal: one the account lacks refuses the whole call.
		if _, err := s.RemovePasskeys(ctx, a, []string{first.ID, account.PasskeyID([]byte("cred-c"))}); !errors.Is(err, account.ErrConflict) {
			t.Fatalf("remove with another account's passkey: %v", err)
		}
		if got, _ := s.ListPasskeys(ctx, a.ID); len(got) != 2 {
			t.Fatalf("a refused removal removed some: %+v", got)
		}
		if a, err = s.RemovePasskeys(ctx, a, []string{first.ID}); err != nil || a.Passkeys != 1 {
			t.Fatalf("remove one: %+v %v", a, err)
		}
		if err := use(first.ID, 9, 300); !errors.Is(err, account.ErrNotFound) {
			t.Fatalf("use of a removed passkey: %v", err)
		}
		if err := s.RenamePasskey(ctx, a.ID, first.ID, "x"); !errors.Is(err, account.ErrNotFound) {
			t.Fatalf("rename of a removed passkey: %v", err)
		}
		if _, err := s.GetPasskeyEventually(ctx, a.ID, first.ID); !errors.Is(err, account.ErrNotFound) {
			t.Fatalf("get of a removed passkey: %v", err)
		}
		if got, err := s.GetAccount(ctx, "t1", a.ID); err != nil || got.Passkeys != 1 {
			t.Fatalf("count after removal: %+v %v", got, err)
		}

		// An account's removal takes its passkeys with it; another's stay.
		if err := s.DeleteAccount(ctx, "t1", a.ID); err != nil {
			t.Fatal(err)
		}
		if got, err := s.ListPasskeys(ctx, a.ID); err != nil || len(got) != 0 {
			t.Fatalf("passkeys outlived their account: %+v %v", got, err)
		}
		if got, _ := s.ListPasskeys(ctx, other.ID); len(got) != 1 {
			t.Fatalf("another account's passkeys: %+v", got)
		}
	})

	t.Run("SecretsAreMadeOnce", func(t *testing.T) {
		s := newStore(t)
		var wg sync.WaitGroup
		got := make([][]byte, 6)
		for i := range got {
			wg.Add(1)
			go func() {
				defer wg.Done()
				v, err := s.Secret(ctx, "device-key", []byte(fmt.Sprintf("candidate-%d", i)))
				if err != nil {
					t.Error(err)
				}
				got[i] = v
			}()
		}
		wg.Wait()
		for _, v := range got {
			if string(v) != string(got[0]) || !strings.HasPrefix(string(v), "candidate-") {
				t.Fatalf("callers got different secrets: %q", got)
			}
		}
		if v, _ := s.Secret(ctx, "other", []byte("x")); string(v) != "x" {
			t.Fatalf("another secret: %q", v)
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

	t.Run("TokensAreSingleUse", func(t *testing.T) {
		s := newStore(t)
		tok := account.Token{IDHash: "h1", Purpose: account.PurposeUnlock, TenantID: "t1", AccountID: "acc_u",
			CreatedAt: at, ExpiresAt: at.Add(time.Hour)}
		if err := s.CreateToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateToken(ctx, tok); !errors.Is(err, account.ErrConflict) {
			t.Fatalf("duplicate token: %v", err)
		}
		if p, err := s.PeekToken(ctx, "h1", account.PurposeUnlock, at); err != nil || p.AccountID != "acc_u" {
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
					if got.AccountID != "acc_u" || got.TenantID != "t1" || !got.ExpiresAt.Equal(tok.ExpiresAt) {
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
		j := bulk.Job{ID: "0123456789abcdef0123456789abcdef", TenantID: "example.com", Owner: "admin@example.com", OwnerID: "acc_admin", OwnerIP: "192.0.2.7", Mode: "update",
			Filename: "パスワード一覧.csv", Key: "uploads/example.com/0123/パスワード一覧.csv", State: bulk.StateWaitingUpload,
			Skipped: []string{}, Errors: []bulk.Problem{}, CreatedAt: at}
		if err := js.CreateJob(ctx, j); err != nil {
			t.Fatal(err)
		}
		if err := js.CreateJob(ctx, j); !errors.Is(err, account.ErrConflict) {
			t.Fatalf("duplicate job: %v", err)
		}
		got, err := js.GetJob(ctx, "example.com", j.ID)
		if err != nil || got.Filename != j.Filename || got.Key != j.Key || got.Version != 1 || got.State != bulk.StateWaitingUpload ||
			got.OwnerID != "acc_admin" || got.OwnerIP != "192.0.2.7" {
			t.Fatalf("GetJob = %+v, %v", got, err)
		}
		if _, err := js.GetJob(ctx, "other.example", j.ID); !errors.Is(err, account.ErrNotFound) {
			t.Fatalf("another tenant's job: %v", err)
		}
		got.State, got.AppliedThrough, got.LeaseUntil = bulk.StateApplying, 42, at.Add(time.Minute)
		got.Notifying, got.NotifiedThrough, got.Queued, got.Notified = true, 40, 12, 99 // Notified is the store's count alone
		got.Errors = []bulk.Problem{{Line: 3, Column: "password", Code: "too_short"}}
		upd, err := js.UpdateJob(ctx, got)
		if err != nil || upd.Version != 2 {
			t.Fatalf("UpdateJob = %+v, %v", upd, err)
		}
		again, _ := js.GetJob(ctx, "example.com", j.ID)
		if again.AppliedThrough != 42 || !again.LeaseUntil.Equal(at.Add(time.Minute)) || len(again.Errors) != 1 || again.Errors[0].Code != "too_short" ||
			!again.Notifying || again.NotifiedThrough != 40 || again.Queued != 12 || again.Notified != 0 {
			t.Fatalf("after update %+v", again)
		}
		// Delivered notices are counted beside the job: an update that started before
		// them (the runner's next save) keeps them.
		counter := js.(interface {
			CountNotified(ctx context.Context, tenantID, id string) error
		})
		for range 3 {
			if err := counter.CountNotified(ctx, "example.com", j.ID); err != nil {
				t.Fatal(err)
			}
		}
		again.Queued = 13
		saved, err := js.UpdateJob(ctx, again)
		if err != nil || saved.Notified != 3 {
			t.Fatalf("UpdateJob after 3 deliveries = %+v, %v", saved, err)
		}
		if after, _ := js.GetJob(ctx, "example.com", j.ID); after.Notified != 3 || after.Queued != 13 {
			t.Fatalf("after 3 deliveries and an update %+v", after)
		}
		if list, _, _ := js.ListJobs(ctx, "example.com", "", 10); len(list) != 1 || list[0].Notified != 3 {
			t.Fatalf("listed %+v", list)
		}
		if err := counter.CountNotified(ctx, "example.com", "no-such-job"); !errors.Is(err, account.ErrNotFound) {
			t.Fatalf("a notice of no job: %v", err)
		}
		if _, err := js.UpdateJob(ctx, got); !errors.Is(err, account.ErrConflict) {
			t.Fatalf("stale job update: %v", err)
		}
	})

	t.Run("JobsListNewestFirstPerTenant", func(t *testing.T) {
		js := newStore(t).(bulk.JobStore)
		for i := range 7 { // IDs sort by time, as bulk.Jobs makes them
			j := bulk.Job{ID: fmt.Sprintf("%012x%020d", 1000+i, i), TenantID: "t1", Filename: fmt.Sprintf("f%d.csv", i), State: bulk.StateSucceeded,
				Skipped: []string{}, Errors: []bulk.Problem{}, CreatedAt: at}
			if err := js.CreateJob(ctx, j); err != nil {
				t.Fatal(err)
			}
		}
		if err := js.CreateJob(ctx, bulk.Job{ID: fmt.Sprintf("%012x%020d", 5000, 9), TenantID: "t2", Filename: "other.csv", CreatedAt: at}); err != nil {
			t.Fatal(err)
		}
		var names []string
		after := ""
		for pages := 0; ; pages++ {
			if pages > 5 {
				t.Fatal("paging does not end")
			}
			page, next, err := js.ListJobs(ctx, "t1", after, 3)
			if err != nil || len(page) > 3 {
				t.Fatalf("ListJobs: %d jobs, %v", len(page), err)
			}
			for _, j := range page {
				names = append(names, j.Filename)
			}
			if next == "" {
				break
			}
			after = next
		}
		if fmt.Sprint(names) != "[f6.csv f5.csv f4.csv f3.csv f2.csv f1.csv f0.csv]" {
			t.Fatalf("listed %v", names)
		}
		if none, _, err := js.ListJobs(ctx, "t3", "", 3); err != nil || len(none) != 0 {
			t.Fatalf("an empty tenant: %v %v", none, err)
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

func reversed(s []string) []string {
	out := make([]string, len(s))
	for i, v := range s {
		out[len(s)-1-i] = v
	}
	return out
}
