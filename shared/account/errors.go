package account

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"time"
)

// Errors that stores return (possibly wrapped).
var (
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("conflict") // exists already, or changed since it was read
)

// Stable error codes of docs/api.md that the service produces.
const (
	CodeInvalidRequest     = "invalid_request"
	CodeInvalidCredentials = "invalid_credentials"
	CodeUnauthenticated    = "unauthenticated"
	CodeForbidden          = "forbidden"
	CodeNotFound           = "not_found"
	CodeSchemaNewer        = "schema_newer" // the table was written by a newer version
	CodeConflict           = "conflict"
	CodeLoginIDTaken       = "login_id_taken"
	// Domains: held by another tenant, or its TXT record not found.
	CodeDomainTaken       = "domain_taken"
	CodeDomainNotVerified = "domain_not_verified"
	CodeUseSelfService    = "use_self_service"
	CodePasswordPolicy    = "password_policy"
	CodeRateLimited       = "rate_limited"
	CodeValidation        = "validation"
	// CodeControlCharacters: a name an email or a page shows holds a line break, another
	// control character or an invisible format character (bidi controls).
	CodeControlCharacters = "control_characters"
	CodeInvalidToken      = "invalid_token"
	CodeConfirmPassword   = "invalid_confirm_password"
	CodeCurrentPassword   = "invalid_current_password"
	// Second factor.
	CodeInvalidCode         = "invalid_code"
	CodeMFALocked           = "mfa_locked"
	CodeMFARequiredByTenant = "mfa_required_by_tenant"
	CodeMFAAlreadyEnabled   = "mfa_already_enabled"
	CodeMFANotEnabled       = "mfa_not_enabled"
	CodeMFANotPending       = "mfa_not_pending"
	CodeNotInvited          = "not_invited"
	// The separate confirmation password: none set yet (or one an administrator set,
	// to be replaced), or locked by wrong ones.
	CodeConfirmationNotSet = "confirmation_password_not_set"
	CodeConfirmationLocked = "confirmation_locked"
	// CodeNetworkNotAllowed: the tenant's allowed networks do not include the client.
	CodeNetworkNotAllowed = "network_not_allowed"
	// CodeInvalidServiceCredential: the service check's bearer secret is missing or wrong.
	CodeInvalidServiceCredential = "invalid_service_credential"
	// CodeAuditArchived: the audit range asked for is older than the table keeps its
	// events (Config.AuditTableDays); they are in the audit archive, for the operator.
	CodeAuditArchived = "audit_archived"
)

// FieldError names one problem with one input field.
type FieldError struct {
	Field string `json:"field"`
	Code  string `json:"code"`
}

// Error is a failure the caller caused and may be told about: it carries a stable code.
type Error struct {
	Code       string
	Fields     []FieldError
	RetryAfter time.Duration // for rate_limited
}

func (e *Error) Error() string {
	if len(e.Fields) == 0 {
		return e.Code
	}
	return fmt.Sprintf("%s: %v", e.Code, e.Fields)
}

func codeErr(code string, fields ...FieldError) error { return &Error{Code: code, Fields: fields} }

// CodeOf returns the stable code of err, or "" for an internal error.
func CodeOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

func constantTimeEqual(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}
