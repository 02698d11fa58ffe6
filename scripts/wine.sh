#!/usr/bin/env bash
# The Windows lane's runner: Go's Windows binaries under Debian's Wine.
#
#   scripts/wine.sh setup             make the Wine prefix (once; idempotent)
#   scripts/wine.sh exec PROG [ARGS]  run a Windows program in it; this is
#                                     what `go test -exec` and the end-to-end
#                                     tests (NETFOX_WINE) call
#   scripts/wine.sh server            keep the prefix's wineserver running
#                                     until stop (each program then starts
#                                     in a fraction of a second, not seconds)
#   scripts/wine.sh stop              end the prefix's wineserver
#
# The prefix is $NETFOX_WINEPREFIX (default: $TMPDIR/netfox-wine). Wine 8
# (Debian 12) lacks bcryptprimitives.dll, which Go's runtime loads at start
# for ProcessPrng; setup builds a stand-in from scripts/wine/ with
# mingw-w64 and puts it into the prefix's system32. Wine enforces Windows'
# share modes and byte-range locks, which is what the lane is for.
# Needs: wine64, gcc-mingw-w64-x86-64 (Debian packages; .ci/run installs them).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export WINEPREFIX=${NETFOX_WINEPREFIX:-${TMPDIR:-/tmp}/netfox-wine}
export WINEDEBUG=${WINEDEBUG:--all}
export WINEDLLOVERRIDES="mscoree=;mshtml=" # no Mono or Gecko prompts

wine=$(command -v wine64 || true)
[ -n "$wine" ] || { [ -x /usr/lib/wine/wine64 ] && wine=/usr/lib/wine/wine64; }
if [ -z "$wine" ]; then
  echo "wine.sh: wine64 not found (apt-get install wine64 gcc-mingw-w64-x86-64-win32)" >&2
  exit 1
fi

case ${1:-} in
setup)
  dll=$WINEPREFIX/drive_c/windows/system32/bcryptprimitives.dll
  if [ ! -f "$dll" ]; then
    cc=$(command -v x86_64-w64-mingw32-gcc || true)
    if [ -z "$cc" ]; then
      echo "wine.sh: x86_64-w64-mingw32-gcc not found (apt-get install gcc-mingw-w64-x86-64-win32)" >&2
      exit 1
    fi
    mkdir -p "$WINEPREFIX"
    "$wine" wineboot --init >/dev/null 2>&1 || true
    tmp=$(mktemp -d)
    "$cc" -shared -O2 -o "$tmp/bcryptprimitives.dll" \
      "$here/wine/bcryptprimitives.c" "$here/wine/bcryptprimitives.def" -ladvapi32
    mkdir -p "$(dirname "$dll")"
    cp "$tmp/bcryptprimitives.dll" "$dll"
    rm -rf "$tmp"
  fi
  ;;
exec)
  shift
  exec "$wine" "$@"
  ;;
server | stop)
  server=$(command -v wineserver || true)
  [ -n "$server" ] || server=/usr/lib/wine/wineserver
  if [ "$1" = server ]; then
    "$server" -p 2>/dev/null || true # one already running is as good
    # Start Wine's own services (winedevice, plugplay, ...) now, with
    # nowhere to write: started by the first test program instead, they
    # would hold its output pipe open and go test would wait on it.
    "$wine" wineboot </dev/null >/dev/null 2>&1 || true
  else
    "$server" -k 2>/dev/null || true
  fi
  ;;
*)
  echo "usage: scripts/wine.sh setup | exec PROG [ARGS...] | server | stop" >&2
  exit 2
  ;;
esac
