package httpapi

import (
	"net/http"
	"time"

	"github.com/kagiya/kagiya/shared/account"
)

// domainView is one domain of the tenant with its state and, until it is verified, the
// TXT record that proves it (on the domain itself).
type domainView struct {
	Domain    string `json:"domain"`
	Status    string `json:"status"` // verified, unverified (listed, not proven), pending (asked for)
	TXTName   string `json:"txt_name,omitempty"`
	TXTValue  string `json:"txt_value,omitempty"`
	Requested string `json:"requested_at,omitempty"`
}

func domainViewOf(d account.DomainStatus) domainView {
	v := domainView{Domain: d.Domain, Status: d.State}
	if d.Claim != nil && !d.Claim.Verified() {
		v.TXTName, v.TXTValue, v.Requested = d.Domain, d.Claim.Record(), d.Claim.RequestedAt.UTC().Format(time.RFC3339)
	}
	return v
}

// handleAddDomain asks to add a domain: 201 with the TXT record to publish (200 with the
// same record when it was asked for already).
func (a *api) handleAddDomain() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Domain string `json:"domain"`
		}
		if err := decode(w, r, &req); err != nil {
			a.fail(w, r, err)
			return
		}
		c, created, err := a.svc.Admin.AddDomain(r.Context(), principal(r), req.Domain, clientIP(r))
		if err != nil {
			a.fail(w, r, err)
			return
		}
		status := http.StatusOK
		if created {
			status = http.StatusCreated
		}
		writeJSON(w, status, domainViewOf(c))
	})
}

// handleVerifyDomain looks the domain's TXT record up and, if it is there, makes the
// domain the tenant's.
func (a *api) handleVerifyDomain() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := a.svc.Admin.VerifyDomain(r.Context(), principal(r), r.PathValue("domain"), clientIP(r))
		if err != nil {
			a.fail(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, domainViewOf(c))
	})
}

// handleRemoveDomain takes a domain or a pending claim off the tenant (confirmed).
func (a *api) handleRemoveDomain() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := decodeConfirm(w, r)
		if err == nil {
			err = a.svc.Admin.RemoveDomain(r.Context(), principal(r), r.PathValue("domain"), body.ConfirmPassword, clientIP(r))
		}
		if err != nil {
			a.fail(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}
