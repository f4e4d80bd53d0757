package httpapi

import (
	"net/http"

	"github.com/kagiya/kagiya/shared/account"
)

// Route is one endpoint: Method and Path in http.ServeMux (and API Gateway) syntax.
type Route struct {
	Method  string
	Path    string
	Handler http.Handler
}

// routes is the one place every endpoint is listed.
func (a *api) routes() []Route {
	return []Route{
		{"GET", "/api/health", a.handleHealth()},
		{"POST", "/api/login", a.handleLogin()},
		{"POST", "/api/login/password", a.handleLoginPassword()},
		{"POST", "/api/login/mfa", a.handleLoginMFA()},
		{"POST", "/api/login/mfa/setup", a.handleLoginMFASetup()},
		{"POST", "/api/login/mfa/confirm", a.handleLoginMFAConfirm()},
		{"POST", "/api/login/discover", a.handleDiscover()},
		{"GET", "/api/login/idp/{idp_id}/start", a.handleIdPStart()},
		{"GET", "/api/login/idp/callback", a.handleIdPCallback()},
		{"POST", "/api/login/idp/step", a.handleIdPStep()},
		{"POST", "/api/login/mfa/passkey-options", a.handleLoginPasskeyFactorOptions()},
		{"POST", "/api/login/passkey/options", a.handlePasskeyLoginOptions()},
		{"POST", "/api/login/passkey", a.handlePasskeyLogin()},
		{"POST", "/api/logout", a.signedIn(a.handleLogout())},
		{"GET", "/api/me", a.signedIn(a.handleMe())},
		{"POST", "/api/me/password", a.signedIn(a.handleChangePassword())},
		{"PUT", "/api/me/confirmation-password", a.signedIn(a.handleSetConfirmationPassword())},
		{"GET", "/api/me/sessions", a.signedIn(a.handleSessions())},
		{"DELETE", "/api/me/sessions/{session_id}", a.signedIn(a.handleEndSession())},
		{"POST", "/api/me/sessions/revoke-others", a.signedIn(a.handleEndOtherSessions())},
		{"POST", "/api/me/login-id", a.signedIn(a.handleMyLoginID())},
		{"GET", "/api/me/mfa", a.signedIn(a.handleMyMFA())},
		{"POST", "/api/me/mfa/totp/setup", a.signedIn(a.handleTOTPSetup())},
		{"POST", "/api/me/mfa/totp/confirm", a.signedIn(a.handleTOTPConfirm())},
		{"POST", "/api/me/mfa/totp/disable", a.signedIn(a.handleTOTPDisable())},
		{"POST", "/api/me/mfa/recovery-codes", a.signedIn(a.handleRecoveryCodes())},
		{"POST", "/api/me/mfa/forget-browsers", a.signedIn(a.handleForgetBrowsers())},
		{"GET", "/api/me/app-passwords", a.signedIn(a.handleMyAppPasswords())},
		{"POST", "/api/me/app-passwords", a.signedIn(a.handleCreateAppPassword())},
		{"DELETE", "/api/me/app-passwords/{app_password_id}", a.signedIn(a.handleDeleteAppPassword())},
		{"POST", "/api/me/passkeys/options", a.signedIn(a.handlePasskeyOptions())},
		{"GET", "/api/me/passkeys", a.signedIn(a.handleMyPasskeys())},
		{"POST", "/api/me/passkeys", a.signedIn(a.handleAddPasskey())},
		{"PATCH", "/api/me/passkeys/{passkey_id}", a.signedIn(a.handleRenamePasskey())},
		{"DELETE", "/api/me/passkeys/{passkey_id}", a.signedIn(a.handleRemovePasskey())},
		{"GET", "/api/me/applications", a.signedIn(a.handleMyApplications())},
		{"DELETE", "/api/me/applications/{client_id}", a.signedIn(a.handleRevokeApplication())},
		{"GET", "/api/password/policy", a.handlePolicy()},
		{"POST", "/api/service/verify", a.handleServiceVerify()},

		{"POST", "/api/unlock", a.handleUnlock()},
		{"POST", "/api/password/forgot", a.handleForgot()},
		{"POST", "/api/password/reset", a.handleReset()},
		{"POST", "/api/invitations/accept", a.handleAcceptInvitation()},
		{"POST", "/api/email/confirm", a.handleConfirmEmail()},

		{"GET", "/api/admin/accounts", a.signedIn(a.handleListAccounts())},
		{"POST", "/api/admin/accounts", a.signedIn(a.handleCreateAccount())},
		{"PATCH", "/api/admin/accounts/{login_id}", a.signedIn(a.handleUpdateAccount())},
		{"DELETE", "/api/admin/accounts/{login_id}", a.signedIn(a.handleConfirmed((*account.Admin).DeleteAccount))},
		{"POST", "/api/admin/accounts/{login_id}/sessions/revoke", a.signedIn(a.handleConfirmed((*account.Admin).RevokeSessions))},
		{"GET", "/api/admin/accounts/{login_id}/sessions", a.signedIn(a.handleAccountSessions())},
		{"DELETE", "/api/admin/accounts/{login_id}/sessions/{session_id}", a.signedIn(a.handleEndAccountSession())},
		{"POST", "/api/admin/unlock", a.signedIn(a.handleAdminUnlock())},
		{"POST", "/api/admin/suspend", a.signedIn(a.handleSuspend())},
		{"POST", "/api/admin/accounts/{login_id}/invite", a.signedIn(a.handleResendInvitation())},
		{"POST", "/api/admin/accounts/{login_id}/mfa/reset", a.signedIn(a.handleResetMFA())},
		{"POST", "/api/admin/accounts/{login_id}/mfa/unlock", a.signedIn(a.handleUnlockMFA())},
		{"POST", "/api/admin/mfa/unlock", a.signedIn(a.handleUnlockMFA())},
		{"POST", "/api/admin/accounts/{login_id}/confirmation/unlock", a.signedIn(a.handleUnlockConfirmation())},
		{"POST", "/api/admin/confirmation/unlock", a.signedIn(a.handleUnlockConfirmation())},
		{"GET", "/api/admin/accounts/export.csv", a.signedIn(a.handleExport())},
		{"GET", "/api/admin/bulk/sample.csv", a.signedIn(a.handleBulkSample())},
		{"POST", "/api/admin/bulk", a.signedIn(a.handleBulkStart())},
		{"GET", "/api/admin/bulk", a.signedIn(a.handleBulkJobs())},
		{"GET", "/api/admin/bulk/{job_id}", a.signedIn(a.handleBulkJob())},
		{"GET", "/api/admin/audit", a.signedIn(a.handleListAudit())},
		{"GET", "/api/admin/audit/export.csv", a.signedIn(a.handleAuditExport())},
		{"GET", "/api/admin/accounts/{login_id}/app-passwords", a.signedIn(a.handleAccountAppPasswords())},
		{"DELETE", "/api/admin/accounts/{login_id}/app-passwords/{app_password_id}", a.signedIn(a.handleRevokeAccountAppPassword())},
		{"GET", "/api/admin/service-credentials", a.signedIn(a.handleServiceCredentials())},
		{"POST", "/api/admin/service-credentials", a.signedIn(a.handleCreateServiceCredential())},
		{"DELETE", "/api/admin/service-credentials/{credential_id}", a.signedIn(a.handleDeleteServiceCredential())},
		{"GET", "/api/admin/oidc-clients", a.signedIn(a.handleOIDCClients())},
		{"POST", "/api/admin/oidc-clients", a.signedIn(a.handleCreateOIDCClient())},
		{"DELETE", "/api/admin/oidc-clients/{client_id}", a.signedIn(a.handleDeleteOIDCClient())},
		{"GET", "/api/admin/identity-providers", a.signedIn(a.handleIdentityProviders())},
		{"POST", "/api/admin/identity-providers", a.signedIn(a.handleCreateIdentityProvider())},
		{"DELETE", "/api/admin/identity-providers/{idp_id}", a.signedIn(a.handleDeleteIdentityProvider())},
		{"GET", "/api/admin/tenant", a.signedIn(a.handleGetTenant())},
		{"PUT", "/api/admin/tenant", a.signedIn(a.handlePutTenant())},
		{"POST", "/api/admin/tenant/domains", a.signedIn(a.handleAddDomain())},
		{"POST", "/api/admin/tenant/domains/{domain}/verify", a.signedIn(a.handleVerifyDomain())},
		{"DELETE", "/api/admin/tenant/domains/{domain}", a.signedIn(a.handleRemoveDomain())},
	}
}

// Routes lists "METHOD /path" of every endpoint the handler serves, for checks such as
// the template test.
func Routes() []string {
	var out []string
	for _, r := range (&api{}).routes() {
		out = append(out, r.Method+" "+r.Path)
	}
	return out
}
