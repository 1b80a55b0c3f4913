#!/usr/bin/env bash
# Weekly coverage from the store, end to end: a city week of GPS tracks (coverage_week's
# generator: POINTS assessment points, OFFICERS officers × 5 days × 8 h, a fix every 15 s —
# 48 million fixes by default) loaded into an embedded SQLite store, one batch per officer-day
# as the API stores them, then `gridwatch coverage --week 2026-W47` timed with its peak memory
# (/usr/bin/time). Beside it in the same run, PostGIS answers the same question for the first
# SUBSET officers (the whole week would take it hours) — ST_DWithin on geography with a GiST
# index, parallel workers off — and gridwatch is timed on a store of that same subset, so the
# ratio is like for like; the two answers (point, days visited) are compared.
#   bash bench/coverage-store.sh [POINTS] [OFFICERS] [SUBSET]      # default 100000 5000 250
set -euo pipefail
cd "$(dirname "$0")/.."
points=${1:-100000}
officers=${2:-5000}
subset=${3:-250}
url=${GRIDWATCH_BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}
command -v psql >/dev/null || { echo "needs psql and PostGIS (scripts/test.sh installs them)"; exit 1; }
cargo build -q --release --locked -p spatial --example coverage_week
cargo build -q --release --locked -p gridwatch --bins --example load_tracks
work=$(mktemp -d)
db=gw_bench_coverage_store
trap 'rm -rf "$work"; psql "$url" -qAt -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true' EXIT
target/release/examples/coverage_week "$points" "$officers" "$subset" "$work" store >/dev/null
gw=target/release/gridwatch
for label in full subset; do
  store="sqlite://$work/$label.db"
  GRIDWATCH_LOG=warn $gw migrate --database-url "$store" >/dev/null
  GRIDWATCH_LOG=warn $gw import points --database-url "$store" "$work/points.geojson" >/dev/null
  limit=$([ "$label" = subset ] && echo "$subset" || echo "")
  echo "$label: $(target/release/examples/load_tracks "$store" "$work/chunks.bin" $limit)"
  GRIDWATCH_LOG=warn /usr/bin/time -f "%e %M" -o "$work/$label.time" \
    $gw coverage --week 2026-W47 --format csv --out "$work/$label.csv" --database-url "$store"
  read -r seconds kb < "$work/$label.time"
  printf '%s: gridwatch coverage from the store: %.2f s, peak %d MiB\n' "$label" "$seconds" $((kb / 1024))
done

psql "$url" -qAt -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null
dburl="${url%/*}/$db"
psql "$dburl" -v ON_ERROR_STOP=1 -qAt >/dev/null <<SQL
CREATE EXTENSION postgis;
CREATE TABLE pts (id int, wkt text);
\copy pts FROM '$work/points.csv'
ALTER TABLE pts ADD COLUMN g geography;
UPDATE pts SET g = ST_GeogFromText('SRID=4326;' || wkt);
CREATE INDEX ON pts USING gist (g);
CREATE TABLE fixes (t bigint, lon double precision, lat double precision);
\copy fixes FROM '$work/fixes.csv'
ANALYZE;
SQL
start=$(date +%s.%N)
psql "$dburl" -v ON_ERROR_STOP=1 -qAt -c "SET max_parallel_workers_per_gather = 0" -c "
  SELECT 'P' || p.id || '|' || count(DISTINCT (f.t - 1794758400) / 86400)
  FROM fixes f JOIN pts p ON ST_DWithin(p.g, ST_SetSRID(ST_MakePoint(f.lon, f.lat), 4326)::geography, 30)
  WHERE f.t >= 1794758400 AND f.t < 1794758400 + 7 * 86400
  GROUP BY p.id" | sort > "$work/postgis.sorted"
postgis=$(echo "$(date +%s.%N) - $start" | bc)
# Ours: code|visits of every visited point (CSV columns week,code,…,visits (9th),…; names hold no commas).
awk -F, 'NR > 1 && $9 > 0 {print $2 "|" $9}' "$work/subset.csv" | sort > "$work/ours.sorted"
read -r ours_subset _ < "$work/subset.time"
read -r ours_full kb_full < "$work/full.time"
printf 'PostGIS 3 ST_DWithin, subset (%d officers): %.2f s; gridwatch on the same subset %.2f s: %.0fx\n' \
  "$subset" "$postgis" "$ours_subset" "$(echo "$postgis / $ours_subset" | bc -l)"
printf 'PostGIS extrapolated to all %d officers: %.0f s; gridwatch %.2f s (peak %d MiB): %.0fx\n' "$officers" \
  "$(echo "$postgis * $officers / $subset" | bc -l)" "$ours_full" $((kb_full / 1024)) \
  "$(echo "$postgis * $officers / $subset / $ours_full" | bc -l)"
echo "answers (point|days visited) differing between the engines: $(comm -3 "$work/postgis.sorted" "$work/ours.sorted" | wc -l) of $(wc -l < "$work/postgis.sorted") PostGIS rows"
