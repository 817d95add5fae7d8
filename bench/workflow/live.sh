#!/usr/bin/env bash
# Request lifecycles between two `comity node serve` processes on loopback HTTPS (SQLite, durable),
# against the plain message rate of the same two nodes measured first in the same run.
# Usage: bench/workflow/live.sh [LIFECYCLES] [CONCURRENCY]      (default 300 16)
set -euo pipefail
cd "$(dirname "$0")/../.."
count=${1:-300}
concurrency=${2:-16}
target=${CARGO_TARGET_DIR:-$PWD/target}
cargo build -q --release -p comity-cli --bin comity
CARGO_TARGET_DIR=$target/workflow-live-bench cargo build -q --release --manifest-path bench/workflow/live/Cargo.toml
comity=$target/release/comity
load=$target/workflow-live-bench/release/comity-workflow-live-bench
work=$(mktemp -d)
export COMITY_PASSPHRASE=benchmark-passphrase
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

"$comity" federation init --dir "$work/fed" --name bench | grep '^root key' | cut -d' ' -f3 > "$work/root"
for n in dz-moj fr-moj; do
  "$comity" node init --dir "$work/$n" --id "$n" --jurisdiction "$(echo ${n:0:2} | tr a-z A-Z)" \
    --role central-authority --name "$n" --endpoint "https://127.0.0.1:$(port)" \
    --api-listen "127.0.0.1:$(port)" > /dev/null
  "$comity" federation admit --dir "$work/fed" "$work/$n/descriptor.json" > /dev/null
done
"$comity" federation publish --dir "$work/fed" > /dev/null
for n in dz-moj fr-moj; do
  "$comity" node join --dir "$work/$n" --trust-list "$work/fed/trust-list.json" --root "$(cat "$work/root")" > /dev/null
  "$comity" node serve --dir "$work/$n" > "$work/$n.log" 2>&1 &
done
api() { echo "http://$(grep '^api_listen' "$work/$1/node.toml" | cut -d'"' -f2)"; }
for n in dz-moj fr-moj; do until curl -s "$(api $n)/openapi.json" > /dev/null; do sleep 0.2; done; done
sleep 0.5

# The content items the instruments require for this measure between the two states, as the
# officer's client fills them in from the law engine's answer.
content=$(echo "{\"question\": \"legal_basis\", \"requesting\": \"DZ\", \"requested\": \"FR\",
  \"measure\": \"stored_data\", \"date\": \"$(date -u +%F)\"}" | "$comity" law eval |
  python3 -c 'import json,sys; a=json.load(sys.stdin); print(json.dumps({i: "see the request body" for t in a["instruments"] for i in t["required_content"]}))')

echo "== $(date -u +%FT%TZ), load average $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores"
"$load" "$(api dz-moj)" "$(cat "$work/dz-moj/api.token")" "$(api fr-moj)" "$(cat "$work/fr-moj/api.token")" \
  fr-moj "$content" "$count" "$concurrency"
echo "== load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
