#!/usr/bin/env bash
# Installs the Debian packages the test suite talks to (real protocol peers on loopback).
# Idempotent and quiet when everything is already there.
set -euo pipefail
need=()
command -v redis-server >/dev/null || need+=(redis-server)
command -v nginx >/dev/null || need+=(nginx-light)
command -v wrk >/dev/null || need+=(wrk)
command -v hey >/dev/null || need+=(hey)
if [ ${#need[@]} -gt 0 ]; then
  echo "system-deps: installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
# ---- GCP (issue 12): the Firestore emulator is the gcloud SDK's jar and runs on Java 17 ----
command -v java >/dev/null || {
  echo "system-deps: installing openjdk-17-jre-headless (the Firestore emulator)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends openjdk-17-jre-headless >/dev/null
}
fs_jar=platform/cloud-firestore-emulator/cloud-firestore-emulator.jar
found_jar=""
for root in "${CLOUDSDK_ROOT_DIR:-}" /usr/lib/google-cloud-sdk /usr/share/google-cloud-sdk /opt/google-cloud-sdk "$HOME/google-cloud-sdk"; do
  [ -n "$root" ] && [ -f "$root/$fs_jar" ] && found_jar="$root/$fs_jar" && break
done
if [ -z "$found_jar" ] && apt-cache show google-cloud-cli-firestore-emulator >/dev/null 2>&1; then
  echo "system-deps: installing google-cloud-cli-firestore-emulator (the Firestore emulator jar)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq --no-install-recommends google-cloud-cli-firestore-emulator >/dev/null || true
  [ -f "/usr/lib/google-cloud-sdk/$fs_jar" ] && found_jar="/usr/lib/google-cloud-sdk/$fs_jar"
fi
if [ -z "$found_jar" ]; then
  echo "system-deps: MISSING the Firestore emulator jar ($fs_jar under a gcloud SDK)." >&2
  echo "  install it with: apt-get install google-cloud-cli-firestore-emulator (Google's Cloud SDK apt" >&2
  echo "  repository) or: gcloud components install cloud-firestore-emulator; or set CLOUDSDK_ROOT_DIR." >&2
  echo "  The tests/gcp_runtime and Firestore contract tests fail (PeerMissing) until it is there." >&2
fi
# ---- readiness (issue 14): a real Prometheus for `skyrelay check --prometheus URL` ----
command -v prometheus >/dev/null || {
  echo "system-deps: installing prometheus (the --prometheus path of skyrelay check)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends prometheus >/dev/null
}
