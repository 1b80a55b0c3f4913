#!/usr/bin/env bash
# Exact assignment side by side, one core each, every answer checked against PostGIS:
# gridwatch (its locator in memory, and `gridwatch assign` with CSV in and out), PostGIS
# (GiST, LATERAL ST_Covers), GeoPandas (sjoin covered_by) and DuckDB (spatial join ST_Covers).
#   bash bench/assign-peers.sh                    # generated city: 1,200 grids, 200,000 points
#   bash bench/assign-peers.sh --grids 50000 --points 1000000
#   bash bench/assign-peers.sh --city counties    # the 3,231 US counties from shared/data
# Installs what it needs: PostGIS from Debian (and starts PostgreSQL), the Python peers from
# PyPI into target/bench-venv. Exits non-zero when gridwatch disagrees with PostGIS.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

if ! dpkg-query -W -f='${Status}' postgresql-15-postgis-3 2>/dev/null | grep -q "install ok installed"; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15-postgis-3 >/dev/null
fi
pg_isready -q -h 127.0.0.1 || pg_ctlcluster --skip-systemctl-redirect 15 main start
url=${GRIDWATCH_BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}
psql "$url" -qAtc "DROP DATABASE IF EXISTS gw_bench_assign" && psql "$url" -qAtc "CREATE DATABASE gw_bench_assign"
bench_url="${url%/*}/gw_bench_assign"

venv=target/bench-venv
if ! "$venv/bin/python" -c "import geopandas, duckdb" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check "geopandas==1.2.0" "shapely==2.2.0" "duckdb==1.4.4" \
    "duckdb-ext-spatial==1.4.4.20260205"
fi
extension=$(find "$venv" -name spatial.duckdb_extension | head -n 1)

cargo build -q --release --locked -p gridwatch --bin gridwatch --example locate_kernel
work=$(mktemp -d)
trap 'rm -rf "$work"; psql "$url" -qAtc "DROP DATABASE IF EXISTS gw_bench_assign" >/dev/null 2>&1 || true' EXIT
"$venv/bin/python" bench/assign_peers.py "$work" "$root/target/release/gridwatch" \
  "$root/target/release/examples/locate_kernel" "$bench_url" --duckdb-extension "$extension" \
  --shared "${GRIDWATCH_SHARED_DATA:-$root/../shared/data}" "$@"
