#!/usr/bin/env bash
# Benchmark (not a test): retrieval quality on the labelled set
# (tests/fixtures/retrieval/set.json) for keyword, word-hashing, local-model and hybrid
# search, on a local stack of its own (the model is its embeddings server). Leaves
# bench-results/retrieval.{json,md}. Ports: BENCH_PG_PORT, BENCH_DATA_API_PORT,
# BENCH_EMBEDDINGS_PORT.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
target=${CARGO_TARGET_DIR:-target}

cargo build --release --locked -p studio-local --bin studio -p studio-tests --bin bench-retrieval
work=$(mktemp -d /tmp/retrieval-bench.XXXXXX)
chmod 755 "$work"
"$target/release/studio" up --state-dir "$work/state" --pg-port "${BENCH_PG_PORT:-55496}" \
  --data-api-port "${BENCH_DATA_API_PORT:-4579}" --embeddings-port "${BENCH_EMBEDDINGS_PORT:-4578}" \
  --bedrock-port "${BENCH_BEDROCK_PORT:-4577}" --no-moto --no-seed \
  --ready-file "$work/ready" >"$work/stack.log" 2>&1 &
stack=$!
trap 'kill -INT $stack 2>/dev/null; wait $stack 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 1 1500); do
  [ -f "$work/ready" ] && break
  kill -0 $stack 2>/dev/null || { cat "$work/stack.log"; exit 1; }
  sleep 0.2
done
[ -f "$work/ready" ] || { echo "the stack did not start" >&2; exit 1; }
set -a
# shellcheck disable=SC1091
. "$work/state/stack.env"
set +a
"$target/release/bench-retrieval"
