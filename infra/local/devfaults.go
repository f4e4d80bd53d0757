package main

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"

	"github.com/kagiya/kagiya/shared/account"
	"github.com/kagiya/kagiya/shared/faults"
)

// devFaults serves /_dev/faults (docs/api.md, local server only): the next store writes and
// email sends fail as DynamoDB's throttling and an SES outage do, so that a person or a
// script can watch what the flows do under faults.
type devFaults struct {
	store, mail *faults.Plan // the store's plan counts every write (faults.StoreWrites)
	log         *slog.Logger
}

// faultCounts is the body of POST and GET: store_writes {skip, fail}, mail {fail}.
type faultCounts struct {
	StoreWrites *storeFaults `json:"store_writes,omitempty"`
	Mail        *mailFaults  `json:"mail,omitempty"`
}

type storeFaults struct {
	Skip int `json:"skip"`
	Fail int `json:"fail"`
}

type mailFaults struct {
	Fail int `json:"fail"`
}

func (d *devFaults) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /_dev/faults", func(w http.ResponseWriter, r *http.Request) {
		skip, fail := d.store.Left()
		_, mailFail := d.mail.Left()
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		json.NewEncoder(w).Encode(faultCounts{StoreWrites: &storeFaults{Skip: skip, Fail: fail}, Mail: &mailFaults{Fail: mailFail}}) //nolint:errcheck // the client went away
	})
	mux.HandleFunc("POST /_dev/faults", func(w http.ResponseWriter, r *http.Request) {
		var req faultCounts
		if e := decodeFaults(w, r, &req); e != nil {
			writeAPIError(w, r, e)
			return
		}
		var bad []account.FieldError
		if s := req.StoreWrites; s != nil && s.Skip < 0 {
			bad = append(bad, account.FieldError{Field: "skip", Code: "invalid"})
		}
		if s := req.StoreWrites; s != nil && s.Fail < 0 || req.Mail != nil && req.Mail.Fail < 0 {
			bad = append(bad, account.FieldError{Field: "fail", Code: "invalid"})
		}
		if bad != nil {
			writeAPIError(w, r, &account.Error{Code: "validation", Fields: bad})
			return
		}
		if s := req.StoreWrites; s != nil {
			d.store.Clear()
			if s.Fail > 0 {
				d.store.Add(faults.Rule{Methods: faults.StoreWrites(), Skip: s.Skip, Times: s.Fail, Err: faults.Throttling("DynamoDB", "UpdateItem")})
			}
			d.log.Warn("dev faults: store writes will fail", "skip", s.Skip, "fail", s.Fail)
		}
		if m := req.Mail; m != nil {
			d.mail.Clear()
			if m.Fail > 0 {
				d.mail.Add(faults.Rule{Method: "SendEmail", Times: m.Fail, Err: faults.Unavailable("SES", "SendEmail")})
			}
			d.log.Warn("dev faults: email sends will fail", "fail", m.Fail)
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("DELETE /_dev/faults", func(w http.ResponseWriter, r *http.Request) {
		d.store.Clear()
		d.mail.Clear()
		d.log.Info("dev faults cleared")
		w.WriteHeader(http.StatusNoContent)
	})
	return mux
}

// decodeFaults reads the POST body as the API does: JSON only, small, no unknown field,
// nothing after the value.
func decodeFaults(w http.ResponseWriter, r *http.Request, v any) *account.Error {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return &account.Error{Code: "unsupported_media_type"}
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	var typeErr *json.UnmarshalTypeError
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return &account.Error{Code: "body_too_large"}
	case err != nil && strings.HasPrefix(err.Error(), "json: unknown field"):
		return &account.Error{Code: "unknown_field"}
	case errors.As(err, &typeErr):
		field := typeErr.Field[strings.LastIndexByte(typeErr.Field, '.')+1:]
		return &account.Error{Code: "validation", Fields: []account.FieldError{{Field: field, Code: "type"}}}
	case err != nil:
		return &account.Error{Code: "malformed_json"}
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return &account.Error{Code: "malformed_json"}
	}
	return nil
}
