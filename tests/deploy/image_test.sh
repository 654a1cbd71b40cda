#!/usr/bin/env bash
# The OCI image `make image` builds (scripts/make-image), checked from the outside: built with
# buildah into a private store, exported as an OCI archive, its layers unpacked into a root
# filesystem, and run from there in a chroot: `parley --version`, then `parley serve` with the
# demo model as the image's non-root user, until /health and /ready answer 200 and a chat
# completion works. The image's configuration (entrypoint, user, /data volume, port) is checked too.
#
# Needs root (chroot) and buildah; elsewhere it exits 77, which CTest reports as skipped, saying why.
# Usage: image_test.sh PARLEY_BINARY
set -euo pipefail
parley=$(realpath "$1")
repo=$(cd "$(dirname "$0")/../.." && pwd)

skip() { echo "SKIP: $*"; exit 77; }
[[ $(id -u) -eq 0 ]] || skip "chroot needs root"
command -v buildah >/dev/null || skip "buildah is not installed (scripts/setup installs it)"
command -v curl >/dev/null || skip "curl is not installed"

tmp=$(mktemp -d)
server=
cleanup() {
  [[ -n "$server" ]] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
  buildah --root "$tmp/storage" --runroot "$tmp/run" --storage-driver vfs rmi --all >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT

"$repo/scripts/make-image" --parley "$parley" --tag localhost/parley:test --oci-archive "$tmp/image.tar" -- \
  --root "$tmp/storage" --runroot "$tmp/run" --storage-driver vfs

# Unpack: index -> manifest -> config and layers (GNU tar detects their compression).
mkdir -p "$tmp/oci" "$tmp/rootfs"
tar -xf "$tmp/image.tar" -C "$tmp/oci"
python3 - "$tmp/oci" "$tmp/rootfs" <<'EOF'
import json, subprocess, sys
oci, rootfs = sys.argv[1], sys.argv[2]
blob = lambda d: f"{oci}/blobs/{d.replace(':', '/')}"
index = json.load(open(f"{oci}/index.json"))
manifest = json.load(open(blob(index["manifests"][0]["digest"])))
config = json.load(open(blob(manifest["config"]["digest"])))["config"]
def want(cond, what):
    if not cond:
        sys.exit(f"FAIL: image config: {what}: {json.dumps(config)}")
want(config.get("Entrypoint") == ["/usr/bin/parley"], "entrypoint")
want(config.get("User") == "10001:10001", "non-root user")
want("/data" in config.get("Volumes", {}), "/data volume")
want("8080/tcp" in config.get("ExposedPorts", {}), "port 8080")
for layer in manifest["layers"]:
    subprocess.run(["tar", "-xf", blob(layer["digest"]), "-C", rootfs, "--same-owner"], check=True)
print(f"image: {len(manifest['layers'])} layer(s), config ok")
EOF

# Nothing of the build tree leaks in: the binary, its libraries, certificates, users.
for f in usr/bin/parley etc/ssl/certs/ca-certificates.crt etc/passwd etc/group; do
  [[ -e "$tmp/rootfs/$f" ]] || { echo "FAIL: /$f missing from the image"; exit 1; }
done
[[ ! -e "$tmp/rootfs/bin/sh" ]] || { echo "FAIL: the image has a shell"; exit 1; }

echo "image size: $(du -sb "$tmp/rootfs" | awk '{ printf "%.0f MiB", $1 / 1048576 }') unpacked," \
  "$(stat -c %s "$tmp/image.tar" | awk '{ printf "%.0f MiB", $1 / 1048576 }') OCI archive (gzip layers)"
version=$(chroot "$tmp/rootfs" /usr/bin/parley --version)
[[ "$version" == "$("$parley" --version)" ]] || { echo "FAIL: --version in the image: $version"; exit 1; }
echo "chroot: $version"

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
chroot --userspec=10001:10001 "$tmp/rootfs" /usr/bin/parley serve --host 127.0.0.1 --port "$port" --data /data \
  -t 1 >"$tmp/serve.log" 2>&1 &
server=$!
for _ in $(seq 1 120); do
  curl -sf "http://127.0.0.1:$port/ready" >/dev/null && break
  kill -0 "$server" 2>/dev/null || { echo "FAIL: parley serve exited in the chroot:"; cat "$tmp/serve.log"; exit 1; }
  sleep 0.5
done
curl -sf "http://127.0.0.1:$port/health" >/dev/null || { echo "FAIL: /health"; cat "$tmp/serve.log"; exit 1; }
curl -sf "http://127.0.0.1:$port/ready" >/dev/null || { echo "FAIL: /ready"; cat "$tmp/serve.log"; exit 1; }
reply=$(curl -sf "http://127.0.0.1:$port/v1/chat/completions" -H 'Content-Type: application/json' \
  -d '{"model":"parley-demo","messages":[{"role":"user","content":"hi"}],"max_tokens":3}')
grep -q '"finish_reason"' <<<"$reply" || { echo "FAIL: chat completion: $reply"; cat "$tmp/serve.log"; exit 1; }
[[ $(stat -c %u "$tmp/rootfs/data/parley.db") -eq 10001 ]] || { echo "FAIL: the store is not the user's"; exit 1; }
echo "ok: parley serve from the image's root filesystem answered /health, /ready and a chat completion"
