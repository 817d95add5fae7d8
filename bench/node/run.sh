#!/usr/bin/env bash
# End-to-end benchmark: two `comity node serve` processes on loopback HTTPS, durable on SQLite
# and then on PostgreSQL, driven through the sender's user API; the crypto limit (bench/seal)
# measured in the same run gives the ratio. Usage: bench/node/run.sh [MESSAGES] [CONCURRENCY]
set -euo pipefail
cd "$(dirname "$0")/../.."
messages=${1:-4000}
concurrency=${2:-64}
target=${CARGO_TARGET_DIR:-$PWD/target}
cargo build -q --release -p comity-cli --bin comity
CARGO_TARGET_DIR=$target/node-bench cargo build -q --release --manifest-path bench/node/Cargo.toml
CARGO_TARGET_DIR=$target/seal-bench cargo build -q --release --manifest-path bench/seal/Cargo.toml
comity=$target/release/comity
load=$target/node-bench/release/comity-node-bench
seal=$target/seal-bench/release/comity-seal-bench
work=$(mktemp -d)
export COMITY_PASSPHRASE=benchmark-passphrase
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

run_backend() {
  local backend=$1 dir=$work/$1
  "$comity" federation init --dir "$dir/fed" --name bench | grep '^root key' | cut -d' ' -f3 > "$dir.root"
  for n in dz-247 fr-ocl; do
    local db=()
    if [ "$backend" = postgres ]; then
      local name="comity_bench_${n//-/_}_$$"
      psql -q "$PG" -c "DROP DATABASE IF EXISTS $name" -c "CREATE DATABASE $name"
      db=(--database-url "${PG%/*}/$name")
    fi
    "$comity" node init --dir "$dir/$n" --id "$n" --jurisdiction "$(echo ${n:0:2} | tr a-z A-Z)" --role 24-7 \
      --name "$n" --endpoint "https://127.0.0.1:$(port)" --api-listen "127.0.0.1:$(port)" "${db[@]}" > /dev/null
    "$comity" federation admit --dir "$dir/fed" "$dir/$n/descriptor.json" > /dev/null
  done
  "$comity" federation publish --dir "$dir/fed" > /dev/null
  for n in dz-247 fr-ocl; do
    "$comity" node join --dir "$dir/$n" --trust-list "$dir/fed/trust-list.json" --root "$(cat "$dir.root")" > /dev/null
    "$comity" node serve --dir "$dir/$n" > /dev/null 2>&1 &
  done
  local api token
  api=http://$(grep '^api_listen' "$dir/dz-247/node.toml" | cut -d'"' -f2)
  token=$(cat "$dir/dz-247/api.token")
  until curl -s "$api/openapi.json" > /dev/null; do sleep 0.2; done
  sleep 0.5
  echo "== $backend"
  local line rate
  line=$("$load" "$api" "$token" fr-ocl "$messages" "$concurrency")
  echo "$line"
  rate=$(echo "$line" | sed -E 's/.*: ([0-9]+) messages\/s/\1/')
  "$load" "$api" "$token" fr-ocl 0 "$concurrency" "$((rate / 2))" 5
  echo "$rate" > "$work/$backend.rate"
  kill $(jobs -p) 2>/dev/null || true
  wait 2>/dev/null || true
}

run_backend sqlite
PG=${COMITY_TEST_POSTGRES:-postgres://postgres@127.0.0.1/postgres}
run_backend postgres
echo "== crypto limit (one core, bench/seal)"
"$seal" 2 | tee "$work/seal.txt" | grep -E 'FULL|ratio' || true
