#!/usr/bin/env bash
# Builds every function in functions/ as a Lambda zip with cargo-lambda (release, arm64 by
# default; LAMBDA_ARCH=x86_64 for Intel) and prints each zip's size. The zips land in
# target/lambda/<function>/bootstrap.zip ($CARGO_TARGET_DIR/lambda/... when that is set).
# cargo-lambda and zig come from PyPI (`pip install cargo-lambda`); the local stack's
# virtualenv (.local/venv, made by `studio up`) has them, and is used when cargo-lambda is
# not on the PATH.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

venv=${STUDIO_VENV:-$root/.local/venv}
if ! cargo lambda --help >/dev/null 2>&1; then
  if [ -x "$venv/bin/cargo-lambda" ]; then
    export PATH="$venv/bin:$PATH"
  else
    echo "cargo-lambda not found: pip install cargo-lambda, or run 'cargo run -p studio-local -- up' once" >&2
    exit 1
  fi
fi

case "${LAMBDA_ARCH:-arm64}" in
  arm64) arch_flag=--arm64 triple=aarch64-unknown-linux-gnu ;;
  x86_64) arch_flag=--x86-64 triple=x86_64-unknown-linux-gnu ;;
  *) echo "LAMBDA_ARCH must be arm64 or x86_64" >&2; exit 1 ;;
esac
if command -v rustup >/dev/null && ! rustup target list --installed | grep -qx "$triple"; then
  rustup target add "$triple"
fi

names=()
for manifest in functions/*/Cargo.toml; do
  names+=("$(sed -n 's/^name = "\(.*\)"$/\1/p' "$manifest" | head -n 1)")
done

started=$(date +%s)
# One function at a time, as `sam build` builds them: built together, cargo would unify
# their features and every zip would carry every function's AWS SDKs.
for name in "${names[@]}"; do
  cargo lambda build --release "$arch_flag" --output-format zip --locked -p "$name"
done
echo "Built ${#names[@]} function(s) for ${LAMBDA_ARCH:-arm64} in $(( $(date +%s) - started ))s"

target=${CARGO_TARGET_DIR:-$root/target}
# Zipped functions stay small so cold starts stay fast (and far from Lambda's 50 MB limit).
limit=$((8 * 1024 * 1024))
status=0
for name in "${names[@]}"; do
  zip="$target/lambda/$name/bootstrap.zip"
  if [ -f "$zip" ]; then
    size=$(stat -c %s "$zip")
    awk -v n="$name" -v b="$size" -v z="$zip" \
      'BEGIN { printf "%-24s %10d bytes  %6.2f MiB  %s\n", n, b, b / 1048576, z }'
    if [ "$size" -gt "$limit" ]; then
      echo "$name: the zip is over 8 MiB" >&2
      status=1
    fi
  else
    echo "$name: no $zip" >&2
    status=1
  fi
done
exit $status
