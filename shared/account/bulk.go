package account

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"strings"
	"time"

	"github.com/kagiya/kagiya/shared/mail"
	"github.com/kagiya/kagiya/shared/password"
)

// BulkContext is what checking a bulk file needs to know of the tenant.
type BulkContext struct {
	Tenant    Tenant
	Settings  Settings
	ActorRole Role
	ActorKey  string                     // the administrator's login key
	Existing  map[string]ExistingAccount // every account of the tenant, by login key (nil: not read)
	// IdPDomains are the domains the tenant's identity providers serve.
	IdPDomains map[string]bool
}

// ExistingAccount is what a bulk file's row is compared with: whether it changes anything.
type ExistingAccount struct {
	Role        Role
	QuotaGB     int
	CommentHash uint64
	IdP         bool // signs in through its domain's identity provider
}

// CommentHash stands for a comment in ExistingAccount (the tenant's comments are not all
// kept in memory).
func CommentHash(c string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(c))
	return h.Sum64()
}

// BulkContext loads the tenant's settings, the role of the administrator who started the
// job, and the tenant's accounts.
func (s *Bulk) BulkContext(ctx context.Context, tenantID, actorID string) (BulkContext, error) {
	return s.bulkContext(ctx, tenantID, actorID, true)
}

// BulkPartContext is BulkContext without the tenant's accounts (Existing is nil): a part
// of a fanned-out job reads each of its rows' accounts as it writes them instead of the
// whole tenant.
func (s *Bulk) BulkPartContext(ctx context.Context, tenantID, actorID string) (BulkContext, error) {
	return s.bulkContext(ctx, tenantID, actorID, false)
}

func (s *Bulk) bulkContext(ctx context.Context, tenantID, actorID string, withAccounts bool) (BulkContext, error) {
	t, err := s.tenants.GetTenant(ctx, tenantID)
	if err != nil {
		return BulkContext{}, fmt.Errorf("bulk tenant %s: %w", tenantID, err)
	}
	a, err := s.accounts.GetAccount(ctx, tenantID, actorID)
	if err != nil {
		return BulkContext{}, fmt.Errorf("bulk actor %s: %w", actorID, err)
	}
	bc := BulkContext{Tenant: t, Settings: t.Settings.Effective(), ActorRole: a.Role, ActorKey: a.Key(), Existing: map[string]ExistingAccount{}}
	if bc.IdPDomains, err = s.providedDomains(ctx, tenantID); err != nil {
		return BulkContext{}, fmt.Errorf("bulk identity providers: %w", err)
	}
	if !withAccounts {
		bc.Existing = nil
		return bc, nil
	}
	err = s.eachAccount(ctx, tenantID, func(acc Account) error {
		bc.Existing[acc.Key()] = ExistingAccount{Role: acc.Role, QuotaGB: acc.QuotaGB, CommentHash: CommentHash(acc.Comment), IdP: acc.UsesIdP()}
		return nil
	})
	if err != nil {
		return BulkContext{}, fmt.Errorf("bulk accounts: %w", err)
	}
	return bc, nil
}

// BulkChange is one checked row to apply.
type BulkChange struct {
	JobID       string
	Line        int
	TenantID    string
	Actor       string // login ID of the administrator, for the audit
	ActorID     string
	Mode        string // "update" or "create"
	LoginID     string
	Password    string
	HasPassword bool
	// PasswordHash, if set, is an imported hash (password.ParseImported's Stored) put in
	// place of a password (HasPassword is then true); WeakHash makes the account change
	// its password at its next sign-in.
	PasswordHash string
	WeakHash     bool
	Capacity     int
	HasCapacity  bool
	Invite       bool   // create mode, no password: the account is invited by email
	Role         Role   // the role column (export round trip); "" leaves it
	Method       string // the login_method column: LoginMethodPassword, LoginMethodIdP or "" (leaves it)
	Comment      string
	HasComment   bool
	ForceChange  bool
	Settings     Settings
	IP           string
}

// Outcomes of ApplyBulkChange.
const (
	BulkUpdated   = "updated"
	BulkCreated   = "created"
	BulkSkipped   = "skipped"   // the account is not there (update) or is there already (create)
	BulkAlready   = "already"   // this very row was applied before (a retried run)
	BulkForbidden = "forbidden" // the rights the row needs did not hold when it was to be written
	BulkUnchanged = "unchanged" // the row holds what the account has already
)

// ApplyBulkChange applies one row. It is idempotent: the account remembers the job and
// line that last changed it, and a row that was applied is not applied again.
//
// Rights are checked again for every row, at the moment it is written, not only when the
// file was validated: the administrator who started the job must still be an enabled
// admin or owner of the tenant, and must still manage the account's role (the write is
// conditioned on the version the check saw). A row that fails is BulkForbidden, and
// nothing of it is written.
func (s *Bulk) ApplyBulkChange(ctx context.Context, c BulkChange) (string, error) {
	marker := fmt.Sprintf("%s#%d", c.JobID, c.Line)
	refuse := func(targetID, why string) (string, error) {
		s.audit(ctx, AuditEvent{TenantID: c.TenantID, Actor: c.Actor, Action: "bulk." + c.Mode, Target: c.LoginID, TargetID: targetID,
			IP: c.IP, Result: "refused:" + why + " job " + c.JobID})
		return BulkForbidden, nil
	}
	actor, err := s.accounts.GetAccount(ctx, c.TenantID, c.ActorID)
	switch {
	case errors.Is(err, ErrNotFound):
		return refuse("", "the administrator is gone")
	case err != nil:
		return "", fmt.Errorf("bulk actor line %d: %w", c.Line, err)
	case actor.Disabled || !actor.Role.IsAdmin():
		return refuse("", "the administrator may no longer administer")
	}
	hashOf := func() (string, error) {
		if c.PasswordHash != "" {
			return c.PasswordHash, nil
		}
		return password.Hash(s.hash, preset(c.Settings).Normalized(c.Password))
	}
	forceChange := c.ForceChange || c.WeakHash
	now := s.now().UTC()
	if c.Mode == "create" {
		hash := ""
		if !c.Invite && c.Method != LoginMethodIdP {
			if hash, err = hashOf(); err != nil {
				return "", err
			}
		}
		id, err := newID("acc_")
		if err != nil {
			return "", err
		}
		if domain, _ := ParseLoginID(c.LoginID); domain != "" {
			if elsewhere, err := s.heldElsewhere(ctx, c.TenantID, domain); err != nil {
				return "", fmt.Errorf("bulk create line %d: %w", c.Line, err)
			} else if elsewhere {
				return refuse("", "domain of another tenant")
			}
		}
		role := RoleUser
		if c.Role != "" {
			if !canManage(actor.Role, c.Role) {
				return refuse("", "role "+string(c.Role))
			}
			role = c.Role
		}
		a := Account{ID: id, TenantID: c.TenantID, LoginID: c.LoginID, Role: role, PasswordHash: hash, PasswordChangedAt: now,
			ForceChange: forceChange, QuotaGB: c.Capacity, Comment: c.Comment, CreatedAt: now, UpdatedAt: now, BulkMarker: marker}
		if c.Invite {
			a.PasswordChangedAt, a.ForceChange, a.InvitedAt = time.Time{}, false, now
		}
		if c.Method == LoginMethodIdP {
			a.LoginMethod, a.PasswordChangedAt, a.ForceChange = LoginMethodIdP, time.Time{}, false
		}
		err = s.accounts.CreateAccount(ctx, a)
		if errors.Is(err, ErrConflict) {
			if cur, gerr := findAccount(ctx, s.logins, s.accounts, c.LoginID); gerr == nil && cur.TenantID == c.TenantID && cur.BulkMarker == marker {
				return BulkAlready, nil
			}
			return BulkSkipped, nil
		} else if err != nil {
			return "", fmt.Errorf("bulk create line %d: %w", c.Line, err)
		}
		s.audit(ctx, AuditEvent{TenantID: c.TenantID, Actor: c.Actor, Action: "bulk.create", Target: c.LoginID, TargetID: a.ID, IP: c.IP, Result: "ok:" + c.what() + " job " + c.JobID})
		if c.Invite {
			t, err := s.tenants.GetTenant(ctx, c.TenantID)
			if err != nil {
				return "", fmt.Errorf("bulk invite line %d: %w", c.Line, err)
			}
			a.Version = 1
			if err := s.invite(ctx, a, t, c.Actor, c.IP); err != nil {
				return "", fmt.Errorf("bulk invite line %d: %w", c.Line, err)
			}
		}
		return BulkCreated, nil
	}
	a, err := findAccount(ctx, s.logins, s.accounts, c.LoginID)
	switch {
	case errors.Is(err, ErrNotFound), err == nil && a.TenantID != c.TenantID:
		return BulkSkipped, nil
	case err != nil:
		return "", fmt.Errorf("bulk read line %d: %w", c.Line, err)
	case a.BulkMarker == marker:
		return BulkAlready, nil
	}
	methodChanges := c.Method != "" && (c.Method == LoginMethodIdP) != a.UsesIdP()
	if !c.HasPassword && !methodChanges && (!c.HasCapacity || a.QuotaGB == c.Capacity) && (c.Role == "" || a.Role == c.Role) && (!c.HasComment || a.Comment == c.Comment) {
		return BulkUnchanged, nil // an exported file uploaded as it is changes nothing
	}
	change := func(a *Account) {
		if c.HasPassword {
			a.ForceChange = forceChange
		}
		if c.HasCapacity {
			a.QuotaGB = c.Capacity
		}
		if c.Role != "" {
			a.Role = c.Role
		}
		if c.HasComment {
			a.Comment = c.Comment
		}
		if methodChanges {
			// As PATCH does: every session and link of the old way in ends.
			a.LoginMethod, a.IdPLink, a.TokensAfter = "", "", now
			a.SessionEpoch++
			if c.Method == LoginMethodIdP {
				a.LoginMethod, a.PasswordHash, a.ForceChange = LoginMethodIdP, "", false
				a.LockedAt, a.FailedAttempts, a.DeviceFailures = time.Time{}, 0, nil // a password's lock: no password now
			}
		}
		a.BulkMarker, a.UpdatedAt = marker, now
	}
	guard := func(a Account) error {
		if a.BulkMarker == marker {
			return errAppliedRow // the same row, delivered twice at once, won the race
		}
		if !canManage(actor.Role, a.Role) || c.Role != "" && c.Role != a.Role && (!canManage(actor.Role, c.Role) || a.ID == actor.ID) {
			return errForbiddenRow
		}
		if methodChanges && (a.ID == actor.ID || c.Method == LoginMethodIdP && a.Role != RoleUser && c.Role != RoleUser) {
			return errForbiddenRow
		}
		return nil
	}
	if guard(a) != nil {
		return refuse(a.ID, "role "+string(a.Role))
	}
	var stored Account
	if c.HasPassword {
		hash, herr := hashOf()
		if herr != nil {
			return "", herr
		}
		stored, err = s.storePassword(ctx, a, c.Settings, hash, guard, change)
	} else {
		stored, err = s.updateGuarded(ctx, a, guard, change)
	}
	if errors.Is(err, errForbiddenRow) {
		return refuse(a.ID, "role changed")
	}
	if errors.Is(err, errAppliedRow) {
		return BulkAlready, nil
	}
	if err != nil {
		return "", fmt.Errorf("bulk update line %d: %w", c.Line, err)
	}
	s.audit(ctx, AuditEvent{TenantID: c.TenantID, Actor: c.Actor, Action: "bulk.update", Target: a.LoginID, TargetID: a.ID, IP: c.IP, Result: "ok:" + c.what() + " job " + c.JobID})
	if methodChanges {
		s.methodNotice(ctx, stored, now)
	}
	return BulkUpdated, nil
}

// what a row changes, for the audit: "password", "password_hash", "quota" or both.
func (c BulkChange) what() string {
	var parts []string
	switch {
	case c.Invite:
		parts = append(parts, "invitation")
	case c.PasswordHash != "":
		parts = append(parts, "password_hash")
	case c.HasPassword:
		parts = append(parts, "password")
	}
	if c.HasCapacity {
		parts = append(parts, "quota")
	}
	if c.Role != "" {
		parts = append(parts, "role="+string(c.Role))
	}
	if c.HasComment {
		parts = append(parts, "comment")
	}
	if c.Method != "" {
		parts = append(parts, "login_method="+c.Method)
	}
	if len(parts) == 0 {
		return "account"
	}
	return strings.Join(parts, "+")
}

// errForbiddenRow ends a bulk row whose rights no longer hold.
var errForbiddenRow = errors.New("the row's rights no longer hold")

// errAppliedRow ends a bulk row that another delivery of the same row applied meanwhile.
var errAppliedRow = errors.New("the row was applied meanwhile")

// BulkSummary is how a job ended, for the audit log and the administrator's email.
type BulkSummary struct {
	JobID, TenantID, Owner, OwnerID, Filename, Mode, State string
	OwnerIP                                                string // where the job was started from
	Rows, Updated, Created, Skipped, Refused, Errors       int
	Finished                                               time.Time
}

// BulkFinished audits the end of a job and mails its summary to the administrator who
// started it.
func (s *Bulk) BulkFinished(ctx context.Context, sum BulkSummary) {
	s.audit(ctx, AuditEvent{TenantID: sum.TenantID, Actor: sum.Owner, Action: "bulk.job", Target: sum.Filename, IP: sum.OwnerIP,
		Result: fmt.Sprintf("%s:job %s rows=%d updated=%d created=%d skipped=%d refused=%d errors=%d", sum.State, sum.JobID, sum.Rows, sum.Updated, sum.Created, sum.Skipped, sum.Refused, sum.Errors)})
	owner, err := s.accounts.GetAccount(ctx, sum.TenantID, sum.OwnerID)
	if err != nil {
		s.log.ErrorContext(ctx, "bulk summary: owner", "err", err)
		return
	}
	set, _ := s.settingsOf(ctx, sum.TenantID)
	s.notify(ctx, owner, &mail.BulkSummary{When: s.formatTime(sum.Finished, set), JobURL: s.siteURL + "/bulk.html?job=" + sum.JobID,
		Job: mail.BulkJob{Filename: sum.Filename, Mode: sum.Mode, State: sum.State, Rows: sum.Rows, Updated: sum.Updated,
			Created: sum.Created, Skipped: sum.Skipped, Errors: sum.Errors}})
}

// NotifyBulkPasswordChange mails "your password was changed" (by an administrator) to the
// account with loginID in tenantID, if marker (the job's row) is what last changed it.
func (s *Bulk) NotifyBulkPasswordChange(ctx context.Context, tenantID, loginID, marker string) (bool, error) {
	a, err := findAccount(ctx, s.logins, s.accounts, loginID)
	if errors.Is(err, ErrNotFound) || err == nil && (a.TenantID != tenantID || a.BulkMarker != marker) {
		return false, nil
	} else if err != nil {
		return false, fmt.Errorf("bulk notice: %w", err)
	}
	set, err := s.settingsOf(ctx, tenantID)
	if err != nil {
		return false, err
	}
	job, _, _ := strings.Cut(marker, "#") // the row's marker: job ID # line
	s.notifyJob(ctx, a, &mail.PasswordChanged{ByAdmin: true, When: s.formatTime(a.PasswordChangedAt, set)}, job)
	return true, nil
}
