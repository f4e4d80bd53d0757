// Package loadrun drives a Kagiya local server at a fixed rate with the mix of requests a
// deployment sees (sign-ins most of all), and reports throughput, latency per route,
// answers by status and the server's memory at start and end.
package loadrun

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/cookiejar"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Options say what to drive and how hard.
type Options struct {
	BaseURL              string        // the local server, e.g. http://127.0.0.1:8080
	Owner, OwnerPassword string        // an owner of the tenant the run makes its accounts in
	Domain               string        // the accounts' domain (the owner's when empty)
	Rate                 float64       // requests a second, started at that pace whatever the answers
	Duration             time.Duration // how long requests are started
	Users                int           // accounts made for the run (more spread the forgot limit)
	MaxInFlight          int           // requests at once; a start beyond it is counted as dropped
	PID                  int           // the server's process, whose VmRSS is read (0: not read)
	Seed                 uint64        // the mix's random choices (0: from the clock)
}

// Route is one kind of request in the mix, with its share.
type Route struct {
	Name  string // as reported: "POST /api/login" and so on
	Share int    // percent of the requests
}

// Mix is the realistic mix the issue gives: sign-ins 70%, then /api/me, service checks,
// wrong passwords, the administrator's list, forgot followed by the reset it mails.
var Mix = []Route{
	{"sign-in (POST /api/login)", 70},
	{"me (GET /api/me)", 10},
	{"service check (POST /api/service/verify)", 7},
	{"wrong password (POST /api/login)", 6},
	{"admin list (GET /api/admin/accounts)", 4},
	{"forgot + reset (POST /api/password/forgot, then /reset)", 3},
}

// Report is what a run measured.
type Report struct {
	Rate     float64
	Duration time.Duration // from the first start to the last answer
	Started  int
	Dropped  int // not started: MaxInFlight requests were already waiting
	Routes   []RouteReport
	Statuses map[int]int // every answer's status (0: no answer: a transport error)
	Memory   []MemorySample
	Errors   []string // the first requests counted as status 0 (no answer, or no reset link mailed), and why
}

// RouteReport is one route's answers.
type RouteReport struct {
	Name     string
	Count    int
	P50, P99 time.Duration
	Statuses map[int]int
}

// MemorySample is the server's resident memory (VmRSS) at a moment of the run.
type MemorySample struct {
	At    time.Duration // since the start
	Bytes int64
}

// ServerErrors counts the answers of 500 and above.
func (r *Report) ServerErrors() int {
	n := 0
	for s, c := range r.Statuses {
		if s >= 500 {
			n += c
		}
	}
	return n
}

// Write prints the report as a table.
func (r *Report) Write(w io.Writer) {
	done := 0
	for _, c := range r.Statuses {
		done += c
	}
	fmt.Fprintf(w, "target %.1f requests/s for %s: %d started, %d dropped, %d answered in %s (%.2f/s)\n",
		r.Rate, r.Duration.Round(time.Second), r.Started, r.Dropped, done, r.Duration.Round(time.Millisecond), float64(done)/r.Duration.Seconds())
	fmt.Fprintf(w, "%-58s %7s %9s %9s  %s\n", "route", "count", "p50", "p99", "statuses")
	for _, rr := range r.Routes {
		fmt.Fprintf(w, "%-58s %7d %9s %9s  %s\n", rr.Name, rr.Count, ms(rr.P50), ms(rr.P99), statusList(rr.Statuses))
	}
	fmt.Fprintf(w, "answers by status: %s; 5xx: %d\n", statusList(r.Statuses), r.ServerErrors())
	for _, e := range r.Errors {
		fmt.Fprintf(w, "status 0 (no answer, or no reset link mailed): %s\n", e)
	}
	if len(r.Memory) > 0 {
		var parts []string
		for _, m := range r.Memory {
			parts = append(parts, fmt.Sprintf("%s %.1f", m.At.Round(time.Second), float64(m.Bytes)/(1<<20)))
		}
		first, last := r.Memory[0], r.Memory[len(r.Memory)-1]
		fmt.Fprintf(w, "server VmRSS MiB: start %.1f, end %.1f (samples: %s)\n",
			float64(first.Bytes)/(1<<20), float64(last.Bytes)/(1<<20), strings.Join(parts, ", "))
	}
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond)) }

func statusList(m map[int]int) string {
	keys := make([]int, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%d: %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

// VmRSS reads a process's resident memory from /proc/PID/status.
func VmRSS(pid int) (int64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, fmt.Errorf("memory of %d: %w", pid, err)
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("memory of %d: %q: %w", pid, line, err)
			}
			return kb << 10, nil
		}
	}
	return 0, fmt.Errorf("memory of %d: no VmRSS", pid)
}

// user is one of the run's accounts; its lock keeps one request of it at a time (a reset
// changes its password and ends its sessions).
type user struct {
	mu       sync.Mutex
	id, pw   string
	client   *http.Client // its own cookies: a browser
	signedIn bool
}

type run struct {
	o         Options
	transport *http.Transport // shared by every client: connections are reused as browsers' are
	users     []*user
	owner     *http.Client
	service   string       // the service credential's secret
	resets    int          // forgot + reset requests started (by Run's loop alone)
	version   atomic.Int64 // new passwords are numbered

	mu      sync.Mutex
	results map[string][]result
	errors  []string // the first failures without a status (status 0)
}

type result struct {
	status int
	took   time.Duration
}

// Run makes o.Users accounts (and a service credential) with the owner, then starts
// requests at o.Rate for o.Duration and waits for their answers.
func Run(ctx context.Context, o Options) (*Report, error) {
	if o.Rate <= 0 || o.Duration <= 0 || o.Users <= 0 {
		return nil, errors.New("rate, duration and users must be above 0")
	}
	if o.MaxInFlight <= 0 {
		o.MaxInFlight = 256
	}
	if o.Domain == "" {
		_, o.Domain, _ = strings.Cut(o.Owner, "@")
	}
	seed := o.Seed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	r := &run{o: o, results: map[string][]result{},
		transport: &http.Transport{MaxIdleConns: o.MaxInFlight, MaxIdleConnsPerHost: o.MaxInFlight, IdleConnTimeout: 90 * time.Second}}
	defer r.transport.CloseIdleConnections()
	if err := r.prepare(ctx); err != nil {
		return nil, err
	}
	rnd := rand.New(rand.NewPCG(seed, 1))
	rep := &Report{Rate: o.Rate, Statuses: map[int]int{}}
	start := time.Now()
	sample := func() {
		if o.PID == 0 {
			return
		}
		if b, err := VmRSS(o.PID); err == nil {
			rep.Memory = append(rep.Memory, MemorySample{At: time.Since(start), Bytes: b})
		}
	}
	sample()
	var wg sync.WaitGroup
	slots := make(chan struct{}, o.MaxInFlight)
	// Request i starts at start + i/rate, whatever the answers so far; a loop that fell
	// behind (a busy machine) starts the late ones at once.
	n := int(o.Rate * o.Duration.Seconds())
	wait := time.NewTimer(0)
	defer wait.Stop()
	sampleEvery := min(time.Minute, o.Duration/4)
	nextSample := start.Add(sampleEvery)
loop:
	for i := range n {
		wait.Reset(time.Until(start.Add(time.Duration(float64(i) / o.Rate * float64(time.Second)))))
		select {
		case <-ctx.Done():
			break loop
		case <-wait.C:
		}
		now := time.Now()
		if now.After(nextSample) {
			sample()
			nextSample = nextSample.Add(sampleEvery)
		}
		route := pick(rnd)
		u := r.users[rnd.IntN(len(r.users))]
		if route == Mix[5].Name {
			// The accounts in turn, so that none passes the forgot limit (3 an hour).
			u = r.users[r.resets%len(r.users)]
			r.resets++
		}
		select {
		case slots <- struct{}{}:
		default:
			rep.Dropped++
			continue
		}
		rep.Started++
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			r.do(ctx, route, u)
		}()
	}
	wg.Wait()
	rep.Duration = time.Since(start)
	rep.Errors = r.errors
	sample()
	for _, rt := range Mix {
		rr := RouteReport{Name: rt.Name, Statuses: map[int]int{}}
		var took []time.Duration
		for _, res := range r.results[rt.Name] {
			rr.Statuses[res.status]++
			rep.Statuses[res.status]++
			took = append(took, res.took)
		}
		slices.Sort(took)
		rr.Count = len(took)
		rr.P50, rr.P99 = percentile(took, 50), percentile(took, 99)
		rep.Routes = append(rep.Routes, rr)
	}
	return rep, ctx.Err()
}

func percentile(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := (len(sorted)*p + 99) / 100 // nearest rank
	return sorted[max(i, 1)-1]
}

func pick(rnd *rand.Rand) string {
	n := rnd.IntN(100)
	for _, rt := range Mix {
		if n < rt.Share {
			return rt.Name
		}
		n -= rt.Share
	}
	return Mix[0].Name
}

// prepare signs the owner in, makes the accounts and a service credential.
func (r *run) prepare(ctx context.Context) error {
	r.owner = r.newClient()
	csrf, status, err := r.signIn(ctx, r.owner, r.o.Owner, r.o.OwnerPassword)
	if err != nil || status != 200 {
		return fmt.Errorf("owner sign-in: %d %v", status, err)
	}
	admin := func(method, path string, body any, out any) error {
		status, err := r.call(ctx, r.owner, method, path, body, csrf, out)
		if err != nil || status >= 300 {
			return fmt.Errorf("%s %s: %d %v", method, path, status, err)
		}
		return nil
	}
	var cred struct {
		Secret string `json:"secret"`
	}
	if err := admin("POST", "/api/admin/service-credentials", map[string]string{"name": "load " + time.Now().Format(time.RFC3339Nano),
		"confirm_password": r.o.OwnerPassword}, &cred); err != nil {
		return err
	}
	r.service = cred.Secret
	tag := strconv.FormatInt(time.Now().Unix(), 36)
	for i := range r.o.Users {
		u := &user{id: fmt.Sprintf("load-%s-%d@%s", tag, i, r.o.Domain), pw: "Load-Passw0rd-" + tag + "!", client: r.newClient()}
		if err := admin("POST", "/api/admin/accounts", map[string]any{"login_id": u.id, "role": "user", "password": u.pw}, nil); err != nil {
			return err
		}
		if _, status, err := r.signIn(ctx, u.client, u.id, u.pw); err != nil || status != 200 {
			return fmt.Errorf("%s signs in: %d %v", u.id, status, err)
		}
		u.signedIn = true
		r.users = append(r.users, u)
	}
	return nil
}

// do sends one request of route for u and records its answer. Requests of one account
// take turns (a reset changes its password and ends its sessions).
func (r *run) do(ctx context.Context, route string, u *user) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if route == Mix[1].Name && !u.signedIn { // its sessions ended with a reset: it signs in first
		route = Mix[0].Name
	}
	start := time.Now()
	var status int
	var err error
	switch route {
	case Mix[0].Name:
		_, status, err = r.signIn(ctx, u.client, u.id, u.pw)
		u.signedIn = u.signedIn || status == 200
	case Mix[1].Name:
		status, err = r.call(ctx, u.client, "GET", "/api/me", nil, "", nil)
	case Mix[2].Name:
		status, err = r.call(ctx, r.newClient(), "POST", "/api/service/verify", map[string]string{"login_id": u.id, "password": u.pw,
			"protocol": "imap", "client_ip": "203.0.113.5"}, "", nil, "Authorization", "Bearer "+r.service)
	case Mix[3].Name:
		_, status, err = r.signIn(ctx, r.newClient(), u.id, "Wrong-Passw0rd-99!")
	case Mix[4].Name:
		status, err = r.call(ctx, r.owner, "GET", "/api/admin/accounts?limit=50", nil, "", nil)
	case Mix[5].Name:
		status, err = r.reset(ctx, u)
	}
	if err != nil {
		status = 0
		r.noteError(route, err)
	}
	r.mu.Lock()
	r.results[route] = append(r.results[route], result{status: status, took: time.Since(start)})
	r.mu.Unlock()
}

var resetLink = regexp.MustCompile(`/reset\.html\?token=([A-Za-z0-9_-]+)`)

// reset asks for a reset link, reads it from /_dev/mail and sets a new password; the
// status is the reset's (or forgot's, when it fails).
func (r *run) reset(ctx context.Context, u *user) (int, error) {
	before, err := r.links(ctx, u.id)
	if err != nil {
		return 0, err
	}
	status, err := r.call(ctx, r.newClient(), "POST", "/api/password/forgot", map[string]string{"login_id": u.id}, "", nil)
	if err != nil || status != 202 {
		return status, err
	}
	after, err := r.links(ctx, u.id)
	if err != nil {
		return 0, err
	}
	if len(after) <= len(before) {
		return 0, fmt.Errorf("no reset link mailed to %s", u.id)
	}
	pw := fmt.Sprintf("Load-Reset-%d-Passw0rd!", r.version.Add(1))
	status, err = r.call(ctx, r.newClient(), "POST", "/api/password/reset", map[string]string{"token": after[len(after)-1], "new_password": pw}, "", nil)
	if status == 200 {
		u.pw, u.signedIn = pw, false
	}
	return status, err
}

// links are the reset tokens mailed to id so far.
func (r *run) links(ctx context.Context, id string) ([]string, error) {
	var mails []struct {
		Text string `json:"text"`
	}
	if status, err := r.call(ctx, r.newClient(), "GET", "/_dev/mail?to="+id, nil, "", &mails); err != nil || status != 200 {
		return nil, fmt.Errorf("mailbox: %d %v", status, err)
	}
	var out []string
	for _, m := range mails {
		for _, l := range resetLink.FindAllStringSubmatch(m.Text, -1) {
			out = append(out, l[1])
		}
	}
	return out, nil
}

func (r *run) signIn(ctx context.Context, c *http.Client, id, pw string) (csrf string, status int, err error) {
	var out struct {
		CSRF string `json:"csrf_token"`
	}
	status, err = r.call(ctx, c, "POST", "/api/login", map[string]string{"login_id": id, "password": pw}, "", &out)
	return out.CSRF, status, err
}

// newClient is a browser: its own cookies.
func (r *run) newClient() *http.Client {
	jar, _ := cookiejar.New(nil) // never fails without options
	return &http.Client{Jar: jar, Transport: r.transport, Timeout: time.Minute}
}

// noteError keeps the first few failures without a status, for the report.
func (r *run) noteError(route string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.errors) < 5 {
		r.errors = append(r.errors, route+": "+err.Error())
	}
}

// call sends a JSON request and decodes a JSON answer into out (when not nil and 2xx);
// header is pairs of extra header names and values.
func (r *run) call(ctx context.Context, c *http.Client, method, path string, body any, csrf string, out any, header ...string) (int, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, r.o.BaseURL+path, rd)
	if err != nil {
		return 0, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if csrf != "" {
		req.Header.Set("X-CSRF-Token", csrf)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	if out != nil && res.StatusCode < 300 {
		if err := json.NewDecoder(res.Body).Decode(out); err != nil {
			return res.StatusCode, fmt.Errorf("%s %s: %w", method, path, err)
		}
		return res.StatusCode, nil
	}
	_, err = io.Copy(io.Discard, res.Body)
	return res.StatusCode, err
}
