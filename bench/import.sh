#!/usr/bin/env bash
# GeoJSON point import: `gridwatch import points` into SQLite and into PostGIS, side by side
# with GDAL's ogr2ogr loading the same file into the same two databases (no checks, no
# routing, no upsert: the raw load a GIS would do). Every gridwatch point is validated, placed
# in its grid (3,231 US counties as grids) and upserted by code in one transaction.
# usage: bench/import.sh [POINTS]   (default 1,000,000)
# Two builds side by side (before and after a change), in one run:
#   GRIDWATCH_BENCH_BINARIES="before=/tmp/gridwatch-old after=target/release/gridwatch" bash bench/import.sh
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000000}
out=target/bench-import
url=${GRIDWATCH_BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}
command -v psql >/dev/null && command -v ogr2ogr >/dev/null || { echo "needs psql, PostGIS and gdal-bin (scripts/test.sh installs them)"; exit 1; }
data=${GRIDWATCH_SHARED_DATA:-../shared/data}
mkdir -p "$out"
binaries=${GRIDWATCH_BENCH_BINARIES:-}
if [ -z "$binaries" ]; then
  cargo build -q --release --locked -p gridwatch
  binaries="gridwatch=target/release/gridwatch"
fi

# A seeded city of points over the counties' box, with the attributes points carry.
python3 - "$n" "$out/points.geojson" <<'PY'
import json, random, sys
n, path = int(sys.argv[1]), sys.argv[2]
rnd = random.Random(7)
kinds = ["market", "back_street", "public_toilet", "old_compound"]
with open(path, "w") as f:
    f.write('{"type":"FeatureCollection","features":[\n')
    for i in range(n):
        lon, lat = rnd.uniform(-124.0, -67.0), rnd.uniform(25.0, 49.0)
        f.write(("," if i else "") + json.dumps({"type": "Feature", "properties": {
            "code": f"P{i:07d}", "name": f"点位 {i}", "type": kinds[i % 4], "required_per_week": 1 + i % 3},
            "geometry": {"type": "Point", "coordinates": [round(lon, 6), round(lat, 6)]}}, ensure_ascii=False) + "\n")
    f.write("]}\n")
PY
size=$(du -m "$out/points.geojson" | cut -f1)

seconds() { local s; s=$(date +%s.%N); "$@" >/dev/null; echo "$(date +%s.%N) - $s" | bc; }
peak_rss() { /usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -1; }

db=gw_bench_import
dburl="${url%/*}/$db"
rows=()
for entry in $binaries; do
  label=${entry%%=*}
  gw=${entry#*=}
  rm -f "$out"/gw.db*
  GRIDWATCH_DATABASE_URL="sqlite://$out/gw.db" $gw import grids --map code=id --level district --repair "$data/us-counties.geojson" >/dev/null
  gw_sqlite=$(GRIDWATCH_DATABASE_URL="sqlite://$out/gw.db" seconds $gw import points "$out/points.geojson")
  gw_sqlite_again=$(GRIDWATCH_DATABASE_URL="sqlite://$out/gw.db" seconds $gw import points "$out/points.geojson")
  psql "$url" -qAt -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null
  GRIDWATCH_DATABASE_URL="$dburl" $gw import grids --map code=id --level district --repair "$data/us-counties.geojson" >/dev/null
  gw_pg=$(GRIDWATCH_DATABASE_URL="$dburl" seconds $gw import points "$out/points.geojson")
  rss=$(rm -f "$out"/rss.db*; GRIDWATCH_DATABASE_URL="sqlite://$out/rss.db" peak_rss $gw import points "$out/points.geojson")
  rows+=("$label import points → SQLite|$gw_sqlite" "$label re-import (all unchanged) → SQLite|$gw_sqlite_again" \
    "$label import points → PostGIS|$gw_pg" "$label peak RSS importing into SQLite (MB)|$((rss / 1024))")
done

rm -f "$out/ogr.sqlite"
ogr_sqlite=$(seconds ogr2ogr -f SQLite "$out/ogr.sqlite" "$out/points.geojson" -nln points -gt 65536)
ogr_pg=$(seconds ogr2ogr -f PostgreSQL "PG:dbname=$db host=127.0.0.1 user=postgres" "$out/points.geojson" -nln ogr_points -gt 65536 -lco SPATIAL_INDEX=NONE)
psql "$url" -qAt -c "DROP DATABASE $db" >/dev/null

rate() { echo "$n / $1" | bc; }
printf '\n%d point features, %d MB of GeoJSON\n' "$n" "$size"
printf '%-52s %9s %14s\n' "" "seconds" "features/s"
for row in "${rows[@]}"; do
  what=${row%%|*}
  value=${row#*|}
  case $what in
    *RSS*) printf '%-52s %9s\n' "$what" "$value" ;;
    *) printf '%-52s %9.2f %14s\n' "$what" "$value" "$(rate "$value")" ;;
  esac
done
printf '%-52s %9.2f %14s\n' "ogr2ogr → SQLite (raw load)" "$ogr_sqlite" "$(rate "$ogr_sqlite")"
printf '%-52s %9.2f %14s\n' "ogr2ogr → PostGIS (raw load, no index)" "$ogr_pg" "$(rate "$ogr_pg")"
