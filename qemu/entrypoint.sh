#!/bin/sh
# The image's entrypoint (docker-compose.yml). Started as root only to hand the directories the
# command writes (DIRQL_OUTPUT_DIRS, space-separated: the bind-mounted outputs, so the user who ran
# `docker compose up` can delete crash reports and captures, and the host's health tmpfs) to
# DIRQL_UID:DIRQL_GID; the command itself then runs as that user (setpriv, util-linux), never as root.
set -eu
uid="${DIRQL_UID:-1000}"
gid="${DIRQL_GID:-1000}"
if [ "$(id -u)" = 0 ]; then
  for dir in ${DIRQL_OUTPUT_DIRS:-}; do
    mkdir -p "$dir"
    chown "$uid:$gid" "$dir"
  done
  export HOME=/tmp
  exec setpriv --reuid="$uid" --regid="$gid" --clear-groups -- "$@"
fi
exec "$@"
