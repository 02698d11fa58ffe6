#!/usr/bin/env bash
# The core issue's acceptance figures, against a real nginx on loopback:
#  1. 256 MiB, every connection capped at 2 MiB/s, -n 8: time against the
#     ideal size / (8 x cap), median of RUNS runs;
#  2. ten kill -9, each 0.5 to 1.5 s into a run at 8 x 2 MiB/s = 16 MiB/s,
#     resumed each time: byte-identical, MiB fetched again per kill (from
#     nginx's access log: $body_bytes_sent).
# Usage: bash bench/core.sh   (needs nginx-light; builds bin/netfox)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
SIZE_MIB=${SIZE_MIB:-256}
CAP_MIB=2
make -s build
go build -o bin/bench-nginx ./bench/nginx
work=$(mktemp -d)
trap 'kill "$ngx" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
mkdir -p "$work/srv" "$work/dl"
head -c $((SIZE_MIB << 20)) /dev/urandom > "$work/srv/f.bin"
want=$(sha256sum < "$work/srv/f.bin" | cut -d' ' -f1)
bin/bench-nginx -root "$work/srv" -rate ${CAP_MIB}MiB > "$work/url" &
ngx=$!
for _ in $(seq 100); do [ -s "$work/url" ] && break; sleep 0.1; done
url="$(head -n1 "$work/url")/f.bin"
ideal=$(echo "$SIZE_MIB / (8 * $CAP_MIB)" | bc -l)

echo "## 1. ${SIZE_MIB} MiB, 8 connections x ${CAP_MIB} MiB/s (ideal $(printf %.2f "$ideal") s)"
times=()
for i in $(seq "$RUNS"); do
  rm -f "$work/dl/f.bin"
  s=$(date +%s.%N)
  bin/netfox get -q -n 8 -o "$work/dl/f.bin" "$url"
  e=$(date +%s.%N)
  got=$(sha256sum < "$work/dl/f.bin" | cut -d' ' -f1)
  [ "$got" = "$want" ] || { echo "run $i: sha256 MISMATCH"; exit 1; }
  t=$(echo "$e - $s" | bc -l); times+=("$t")
  printf 'run %d: %.2f s (%.3f x ideal), sha256 ok\n' "$i" "$t" "$(echo "$t / $ideal" | bc -l)"
done
median=$(printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
printf 'median: %.2f s = %.3f x ideal\n\n' "$median" "$(echo "$median / $ideal" | bc -l)"

echo "## 2. ten kill -9 at 0.5-1.5 s into runs at 16 MiB/s"
rm -f "$work/dl/f.bin"*
# sent asks the nginx wrapper for the body bytes sent so far.
sent() {
  local n; n=$(grep -c '^sent' "$work/url" || true)
  kill -USR1 "$ngx"
  for _ in $(seq 100); do [ "$(grep -c '^sent' "$work/url")" -gt "$n" ] && break; sleep 0.05; done
  grep '^sent' "$work/url" | tail -n1 | cut -d' ' -f2
}
before=$(sent)
kills=0
for i in $(seq 10); do
  bin/netfox get -q -n 8 -o "$work/dl/f.bin" "$url" & pid=$!
  sleep "$(awk -v r=$RANDOM 'BEGIN {printf "%.3f", 0.5 + r / 32767}')"
  if kill -9 "$pid" 2>/dev/null; then kills=$((kills + 1)); fi
  wait "$pid" 2>/dev/null || true
done
bin/netfox get -q -n 8 -o "$work/dl/f.bin" "$url"
got=$(sha256sum < "$work/dl/f.bin" | cut -d' ' -f1)
[ "$got" = "$want" ] && echo "after $kills kills and resumes: sha256 ok" || { echo "sha256 MISMATCH"; exit 1; }
after=$(sent)
extra=$((after - before - (SIZE_MIB << 20)))
printf 'fetched again: %.2f MiB in all, %.2f MiB per kill\n' "$(echo "$extra / 1048576" | bc -l)" "$(echo "$extra / 1048576 / $kills" | bc -l)"
