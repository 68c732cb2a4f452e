#!/usr/bin/env bash
# Benchmark (not a test): search and ingestion at scale on a local stack of its own built in
# release (PostgreSQL + pgvector and the Data API server; no moto, no functions). Loads 100k
# then 1M generated chunks with their vectors and leaves bench-results/search_scale.{json,md}
# (written after each size, so the 100k figures survive an interrupted 1M run).
# Sizes and query counts: SEARCH_BENCH_RUNS (below); SEARCH_BENCH_RECALL_QUERIES (100).
# Ports: BENCH_PG_PORT, BENCH_DATA_API_PORT, BENCH_MOTO_PORT, BENCH_FRONT_DOOR_PORT,
# BENCH_BEDROCK_PORT, BENCH_EMBEDDINGS_PORT. (`studio up` builds pgvector for this CPU.)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
target=${CARGO_TARGET_DIR:-target}
# shellcheck source=scripts/lib/bench_stack.sh
. scripts/lib/bench_stack.sh

cargo build --release --locked -p studio-local --bin studio
cargo bench --locked --no-run -p studio-local --bench search_scale
work=$(bench_work search-bench)
start_stack "$target/release/studio" "$work" --pg-port "${BENCH_PG_PORT:-55491}" \
  --data-api-port "${BENCH_DATA_API_PORT:-4591}" --moto-port "${BENCH_MOTO_PORT:-4590}" \
  --front-door-port "${BENCH_FRONT_DOOR_PORT:-3091}" --bedrock-port "${BENCH_BEDROCK_PORT:-4589}" \
  --embeddings-port "${BENCH_EMBEDDINGS_PORT:-4587}" \
  --no-seed --no-moto --no-functions

wait_stack "$work"
# One bench run per size on the same database (the 1M run adds to the 100k rows), each
# with its own query count: at 1M the keyword half takes seconds a query.
# SEARCH_BENCH_RUNS: "chunks:queries:warm-up ..."; results of every size merge into the files.
for run in ${SEARCH_BENCH_RUNS:-100000:200:20 1000000:50:5}; do
  IFS=: read -r size queries warm_up <<<"$run"
  SEARCH_BENCH_SIZES=$size SEARCH_BENCH_QUERIES=$queries SEARCH_BENCH_WARM_UP=$warm_up \
    cargo bench --locked -p studio-local --bench search_scale
done
