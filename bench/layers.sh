#!/usr/bin/env bash
# The map layers of a city with a million cases. First loaded at start: `gridwatch serve` on an
# embedded SQLite file of CASES cases (default 1,000,000), timed from launch to its log line
# "map layers read whole" (before 2026-12-06: "tile layers rebuilt"), beside Python's sqlite3
# reading the same columns in the same run (the floor: one query, tuples, no decoding into
# cases). Then kept up to date under intake: bench/live_tiles.py posts RATE reports a second
# (default 100) for SECONDS (default 20) and times each one's commit to the first tile drawing it.
#   bash bench/layers.sh [CASES] [RATE] [SECONDS]
# Two builds side by side (before and after a change), on the same file:
#   GRIDWATCH_BENCH_BINARIES="before=/tmp/gridwatch-old after=target/release/gridwatch" bash bench/layers.sh
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000000}
rate=${2:-100}
seconds=${3:-20}
binaries=${GRIDWATCH_BENCH_BINARIES:-}
if [ -z "$binaries" ]; then
  cargo build -q --release --locked -p gridwatch
  binaries="gridwatch=target/release/gridwatch"
fi
work=$(mktemp -d)
server=""
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$work"' EXIT
db="$work/city.db"
first=${binaries%% *}
GRIDWATCH_LOG=warn "${first#*=}" migrate --database-url "sqlite://$db"

# Cases spread over Dongcheng, in every state, each with a category, a deadline and a colour:
# what the map layers and the escalation pass read. Written by SQLite itself (seconds).
# Dispatched an hour ago with a month to go, so their stored colour (none) is already right:
# the escalation pass at start finds nothing to change, as in a city that has been running.
python3 - "$db" "$n" <<'PY'
import datetime, sqlite3, sys
db, n = sys.argv[1], int(sys.argv[2])
now = datetime.datetime.now(datetime.timezone.utc)
dispatched = (now - datetime.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
deadline = (now + datetime.timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
c = sqlite3.connect(db)
c.execute("""
WITH RECURSIVE i(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM i WHERE k < ?)
INSERT INTO problems (lon, lat, category, description, source, grid_code, grid_version, responsible_unit,
  status, created_at, reported_by, category_name, kind, department, severity, time_limit, limit_unit,
  dispatched_at, deadline, colour)
SELECT 116.38 + (abs(random()) % 60000) / 1e6, 39.87 + (abs(random()) % 80000) / 1e6,
  'garbage_overflow', 'overflowing bin ' || k, 'officer', '1101010010' || (k % 90), 1, 'unit ' || (k % 40),
  CASE k % 5 WHEN 0 THEN 'closed' WHEN 1 THEN 'reported' WHEN 2 THEN 'dispatched' WHEN 3 THEN 'handled' ELSE 'accepted' END,
  '2026-11-' || printf('%02d', 1 + k % 28) || 'T08:00:00Z', 'officer' || (k % 300), '垃圾满溢', 'event', 'sanitation',
  'none', 30, 'natural_days', ?, ?, 'none'
FROM i
""", (n, dispatched, deadline))
c.commit()
PY
echo "cases: $n"

t0=$(date +%s.%N)
python3 - "$db" <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
rows = c.execute("SELECT id, lon, lat, status, category, category_name, grid_code, responsible_unit, reported_by, "
                 "severity, limit_unit, dispatched_at, deadline, reworks FROM problems ORDER BY id").fetchall()
assert len(rows) > 0
PY
printf '%-28s %6.1f s\n' "python sqlite3, one query" "$(echo "$(date +%s.%N) - $t0" | bc)"

# One grid over the cases, and a token, for the reports of the second part.
cat > "$work/area.geojson" <<'JSON'
{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"code": "BENCH", "name": "bench", "level": "grid"},
 "geometry": {"type": "Polygon", "coordinates": [[[116.37, 39.86], [116.45, 39.86], [116.45, 39.96], [116.37, 39.96], [116.37, 39.86]]]}}]}
JSON
GRIDWATCH_LOG=warn "${first#*=}" import grids --database-url "sqlite://$db" "$work/area.geojson" >/dev/null
GRIDWATCH_LOG=warn "${first#*=}" user add bench --role admin --scope '*' --database-url "sqlite://$db" >/dev/null
token=$(GRIDWATCH_LOG=warn "${first#*=}" token create bench --database-url "sqlite://$db" | tail -n 1)

port=18480
for entry in $binaries; do
  label=${entry%%=*}
  bin=${entry#*=}
  log="$work/$label.log"
  # A build's own migrations (a new index on a million cases) are done before the clock starts.
  GRIDWATCH_LOG=warn "$bin" migrate --database-url "sqlite://$db" >/dev/null
  t0=$(date +%s.%N)
  GRIDWATCH_LOG=info "$bin" serve --database-url "sqlite://$db" --listen "127.0.0.1:$port" \
    --rate-limit-per-token 100000000 --rate-limit-per-ip 100000000 >"$log" 2>&1 &
  server=$!
  until grep -qE "map layers read whole|tile layers rebuilt" "$log"; do
    kill -0 "$server" 2>/dev/null || { echo "$label exited:"; tail -5 "$log"; exit 1; }
    if grep -q "building the tile layers at start failed" "$log"; then echo "$label:"; tail -3 "$log"; exit 1; fi
    sleep 0.1
  done
  elapsed=$(echo "$(date +%s.%N) - $t0" | bc)
  printf '%-28s %6.1f s\n' "$label: serve to layers built" "$elapsed"
  printf '%s: ' "$label"
  python3 bench/live_tiles.py "http://127.0.0.1:$port" "$token" "$rate" "$seconds"
  metrics=$(curl -s -H "Authorization: Bearer $token" "http://127.0.0.1:$port/metrics" | grep -E "^gridwatch_map_layer" || true)
  echo "$label: ${metrics:-(no map layer counters in this build)}" | tr '\n' ' '
  echo
  kill "$server"
  wait "$server" 2>/dev/null || true
  server=""
  port=$((port + 1))
done
