#!/usr/bin/env bash
# Installs what the tests need, starts the test backends on free ports, runs every test
# (unit, handler, store contract on all backends, SES, template, browser, the functions
# under AWS's Runtime Interface Emulator), builds the Lambda functions for linux/arm64,
# and stops what it started. Fails if a suite that should have run was skipped. Whatever
# fails, it still builds the functions and ends with one summary line: tests passed,
# failed and skipped, the steps that failed and the steps that did not run.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
work=$(mktemp -d)
pids=()
steps=(install backends lint vet test builds)
ran=()    # steps that ran to their end, passed or failed
failed=() # steps that failed
passed_n=0 failed_n=0 skipped_n=0
status=0
current= # the step running

log() { printf '\n== %s\n' "$*"; }
begin() { current=$1; log "$2"; } # step title
step_done() { ran+=("$1"); } # step
step_failed() { ran+=("$1"); failed+=("$1"); status=1; } # step

summary() {
  local not_run=() s r found
  for s in "${steps[@]}"; do
    found=
    for r in "${ran[@]}"; do [ "$r" = "$s" ] && found=1; done
    [ -n "$found" ] || not_run+=("$s")
  done
  echo
  echo "$passed_n passed, $failed_n failed, $skipped_n skipped; steps failed: ${failed[*]:-none}; did not run: ${not_run[*]:-none}"
}

cleanup() {
  local rc=$?
  set +e
  # A step that stopped the script (set -e) is a failure; the builds run all the same.
  if [ "$rc" != 0 ]; then
    echo "stopped in step $current (exit $rc)"
    step_failed "$current"
    status=$rc
  fi
  ran_builds=
  for r in "${ran[@]}"; do [ "$r" = builds ] && ran_builds=1; done
  if [ -z "$ran_builds" ]; then build_functions || status=1; fi
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
  summary
  exit "$status"
}

# build_functions builds each Lambda for linux/arm64 and fails one over its size budget
# (infra/build/budgets.txt) or without one.
build_functions() {
  current=builds
  log "build the Lambda functions (linux/arm64, lambda.norpc; each within its budget in infra/build/budgets.txt)"
  local budget ok=1 fn name size
  for fn in functions/*/; do
    name=$(basename "$fn")
    budget=$(awk -v fn="$name" '$1 == fn { print $2 }' "$root/infra/build/budgets.txt")
    if [ -z "$budget" ]; then
      echo "$name has no size budget in infra/build/budgets.txt"; ok=; continue
    fi
    if ! GOOS=linux GOARCH=arm64 CGO_ENABLED=0 go build -tags lambda.norpc -trimpath -ldflags='-s -w' -o "$work/$name/bootstrap" "./$fn"; then
      echo "$name: build failed"; ok=; continue
    fi
    size=$(stat -c %s "$work/$name/bootstrap")
    printf '%-10s %s bytes (budget %s)\n' "$name" "$size" "$budget"
    if [ "$size" -gt "$budget" ]; then
      echo "$name is $size bytes, over its budget of $budget (infra/build/budgets.txt; README: Function binaries)"; ok=
    fi
  done
  if [ -n "$ok" ]; then step_done builds; return 0; fi
  step_failed builds; return 1
}
trap cleanup EXIT

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

begin install "install"
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
# AWS's Runtime Interface Emulator, under which infra/rie runs each function as Lambda does.
GOBIN="$work/bin" CGO_ENABLED=0 go install github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@v0.0.0-20261030222936-bef5c4ba774d
export KAGIYA_RIE="$work/bin/aws-lambda-rie"
step_done install

free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }

wait_port() { # port name pid
  for _ in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    if ! kill -0 "$3" 2>/dev/null; then echo "$2 exited:"; cat "$work/$2.log"; return 1; fi
    sleep 0.1
  done
  echo "$2 did not listen on $1:"; cat "$work/$2.log"; return 1
}

begin backends "start backends"
bin=infra/backends/node_modules/.bin
dyn_port=$(free_port)
"$bin/dynalite" --host 127.0.0.1 --port "$dyn_port" --createTableMs 0 --deleteTableMs 0 --updateTableMs 0 >"$work/dynalite.log" 2>&1 &
pids+=($!); wait_port "$dyn_port" dynalite $!
ses_port=$(free_port)
"$bin/aws-ses-v2-local" --host 127.0.0.1 --port "$ses_port" >"$work/ses.log" 2>&1 &
pids+=($!); wait_port "$ses_port" ses $!
echo "dynalite on $dyn_port, aws-ses-v2-local on $ses_port (pids ${pids[*]})"
step_done backends

export KAGIYA_TEST_DYNAMODB_ENDPOINT="http://127.0.0.1:$dyn_port"
export KAGIYA_TEST_SES_ENDPOINT="http://127.0.0.1:$ses_port"
export KAGIYA_REQUIRE_BROWSER=1
export KAGIYA_REQUIRE_HASH_TOOLS=1
export KAGIYA_REQUIRE_DOVECOT=1
export KAGIYA_REQUIRE_RIE=1

begin lint "lint the template"
if command -v cfn-lint >/dev/null 2>&1; then
  if cfn-lint template.yaml infra/waf.yaml; then
    echo "cfn-lint: template.yaml and infra/waf.yaml are clean"; step_done lint
  else
    step_failed lint
  fi
else
  echo "cfn-lint is not installed; the template tests still run"; step_done lint
fi

begin vet "vet"
vet_ok=1
go vet ./... || vet_ok=
unformatted=$(gofmt -l functions shared infra site)
if [ -n "$unformatted" ]; then echo "gofmt needed: $unformatted"; vet_ok=; fi
if [ -n "$vet_ok" ]; then step_done vet; else step_failed vet; fi

begin test "test"
test_rc=0
# The browser package alone takes minutes on 2 cores; go test's default of 10 minutes a
# package is too tight for a busy machine, so the limit is generous and explicit.
go test -count=1 -timeout 40m -v ./... >"$work/test.log" 2>&1 || test_rc=$?
grep -E '^(ok|FAIL|---|panic|\s+\S+_test\.go)' "$work/test.log" | grep -v -- '--- PASS' || true
passed_n=$(grep -c -- '--- PASS' "$work/test.log" || true)
failed_n=$(grep -c -- '--- FAIL' "$work/test.log" || true)
skipped_n=$(grep -c -- '--- SKIP' "$work/test.log" || true)
# The only skips allowed with every backend up: dynalite's groups that need transactions
# (an account is created with its login ID's uniqueness item in one, a domain is claimed
# with its own); they run on minidyn and bbolt.
unexpected=$(grep -- '--- SKIP' "$work/test.log" | grep -vE 'TestContractDynalite/(Tenants|Domains|Logins|Accounts|Attempts|Passkeys) ' || true)
if [ "$test_rc" != 0 ]; then
  echo "tests failed; full log:"; cat "$work/test.log"
  # A package that does not build, or a panic, fails without a --- FAIL line.
  if [ "$failed_n" = 0 ]; then failed_n=$(grep -cE '^FAIL\s' "$work/test.log" || true); fi
  step_failed test
elif [ -n "$unexpected" ]; then
  echo "suites skipped that should have run:"; echo "$unexpected"
  step_failed test
else
  step_done test
fi

build_functions || true
