package account

import (
	"context"
	"log/slog"
	"time"
)

// auditor files security events: in the audit log (AuditLog) under their tenant, and in
// the function's log.
type auditor struct {
	auditLog AuditLog
	log      *slog.Logger
	now      func() time.Time
}

func (au *auditor) audit(ctx context.Context, e AuditEvent) {
	if e.At.IsZero() {
		e.At = au.now().UTC()
	}
	au.log.InfoContext(ctx, "audit", "tenant", e.TenantID, "actor", e.Actor, "action", e.Action,
		"target", e.Target, "ip", e.IP, "result", e.Result)
	if e.TenantID == "" {
		return // no tenant to file it under (say, a token nobody issued): the log keeps it
	}
	if err := au.auditLog.AppendAudit(ctx, e); err != nil {
		au.log.ErrorContext(ctx, "audit not stored", "err", err, "action", e.Action)
	}
}
