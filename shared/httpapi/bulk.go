package httpapi

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
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

// csvCell defuses spreadsheet formulas (bulk.Defuse): a cell that starts with = + - @
// (or a tab, a CR or an apostrophe) is written with a leading apostrophe, so Excel shows
// it as text and an upload of the file takes it back.
func csvCell(s string) string { return bulk.Defuse(s) }

// handleExport writes the tenant's accounts as CSV (UTF-8 with BOM, for Excel; no
// secret in it), a page of accounts at a time: straight to the response, or, where
// Exports is set, to a temporary file that goes to storage and is downloaded through a
// presigned link (303).
func (a *api) handleExport() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := principal(r)
		t, err := a.svc.Admin.TenantSettings(r.Context(), p)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		words, err := wordsLang(r, bulk.ExportLanguages)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		const filename = "kagiya-accounts.csv"
		if a.exports == nil {
			w.Header().Set("Content-Type", "text/csv; charset=utf-8")
			w.Header().Set("Content-Disposition", `attachment; filename="`+filename+`"`)
			w.Header().Set("Cache-Control", "no-store")
			if err := a.writeExport(r.Context(), w, p, t, words); err != nil {
				// The header is out: the download ends short, and the log says why.
				logger(r, a.log).ErrorContext(r.Context(), "export", "err", err)
			}
			return
		}
		f, err := os.CreateTemp("", "export-*.csv")
		if err != nil {
			a.fail(w, r, fmt.Errorf("export: %w", err))
			return
		}
		defer os.Remove(f.Name())
		defer f.Close()
		if err := a.writeExport(r.Context(), f, p, t, words); err != nil {
			a.fail(w, r, err)
			return
		}
		size, err := f.Seek(0, io.SeekCurrent)
		if err == nil {
			_, err = f.Seek(0, io.SeekStart)
		}
		key := "exports/" + t.ID + "/" + strconv.FormatInt(a.svc.Now().UnixNano(), 36) + "-" + p.Account.ID + ".csv"
		if err == nil {
			err = a.exports.Put(r.Context(), key, f, size)
		}
		var url string
		if err == nil {
			url, err = a.exports.PresignGet(r.Context(), key, 5*time.Minute, filename)
		}
		if err != nil {
			a.fail(w, r, fmt.Errorf("export: %w", err))
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		http.Redirect(w, r, url, http.StatusSeeOther)
	})
}

// wordsLang is the language of an export's words: the page's (?lang=), else the
// browser's (Accept-Language); a lang not among langs is a validation error on lang.
func wordsLang(r *http.Request, langs []string) (string, error) {
	l := r.URL.Query().Get("lang")
	if l == "" {
		return lang(r), nil
	}
	if !slices.Contains(langs, l) {
		return "", &account.Error{Code: account.CodeValidation, Fields: []account.FieldError{{Field: "lang", Code: "invalid"}}}
	}
	return l, nil
}

// writeExport writes the export to w, flushing every 256 rows: times in Japan's with
// the offset (as the audit export), the role, states and login method also in words of
// lang.
func (a *api) writeExport(ctx context.Context, w io.Writer, p account.Principal, t account.Tenant, lang string) error {
	if _, err := w.Write([]byte("\ufeff")); err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	cw.Write(bulk.ExportHeader) //nolint:errcheck // reported by cw.Error
	now := a.svc.Now()
	n := 0
	err := a.svc.Admin.ExportAccounts(ctx, p, func(acc account.Account) error {
		cw.Write(bulk.ExportRow(acc, view(acc, t.Settings, now).State, lang)) //nolint:errcheck // reported by cw.Error
		if n++; n%256 == 0 {
			cw.Flush()
		}
		return cw.Error()
	})
	cw.Flush()
	if err != nil {
		return err
	}
	return cw.Error()
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
