package account

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
)

// domainHolders knows which tenant holds a verified domain, and proves a claim by DNS.
type domainHolders struct {
	domains  Domains
	resolver TXTResolver
	log      *slog.Logger
}

// heldElsewhere reports whether another tenant than tenantID holds domain.
func (dh *domainHolders) heldElsewhere(ctx context.Context, tenantID, domain string) (bool, error) {
	holder, err := dh.domains.DomainHolder(ctx, domain)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	} else if err != nil {
		return false, fmt.Errorf("domain %s: %w", domain, err)
	}
	return holder != tenantID, nil
}

// mayUse reports whether tenant t may give an account the login ID in domain: the domain
// is one of t's (if t has any), and no other tenant holds it.
func (dh *domainHolders) mayUse(ctx context.Context, t Tenant, domain string) (bool, error) {
	if !t.Allows(domain) {
		return false, nil
	}
	elsewhere, err := dh.heldElsewhere(ctx, t.ID, domain)
	return !elsewhere, err
}

// lookupRecord reports whether domain has the TXT record want. A name that does not
// resolve, or has no such record, is not found; the lookup's failure is logged, since
// the owner can only try again.
func (dh *domainHolders) lookupRecord(ctx context.Context, domain, want string) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, dnsTimeout)
	defer cancel()
	records, err := dh.resolver.LookupTXT(ctx, domain)
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		dh.log.InfoContext(ctx, "domain verification lookup failed", "domain", domain, "err", err)
		return false, nil
	} else if err != nil {
		return false, fmt.Errorf("look up %s: %w", domain, err)
	}
	for _, r := range records {
		if strings.TrimSpace(r) == want {
			return true, nil
		}
	}
	return false, nil
}
