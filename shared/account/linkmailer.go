package account

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/kagiya/kagiya/shared/mail"
)

// linkMailer mails the links that change who an account is: invitations and login-ID
// changes (each checked against the tenant's domains first).
type linkMailer struct {
	*accountStore
	*links
	*notifier
	*auditor
	*domainHolders
	*idpDirectory
	siteURL string
	now     func() time.Time
}

// invite mails a an invitation link from inviter; every earlier link of a ends (its
// TokensAfter moves on before the new link is made).
func (lm *linkMailer) invite(ctx context.Context, a Account, t Tenant, inviter, ip string) error {
	set := t.Settings.Effective()
	now := lm.now().UTC()
	if a.UsesIdP() {
		// No link to set a password: the first sign-in through the provider accepts it.
		lm.notify(ctx, a, &mail.Invitation{InviteURL: lm.siteURL + "/index.html", Tenant: t.Name, Inviter: inviter, IdP: lm.providerName(ctx, a)})
		lm.audit(ctx, AuditEvent{TenantID: a.TenantID, Actor: inviter, Action: "invitation.send", Target: a.LoginID, TargetID: a.ID, IP: ip, Result: "ok:idp"})
		return nil
	}
	a, err := lm.updateRetrying(ctx, a, func(a *Account) { a.TokensAfter = now })
	if err != nil {
		return fmt.Errorf("invite: %w", err)
	}
	ttl := inviteTTL(set)
	token, err := lm.issueToken(ctx, Token{Purpose: PurposeInvite, TenantID: a.TenantID, AccountID: a.ID}, ttl)
	if err != nil {
		return err
	}
	lm.notify(ctx, a, &mail.Invitation{InviteURL: lm.siteURL + "/invite.html?token=" + token,
		Tenant: t.Name, Inviter: inviter, ValidUntil: lm.formatTime(now.Add(ttl), set)})
	lm.audit(ctx, AuditEvent{TenantID: a.TenantID, Actor: inviter, Action: "invitation.send", Target: a.LoginID, TargetID: a.ID, IP: ip, Result: "ok"})
	return nil
}

// checkNewLoginID checks a login ID a's account would change to: well formed, in the
// tenant's domains, not a's own, and not taken anywhere.
func (lm *linkMailer) checkNewLoginID(ctx context.Context, logins Logins, t Tenant, a Account, newID string) error {
	domain, ok := ParseLoginID(newID)
	switch {
	case !ok:
		return codeErr(CodeValidation, FieldError{"new_login_id", "invalid"})
	case Key(newID) == a.Key():
		return codeErr(CodeValidation, FieldError{"new_login_id", "same"})
	}
	if may, err := lm.mayUse(ctx, t, domain); err != nil {
		return err
	} else if !may {
		return codeErr(CodeValidation, FieldError{"new_login_id", "other_tenant"})
	}
	if ref, err := logins.LookupLogin(ctx, Key(newID)); err == nil && ref.TenantID != t.ID {
		return codeErr(CodeValidation, FieldError{"new_login_id", "other_tenant"}) // as for another tenant's domain: takenAnswer
	} else if err == nil {
		return codeErr(CodeLoginIDTaken, FieldError{"new_login_id", "taken"})
	} else if !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("login ID: %w", err)
	}
	return nil
}

// requestLoginIDChange mails a confirmation link to the new address and a notice to the
// old one; nothing changes until the link is used with the account's password.
func (lm *linkMailer) requestLoginIDChange(ctx context.Context, logins Logins, t Tenant, a Account, newID, actor, ip string) error {
	if err := lm.checkNewLoginID(ctx, logins, t, a, newID); err != nil {
		return err
	}
	set := t.Settings.Effective()
	ttl := emailChangeTTL(set)
	token, err := lm.issueToken(ctx, Token{Purpose: PurposeEmailChange, TenantID: a.TenantID, AccountID: a.ID, Data: newID}, ttl)
	if err != nil {
		return err
	}
	until := lm.formatTime(lm.now().Add(ttl), set)
	to := a
	to.LoginID = newID
	lm.notify(ctx, to, &mail.EmailChange{Confirm: true, ConfirmURL: lm.siteURL + "/confirm-email.html?token=" + token,
		OldLoginID: a.LoginID, NewLoginID: newID, ValidUntil: until})
	lm.notify(ctx, a, &mail.EmailChange{Confirm: false, OldLoginID: a.LoginID, NewLoginID: newID, ValidUntil: until})
	lm.audit(ctx, AuditEvent{TenantID: a.TenantID, Actor: actor, Action: "login_id.change_requested", Target: a.LoginID, TargetID: a.ID, IP: ip,
		Result: "ok:to " + newID})
	return nil
}
