package dynamostore

import (
	"strings"
	"time"

	"github.com/kagiya/kagiya/shared/account"
)

// Times are stored as RFC 3339 strings with nanoseconds; a zero time is left out.
func fmtTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func parseTime(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	t, _ := time.Parse(time.RFC3339Nano, s)
	return t
}

type tenantItem struct {
	PK        string           `dynamodbav:"PK"`
	SK        string           `dynamodbav:"SK"`
	ID        string           `dynamodbav:"tenant_id"`
	Name      string           `dynamodbav:"name"`
	Domains   []string         `dynamodbav:"domains,omitempty"` // nil when empty: see toTenantItem
	Claims    []claimItem      `dynamodbav:"claims,omitempty"`
	Settings  account.Settings `dynamodbav:"settings"`
	CreatedAt string           `dynamodbav:"created_at,omitempty"`
}

// claimItem is a tenant's claim on a domain (account.DomainClaim).
type claimItem struct {
	Domain      string `dynamodbav:"domain"`
	Token       string `dynamodbav:"token"`
	RequestedAt string `dynamodbav:"requested_at,omitempty"`
	VerifiedAt  string `dynamodbav:"verified_at,omitempty"`
}

func toTenantItem(t account.Tenant) tenantItem {
	it := tenantItem{PK: tenantPK(t.ID), SK: skTenant, ID: t.ID, Name: t.Name, Domains: t.Domains, Settings: t.Settings,
		CreatedAt: fmtTime(t.CreatedAt)}
	if len(t.Domains) == 0 {
		it.Domains = nil // not stored: minidyn garbles an empty list put in a transaction
	}
	if len(t.Settings.AllowedNetworks) == 0 {
		it.Settings.AllowedNetworks = nil // likewise
	}
	for _, c := range t.Claims {
		it.Claims = append(it.Claims, claimItem{Domain: c.Domain, Token: c.Token, RequestedAt: fmtTime(c.RequestedAt), VerifiedAt: fmtTime(c.VerifiedAt)})
	}
	return it
}

func (it tenantItem) tenant() account.Tenant {
	t := account.Tenant{ID: it.ID, Name: it.Name, Domains: it.Domains, Settings: it.Settings, CreatedAt: parseTime(it.CreatedAt)}
	for _, c := range it.Claims {
		t.Claims = append(t.Claims, account.DomainClaim{Domain: c.Domain, Token: c.Token, RequestedAt: parseTime(c.RequestedAt), VerifiedAt: parseTime(c.VerifiedAt)})
	}
	return t
}

// domainItem makes a verified domain one tenant's alone.
type domainItem struct {
	PK       string `dynamodbav:"PK"`
	SK       string `dynamodbav:"SK"`
	TenantID string `dynamodbav:"tenant_id"`
}

// loginItem makes a login ID unique across the deployment and points at its account.
type loginItem struct {
	PK        string `dynamodbav:"PK"`
	SK        string `dynamodbav:"SK"`
	TenantID  string `dynamodbav:"tenant_id"`
	AccountID string `dynamodbav:"account_id"`
}

// counterItem is a tenant's account count.
type counterItem struct {
	PK string `dynamodbav:"PK"`
	SK string `dynamodbav:"SK"`
	N  int64  `dynamodbav:"n"`
}

type historyItem struct {
	PK     string   `dynamodbav:"PK"`
	SK     string   `dynamodbav:"SK"`
	Hashes []string `dynamodbav:"hashes"`
}

// accountItem is an account. It is kept under 1 KB (one write unit) with a second factor:
// nothing is stored twice, so the ID, creation time and password time are read back
// from the keys that hold them.
type accountItem struct {
	PK             string `dynamodbav:"PK"`
	SK             string `dynamodbav:"SK"` // ACCOUNT#<account_id>
	TenantID       string `dynamodbav:"tenant_id"`
	LoginID        string `dynamodbav:"login_id"`
	LoginKey       string `dynamodbav:"login_key"`
	Role           string `dynamodbav:"role"`
	PasswordHash   string `dynamodbav:"password_hash,omitempty"`
	ForceChange    bool   `dynamodbav:"force_change"`
	FailedAttempts int    `dynamodbav:"failed_attempts"`
	LastAttemptAt  string `dynamodbav:"last_attempt_at,omitempty"`
	// Devices holds the per-browser counters; absent until a known browser first
	// reserves an attempt (nested paths need the map, and an empty map is not stored).
	// Its entry deviceAnchor, never removed, keeps it from becoming empty when the
	// last browser's entry is (an empty map is not written back by a full write, and
	// an emulator turns a map emptied by REMOVE into a number).
	Devices        map[string]int   `dynamodbav:"devices,omitempty"`
	DeviceHour     string           `dynamodbav:"device_hour,omitempty"`
	DeviceHourN    int              `dynamodbav:"device_hour_n,omitempty"`
	MailClients    map[string]int64 `dynamodbav:"mail_clients,omitempty"`
	LockedAt       string           `dynamodbav:"locked_at,omitempty"`
	UnlockLinkTill string           `dynamodbav:"unlock_link_until,omitempty"`
	Disabled       bool             `dynamodbav:"disabled"`
	QuotaGB        int              `dynamodbav:"quota_gb"`
	Comment        string           `dynamodbav:"comment,omitempty"`
	Language       string           `dynamodbav:"language,omitempty"`
	SessionEpoch   int64            `dynamodbav:"session_epoch"`
	TokensAfter    string           `dynamodbav:"tokens_after,omitempty"`
	UpdatedAt      string           `dynamodbav:"updated_at,omitempty"`
	LastLoginAt    string           `dynamodbav:"last_login_at,omitempty"`
	BulkMarker     string           `dynamodbav:"bulk_marker,omitempty"`
	FlowSeq        int64            `dynamodbav:"flow_seq,omitempty"`
	InvitedAt      string           `dynamodbav:"invited_at,omitempty"`
	MailSuppressed string           `dynamodbav:"mail_suppressed,omitempty"`
	EmailVerified  string           `dynamodbav:"email_verified_at,omitempty"`
	LoginMethod    string           `dynamodbav:"login_method,omitempty"`
	IdPLink        string           `dynamodbav:"idp_link,omitempty"`
	// Keys of the list's indexes (list.go), which also hold what they are made from.
	CreatedKey   string       `dynamodbav:"created_key"`         // creation time, then ID
	LastLoginKey string       `dynamodbav:"last_login_key"`      // week of the last sign-in (its Monday), then ID
	PwKey        string       `dynamodbav:"pw_key,omitempty"`    // when the password was set
	CommentL     string       `dynamodbav:"comment_l,omitempty"` // the comment in lower case, if that differs
	SLocked      string       `dynamodbav:"s_locked"`            // stateValue: in which partition of a state index
	SDisabled    string       `dynamodbav:"s_disabled"`
	SForce       string       `dynamodbav:"s_force"`
	SInvited     string       `dynamodbav:"s_invited"`
	SMFALocked   string       `dynamodbav:"s_mfa"`
	MFA          *mfaItem     `dynamodbav:"mfa,omitempty"`
	Confirm      *confirmItem `dynamodbav:"confirm,omitempty"`
	Passkeys     int          `dynamodbav:"passkeys,omitempty"`
	Version      int64        `dynamodbav:"version"`
	// Written by earlier versions (read when the keys above are missing).
	OldAccountID string `dynamodbav:"account_id,omitempty"`
	OldCreatedAt string `dynamodbav:"created_at,omitempty"`
	OldPwAt      string `dynamodbav:"password_changed_at,omitempty"`
}

func toAccountItem(a account.Account) accountItem {
	it := accountItem{
		PK: tenantPK(a.TenantID), SK: accountSK(a.ID),
		TenantID: a.TenantID, LoginID: a.LoginID, LoginKey: a.Key(), Role: string(a.Role),
		PasswordHash: a.PasswordHash,
		ForceChange:  a.ForceChange, FailedAttempts: a.FailedAttempts, LastAttemptAt: fmtTime(a.LastAttemptAt), Devices: anchored(a.DeviceFailures), LockedAt: fmtTime(a.LockedAt),
		DeviceHour: a.DeviceHour, DeviceHourN: a.DeviceHourAttempts, MailClients: a.MailClients,
		UnlockLinkTill: fmtTime(a.UnlockLinkUntil), Disabled: a.Disabled, QuotaGB: a.QuotaGB, Comment: a.Comment, Language: a.Language,
		SessionEpoch: a.SessionEpoch, TokensAfter: fmtTime(a.TokensAfter),
		UpdatedAt: fmtTime(a.UpdatedAt), LastLoginAt: fmtTime(a.LastLoginAt), BulkMarker: a.BulkMarker, Version: a.Version,
		FlowSeq: a.FlowSeq, MFA: toMFAItem(a.MFA), Confirm: toConfirmItem(a.Confirmation), InvitedAt: fmtTime(a.InvitedAt), MailSuppressed: a.MailSuppressed,
		EmailVerified: fmtTime(a.EmailVerifiedAt), Passkeys: a.Passkeys, LoginMethod: a.LoginMethod, IdPLink: a.IdPLink,
		CreatedKey: account.SortKey(a, account.SortCreated), LastLoginKey: lastLoginKey(a.LastLoginAt, a.ID),
		SLocked: stateValue(a, a.Locked()), SDisabled: stateValue(a, a.Disabled), SForce: stateValue(a, a.ForceChange),
		SInvited: stateValue(a, a.Invited()), SMFALocked: stateValue(a, a.MFALocked()),
	}
	if lower := strings.ToLower(a.Comment); lower != a.Comment {
		it.CommentL = lower
	}
	if !a.PasswordChangedAt.IsZero() {
		it.PwKey = account.TimeKey(a.PasswordChangedAt)
	}
	return it
}

// stateValue places an account in a state index: in the tenant's partition while the
// state holds; otherwise in a partition of its own that nothing reads ("0" and the end
// of its ID, short and spread out). Every account stays in every state index, so a
// state's end moves the entry rather than removing it: emulators that keep an entry
// whose key attribute disappears list the states right too.
func stateValue(a account.Account, holds bool) string {
	if holds {
		return a.TenantID
	}
	return "0" + a.ID[max(0, len(a.ID)-3):]
}

// lastLoginKey is the last-sign-in index key (account.SortKey's, from the parts a
// sign-in's update knows).
func lastLoginKey(at time.Time, id string) string { return account.LastLoginWeek(at) + "#" + id }

// timeOfKey reads the time a key starts with (account.TimeKey).
func timeOfKey(k string) time.Time {
	if len(k) < 30 {
		return time.Time{}
	}
	t, _ := time.Parse("2006-01-02T15:04:05.000000000Z", k[:30])
	return t
}

func (it accountItem) account() account.Account {
	a := account.Account{
		ID: strings.TrimPrefix(it.SK, accountPrefix), TenantID: it.TenantID, LoginID: it.LoginID, Role: account.Role(it.Role),
		PasswordHash: it.PasswordHash, PasswordChangedAt: timeOfKey(it.PwKey),
		ForceChange: it.ForceChange, FailedAttempts: it.FailedAttempts, LastAttemptAt: parseTime(it.LastAttemptAt), DeviceFailures: unanchored(it.Devices), LockedAt: parseTime(it.LockedAt),
		DeviceHour: it.DeviceHour, DeviceHourAttempts: it.DeviceHourN, MailClients: it.MailClients,
		UnlockLinkUntil: parseTime(it.UnlockLinkTill), Disabled: it.Disabled, QuotaGB: it.QuotaGB, Comment: it.Comment, Language: it.Language,
		SessionEpoch: it.SessionEpoch, TokensAfter: parseTime(it.TokensAfter), CreatedAt: timeOfKey(it.CreatedKey),
		UpdatedAt: parseTime(it.UpdatedAt), LastLoginAt: parseTime(it.LastLoginAt), BulkMarker: it.BulkMarker, Version: it.Version,
		FlowSeq: it.FlowSeq, MFA: it.MFA.mfa(), Confirmation: it.Confirm.confirmation(), InvitedAt: parseTime(it.InvitedAt), MailSuppressed: it.MailSuppressed,
		EmailVerifiedAt: parseTime(it.EmailVerified), Passkeys: it.Passkeys, LoginMethod: it.LoginMethod, IdPLink: it.IdPLink,
	}
	if it.OldCreatedAt != "" && it.CreatedKey == "" {
		a.CreatedAt = parseTime(it.OldCreatedAt)
	}
	if it.OldPwAt != "" && it.PwKey == "" {
		a.PasswordChangedAt = parseTime(it.OldPwAt)
	}
	return a
}

type mfaItem struct {
	Secret       string `dynamodbav:"secret,omitempty"` // sealed
	Pending      string `dynamodbav:"pending,omitempty"`
	PendingAt    string `dynamodbav:"pending_at,omitempty"`
	EnabledAt    string `dynamodbav:"enabled_at,omitempty"`
	LastStep     int64  `dynamodbav:"last_step,omitempty"`
	Failures     int    `dynamodbav:"failures,omitempty"`
	LockedAt     string `dynamodbav:"locked_at,omitempty"`
	BrowserEpoch int64  `dynamodbav:"browser_epoch,omitempty"`
	Remembered   int    `dynamodbav:"remembered,omitempty"`
}

func toMFAItem(m account.MFA) *mfaItem {
	if m == (account.MFA{}) {
		return nil
	}
	return &mfaItem{Secret: m.Secret, Pending: m.Pending, PendingAt: fmtTime(m.PendingAt), EnabledAt: fmtTime(m.EnabledAt),
		LastStep: m.LastStep, Failures: m.Failures, LockedAt: fmtTime(m.LockedAt), BrowserEpoch: m.BrowserEpoch, Remembered: m.Remembered}
}

func (it *mfaItem) mfa() account.MFA {
	if it == nil {
		return account.MFA{}
	}
	return account.MFA{Secret: it.Secret, Pending: it.Pending, PendingAt: parseTime(it.PendingAt), EnabledAt: parseTime(it.EnabledAt),
		LastStep: it.LastStep, Failures: it.Failures, LockedAt: parseTime(it.LockedAt), BrowserEpoch: it.BrowserEpoch, Remembered: it.Remembered}
}

// confirmItem is the separate confirmation password (account.Confirmation).
type confirmItem struct {
	Hash        string `dynamodbav:"hash,omitempty"`
	ChangedAt   string `dynamodbav:"changed_at,omitempty"`
	ForceChange bool   `dynamodbav:"force_change,omitempty"`
	Failures    int    `dynamodbav:"failures,omitempty"`
	AttemptAt   string `dynamodbav:"attempt_at,omitempty"`
	LockedAt    string `dynamodbav:"locked_at,omitempty"`
}

func toConfirmItem(c account.Confirmation) *confirmItem {
	if c == (account.Confirmation{}) {
		return nil
	}
	return &confirmItem{Hash: c.Hash, ChangedAt: fmtTime(c.ChangedAt), ForceChange: c.ForceChange, Failures: c.Failures,
		AttemptAt: fmtTime(c.AttemptAt), LockedAt: fmtTime(c.LockedAt)}
}

func (it *confirmItem) confirmation() account.Confirmation {
	if it == nil {
		return account.Confirmation{}
	}
	return account.Confirmation{Hash: it.Hash, ChangedAt: parseTime(it.ChangedAt), ForceChange: it.ForceChange, Failures: it.Failures,
		AttemptAt: parseTime(it.AttemptAt), LockedAt: parseTime(it.LockedAt)}
}

type sessionItem struct {
	PK         string   `dynamodbav:"PK"`
	SK         string   `dynamodbav:"SK"`
	IDHash     string   `dynamodbav:"id_hash"`
	TenantID   string   `dynamodbav:"tenant_id"`
	AccountID  string   `dynamodbav:"account_id"`
	IP         string   `dynamodbav:"ip,omitempty"`
	UserAgent  string   `dynamodbav:"user_agent,omitempty"`
	Epoch      int64    `dynamodbav:"epoch"`
	AMR        []string `dynamodbav:"amr,omitempty"`
	IdPAuthAt  string   `dynamodbav:"idp_auth_at,omitempty"`
	CreatedAt  string   `dynamodbav:"created_at"`
	LastSeenAt string   `dynamodbav:"last_seen_at"`
	ExpiresAt  string   `dynamodbav:"expires"`
	TTL        int64    `dynamodbav:"expires_at"`
}

type auditItem struct {
	PK       string `dynamodbav:"PK"`
	SK       string `dynamodbav:"SK"`
	At       string `dynamodbav:"at"`
	Actor    string `dynamodbav:"actor"`
	Action   string `dynamodbav:"action"`
	Target   string `dynamodbav:"target"`
	TargetID string `dynamodbav:"target_id,omitempty"`
	IP       string `dynamodbav:"ip"`
	Result   string `dynamodbav:"result"`
	TTL      int64  `dynamodbav:"expires_at"`
}

type tokenItem struct {
	PK        string `dynamodbav:"PK"`
	SK        string `dynamodbav:"SK"`
	IDHash    string `dynamodbav:"id_hash"`
	Purpose   string `dynamodbav:"purpose"`
	TenantID  string `dynamodbav:"tenant_id"`
	AccountID string `dynamodbav:"account_id"`
	Data      string `dynamodbav:"data,omitempty"`
	CreatedAt string `dynamodbav:"created_at"`
	Expires   int64  `dynamodbav:"expires_ns"` // exact expiry, checked in the condition
	TTL       int64  `dynamodbav:"expires_at"`
}

type secretItem struct {
	PK    string `dynamodbav:"PK"`
	SK    string `dynamodbav:"SK"`
	Value []byte `dynamodbav:"value"`
}

// deviceAnchor is the devices map's entry that is no browser (device IDs are 22
// characters).
const deviceAnchor = "-"

// anchored is the devices map as stored: with the anchor, or nil when no browser has failures.
func anchored(devices map[string]int) map[string]int {
	if len(devices) == 0 {
		return nil
	}
	out := make(map[string]int, len(devices)+1)
	for id, n := range devices {
		out[id] = n
	}
	out[deviceAnchor] = 0
	return out
}

// unanchored is the devices map as the account holds it: browsers only.
func unanchored(devices map[string]int) map[string]int {
	if _, ok := devices[deviceAnchor]; !ok {
		return devices
	}
	out := make(map[string]int, len(devices))
	for id, n := range devices {
		if id != deviceAnchor {
			out[id] = n
		}
	}
	return out
}
