// Command local runs all of Kagiya on one port: the site, the API, and stand-ins for SES
// (GET /_dev/mail) and S3 (/_s3/, which hands each upload to the bulk runner as the
// bucket's event would), on an embedded store, with /_dev/faults to make the next store
// writes or email sends fail. See docs/api.md for the flags.
package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"syscall"
	"time"

	"github.com/kagiya/kagiya/shared/account"
	"github.com/kagiya/kagiya/shared/bulk"
	"github.com/kagiya/kagiya/shared/faults"
	"github.com/kagiya/kagiya/shared/federation"
	"github.com/kagiya/kagiya/shared/httpapi"
	"github.com/kagiya/kagiya/shared/idp"
	"github.com/kagiya/kagiya/shared/mail"
	"github.com/kagiya/kagiya/shared/outbox"
	"github.com/kagiya/kagiya/shared/passkey"
	"github.com/kagiya/kagiya/shared/password"
	"github.com/kagiya/kagiya/site"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, append(os.Args[1:], envFlags(os.Getenv)...), os.Stderr, nil); err != nil {
		var usage usageError
		switch {
		case errors.Is(err, flag.ErrHelp):
			os.Exit(0)
		case errors.As(err, &usage):
			os.Exit(2) // the flag package has said what is wrong
		}
		fmt.Fprintln(os.Stderr, "kagiya local:", err)
		os.Exit(1)
	}
}

// envFlags turns the environment the functions read that also means something locally
// (LOG_LEVEL) into flags, so the local server honours it as the functions do.
func envFlags(getenv func(string) string) []string {
	if v := getenv("LOG_LEVEL"); v != "" {
		return []string{"-log-level", v}
	}
	return nil
}

// options are the dev server's settings; hash is not a flag (tests make it cheaper).
type options struct {
	addr, data, owner, ownerPassword, policy string
	dns                                      string // host:port of the DNS server that proves domains ("": the system's)
	store                                    string // bbolt or minidyn
	rateLimit                                bool
	logLevel                                 slog.Level
	hash                                     password.Params
	// wrapStore, when set (tests only; no flag), wraps the store the account service
	// uses: a fault-injecting store, for instance.
	wrapStore func(account.Store) account.Store
	// wrapSender, when set (tests only), wraps the outbox's sender (the SES stand-in):
	// a fault-injecting mailer, for instance.
	wrapSender func(outbox.Sender) outbox.Sender
	// siteSwap, when set (tests only), is given the function that builds another site
	// folder and serves it in place of the embedded one: a newer build, for instance.
	siteSwap func(swap func(fs.FS) error)
	// wrapSite, when set (tests only), wraps the handler of the site's files.
	wrapSite func(http.Handler) http.Handler
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	fs := flag.NewFlagSet("local", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	fs.StringVar(&o.addr, "addr", "127.0.0.1:8080", "address to listen on")
	fs.StringVar(&o.data, "data", "./.kagiya", "directory of the embedded store")
	fs.StringVar(&o.owner, "owner", "", "owner email: when no account has that login ID yet, creates a tenant named after its domain (beside any others) and this owner")
	fs.StringVar(&o.ownerPassword, "owner-password", "", "password of -owner")
	fs.StringVar(&o.policy, "policy", account.DefaultPolicyPreset, "password policy preset of the -owner tenant")
	fs.StringVar(&o.dns, "dns", "", "host:port of the DNS server that domain verification asks for TXT records (default: the system's resolver)")
	fs.StringVar(&o.store, "store", "bbolt", "bbolt (the embedded store in -data) or minidyn (the DynamoDB store over an in-memory DynamoDB, gone when the server stops; -data keeps only the mail queue, mail.db, and seal.key; for load runs)")
	fs.TextVar(&o.logLevel, "log-level", slog.LevelInfo, "debug, info, warn or error (also LOG_LEVEL)")
	fs.BoolVar(&o.rateLimit, "rate-limit", true, "per-IP throttling of sign-in, forgot, reset, unlock and the OpenID Connect authorize and token endpoints (false for load tests on one machine; per-account limits and lockout stay on)")
	if err := fs.Parse(args); err != nil {
		return o, usageError{err}
	}
	if (o.owner == "") != (o.ownerPassword == "") {
		return o, errors.New("-owner and -owner-password go together")
	}
	switch o.policy {
	case "standard12", "basic8", "classes3of4", "legacy3to30", "nist":
	default:
		return o, fmt.Errorf("-policy %q: want standard12, basic8, classes3of4, legacy3to30 or nist", o.policy)
	}
	if o.store != "bbolt" && o.store != "minidyn" {
		return o, fmt.Errorf("-store %q: want bbolt or minidyn", o.store)
	}
	if o.dns != "" {
		if _, _, err := net.SplitHostPort(o.dns); err != nil {
			return o, fmt.Errorf("-dns %q: want host:port", o.dns)
		}
	}
	o.hash = password.Default
	return o, nil
}

// resolver asks the DNS server at addr for every name (domain verification without
// public DNS); "" is the system's resolver.
func resolver(addr string) *net.Resolver {
	if addr == "" {
		return &net.Resolver{}
	}
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}}
}

// usageError is a command line the flag package refused (and has already explained).
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// run serves until ctx ends. ready, if not nil, receives the listening address.
func run(ctx context.Context, args []string, stderr io.Writer, ready func(addr string)) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	return serve(ctx, o, stderr, ready)
}

func serve(ctx context.Context, o options, stderr io.Writer, ready func(addr string)) error {
	log := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: o.logLevel}))
	if err := os.MkdirAll(o.data, 0o700); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	store, mailQueue, hasTenants, closeStore, err := openStore(ctx, o)
	if err != nil {
		return err
	}
	defer closeStore()

	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	siteURL := "http://" + ln.Addr().String()

	tmpl, err := mail.LoadTemplates()
	if err != nil {
		return err
	}
	// Mail goes through the outbox, as in AWS: the flows enqueue it in the store, and
	// the worker delivers it to the mailbox (the SES stand-in), retrying what failed.
	// /_dev/faults fails the next store writes and email sends on request.
	dev := &devFaults{store: &faults.Plan{}, mail: &faults.Plan{}, log: log}
	mailbox := mail.NewMailbox(time.Now)
	var sender outbox.Sender = faults.NewMailer(mailbox, dev.mail)
	if o.wrapSender != nil {
		sender = o.wrapSender(sender)
	}
	mailWorker := outbox.NewWorker(mailQueue, &outbox.Deliverer{Sender: sender, Audit: store, Jobs: store, Now: time.Now, Log: log})
	mailCtx, stopMail := context.WithCancel(ctx)
	mailDone := make(chan struct{})
	go func() { mailWorker.Run(mailCtx); close(mailDone) }()
	defer func() { stopMail(); <-mailDone }() // before the store closes
	mailer := outbox.New(mailQueue, time.Now, mailWorker.Wake)
	cfg := account.Config{Hash: o.hash}
	if !o.rateLimit {
		cfg.LoginPerIPMinute, cfg.RecoveryPerIPMinute = -1, -1
	}
	sealKey, err := keyFile(filepath.Join(o.data, "seal.key"))
	if err != nil {
		return err
	}
	var accounts account.Store = faults.NewStore(store, dev.store)
	if o.wrapStore != nil {
		accounts = o.wrapStore(accounts)
	}
	// Browsers take no IP address as a passkey's relying party: passkeys belong to
	// http://localhost:PORT, where the same server answers.
	rp, err := passkey.New(passkeyOrigin(ln.Addr()), account.SecretKey(store, account.PasskeyKeyName), time.Now)
	if err != nil {
		return err
	}
	svc, err := account.New(account.Deps{Store: accounts, Mailer: mailer, Templates: tmpl,
		Now: time.Now, Log: log, SiteURL: siteURL, SealKey: account.StaticKey(sealKey), Resolver: resolver(o.dns),
		Relying: federation.New(federation.Config{AllowLoopback: true}), LoopbackIssuers: true, RP: rp}, cfg) // identity providers on this machine may use http
	if err != nil {
		return err
	}
	setup, err := newFirstRun(svc, o.policy)
	if err != nil {
		return err
	}
	if o.owner != "" {
		t, created, err := svc.SignIn.Bootstrap(ctx, o.owner, o.ownerPassword, account.Settings{PolicyPreset: o.policy})
		if err != nil {
			return fmt.Errorf("create owner: %w", err)
		}
		if created {
			log.Info("created tenant and owner", "tenant", t.ID, "name", t.Name, "owner", o.owner, "policy", o.policy)
		}
	}

	s3fake, err := newFakeS3(ctx, siteURL)
	if err != nil {
		return fmt.Errorf("s3 stand-in: %w", err)
	}
	// Large jobs fan out as in AWS: two parts at once, each hashing on every core (so the
	// machine is as busy as one run kept it), retried like SQS redeliveries.
	runner := &bulk.Runner{Jobs: store, Files: s3fake.files, Accounts: svc.Bulk, Now: time.Now, Log: log, Workers: runtime.GOMAXPROCS(0)}
	runCtx, stopRuns := context.WithCancel(ctx)
	defer stopRuns()
	runner.Fanout = bulk.NewPool(runCtx, runner, 2, 5, time.Second)
	go s3fake.deliver(runCtx, runner, log)
	jobs := &bulk.Jobs{Store: store, Presign: s3fake.bucket, Now: time.Now}

	mux := http.NewServeMux()
	deps := idp.Deps{Issuer: siteURL, Integrations: svc.Integrations, Sessions: svc.SignIn, Store: accounts,
		SessionCookies: []string{httpapi.CookieName}, Now: time.Now, Log: log}
	if !o.rateLimit {
		deps.AuthorizePerIPMinute, deps.TokenPerIPMinute = -1, -1
	}
	provider, err := idp.New(ctx, deps)
	if err != nil {
		return err
	}
	built, err := newBuiltSite(site.Files)
	if err != nil {
		return err
	}
	if o.siteSwap != nil {
		o.siteSwap(built.swap)
	}
	api := httpapi.New(httpapi.Deps{Services: svc, Log: log, Bulk: jobs, OIDC: provider, SiteBuild: built.ID})
	mux.Handle("/api/", api)
	mux.Handle(idp.Discovery, api)
	mux.Handle(s3Prefix+"/", s3fake.handler)
	inbox := devMail(mailbox, mailWorker.Flush)
	mux.Handle("/_dev/mail", inbox)
	mux.Handle("/_dev/mail/", inbox)
	mux.Handle("/_dev/mail.css", inbox)
	mux.Handle("/_dev/faults", dev.handler())
	mux.Handle("/_dev/setup", setup.handler())
	mux.Handle("/_dev/setup/", setup.handler())
	var files http.Handler = built
	if o.wrapSite != nil {
		files = o.wrapSite(files)
	}
	mux.Handle("/", httpapi.SecurityHeaders(files))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("kagiya local server", "url", siteURL, "passkeys_url", passkeyOrigin(ln.Addr()), "data", o.data)
	has, err := hasTenants()
	if err != nil {
		return err
	}
	setup.announce(ctx, has, siteURL, func(s string) { fmt.Fprint(stderr, s) })
	if ready != nil {
		ready(ln.Addr().String())
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	log.Info("stopped")
	return nil
}

// passkeyOrigin is the origin passkeys use locally: localhost at the server's port.
func passkeyOrigin(addr net.Addr) string {
	port := 0
	if a, ok := addr.(*net.TCPAddr); ok {
		port = a.Port
	}
	return fmt.Sprintf("http://localhost:%d", port)
}

// keyFile returns the 32-byte key in path, made (random, readable by this user only) on
// first start: the key that seals second-factor secrets in the local store.
func keyFile(path string) ([]byte, error) {
	key, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		key = make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, fmt.Errorf("seal key: %w", err)
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, fmt.Errorf("seal key: %w", err)
		}
		if _, err := f.Write(key); err != nil {
			f.Close()
			return nil, fmt.Errorf("seal key: %w", err)
		}
		return key, f.Close()
	} else if err != nil {
		return nil, fmt.Errorf("seal key: %w", err)
	}
	if len(key) != 32 {
		return nil, fmt.Errorf("seal key %s: %d bytes, want 32", path, len(key))
	}
	return key, nil
}
