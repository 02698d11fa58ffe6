#!/usr/bin/env bash
# The main job on an embedded local server: serve a generated file on
# loopback with every connection capped (as CDNs and mirrors cap them),
# download it over 8 connections, interrupt the download halfway with
# Ctrl-C (SIGINT), resume it with the very same command, and check the
# sha256 of the result against the source.
set -euo pipefail
netfox=${NETFOX:-bin/netfox}
work=$(mktemp -d)
trap 'kill "$server" 2>/dev/null || true; rm -rf "$work"' EXIT

mkdir -p "$work/srv"
head -c $((64 << 20)) /dev/urandom > "$work/srv/demo.bin"
"$netfox" serve --addr 127.0.0.1:0 --rate-per-conn 2MiB "$work/srv" 2> "$work/serve.log" &
server=$!
for _ in $(seq 50); do
  grep -q 'serving' "$work/serve.log" 2>/dev/null && break
  sleep 0.1
done
url="$(grep -o 'http://[^ ]*' "$work/serve.log" | head -n1)demo.bin"

echo "== netfox get -n 8 $url   (8 connections x 2 MiB/s; Ctrl-C after 2 s)"
"$netfox" get -n 8 -o "$work/demo.bin" "$url" &
client=$!
sleep 2
kill -INT "$client"
status=0
wait "$client" || status=$?
echo "== interrupted: exit code $status; left behind: $(cd "$work" && echo demo.bin.*)"

echo "== the same command again resumes:"
"$netfox" get -n 8 -o "$work/demo.bin" "$url"

want=$(sha256sum < "$work/srv/demo.bin" | cut -d' ' -f1)
got=$(sha256sum < "$work/demo.bin" | cut -d' ' -f1)
echo "== sha256 source   $want"
echo "== sha256 download $got"
[ "$want" = "$got" ] && echo "== OK: byte-identical" || { echo "== MISMATCH"; exit 1; }
