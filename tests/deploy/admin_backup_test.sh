#!/usr/bin/env bash
# `parley admin backup` / `restore` from the command line: an account made in one data directory
# is there after backing it up and restoring into another; a second backup to the same file and a
# PostgreSQL URL are refused. (The consistency under concurrent writes is tests/store's.)
set -euo pipefail
parley=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/a" "$tmp/b"
echo 'correct-horse-battery-staple-42' | "$parley" admin create-user --email ops@example.com --password-stdin \
  --data "$tmp/a" 2>/dev/null
"$parley" admin backup --to "$tmp/backup.db" --data "$tmp/a" 2>"$tmp/log"
grep -q 'schema version' "$tmp/log" || { echo "FAIL: backup said: $(cat "$tmp/log")"; exit 1; }
if "$parley" admin backup --to "$tmp/backup.db" --data "$tmp/a" 2>"$tmp/log"; then
  echo "FAIL: a backup overwrote an existing file"; exit 1
fi
grep -q 'never overwrites' "$tmp/log" || { echo "FAIL: unexpected message: $(cat "$tmp/log")"; exit 1; }
if "$parley" admin backup --to "$tmp/pg.db" --database postgres://nobody@127.0.0.1:1/none 2>"$tmp/log"; then
  echo "FAIL: backup of a PostgreSQL store did not refuse"; exit 1
fi
grep -q 'pg_dump' "$tmp/log" || { echo "FAIL: no pg_dump hint: $(cat "$tmp/log")"; exit 1; }
"$parley" admin restore --from "$tmp/backup.db" --data "$tmp/b" 2>/dev/null
"$parley" admin list-users --data "$tmp/b" | grep -q 'ops@example.com' || { echo "FAIL: restored store lacks the user"; exit 1; }
echo "ok: backup, refusals, restore"
