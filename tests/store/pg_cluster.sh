#!/usr/bin/env bash
# A throw-away PostgreSQL cluster for the store tests (CTest fixture store_pg, see CMakeLists.txt).
#
#   pg_cluster.sh start STATE_DIR   initdb into a fresh temp dir, start the server on a unix socket
#                                   only (no TCP port to collide on), write its URL to STATE_DIR/url
#   pg_cluster.sh stop STATE_DIR    stop the server and remove everything (also after failed tests:
#                                   CTest runs FIXTURES_CLEANUP tests whatever the results)
#
# `start` first stops a cluster left behind by an interrupted run. As root, the server runs as the
# `postgres` user (or `nobody`), since PostgreSQL refuses to run as root; the data dir is theirs.
#
# Environment: PARLEY_TEST_SKIP_PG=1 starts nothing (the PostgreSQL tests then skip: for
# developers without PostgreSQL; `make test` must not set it). PARLEY_TEST_PG_URL=postgres://...
# starts nothing either: the tests use that server (each test works in its own schema).
set -euo pipefail

cmd=${1:-}
state=${2:-}
[[ ( "$cmd" == start || "$cmd" == stop ) && -n "$state" ]] || { echo "usage: $0 start|stop STATE_DIR" >&2; exit 2; }

if [[ "${PARLEY_TEST_SKIP_PG:-}" == 1 ]]; then
  echo "pg_cluster: PARLEY_TEST_SKIP_PG=1, no PostgreSQL server (its tests will skip)"
  exit 0
fi
if [[ -n "${PARLEY_TEST_PG_URL:-}" ]]; then
  echo "pg_cluster: using PARLEY_TEST_PG_URL, starting nothing"
  exit 0
fi

pg_bindir() {
  local d
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    [[ -x "$d/initdb" && -x "$d/pg_ctl" ]] && { echo "$d"; return 0; }
  done
  if command -v initdb >/dev/null 2>&1; then dirname "$(command -v initdb)"; return 0; fi
  return 1
}

# Runs a command as the cluster's owner.
as_owner() {
  if [[ $(id -u) -eq 0 ]]; then
    runuser -u "$(cat "$state/owner")" -- "$@"
  else
    "$@"
  fi
}

stop_cluster() {
  [[ -f "$state/root" ]] || { rm -rf "$state"; return 0; }
  local root bin pid
  root=$(cat "$state/root")
  bin=$(pg_bindir || true)
  if [[ -f "$root/data/postmaster.pid" ]]; then
    pid=$(head -n1 "$root/data/postmaster.pid")
    if [[ -n "$bin" ]]; then
      as_owner "$bin/pg_ctl" stop -D "$root/data" -m fast -w -t 30 >/dev/null 2>&1 || true
    fi
    # Still there (pg_ctl missing or stuck): this cluster's postmaster only, by its pid.
    if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  [[ "$root" == /tmp/parley-pg.* ]] && rm -rf "$root"
  rm -rf "$state"
}

if [[ "$cmd" == stop ]]; then
  stop_cluster
  echo "pg_cluster: stopped"
  exit 0
fi

stop_cluster  # whatever an interrupted run left
bin=$(pg_bindir) || {
  echo "pg_cluster: PostgreSQL server binaries not found (/usr/lib/postgresql/*/bin): run scripts/setup" >&2
  exit 1
}
mkdir -p "$state"
root=$(mktemp -d /tmp/parley-pg.XXXXXX)
echo "$root" >"$state/root"
owner=$(id -un)
if [[ $(id -u) -eq 0 ]]; then
  owner=nobody
  id postgres >/dev/null 2>&1 && owner=postgres
  chown "$owner" "$root"
fi
echo "$owner" >"$state/owner"

fail() {
  echo "pg_cluster: $*" >&2
  [[ -f "$root/log" ]] && { echo "--- server log:" >&2; tail -n 30 "$root/log" >&2; }
  stop_cluster
  exit 1
}

# A throw-away cluster: no fsync during initdb; the server itself keeps the defaults (fsync=on,
# synchronous_commit=on), the configuration whose durability the tests rely on.
as_owner "$bin/initdb" -D "$root/data" -U parley --auth=trust -E UTF8 --no-locale --no-sync >"$root/initdb.log" 2>&1 ||
  { cat "$root/initdb.log" >&2; fail "initdb failed"; }
as_owner mkdir -p "$root/sock"
cat >>"$root/data/postgresql.conf" <<EOF
listen_addresses = ''
unix_socket_directories = '$root/sock'
shared_buffers = 32MB
max_connections = 100
log_min_messages = warning
EOF
as_owner "$bin/pg_ctl" start -D "$root/data" -l "$root/log" -w -t 60 >/dev/null || fail "the server did not start"

url="postgresql://parley@/postgres?host=$root/sock"
if [[ -x "$bin/pg_isready" ]]; then
  "$bin/pg_isready" -q -h "$root/sock" -U parley -d postgres || fail "the server does not accept connections"
fi
echo "$url" >"$state/url"
echo "pg_cluster: PostgreSQL $("$bin/pg_ctl" --version | awk '{print $3}') at $url"
