#!/usr/bin/env bash
# Issue 30's scale case for `netfox daemon`: 1,000 downloads queued over
# JSON-RPC at --max-concurrent-downloads 16 from a local rate-capped
# `netfox serve`; peak RSS (VmHWM) and tellActive latency with 16 active,
# aria2c --enable-rpc measured beside it the same way (when installed).
# Exits non-zero when netfox misses a bound (peak RSS <= 64 MiB,
# tellActive median < 5 ms; the p99 is reported) or a file's sha256 is wrong.
#
#   RUNS=3 bash bench/daemon-scale.sh [daemonscale flags, e.g. -n 1000 -j 16]
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-1}
go build -o bin/netfox ./cmd/netfox
go build -o bin/daemonscale ./bench/daemonscale
aria=()
if command -v aria2c >/dev/null; then aria=(-aria2c "$(command -v aria2c)"); fi
echo "netfox $(git rev-parse --short HEAD), $(go version | cut -d' ' -f3), $(nproc) CPUs, $(date -u '+%Y-%m-%d %H:%M UTC')"
status=0
for run in $(seq 1 "$RUNS"); do
	echo
	echo "run $run of $RUNS"
	bin/daemonscale -netfox bin/netfox "${aria[@]}" "$@" || status=$?
done
exit $status
