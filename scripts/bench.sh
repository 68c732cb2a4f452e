#!/usr/bin/env bash
# Benchmarks (not tests): starts PostgreSQL from the local stack, runs each benchmark in
# release mode, and leaves its figures in bench-results/.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

cargo build --release -p studio-local --bin studio
state=$(mktemp -d /tmp/studio-bench.XXXXXX)
chmod 755 "$state"
port=55499
target/release/studio up --state-dir "$state" --pg-port "$port" --data-api-port 4599 --no-moto --no-seed \
  --ready-file "$state/ready" >"$state/stack.log" 2>&1 &
stack=$!
trap 'kill -INT $stack 2>/dev/null; wait $stack 2>/dev/null; rm -rf "$state"' EXIT
for _ in $(seq 1 600); do
  [ -f "$state/ready" ] && break
  kill -0 $stack 2>/dev/null || { cat "$state/stack.log"; exit 1; }
  sleep 0.2
done
[ -f "$state/ready" ] || { echo "the stack did not start" >&2; exit 1; }

export STUDIO_DATABASE_URL="postgres://postgres@127.0.0.1:$port/postgres"
cargo bench -p studio-local --bench data_api_overhead
