#!/usr/bin/env bash
# Instructions per request of an empty poll and of GET /healthz, counted by callgrind, for one
# or more server builds: a comparison that the machine's noise does not move (valgrind counts
# instructions, not time). The counts include whatever background work runs meanwhile.
# Usage: scripts/poll-instructions.sh [-n REQUESTS] BINARY...   (needs valgrind and curl)
set -euo pipefail
. "$(dirname "$0")/bench-room.sh"
n=300
if [ "${1:-}" = "-n" ]; then n=$2; shift 2; fi
[ $# -ge 1 ] || { echo "usage: $0 [-n REQUESTS] BINARY..." >&2; exit 2; }
for binary in "$@"; do
  work=$(mktemp -d); port=$((18500 + RANDOM % 1000))
  base="http://127.0.0.1:$port"
  RUST_LOG=warn valgrind --tool=callgrind --callgrind-out-file="$work/cg.%p" "$binary" serve --bind "127.0.0.1:$port" --database "$work/db" --bcrypt-cost 4 >/dev/null 2>&1 &
  vg=$!
  for _ in $(seq 600); do curl -sf "$base/healthz" >/dev/null && break; sleep 0.1; done
  bench_room
  url=$poll_url
  curl -s -H "Cookie: $cookie" "$url" >/dev/null
  count() { # instructions for n requests of $1 (extra curl args after)
    local target=$1; shift
    sleep 0.3; callgrind_control -z $vg >/dev/null
    urls=(); for _ in $(seq $n); do urls+=("$target"); done
    curl -s "$@" "${urls[@]}" >/dev/null
    sleep 0.3; callgrind_control -d $vg >/dev/null; sleep 0.5
    local f; f=$(ls -t "$work"/cg.$vg* | head -1)
    awk '/^summary:|^totals:/ {print $2; exit}' "$f"
  }
  h=$(count "$base/healthz")
  p=$(count "$url" -H "Cookie: $cookie")
  echo "$(basename $binary): healthz $((h / n)) instr/request, empty poll $((p / n)) instr/request, ratio $(python3 -c "print(f'{$h/$p:.0%}')")"
  kill $vg; wait $vg 2>/dev/null || true; rm -rf "$work"
done
