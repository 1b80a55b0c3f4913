#!/usr/bin/env bash
# Memory of a big city served from the embedded SQLite file: a generated city of GRIDS grids
# (bench/assign_peers.py's generator), POINTS assessment points and PROBLEMS problems imported
# with the CLI, then `gridwatch serve` with its in-memory indexes and tile layers built. Prints
# the server's resident memory (VmRSS) and its peak (VmHWM).
#   bash bench/memory.sh [GRIDS] [POINTS] [PROBLEMS]      # default 50000 200000 1000000
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
grids=${1:-50000}
points=${2:-200000}
problems=${3:-1000000}
venv=target/bench-venv
if ! "$venv/bin/python" -c "import shapely" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check "shapely==2.2.0" "numpy"
fi
cargo build -q --release --locked -p gridwatch
# GRIDWATCH_BENCH_KEEP=DIR keeps the generated city in DIR and reuses it on the next run.
keep=${GRIDWATCH_BENCH_KEEP:-}
work=${keep:-$(mktemp -d)}
mkdir -p "$work"
server=""
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; [ -n "$keep" ] || rm -rf "$work"' EXIT
db="sqlite://$work/city.db"
timed() { local label=$1; shift; local t0=$SECONDS; GRIDWATCH_LOG=warn "$@" >/dev/null; echo "$label: $((SECONDS - t0)) s"; }
if [ ! -f "$work/imported" ]; then
rm -f "$work/city.db"*
(cd bench && "$root/$venv/bin/python" - "$work" "$grids" "$points" "$problems" "${GRIDWATCH_SHARED_DATA:-$root/../shared/data}" <<'PY'
import json, sys
import numpy as np
import shapely
import assign_peers as a
work, n, m, k, shared = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
grids, envelope = a.generated_city(n, 2026, shared)
features = [{"type": "Feature", "properties": {"code": code, "level": "grid"}, "geometry": shapely.geometry.mapping(g)} for code, g in grids]
json.dump({"type": "FeatureCollection", "features": features}, open(f"{work}/grids.geojson", "w"))
rng = np.random.default_rng(7)
minx, miny, maxx, maxy = envelope.bounds
kinds = ["market", "back_street", "public_toilet", "bus_stop", "old_compound"]
with open(f"{work}/points.csv", "w") as f:
    f.write("code,name,type,lon,lat\n")
    for i in range(m):
        f.write(f"P{i:07d},点位{i},{kinds[i % 5]},{rng.uniform(minx, maxx)!r},{rng.uniform(miny, maxy)!r}\n")
with open(f"{work}/problems.csv", "w") as f:
    f.write("code,category,description,source,reported_at,lon,lat\n")
    for i in range(k):
        f.write(f"Q{i:08d},C01001,bench,citizen,2026-11-{1 + i % 28:02d} 09:00,{rng.uniform(minx, maxx)!r},{rng.uniform(miny, maxy)!r}\n")
PY
)
timed "import $grids grids" target/release/gridwatch import grids --database-url "$db" "$work/grids.geojson"
timed "import $points points" target/release/gridwatch import points --database-url "$db" --skip-invalid "$work/points.csv"
timed "import $problems problems" target/release/gridwatch import problems --database-url "$db" --skip-invalid "$work/problems.csv"
target/release/gridwatch user add bench --role admin --scope '*' --database-url "$db" >/dev/null
touch "$work/imported"
fi
GRIDWATCH_LOG=warn target/release/gridwatch serve --database-url "$db" --listen 127.0.0.1:18090 > "$work/serve.log" 2>&1 &
server=$!
for _ in $(seq 1 600); do grep -q "listening on" "$work/serve.log" && break; sleep 0.5; done
echo "serving, grid index built: $(grep VmRSS "/proc/$server/status" | tr -s ' ')"
# The server builds the in-memory point and problem layers at start; ask for one tile of each
# (a request waits at most 30 s, so the first may answer 503 while a big city's layers build).
token=$(target/release/gridwatch token create bench --database-url "$db" 2>/dev/null | tail -n 1)
t0=$SECONDS
for layer in grids points problems; do
  for attempt in 1 2 3 4; do
    code=$(curl -s -o /dev/null -m 120 -w "%{http_code}" -H "Authorization: Bearer $token" \
      "http://127.0.0.1:18090/tiles/$layer/12/3375/1545.mvt")
    [ "$code" = 200 ] && break
  done
  echo "tile $layer: HTTP $code, $((SECONDS - t0)) s after start"
done
# The escalation scheduler walks every open case on start: watch it settle for 30 s.
for t in $(seq 2 2 30); do
  sleep 2
  printf "t+%2d s  %s\n" "$t" "$(grep VmRSS "/proc/$server/status" | tr -s ' ')"
done
grep -E "VmRSS|VmHWM" "/proc/$server/status"
hwm_kb=$(awk '/VmHWM/ {print $2}' "/proc/$server/status")
printf "peak RSS %d MiB (target < 1024 MiB): %s\n" $((hwm_kb / 1024)) "$([ "$hwm_kb" -lt 1048576 ] && echo met || echo NOT met)"
