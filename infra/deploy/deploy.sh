#!/usr/bin/env bash
# One command to deploy Kagiya, again and again (every step is idempotent), with no
# question asked: every value comes from a flag, the environment or the previous run.
#
#   bash infra/deploy/deploy.sh --site-domain id.example.com \
#     --certificate-arn arn:aws:acm:us-east-1:123456789012:certificate/... \
#     --mail-identity example.com --mail-from no-reply@example.com \
#     [--stack kagiya] [--region ap-northeast-1] [--alarm-email ops@example.com]
#     [--pepper-parameter /kagiya/pepper] [--param Key=Value ...] [--owner owner@example.com]
#     [--no-waf] [--ses-sandbox-ok] [--config FILE] [--dry-run]
#
# Environment instead of flags: KAGIYA_STACK, KAGIYA_REGION (else AWS_REGION), KAGIYA_SITE_DOMAIN,
# KAGIYA_CERTIFICATE_ARN, KAGIYA_MAIL_IDENTITY, KAGIYA_MAIL_FROM, KAGIYA_ALARM_EMAIL,
# KAGIYA_PEPPER_PARAMETER, KAGIYA_PARAMS ("Key=Value Key=Value"), KAGIYA_OWNER, and
# KAGIYA_OWNER_PASSWORD (the owner's first password; never asked). Flags win over the
# environment, which wins over the values saved by the previous run in
# infra/samconfig.local.toml (ignored by git; --config names another file).
#
# Steps: 1. check the prerequisites (tools, credentials, the SES identity and production
# access, the ACM certificate in us-east-1, the Lambda concurrency quota, the pepper's
# key) and say everything that is missing at once; 2. the edge firewall (infra/waf.yaml) in us-east-1
# (--no-waf: none); 3. write the settings file; 4. sam build and sam deploy from it, with
# no confirmation (SAM asks about routes without an authorizer only in --guided mode,
# which this never uses: Kagiya's functions authenticate every request themselves);
# 5. the built site to the site bucket and an invalidation of the pages; 6. with
# --owner, the first tenant and its owner (one invocation of the admin function); 7. the
# smoke test (infra/smoke) through CloudFront, with a temporary account that an
# administrator makes and deletes: the owner made in step 6, else KAGIYA_SMOKE_ADMIN and
# KAGIYA_SMOKE_ADMIN_PASSWORD; without one, the pages and the API's health only.
# --dry-run runs the checks (they only read) and prints every other command instead of
# running it.
#
# Written for bash 3.2 (macOS) as for later ones: no arrays, no bash 4 features.
set -euo pipefail
cd "$(dirname "$0")/../.."

stack=${KAGIYA_STACK:-}
region=${KAGIYA_REGION:-}
site_domain=${KAGIYA_SITE_DOMAIN:-}
certificate_arn=${KAGIYA_CERTIFICATE_ARN:-}
mail_identity=${KAGIYA_MAIL_IDENTITY:-}
mail_from=${KAGIYA_MAIL_FROM:-}
alarm_email=${KAGIYA_ALARM_EMAIL:-}
pepper=${KAGIYA_PEPPER_PARAMETER:-}
extra=${KAGIYA_PARAMS:-}
owner=${KAGIYA_OWNER:-}
config=infra/samconfig.local.toml
waf=1
sandbox_ok=0
dry=0
created=0

die() { echo "deploy: $*" >&2; exit 2; }
need_arg() { [ $# -ge 2 ] || die "$1 needs a value (see --help)"; }
while [ $# -gt 0 ]; do
  case "$1" in
    --stack) need_arg "$@"; stack=$2; shift 2 ;;
    --region) need_arg "$@"; region=$2; shift 2 ;;
    --site-domain) need_arg "$@"; site_domain=$2; shift 2 ;;
    --certificate-arn) need_arg "$@"; certificate_arn=$2; shift 2 ;;
    --mail-identity) need_arg "$@"; mail_identity=$2; shift 2 ;;
    --mail-from) need_arg "$@"; mail_from=$2; shift 2 ;;
    --alarm-email) need_arg "$@"; alarm_email=$2; shift 2 ;;
    --pepper-parameter) need_arg "$@"; pepper=$2; shift 2 ;;
    --param) need_arg "$@"; extra="$extra $2"; shift 2 ;;
    --param=*) extra="$extra ${1#--param=}"; shift ;;
    --owner) need_arg "$@"; owner=$2; shift 2 ;;
    --config) need_arg "$@"; config=$2; shift 2 ;;
    --no-waf) waf=0; shift ;;
    --ses-sandbox-ok) sandbox_ok=1; shift ;;
    --dry-run) dry=1; shift ;;
    -h|--help) sed -n '2,32p' "$0"; exit 0 ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
done

# The template's parameters, as "Key=Value Key=Value" (values never hold spaces or quotes).
params=""
set_param() {
  case "$2" in *[[:space:]\"\'\\]*) die "the value of $1 may not hold spaces, quotes or backslashes" ;; esac
  case "$1" in ''|*[!A-Za-z0-9]*) die "not a parameter name: $1" ;; esac
  kept="" ; set -f
  for kv in $params; do
    case "$kv" in "$1="*) ;; *) kept="$kept $kv" ;; esac
  done
  set +f
  params="${kept# } $1=$2"; params=${params# }
}
get_param() {
  set -f
  for kv in $params; do
    case "$kv" in "$1="*) set +f; printf '%s' "${kv#*=}"; return ;; esac
  done
  set +f
}

# The previous run's values (from the settings file this script writes).
saved() { [ -f "$config" ] && sed -n "s/^$1 = \"\\(.*\\)\"\$/\\1/p" "$config" | head -n 1; }
if [ -f "$config" ]; then
  set -f
  for kv in $(saved parameter_overrides | sed 's/\\"//g'); do set_param "${kv%%=*}" "${kv#*=}"; done
  set +f
  [ -n "$stack" ] || stack=$(saved stack_name)
  [ -n "$region" ] || region=$(saved region)
fi
[ -n "$stack" ] || stack=kagiya
[ -n "$region" ] || region=${AWS_REGION:-${AWS_DEFAULT_REGION:-}}
[ -z "$site_domain" ] || set_param SiteDomain "$site_domain"
[ -z "$certificate_arn" ] || set_param CertificateArn "$certificate_arn"
[ -z "$mail_identity" ] || set_param MailIdentity "$mail_identity"
[ -z "$mail_from" ] || set_param MailFrom "$mail_from"
[ -z "$alarm_email" ] || set_param AlarmEmail "$alarm_email"
[ -z "$pepper" ] || set_param PepperParameter "$pepper"
set -f
for kv in $extra; do
  case "$kv" in *=*) set_param "${kv%%=*}" "${kv#*=}" ;; *) die "--param takes Key=Value, not $kv" ;; esac
done
set +f

# run prints a command and, unless this is a dry run, runs it.
run() {
  printf '+'; printf ' %q' "$@"; printf '\n'
  [ "$dry" = 1 ] || "$@"
}
# output prints a stack output (a placeholder in a dry run, where the stack may not exist).
output() {
  if [ "$dry" = 1 ]; then printf '<%s:%s>' "$1" "$3"; return; fi
  aws cloudformation describe-stacks --region "$2" --stack-name "$1" \
    --query "Stacks[0].Outputs[?OutputKey=='$3'].OutputValue" --output text
}

echo "== checks ($stack, $region)"
missing=""
miss() { missing="$missing
missing: $*"; }
tool() { command -v "$1" >/dev/null 2>&1 || miss "$2"; }
cli="https://docs.aws.amazon.com/cli/latest/userguide/getting-started-install.html"
aws_v2=0
if command -v aws >/dev/null 2>&1; then
  aws_version=$(aws --version 2>&1 || true)
  case "$aws_version" in
    aws-cli/[2-9].*) aws_v2=1 ;;
    *) miss "the AWS CLI v2 (aws): this one is ${aws_version%% *}; install version 2: $cli" ;;
  esac
else
  miss "the AWS CLI v2 (aws): $cli"
fi
tool sam "the AWS SAM CLI (sam): https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/install-sam-cli.html"
tool go "Go 1.26 or later (go): https://go.dev/dl/ (it builds the functions and the site)"
tool make "make (sam build runs infra/build/Makefile): Xcode command line tools on macOS, build-essential on Debian"
[ -n "$region" ] || miss "a region: --region, KAGIYA_REGION or AWS_REGION"
domain=$(get_param SiteDomain); cert=$(get_param CertificateArn)
identity=$(get_param MailIdentity); from=$(get_param MailFrom)
[ -n "$domain" ] || miss "the site's host name: --site-domain or KAGIYA_SITE_DOMAIN"
[ -n "$cert" ] || miss "the certificate: --certificate-arn or KAGIYA_CERTIFICATE_ARN"
[ -n "$identity" ] || miss "the SES identity: --mail-identity or KAGIYA_MAIL_IDENTITY"
[ -n "$from" ] || miss "the sender: --mail-from or KAGIYA_MAIL_FROM"
if [ -n "$owner" ] && [ -z "${KAGIYA_OWNER_PASSWORD:-}" ]; then
  miss "KAGIYA_OWNER_PASSWORD, the first password of $owner (this script never asks)"
fi
# The checks in the account run whenever they can (the CLI v2, a region, credentials), so
# that one run lists everything missing; each needs its own value, listed above if absent.
if [ "$aws_v2" = 1 ] && [ -n "$region" ]; then
  if ! aws sts get-caller-identity --region "$region" --query Account --output text >/dev/null 2>&1; then
    miss "AWS credentials: 'aws sts get-caller-identity' failed (set AWS_PROFILE or run 'aws configure')"
  else
    if [ -n "$identity" ]; then
      status=$(aws sesv2 get-email-identity --region "$region" --email-identity "$identity" \
        --query VerifiedForSendingStatus --output text 2>/dev/null || echo absent)
      [ "$status" = True ] || miss "the SES identity $identity, verified for sending in $region (it is: $status): verify it (SES console, Identities) and run again"
    fi
    production=$(aws sesv2 get-account --region "$region" --query ProductionAccessEnabled --output text 2>/dev/null || echo unknown)
    if [ "$production" != True ] && [ "$sandbox_ok" = 0 ]; then
      miss "SES production access in $region: the account is in the SES sandbox, where mail reaches only verified addresses; request production access (SES console, Account dashboard) or pass --ses-sandbox-ok to deploy anyway"
    fi
    case "$cert" in
      '') ;;
      arn:*:acm:us-east-1:*)
        cert_status=$(aws acm describe-certificate --region us-east-1 --certificate-arn "$cert" \
          --query Certificate.Status --output text 2>/dev/null || echo absent)
        names=$(aws acm describe-certificate --region us-east-1 --certificate-arn "$cert" \
          --query Certificate.SubjectAlternativeNames --output text 2>/dev/null || true)
        if [ "$cert_status" != ISSUED ]; then
          miss "the ACM certificate $cert, issued (it is: $cert_status): finish its DNS validation"
        else
          covered=0
          set -f
          for n in $names; do
            if [ "$n" = "$domain" ] || [ "$n" = "*.${domain#*.}" ]; then covered=1; fi
          done
          set +f
          [ "$covered" = 1 ] || [ -z "$domain" ] || miss "an ACM certificate for $domain: $cert covers only: $names"
        fi ;;
      *) miss "the ACM certificate in us-east-1 (CloudFront takes certificates only from there): $cert is not" ;;
    esac
    quota=$(aws lambda get-account-settings --region "$region" --query AccountLimit.ConcurrentExecutions --output text 2>/dev/null || echo 0)
    reserved=$(get_param BulkReservedConcurrency)
    case "$quota" in ''|*[!0-9]*) quota=0 ;; esac
    case "$reserved" in *[!0-9]*) die "BulkReservedConcurrency must be a number, not $reserved" ;; esac
    if [ -n "$reserved" ] && [ $((quota - reserved)) -lt 10 ]; then
      miss "Lambda concurrency in $region: the quota is $quota, and BulkReservedConcurrency=$reserved leaves fewer than the 10 unreserved Lambda requires; lower it or raise the quota (Service Quotas, AWS Lambda, Concurrent executions)"
    elif [ "$quota" -lt 100 ]; then
      echo "warning: the Lambda concurrency quota in $region is $quota: at most $quota requests run at once and the rest are throttled; ask for 1000 (Service Quotas, AWS Lambda, Concurrent executions)"
    fi
    pepper=$(get_param PepperParameter)
    if [ -n "$pepper" ]; then
      key=$(aws ssm describe-parameters --region "$region" --parameter-filters "Key=Name,Values=$pepper" \
        --query 'Parameters[0].KeyId' --output text 2>/dev/null || echo absent)
      case "$key" in
        alias/aws/ssm) ;;
        absent|None|'') miss "the pepper parameter $pepper in $region (create it: README, Deployment)" ;;
        *) [ -n "$(get_param PepperKeyArn)" ] || miss "the ARN of $key, which encrypts $pepper: pass --param PepperKeyArn=<its ARN> so the functions may kms:Decrypt with it (its key policy must let the account's IAM policies grant that)" ;;
      esac
    fi
  fi
fi
if [ -n "$missing" ]; then
  echo "deploy: not deployed; first:$missing" >&2
  exit 1
fi
echo "all present"

if [ "$waf" = 1 ]; then
  echo "== edge firewall ($stack-waf, us-east-1)"
  run aws cloudformation deploy --region us-east-1 --stack-name "$stack-waf" \
    --template-file infra/waf.yaml --no-fail-on-empty-changeset
  set_param WebACLArn "$(output "$stack-waf" us-east-1 WebACLArn)"
else
  set_param WebACLArn ""
fi

# The site's build ID goes to the functions (SiteBuild), which name it in every answer:
# pages of an older build, kept a week in browsers, reload themselves (README).
if [ "$dry" = 1 ]; then
  echo "+ go run ./infra/sitebuild -id"
  site_build="<site-build>"
else
  site_build=$(go run ./infra/sitebuild -id)
fi
set_param SiteBuild "$site_build"

echo "== settings ($config)"
overrides=""
set -f
for kv in $params; do overrides="$overrides ${kv%%=*}=\\\"${kv#*=}\\\""; done
set +f
settings="# Written by infra/deploy/deploy.sh; the operator's values, never committed.
version = 0.1

[default.global.parameters]
stack_name = \"$stack\"
region = \"$region\"

[default.build.parameters]
cached = true
parallel = true

[default.deploy.parameters]
capabilities = \"CAPABILITY_IAM\"
resolve_s3 = true
confirm_changeset = false
fail_on_empty_changeset = false
parameter_overrides = \"${overrides# }\""
if [ "$dry" = 1 ]; then
  echo "would write $config:"; echo "$settings"
else
  echo "$settings" > "$config"
fi

echo "== build and deploy ($stack, $region)"
run sam build --config-file "$config"
run sam deploy --config-file "$config" --no-confirm-changeset --no-fail-on-empty-changeset --capabilities CAPABILITY_IAM

echo "== site"
bucket=$(output "$stack" "$region" SiteBucketName)
distribution=$(output "$stack" "$region" DistributionId)
site="<temporary-directory>"
if [ "$dry" = 0 ]; then
  site=$(mktemp -d)
  trap 'rm -rf "$site"' EXIT
fi
run go run ./infra/sitebuild -out "$site"
run aws s3 sync "$site" "s3://$bucket/" --exclude '*.html' --cache-control 'public, max-age=31536000, immutable'
run aws s3 sync "$site" "s3://$bucket/" --exclude '*' --include '*.html' --cache-control 'max-age=604800' --delete
run aws cloudfront create-invalidation --distribution-id "$distribution" --paths '/' '/*.html'

if [ -n "$owner" ]; then
  echo "== first tenant and owner ($owner)"
  pw=${KAGIYA_OWNER_PASSWORD:-}
  case "$pw$owner" in *[[:cntrl:]]*) die "the owner and password may not hold control characters" ;; esac
  esc=${pw//\\/\\\\}; esc=${esc//\"/\\\"}
  owner_esc=${owner//\\/\\\\}; owner_esc=${owner_esc//\"/\\\"}
  answer="<temporary-file>"
  [ "$dry" = 1 ] || answer=$(mktemp)
  # The password goes in the payload only: the command printed shows it masked.
  payload="{\"setup\":{\"owner\":\"$owner_esc\",\"password\":\"$esc\"}}"
  admin=$(output "$stack" "$region" AdminFunctionName)
  printf '+ aws lambda invoke --region %q --function-name %q --cli-binary-format raw-in-base64-out --payload %q %q\n' \
    "$region" "$admin" "{\"setup\":{\"owner\":\"$owner_esc\",\"password\":\"********\"}}" "$answer"
  if [ "$dry" = 0 ]; then
    aws lambda invoke --region "$region" --function-name "$admin" \
      --cli-binary-format raw-in-base64-out --payload "$payload" "$answer" >/dev/null
    cat "$answer"; echo
    grep -q '"created":true' "$answer" && created=1
    rm -f "$answer"
  fi
fi

echo "== smoke test"
# Through CloudFront's own name (SiteDomain's DNS may not point at it yet): the pages,
# headers and health; with an administrator, also a temporary account that signs in and
# out and is deleted again (infra/smoke). The administrator is the owner this run made,
# else KAGIYA_SMOKE_ADMIN with KAGIYA_SMOKE_ADMIN_PASSWORD (without a second factor).
smoke_url="https://$(output "$stack" "$region" DistributionDomain)"
smoke_admin=${KAGIYA_SMOKE_ADMIN:-}
smoke_pw=${KAGIYA_SMOKE_ADMIN_PASSWORD:-}
if [ "$created" = 1 ] || { [ "$dry" = 1 ] && [ -n "$owner" ]; }; then
  smoke_admin=$owner; smoke_pw=${KAGIYA_OWNER_PASSWORD:-}
fi
if [ -n "$smoke_admin" ] && [ -n "$smoke_pw" ]; then
  # The password goes through the environment, never the command line.
  printf '+ KAGIYA_SMOKE_ADMIN_PASSWORD=******** go run ./infra/smoke -url %q -admin %q\n' "$smoke_url" "$smoke_admin"
  if [ "$dry" = 0 ] && ! KAGIYA_SMOKE_ADMIN_PASSWORD=$smoke_pw go run ./infra/smoke -url "$smoke_url" -admin "$smoke_admin"; then
    echo "deploy: deployed, but the smoke test failed (above)" >&2
    exit 1
  fi
else
  echo "no administrator for a temporary account (KAGIYA_SMOKE_ADMIN, KAGIYA_SMOKE_ADMIN_PASSWORD): pages and health only"
  if ! run go run ./infra/smoke -url "$smoke_url"; then
    echo "deploy: deployed, but the smoke test failed (above)" >&2
    exit 1
  fi
fi
echo "== done: $(output "$stack" "$region" SiteURL)"
