package dynamostore

import (
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
	Domains   []string         `dynamodbav:"domains"`
	Settings  account.Settings `dynamodbav:"settings"`
	CreatedAt string           `dynamodbav:"created_at,omitempty"`
}

func toTenantItem(t account.Tenant) tenantItem {
	return tenantItem{PK: tenantPK(t.ID), SK: skTenant, ID: t.ID, Name: t.Name, Domains: t.Domains, Settings: t.Settings,
		CreatedAt: fmtTime(t.CreatedAt)}
}

func (it tenantItem) tenant() account.Tenant {
	return account.Tenant{ID: it.ID, Name: it.Name, Domains: it.Domains, Settings: it.Settings, CreatedAt: parseTime(it.CreatedAt)}
}

// loginItem makes a login ID unique across the deployment and points at its account.
type loginItem struct {
	PK        string `dynamodbav:"PK"`
	SK        string `dynamodbav:"SK"`
	TenantID  string `dynamodbav:"tenant_id"`
	AccountID string `dynamodbav:"account_id"`
}

type historyItem struct {
	PK     string   `dynamodbav:"PK"`
	SK     string   `dynamodbav:"SK"`
	Hashes []string `dynamodbav:"hashes"`
}

type accountItem struct {
	PK                string `dynamodbav:"PK"`
	SK                string `dynamodbav:"SK"`
	AccountID         string `dynamodbav:"account_id"`
	TenantID          string `dynamodbav:"tenant_id"`
	LoginID           string `dynamodbav:"login_id"`
	LoginKey          string `dynamodbav:"login_key"`
	Role              string `dynamodbav:"role"`
	PasswordHash      string `dynamodbav:"password_hash,omitempty"`
	PasswordChangedAt string `dynamodbav:"password_changed_at,omitempty"`
	ForceChange       bool   `dynamodbav:"force_change"`
	FailedAttempts    int    `dynamodbav:"failed_attempts"`
	LastAttemptAt     string `dynamodbav:"last_attempt_at,omitempty"`
	// Devices holds the per-browser counters; absent until a known browser first
	// reserves an attempt (nested paths need the map, and an empty map is not stored).
	Devices      map[string]int `dynamodbav:"devices,omitempty"`
	LockedAt     string         `dynamodbav:"locked_at,omitempty"`
	Disabled     bool           `dynamodbav:"disabled"`
	QuotaGB      int            `dynamodbav:"quota_gb"`
	Comment      string         `dynamodbav:"comment,omitempty"`
	Language     string         `dynamodbav:"language,omitempty"`
	SessionEpoch int64          `dynamodbav:"session_epoch"`
	TokensAfter  string         `dynamodbav:"tokens_after,omitempty"`
	CreatedAt    string         `dynamodbav:"created_at,omitempty"`
	UpdatedAt    string         `dynamodbav:"updated_at,omitempty"`
	LastLoginAt  string         `dynamodbav:"last_login_at,omitempty"`
	BulkMarker   string         `dynamodbav:"bulk_marker,omitempty"`
	FlowSeq      int64          `dynamodbav:"flow_seq,omitempty"`
	MFA          *mfaItem       `dynamodbav:"mfa,omitempty"`
	Version      int64          `dynamodbav:"version"`
}

// mfaItem is an account's second factor (absent while it has none and never had one).
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

func toAccountItem(a account.Account) accountItem {
	return accountItem{
		PK: tenantPK(a.TenantID), SK: accountSK(a.ID), AccountID: a.ID,
		TenantID: a.TenantID, LoginID: a.LoginID, LoginKey: a.Key(), Role: string(a.Role),
		PasswordHash: a.PasswordHash, PasswordChangedAt: fmtTime(a.PasswordChangedAt),
		ForceChange: a.ForceChange, FailedAttempts: a.FailedAttempts, LastAttemptAt: fmtTime(a.LastAttemptAt), Devices: a.DeviceFailures, LockedAt: fmtTime(a.LockedAt),
		Disabled: a.Disabled, QuotaGB: a.QuotaGB, Comment: a.Comment, Language: a.Language,
		SessionEpoch: a.SessionEpoch, TokensAfter: fmtTime(a.TokensAfter), CreatedAt: fmtTime(a.CreatedAt),
		UpdatedAt: fmtTime(a.UpdatedAt), LastLoginAt: fmtTime(a.LastLoginAt), BulkMarker: a.BulkMarker, Version: a.Version,
		FlowSeq: a.FlowSeq, MFA: toMFAItem(a.MFA),
	}
}

func (it accountItem) account() account.Account {
	return account.Account{
		ID: it.AccountID, TenantID: it.TenantID, LoginID: it.LoginID, Role: account.Role(it.Role),
		PasswordHash: it.PasswordHash, PasswordChangedAt: parseTime(it.PasswordChangedAt),
		ForceChange: it.ForceChange, FailedAttempts: it.FailedAttempts, LastAttemptAt: parseTime(it.LastAttemptAt), DeviceFailures: it.Devices, LockedAt: parseTime(it.LockedAt),
		Disabled: it.Disabled, QuotaGB: it.QuotaGB, Comment: it.Comment, Language: it.Language,
		SessionEpoch: it.SessionEpoch, TokensAfter: parseTime(it.TokensAfter), CreatedAt: parseTime(it.CreatedAt),
		UpdatedAt: parseTime(it.UpdatedAt), LastLoginAt: parseTime(it.LastLoginAt), BulkMarker: it.BulkMarker, Version: it.Version,
		FlowSeq: it.FlowSeq, MFA: it.MFA.mfa(),
	}
}

type sessionItem struct {
	PK         string `dynamodbav:"PK"`
	SK         string `dynamodbav:"SK"`
	IDHash     string `dynamodbav:"id_hash"`
	TenantID   string `dynamodbav:"tenant_id"`
	AccountID  string `dynamodbav:"account_id"`
	IP         string `dynamodbav:"ip,omitempty"`
	UserAgent  string `dynamodbav:"user_agent,omitempty"`
	Epoch      int64  `dynamodbav:"epoch"`
	CreatedAt  string `dynamodbav:"created_at"`
	LastSeenAt string `dynamodbav:"last_seen_at"`
	ExpiresAt  string `dynamodbav:"expires"`
	TTL        int64  `dynamodbav:"expires_at"`
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
	CreatedAt string `dynamodbav:"created_at"`
	Expires   int64  `dynamodbav:"expires_ns"` // exact expiry, checked in the condition
	TTL       int64  `dynamodbav:"expires_at"`
}

type secretItem struct {
	PK    string `dynamodbav:"PK"`
	SK    string `dynamodbav:"SK"`
	Value []byte `dynamodbav:"value"`
}
