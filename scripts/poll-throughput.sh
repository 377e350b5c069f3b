#!/usr/bin/env bash
# Saturated throughput of GET /healthz, of an empty poll, and of a poll whose answer carries one
# message, for one or more server binaries measured one after another in the same run (so that
# their figures compare on a noisy machine). Each server runs pinned to CPU 0 on a fresh database; wrk runs on CPU 1.
#
#   scripts/poll-throughput.sh [-d SECONDS] [-c CONNECTIONS] BINARY [BINARY...]
#
# Needs wrk and curl (Debian packages). Sends traffic only to 127.0.0.1 and stops by itself.
set -euo pipefail
. "$(dirname "$0")/bench-room.sh"

duration=10
connections=64
while getopts "d:c:" opt; do
  case $opt in
    d) duration=$OPTARG ;;
    c) connections=$OPTARG ;;
    *) exit 2 ;;
  esac
done
shift $((OPTIND - 1))
[ $# -ge 1 ] || { echo "usage: $0 [-d SECONDS] [-c CONNECTIONS] BINARY..." >&2; exit 2; }

port=18470
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

rate() { # wrk's requests/sec for URL with an optional cookie
  local url=$1 cookie=${2:-}
  taskset -c 1 wrk -t1 -c"$connections" -d"${duration}s" ${cookie:+-H "Cookie: $cookie"} "$url" \
    | awk '/Requests\/sec/ {print $2}'
}

printf '%-40s %12s %12s %8s %14s %8s\n' binary healthz/s empty-poll/s ratio one-message/s ratio
for binary in "$@"; do
  db="$work/$(basename "$binary")-$RANDOM.db"
  RUST_LOG=warn taskset -c 0 "$binary" serve --bind "127.0.0.1:$port" --database "$db" \
    --bcrypt-cost 4 --message-limit 1000000 &
  server=$!
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done

  base="http://127.0.0.1:$port"
  bench_room

  health=$(rate "$base/healthz")
  poll=$(rate "$poll_url" "$cookie")
  bench_message
  one=$(rate "$message_poll_url" "$cookie")
  ratio=$(awk -v p="$poll" -v h="$health" 'BEGIN { printf "%.0f%%", 100 * p / h }')
  one_ratio=$(awk -v p="$one" -v h="$health" 'BEGIN { printf "%.0f%%", 100 * p / h }')
  printf '%-40s %12s %12s %8s %14s %8s\n' "$binary" "$health" "$poll" "$ratio" "$one" "$one_ratio"
  kill "$server"; wait "$server" 2>/dev/null || true
done
