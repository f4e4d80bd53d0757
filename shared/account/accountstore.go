package account

import (
	"context"
	"errors"
	"fmt"
)

// accountStore reads and writes accounts: conditional writes retried over newer
// versions, a tenant's account by login ID, a tenant's accounts page by page.
type accountStore struct {
	accounts Accounts
}

// updateRetrying applies change to a and writes it, re-reading and retrying if the
// account changed meanwhile; change may run more than once.
func (as *accountStore) updateRetrying(ctx context.Context, a Account, change func(*Account)) (Account, error) {
	return as.updateGuarded(ctx, a, nil, change)
}

// updateGuarded is updateRetrying with a guard that is checked on every version of the
// account it writes over: the write is conditioned on that version, so what the guard
// saw (a role, say) still holds at the moment of the write. A guard's error ends it.
func (as *accountStore) updateGuarded(ctx context.Context, a Account, guard func(Account) error, change func(*Account)) (Account, error) {
	for attempt := 0; ; attempt++ {
		if guard != nil {
			if err := guard(a); err != nil {
				return Account{}, err
			}
		}
		next := a
		change(&next)
		stored, err := as.accounts.UpdateAccount(ctx, next)
		if !errors.Is(err, ErrConflict) || attempt == 5 {
			return stored, err
		}
		if a, err = as.accounts.GetAccount(ctx, a.TenantID, a.ID); err != nil {
			return Account{}, err
		}
	}
}

// tenantAccount loads an account of tenantID by login ID; anything outside the tenant,
// or unparseable, is not_found exactly like an absent account.
func (as *accountStore) tenantAccount(ctx context.Context, logins Logins, tenantID, loginID string) (Account, error) {
	if _, ok := ParseLoginID(loginID); !ok {
		return Account{}, codeErr(CodeNotFound)
	}
	ref, err := logins.LookupLogin(ctx, Key(loginID))
	if err == nil && ref.TenantID != tenantID {
		err = ErrNotFound
	}
	var a Account
	if err == nil {
		a, err = as.accounts.GetAccount(ctx, ref.TenantID, ref.AccountID)
	}
	if errors.Is(err, ErrNotFound) {
		return Account{}, codeErr(CodeNotFound)
	} else if err != nil {
		return Account{}, fmt.Errorf("load %s: %w", Key(loginID), err)
	}
	return a, nil
}

// eachAccount calls f with every account of a tenant in login-ID order, a page at a time.
func (as *accountStore) eachAccount(ctx context.Context, tenantID string, f func(Account) error) error {
	q := ListQuery{Limit: 500}
	for {
		page, err := as.accounts.ListAccounts(ctx, tenantID, q)
		if err != nil {
			return err
		}
		for _, a := range page.Accounts {
			if err := f(a); err != nil {
				return err
			}
		}
		if page.Next == "" {
			return nil
		}
		q.After = page.Next
	}
}
