#!/usr/bin/env bash
# A throw-away PostgreSQL primary with one streaming standby, for the read-replica tests (CTest
# fixture store_replica, see CMakeLists.txt).
#
#   pg_replica.sh start STATE_DIR           initdb a primary, pg_basebackup -R a standby from it, start
#                                           both on their own unix sockets; write STATE_DIR/primary_url
#                                           and STATE_DIR/replica_url
#   pg_replica.sh stop-replica STATE_DIR    stop the standby (the tests' outage)
#   pg_replica.sh start-replica STATE_DIR   start it again
#   pg_replica.sh stop STATE_DIR            stop both and remove everything
#
# Without the server binaries (initdb, pg_ctl, pg_basebackup) `start` writes STATE_DIR/skip with
# the reason and succeeds: the tests then skip. As root, the servers run as `postgres` (or
# `nobody`), since PostgreSQL refuses to run as root.
set -euo pipefail

cmd=${1:-}
state=${2:-}
[[ -n "$cmd" && -n "$state" ]] || { echo "usage: $0 start|stop|stop-replica|start-replica STATE_DIR" >&2; exit 2; }

pg_bindir() {
  local d
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    [[ -x "$d/initdb" && -x "$d/pg_ctl" && -x "$d/pg_basebackup" ]] && { echo "$d"; return 0; }
  done
  return 1
}

as_owner() {
  if [[ $(id -u) -eq 0 ]]; then runuser -u "$(cat "$state/owner")" -- "$@"; else "$@"; fi
}

pg_stop() {  # data dir
  local bin pid
  bin=$(pg_bindir || true)
  [[ -f "$1/postmaster.pid" ]] || return 0
  pid=$(head -n1 "$1/postmaster.pid")
  [[ -n "$bin" ]] && as_owner "$bin/pg_ctl" stop -D "$1" -m fast -w -t 30 >/dev/null 2>&1 || true
  if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
}

stop_all() {
  [[ -f "$state/root" ]] || { rm -rf "$state"; return 0; }
  local root
  root=$(cat "$state/root")
  pg_stop "$root/standby"
  pg_stop "$root/primary"
  [[ "$root" == /tmp/parley-pgrep.* ]] && rm -rf "$root"
  rm -rf "$state"
}

case "$cmd" in
  stop) stop_all; echo "pg_replica: stopped"; exit 0 ;;
  stop-replica) pg_stop "$(cat "$state/root")/standby"; exit 0 ;;
  start-replica)
    root=$(cat "$state/root")
    as_owner "$(pg_bindir)/pg_ctl" start -D "$root/standby" -l "$root/standby.log" -w -t 60 >/dev/null
    exit 0 ;;
  start) ;;
  *) echo "unknown command $cmd" >&2; exit 2 ;;
esac

stop_all
mkdir -p "$state"
bin=$(pg_bindir) || {
  echo "PostgreSQL server binaries (initdb, pg_ctl, pg_basebackup) not found under /usr/lib/postgresql/*/bin" >"$state/skip"
  echo "pg_replica: $(cat "$state/skip"); the replica tests will skip"
  exit 0
}
root=$(mktemp -d /tmp/parley-pgrep.XXXXXX)
echo "$root" >"$state/root"
owner=$(id -un)
if [[ $(id -u) -eq 0 ]]; then
  owner=nobody
  id postgres >/dev/null 2>&1 && owner=postgres
  chown "$owner" "$root"
fi
echo "$owner" >"$state/owner"

fail() {
  echo "pg_replica: $*" >&2
  for f in "$root"/*.log; do [[ -f "$f" ]] && { echo "--- $f:" >&2; tail -n 20 "$f" >&2; }; done
  stop_all
  exit 1
}

as_owner mkdir -p "$root/sock_primary" "$root/sock_standby"
as_owner "$bin/initdb" -D "$root/primary" -U parley --auth=trust -E UTF8 --no-locale --no-sync >"$root/initdb.log" 2>&1 ||
  fail "initdb failed"
cat >>"$root/primary/postgresql.conf" <<CONF
listen_addresses = ''
unix_socket_directories = '$root/sock_primary'
shared_buffers = 16MB
max_connections = 50
wal_level = replica
max_wal_senders = 4
log_min_messages = warning
CONF
as_owner "$bin/pg_ctl" start -D "$root/primary" -l "$root/primary.log" -w -t 60 >/dev/null || fail "the primary did not start"
as_owner "$bin/pg_basebackup" -D "$root/standby" -h "$root/sock_primary" -U parley -R -X stream --no-sync \
  >"$root/basebackup.log" 2>&1 || fail "pg_basebackup failed"
cat >>"$root/standby/postgresql.conf" <<CONF
unix_socket_directories = '$root/sock_standby'
hot_standby = on
CONF
as_owner "$bin/pg_ctl" start -D "$root/standby" -l "$root/standby.log" -w -t 60 >/dev/null || fail "the standby did not start"
echo "postgresql://parley@/postgres?host=$root/sock_primary" >"$state/primary_url"
echo "postgresql://parley@/postgres?host=$root/sock_standby" >"$state/replica_url"
echo "pg_replica: primary and streaming standby under $root"
