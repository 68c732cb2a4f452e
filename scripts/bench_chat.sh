#!/usr/bin/env bash
# Benchmark (not a test): time to first byte and per-chunk overhead that chat-stream adds
# over the (mock) provider, p50 / p99, at concurrency 1 and 50, persistence and RAG on and
# off, on a local stack built in release with 50 warm chat-stream instances
# (tests/bench/chat.rs). Leaves bench-results/chat.{json,md}.
# Ports: BENCH_PG_PORT, BENCH_DATA_API_PORT, BENCH_MOTO_PORT, BENCH_FRONT_DOOR_PORT, BENCH_BEDROCK_PORT.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
target=${CARGO_TARGET_DIR:-target}
# shellcheck source=scripts/lib/bench_stack.sh
. scripts/lib/bench_stack.sh

# BENCH_PROFILE=debug measures the debug build (an upper bound, much faster to build).
profile=${BENCH_PROFILE:-release}
if [ "$profile" = release ]; then
  cargo build --release --locked --workspace --bins
else
  cargo build --locked --workspace --bins
fi
work=$(bench_work chat-bench)
STUDIO_CHAT_STREAM_INSTANCES=50 STUDIO_FUNCTION_LOG=warn start_stack "$target/$profile/studio" "$work" \
  --pg-port "${BENCH_PG_PORT:-55497}" --data-api-port "${BENCH_DATA_API_PORT:-4596}" \
  --moto-port "${BENCH_MOTO_PORT:-4595}" --front-door-port "${BENCH_FRONT_DOOR_PORT:-3096}" \
  --bedrock-port "${BENCH_BEDROCK_PORT:-4594}" --embeddings-port "${BENCH_EMBEDDINGS_PORT:-4592}" \
  --parameter EmbeddingProvider=offline
wait_stack "$work"
"$target/$profile/bench-chat"
