#!/usr/bin/env bash
# Vector-tile throughput, side by side: gridwatch (tiles from its in-memory index) and Martin
# (the Rust tile server, ST_AsMVT in PostGIS) serving the same leaf grids of the same PostGIS
# database, for every tile of the city from zoom 12 to 17. Also gridwatch's points and problems
# layers at city scale (5,000 assessment points, 100,000 problems).
#   bash bench/tiles.sh [SECONDS]
# Needs PostgreSQL with PostGIS on 127.0.0.1:5432 (scripts/test.sh sets it up); installs wrk from
# Debian and builds Martin 1.14 from crates.io (without its web UI) into target/bench-tools.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-10}
pg=${GRIDWATCH_BENCH_POSTGRES:-postgres://postgres@127.0.0.1:5432}
db=gridwatch_bench_tiles
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

command -v bc >/dev/null || { apt-get install -y -qq bc >/dev/null || sudo apt-get install -y -qq bc >/dev/null; }
command -v wrk >/dev/null || { apt-get install -y -qq wrk >/dev/null || sudo apt-get install -y -qq wrk >/dev/null; }
martin=target/bench-tools/bin/martin
if [ ! -x "$martin" ]; then
  echo "building Martin 1.14.0 (postgres only, no web UI) — once, several minutes"
  cargo install --locked martin --version 1.14.0 --no-default-features --features postgres --root target/bench-tools
fi
cargo build --release -p gridwatch --locked >/dev/null 2>&1 || cargo build --release -p gridwatch --locked

psql -q "$pg/postgres" -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null
url="$pg/$db"

# gridwatch on PostGIS with the demo city (1,287 unit grids under 187 streets and communities).
GRIDWATCH_LOG=warn target/release/gridwatch serve --demo --database-url "$url" --listen 127.0.0.1:0 \
  --rate-limit-per-token 100000000 --rate-limit-per-ip 100000000 > "$work/gridwatch.out" &
pids+=($!)
for _ in $(seq 1 60); do grep -q "listening on" "$work/gridwatch.out" && break; sleep 1; done
gw=$(grep -o 'http://[0-9.:]*' "$work/gridwatch.out" | head -1)
token=$(awk '/demo token admin/ {print $NF}' "$work/gridwatch.out")

# City scale for the other layers: 5,000 assessment points and 100,000 problems in the district.
psql -q "$url" >/dev/null <<'SQL'
INSERT INTO assessment_points (code, name, kind, geom, min_lon, min_lat, max_lon, max_lat, created_at, updated_at)
SELECT 'B' || i, '测评点 ' || i, 'market', ST_SetSRID(ST_MakePoint(x, y), 4326), x, y, x, y, now(), now()
FROM (SELECT i, 116.37 + random() * 0.08 AS x, 39.86 + random() * 0.11 AS y FROM generate_series(1, 5000) i) p;
INSERT INTO problems (geom, category, description, source, status, created_at, grid_code)
SELECT ST_SetSRID(ST_MakePoint(116.37 + random() * 0.08, 39.86 + random() * 0.11), 4326), 'E01001', '', 'officer',
       (ARRAY['reported','dispatched','handled','closed'])[1 + (i % 4)], now() - (i || ' minutes')::interval, NULL
FROM generate_series(1, 100000) i;
-- Martin's source: the same leaf grids gridwatch indexes, with a GiST index.
CREATE TABLE bench_leaf_grids AS
  SELECT code, name, geom FROM grids g
  WHERE valid_to IS NULL AND NOT EXISTS (SELECT 1 FROM grids c WHERE c.parent_code = g.code AND c.valid_to IS NULL);
CREATE INDEX ON bench_leaf_grids USING GIST (geom);
ANALYZE;
SQL

cat > "$work/martin.yaml" <<YAML
listen_addresses: 127.0.0.1:8802
postgres:
  connection_string: $url
  auto_publish: false
  tables:
    grids:
      schema: public
      table: bench_leaf_grids
      srid: 4326
      geometry_column: geom
      geometry_type: MULTIPOLYGON
      properties:
        code: text
        name: text
YAML
RUST_LOG=warn "$martin" --config "$work/martin.yaml" > "$work/martin.out" 2>&1 &
pids+=($!)
for _ in $(seq 1 60); do curl -sf http://127.0.0.1:8802/health >/dev/null && break; sleep 1; done

# Every tile over the district, zoom 12 to 17.
python3 - "$work/tiles.txt" <<'PY'
import math, sys
def tile(lon, lat, z):
    n = 2 ** z; r = math.radians(lat)
    return int((lon + 180) / 360 * n), int((1 - math.log(math.tan(r) + 1 / math.cos(r)) / math.pi) / 2 * n)
with open(sys.argv[1], "w") as out:
    for z in range(12, 18):
        (x0, y0), (x1, y1) = tile(116.37, 39.97, z), tile(116.45, 39.86, z)
        for x in range(x0, x1 + 1):
            for y in range(y0, y1 + 1):
                out.write(f"{z}/{x}/{y}\n")
PY
tiles=$(wc -l < "$work/tiles.txt")

# Sustained: wrk cycles through the list (each thread its share) for the given time.
cat > "$work/walk.lua" <<'LUA'
local tiles, prefix, suffix, token = {}, os.getenv("PREFIX"), os.getenv("SUFFIX"), os.getenv("TOKEN")
for line in io.lines(os.getenv("TILES")) do tiles[#tiles + 1] = line end
local counter, threads = 1, {}
function setup(thread) thread:set("id", counter); counter = counter + 1; table.insert(threads, thread) end
function init(args)
  i, step, errors = id, #threads, 0
  if token ~= "" then wrk.headers["Authorization"] = "Bearer " .. token end
end
function request()
  if i > #tiles then i = id end
  local path = prefix .. tiles[i] .. suffix
  i = i + step
  return wrk.format("GET", path)
end
function response(status) if status ~= 200 and status ~= 204 then errors = errors + 1 end end
function done(summary) local e = 0; for _, t in ipairs(threads) do e = e + t:get("errors") end
  io.write(string.format("non-200 answers: %d\n", e)) end
LUA

sustained() { # name base prefix suffix token
  local out
  out=$(TILES="$work/tiles.txt" PREFIX="$3" SUFFIX="$4" TOKEN="$5" wrk -t 2 -c 16 -d "${seconds}s" -s "$work/walk.lua" "$2" 2>&1)
  printf '%-36s %9.0f tiles/s   p50 %8s   %s\n' "$1" "$(awk '/Requests\/sec/ {print $2}' <<<"$out")" \
    "$(awk '/Latency/ {print $2; exit}' <<<"$out")" "$(grep 'non-200' <<<"$out")"
}

# Cold: every tile exactly once, 16 at a time over keep-alive connections (one curl process), on
# servers whose tile caches are still empty.
cold() { # name base prefix suffix token
  awk -v base="$2$3" -v suffix="$4" '{print "url = \"" base $1 suffix "\"\noutput = \"/dev/null\""}' "$work/tiles.txt" > "$work/cold.cfg"
  local start end codes
  start=$(date +%s.%N)
  codes=$(curl -s --no-progress-meter --parallel --parallel-max 16 -K "$work/cold.cfg" ${5:+-H "Authorization: Bearer $5"} -w "%{http_code}\n" 2>/dev/null | sort | uniq -c | tr -s ' ' | tr '\n' ' ')
  end=$(date +%s.%N)
  printf '%-36s %9.0f tiles/s   (%s tiles in %.2f s; answers: %s)\n' "$1" "$(echo "$tiles / ($end - $start)" | bc -l)" \
    "$tiles" "$(echo "$end - $start" | bc -l)" "$codes"
}

echo "tiles over Dongcheng, zoom 12–17: $tiles; loopback; both servers and the client share this machine's $(nproc) cores"
echo "== cold: each tile once, empty caches (gridwatch cuts tiles from memory; Martin asks PostGIS for each)"
cold "gridwatch /tiles/grids" "$gw" /tiles/grids/ .mvt "$token"
cold "martin grids (PostGIS ST_AsMVT)" http://127.0.0.1:8802 /grids/ "" ""
echo "== sustained: the list again and again for ${seconds}s, wrk -t 2 -c 16 (both servers' caches warm)"
sustained "gridwatch /tiles/grids" "$gw" /tiles/grids/ .mvt "$token"
sustained "martin grids (PostGIS ST_AsMVT)" http://127.0.0.1:8802 /grids/ "" ""
echo "== gridwatch at city scale: 5,000 points and 100,000 problems"
# The first points or problems tile loads both layers from the store (timed here, once).
start=$(date +%s.%N)
curl -sf -H "Authorization: Bearer $token" "$gw/tiles/problems/0/0/0.mvt" -o /dev/null
printf '%-36s %.2f s\n' "loading points and problems" "$(echo "$(date +%s.%N) - $start" | bc -l)"
cold "gridwatch /tiles/points" "$gw" /tiles/points/ .mvt "$token"
cold "gridwatch /tiles/problems" "$gw" /tiles/problems/ .mvt "$token"
sustained "gridwatch /tiles/problems" "$gw" /tiles/problems/ .mvt "$token"
for z in 12 14 16; do
  t=$(grep "^$z/" "$work/tiles.txt" | awk 'NR==int(NR/2)+1 || NR==1' | tail -1)
  printf 'problems tile %-14s %8d bytes\n' "$z/$t" "$(curl -s -H "Authorization: Bearer $token" "$gw/tiles/problems/$t.mvt" | wc -c)"
done

# The map in a browser at this scale (the admin sees all 100,000 problems).
if [ -x /usr/bin/chromium ] && [ -d tests/browser/node_modules ]; then
  echo "== the web map in headless Chromium (software WebGL) over this city"
  node bench/map-draw.mjs "$gw" "$token"
fi

# The same grids? Decode a sample of tiles from both servers with GDAL and compare grid codes.
same=0; sampled=0
for t in $(awk 'NR % 37 == 1' "$work/tiles.txt"); do
  IFS=/ read -r z x y <<<"$t"
  curl -s -H "Authorization: Bearer $token" "$gw/tiles/grids/$t.mvt" -o "$work/a.mvt"
  curl -s "http://127.0.0.1:8802/grids/$t" -o "$work/b.mvt"
  codes() { [ -s "$1" ] && ogrinfo -ro -al -q -geom=NO -oo Z="$z" -oo X="$x" -oo Y="$y" "$1" 2>/dev/null | awk -F' = ' '/ code \(String\)/ {print $2}' | sort -u; }
  sampled=$((sampled + 1))
  [ "$(codes "$work/a.mvt")" = "$(codes "$work/b.mvt")" ] && same=$((same + 1))
done
echo "grid codes identical in $same of $sampled sampled tiles (GDAL decodes both)"
