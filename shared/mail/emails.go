package mail

// The data of each kind of email: one struct per kind, whose fields are all that its
// templates may print. LoadTemplates refuses a template that names a field its struct
// lacks, in any branch, so a missing value is found when the templates are loaded (in
// every test that loads them), not when a message is sent; a field that is not set
// prints its zero value.

// Recipient is whom an email goes to and the site it links to; Render fills it in.
type Recipient struct {
	LoginID string // the address the email goes to
	SiteURL string // the site's origin, https://id.example.com (no trailing slash)
}

func (r *Recipient) recipient() *Recipient { return r }

// Email is the data of one kind of email: a pointer to one of the types below.
type Email interface {
	kind() string
	recipient() *Recipient
}

// kinds returns an empty value of every kind of email.
func kinds() []Email {
	return []Email{&PasswordChanged{}, &LockNotice{}, &PasswordReset{}, &BulkSummary{}, &NewDevice{},
		&Invitation{}, &EmailChange{}, &MFANotice{}, &PrivilegedAccount{}, &AppPassword{}, &ConfirmationNotice{}, &LoginMethodChanged{}, &Passkey{}}
}

// PasswordChanged says that the account's password was changed.
type PasswordChanged struct {
	Recipient
	When    string
	ByAdmin bool // by an administrator, not the person
}

func (*PasswordChanged) kind() string { return "password_changed" }

// LoginMethodChanged says that an administrator changed how the account signs in: through
// the identity provider IdP, or (IdP empty) with a Kagiya password.
type LoginMethodChanged struct {
	Recipient
	IdP  string
	When string
}

func (*LoginMethodChanged) kind() string { return "login_method_changed" }

// LockNotice says that the account was locked, with its unlock link.
type LockNotice struct {
	Recipient
	UnlockURL  string
	ValidUntil string // when the link ends
	LiftsAt    string // when the lock lifts by itself; empty: it does not
	Failures   int    // the wrong passwords that locked it
}

func (*LockNotice) kind() string { return "lock_notice" }

// PasswordReset carries a password reset link.
type PasswordReset struct {
	Recipient
	ResetURL   string
	ValidUntil string
	Minutes    int // the link's lifetime
}

func (*PasswordReset) kind() string { return "password_reset" }

// BulkSummary reports a finished bulk job to the administrator who started it.
type BulkSummary struct {
	Recipient
	Job    BulkJob
	When   string
	JobURL string
}

func (*BulkSummary) kind() string { return "bulk_summary" }

// BulkJob is what the summary says of the job.
type BulkJob struct {
	Filename                                string
	Mode                                    string // create or update
	State                                   string // succeeded, rejected or failed
	Rows, Updated, Created, Skipped, Errors int
}

// NewDevice says that the account signed in from a browser it had not used.
type NewDevice struct {
	Recipient
	When, IP, Browser string
}

func (*NewDevice) kind() string { return "new_device" }

// Invitation invites a person to an account of a tenant.
type Invitation struct {
	Recipient
	Tenant     string // the tenant's name
	Inviter    string // the administrator's login ID
	InviteURL  string
	ValidUntil string
	// IdP, when set, is the identity provider the person signs in with: the
	// invitation has no password to set, and InviteURL is the sign-in page.
	IdP string
}

func (*Invitation) kind() string { return "invitation" }

// EmailChange asks the new address to confirm a login-ID change (Confirm), or tells the
// old address that one was requested.
type EmailChange struct {
	Recipient
	Confirm    bool
	ConfirmURL string // with Confirm
	OldLoginID string
	NewLoginID string
	ValidUntil string
}

func (*EmailChange) kind() string { return "email_change" }

// MFANotice tells of a change to the second factor; Event names it: enabled, disabled,
// regenerated, recovery_used, locked, released or reset.
type MFANotice struct {
	Recipient
	Event    string
	When     string
	Failures int  // locked: the wrong codes in a row
	Left     int  // recovery_used: recovery codes left
	Released bool // recovery_used: the use released a lock
}

func (*MFANotice) kind() string { return "mfa_notice" }

// ConfirmationNotice tells of the separate confirmation password (確認用パスワード);
// Event names what happened: locked (by wrong ones) or released (by an administrator).
type ConfirmationNotice struct {
	Recipient
	Event    string
	When     string
	Failures int // locked: the wrong ones in a row
}

func (*ConfirmationNotice) kind() string { return "confirmation_notice" }

// PrivilegedAccount tells every owner of a tenant that an account became an admin or
// owner.
type PrivilegedAccount struct {
	Recipient
	Event  string // created or promoted
	Target string // the account's login ID
	Role   string // admin or owner
	Actor  string // who did it
	When   string
	IP     string
}

func (*PrivilegedAccount) kind() string { return "privileged_account" }

// AppPassword says that an app password was made for the account.
type AppPassword struct {
	Recipient
	Name string // the app password's name
	When string
	IP   string
}

func (*AppPassword) kind() string { return "app_password" }

// Passkey says that a passkey was added to the account or removed from it; Event is
// added or removed.
type Passkey struct {
	Recipient
	Event string
	Name  string // the passkey's name
	When  string
	IP    string
}

func (*Passkey) kind() string { return "passkey" }
