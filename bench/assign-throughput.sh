#!/usr/bin/env bash
# Throughput of `gridwatch assign` on the real US-county tiling (3,231 polygons) with a million
# seeded points over the lower 48. Prints points per second for one thread and for all cores.
#   bash bench/assign-throughput.sh [POINTS]
set -euo pipefail
cd "$(dirname "$0")/.."
points=${1:-1000000}
data=../shared/data/us-counties.geojson
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cargo build --release -p gridwatch --locked >/dev/null 2>&1 || cargo build --release -p gridwatch --locked
python3 - "$data" "$work" "$points" <<'PY'
import json, random, sys
src, work, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
fc = json.load(open(src))
for f in fc["features"]:
    f["properties"] = {"code": f["properties"]["id"]}
json.dump(fc, open(f"{work}/grids.geojson", "w"))
rng = random.Random(2026)
with open(f"{work}/points.csv", "w") as out:
    out.write("id,lon,lat\n")
    for i in range(n):
        out.write(f"{i},{-125 + rng.random() * 58:.7f},{24 + rng.random() * 25:.7f}\n")
PY
echo "gridwatch assign: $(wc -l < "$work/points.csv") points (minus header) against $data"
for threads in 1 "$(nproc)"; do
  printf 'threads=%s: ' "$threads"
  GRIDWATCH_LOG=warn target/release/gridwatch assign --grids "$work/grids.geojson" --points "$work/points.csv" \
    --out "$work/out.csv" --threads "$threads" 2>&1 | tail -n 1
done
