"""Exact point-in-grid assignment, side by side: gridwatch, PostGIS, GeoPandas and DuckDB on the
same generated city (or the US counties), one core each, every answer checked against PostGIS.

Called by bench/assign-peers.sh, which builds gridwatch and installs the peers. The generated
city is seeded: Voronoi cells clipped to a real district boundary, their edges cut into short
pieces and bent by one smooth warp of the plane (shared edges stay shared), so that grids have
street-like boundaries of about 40 vertices. Points are uniform over the district's bounding
box, and one in a hundred sits exactly on a grid vertex, where the tie rule decides.

usage: python assign_peers.py WORKDIR GRIDWATCH_BIN KERNEL_BIN POSTGRES_URL [--grids N]
       [--points N] [--city generated|counties] [--seed S] [--shared DIR]
"""

import argparse
import json
import math
import os
import subprocess
import sys
import time

import numpy as np
import shapely
from shapely.geometry import MultiPoint, shape, mapping


def district_boundary(shared):
    """The largest Beijing district, made valid (the real file has self-intersections)."""
    fc = json.load(open(os.path.join(shared, "beijing-districts.geojson")))
    best = None
    for f in fc["features"]:
        g = shapely.make_valid(shape(f["geometry"]))
        parts = [p for p in getattr(g, "geoms", [g]) if p.geom_type == "Polygon"]
        for p in parts:
            if best is None or p.area > best.area:
                best = p
    return best


def generated_city(n, seed, shared):
    rng = np.random.default_rng(seed)
    district = district_boundary(shared)
    minx, miny, maxx, maxy = district.bounds
    seeds = []
    while len(seeds) < n:
        xs = rng.uniform(minx, maxx, n)
        ys = rng.uniform(miny, maxy, n)
        inside = shapely.contains_xy(district, xs, ys)
        seeds.extend(zip(xs[inside], ys[inside]))
    seeds = seeds[:n]
    cells = shapely.voronoi_polygons(MultiPoint(seeds), extend_to=district.envelope)
    size = math.sqrt(district.area / n)
    warp_amplitude = size * 0.08

    def warp(coords):
        x, y = coords[:, 0], coords[:, 1]
        dx = warp_amplitude * np.sin(y / size * 2.1 + 0.3) * np.cos(x / size * 1.3)
        dy = warp_amplitude * np.sin(x / size * 1.7 + 1.1) * np.cos(y / size * 0.9)
        return np.column_stack([x + dx, y + dy])

    grids = []
    for cell in cells.geoms:
        clipped = cell.intersection(district)
        if clipped.is_empty:
            continue
        # Cut edges into pieces: about 40 vertices around a typical cell.
        clipped = shapely.segmentize(clipped, size * 4 / 40)
        clipped = shapely.transform(clipped, warp)
        for part in getattr(clipped, "geoms", [clipped]):
            if part.geom_type == "Polygon" and part.area > 0:
                grids.append(part)
    grids.sort(key=lambda g: (round(g.centroid.y, 9), round(g.centroid.x, 9)))
    return [(f"110105{i:09d}", g) for i, g in enumerate(grids)], shapely.transform(district, warp).envelope


def counties(shared):
    fc = json.load(open(os.path.join(shared, "us-counties.geojson")))
    grids = [(str(f["properties"]["id"]), shape(f["geometry"])) for f in fc["features"]]
    grids.sort()
    envelope = shapely.box(-125, 24, -67, 49)
    return grids, envelope


def points_for(grids, envelope, m, seed):
    rng = np.random.default_rng(seed + 1)
    minx, miny, maxx, maxy = envelope.bounds
    xs = rng.uniform(minx, maxx, m)
    ys = rng.uniform(miny, maxy, m)
    # One in a hundred exactly on a vertex of some grid: the tie rule decides those.
    vertices = np.concatenate([shapely.get_coordinates(g) for _, g in grids])
    on = rng.choice(len(vertices), m // 100)
    xs[: m // 100] = vertices[on, 0]
    ys[: m // 100] = vertices[on, 1]
    return xs, ys


def write_inputs(work, grids, xs, ys):
    features = [{"type": "Feature", "properties": {"code": code}, "geometry": mapping(g)} for code, g in grids]
    with open(f"{work}/grids.geojson", "w") as f:
        json.dump({"type": "FeatureCollection", "features": features}, f)
    with open(f"{work}/grids.csv", "w") as f:
        for code, g in grids:
            f.write(f"{code}\tSRID=4326;{shapely.to_wkt(g, rounding_precision=-1)}\n")
    with open(f"{work}/points.csv", "w") as f:
        f.write("id,lon,lat\n")
        for i, (x, y) in enumerate(zip(xs.tolist(), ys.tolist())):
            f.write(f"{i},{x!r},{y!r}\n")


def read_answers(path, header=True):
    answers = {}
    with open(path) as f:
        if header:
            next(f)
        for line in f:
            pid, _, code = line.rstrip("\n").partition(",")
            answers[int(pid)] = code
    return answers


def timed(f):
    started = time.perf_counter()
    result = f()
    return time.perf_counter() - started, result


def run_postgis(work, url, m):
    def psql(sql, db=url):
        return subprocess.run(["psql", db, "-v", "ON_ERROR_STOP=1", "-qAtc", sql], check=True, capture_output=True, text=True).stdout

    psql("DROP TABLE IF EXISTS g, p, ans")
    psql("CREATE EXTENSION IF NOT EXISTS postgis")
    psql("CREATE TABLE g (code text, geom geometry(Geometry, 4326))")
    psql(f"\\copy g FROM '{work}/grids.csv'")
    psql("CREATE TABLE p (id int, lon float8, lat float8)")
    psql(f"\\copy p FROM '{work}/points.csv' CSV HEADER")
    psql("ALTER TABLE p ADD COLUMN geom geometry(Point, 4326); UPDATE p SET geom = ST_SetSRID(ST_MakePoint(lon, lat), 4326)")
    psql("CREATE INDEX ON g USING GIST (geom); CREATE INDEX ON p USING GIST (geom)")
    psql("VACUUM ANALYZE g")
    psql("VACUUM ANALYZE p")
    # One core, and the fastest shape of the query: grid-outer, points found through their index.
    query = (
        "SET max_parallel_workers_per_gather = 0; "
        "CREATE TABLE ans AS SELECT p.id, min(g.code) AS code FROM g CROSS JOIN LATERAL "
        "(SELECT id FROM p WHERE ST_Covers(g.geom, p.geom)) p GROUP BY p.id"
    )
    seconds, _ = timed(lambda: psql(query))
    psql(f"\\copy (SELECT id, code FROM ans ORDER BY id) TO '{work}/postgis.csv' CSV")
    return seconds, read_answers(f"{work}/postgis.csv", header=False)


def run_geopandas(grids, xs, ys):
    import geopandas as gpd
    import pandas as pd

    g = gpd.GeoDataFrame({"code": [c for c, _ in grids]}, geometry=[geom for _, geom in grids], crs=4326)
    p = gpd.GeoDataFrame({"id": np.arange(len(xs))}, geometry=gpd.points_from_xy(xs, ys), crs=4326)

    def join():
        joined = gpd.sjoin(p, g, predicate="covered_by", how="inner")
        return joined.groupby("id")["code"].min()

    seconds, best = timed(join)
    return seconds, {int(k): v for k, v in best.items()}


def run_duckdb(work, extension):
    import duckdb

    con = duckdb.connect(config={"allow_unsigned_extensions": "true", "threads": "1"})
    con.execute(f"LOAD '{extension}'")
    con.execute(
        f"CREATE TABLE g AS SELECT column0 AS code, ST_GeomFromText(split_part(column1, ';', 2)) AS geom "
        f"FROM read_csv('{work}/grids.csv', delim='\\t', header=false, columns={{'column0': 'VARCHAR', 'column1': 'VARCHAR'}})"
    )
    con.execute(f"CREATE TABLE p AS SELECT id, ST_Point(lon, lat) AS geom FROM read_csv('{work}/points.csv', header=true, columns={{'id': 'INTEGER', 'lon': 'DOUBLE', 'lat': 'DOUBLE'}})")
    seconds, rows = timed(
        lambda: con.execute("SELECT p.id, min(g.code) FROM p JOIN g ON ST_Covers(g.geom, p.geom) GROUP BY p.id").fetchall()
    )
    return seconds, {int(i): c for i, c in rows}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("work")
    ap.add_argument("gridwatch")
    ap.add_argument("kernel")
    ap.add_argument("postgres")
    ap.add_argument("--grids", type=int, default=1200)
    ap.add_argument("--points", type=int, default=200_000)
    ap.add_argument("--city", default="generated")
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--shared", default="../shared/data")
    ap.add_argument("--duckdb-extension", required=True)
    a = ap.parse_args()

    if a.city == "counties":
        grids, envelope = counties(a.shared)
    else:
        grids, envelope = generated_city(a.grids, a.seed, a.shared)
    xs, ys = points_for(grids, envelope, a.points, a.seed)
    write_inputs(a.work, grids, xs, ys)
    vertices = sum(len(shapely.get_coordinates(g)) for _, g in grids) / len(grids)
    print(f"city: {a.city}, {len(grids)} grids (mean {vertices:.0f} vertices), {a.points} points")

    m = a.points
    rows = []
    # gridwatch: the kernel on points in memory, and the whole CLI (CSV in, CSV out).
    kernel = subprocess.run([a.kernel, f"{a.work}/grids.geojson", f"{a.work}/points.csv"], check=True, capture_output=True, text=True).stdout
    print(kernel.strip())
    one_core = next(float(l.split()[3]) for l in kernel.splitlines() if l.startswith("locator, 1 thread"))
    rows.append(("gridwatch locator (in memory)", m / one_core))
    cli = subprocess.run(
        [a.gridwatch, "assign", "--grids", f"{a.work}/grids.geojson", "--points", f"{a.work}/points.csv", "--out", f"{a.work}/gridwatch.csv", "--threads", "1"],
        check=True, capture_output=True, text=True, env={**os.environ, "GRIDWATCH_LOG": "warn"},
    ).stderr
    cli_seconds = float(cli.split(" s (")[0].rsplit(" in ", 1)[1])
    rows.append(("gridwatch assign CLI (CSV in and out)", cli_seconds))
    ours = {k: v for k, v in read_answers(f"{a.work}/gridwatch.csv").items() if v}

    pg_seconds, truth = run_postgis(a.work, a.postgres, m)
    rows.append(("PostGIS (GiST, LATERAL ST_Covers)", pg_seconds))
    gp_seconds, gp = run_geopandas(grids, xs, ys)
    rows.append(("GeoPandas sjoin covered_by", gp_seconds))
    dd_seconds, dd = run_duckdb(a.work, a.duckdb_extension)
    rows.append(("DuckDB spatial join ST_Covers", dd_seconds))

    def mismatches(answers):
        keys = set(truth) | set(answers)
        return sum(1 for k in keys if truth.get(k) != answers.get(k))

    checks = {"gridwatch": mismatches(ours), "GeoPandas": mismatches(gp), "DuckDB": mismatches(dd)}
    if os.environ.get("GRIDWATCH_BENCH_DEBUG"):
        bad = [k for k in set(truth) | set(ours) if truth.get(k) != ours.get(k)][:10]
        for k in bad:
            print("differs", k, xs[k], ys[k], "postgis", truth.get(k), "gridwatch", ours.get(k))
    print(f"\n{'one core each':40} {'seconds':>9} {'points/s':>14} {'gridwatch is':>14}")
    for name, seconds in rows:
        print(f"{name:40} {seconds:9.3f} {m / seconds:14,.0f} {seconds / rows[0][1]:13.1f}x")
    print(f"\nanswers differing from PostGIS ({len(truth)} points covered): " + ", ".join(f"{k} {v}" for k, v in checks.items()))
    duck = next(s for n, s in rows if n.startswith("DuckDB"))
    print(f"gridwatch locator vs DuckDB: {duck / rows[0][1]:.1f}x")
    sys.exit(1 if checks["gridwatch"] else 0)


if __name__ == "__main__":
    main()
