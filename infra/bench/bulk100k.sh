#!/usr/bin/env bash
# Times a 100,000-row bulk job end to end on the local server (production argon2id
# parameters): sign in, start a create-mode job, PUT the file, poll until it ends.
# Usage: bash infra/bench/bulk100k.sh [rows]
set -euo pipefail
cd "$(dirname "$0")/../.."
rows=${1:-100000}
work=$(mktemp -d)
port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
go build -o "$work/local" ./infra/local
"$work/local" -addr "127.0.0.1:$port" -data "$work/data" -owner owner@example.com -owner-password 'Kagi-2026-Tokyo!' -rate-limit=false >"$work/log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; rm -rf "$work"' EXIT
base="http://127.0.0.1:$port"
for _ in $(seq 50); do curl -sf "$base/api/health" >/dev/null && break; sleep 0.2; done
csrf=$(curl -s -c "$work/jar" -H 'Content-Type: application/json' -d '{"login_id":"owner@example.com","password":"Kagi-2026-Tokyo!"}' "$base/api/login" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).csrf_token))')
node -e 'let o="mail_account,password,mail_capacity\r\n";for(let i=0;i<+process.argv[1];i++)o+=`bench${i},Bench-Pass-${i}-Ok!,5\r\n`;process.stdout.write(o)' "$rows" >"$work/file.csv"
start=$(date +%s.%N)
size=$(stat -c %s "$work/file.csv")
job=$(curl -s -b "$work/jar" -H "X-CSRF-Token: $csrf" -H 'Content-Type: application/json' -d '{"filename":"bench.csv","mode":"create","size":'"$size"',"confirm_password":"Kagi-2026-Tokyo!"}' "$base/api/admin/bulk")
url=$(echo "$job" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).upload_url))')
id=$(echo "$job" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).job_id))')
curl -sf -X PUT -H 'Content-Type: text/csv' --data-binary @"$work/file.csv" "$url" >/dev/null
while :; do
  state=$(curl -s -b "$work/jar" "$base/api/admin/bulk/$id" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const j=JSON.parse(s);console.log(j.state+" "+j.created+"/"+j.to_apply)})')
  case $state in succeeded*|rejected*|failed*) break ;; esac
  sleep 5
done
end=$(date +%s.%N)
echo "$rows rows: $state in $(node -e "console.log((($end)-($start)).toFixed(1))") s on $(nproc) cores"
