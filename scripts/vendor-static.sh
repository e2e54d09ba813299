#!/usr/bin/env bash
# Refresh vendored front-end files from the npm registry, pinned by version and checked by hash.
# Run after changing a version below; commit the file and the new hash together.
set -euo pipefail
cd "$(dirname "$0")/.."

HTMX_VERSION=2.0.11
HTMX_SHA256=$(awk '$1 == "htmx" {print $3}' static/vendor/VERSIONS 2>/dev/null || true)

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
curl -fsSL "https://registry.npmjs.org/htmx.org/-/htmx.org-${HTMX_VERSION}.tgz" | tar -xz -C "$tmp"
cp "$tmp/package/dist/htmx.min.js" static/vendor/htmx.min.js
actual=$(sha256sum static/vendor/htmx.min.js | awk '{print $1}')
if [ "${1:-}" != "--update-hash" ] && [ "$actual" != "$HTMX_SHA256" ]; then
  echo "htmx.min.js hash $actual does not match VERSIONS ($HTMX_SHA256); re-run with --update-hash if intended" >&2
  exit 1
fi
printf 'htmx %s %s\n' "$HTMX_VERSION" "$actual" > static/vendor/VERSIONS
echo "htmx $HTMX_VERSION ok"
