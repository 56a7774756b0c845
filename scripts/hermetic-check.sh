#!/usr/bin/env bash
# Proves the control and CLI tests are hermetic (issue 13): plants, in the machine's default
# control directory, what a host killed with SIGKILL leaves (its socket, nobody listening) and a
# junk `current` link, then runs test/unit/control and test/unit/cli, which must pass regardless.
#
#   scripts/hermetic-check.sh            plant in the real default directory, run, remove what it planted
#   scripts/hermetic-check.sh --private  the same inside a private mount namespace whose default
#                                        directory is a fresh tmpfs (root; leaves other hosts on a
#                                        shared machine alone)
#   DIRQL_HERMETIC_KEEP=1                leave the plants in place afterwards (.ci/run, so that
#                                        npm test runs with them too)
set -euo pipefail
cd "$(dirname "$0")/.."

default_dir="/tmp/dirql-ctl-$(id -u)"
if [ -n "${XDG_RUNTIME_DIR:-}" ]; then default_dir="$XDG_RUNTIME_DIR/dirql"; fi

if [ "${1:-}" = "--private" ]; then
  mkdir -p -m 0700 "$default_dir"
  exec unshare --mount --propagation private -- bash -c \
    'mount -t tmpfs -o mode=0700 dirql-hermetic "$1" && shift && exec "$@"' _ "$default_dir" "$0"
fi

unset DIRQL_CONTROL_DIR DIRQL_CONTROL_SOCKET
mkdir -p -m 0700 "$default_dir"

# A host with its control server, at the default location, killed with SIGKILL: no exit handler runs.
fifo="$(mktemp -u)"
mkfifo "$fifo"
node --import tsx test/unit/control/fixtures/host-that-exits.ts >"$fifo" </dev/null &
host_pid=$!
read -r stale_socket <"$fifo"
rm -f "$fifo"
kill -9 "$host_pid"
wait "$host_pid" 2>/dev/null || true
[ -S "$stale_socket" ] || { echo "hermetic-check: the killed host left no socket at $stale_socket" >&2; exit 1; }

# A junk `current` link (a previous one is kept aside and put back).
link="$default_dir/current"
saved=""
if [ -L "$link" ]; then saved="$(readlink "$link")"; fi
ln -sfn "junk-$$-not-a-host.sock" "$link"
cleanup() {
  [ "${DIRQL_HERMETIC_KEEP:-}" = 1 ] && return
  rm -f "$stale_socket"
  if [ -n "$saved" ]; then ln -sfn "$saved" "$link"; else rm -f "$link"; fi
}
trap cleanup EXIT

echo "hermetic-check: planted $stale_socket (host $host_pid, SIGKILLed) and $link -> $(readlink "$link")"
npx vitest run test/unit/control test/unit/cli
