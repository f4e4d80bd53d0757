#!/usr/bin/env bash
# Installs what the tests need, starts the test backends on free ports, runs every test
# (unit, handler, store contract on all backends, SES, template, browser), builds the
# Lambda functions for linux/arm64, and stops what it started. Fails if a suite that
# should have run was skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

log() { printf '\n== %s\n' "$*"; }

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

log "install"
# chromium for the browser tests; Dovecot's doveadm and whois's mkpasswd make fresh
# password hashes of the schemes people import; Dovecot's IMAP server with its Lua passdb
# (and Lua's HTTP, TLS and JSON modules) logs in through Kagiya's service check.
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v mkpasswd >/dev/null 2>&1 || missing+=(whois)
for pkg in dovecot-core dovecot-imapd dovecot-auth-lua lua-socket lua-sec lua-cjson; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${missing[@]}" >/dev/null
fi
chromium --version 2>/dev/null | tail -1 || true
(cd infra/backends && npm ci --no-audit --no-fund --loglevel=error)
go mod download

free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }

wait_port() { # port name pid
  for _ in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    if ! kill -0 "$3" 2>/dev/null; then echo "$2 exited:"; cat "$work/$2.log"; return 1; fi
    sleep 0.1
  done
  echo "$2 did not listen on $1:"; cat "$work/$2.log"; return 1
}

log "start backends"
bin=infra/backends/node_modules/.bin
dyn_port=$(free_port)
"$bin/dynalite" --host 127.0.0.1 --port "$dyn_port" --createTableMs 0 --deleteTableMs 0 --updateTableMs 0 >"$work/dynalite.log" 2>&1 &
pids+=($!); wait_port "$dyn_port" dynalite $!
ses_port=$(free_port)
"$bin/aws-ses-v2-local" --host 127.0.0.1 --port "$ses_port" >"$work/ses.log" 2>&1 &
pids+=($!); wait_port "$ses_port" ses $!
echo "dynalite on $dyn_port, aws-ses-v2-local on $ses_port (pids ${pids[*]})"

export KAGIYA_TEST_DYNAMODB_ENDPOINT="http://127.0.0.1:$dyn_port"
export KAGIYA_TEST_SES_ENDPOINT="http://127.0.0.1:$ses_port"
export KAGIYA_REQUIRE_BROWSER=1
export KAGIYA_REQUIRE_HASH_TOOLS=1
export KAGIYA_REQUIRE_DOVECOT=1

log "lint the template"
if command -v cfn-lint >/dev/null 2>&1; then
  cfn-lint template.yaml infra/waf.yaml
  echo "cfn-lint: template.yaml and infra/waf.yaml are clean"
else
  echo "cfn-lint is not installed; the template tests still run"
fi

log "vet"
go vet ./...
unformatted=$(gofmt -l functions shared infra site)
if [ -n "$unformatted" ]; then echo "gofmt needed: $unformatted"; exit 1; fi

log "test"
status=0
go test -count=1 -v ./... >"$work/test.log" 2>&1 || status=$?
grep -E '^(ok|FAIL|---|panic|\s+\S+_test\.go)' "$work/test.log" | grep -v -- '--- PASS' || true
if [ "$status" != 0 ]; then
  echo "tests failed; full log:"; cat "$work/test.log"; exit "$status"
fi
# The only skips allowed with every backend up: dynalite's groups that need transactions
# (an account is created with its login ID's uniqueness item in one); they run on minidyn
# and bbolt.
unexpected=$(grep -- '--- SKIP' "$work/test.log" | grep -vE 'TestContractDynalite/(Tenants|Logins|Accounts|Attempts) ' || true)
if [ -n "$unexpected" ]; then
  echo "suites skipped that should have run:"; echo "$unexpected"; exit 1
fi
passed=$(grep -c -- '--- PASS' "$work/test.log" || true)
skipped=$(grep -c -- '--- SKIP' "$work/test.log" || true)

log "build the Lambda functions (linux/arm64, lambda.norpc; each under 15 MB)"
budget=15000000
for fn in functions/*/; do
  name=$(basename "$fn")
  GOOS=linux GOARCH=arm64 CGO_ENABLED=0 go build -tags lambda.norpc -trimpath -ldflags='-s -w' -o "$work/$name/bootstrap" "./$fn"
  size=$(stat -c %s "$work/$name/bootstrap")
  printf '%-10s %s bytes\n' "$name" "$size"
  if [ "$size" -ge "$budget" ]; then
    echo "$name is $size bytes, over the budget of $budget (see README: Function binaries)"; exit 1
  fi
done

echo
echo "$passed passed, 0 failed, $skipped skipped"
