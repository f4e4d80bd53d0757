package account

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/kagiya/kagiya/shared/mail"
)

// notifier mails people what happened to their accounts (mail templates, in the
// account's language or its tenant's) through the Mailer.
type notifier struct {
	mailer  Mailer
	tmpl    *mail.Templates
	siteURL string // base of every link in an email
	tenants *tenantCache
	log     *slog.Logger
	now     func() time.Time
}

// notify renders and sends one email; a failure is logged, not returned, since the change
// it reports has already happened.
func (no *notifier) notify(ctx context.Context, a Account, e mail.Email) { no.notifyJob(ctx, a, e, "") }

// notifyJob is notify for a bulk job's notice: its delivery counts in job's notified.
func (no *notifier) notifyJob(ctx context.Context, a Account, e mail.Email, job string) {
	if err := no.send(ctx, a, e, job); err != nil {
		no.log.ErrorContext(ctx, "mail not sent", "kind", fmt.Sprintf("%T", e), "err", err)
	}
}

// send renders one email and hands it to the mailer (the outbox, which queues it).
func (no *notifier) send(ctx context.Context, a Account, e mail.Email, job string) error {
	lang := a.Language
	if lang == "" {
		if t, err := no.tenants.tenant(ctx, a.TenantID); err == nil {
			lang = t.Settings.Effective().Language
		}
	}
	if no.mailer == nil || no.tmpl == nil {
		return errors.New("no mailer configured")
	}
	msg, err := no.tmpl.Render(lang, mail.Recipient{LoginID: a.LoginID, SiteURL: no.siteURL}, e)
	if err != nil {
		return err
	}
	msg.Meta.TenantID, msg.Meta.AccountID, msg.Meta.LoginID, msg.Meta.BulkJob = a.TenantID, a.ID, a.LoginID, job
	return no.mailer.Send(ctx, msg)
}

// formatTime is how emails give a time: in the tenants' time zone (Japan's), named, in
// one format per language.
func (no *notifier) formatTime(t time.Time, set Settings) string {
	jst := time.FixedZone("JST", 9*3600)
	if set.Language == "en" {
		return t.In(jst).Format("2 January 2006 15:04 JST")
	}
	return t.In(jst).Format("2006年1月2日 15:04（日本時間）")
}

// mailUnlockLink queues the lock notice with its unlock link, and says whether it could
// (a failure is logged as every lost notice is).
func (no *notifier) mailUnlockLink(ctx context.Context, a Account, set Settings, token string, lockedAt time.Time, ttl time.Duration) error {
	now := no.now().UTC()
	notice := &mail.LockNotice{UnlockURL: no.siteURL + "/unlock.html?token=" + token,
		ValidUntil: no.formatTime(now.Add(ttl), set), Failures: set.LockoutThreshold}
	if set.LockMinutes > 0 {
		notice.LiftsAt = no.formatTime(lockedAt.Add(time.Duration(set.LockMinutes)*time.Minute), set)
	}
	err := no.send(ctx, a, notice, "")
	if err != nil {
		no.log.ErrorContext(ctx, "mail not sent", "kind", fmt.Sprintf("%T", notice), "err", err)
	}
	return err
}

// mfaNotice mails the person about its second factor; event names what happened.
func (no *notifier) mfaNotice(ctx context.Context, a Account, set Settings, event string, n mail.MFANotice) {
	n.Event, n.When = event, no.formatTime(no.now(), set)
	no.notify(ctx, a, &n)
}
