#!/usr/bin/env bash
# scripts/check_layers must pass on the repository and fail on a tree that breaks the layer table.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
"$repo/scripts/check_layers" >/dev/null

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/docs" "$tmp/src/base" "$tmp/src/gguf"
cp "$repo/docs/architecture.md" "$tmp/docs/"
echo '#include "base/status.h"' > "$tmp/src/gguf/ok.cpp"
"$repo/scripts/check_layers" --root "$tmp" >/dev/null

# base may not include gguf
echo '#include "gguf/gguf_file.h"' > "$tmp/src/base/bad.cpp"
if out=$("$repo/scripts/check_layers" --root "$tmp"); then echo "FAIL: upward include not caught"; exit 1; fi
grep -q 'src/base/bad.cpp: includes gguf/' <<<"$out" || { echo "FAIL: unexpected report: $out"; exit 1; }
rm "$tmp/src/base/bad.cpp"

# engine-side code may not include HTTP/JSON
echo '#include <boost/json.hpp>' > "$tmp/src/gguf/json.cpp"
if "$repo/scripts/check_layers" --root "$tmp" >/dev/null; then echo "FAIL: JSON in gguf not caught"; exit 1; fi
rm "$tmp/src/gguf/json.cpp"

# grammar's public headers stay free of JSON (its .cpp files may use it)
mkdir -p "$tmp/src/grammar"
echo '#include <boost/json.hpp>' > "$tmp/src/grammar/schema.cpp"
echo '#include <boost/json.hpp>' > "$tmp/src/grammar/schema_impl.h"
"$repo/scripts/check_layers" --root "$tmp" >/dev/null
echo '#include <boost/json.hpp>' > "$tmp/src/grammar/schema.h"
if "$repo/scripts/check_layers" --root "$tmp" >/dev/null; then echo "FAIL: JSON in a grammar header not caught"; exit 1; fi
rm -r "$tmp/src/grammar"

# a CMake link that breaks the table
printf 'parley_module(NAME base SOURCES a.cpp DEPS parley_gguf)\n' > "$tmp/src/base/CMakeLists.txt"
if "$repo/scripts/check_layers" --root "$tmp" >/dev/null; then echo "FAIL: bad link not caught"; exit 1; fi
rm "$tmp/src/base/CMakeLists.txt"

# a module missing from the table
mkdir -p "$tmp/src/mystery"
if "$repo/scripts/check_layers" --root "$tmp" >/dev/null; then echo "FAIL: unknown module not caught"; exit 1; fi
echo "check_layers self-test passed"
