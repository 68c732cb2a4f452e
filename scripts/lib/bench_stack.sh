# Sourced by the benchmark scripts: a local stack of the benchmark's own in a throwaway
# folder, stopped (and the folder removed) when the script exits.
#
#   work=$(bench_work NAME)
#   start_stack "$target/release/studio" "$work" --pg-port N ... # `studio up` options
#   ...                                                           # work while it starts
#   wait_stack "$work"       # waits until it is up, then exports its stack.env

bench_work() {
  local work
  work=$(mktemp -d "/tmp/$1.XXXXXX")
  chmod 755 "$work" # PostgreSQL runs as the postgres user and must reach its data folder
  echo "$work"
}

start_stack() {
  local studio=$1 work=$2
  shift 2
  "$studio" up --state-dir "$work/state" --ready-file "$work/ready" "$@" >"$work/stack.log" 2>&1 &
  stack=$!
  # shellcheck disable=SC2064 # the values now, not at exit
  trap "kill -INT $stack 2>/dev/null; wait $stack 2>/dev/null; rm -rf '$work'" EXIT
}

wait_stack() {
  local work=$1
  for _ in $(seq 1 1500); do
    [ -f "$work/ready" ] && break
    kill -0 "$stack" 2>/dev/null || { cat "$work/stack.log"; exit 1; }
    sleep 0.2
  done
  [ -f "$work/ready" ] || { echo "the stack did not start" >&2; exit 1; }
  set -a
  # shellcheck disable=SC1091
  . "$work/state/stack.env"
  set +a
}
