package account

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/kagiya/kagiya/shared/mail"
)

// ChangeOwnPassword is the self-service change: the current password (a wrong one counts
// toward lockout) and a new one under the tenant's rules. Every other session of the
// account ends; the caller gets a fresh session in place of the one it used.
func (s *SelfService) ChangeOwnPassword(ctx context.Context, p Principal, current, plain string, from Client) (LoginResult, error) {
	ip := from.IP
	if current == "" || len(current) > 4*MaxPasswordLen {
		return LoginResult{}, codeErr(CodeValidation, FieldError{"current_password", "required"})
	}
	a, match, _, err := s.verify(ctx, LoginRef{p.Account.TenantID, p.Account.ID}, current, ip)
	if err != nil {
		return LoginResult{}, err
	}
	if !match {
		s.audit(ctx, AuditEvent{TenantID: a.TenantID, Actor: p.Account.LoginID, Action: "password.change", Target: p.Account.LoginID, TargetID: p.Account.ID, IP: ip, Result: "failed:current_password"})
		return LoginResult{}, codeErr(CodeCurrentPassword, FieldError{"current_password", "wrong"})
	}
	if err := s.authenticated(ctx, a); err != nil {
		return LoginResult{}, err
	}
	t, err := s.tenant(ctx, a.TenantID)
	if err != nil {
		return LoginResult{}, err
	}
	set := t.Settings.Effective()
	if a, err = s.accounts.GetAccount(ctx, a.TenantID, a.ID); err != nil {
		return LoginResult{}, fmt.Errorf("change password: %w", err)
	}
	hash, err := s.newPasswordHash(ctx, a, set, "new_password", plain)
	if err != nil {
		return LoginResult{}, err
	}
	now := s.now().UTC()
	// The new session comes first, in the epoch the change moves the account to: if it
	// cannot be stored nothing has changed, and the same request works once the store
	// does (made after the change, its failure would leave the person signed out of a
	// change it was told had failed). The current password was just given: it is
	// authenticated now, by the factors of the one it replaces.
	next := a
	next.SessionEpoch++
	token, sess, err := openSession(ctx, s.sessions, next, now, s.cfg.SessionMax, from, p.Session.AMR, p.Session.IdPAuthAt)
	if err != nil {
		return LoginResult{}, err
	}
	a, err = s.storePassword(ctx, a, set, hash, nil, func(a *Account) { a.ForceChange = false })
	if err != nil {
		dropSession(ctx, s.sessions, s.log, sess) // its token was never given out
		return LoginResult{}, fmt.Errorf("change password: %w", err)
	}
	if a.SessionEpoch != next.SessionEpoch { // another change came between: a session in its epoch
		dropSession(ctx, s.sessions, s.log, sess)
		if token, _, err = openSession(ctx, s.sessions, a, now, s.cfg.SessionMax, from, p.Session.AMR, p.Session.IdPAuthAt); err != nil {
			return LoginResult{}, err
		}
	}
	// The old session has ended with its epoch; removing it only tidies the store.
	dropSession(ctx, s.sessions, s.log, p.Session)
	s.audit(ctx, AuditEvent{TenantID: a.TenantID, Actor: a.LoginID, Action: "password.change", Target: a.LoginID, TargetID: a.ID, IP: ip, Result: "ok"})
	s.notify(ctx, a, &mail.PasswordChanged{When: s.formatTime(now, set)})
	// The change moved the device epoch: the browser that made it stays known.
	device, err := s.newDeviceCookie(ctx, a)
	if err != nil {
		return LoginResult{}, err
	}
	return LoginResult{Token: token, CSRF: csrfFor(token), Account: a, Tenant: t, DeviceCookie: device}, nil
}

// Policy describes the rules of the principal's tenant.
func (s *SelfService) Policy(ctx context.Context, p Principal, lang string) (PolicyDescription, error) {
	set, err := s.settingsOf(ctx, p.Account.TenantID)
	if err != nil {
		return PolicyDescription{}, err
	}
	return s.describe(p.Account, set, lang), nil
}

// SessionInfo is one of a person's signed-in browsers, as its owner sees it.
type SessionInfo struct {
	ID         string
	CreatedAt  time.Time
	LastSeenAt time.Time
	IP         string
	UserAgent  string
	Current    bool
}

// Sessions lists the principal's live sessions, newest first. Sessions that have ended
// (expired, idle too long, or from before a sign-out everywhere) are left out.
func (s *SelfService) Sessions(ctx context.Context, p Principal) ([]SessionInfo, error) {
	return liveSessions(ctx, s.sessions, p.Account, p.Session.IDHash, s.now().UTC(), s.cfg.SessionIdle)
}

// liveSessions lists a's live sessions, newest first (current: the hash of the one
// asking, if it is a's).
func liveSessions(ctx context.Context, sessions Sessions, a Account, current string, now time.Time, idle time.Duration) ([]SessionInfo, error) {
	all, err := sessions.ListSessions(ctx, a.ID)
	if err != nil {
		return nil, fmt.Errorf("sessions: %w", err)
	}
	out := []SessionInfo{}
	for i := len(all) - 1; i >= 0; i-- {
		sess := all[i]
		if sess.Epoch != a.SessionEpoch || !now.Before(sess.ExpiresAt) || now.Sub(sess.LastSeenAt) >= idle {
			continue
		}
		out = append(out, SessionInfo{ID: sess.PublicID(), CreatedAt: sess.CreatedAt, LastSeenAt: sess.LastSeenAt,
			IP: sess.IP, UserAgent: sess.UserAgent, Current: sess.IDHash == current})
	}
	return out, nil
}

// EndSession ends one of the principal's sessions by its public ID (not_found if it has
// none such). Ending the current one is signing out.
func (s *SelfService) EndSession(ctx context.Context, p Principal, id, ip string) error {
	all, err := s.sessions.ListSessions(ctx, p.Account.ID)
	if err != nil {
		return fmt.Errorf("sessions: %w", err)
	}
	for _, sess := range all {
		if sess.PublicID() == id {
			if err := s.sessions.DeleteSession(ctx, p.Account.ID, sess.IDHash); err != nil && !errors.Is(err, ErrNotFound) {
				return fmt.Errorf("end session: %w", err)
			}
			s.audit(ctx, AuditEvent{TenantID: p.Account.TenantID, Actor: p.Account.LoginID, Action: "session.end", Target: p.Account.LoginID,
				TargetID: p.Account.ID, IP: ip, Result: "ok:" + id})
			return nil
		}
	}
	return codeErr(CodeNotFound)
}

// EndOtherSessions ends every session of the principal but the one it is using, with its
// current password (ASVS 3.3.4): a session taken over cannot shut its owner's others out.
func (s *SelfService) EndOtherSessions(ctx context.Context, p Principal, current, ip string) error {
	if _, err := s.reauth(ctx, p, current, ip, "session.end_others"); err != nil {
		return err
	}
	all, err := s.sessions.ListSessions(ctx, p.Account.ID)
	if err != nil {
		return fmt.Errorf("sessions: %w", err)
	}
	ended := 0
	for _, sess := range all {
		if sess.IDHash == p.Session.IDHash {
			continue
		}
		if err := s.sessions.DeleteSession(ctx, p.Account.ID, sess.IDHash); err != nil && !errors.Is(err, ErrNotFound) {
			return fmt.Errorf("end session: %w", err)
		}
		ended++
	}
	s.audit(ctx, AuditEvent{TenantID: p.Account.TenantID, Actor: p.Account.LoginID, Action: "session.end_others", Target: p.Account.LoginID,
		TargetID: p.Account.ID, IP: ip, Result: fmt.Sprintf("ok:%d ended", ended)})
	return nil
}
