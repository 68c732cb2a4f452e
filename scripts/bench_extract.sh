#!/usr/bin/env bash
# Benchmark (not a test): extract + chunk throughput of shared::extract and shared::chunk
# against the Python reference path (pypdf + LangChain's RecursiveCharacterTextSplitter)
# on the same generated corpus, timed in the same run. Installs reportlab, pypdf and
# langchain-text-splitters into a throwaway venv, writes the corpus (100- and 10-page
# reportlab PDFs, plain text and Markdown) to a temporary folder, and leaves its figures
# in bench-results/extract_chunk.{json,md}.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

work=$(mktemp -d /tmp/extract-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
python3 -m venv "$work/venv"
"$work/venv/bin/pip" install --quiet --disable-pip-version-check reportlab pypdf langchain-text-splitters
"$work/venv/bin/python" scripts/bench_extract.py corpus "$work/corpus"
echo "corpus: $(ls "$work/corpus" | wc -l) files, $(du -sh "$work/corpus" | cut -f1)"

EXTRACT_BENCH_CORPUS="$work/corpus" \
EXTRACT_BENCH_PYTHON="$work/venv/bin/python" \
EXTRACT_BENCH_REFERENCE="$root/scripts/bench_extract.py" \
  cargo bench -p shared --bench extract_chunk
