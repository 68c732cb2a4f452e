#!/usr/bin/env bash
# Benchmark (not a test): the ingestion pipeline end to end on a local stack built in
# release. Generates the corpus (scripts/bench_extract.py: 100- and 10-page PDFs, text and
# Markdown; the bench binary adds HTML, CSV, DOCX and XLSX), times extract + chunk against
# the Python reference path on the same PDFs and texts (shared's extract_chunk bench), then
# uploads the whole corpus through the API of functions of the bench's own
# (tests/bench/ingest.rs) and leaves bench-results/ingest.{json,md}.
# Ports: BENCH_PG_PORT, BENCH_DATA_API_PORT, BENCH_MOTO_PORT, BENCH_FRONT_DOOR_PORT,
# BENCH_BEDROCK_PORT.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
target=${CARGO_TARGET_DIR:-target}
# shellcheck source=scripts/lib/bench_stack.sh
. scripts/lib/bench_stack.sh

cargo build --release --locked --workspace --bins
work=$(bench_work ingest-bench)
start_stack "$target/release/studio" "$work" --pg-port "${BENCH_PG_PORT:-55498}" \
  --data-api-port "${BENCH_DATA_API_PORT:-4598}" --moto-port "${BENCH_MOTO_PORT:-4597}" \
  --front-door-port "${BENCH_FRONT_DOOR_PORT:-3097}" --bedrock-port "${BENCH_BEDROCK_PORT:-4596}" --no-seed \
  --embeddings-port "${BENCH_EMBEDDINGS_PORT:-4593}" \
  `# The pipeline's own cost: on AWS the model runs in Bedrock, not on this machine's CPUs.` \
  --parameter EmbeddingProvider=offline

python3 -m venv "$work/venv"
"$work/venv/bin/pip" install --quiet --disable-pip-version-check reportlab pypdf langchain-text-splitters
"$work/venv/bin/python" scripts/bench_extract.py corpus "$work/corpus"
EXTRACT_BENCH_CORPUS="$work/corpus" \
EXTRACT_BENCH_PYTHON="$work/venv/bin/python" \
EXTRACT_BENCH_REFERENCE="$root/scripts/bench_extract.py" \
  cargo bench --locked --workspace --bench extract_chunk

wait_stack "$work"
"$target/release/bench-ingest" "$work/corpus"
