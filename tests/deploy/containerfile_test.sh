#!/usr/bin/env bash
# The Containerfile cannot be built here (it pulls debian:12 from a registry), so its package lists
# are checked against what the build really needs: the build stage installs every library package
# of scripts/setup, and the run stage the Debian package of every shared library the binary links
# directly (readelf NEEDED; apt brings their own dependencies; libc, libstdc++ and libgcc are in
# debian:12-slim already). Usage: containerfile_test.sh PARLEY_BINARY
set -euo pipefail
parley=$1
repo=$(cd "$(dirname "$0")/../.." && pwd)
cf="$repo/Containerfile"
command -v dpkg >/dev/null || { echo "SKIP: not a Debian system"; exit 77; }

# The packages of the `apt-get install` in stage N (1: build, 2: run).
stage_pkgs() {
  awk -v want="$1" '/^FROM /{ n++ } n == want' "$cf" | sed -n '/apt-get install/,/rm -rf/p' | tr ' \\' '\n\n' |
    grep -E '^[a-z0-9][a-z0-9.+-]+$' | grep -vE '^(apt-get|install|rm|update|DEBIAN_FRONTEND|noninteractive|&&|-rf)$' | sort -u
}
build=$(stage_pkgs 1)
run=$(stage_pkgs 2)
fail=0
# shellcheck disable=SC1090
libs=$(sed -n '/^pkgs_libs=(/,/)/p' "$repo/scripts/setup" | tr ' ()' '\n\n\n' | grep -E '^[a-z0-9][a-z0-9.+-]+$' | grep -v '^pkgs_libs=$')
for p in $libs; do
  [[ "$p" == cracklib-runtime ]] && continue  # the dictionary: the run stage's business
  grep -qx "$p" <<<"$build" || { echo "FAIL: the build stage lacks $p (scripts/setup pkgs_libs)"; fail=1; }
done
for lib in $(readelf -d "$parley" | sed -n 's/.*NEEDED.*\[\(.*\)\]/\1/p'); do
  path=$(ldd "$parley" | awk -v l="$lib" '$1 == l { print $3 }')
  pkg=$(dpkg -S "$path" 2>/dev/null || dpkg -S "$(realpath "$path")" 2>/dev/null || dpkg -S "/usr$path" 2>/dev/null || true)
  pkg=${pkg%%:*}
  case "$pkg" in libc6 | libstdc++6 | libgcc-s1 | "") continue ;; esac
  grep -qx "$pkg" <<<"$run" || { echo "FAIL: the run stage lacks $pkg (for $lib)"; fail=1; }
done
grep -qx cracklib-runtime <<<"$run" || { echo "FAIL: the run stage lacks cracklib-runtime (the password dictionary)"; fail=1; }
grep -q '^USER 10001' "$cf" || { echo "FAIL: the image does not run as a non-root user"; fail=1; }
grep -q '^HEALTHCHECK' "$cf" || { echo "FAIL: no HEALTHCHECK"; fail=1; }
grep -q '^VOLUME \["/data"\]' "$cf" || { echo "FAIL: no /data volume"; fail=1; }
[[ $fail -eq 0 ]] && echo "ok: the Containerfile's stages install what the binary needs ($(wc -w <<<"$run") run packages)"
exit $fail
