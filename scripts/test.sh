#!/usr/bin/env bash
# The whole test suite, from a fresh Debian machine: installs what the tests need (PostGIS),
# makes sure PostgreSQL runs, then builds and runs every test of the workspace.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\n== %s\n' "$*"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

apt_updated=""
need_package() {
  if ! dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; then
    if [ -z "$apt_updated" ]; then as_root apt-get update -qq; apt_updated=1; fi
    log "installing $1"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$1" >/dev/null
  fi
}

need_package postgresql-15-postgis-3
need_package gdal-bin   # ogrinfo: a real OGC API – Features client and MVT decoder
need_package postgresql-15-pgrouting   # pgr_dijkstra: an independent check of street distances
need_package chromium   # the web map's browser tests (driven by playwright-core)
need_package fonts-wqy-zenhei   # Chinese glyphs for the map's screenshots
need_package libimage-exiftool-perl   # exiftool writes real EXIF (time, GPS, device) into the photo tests
need_package libheif-examples   # heif-convert turns HEIC photos into JPEG (the server uses it); heif-enc makes HEIC in the tests
need_package poppler-utils   # pdftotext reads the PDF bulletins and letters back (poppler-data maps their Chinese font)
need_package poppler-data
command -v npm >/dev/null || need_package npm

PGHOST=${PGHOST:-127.0.0.1}
PGPORT=${PGPORT:-5432}
if ! pg_isready -q -h "$PGHOST" -p "$PGPORT"; then
  log "starting PostgreSQL"
  for version in /etc/postgresql/*; do
    as_root pg_ctlcluster --skip-systemctl-redirect "$(basename "$version")" main start || true
  done
  for _ in $(seq 1 30); do pg_isready -q -h "$PGHOST" -p "$PGPORT" && break; sleep 1; done
  pg_isready -h "$PGHOST" -p "$PGPORT"
fi
export GRIDWATCH_TEST_POSTGRES_URL=${GRIDWATCH_TEST_POSTGRES_URL:-postgres://postgres@$PGHOST:$PGPORT/postgres}

# The real-world test data sits in shared/ beside the repository (or beside the clone's origin).
if [ -z "${GRIDWATCH_SHARED_DATA:-}" ]; then
  for candidate in ../shared/data "$(git config --get remote.origin.url 2>/dev/null)/../shared/data"; do
    if [ -d "$candidate" ]; then GRIDWATCH_SHARED_DATA=$(cd "$candidate" && pwd); break; fi
  done
fi
export GRIDWATCH_SHARED_DATA=${GRIDWATCH_SHARED_DATA:-../shared/data}

# Real clients from PyPI, kept in a venv under target/: Schemathesis fuzzes the API against its
# OpenAPI document, openpyxl reads the XLSX bulletin, georeport is an Open311 client,
# prometheus_client parses /metrics.
venv=target/test-venv
if [ ! -x "$venv/bin/st" ] || ! "$venv/bin/python" -c "import openpyxl, georeport, prometheus_client" 2>/dev/null; then
  log "installing python test clients"
  python3 -m venv --help >/dev/null 2>&1 || need_package python3-venv
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check "schemathesis==4.32.5" "openpyxl==3.1.5" "georeport==0.3.1" "prometheus_client==0.21.1"
fi
export GRIDWATCH_SCHEMATHESIS=${GRIDWATCH_SCHEMATHESIS:-$PWD/$venv/bin/st}
export GRIDWATCH_PYTHON=${GRIDWATCH_PYTHON:-$PWD/$venv/bin/python}

# npm packages: playwright-core for the browser tests, pinned by its package-lock.json (the map's
# MapLibre GL JS is vendored in maps/web/vendor: building needs no npm).
for dir in tests/browser; do
  if [ ! -d "$dir/node_modules" ]; then
    log "installing npm packages in $dir"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  fi
done

# s3s-fs: an S3-compatible server (it checks every request's Signature V4 and keeps each object as
# a file) for the evidence-storage test. MinIO is in none of the registries these machines reach.
if [ ! -x target/tools/bin/s3s-fs ]; then
  log "installing s3s-fs (an S3-compatible server) into target/tools"
  cargo install s3s-fs@0.14.1 --features binary --locked --quiet --root target/tools --target-dir target
fi
export GRIDWATCH_S3S_FS=${GRIDWATCH_S3S_FS:-$PWD/target/tools/bin/s3s-fs}

log "checking formatting and lints"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings

log "building"
cargo build --workspace --all-targets --locked

log "testing (PostGIS at $GRIDWATCH_TEST_POSTGRES_URL and embedded SQLite)"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --locked --no-fail-fast
  cargo test --workspace --locked --doc
else
  cargo test --workspace --locked --no-fail-fast
fi
