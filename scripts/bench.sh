#!/usr/bin/env bash
# Benchmarks (not tests): starts PostgreSQL and the Data API server from the local stack,
# builds the functions (release binaries for this machine, arm64 Lambda zips through
# scripts/package.sh), runs each benchmark in release mode, and leaves its figures in
# bench-results/. SKIP_PACKAGE=1 skips the arm64 zips (their sizes are then not reported).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
target=${CARGO_TARGET_DIR:-target}

cargo build --release --locked -p studio-local --bin studio
# The binaries the cold-start benchmark starts, one function at a time as `sam build` builds
# them (each with only its own AWS adapters; built together their features would unify).
for manifest in functions/*/Cargo.toml; do
  cargo build --release --locked -p "$(sed -n 's/^name = "\(.*\)"$/\1/p' "$manifest" | head -n 1)"
done
state=$(mktemp -d /tmp/studio-bench.XXXXXX)
chmod 755 "$state"
port=55499
data_api_port=4599
"$target/release/studio" up --state-dir "$state" --pg-port "$port" --data-api-port "$data_api_port" \
  --embeddings-port 4588 --no-moto --no-seed --ready-file "$state/ready" >"$state/stack.log" 2>&1 &
stack=$!
trap 'kill -INT $stack 2>/dev/null; wait $stack 2>/dev/null; rm -rf "$state"' EXIT
for _ in $(seq 1 1500); do
  [ -f "$state/ready" ] && break
  kill -0 $stack 2>/dev/null || { cat "$state/stack.log"; exit 1; }
  sleep 0.2
done
[ -f "$state/ready" ] || { echo "the stack did not start" >&2; exit 1; }

[ "${SKIP_PACKAGE:-0}" = 1 ] || scripts/package.sh

export STUDIO_DATABASE_URL="postgres://postgres@127.0.0.1:$port/postgres"
cargo bench --locked -p studio-local --bench data_api_overhead
# The cold-start probes ({"action":"status"} for db-init) reach the stack's migrated database.
AWS_ENDPOINT_URL_RDS_DATA="http://127.0.0.1:$data_api_port" DATABASE_NAME=studio \
  cargo bench --locked -p studio-local --bench cold_start
