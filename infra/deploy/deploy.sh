#!/usr/bin/env bash
# One command to deploy Kagiya, again and again (every step is idempotent):
#
#   bash infra/deploy/deploy.sh [--config-env default|prod] [--owner owner@example.com] [--no-waf]
#
# 1. the edge firewall (infra/waf.yaml) in us-east-1, where CloudFront's web ACLs live;
# 2. sam build and sam deploy with infra/samconfig.toml (the first run asks, with
#    --guided, for the parameters that have no default, and saves them there);
# 3. the built site (hashed assets cached a year, pages revalidated) to the site bucket,
#    and an invalidation of the pages;
# 4. with --owner, the first tenant and its owner, by one invocation of the admin
#    function (the password is read from KAGIYA_OWNER_PASSWORD or asked; nothing is sent
#    if the owner exists already). No table credentials are needed for it.
set -euo pipefail
cd "$(dirname "$0")/../.."

config_env=default
owner=""
waf=1
while [ $# -gt 0 ]; do
  case "$1" in
    --config-env) config_env="$2"; shift 2 ;;
    --owner) owner="$2"; shift 2 ;;
    --no-waf) waf=0; shift ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "deploy: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

config=infra/samconfig.toml
# The stack's name and region for this environment, from samconfig.toml.
section() { awk -v s="[$config_env.$1.parameters]" '$0==s{on=1;next} /^\[/{on=0} on' "$config"; }
stack=$(section global | sed -n 's/^stack_name *= *"\(.*\)"/\1/p')
region=$(section deploy | sed -n 's/^region *= *"\(.*\)"/\1/p')
: "${stack:?no stack_name for $config_env in $config}" "${region:?no region for $config_env in $config}"
output() {
  aws cloudformation describe-stacks --region "$2" --stack-name "$1" \
    --query "Stacks[0].Outputs[?OutputKey=='$3'].OutputValue" --output text
}

overrides=()
if [ "$waf" = 1 ]; then
  echo "== edge firewall ($stack-waf, us-east-1)"
  aws cloudformation deploy --region us-east-1 --stack-name "$stack-waf" --template-file infra/waf.yaml --no-fail-on-empty-changeset
  # A command-line --parameter-overrides replaces the saved ones: pass them along.
  saved=$(section deploy | sed -n 's/^parameter_overrides *= *"\(.*\)"/\1/p' | sed 's/\\"/"/g')
  overrides=(--parameter-overrides "$saved WebACLArn=$(output "$stack-waf" us-east-1 WebACLArn)")
fi

echo "== build and deploy ($stack, $region)"
sam build --config-file "$config" --config-env "$config_env"
guided=()
aws cloudformation describe-stacks --region "$region" --stack-name "$stack" >/dev/null 2>&1 || guided=(--guided)
sam deploy --config-file "$config" --config-env "$config_env" "${guided[@]}" "${overrides[@]}"

echo "== site"
bucket=$(output "$stack" "$region" SiteBucketName)
distribution=$(output "$stack" "$region" DistributionId)
site=$(mktemp -d)
trap 'rm -rf "$site"' EXIT
go run ./infra/sitebuild -out "$site"
aws s3 sync "$site" "s3://$bucket/" --exclude '*.html' --cache-control 'public, max-age=31536000, immutable'
aws s3 sync "$site" "s3://$bucket/" --exclude '*' --include '*.html' --cache-control 'no-cache' --delete
aws cloudfront create-invalidation --distribution-id "$distribution" --paths '/' '/*.html' >/dev/null

if [ -n "$owner" ]; then
  echo "== first tenant and owner ($owner)"
  pw="${KAGIYA_OWNER_PASSWORD:-}"
  if [ -z "$pw" ]; then read -rsp "Password for $owner: " pw; echo; fi
  esc=${pw//\\/\\\\}; esc=${esc//\"/\\\"}
  out=$(mktemp)
  aws lambda invoke --region "$region" --function-name "$(output "$stack" "$region" AdminFunctionName)" \
    --cli-binary-format raw-in-base64-out --payload "{\"setup\":{\"owner\":\"$owner\",\"password\":\"$esc\"}}" "$out" >/dev/null
  cat "$out"; echo; rm -f "$out"
fi
echo "== done: $(output "$stack" "$region" SiteURL)"
