#!/usr/bin/env bash
# Installs the npm peers the tests start on loopback (tests/node/package.json + package-lock.json:
# @vercel/cosmosdb-server). Cache-friendly and quiet; a no-op while node_modules matches the lock.
set -euo pipefail
cd "$(dirname "$0")/../tests/node"
command -v npm >/dev/null || { echo "node-peers: npm is not installed (Debian packages nodejs, npm)" >&2; exit 1; }
if ! cmp -s package-lock.json node_modules/.skyrelay-installed 2>/dev/null; then
  npm ci --prefer-offline --no-audit --no-fund --loglevel=error
  cp package-lock.json node_modules/.skyrelay-installed
fi
