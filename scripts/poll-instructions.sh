#!/usr/bin/env bash
# Instructions per request of GET /healthz, of an empty poll and of a poll whose answer carries
# one message, counted by callgrind, for one or more server builds: a comparison that the
# machine's noise does not move (valgrind counts instructions, not time). The counts include
# whatever background work runs meanwhile.
#
#   scripts/poll-instructions.sh [-n REQUESTS] [-m MAX_RATIO] [-M MAX_RATIO] BINARY...
#
# With -m, exits 1 when a binary's empty poll costs more than MAX_RATIO times its /healthz;
# with -M, the same for the poll carrying one message: CI's guards on the poll's cost
# (.ci/run). Only answers of 200 are counted as measured: a poll refused by the server is
# cheap, and must not pass the guard. Needs valgrind, curl, python3.
set -euo pipefail
. "$(dirname "$0")/bench-room.sh"
n=300
max=
max_message=
while getopts "n:m:M:" opt; do
  case $opt in
    n) n=$OPTARG ;;
    m) max=$OPTARG ;;
    M) max_message=$OPTARG ;;
    *) exit 2 ;;
  esac
done
shift $((OPTIND - 1))
[ $# -ge 1 ] || { echo "usage: $0 [-n REQUESTS] [-m MAX_RATIO] [-M MAX_RATIO] BINARY..." >&2; exit 2; }
status=0
for binary in "$@"; do
  [ -x "$binary" ] || { echo "$binary: no such program" >&2; exit 2; }
  work=$(mktemp -d); port=$((18500 + RANDOM % 1000))
  base="http://127.0.0.1:$port"
  RUST_LOG=warn valgrind --tool=callgrind --callgrind-out-file="$work/cg.%p" "$binary" serve --bind "127.0.0.1:$port" --database "$work/db" --bcrypt-cost 4 >/dev/null 2>&1 &
  vg=$!
  trap 'kill $vg 2>/dev/null || true' EXIT
  for _ in $(seq 600); do curl -sf "$base/healthz" >/dev/null && break; sleep 0.1; done
  curl -sf "$base/healthz" >/dev/null \
    || { echo "$(basename "$binary"): the server did not start under valgrind" >&2; exit 1; }
  bench_room
  url=$poll_url
  curl -sf -H "Cookie: $cookie" "$url" >/dev/null \
    || { echo "$(basename "$binary"): the empty poll failed before measuring" >&2; exit 1; }
  count() { # instructions for n requests of $1 (extra curl args after)
    local target=$1; shift
    sleep 0.3; callgrind_control -z $vg >/dev/null
    urls=(); for _ in $(seq "$n"); do urls+=(-o /dev/null "$target"); done
    local ok
    ok=$(curl -s -w '%{http_code}\n' "$@" "${urls[@]}" | grep -c '^200$' || true)
    sleep 0.3; callgrind_control -d $vg >/dev/null; sleep 0.5
    if [ "$ok" != "$n" ]; then
      echo "$(basename "$binary"): only $ok of $n requests to $target answered 200" >&2
      exit 1
    fi
    local f; f=$(ls -t "$work"/cg.$vg* | head -1)
    awk '/^summary:|^totals:/ {print $2; exit}' "$f"
  }
  h=$(count "$base/healthz")
  p=$(count "$url" -H "Cookie: $cookie")
  bench_message
  curl -sf -H "Cookie: $cookie" "$message_poll_url" >/dev/null
  m=$(count "$message_poll_url" -H "Cookie: $cookie")
  kill $vg; wait $vg 2>/dev/null || true; rm -rf "$work"
  ratio=$(python3 -c "print(f'{$p/$h:.2f}')")
  message_ratio=$(python3 -c "print(f'{$m/$h:.2f}')")
  echo "$(basename "$binary"): healthz $((h / n)) instr/request, empty poll $((p / n)) instr/request, poll/healthz ${ratio}x, one-message poll $((m / n)) instr/request, ${message_ratio}x"
  over() { python3 -c "import sys; sys.exit(0 if $1 > $2 else 1)"; }
  if [ -n "$max" ] && over "$p/$h" "$max"; then
    echo "$(basename "$binary"): FAIL: the empty poll costs ${ratio}x /healthz, over the limit of ${max}x" >&2
    status=1
  fi
  if [ -n "$max_message" ] && over "$m/$h" "$max_message"; then
    echo "$(basename "$binary"): FAIL: a one-message poll costs ${message_ratio}x /healthz, over the limit of ${max_message}x" >&2
    status=1
  fi
done
exit $status
