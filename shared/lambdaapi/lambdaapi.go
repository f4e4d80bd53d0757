// Package lambdaapi builds the API handler as the Lambda functions run it: configuration
// from the environment, DynamoDB and SES clients, the service and the http.Handler.
package lambdaapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/kagiya/kagiya/shared/account"
	"github.com/kagiya/kagiya/shared/bulk"
	"github.com/kagiya/kagiya/shared/httpapi"
	"github.com/kagiya/kagiya/shared/mail"
	"github.com/kagiya/kagiya/shared/password"
	"github.com/kagiya/kagiya/shared/store/dynamostore"
)

// Config is what a function reads from its environment.
type Config struct {
	Table    string          // TABLE_NAME (required)
	SiteURL  string          // SITE_URL (required): base of emailed links; https makes cookies Secure
	MailFrom string          // MAIL_FROM (required): the SES identity mail is sent from
	Hash     password.Params // ARGON2_MEMORY_KIB, ARGON2_ITERATIONS, ARGON2_PARALLELISM
	LogLevel slog.Level      // LOG_LEVEL: debug, info (default), warn, error
	// PepperParam (PASSWORD_PEPPER_PARAM, optional) names the SSM SecureString parameter
	// that holds the password pepper.
	PepperParam string
	// SealKMSKey (SEAL_KMS_KEY) is the KMS key that encrypts the key sealing
	// second-factor secrets; without it no one can turn a second factor on.
	SealKMSKey string
	// AuditTableDays (AUDIT_TABLE_DAYS, the template's AuditTableDays; default
	// account.DefaultAuditTableDays) is how long the table keeps audit events: their
	// time-to-live, and how far back the audit page reaches.
	AuditTableDays int
	// SiteBuild (SITE_BUILD, optional) is the ID of the site build deployed with the
	// functions, named in every API answer (httpapi.SiteBuildHeader).
	SiteBuild string
}

// LoadConfig reads and checks the environment.
func LoadConfig(getenv func(string) string) (Config, error) {
	c := Config{Table: getenv("TABLE_NAME"), SiteURL: strings.TrimRight(getenv("SITE_URL"), "/"), MailFrom: getenv("MAIL_FROM"), Hash: password.Default,
		PepperParam: getenv("PASSWORD_PEPPER_PARAM"), SealKMSKey: getenv("SEAL_KMS_KEY"), SiteBuild: getenv("SITE_BUILD")}
	var errs []error
	for name, v := range map[string]string{"TABLE_NAME": c.Table, "SITE_URL": c.SiteURL, "MAIL_FROM": c.MailFrom} {
		if v == "" {
			errs = append(errs, fmt.Errorf("%s is not set", name))
		}
	}
	if c.SiteURL != "" && !strings.HasPrefix(c.SiteURL, "https://") && !strings.HasPrefix(c.SiteURL, "http://") {
		errs = append(errs, fmt.Errorf("SITE_URL %q is not an http(s) URL", c.SiteURL))
	}
	uintEnv := func(name string, dst *uint32) {
		if s := getenv(name); s != "" {
			n, err := strconv.ParseUint(s, 10, 32)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", name, err))
			}
			*dst = uint32(n)
		}
	}
	uintEnv("ARGON2_MEMORY_KIB", &c.Hash.MemoryKiB)
	uintEnv("ARGON2_ITERATIONS", &c.Hash.Iterations)
	p := uint32(c.Hash.Parallelism)
	uintEnv("ARGON2_PARALLELISM", &p)
	if p > 255 {
		errs = append(errs, errors.New("ARGON2_PARALLELISM above 255"))
	}
	c.Hash.Parallelism = uint8(p)
	var err error
	if c.AuditTableDays, err = AuditTableDays(getenv); err != nil {
		errs = append(errs, err)
	}
	if err := c.Hash.Validate(); err != nil {
		errs = append(errs, err)
	}
	if s := getenv("LOG_LEVEL"); s != "" {
		if err := c.LogLevel.UnmarshalText([]byte(s)); err != nil {
			errs = append(errs, fmt.Errorf("LOG_LEVEL: %w", err))
		}
	}
	return c, errors.Join(errs...)
}

// AuditTableDays reads AUDIT_TABLE_DAYS: how long the table keeps audit events (default
// account.DefaultAuditTableDays).
func AuditTableDays(getenv func(string) string) (int, error) {
	s := getenv("AUDIT_TABLE_DAYS")
	if s == "" {
		return account.DefaultAuditTableDays, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("AUDIT_TABLE_DAYS %q is not a number of days", s)
	}
	return n, nil
}

// Env is what every function builds first: its configuration, AWS configuration, logger,
// store and account service.
type Env struct {
	Config   Config
	AWS      aws.Config
	Log      *slog.Logger
	Store    *dynamostore.Store
	Services *account.Flows
}

// KeyClient makes the seal key of second-factor secrets (SealKeyFromKMS with a KMS
// client) from the table's secrets and the key's ID; only the functions that open
// second-factor secrets pass one, so the others neither link the KMS client nor reach
// the seal key's item (the template test follows each function's code from its main).
type KeyClient func(awsCfg aws.Config, secrets SecretStore, keyID string) func(context.Context) ([]byte, error)

// MailClient makes the mailer of a function that sends email: sqsoutbox.Mailer, which
// enqueues each email in the mail queue at queueURL (MAIL_QUEUE_URL) for the mail sender
// function. The others (the unlock link, the OpenID Connect provider, the mail-event
// recorder) pass nothing, so they do not link the SQS client (the template test holds
// this to their queue rights). awsCfg has the API calls' retryer (CallConfig).
type MailClient func(awsCfg aws.Config, queueURL string) account.Mailer

// CallConfig is awsCfg with the retryer and per-attempt timeout of the API functions'
// calls (retry.go), for clients made outside this package.
func CallConfig(awsCfg aws.Config) aws.Config {
	awsCfg.Retryer = apiCallRetryer
	awsCfg.HTTPClient = apiCallHTTPClient()
	return awsCfg
}

// Build reads the environment and builds the parts every function shares, with the
// optional ones in parts (Keys, Mail).
func Build(ctx context.Context, getenv func(string) string, parts Parts) (Env, error) {
	cfg, err := LoadConfig(getenv)
	if err != nil {
		return Env{}, fmt.Errorf("config: %w", err)
	}
	log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: cfg.LogLevel}))
	awsCfg, err := lambdaConfig(getenv)
	if err != nil {
		return Env{}, fmt.Errorf("aws config: %w", err)
	}
	var tmpl *mail.Templates
	if parts.Mail != nil && getenv("MAIL_QUEUE_URL") == "" {
		return Env{}, errors.New("config: MAIL_QUEUE_URL is not set (the mail queue of a function that sends email)")
	}
	if parts.Mail != nil { // parsing and escaping every email is a few ms of the start
		if tmpl, err = mail.LoadTemplates(); err != nil {
			return Env{}, err
		}
	}
	if cfg.PepperParam != "" {
		if cfg.Hash.Pepper, err = LoadPepper(ctx, newSSMParameters(awsCfg, getenv("AWS_ENDPOINT_URL_SSM")), cfg.PepperParam); err != nil {
			return Env{}, err
		}
	}
	db := dynamodb.NewFromConfig(awsCfg, func(o *dynamodb.Options) { o.Retryer, o.HTTPClient = apiCallRetryer(), apiCallHTTPClient() })
	store := dynamostore.New(dynamostore.SDK(db), cfg.Table, time.Duration(cfg.AuditTableDays)*24*time.Hour)
	var sealKey func(context.Context) ([]byte, error)
	if cfg.SealKMSKey != "" && parts.Keys != nil {
		sealKey = parts.Keys(awsCfg, store, cfg.SealKMSKey)
	}
	var mailer account.Mailer
	if parts.Mail != nil {
		mailer = parts.Mail(CallConfig(awsCfg), getenv("MAIL_QUEUE_URL"))
	}
	var rp account.PasskeyRP
	if parts.Passkeys != nil {
		// A site whose host is an IP address can have no passkeys: the rest still works.
		if rp, err = parts.Passkeys(cfg.SiteURL, store, time.Now); err != nil {
			log.WarnContext(ctx, "passkeys unavailable", "err", err)
			rp = nil
		}
	}
	svc, err := account.New(account.Deps{
		RP:        rp,
		SealKey:   sealKey,
		Store:     store,
		Mailer:    mailer,
		Templates: tmpl,
		Now:       time.Now,
		Log:       log,
		SiteURL:   cfg.SiteURL,
		Relying:   parts.Relying,
	}, account.Config{Hash: cfg.Hash, AuditTableDays: cfg.AuditTableDays})
	if err != nil {
		return Env{}, err
	}
	return Env{Config: cfg, AWS: awsCfg, Log: log, Store: store, Services: svc}, nil
}

// CheckSchema refuses work on a table written by a newer version of Kagiya, saying so in
// the log; the functions that are not behind the HTTP API (whose handler checks it
// itself) call it before each event. It reads the version once per instance.
func (e Env) CheckSchema(ctx context.Context) error {
	err := e.Services.Schema.Check(ctx)
	if errors.Is(err, account.ErrSchemaNewer) {
		e.Log.ErrorContext(ctx, "refusing to run: the table was written by a newer version", "err", err)
	}
	return err
}

// Uploads makes the presigner of the upload bucket; only the admin function passes one,
// so the others do not link the S3 client.
type Uploads func(awsCfg aws.Config, bucket string) bulk.Presigner

// Parts are the clients only some functions link.
type Parts struct {
	Uploads Uploads                                                // the admin function: it presigns uploads
	Exports func(awsCfg aws.Config, bucket string) httpapi.Exports // the admin function: large exports go through S3
	Keys    KeyClient                                              // the sign-in function: it checks second-factor codes
	Mail    MailClient                                             // every function that sends email (to the mail queue)
	// OIDC builds the OpenID Connect provider (the oidc function; the others do not link it).
	OIDC func(ctx context.Context, env Env) (http.Handler, error)
	// Relying signs people in through their tenant's identity provider (the sign-in
	// function: package federation; the others do not link it).
	Relying account.Relying
	// Passkeys builds the WebAuthn relying party of the site's origin (the sign-in
	// function: shared/passkey's New; the others do not link WebAuthn).
	Passkeys func(origin string, secrets account.Secrets, now func() time.Time) (account.PasskeyRP, error)
}

// Handler builds the API handler from the environment and the Lambda's AWS credentials.
// With parts.Uploads and UPLOAD_BUCKET set, it serves the bulk endpoints too.
func Handler(ctx context.Context, getenv func(string) string, parts Parts) (http.Handler, error) {
	env, err := Build(ctx, getenv, parts)
	if err != nil {
		return nil, err
	}
	var provider http.Handler
	if parts.OIDC != nil {
		if provider, err = parts.OIDC(ctx, env); err != nil {
			return nil, err
		}
	}
	return handlerOf(ctx, env, getenv, parts, provider)
}

func handlerOf(ctx context.Context, env Env, getenv func(string) string, parts Parts, provider http.Handler) (http.Handler, error) {
	origin, err := originSecret(ctx, env.AWS, getenv)
	if err != nil {
		return nil, err
	}
	var jobs *bulk.Jobs
	if name := getenv("UPLOAD_BUCKET"); name != "" && parts.Uploads != nil {
		jobs = &bulk.Jobs{Store: env.Store, Presign: parts.Uploads(env.AWS, name), Now: time.Now}
	}
	var exports httpapi.Exports
	if name := getenv("UPLOAD_BUCKET"); name != "" && parts.Exports != nil {
		exports = parts.Exports(env.AWS, name)
	}
	return httpapi.New(httpapi.Deps{Services: env.Services, Log: env.Log, Bulk: jobs, Exports: exports, OriginSecret: origin, OIDC: provider,
		SecureCookies: strings.HasPrefix(env.Config.SiteURL, "https://"), AccessLogged: true, SiteBuild: func() string { return env.Config.SiteBuild }}), nil
}

// Setup is the one-off invocation that makes the first tenant and its owner, sent by the
// deploy straight to the admin function (lambda:InvokeFunction, which API Gateway never
// has): {"setup": {"owner": ..., "password": ..., "policy": ...}}.
type Setup struct {
	Owner    string `json:"owner"`
	Password string `json:"password"`
	Policy   string `json:"policy"`
}

// SetupResult is what a setup invocation answers; it never holds the password.
type SetupResult struct {
	TenantID string `json:"tenant_id,omitempty"`
	Created  bool   `json:"created"` // false: the owner's login ID exists already (a second run)
}

// RunSetup makes the first tenant and owner if that owner does not exist yet.
func RunSetup(ctx context.Context, svc *account.Flows, s Setup) (SetupResult, error) {
	t, created, err := svc.SignIn.Bootstrap(ctx, s.Owner, s.Password, account.Settings{PolicyPreset: s.Policy})
	if err != nil {
		return SetupResult{}, err
	}
	return SetupResult{TenantID: t.ID, Created: created}, nil
}

// AdminEntry is the admin function's entry point: API Gateway's requests go to the
// handler; a setup invocation makes the first tenant.
func AdminEntry(ctx context.Context, getenv func(string) string, parts Parts) (func(context.Context, json.RawMessage) (any, error), error) {
	env, err := Build(ctx, getenv, parts)
	if err != nil {
		return nil, err
	}
	h, err := handlerOf(ctx, env, getenv, parts, nil)
	if err != nil {
		return nil, err
	}
	proxy := httpadapter.NewV2(h)
	return func(ctx context.Context, raw json.RawMessage) (any, error) {
		var probe struct {
			Setup *Setup `json:"setup"`
		}
		if json.Unmarshal(raw, &probe) == nil && probe.Setup != nil {
			res, err := RunSetup(ctx, env.Services, *probe.Setup)
			if err != nil {
				env.Log.ErrorContext(ctx, "setup", "err", err) // no password in it
			}
			return res, err
		}
		var req events.APIGatewayV2HTTPRequest
		if err := json.Unmarshal(raw, &req); err != nil {
			return nil, fmt.Errorf("not an API Gateway request: %w", err)
		}
		return proxy.ProxyWithContext(ctx, req)
	}, nil
}

// AWS is the AWS configuration of a function that needs no more than that (the audit
// archive): lambdaConfig.
func AWS(getenv func(string) string) (aws.Config, error) { return lambdaConfig(getenv) }

// lambdaConfig is the AWS configuration a Lambda function has: its region and its
// execution role's credentials, both in its environment. (The SDK's LoadDefaultConfig
// would find the same, after linking every other way there is to find them: SSO, STS,
// shared files, the instance metadata service; a quarter of each binary.)
func lambdaConfig(getenv func(string) string) (aws.Config, error) {
	region, key, secret := getenv("AWS_REGION"), getenv("AWS_ACCESS_KEY_ID"), getenv("AWS_SECRET_ACCESS_KEY")
	if region == "" || key == "" || secret == "" {
		return aws.Config{}, errors.New("AWS_REGION, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not all set (Lambda sets them)")
	}
	cfg := aws.Config{Region: region, Credentials: aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider(key, secret, getenv("AWS_SESSION_TOKEN")))}
	if ep := getenv("AWS_ENDPOINT_URL"); ep != "" { // the SDK's variable for a stand-in of every service (tests)
		cfg.BaseEndpoint = &ep
	}
	// AWS_ENDPOINT_URL_<SERVICE> (AWS_ENDPOINT_URL_DYNAMODB, _S3, _SES, _SQS, _KMS): one
	// service's stand-in, as the SDK's config loader would read them (infra/rie).
	cfg.ConfigSources = append(cfg.ConfigSources, serviceEndpoints(getenv))
	return cfg, nil
}

// serviceEndpoints gives each SDK client the endpoint its AWS_ENDPOINT_URL_<SERVICE>
// variable names (the service's ID upper-cased, spaces as underscores), which the
// clients ask their configuration sources for.
type serviceEndpoints func(string) string

// GetServiceBaseEndpoint implements the SDK's ServiceBaseEndpointProvider.
func (getenv serviceEndpoints) GetServiceBaseEndpoint(_ context.Context, sdkID string) (string, bool, error) {
	ep := getenv("AWS_ENDPOINT_URL_" + strings.ToUpper(strings.ReplaceAll(sdkID, " ", "_")))
	return ep, ep != "", nil
}
