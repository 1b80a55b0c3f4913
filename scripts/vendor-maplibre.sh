#!/usr/bin/env bash
# Refreshes the vendored MapLibre GL JS (maps/web/vendor/maplibre-gl) from the npm registry at the
# version maps/web/package-lock.json pins. npm checks the package against the lock's sha512
# integrity; the files are then copied as they are. Change the version in maps/web/package.json,
# run `npm install --package-lock-only` there, then this script, and commit the three together.
set -euo pipefail
cd "$(dirname "$0")/../maps/web"
npm ci --omit=dev --no-audit --no-fund --loglevel=error
version=$(node -p 'require("./node_modules/maplibre-gl/package.json").version')
mkdir -p vendor/maplibre-gl
cp node_modules/maplibre-gl/dist/maplibre-gl.js node_modules/maplibre-gl/dist/maplibre-gl.css vendor/maplibre-gl/
cp node_modules/maplibre-gl/LICENSE.txt vendor/maplibre-gl/LICENSE.txt
echo "$version" > vendor/maplibre-gl/VERSION
sha256sum vendor/maplibre-gl/*.js vendor/maplibre-gl/*.css
echo "vendored maplibre-gl $version"
