#!/usr/bin/env bash
# Weekly coverage for a city week, gridwatch (spatial::coverage, one core) against PostGIS
# (ST_DWithin on geography with a GiST index, parallel workers off), same generated data,
# answers compared. usage: bench/coverage.sh [POINTS] [OFFICERS] [POSTGIS_OFFICERS]
# Defaults: 100,000 points, 5,000 officers × 5 days × 8 h at one fix per 15 s (48 million
# fixes); PostGIS gets the first 250 officers (2.4 million fixes) — the full week would take
# it hours — and gridwatch is timed on that same subset too, so the ratio is like for like.
set -euo pipefail
cd "$(dirname "$0")/.."
points=${1:-100000}
officers=${2:-5000}
subset=${3:-250}
out=target/bench-coverage
url=${GRIDWATCH_BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}
command -v psql >/dev/null || { echo "needs psql and PostGIS (scripts/test.sh installs them)"; exit 1; }
cargo build -q --release -p spatial --example coverage_week
target/release/examples/coverage_week "$points" "$officers" "$subset" "$out"

db=gw_bench_coverage
psql "$url" -qAt -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null
dburl="${url%/*}/$db"
psql "$dburl" -v ON_ERROR_STOP=1 -qAt >/dev/null <<SQL
CREATE EXTENSION postgis;
CREATE TABLE pts (id int, wkt text);
\copy pts FROM '$out/points.csv'
ALTER TABLE pts ADD COLUMN g geography;
UPDATE pts SET g = ST_GeogFromText('SRID=4326;' || wkt);
CREATE INDEX ON pts USING gist (g);
CREATE TABLE fixes (t bigint, lon double precision, lat double precision);
\copy fixes FROM '$out/fixes.csv'
ANALYZE;
SQL
start=$(date +%s.%N)
psql "$dburl" -v ON_ERROR_STOP=1 -qAt -c "SET max_parallel_workers_per_gather = 0" -c "
  SELECT p.id || '|' || count(DISTINCT (f.t - 1794758400) / 86400)
  FROM fixes f JOIN pts p ON ST_DWithin(p.g, ST_SetSRID(ST_MakePoint(f.lon, f.lat), 4326)::geography, 30)
  WHERE f.t >= 1794758400 AND f.t < 1794758400 + 7 * 86400
  GROUP BY p.id ORDER BY p.id" > "$out/postgis.csv"
end=$(date +%s.%N)
psql "$url" -qAt -c "DROP DATABASE $db" >/dev/null
sort "$out/postgis.csv" > "$out/postgis.sorted"; sort "$out/ours.csv" > "$out/ours.sorted"
differ=$(comm -3 "$out/postgis.sorted" "$out/ours.sorted" | wc -l)
{ read -r ours_sub; read -r sub_fixes; read -r ours_full; read -r full_fixes; } < "$out/subset-seconds"
postgis=$(echo "$end - $start" | bc -l)
printf '\n%-28s %12s %12s %14s\n' "engine (one core)" "fixes" "seconds" "fixes/s"
printf '%-28s %12d %12.3f %14.0f\n' "gridwatch, full week" "$full_fixes" "$ours_full" "$(echo "$full_fixes / $ours_full" | bc -l)"
printf '%-28s %12d %12.3f %14.0f\n' "gridwatch, subset" "$sub_fixes" "$ours_sub" "$(echo "$sub_fixes / $ours_sub" | bc -l)"
printf '%-28s %12d %12.3f %14.0f\n' "PostGIS 3 ST_DWithin, subset" "$sub_fixes" "$postgis" "$(echo "$sub_fixes / $postgis" | bc -l)"
printf 'ratio on the subset: gridwatch is %.0fx faster; PostGIS extrapolated to the full week: %.0f s\n' \
  "$(echo "$postgis / $ours_sub" | bc -l)" "$(echo "$postgis * $full_fixes / $sub_fixes" | bc -l)"
echo "answers (point|days visited) differing between the engines: $differ of $(wc -l < "$out/postgis.sorted") PostGIS rows"
