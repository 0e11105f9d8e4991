#!/usr/bin/env bash
# Installs the npm peers the tests start on loopback (tests/node/package.json + package-lock.json: one
# file for every npm peer). Idempotent: skipped when node_modules matches the lock file.
set -euo pipefail
cd "$(dirname "$0")/../tests/node"
stamp=node_modules/.skyrelay-lock
if [ -f "$stamp" ] && cmp -s package-lock.json "$stamp"; then
  exit 0
fi
npm ci --prefer-offline --no-audit --no-fund --loglevel=error
cp package-lock.json "$stamp"
