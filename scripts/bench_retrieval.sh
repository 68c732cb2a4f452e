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
# shellcheck source=scripts/lib/bench_stack.sh
. scripts/lib/bench_stack.sh

cargo build --release --locked -p studio-local --bin studio -p studio-tests --bin bench-retrieval
work=$(bench_work retrieval-bench)
start_stack "$target/release/studio" "$work" --pg-port "${BENCH_PG_PORT:-55496}" \
  --data-api-port "${BENCH_DATA_API_PORT:-4579}" --embeddings-port "${BENCH_EMBEDDINGS_PORT:-4578}" \
  --bedrock-port "${BENCH_BEDROCK_PORT:-4577}" --no-moto --no-seed
wait_stack "$work"
"$target/release/bench-retrieval"
