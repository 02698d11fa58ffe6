#!/usr/bin/env bash
# netfox against aria2c, axel and curl on a private nginx on 127.0.0.1.
#
# Cases (CASES selects a subset, space-separated, in this order):
#   uniform        256 MiB at /, every connection capped at 2 MiB/s
#   mixed          256 MiB at /mixed/, per-connection caps 1 MiB/s and
#                  8 MiB/s alternating by nginx's $connection (even/odd)
#   nocap          1 GiB, no cap
#   nocap-n16-rss  1 GiB, no cap, netfox -n 16 only (peak RSS target <= 32 MiB)
#   https-wan      64 MiB over HTTPS from nginx with HTTP/2 on, behind a
#                  simulated WAN link (toxiproxy): 40 ms and 2 MiB/s per
#                  TCP connection; netfox and aria2c
#   silent         64 MiB over HTTP behind a link (toxiproxy's timeout toxic)
#                  that silences a quarter of the TCP connections for good,
#                  response headers included; netfox, aria2c, axel
#   silent-body    the same, but a silenced connection first passes 1 MiB
#                  of its answer (it stops mid-body and stays open)
#   batch          1,500 files of 64 KiB in one list, 8 at once, under
#                  ulimit -n 256; netfox -i and aria2c -i (-x1)
#   open           OPEN_MIB (64) MiB, no cap (the size of issue 28's table)
#   wan            WAN_MIB MiB over HTTP behind a simulated WAN link: 40 ms
#                  and 2 MiB/s per TCP connection, no burst; netfox, aria2c, axel
#   small-wan      100 files of 64 KiB in one list, 8 at once, behind 40 ms
#                  of latency (no cap): one GET per file is what pays
#   continue       -c on a partial file of a third of SMALL_MIB (its first
#                  bytes, as another program left them), capped as uniform;
#                  netfox and aria2c (wget -c's peers)
# Each case runs every tool RUNS times, interleaved (A B C D, A B C D, ...)
# so that machine noise hits all tools alike. Every run is timed (wall via
# date +%s.%N, CPU and peak RSS via GNU time -v), its output sha256-checked,
# and its requests read back from nginx's access log (connections used,
# bytes served, and for mixed how many bytes came over slow/fast connections).
# Writes bench/RESULTS.md (OUT=...) and prints it.
# TOOLS, when set, replaces every case's tools (space-separated, from
# netfox netfox-auto netfox-n16 aria2c axel curl); netfox-auto is
# `get -n auto` with an empty cache each run (a cold search from 4).
#
# Usage: bash bench/compare.sh              # RUNS=5, all cases, ~20 min
#        RUNS=3 CASES="mixed nocap" bash bench/compare.sh
# Needs nginx-light, aria2c, axel, curl, GNU time (/usr/bin/time), bc.
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-5}
CASES=${CASES:-uniform mixed nocap nocap-n16-rss https-wan silent silent-body batch open wan small-wan continue}
OUT=${OUT:-bench/RESULTS.md}
SMALL_MIB=${SMALL_MIB:-256} # uniform, mixed (override only for smoke tests)
BIG_MIB=${BIG_MIB:-1024}   # nocap, nocap-n16-rss
WAN_MIB=${WAN_MIB:-64}     # https-wan
BATCH_FILES=${BATCH_FILES:-1500} # batch: files of BATCH_KIB KiB
BATCH_KIB=64
BATCH_NOFILE=256                 # batch: ulimit -n of each tool
OPEN_MIB=${OPEN_MIB:-64}         # open
SMALLWAN_FILES=${SMALLWAN_FILES:-100} # small-wan: files of BATCH_KIB KiB
WAN_LATENCY=40ms           # https-wan: per connection
WAN_RATE_MIB=2             # https-wan: per connection
SILENT_MIB=${SILENT_MIB:-64} # silent, silent-body
SILENT_SHARE=0.25          # silent, silent-body: share of TCP connections silenced
SILENT_AFTER=1MiB          # silent-body: what a silenced connection passes first
TIMEOUT=${TIMEOUT:-60}     # silent, silent-body: a run still going after this many seconds is killed (exit 124)
CAP_MIB=2      # uniform: per-connection cap
SLOW_MIB=1     # mixed: even connections ($connection ends in 0,2,4,6,8)
FAST_MIB=8     # mixed: odd connections
N=8

for c in $CASES; do
  case $c in
    uniform | mixed | nocap | nocap-n16-rss | https-wan | silent | silent-body | batch | open | wan | small-wan | continue) ;;
    *) echo "compare.sh: unknown case '$c' (want: uniform mixed nocap nocap-n16-rss https-wan silent silent-body batch open wan small-wan continue)" >&2; exit 2 ;;
  esac
done
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || { echo "compare.sh: RUNS must be a positive integer" >&2; exit 2; }
for t in aria2c axel curl /usr/bin/time bc sha256sum timeout; do
  command -v "$t" > /dev/null || { echo "compare.sh: $t not found" >&2; exit 2; }
done
wants() { [[ " $CASES " == *" $1 "* ]]; }

started=$(date +%s)
make -s build
go build -o bin/bench-nginx ./bench/nginx

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
mkdir -p "$work/srv"
export NETFOX_CACHE_DIR=$work/auto-cache # -n auto: never the user's cache

declare -A want_sha
mkfile() { # mkfile NAME MIB
  echo "creating $2 MiB of random data ..." >&2
  head -c $(($2 << 20)) /dev/urandom > "$work/srv/$1"
  want_sha[$1]=$(sha256sum < "$work/srv/$1" | cut -d' ' -f1)
}
if wants uniform || wants mixed || wants continue; then mkfile small.bin "$SMALL_MIB"; fi
if wants open; then mkfile open.bin "$OPEN_MIB"; fi
if wants nocap || wants nocap-n16-rss; then mkfile big.bin "$BIG_MIB"; fi
if wants https-wan || wants wan; then mkfile wan.bin "$WAN_MIB"; fi
if wants silent || wants silent-body; then mkfile silent.bin "$SILENT_MIB"; fi
if wants batch; then # the batch's sha256 is that of its files in name order
  echo "creating $BATCH_FILES files of $BATCH_KIB KiB ..." >&2
  mkdir -p "$work/srv/batch"
  for i in $(seq -w 0 $((BATCH_FILES - 1))); do head -c $((BATCH_KIB << 10)) /dev/urandom > "$work/srv/batch/f$i.bin"; done
  want_sha[batch]=$(cat "$work/srv/batch"/f*.bin | sha256sum | cut -d' ' -f1)
fi
if wants small-wan; then
  echo "creating $SMALLWAN_FILES files of $BATCH_KIB KiB ..." >&2
  mkdir -p "$work/srv/smallwan"
  for i in $(seq -w 0 $((SMALLWAN_FILES - 1))); do head -c $((BATCH_KIB << 10)) /dev/urandom > "$work/srv/smallwan/f$i.bin"; done
  want_sha[smallwan]=$(cat "$work/srv/smallwan"/f*.bin | sha256sum | cut -d' ' -f1)
fi

# Servers. Each gets its own TMPDIR so that nginxtest's private dir (and its
# access.log) can be found: $work/ngx-NAME/nginxtest-*/access.log.
declare -A base_url access_log url_file server_pid ca_file
start_server() { # start_server NAME ARGS...
  local name=$1; shift
  mkdir -p "$work/ngx-$name"
  url_file[$name]=$work/ngx-$name.out
  TMPDIR=$work/ngx-$name bin/bench-nginx -root "$work/srv" "$@" > "${url_file[$name]}" &
  server_pid[$name]=$!
  pids+=("$!")
  for _ in $(seq 100); do [ -s "${url_file[$name]}" ] && break; sleep 0.1; done
  base_url[$name]=$(head -n1 "${url_file[$name]}")
  [[ ${base_url[$name]} == http*://127.0.0.1:* ]] || { echo "compare.sh: nginx '$name' did not start" >&2; exit 1; }
  local log=access.log
  if [[ ${base_url[$name]} == https://* ]]; then
    # -tls: the CA on the second line, requests in the TLS listener's log
    # (same first three fields: $connection $status $body_bytes_sent).
    for _ in $(seq 100); do [ "$(wc -l < "${url_file[$name]}")" -ge 2 ] && break; sleep 0.1; done
    ca_file[$name]=$(sed -n 's/^ca //p' "${url_file[$name]}")
    log=tls_access.log
  fi
  local logs=("$work/ngx-$name"/nginxtest-*/$log)
  access_log[$name]=${logs[0]}
  [ -f "${access_log[$name]}" ] || { echo "compare.sh: no access log for '$name'" >&2; exit 1; }
}
if wants uniform || wants mixed || wants continue; then
  start_server capped -rate "${CAP_MIB}MiB" -mixed "${SLOW_MIB}MiB,${FAST_MIB}MiB"
fi
if wants nocap || wants nocap-n16-rss || wants batch || wants open; then start_server free -rate 0; fi
if wants wan; then start_server plainwan -rate 0 -wan-latency "$WAN_LATENCY" -wan-rate "${WAN_RATE_MIB}MiB"; fi
if wants small-wan; then start_server latency -rate 0 -wan-latency "$WAN_LATENCY"; fi
if wants https-wan; then start_server wan -rate 0 -tls -wan-latency "$WAN_LATENCY" -wan-rate "${WAN_RATE_MIB}MiB"; fi
if wants silent; then start_server silent -rate 0 -wan-silent "$SILENT_SHARE"; fi
if wants silent-body; then start_server silent-body -rate 0 -wan-silent "$SILENT_SHARE" -wan-silent-after "$SILENT_AFTER"; fi

# barrier asks a server's wrapper for its bytes-sent total (SIGUSR1) and waits
# for the answer: nginx has then logged every response finished before.
barrier() {
  local name=$1 f=${url_file[$1]} n
  n=$(grep -c '^sent' "$f" || true)
  kill -USR1 "${server_pid[$name]}"
  for _ in $(seq 200); do
    [ "$(grep -c '^sent' "$f" || true)" -gt "$n" ] && return 0
    sleep 0.05
  done
  echo "compare.sh: no answer from nginx '$name' to SIGUSR1" >&2
  return 1
}
loglines() { wc -l < "${access_log[$1]}"; }

# connstats SERVER OFFSET: over access-log lines after OFFSET, print
# "connections requests served_MiB even_conn_MiB odd_conn_MiB".
connstats() {
  awk -v off="$2" 'NR > off {
      seen[$1] = 1; req++; tot += $3
      if ($1 % 2 == 0) even += $3; else odd += $3
    }
    END {
      for (k in seen) n++
      printf "%d %d %.1f %.1f %.1f\n", n, req, tot / 1048576, even / 1048576, odd / 1048576
    }' "${access_log[$1]}"
}

# stats: numbers on stdin -> "median min max count" (median of an even count
# is the mean of the middle two).
stats() {
  sort -g | awk '{ a[NR] = $1 }
    END {
      if (NR == 0) { print "- - - 0"; exit }
      m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
      printf "%.2f %.2f %.2f %d\n", m, a[1], a[NR], NR
    }'
}

# Per case: server, path, file, tools; "curl-skip" is a row without runs.
case_server() { case $1 in uniform | mixed | continue) echo capped ;; https-wan) echo wan ;; wan) echo plainwan ;; small-wan) echo latency ;; silent | silent-body) echo "$1" ;; *) echo free ;; esac; }
case_file() { case $1 in uniform | mixed | continue) echo small.bin ;; https-wan | wan) echo wan.bin ;; silent | silent-body) echo silent.bin ;; batch) echo batch ;; small-wan) echo smallwan ;; open) echo open.bin ;; *) echo big.bin ;; esac; }
# case_mib: the MiB a case needs fetched (the file, or the files; for
# continue, what the partial file lacks).
case_mib() {
  case $1 in
    uniform | mixed) echo "$SMALL_MIB" ;;
    continue) echo "$SMALL_MIB - $SMALL_MIB / 3" | bc -l ;;
    https-wan | wan) echo "$WAN_MIB" ;;
    silent | silent-body) echo "$SILENT_MIB" ;;
    batch) echo "$BATCH_FILES * $BATCH_KIB / 1024" | bc -l ;;
    small-wan) echo "$SMALLWAN_FILES * $BATCH_KIB / 1024" | bc -l ;;
    open) echo "$OPEN_MIB" ;;
    *) echo "$BIG_MIB" ;;
  esac
}
case_url() {
  local s; s=$(case_server "$1")
  case $1 in mixed) echo "${base_url[$s]}/mixed/$(case_file "$1")" ;; *) echo "${base_url[$s]}/$(case_file "$1")" ;; esac
}
case_tools() {
  if [[ -n ${TOOLS:-} ]]; then echo "$TOOLS"; return; fi
  case $1 in
    uniform | mixed) echo "netfox aria2c axel curl-skip" ;;
    nocap) echo "netfox aria2c axel curl" ;;
    nocap-n16-rss) echo "netfox-n16" ;;
    https-wan | batch | small-wan | continue) echo "netfox aria2c" ;;
    open | wan) echo "netfox aria2c axel" ;;
    silent | silent-body) echo "netfox aria2c axel" ;;
  esac
}
tool_cmd() { # tool_cmd TOOL DIR NAME URL -> sets cmd=(...)
  local d=$2 name=$3 url=$4
  if [ "$name" = batch ] || [ "$name" = smallwan ]; then # URL is the directory; DIR/NAME gets the files
    local list=$work/list-$1.txt i files=$BATCH_FILES
    [ "$name" = smallwan ] && files=$SMALLWAN_FILES
    mkdir -p "$d/$name"
    : > "$list"
    for i in $(seq -w 0 $((files - 1))); do
      case $1 in
        netfox) echo "$url/f$i.bin $d/$name/f$i.bin" ;;
        aria2c) printf '%s\n  dir=%s\n  out=f%s.bin\n' "$url/f$i.bin" "$d/$name" "$i" ;;
      esac
    done >> "$list"
    case $1 in
      netfox) cmd=(bin/netfox get -q -i "$list" -j "$N") ;;
      aria2c) cmd=(aria2c -i "$list" -j "$N" -x1 --file-allocation=none --allow-overwrite=true
        --auto-file-renaming=false --console-log-level=error --summary-interval=0) ;;
    esac
    cmd=(sh -c "ulimit -n $BATCH_NOFILE && exec \"\$0\" \"\$@\"" "${cmd[@]}")
    return 0
  fi
  case $1 in
    netfox) cmd=(bin/netfox get -q -n "$N" -o "$d/$name" "$url") ;;
    netfox-n16) cmd=(bin/netfox get -q -n 16 -o "$d/$name" "$url") ;;
    netfox-auto)
      rm -rf "$NETFOX_CACHE_DIR"
      cmd=(bin/netfox get -q -n auto -o "$d/$name" "$url") ;;
    aria2c) cmd=(aria2c -x"$N" -s"$N" -k1M --file-allocation=none --allow-overwrite=true
      --auto-file-renaming=false --console-log-level=error --summary-interval=0 -d "$d" -o "$name" "$url") ;;
    axel) cmd=(axel -q -n "$N" -o "$d/$name" "$url") ;;
    curl) cmd=(curl -s -o "$d/$name" "$url") ;;
  esac
  if [[ $url == https://* ]]; then
    local ca=${ca_file[wan]}
    case $1 in
      netfox*) cmd=("${cmd[@]:0:3}" --ca-cert "$ca" "${cmd[@]:3}") ;;
      aria2c) cmd=("${cmd[@]:0:1}" --ca-certificate="$ca" "${cmd[@]:1}") ;;
    esac
  fi
}

runs=$work/runs.tsv
: > "$runs"
probe_md=$work/probe.md
: > "$probe_md"

# run_one CASE TOOL REP: one timed, verified run; appends a line to $runs:
# case tool rep rc wall cpu rss_mib sha conns reqs served even odd
run_one() {
  local c=$1 tool=$2 rep=$3 srv file url d rc s e wall cpu rss sha got off
  srv=$(case_server "$c"); file=$(case_file "$c"); url=$(case_url "$c")
  d=$work/dl/$tool
  rm -rf "$d"; mkdir -p "$d"
  tool_cmd "$tool" "$d" "$file" "$url"
  case $c in silent | silent-body) cmd=(timeout "$TIMEOUT" "${cmd[@]}") ;; esac
  if [ "$c" = continue ]; then
    # The first third of the file, as another program left it; each tool
    # is told to continue it (aria2c: without --allow-overwrite, which
    # would start over for want of a control file).
    head -c $(((SMALL_MIB << 20) / 3)) "$work/srv/$file" > "$d/$file"
    case $tool in
      netfox*) cmd=("${cmd[@]:0:2}" -c "${cmd[@]:2}") ;;
      aria2c)
        local a=() x
        for x in "${cmd[@]}"; do [ "$x" = --allow-overwrite=true ] || a+=("$x"); done
        cmd=("${a[0]}" -c "${a[@]:1}") ;;
    esac
  fi
  sync
  off=$(loglines "$srv")
  s=$(date +%s.%N)
  if /usr/bin/time -v -o "$work/time.txt" "${cmd[@]}" > "$work/tool.log" 2>&1; then rc=0; else rc=$?; fi
  e=$(date +%s.%N)
  wall=$(echo "$e - $s" | bc -l)
  cpu=$(awk -F': ' '/User time \(seconds\)|System time \(seconds\)/ { t += $2 } END { printf "%.2f", t }' "$work/time.txt")
  rss=$(awk -F': ' '/Maximum resident set size/ { printf "%.1f", $2 / 1024 }' "$work/time.txt")
  if [ -d "$d/$file" ]; then
    got=$(cat "$d/$file"/f*.bin | sha256sum | cut -d' ' -f1)
    if [ "$got" = "${want_sha[$file]}" ]; then sha=ok; else sha=MISMATCH; fi
  elif [ -f "$d/$file" ]; then
    got=$(sha256sum < "$d/$file" | cut -d' ' -f1)
    if [ "$got" = "${want_sha[$file]}" ]; then sha=ok; else sha=MISMATCH; fi
  else
    sha=missing
  fi
  barrier "$srv"
  read -r conns reqs served even odd < <(connstats "$srv" "$off")
  printf '%s\t%s\t%s\t%s\t%.3f\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' \
    "$c" "$tool" "$rep" "$rc" "$wall" "$cpu" "$rss" "$sha" "$conns" "$reqs" "$served" "$even" "$odd" >> "$runs"
  printf '  %-14s %-10s run %d: %7.2f s  cpu %6.2f s  rss %6.1f MiB  sha %-8s conns %3s  served %7s MiB' \
    "$c" "$tool" "$rep" "$wall" "$cpu" "$rss" "$sha" "$conns" "$served" >&2
  [ "$c" = mixed ] && printf '  (even/slow %s, odd/fast %s MiB)' "$even" "$odd" >&2
  echo >&2
  if [ "$rc" -ne 0 ] || [ "$sha" != ok ]; then
    echo "  !!! $tool FAILED in $c run $rep: exit $rc, sha256 $sha; output:" >&2
    head -n 20 "$work/tool.log" | sed 's/^/  !!!   /' >&2
  fi
  rm -rf "$d"
}

# probe_mixed: four sequential 2 MiB requests to /mixed/, each on a new
# connection, to show that the caps really alternate by connection serial.
probe_mixed() {
  local url off i speeds=() conns
  url=$(case_url mixed)
  off=$(loglines capped)
  for i in 1 2 3 4; do
    speeds+=("$(curl -s -o /dev/null -r 0-2097151 -w '%{speed_download}' "$url")")
  done
  barrier capped
  mapfile -t conns < <(awk -v off="$off" 'NR > off { print $1 }' "${access_log[capped]}")
  {
    echo "Cap check (/mixed/, four sequential 2 MiB curl requests, one connection each):"
    echo
    echo "| nginx \$connection | parity | expected cap | measured |"
    echo "|---|---|---|---|"
    for i in 0 1 2 3; do
      local n=${conns[$i]:-"?"} par="?" exp="?"
      if [[ $n =~ ^[0-9]+$ ]]; then
        if ((n % 2 == 0)); then par=even exp="$SLOW_MIB MiB/s"; else par=odd exp="$FAST_MIB MiB/s"; fi
      fi
      printf '| %s | %s | %s | %.2f MiB/s |\n' "$n" "$par" "$exp" "$(echo "${speeds[$i]} / 1048576" | bc -l)"
    done
    echo
  } >> "$probe_md"
  cat "$probe_md" >&2
}

for c in $CASES; do
  echo "== $c: $(case_url "$c")" >&2
  [ "$c" = mixed ] && probe_mixed
  for rep in $(seq "$RUNS"); do
    for tool in $(case_tools "$c"); do
      [ "$tool" = curl-skip ] && continue
      run_one "$c" "$tool" "$rep"
    done
  done
done

# ---- report ----
col() { # col CASE TOOL FIELD: FIELD of the successful runs
  awk -F'\t' -v c="$1" -v t="$2" -v k="$3" '$1 == c && $2 == t && $4 == 0 && $8 == "ok" { print $k }' "$runs"
}
count() { # count CASE TOOL [FIELD VALUE]: runs (whose FIELD is VALUE)
  awk -F'\t' -v c="$1" -v t="$2" -v k="${3:-0}" -v v="${4:-}" \
    '$1 == c && $2 == t && (k == 0 || $k == v) { n++ } END { print n + 0 }' "$runs"
}
med() { local m; read -r m _ < <(col "$1" "$2" "$3" | stats); echo "$m"; }
medmed() { local v; v=$(med "$@"); echo "${v%.00}"; } # counts: no ".00"
div() { if [[ $1 == - || $2 == - || $2 == 0.00 ]]; then echo -; else printf '%.2f' "$(echo "$1 / $2" | bc -l)"; fi; }
tool_label() { case $1 in netfox-n16) echo "netfox -n 16" ;; netfox-auto) echo "netfox -n auto" ;; *) echo "$1" ;; esac; }

ideal_line() {
  local c=$1 t line=""
  case $c in
    uniform)
      line="Ideal: $SMALL_MIB MiB / ($N x $CAP_MIB MiB/s) = $(div "$SMALL_MIB" $((N * CAP_MIB))) s. Median / ideal:"
      for t in $(case_tools "$c"); do
        [ "$t" = curl-skip ] && continue
        line+=" $t $(div "$(med "$c" "$t" 5)" "$(echo "$SMALL_MIB / ($N * $CAP_MIB)" | bc -l)"),"
      done ;;
    mixed)
      local fast slow
      fast=$(echo "$SMALL_MIB / ($N * $FAST_MIB)" | bc -l)
      slow=$(echo "$SMALL_MIB / ($N / 2 * ($FAST_MIB + $SLOW_MIB))" | bc -l)
      line="Ideal: $(printf %.2f "$fast") s if every connection got the fast cap ($SMALL_MIB MiB / $((N * FAST_MIB)) MiB/s);"
      line+=" $(printf %.2f "$slow") s for the static mix of $((N / 2)) slow + $((N / 2)) fast ($SMALL_MIB MiB / $((N * (FAST_MIB + SLOW_MIB) / 2)) MiB/s)."
      line+=" Median / all-fast ideal, / static-mix ideal:"
      for t in $(case_tools "$c"); do
        [ "$t" = curl-skip ] && continue
        line+=" $t $(div "$(med "$c" "$t" 5)" "$fast") / $(div "$(med "$c" "$t" 5)" "$slow"),"
      done ;;
    https-wan)
      line="Ideal: $WAN_MIB MiB / ($N x $WAN_RATE_MIB MiB/s) = $(div "$WAN_MIB" $((N * WAN_RATE_MIB))) s plus round trips. Median / ideal:"
      for t in $(case_tools "$c"); do
        line+=" $t $(div "$(med "$c" "$t" 5)" "$(echo "$WAN_MIB / ($N * $WAN_RATE_MIB)" | bc -l)"),"
      done ;;
    *) return 0 ;;
  esac
  echo "${line%,}."
  echo
}

table() {
  local c=$1 t aria n ok bad fail m lo hi ratio shacol name
  aria=$(med "$c" aria2c 5)
  echo "| tool | median s | min s | max s | ratio vs aria2c | median CPU s (user+sys) | median peak RSS MiB | sha256 ok (n/n) |"
  echo "|---|---|---|---|---|---|---|---|"
  for t in $(case_tools "$c"); do
    if [ "$t" = curl-skip ]; then
      echo "| curl | skipped (single stream, capped) | | | | | | |"
      continue
    fi
    name=$(tool_label "$t")
    n=$(count "$c" "$t")
    ok=$(count "$c" "$t" 8 ok)
    bad=$(count "$c" "$t" 8 MISMATCH)
    fail=$((n - $(count "$c" "$t" 4 0)))
    read -r m lo hi _ < <(col "$c" "$t" 5 | stats)
    if [ "$t" = aria2c ]; then ratio=1.00; else ratio=$(div "$m" "$aria"); fi
    [ "$aria" = - ] && ratio="n/a (no aria2c run)"
    shacol="$ok/$n"
    ((bad > 0)) && shacol="**SHA256 MISMATCH in $bad/$n**"
    ((fail > 0)) && shacol+=" **FAILED (exit != 0) in $fail/$n**"
    printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' "$name" "$m" "$lo" "$hi" \
      "$ratio" "$(med "$c" "$t" 6)" "$(med "$c" "$t" 7)" "$shacol"
  done
  echo
}

conntable() {
  local c=$1 t needed served
  needed=$(printf %.2f "$(case_mib "$c")")
  if [ "$c" = mixed ]; then
    echo "| tool | median connections | median requests | median MiB served | served / needed ($needed MiB) | median MiB via slow (even) conns | median MiB via fast (odd) conns |"
    echo "|---|---|---|---|---|---|---|"
  else
    echo "| tool | median connections | median requests | median MiB served | served / needed ($needed MiB) |"
    echo "|---|---|---|---|---|"
  fi
  for t in $(case_tools "$c"); do
    [ "$t" = curl-skip ] && continue
    served=$(med "$c" "$t" 11)
    if [ "$c" = mixed ]; then
      printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$(tool_label "$t")" "$(medmed "$c" "$t" 9)" "$(medmed "$c" "$t" 10)" \
        "$served" "$(div "$served" "$needed")" "$(med "$c" "$t" 12)" "$(med "$c" "$t" 13)"
    else
      printf '| %s | %s | %s | %s | %s |\n' "$(tool_label "$t")" "$(medmed "$c" "$t" 9)" "$(medmed "$c" "$t" 10)" "$served" "$(div "$served" "$needed")"
    fi
  done
  echo
}

case_title() {
  case $1 in
    uniform) echo "uniform: $SMALL_MIB MiB, every connection capped at $CAP_MIB MiB/s" ;;
    mixed) echo "mixed: $SMALL_MIB MiB at /mixed/, caps $SLOW_MIB MiB/s (even \$connection) and $FAST_MIB MiB/s (odd) alternating" ;;
    nocap) echo "nocap: $BIG_MIB MiB, uncapped" ;;
    nocap-n16-rss) echo "nocap-n16-rss: $BIG_MIB MiB, uncapped, netfox -n 16 (peak RSS target <= 32 MiB)" ;;
    https-wan) echo "https-wan: $WAN_MIB MiB over HTTPS (nginx, HTTP/2 on) behind $WAN_LATENCY + $WAN_RATE_MIB MiB/s per TCP connection" ;;
    silent) echo "silent: $SILENT_MIB MiB, a share of $SILENT_SHARE of the TCP connections silent for good (toxiproxy timeout toxic), headers included" ;;
    silent-body) echo "silent-body: $SILENT_MIB MiB, a share of $SILENT_SHARE of the TCP connections silent for good after $SILENT_AFTER of their answer" ;;
    batch) echo "batch: $BATCH_FILES files of $BATCH_KIB KiB in one list, $N at once, ulimit -n $BATCH_NOFILE (targets: at most 2 requests per file, peak RSS <= 48 MiB, no slower than aria2c)" ;;
    open) echo "open: $OPEN_MIB MiB, uncapped" ;;
    wan) echo "wan: $WAN_MIB MiB over HTTP behind $WAN_LATENCY + $WAN_RATE_MIB MiB/s per TCP connection (toxiproxy, no burst)" ;;
    small-wan) echo "small-wan: $SMALLWAN_FILES files of $BATCH_KIB KiB in one list, $N at once, behind $WAN_LATENCY per connection (one GET per file is what pays)" ;;
    continue) echo "continue: -c on a partial file holding the first third of $SMALL_MIB MiB, capped $CAP_MIB MiB/s per connection" ;;
  esac
}

elapsed=$(($(date +%s) - started))
{
  echo "# netfox against aria2c, axel and curl"
  echo
  echo "Generated by \`bench/compare.sh\` (RUNS=$RUNS, CASES=\"$CASES\") on $(date -u '+%Y-%m-%d %H:%M UTC'); total runtime $((elapsed / 60)) min $((elapsed % 60)) s."
  echo
  echo "## Machine"
  echo
  echo "- CPUs (nproc): $(nproc); kernel: $(uname -r); memory: $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
  echo "- netfox: $(git rev-parse --short HEAD 2> /dev/null || echo '?')$(git diff --quiet HEAD -- '*.go' 2> /dev/null || echo ' (with uncommitted Go changes)'), built with $(go version)"
  echo "- $(aria2c --version | head -n1)"
  echo "- $(axel --version | head -n1)"
  echo "- $(curl --version | head -n1)"
  echo "- $(nginx -v 2>&1 || /usr/sbin/nginx -v 2>&1) (private instance on 127.0.0.1 via bench/nginx, single process)"
  echo
  echo "## Method"
  echo
  echo "Each case runs every tool $RUNS times, interleaved (all tools once, then again), removing the output before each run."
  echo "Wall time is measured with \`date +%s.%N\` around \`/usr/bin/time -v\`; CPU is user+sys and peak RSS is \"Maximum resident set size\" from GNU time."
  echo "Only runs that exited 0 with a matching sha256 enter the time/CPU/RSS statistics; failures are flagged in the last column."
  echo "Ratio vs aria2c is median/median: below 1 means faster than aria2c."
  echo "Connections, requests and MiB served come from nginx's access log (\$connection, \$body_bytes_sent) for the requests of each run."
  echo "\$body_bytes_sent counts what nginx handed to the kernel, so a connection closed early also counts what sat unread in socket buffers (up to a few MiB per connection uncapped): MiB served above the file size is an upper bound on refetching."
  echo
  echo "Commands (OUT, DIR, NAME are fresh paths per run; URL is http://127.0.0.1:PORT/FILE or /mixed/FILE):"
  echo
  echo '```'
  echo "bin/netfox get -q -n $N -o OUT URL"
  echo "bin/netfox get -q -n 16 -o OUT URL    # nocap-n16-rss only"
  echo "aria2c -x$N -s$N -k1M --file-allocation=none --allow-overwrite=true --auto-file-renaming=false --console-log-level=error --summary-interval=0 -d DIR -o NAME URL"
  echo "axel -q -n $N -o OUT URL"
  echo "curl -s -o OUT URL                   # nocap only"
  echo "sh -c 'ulimit -n $BATCH_NOFILE && exec \"\$0\" \"\$@\"' bin/netfox get -q -i LIST -j $N   # batch: LIST has 'URL OUT' lines"
  echo "sh -c 'ulimit -n $BATCH_NOFILE && exec \"\$0\" \"\$@\"' aria2c -i LIST -j $N -x1 --file-allocation=none --allow-overwrite=true --auto-file-renaming=false --console-log-level=error --summary-interval=0   # batch: dir=/out= lines"
  echo "bin/bench-nginx -root SRV -rate ${CAP_MIB}MiB -mixed ${SLOW_MIB}MiB,${FAST_MIB}MiB   # uniform (/), mixed (/mixed/)"
  echo "bin/bench-nginx -root SRV -rate 0                          # nocap"
  echo "bin/bench-nginx -root SRV -rate 0 -tls -wan-latency $WAN_LATENCY -wan-rate ${WAN_RATE_MIB}MiB   # https-wan; netfox gets --ca-cert CA, aria2c --ca-certificate=CA"
  echo "bin/bench-nginx -root SRV -rate 0 -wan-silent $SILENT_SHARE                       # silent; every command under timeout $TIMEOUT"
  echo "bin/bench-nginx -root SRV -rate 0 -wan-latency $WAN_LATENCY -wan-rate ${WAN_RATE_MIB}MiB   # wan (HTTP)"
  echo "bin/bench-nginx -root SRV -rate 0 -wan-latency $WAN_LATENCY   # small-wan: netfox -i LIST -j $N, aria2c -i LIST -j $N -x1 as in batch"
  echo "continue: the first third of the file in OUT, then netfox get -c ... and aria2c -c ... (without --allow-overwrite)"
  echo "bin/bench-nginx -root SRV -rate 0 -wan-silent $SILENT_SHARE -wan-silent-after $SILENT_AFTER   # silent-body; every command under timeout $TIMEOUT"
  echo '```'
  echo
  for c in $CASES; do
    echo "## $(case_title "$c")"
    echo
    table "$c"
    ideal_line "$c"
    if [ "$c" = nocap-n16-rss ]; then
      rss_max=$(col "$c" netfox-n16 7 | sort -g | tail -n1)
      if [ -n "$rss_max" ]; then
        verdict=$(awk -v r="$rss_max" 'BEGIN { print (r <= 32) ? "met" : "NOT met" }')
        echo "Peak RSS over all runs: $rss_max MiB; target <= 32 MiB $verdict."
        echo
      fi
    fi
    [ "$c" = mixed ] && cat "$probe_md"
    echo "Requests seen by nginx:"
    echo
    conntable "$c"
  done
  echo "## All runs"
  echo
  echo "| case | tool | run | exit | wall s | CPU s | peak RSS MiB | sha256 | conns | requests | MiB served | MiB even conns | MiB odd conns |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
  awk -F'\t' '{ printf "| %s | %s | %s | %s | %.2f | %s | %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6, $7, ($8 == "ok" ? "ok" : "**" $8 "**"), $9, $10, $11, $12, $13 }' "$runs"
} > "$OUT"

echo >&2
cat "$OUT"
