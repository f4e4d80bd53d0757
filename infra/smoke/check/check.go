// Package check is a deployment's smoke test (infra/smoke): it signs in with a test
// account, checks the headers, the caching of pages and assets and the client address
// the API sees, and signs out again.
package check

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
)

// Result is one check.
type Result struct {
	Name string
	OK   bool
	Note string
}

func (r Result) String() string {
	mark := "ok  "
	if !r.OK {
		mark = "FAIL"
	}
	return fmt.Sprintf("%s %s: %s", mark, r.Name, r.Note)
}

var asset = regexp.MustCompile(`(?:src|href)="([a-z0-9_-]+\.[0-9a-f]{10}\.(?:js|css))"`)

// Run checks the deployment at base (https://id.example.com) with a test account; with
// none (loginID ""), only the pages, headers and the API's health.
func Run(ctx context.Context, base, loginID, password string) ([]Result, error) {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	base = strings.TrimRight(base, "/")
	var out []Result
	add := func(name string, ok bool, note string, args ...any) {
		out = append(out, Result{name, ok, fmt.Sprintf(note, args...)})
	}
	get := func(path string) (*http.Response, []byte, error) {
		req, _ := http.NewRequestWithContext(ctx, "GET", base+path, nil)
		res, err := c.Do(req)
		if err != nil {
			return nil, nil, err
		}
		defer res.Body.Close()
		body, err := io.ReadAll(res.Body)
		return res, body, err
	}
	res, page, err := get("/index.html")
	if err != nil {
		return nil, fmt.Errorf("the sign-in page: %w", err)
	}
	h := res.Header
	add("sign-in page", res.StatusCode == 200, "%d", res.StatusCode)
	add("page caching", h.Get("Cache-Control") == "max-age=604800", "Cache-Control %q", h.Get("Cache-Control"))
	add("content security policy", strings.Contains(h.Get("Content-Security-Policy"), "script-src 'self'"), "%q", h.Get("Content-Security-Policy"))
	add("nosniff", h.Get("X-Content-Type-Options") == "nosniff", "%q", h.Get("X-Content-Type-Options"))
	if strings.HasPrefix(base, "https://") {
		add("HSTS", strings.Contains(h.Get("Strict-Transport-Security"), "max-age="), "%q", h.Get("Strict-Transport-Security"))
	}
	if m := asset.FindSubmatch(page); m != nil {
		ares, _, err := get("/" + string(m[1]))
		ok := err == nil && ares.StatusCode == 200 && strings.Contains(ares.Header.Get("Cache-Control"), "immutable")
		cc := ""
		if ares != nil {
			cc = ares.Header.Get("Cache-Control")
		}
		add("asset caching", ok, "%s: Cache-Control %q", m[1], cc)
	} else {
		add("asset caching", false, "no hashed asset on the sign-in page (was the built site uploaded?)")
	}
	if res, body, err := get("/api/health"); err != nil || res.StatusCode != 200 || !bytes.Contains(body, []byte(`"ok"`)) {
		add("API health", false, "%v %s", err, body)
	} else {
		add("API health", true, "200")
	}
	if loginID == "" {
		return out, nil // no account: the site and the API's health only
	}
	body, _ := json.Marshal(map[string]string{"login_id": loginID, "password": password})
	req, _ := http.NewRequestWithContext(ctx, "POST", base+"/api/login", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	lres, err := c.Do(req)
	if err != nil {
		return out, fmt.Errorf("sign in: %w", err)
	}
	var signed struct {
		Result string `json:"result"`
		CSRF   string `json:"csrf_token"`
	}
	json.NewDecoder(lres.Body).Decode(&signed) //nolint:errcheck // judged below
	lres.Body.Close()
	add("sign-in", lres.StatusCode == 200 && signed.Result == "ok", "%d %s (use a test account without a second factor)", lres.StatusCode, signed.Result)
	if signed.Result != "ok" {
		return out, nil
	}
	for _, ck := range lres.Cookies() {
		if strings.HasSuffix(ck.Name, "kagiya_session") {
			secure := !strings.HasPrefix(base, "https://") || ck.Secure && strings.HasPrefix(ck.Name, "__Host-")
			add("session cookie", ck.HttpOnly && secure, "%s HttpOnly=%v Secure=%v", ck.Name, ck.HttpOnly, ck.Secure)
		}
	}
	sres, sbody, err := get("/api/me/sessions")
	var sessions struct {
		Sessions []struct {
			IP      string `json:"ip"`
			Current bool   `json:"current"`
		} `json:"sessions"`
	}
	if err == nil {
		json.Unmarshal(sbody, &sessions) //nolint:errcheck // judged below
	}
	seen := ""
	for _, s := range sessions.Sessions {
		if s.Current {
			seen = s.IP
		}
	}
	add("client address", err == nil && sres.StatusCode == 200 && seen != "", "the API saw %q: it should be this machine's public address, not CloudFront's", seen)
	req, _ = http.NewRequestWithContext(ctx, "POST", base+"/api/logout", nil)
	req.Header.Set("X-CSRF-Token", signed.CSRF)
	if ores, err := c.Do(req); err == nil {
		ores.Body.Close()
		add("sign-out", ores.StatusCode == 204, "%d", ores.StatusCode)
	} else {
		add("sign-out", false, "%v", err)
	}
	return out, nil
}

// Temporary runs the smoke test with a temporary account: an administrator (adminID,
// adminPassword, without a second factor) signs in, creates a user account with a random
// login ID in the administrator's domain and a random password, Run checks the
// deployment with it, and the administrator deletes it again (the audit log keeps both
// steps under the administrator's name). The results say whether it was removed; if it
// was not, the note names it.
func Temporary(ctx context.Context, base, adminID, adminPassword string) ([]Result, error) {
	base = strings.TrimRight(base, "/")
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	call := func(method, path, csrf string, body any) (int, []byte, error) {
		var rd io.Reader
		if body != nil {
			b, err := json.Marshal(body)
			if err != nil {
				return 0, nil, err
			}
			rd = bytes.NewReader(b)
		}
		req, err := http.NewRequestWithContext(ctx, method, base+path, rd)
		if err != nil {
			return 0, nil, err
		}
		req.Header.Set("Content-Type", "application/json")
		if csrf != "" {
			req.Header.Set("X-CSRF-Token", csrf)
		}
		res, err := c.Do(req)
		if err != nil {
			return 0, nil, err
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		return res.StatusCode, b, err
	}
	var out []Result
	add := func(name string, ok bool, note string, args ...any) {
		out = append(out, Result{name, ok, fmt.Sprintf(note, args...)})
	}
	status, body, err := call("POST", "/api/login", "", map[string]string{"login_id": adminID, "password": adminPassword})
	if err != nil {
		return nil, fmt.Errorf("administrator sign-in: %w", err)
	}
	var admin struct {
		Result string `json:"result"`
		CSRF   string `json:"csrf_token"`
	}
	json.Unmarshal(body, &admin) //nolint:errcheck // judged below
	add("administrator sign-in", status == 200 && admin.Result == "ok", "%d %s (an administrator without a second factor)", status, admin.Result)
	if admin.Result != "ok" {
		return out, nil
	}
	domain := adminID[strings.LastIndex(adminID, "@")+1:]
	// 16 characters of upper and lower case, a digit and "-": within every preset
	// (basic8 allows 16 at most and "-_." as symbols; nist asks 15).
	id, pw := "kagiya-smoke-"+random(8, alnum)+"@"+domain, "Sm-"+random(12, lower)+"7"
	status, body, err = call("POST", "/api/admin/accounts", admin.CSRF,
		map[string]any{"login_id": id, "role": "user", "password": pw, "force_change": false, "comment": "deploy smoke test (temporary)"})
	if err != nil || status != 201 {
		add("temporary account", false, "%s: %d %s %v", id, status, body, err)
		return out, err
	}
	add("temporary account", true, "%s: %d", id, status)
	results, runErr := Run(ctx, base, id, pw)
	out = append(out, results...)
	status, body, err = call("DELETE", "/api/admin/accounts/"+url.PathEscape(id), admin.CSRF, map[string]string{"confirm_password": adminPassword})
	removed, note := err == nil && status == 204, "%s: %d %s"
	if !removed {
		note += " (remove it by hand)"
	}
	add("temporary account removed", removed, note, id, status, body)
	if status, _, err := call("POST", "/api/logout", admin.CSRF, nil); err != nil || status != 204 {
		add("administrator sign-out", false, "%d %v", status, err)
	}
	return out, runErr
}

// Alphabets of random; each has 32 characters, so a byte maps to one without bias.
const (
	alnum = "abcdefghijkmnpqrstuvwxyz23456789"
	lower = "abcdefghijklmnopqrstuvwxyzabcdef"
)

// random is n characters of alphabet (32 long) from crypto/rand.
func random(n int, alphabet string) string {
	b := make([]byte, n)
	rand.Read(b) //nolint:errcheck // crypto/rand.Read never fails (Go 1.24+)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}
