#!/usr/bin/env bash
# -n auto against fixed connection counts, side by side, on netfox serve
# (loopback). Cases (CASES selects, in this order):
#   link   LINK_MIB file, 2 MiB/s per connection, 16 MiB/s in all (a link):
#          netfox -n 4, -n 8, -n 12, -n 16, -n auto
#   cap4   CAP_MIB file, 2 MiB/s per connection, 503 beyond 4 requests at
#          once (--max-conns 4): netfox -n 4, -n 8, -n auto
# Every -n auto run starts with an empty cache (NETFOX_CACHE_DIR), so it
# searches from 4; "auto-warm" runs start from the count the previous
# auto run remembered. Runs are interleaved (A B C, A B C, ...), timed,
# sha256-checked; the TCP connections come from --json's done, the 503s
# from the server's log. Prints a markdown table (medians of RUNS) and
# one auto run's curve of connections over time.
#
# Usage: bash bench/auto.sh            # RUNS=3, both cases, ~5 min
#        RUNS=1 CASES=cap4 bash bench/auto.sh
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-3}
CASES=${CASES:-link cap4}
LINK_MIB=${LINK_MIB:-128}
CAP_MIB=${CAP_MIB:-64}
for t in jq bc sha256sum; do
  command -v "$t" > /dev/null || { echo "auto.sh: $t not found" >&2; exit 2; }
done

make -s build
work=$(mktemp -d)
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2> /dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2> /dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

declare -A url log want
serve() { # serve NAME MIB FLAGS...
  local name=$1 mib=$2; shift 2
  mkdir -p "$work/srv-$name"
  head -c $((mib << 20)) /dev/urandom > "$work/srv-$name/f.bin"
  want[$name]=$(sha256sum < "$work/srv-$name/f.bin" | cut -d' ' -f1)
  log[$name]=$work/serve-$name.log
  bin/netfox serve --addr 127.0.0.1:0 "$@" "$work/srv-$name" 2> "${log[$name]}" &
  pids+=("$!")
  for _ in $(seq 100); do grep -q 'serving' "${log[$name]}" && break; sleep 0.1; done
  url[$name]=$(sed -n 's/.* at \(http:[^ ]*\)$/\1/p' "${log[$name]}" | head -n1)f.bin
  [[ ${url[$name]} == http://127.0.0.1:* ]] || { echo "auto.sh: server $name did not start" >&2; exit 1; }
}

runs=$work/runs.tsv
: > "$runs"
curve=$work/curve.json
warm=$work/cache-warm

# run_one CASE VARIANT REP -> appends "case variant rep rc wall conns parallel reason n503"
run_one() {
  local c=$1 v=$2 rep=$3 n cache s e rc wall sha off n503 done
  case $v in
    auto) n=auto cache=$work/cache-$c-$rep ;;
    auto-warm) n=auto cache=$warm-$c ;;
    *) n=${v#n} cache=$work/cache-none ;;
  esac
  rm -f "$work/out.bin"
  off=$(wc -l < "${log[$c]}")
  s=$(date +%s.%N)
  if NETFOX_CACHE_DIR=$cache bin/netfox get --json -n "$n" -o "$work/out.bin" "${url[$c]}" > "$work/events.json" 2> "$work/get.log"; then rc=0; else rc=$?; fi
  e=$(date +%s.%N)
  wall=$(echo "$e - $s" | bc -l)
  sha=$(sha256sum < "$work/out.bin" | cut -d' ' -f1)
  [[ $sha == "${want[$c]}" ]] || rc=99
  n503=$(tail -n +$((off + 1)) "${log[$c]}" | grep -c 'status=503' || true)
  done=$(jq -c 'select(.event == "done")' "$work/events.json")
  printf '%s\t%s\t%s\t%s\t%.2f\t%s\t%s\t%s\t%s\n' "$c" "$v" "$rep" "$rc" "$wall" \
    "$(jq -r '.connections' <<< "$done")" "$(jq -r '.parallel' <<< "$done")" \
    "$(jq -r '.parallel_reason' <<< "$done")" "$n503" >> "$runs"
  if [[ $v == auto && ! -s $curve.$c ]]; then jq -c '.parallel_steps' <<< "$done" > "$curve.$c"; fi
  if [[ $v == auto ]]; then rm -rf "$warm-$c"; cp -r "$cache" "$warm-$c"; fi
  echo "$c $v #$rep: rc=$rc ${wall}s conns=$(jq -r '.connections' <<< "$done") parallel=$(jq -r '.parallel' <<< "$done") ($(jq -r '.parallel_reason' <<< "$done")) 503s=$n503" >&2
}

variants() { case $1 in link) echo "n4 n8 n12 n16 auto auto-warm" ;; cap4) echo "n4 n8 auto auto-warm" ;; esac; }

for c in $CASES; do
  case $c in
    link) serve link "$LINK_MIB" --rate-per-conn 2MiB --rate-total 16MiB ;;
    cap4) serve cap4 "$CAP_MIB" --rate-per-conn 2MiB --max-conns 4 ;;
    *) echo "auto.sh: unknown case '$c' (want: link cap4)" >&2; exit 2 ;;
  esac
  for rep in $(seq "$RUNS"); do
    for v in $(variants "$c"); do run_one "$c" "$v" "$rep"; done
  done
done

median() { sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

echo "## -n auto against fixed counts ($(date -u +%Y-%m-%d), RUNS=$RUNS, \`bash bench/auto.sh\`)"
echo
echo "| case | netfox | median s | min..max s | vs best fixed | TCP conns (median) | settled at | why | 503s (median) | failed runs |"
echo "|---|---|---:|---:|---:|---:|---:|---|---:|---:|"
for c in $CASES; do
  best=
  for v in $(variants "$c"); do
    [[ $v == n* ]] || continue
    m=$(awk -v c="$c" -v v="$v" '$1 == c && $2 == v && $4 == 0 { print $5 }' "$runs" | median)
    if [[ -z $best ]] || (($(echo "$m < $best" | bc -l))); then best=$m; fi
  done
  for v in $(variants "$c"); do
    sel() { awk -v c="$c" -v v="$v" -v f="$1" '$1 == c && $2 == v && $4 == 0 { print $f }' "$runs"; }
    m=$(sel 5 | median)
    lo=$(sel 5 | sort -g | head -n1); hi=$(sel 5 | sort -g | tail -n1)
    failed=$(awk -v c="$c" -v v="$v" '$1 == c && $2 == v && $4 != 0' "$runs" | wc -l)
    settled=$(sel 7 | sort -g | uniq | paste -sd/); why=$(sel 8 | sort | uniq | paste -sd/)
    [[ $v == n* ]] && settled="-" why="fixed"
    label="-n ${v#n}"
    [[ $v == auto-warm ]] && label="-n auto, warm cache"
    printf '| %s | %s | %.2f | %.2f..%.2f | %.2f | %s | %s | %s | %s | %d |\n' "$c" "$label" "$m" "$lo" "$hi" \
      "$(echo "$m / $best" | bc -l)" "$(sel 6 | median)" "$settled" "$why" "$(sel 9 | median)" "$failed"
  done
done
echo
for c in $CASES; do
  [[ -s $curve.$c ]] || continue
  echo "Connections over time, first cold -n auto run of $c (ms since start: count, MiB/s measured before the change):"
  echo
  echo '```'
  jq -r '.[] | "\(.at_ms | tostring | (" " * (6 - length)) + .) ms: \(.connections) connections\(if .rate > 0 then " (after \(.rate / 1048576 * 10 | floor / 10) MiB/s)" else "" end)"' "$curve.$c"
  echo '```'
  echo
done
