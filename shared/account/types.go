// Package account holds Kagiya's domain: tenants, accounts, sessions and audit events,
// the rules that govern them (one type per flow: SignIn, Recovery, SelfService, Admin,
// Bulk), and the store roles the rules need (store.go).
package account

import (
	"strings"
	"time"
)

// Role is what an account may do in its tenant.
type Role string

const (
	RoleOwner Role = "owner"
	RoleAdmin Role = "admin"
	RoleUser  Role = "user"
)

// Valid reports whether r is one of the three roles.
func (r Role) Valid() bool { return r == RoleOwner || r == RoleAdmin || r == RoleUser }

// IsAdmin reports whether r may use the administration endpoints.
func (r Role) IsAdmin() bool { return r == RoleOwner || r == RoleAdmin }

// Settings are a tenant's choices. Zero values mean the documented defaults; use Effective.
type Settings struct {
	PolicyPreset     string `json:"policy_preset"`
	LockoutThreshold int    `json:"lockout_threshold"`
	LockMinutes      int    `json:"lock_minutes"` // 0: a lock lasts until released
	UnlockLinkHours  int    `json:"unlock_link_hours"`
	ResetLinkMinutes int    `json:"reset_link_minutes"`
	HistoryDepth     int    `json:"history_depth"`
	MaxAgeDays       int    `json:"max_age_days"`
	Language         string `json:"language"`
	// LockoutScope: "untrusted_devices" (default) locks out only clients without a device
	// cookie of the account; "account" locks out every client.
	LockoutScope string `json:"lockout_scope"`
	// NotifyNewDevice: mail the person when it signs in from a browser it has not used
	// (nil: the default, on).
	NotifyNewDevice *bool `json:"notify_new_device"`
	// RevokeAppPasswordsOnChange: a change of the main password (by the person, a reset,
	// an administrator or a bulk file) revokes the account's app passwords, as the large
	// mail providers do (nil: the default, on).
	RevokeAppPasswordsOnChange *bool `json:"revoke_app_passwords_on_change"`
	// MFARequired: every account must have a second factor; one without enrols during
	// its next sign-in and cannot turn it off.
	MFARequired bool `json:"mfa_required"`
	// OTPLockThreshold: wrong codes in a row that lock an account's second factor
	// (0: the default, 5).
	OTPLockThreshold int `json:"otp_lock_threshold"`
	// RememberBrowserDays: how long "remember this browser" skips the code, counted from
	// that browser's last sign-in (nil: the default, 30; 0: browsers are never remembered).
	RememberBrowserDays *int `json:"remember_browser_days"`
	// ResetClearsMFA: a password reset by email also removes the second factor (the
	// cloud-storage manual's behaviour); otherwise the reset keeps it.
	ResetClearsMFA bool `json:"reset_clears_mfa"`
	// InviteLinkHours, EmailChangeLinkHours: how long an invitation and a login-ID
	// change's confirmation link last (0: the default, 14 days).
	InviteLinkHours      int `json:"invite_link_hours"`
	EmailChangeLinkHours int `json:"email_change_link_hours"`
	// AllowedNetworks: when not empty, the only networks (CIDR ranges, IPv4 and IPv6,
	// canonical form) from which the tenant's people may sign in and use their sessions,
	// and for which services may check their passwords; owners are never refused (the
	// cloud-storage manual's access routes, networks.go).
	AllowedNetworks []string `json:"allowed_networks"`
	// TrustedNetworksSkipMFA: sign-ins from AllowedNetworks skip the second factor.
	TrustedNetworksSkipMFA bool `json:"trusted_networks_skip_mfa"`
	// IdPRequiresMFA: a sign-in through the tenant's identity provider is also asked for
	// Kagiya's own second factor, as a password sign-in is (the account's factor, or
	// enrolment where MFARequired); off, the provider's own factors are the only ones.
	IdPRequiresMFA bool `json:"idp_requires_mfa"`
	// ConfirmationPassword: "login" (default) confirms dangerous actions with the login
	// password; "separate" with each person's own confirmation password (the bank
	// manual's 確認用パスワード, confirmation.go).
	ConfirmationPassword string `json:"confirmation_password"`
}

// Confirmation password modes.
const (
	ConfirmWithLogin    = "login"
	ConfirmWithSeparate = "separate"
)

// Lockout scopes.
const (
	ScopeUntrustedDevices = "untrusted_devices"
	ScopeAccount          = "account"
)

// Defaults from docs/api.md and SECURITY.md.
const (
	DefaultPolicyPreset     = "standard12"
	DefaultLockoutThreshold = 10
	DefaultUnlockLinkHours  = 14 * 24
	DefaultResetLinkMinutes = 60
	DefaultLanguage         = "ja"
	DefaultOTPLockThreshold = 5
	DefaultRememberDays     = 30
)

// Effective returns s with defaults filled in.
func (s Settings) Effective() Settings {
	if s.PolicyPreset == "" {
		s.PolicyPreset = DefaultPolicyPreset
	}
	if s.LockoutThreshold <= 0 {
		s.LockoutThreshold = DefaultLockoutThreshold
	}
	if s.UnlockLinkHours <= 0 {
		s.UnlockLinkHours = DefaultUnlockLinkHours
	}
	if s.ResetLinkMinutes <= 0 {
		s.ResetLinkMinutes = DefaultResetLinkMinutes
	}
	if s.Language != "en" {
		s.Language = DefaultLanguage
	}
	if s.LockoutScope == "" {
		s.LockoutScope = ScopeUntrustedDevices
	}
	if s.NotifyNewDevice == nil {
		on := true
		s.NotifyNewDevice = &on
	}
	if s.RevokeAppPasswordsOnChange == nil {
		on := true
		s.RevokeAppPasswordsOnChange = &on
	}
	if s.InviteLinkHours <= 0 {
		s.InviteLinkHours = DefaultInviteLinkHours
	}
	if s.EmailChangeLinkHours <= 0 {
		s.EmailChangeLinkHours = DefaultEmailChangeLinkHours
	}
	if s.OTPLockThreshold <= 0 {
		s.OTPLockThreshold = DefaultOTPLockThreshold
	}
	if s.RememberBrowserDays == nil {
		days := DefaultRememberDays
		s.RememberBrowserDays = &days
	}
	if s.AllowedNetworks == nil {
		s.AllowedNetworks = []string{}
	}
	if s.ConfirmationPassword == "" {
		s.ConfirmationPassword = ConfirmWithLogin
	}
	return s
}

// Tenant is an organization. Its ID is opaque and never changes; Domains, when not
// empty, are the only email domains its login IDs may have (hosting-panel style); with
// none, any address may join (cloud-service style).
type Tenant struct {
	ID      string
	Name    string
	Domains []string // lower case
	// Claims are the tenant's claims on domains (domains.go): pending until the domain's
	// TXT record proves them, then verified, and the domain is the tenant's alone. A
	// domain in Domains without a verified claim was listed before domains had to be
	// proven: it still limits the tenant's login IDs but gives the tenant no hold on it.
	Claims    []DomainClaim
	Settings  Settings
	CreatedAt time.Time
}

// Allows reports whether a login ID with domain (lower case) may belong to t.
func (t Tenant) Allows(domain string) bool {
	if len(t.Domains) == 0 {
		return true
	}
	for _, d := range t.Domains {
		if d == domain {
			return true
		}
	}
	return false
}

// DefaultDomain is the domain a bare account name gets (the bulk CSV), or "" if the
// tenant has no domains.
func (t Tenant) DefaultDomain() string {
	if len(t.Domains) == 0 {
		return ""
	}
	return t.Domains[0]
}

// LoginRef is where a login ID points: the one account, deployment-wide, that has it.
type LoginRef struct {
	TenantID  string
	AccountID string
}

// Account is one person's sign-in identity.
type Account struct {
	ID                string // account_id: random, opaque, never reused; everything refers to it
	TenantID          string
	LoginID           string // as the user typed it; compare with Key
	Role              Role
	PasswordHash      string // argon2id PHC string; never logged, never sent
	PasswordChangedAt time.Time
	ForceChange       bool
	FailedAttempts    int
	LastAttemptAt     time.Time      // when the last attempt was reserved
	DeviceFailures    map[string]int // wrong passwords in a row from known browsers (device ID), those above 0 only
	// DeviceHour ("2006010215", UTC) is the hour whose attempts from known browsers,
	// all of them together, DeviceHourAttempts counts (the hourly ceiling).
	DeviceHour         string
	DeviceHourAttempts int
	// MailClients are the addresses (keyed with the device key, never stored as such) from
	// which the main password passed through the service check, each with the session
	// epoch it passed in: a mail client there is known, as a browser with a device
	// cookie is (at most MaxMailClients, the latest kept).
	MailClients     map[string]int64
	LockedAt        time.Time // zero: not locked
	UnlockLinkUntil time.Time // the unlock link issued for the current lock works until then
	Disabled        bool
	QuotaGB         int
	Comment         string
	Language        string
	SessionEpoch    int64        // bumped to revoke every session; a session is valid only in its epoch
	TokensAfter     time.Time    // links and challenges issued before this are void (set when the password changes)
	InvitedAt       time.Time    // set while an invitation waits to be accepted (no password yet)
	MailSuppressed  string       // why mail to the login ID stopped arriving: "bounce", "complaint" ("" : none)
	FlowSeq         int64        // bumped when a sign-in flow completes a step: its challenge is then used up
	MFA             MFA          // the second factor, if any
	Confirmation    Confirmation // the separate confirmation password, if any (confirmation.go)
	Passkeys        int          // how many passkeys it has (the store keeps it: Passkeys role)
	CreatedAt       time.Time
	UpdatedAt       time.Time
	LastLoginAt     time.Time
	// EmailVerifiedAt is when the person last used a link mailed to its login ID (an
	// invitation, a password reset, a login-ID change); zero: never, so the address is
	// vouched for only if its domain is verified by the tenant (EmailVerified).
	EmailVerifiedAt time.Time
	BulkMarker      string // "<job>#<line>" of the bulk row that last changed it
	// LoginMethod is how the person signs in: LoginMethodPassword ("" is the same) or
	// LoginMethodIdP, through the provider of its domain only (federation.go).
	LoginMethod string
	// IdPLink is the person at the provider this idp account is linked to
	// ("<idp_id>#<subject key>"), set on its first sign-in there.
	IdPLink string
	Version int64 // optimistic concurrency; the store bumps it on every write
}

// Key is the case-insensitive form of the login ID that stores index by.
func (a Account) Key() string { return Key(a.LoginID) }

// MFA is an account's second factor: a TOTP secret, sealed (AES-GCM) so that the store
// never holds it in the clear, with the state that guards its use. Recovery codes are
// kept apart (RecoveryCodes), so the account stays one small item.
type MFA struct {
	Secret    string    // the sealed TOTP secret; "" while there is no second factor
	Pending   string    // the sealed secret of an enrolment not yet confirmed with a code
	PendingAt time.Time // when that enrolment began
	EnabledAt time.Time
	LastStep  int64     // the time step of the last code used: a code is good once
	Failures  int       // wrong codes in a row, counted before each is checked
	LockedAt  time.Time // zero: codes are accepted
	// BrowserEpoch is bumped to forget every remembered browser: a remember cookie is
	// good only in the epoch it was made in.
	BrowserEpoch int64
	Remembered   int // browsers remembered in this epoch
}

// UsesIdP reports whether a signs in through its domain's identity provider only.
func (a Account) UsesIdP() bool { return a.LoginMethod == LoginMethodIdP }

// Invited reports whether a waits for its invitation to be accepted.
func (a Account) Invited() bool { return !a.InvitedAt.IsZero() }

// MFAEnabled reports whether a has an authenticator app (TOTP) enrolled.
func (a Account) MFAEnabled() bool { return a.MFA.Secret != "" }

// HasSecondFactor reports whether a has any second factor: an authenticator app or a
// passkey.
func (a Account) HasSecondFactor() bool { return a.MFAEnabled() || a.Passkeys > 0 }

// MFALocked reports whether a's second factor is locked by wrong codes.
func (a Account) MFALocked() bool { return !a.MFA.LockedAt.IsZero() }

// Locked reports whether the account is locked at now.
func (a Account) Locked() bool { return !a.LockedAt.IsZero() }

// Key folds a login ID for comparison and storage keys.
func Key(loginID string) string { return strings.ToLower(loginID) }

// Session is a signed-in browser. Only a hash of its token is stored.
type Session struct {
	IDHash    string
	TenantID  string
	AccountID string
	IP        string // where it signed in from
	UserAgent string // the browser it signed in with (first MaxUserAgentLen bytes)
	Epoch     int64  // the account's SessionEpoch when the session began
	// AMR names how the person authenticated when the session began (RFC 8176): "pwd",
	// and "otp" and "mfa" when a second-factor code was given in that sign-in. CreatedAt
	// is when.
	AMR       []string
	CreatedAt time.Time
	// IdPAuthAt, for a session that came through the tenant's identity provider (amr
	// "fed"), is when the person authenticated there (the ID token's auth_time; zero if
	// it did not say): what freshIdP reads, since a sign-in on the provider's single
	// sign-on may come long after it.
	IdPAuthAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time // absolute end
}

// MaxUserAgentLen bounds the browser name kept with a session.
const MaxUserAgentLen = 256

// PublicID is the session's ID as its owner sees it (GET /api/me/sessions): derived from
// the stored hash, so it can name the session but never stands for the token.
func (s Session) PublicID() string { return HashToken("session-id\x00" + s.IDHash)[:20] }

// Token purposes.
const (
	PurposeUnlock = "unlock"
	PurposeReset  = "reset"
)

// Token is a single-use secret of an emailed link (sign-in challenges are signed, not
// stored: challenges.go). Only a hash of it is stored.
type Token struct {
	IDHash    string
	Purpose   string
	TenantID  string
	AccountID string
	Data      string // what the link carries: the new login ID of an email change
	CreatedAt time.Time
	ExpiresAt time.Time
}

// AuditEvent is one security-relevant happening. It never holds a secret.
type AuditEvent struct {
	TenantID string    `json:"-"`
	At       time.Time `json:"at"`
	Actor    string    `json:"actor"`
	Action   string    `json:"action"`
	Target   string    `json:"target"`              // the login ID at the time, for people
	TargetID string    `json:"target_id,omitempty"` // the account_id, which never changes
	IP       string    `json:"ip"`
	Result   string    `json:"result"`
}

// PasswordExpiresAt is when a's password expires under s, or zero if it never does.
func PasswordExpiresAt(a Account, s Settings) time.Time {
	if s.MaxAgeDays <= 0 || a.PasswordChangedAt.IsZero() {
		return time.Time{}
	}
	return a.PasswordChangedAt.AddDate(0, 0, s.MaxAgeDays)
}

// Kinds of Credential.
const (
	CredService     = "service"      // a trusted service's key for POST /api/service/verify
	CredAppPassword = "app_password" // a person's password for one mail client
	CredOIDCClient  = "oidc_client"  // a web application that signs people in through Kagiya
	CredOIDCGrant   = "oidc_grant"   // an application a person has signed in to (ID: the client's)
	CredOIDCOrigin  = "oidc_origin"  // a client's redirect origin (owner: the origin; ID: the client's), for CORS
)

// Credential is a named secret of a tenant (a service credential, an OpenID Connect
// client) or of an account (an app password). SecretHash is the only trace of the secret.
type Credential struct {
	Kind       string    `json:"kind"`
	Owner      string    `json:"owner"` // the tenant ID; the account ID for app passwords
	ID         string    `json:"id"`
	TenantID   string    `json:"tenant_id"`
	Name       string    `json:"name"`
	SecretHash string    `json:"secret_hash,omitempty"`
	CreatedBy  string    `json:"created_by,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
	LastUsedAt time.Time `json:"last_used_at,omitzero"`
	// OpenID Connect clients only.
	RedirectURIs []string `json:"redirect_uris,omitempty"`
	Public       bool     `json:"public,omitempty"`
	Scopes       []string `json:"scopes,omitempty"`
	Refresh      bool     `json:"refresh,omitempty"`
	// Identity providers only: where the provider is, Kagiya's client there (its
	// secret sealed to the provider's ID) and the tenant's domains it serves.
	Issuer       string   `json:"issuer,omitempty"`
	ClientID     string   `json:"client_id,omitempty"`
	SealedSecret string   `json:"sealed_secret,omitempty"`
	Domains      []string `json:"domains,omitempty"`
	// Links to an identity provider only: the account linked.
	AccountID string `json:"account_id,omitempty"`
}
