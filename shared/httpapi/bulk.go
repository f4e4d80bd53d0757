package httpapi

import (
	"encoding/csv"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/kagiya/kagiya/shared/account"
	"github.com/kagiya/kagiya/shared/bulk"
)

func (a *api) bulkAvailable(w http.ResponseWriter, r *http.Request) bool {
	if a.bulk == nil {
		a.fail(w, r, &account.Error{Code: "unavailable"})
		return false
	}
	return true
}

func (a *api) handleBulkStart() http.Handler {
	type request struct {
		Filename        string `json:"filename"`
		Mode            string `json:"mode"`
		ForceChange     bool   `json:"force_change"`
		AllowWeakHashes bool   `json:"allow_weak_hashes"`
		Invite          bool   `json:"invite"`
		Size            int64  `json:"size"`
		ConfirmPassword string `json:"confirm_password"`
	}
	type response struct {
		JobID         string            `json:"job_id"`
		UploadURL     string            `json:"upload_url"`
		UploadMethod  string            `json:"upload_method"`
		UploadHeaders map[string]string `json:"upload_headers"`
		Job           bulk.Job          `json:"job"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !a.bulkAvailable(w, r) {
			return
		}
		var req request
		if err := decode(w, r, &req); err != nil {
			a.fail(w, r, err)
			return
		}
		p := principal(r)
		if !p.Account.Role.IsAdmin() {
			a.fail(w, r, &account.Error{Code: account.CodeForbidden})
			return
		}
		if err := a.svc.Admin.Confirm(r.Context(), p, req.ConfirmPassword, clientIP(r), "bulk.start"); err != nil {
			a.fail(w, r, err)
			return
		}
		up, err := a.bulk.Start(r.Context(), p, bulk.StartOptions{Filename: req.Filename, Mode: req.Mode, ForceChange: req.ForceChange,
			AllowWeakHashes: req.AllowWeakHashes, Invite: req.Invite, Size: req.Size}, clientIP(r))
		if err != nil {
			a.fail(w, r, err)
			return
		}
		writeJSON(w, http.StatusCreated, response{JobID: up.Job.ID, UploadURL: up.URL, UploadMethod: "PUT", UploadHeaders: up.Headers, Job: up.Job})
	})
}

func (a *api) handleBulkJob() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !a.bulkAvailable(w, r) {
			return
		}
		j, err := a.bulk.Get(r.Context(), principal(r), r.PathValue("job_id"))
		if err != nil {
			a.fail(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, j)
	})
}

func (a *api) handleBulkSample() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := principal(r)
		if !p.Account.Role.IsAdmin() {
			a.fail(w, r, &account.Error{Code: account.CodeForbidden})
			return
		}
		t, err := a.svc.SignIn.Tenant(r.Context(), p)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="kagiya-sample.csv"`)
		w.Write(bulk.Sample(t.DefaultDomain())) //nolint:errcheck // the client went away
	})
}

// csvCell defuses spreadsheet formulas: a cell that starts with = + - @ (or a tab or CR)
// is written with a leading apostrophe, so Excel shows it as text.
func csvCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// handleExport streams the tenant's accounts as CSV (UTF-8 with BOM, for Excel), with
// no secret in it.
func (a *api) handleExport() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := principal(r)
		t, err := a.svc.Admin.TenantSettings(r.Context(), p)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="kagiya-accounts.csv"`)
		w.Header().Set("Cache-Control", "no-store")
		w.Write([]byte("\ufeff")) //nolint:errcheck
		cw := csv.NewWriter(w)
		cw.UseCRLF = true
		cw.Write(bulk.ExportHeader) //nolint:errcheck
		now := a.svc.Now()
		n := 0
		err = a.svc.Admin.ExportAccounts(r.Context(), p, func(acc account.Account) error {
			v := view(acc, t.Settings, now)
			last := ""
			if v.LastLoginAt != nil {
				last = v.LastLoginAt.UTC().Format(time.RFC3339)
			}
			cw.Write([]string{csvCell(v.LoginID), v.Role, strconv.Itoa(v.QuotaGB), csvCell(v.Comment), //nolint:errcheck
				strings.Join(v.State, " "), last, acc.CreatedAt.UTC().Format(time.RFC3339)})
			if n++; n%256 == 0 {
				cw.Flush()
			}
			return cw.Error()
		})
		cw.Flush()
		if err != nil {
			// The header is out: the download ends short, and the log says why.
			a.log.ErrorContext(r.Context(), "export", "err", err)
		}
	})
}

func (a *api) handleBulkJobs() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !a.bulkAvailable(w, r) {
			return
		}
		jobs, next, err := a.bulk.List(r.Context(), principal(r), r.URL.Query().Get("cursor"))
		if err != nil {
			a.fail(w, r, err)
			return
		}
		out := struct {
			Jobs       []bulk.Job `json:"jobs"`
			NextCursor *string    `json:"next_cursor"`
		}{Jobs: append([]bulk.Job{}, jobs...)}
		if next != "" {
			out.NextCursor = &next
		}
		writeJSON(w, http.StatusOK, out)
	})
}
