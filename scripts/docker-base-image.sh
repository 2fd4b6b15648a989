#!/usr/bin/env bash
# Build a local stand-in for the official Node image (default base: node:24-bookworm-slim) from this machine's own `node`, for hosts that
# cannot pull images (CI here). The result has what the Dockerfile relies on in `node:24-bookworm-slim`:
# node, npm and npx under /usr/local, /bin/sh and a few core utilities, a `node` user (uid 1000), /tmp,
# and this machine's CA bundle, trusted by node and npm (the registry is reached only through it).
#
#   scripts/docker-base-image.sh [TAG]        default TAG: soda-node-base:local
#   docker build --build-arg NODE_IMAGE=soda-node-base:local -t soda .
set -euo pipefail

TAG="${1:-soda-node-base:local}"
NODE_BIN="$(readlink -f "$(command -v node)")"
NPM_DIR="$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")" # .../node_modules/npm
CA_BUNDLE="${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}"
DOCKER="${DOCKER:-docker}"

fail() {
  echo "docker-base-image: $*" >&2
  exit 1
}
[ -x "$NODE_BIN" ] || fail "no node on PATH"
[ -f "$NPM_DIR/bin/npm-cli.js" ] || fail "npm not found next to node (looked in $NPM_DIR)"
[ -f "$CA_BUNDLE" ] || fail "CA bundle $CA_BUNDLE missing (set CA_BUNDLE=...)"
# The stand-in carries whatever node this machine has (SODA runs on Node ≥ 20); say so when it is not 24.
case "$("$NODE_BIN" --version)" in v24.*) ;; *) echo "docker-base-image: note: node is $("$NODE_BIN" --version); the image's default base is node 24" >&2 ;; esac

# Same node, npm and CA bundle as an existing image of that tag: keep it, so that image builds on it
# stay cached (an import always makes a new image id). FORCE=1 rebuilds.
FINGERPRINT="$( (sha256sum "$NODE_BIN" "$CA_BUNDLE" "$0" && cat "$NPM_DIR/package.json") | sha256sum | cut -c1-16)"
if [ "${FORCE:-0}" != 1 ] &&
  [ "$("$DOCKER" image inspect -f '{{index .Config.Labels "soda.base.fingerprint"}}' "$TAG" 2>/dev/null)" = "$FINGERPRINT" ]; then
  echo "docker-base-image: $TAG is up to date (fingerprint $FINGERPRINT)"
  exit 0
fi

ROOT="$(mktemp -d /tmp/soda-node-base.XXXXXX)"
trap 'rm -rf "$ROOT"' EXIT

# Copy a file with its parent directories, keeping its absolute path inside the rootfs.
put() { mkdir -p "$ROOT$(dirname "$1")" && cp -L "$1" "$ROOT$1"; }

# Copy a program and every shared library the dynamic loader resolves for it (ldd).
put_prog() {
  local src dst="$2" lib
  src="$(type -P "$1" || true)"
  [ -n "$src" ] || fail "program $1 not found"
  src="$(readlink -f "$src")"
  mkdir -p "$ROOT$(dirname "$dst")"
  cp -L "$src" "$ROOT$dst"
  for lib in $(ldd "$src" 2>/dev/null | grep -o '/[^ ]*' || true); do
    [ -e "$ROOT$lib" ] || put "$lib"
  done
}

mkdir -p "$ROOT"/{bin,usr/bin,usr/local/bin,usr/local/lib/node_modules,usr/local/etc,etc/ssl/certs,tmp,root,home/node}
chmod 1777 "$ROOT/tmp"

put_prog node /usr/local/bin/node
cp -a "$NPM_DIR" "$ROOT/usr/local/lib/node_modules/npm"
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$ROOT/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$ROOT/usr/local/bin/npx"

# /bin/sh runs RUN lines and npm scripts; /usr/bin/env runs `#!/usr/bin/env node` scripts.
put_prog dash /bin/sh
put_prog env /usr/bin/env
for p in ln ls cat cp mv rm mkdir chmod chown id sleep true false; do put_prog "$p" "/bin/$p"; done

cp -L "$CA_BUNDLE" "$ROOT/etc/ssl/certs/ca-certificates.crt"
printf 'cafile=/etc/ssl/certs/ca-certificates.crt\nupdate-notifier=false\nfund=false\naudit=false\n' \
  >"$ROOT/usr/local/etc/npmrc"

cat >"$ROOT/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
node:x:1000:1000::/home/node:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
EOF
cat >"$ROOT/etc/group" <<'EOF'
root:x:0:
node:x:1000:
nogroup:x:65534:
EOF
printf 'passwd: files\ngroup: files\nhosts: files dns\n' >"$ROOT/etc/nsswitch.conf"
chown 1000:1000 "$ROOT/home/node"

# The image must run with no PATH from a parent: Docker sets none for a `docker import`ed image.
tar --numeric-owner -C "$ROOT" -c . | "$DOCKER" import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt' \
  --change "ENV NODE_VERSION=$("$NODE_BIN" --version | tr -d v)" \
  --change 'CMD ["node"]' \
  --change "LABEL soda.base.fingerprint=$FINGERPRINT" \
  -m "stand-in for node:24-bookworm-slim, built from this machine's node by scripts/docker-base-image.sh" \
  - "$TAG" >/dev/null

# shellcheck disable=SC2016 # JavaScript template literal, not shell
"$DOCKER" run --rm "$TAG" node -e 'process.stdout.write(`node ${process.version} ok\n`)' ||
  fail "image $TAG does not run node"
echo "docker-base-image: built $TAG ($("$DOCKER" image inspect -f '{{.Size}}' "$TAG" | awk '{printf "%.0f MB", $1/1e6}'))"
