#!/usr/bin/env bash
# Production Rust files stay at 400 lines or fewer: a longer one holds more than one
# responsibility and is split. Test files (`tests.rs`, `*_tests.rs`, `tests/`) are exempt.
set -euo pipefail
cd "$(dirname "$0")/.."
long=$(find shared/src functions/*/src local/src -name '*.rs' \
  ! -name 'tests.rs' ! -name '*_tests.rs' ! -path '*/tests/*' -print0 |
  xargs -0 wc -l | awk '$2 != "total" && $1 > 400 { print "  " $2 ": " $1 " lines" }')
if [ -n "$long" ]; then
  echo "Production files over 400 lines:"
  echo "$long"
  exit 1
fi
