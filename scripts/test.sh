#!/usr/bin/env bash
# Runs every test, on a fresh machine too: builds the workspace, starts a throwaway local
# stack (PostgreSQL + pgvector, the local Data API server, moto; its Python tools are
# installed into .local/venv on first use), runs the Rust and Python suites, and stops the
# stack whatever happens.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

# Layout first (seconds, no build): no import cycles or arrows back up the layers, no
# production file over 400 lines.
python3 scripts/module_graph.py
scripts/file_lengths.sh
cargo build --workspace --all-targets --locked
target=${CARGO_TARGET_DIR:-target}

state=$(mktemp -d /tmp/studio-test.XXXXXX)
chmod 755 "$state" # PostgreSQL runs as the postgres user and must reach its data folder
pg_port=${STUDIO_TEST_PG_PORT:-55433}
STUDIO_SCHEDULE_TICK_SECS=${STUDIO_SCHEDULE_TICK_SECS:-5} SETTINGS_CACHE_SECS=${SETTINGS_CACHE_SECS:-1} MODELS_CACHE_SECS=${MODELS_CACHE_SECS:-1} \
  "$target/debug/studio" up --state-dir "$state" --pg-port "$pg_port" \
  --data-api-port "${STUDIO_TEST_DATA_API_PORT:-4581}" --moto-port "${STUDIO_TEST_MOTO_PORT:-4567}" \
  --front-door-port "${STUDIO_TEST_FRONT_DOOR_PORT:-3001}" --bedrock-port "${STUDIO_TEST_BEDROCK_PORT:-4582}" \
  --embeddings-port "${STUDIO_TEST_EMBEDDINGS_PORT:-4586}" \
  `# Word hashing: the suites need no model; tests/e2e/semantic_search.rs runs the local one.` \
  --parameter EmbeddingProvider=offline \
  --ready-file "$state/ready" >"$state/stack.log" 2>&1 &
stack=$!
# The mock LLM providers (OpenAI / Azure / Gemini wire formats) the chat tests script.
mock_port=${STUDIO_TEST_MOCK_PORT:-4584}
"$target/debug/studio" mock-providers --port "$mock_port" >"$state/mock.log" 2>&1 &
mock=$!
cleanup() {
  kill -INT "$stack" 2>/dev/null || true
  kill "$mock" 2>/dev/null || true
  wait "$stack" 2>/dev/null || true
  rm -rf "$state"
}
trap cleanup EXIT

for _ in $(seq 1 1500); do
  [ -f "$state/ready" ] && break
  if ! kill -0 "$stack" 2>/dev/null; then
    echo "The local stack failed to start:" >&2
    cat "$state/stack.log" >&2
    exit 1
  fi
  sleep 0.2
done
[ -f "$state/ready" ] || { echo "The local stack did not start in 5 minutes" >&2; cat "$state/stack.log" >&2; exit 1; }

set -a
# shellcheck disable=SC1091
. "$state/stack.env"
set +a
export MOCK_PROVIDERS_URL="http://127.0.0.1:$mock_port"

cargo test --workspace --locked
.local/venv/bin/python -m pytest -q tests/python
# The chat stream read by the real Vercel AI SDK client (npm `ai` v5).
(cd tests/node && npm ci --no-audit --no-fund --silent && node --test)

# Every function packages as a Lambda zip under 8 MiB (x86_64 here, the same cargo-lambda
# build `sam build` and scripts/package.sh run for arm64).
PATH="$root/.local/venv/bin:$PATH" LAMBDA_ARCH=x86_64 scripts/package.sh
