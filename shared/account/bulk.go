package account

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/kagiya/kagiya/shared/password"
)

// BulkContext is what checking a bulk file needs to know of the tenant.
type BulkContext struct {
	Settings  Settings
	ActorRole Role
	Existing  map[string]Role // every account of the tenant, by login key
}

// BulkContext loads the tenant's settings, the role of the administrator who started the
// job, and the tenant's accounts.
func (s *Service) BulkContext(ctx context.Context, tenantID, actor string) (BulkContext, error) {
	set, err := s.settingsOf(ctx, tenantID)
	if err != nil {
		return BulkContext{}, err
	}
	a, err := s.store.GetAccount(ctx, tenantID, Key(actor))
	if err != nil {
		return BulkContext{}, fmt.Errorf("bulk actor %s: %w", actor, err)
	}
	bc := BulkContext{Settings: set, ActorRole: a.Role, Existing: map[string]Role{}}
	q := ListQuery{Limit: 200}
	for {
		page, next, err := s.store.ListAccounts(ctx, tenantID, q)
		if err != nil {
			return BulkContext{}, fmt.Errorf("bulk accounts: %w", err)
		}
		for _, acc := range page {
			bc.Existing[acc.Key()] = acc.Role
		}
		if next == "" {
			return bc, nil
		}
		q.After = next
	}
}

// BulkChange is one checked row to apply.
type BulkChange struct {
	JobID       string
	Line        int
	Actor       string
	Mode        string // "update" or "create"
	LoginID     string
	Password    string
	HasPassword bool
	Capacity    int
	HasCapacity bool
	ForceChange bool
	Settings    Settings
	IP          string
}

// Outcomes of ApplyBulkChange.
const (
	BulkUpdated = "updated"
	BulkCreated = "created"
	BulkSkipped = "skipped" // the account is not there (update) or is there already (create)
	BulkAlready = "already" // this very row was applied before (a retried run)
)

// ApplyBulkChange applies one row. It is idempotent: the account remembers the job and
// line that last changed it, and a row that was applied is not applied again.
func (s *Service) ApplyBulkChange(ctx context.Context, c BulkChange) (string, error) {
	marker := fmt.Sprintf("%s#%d", c.JobID, c.Line)
	tenantID, _ := ParseLoginID(c.LoginID)
	key := Key(c.LoginID)
	hashOf := func() (string, error) {
		return password.Hash(s.cfg.Hash, preset(c.Settings).Normalized(c.Password))
	}
	now := s.now().UTC()
	if c.Mode == "create" {
		hash, err := hashOf()
		if err != nil {
			return "", err
		}
		a := Account{TenantID: tenantID, LoginID: c.LoginID, Role: RoleUser, PasswordHash: hash, PasswordChangedAt: now,
			ForceChange: c.ForceChange, QuotaGB: c.Capacity, CreatedAt: now, UpdatedAt: now, BulkMarker: marker}
		err = s.store.CreateAccount(ctx, a)
		if errors.Is(err, ErrConflict) {
			if cur, gerr := s.store.GetAccount(ctx, tenantID, key); gerr == nil && cur.BulkMarker == marker {
				return BulkAlready, nil
			}
			return BulkSkipped, nil
		} else if err != nil {
			return "", fmt.Errorf("bulk create %s: %w", key, err)
		}
		s.audit(ctx, AuditEvent{TenantID: tenantID, Actor: c.Actor, Action: "bulk.create", Target: c.LoginID, IP: c.IP, Result: "ok:job " + c.JobID})
		return BulkCreated, nil
	}
	a, err := s.store.GetAccount(ctx, tenantID, key)
	switch {
	case errors.Is(err, ErrNotFound):
		return BulkSkipped, nil
	case err != nil:
		return "", fmt.Errorf("bulk read %s: %w", key, err)
	case a.BulkMarker == marker:
		return BulkAlready, nil
	}
	var hash string
	if c.HasPassword {
		if hash, err = hashOf(); err != nil {
			return "", err
		}
	}
	_, err = s.storePassword(ctx, a, func(a *Account) {
		if c.HasPassword {
			setPassword(a, c.Settings, hash, c.ForceChange, now)
		}
		if c.HasCapacity {
			a.QuotaGB = c.Capacity
		}
		a.BulkMarker, a.UpdatedAt = marker, now
	})
	if err != nil {
		return "", fmt.Errorf("bulk update %s: %w", key, err)
	}
	what := "quota"
	if c.HasPassword {
		what = "password"
		if c.HasCapacity {
			what = "password+quota"
		}
	}
	s.audit(ctx, AuditEvent{TenantID: tenantID, Actor: c.Actor, Action: "bulk.update", Target: a.LoginID, IP: c.IP, Result: "ok:" + what + " job " + c.JobID})
	return BulkUpdated, nil
}

// BulkSummary is how a job ended, for the audit log and the administrator's email.
type BulkSummary struct {
	JobID, TenantID, Owner, Filename, Mode, State string
	Rows, Updated, Created, Skipped, Errors       int
	Finished                                      time.Time
}

// BulkFinished audits the end of a job and mails its summary to the administrator who
// started it.
func (s *Service) BulkFinished(ctx context.Context, sum BulkSummary) {
	s.audit(ctx, AuditEvent{TenantID: sum.TenantID, Actor: sum.Owner, Action: "bulk.job", Target: sum.Filename,
		Result: fmt.Sprintf("%s:job %s rows=%d updated=%d created=%d skipped=%d errors=%d", sum.State, sum.JobID, sum.Rows, sum.Updated, sum.Created, sum.Skipped, sum.Errors)})
	owner, err := s.store.GetAccount(ctx, sum.TenantID, Key(sum.Owner))
	if err != nil {
		s.log.ErrorContext(ctx, "bulk summary: owner", "err", err)
		return
	}
	set, _ := s.settingsOf(ctx, sum.TenantID)
	s.notify(ctx, "bulk_summary", owner, map[string]any{"Job": sum, "When": s.formatTime(sum.Finished, set),
		"JobURL": s.siteURL + "/bulk.html?job=" + sum.JobID})
}
