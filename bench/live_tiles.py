"""Commit to tile under intake: posts RATE reports a second for SECONDS to a running gridwatch,
and for each one asks the zoom-17 problems tile holding it until the case is drawn. Prints the
time from the report's answer (its commit) to the first tile that draws it, and how long a
whole-district cluster tile (zoom 12) takes meanwhile. Python's standard library only.

    python3 bench/live_tiles.py BASE_URL TOKEN [RATE] [SECONDS]
"""

import http.client
import json
import math
import queue
import random
import sys
import threading
import time
import urllib.parse

base, token = sys.argv[1], sys.argv[2]
rate = float(sys.argv[3]) if len(sys.argv) > 3 else 100.0
seconds = float(sys.argv[4]) if len(sys.argv) > 4 else 20.0
address = urllib.parse.urlparse(base)
headers = {"Authorization": f"Bearer {token}"}


def connection():
    return http.client.HTTPConnection(address.hostname, address.port, timeout=120)


def varint(data, i):
    shift = value = 0
    while True:
        byte = data[i]
        i += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, i
        shift += 7


def fields(data):
    """(field number, wire type, value) of one protobuf message: enough of MVT for feature ids."""
    i = 0
    while i < len(data):
        key, i = varint(data, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, i = varint(data, i)
        elif wire == 2:
            length, i = varint(data, i)
            value, i = data[i : i + length], i + length
        elif wire == 5:
            value, i = data[i : i + 4], i + 4
        elif wire == 1:
            value, i = data[i : i + 8], i + 8
        else:
            raise ValueError(f"wire type {wire}")
        yield number, wire, value


def feature_ids(tile):
    """The ids of the features of every layer of a vector tile (Tile.layers=3, Layer.features=2, Feature.id=1)."""
    for number, _, layer in fields(tile):
        if number == 3:
            for n, _, feature in fields(layer):
                if n == 2:
                    for f, _, value in fields(feature):
                        if f == 1:
                            yield value


def tile_of(lon, lat, z):
    n = 2**z
    r = math.radians(lat)
    return int((lon + 180) / 360 * n), int((1 - math.log(math.tan(r) + 1 / math.cos(r)) / math.pi) / 2 * n)


def get(conn, path):
    conn.request("GET", path, headers=headers)
    response = conn.getresponse()
    return response.status, response.read()


reports = queue.Queue()
latencies, unseen, failed = [], [], [0]
cluster_times = []
lock = threading.Lock()
stop = threading.Event()


REPORTERS = 16


def report(k):
    """One of REPORTERS clients, each posting rate / REPORTERS reports a second, on schedule."""
    conn = connection()
    start = time.monotonic() + k / rate
    sent = 0
    while time.monotonic() - start < seconds:
        due = start + sent * REPORTERS / rate
        pause = due - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        lon, lat = 116.39 + random.random() * 0.04, 39.90 + random.random() * 0.05
        body = json.dumps({"lon": lon, "lat": lat, "category": "C01001", "description": "live", "source": "officer"})
        conn.request("POST", "/api/v1/problems", body=body, headers={**headers, "Content-Type": "application/json"})
        response = conn.getresponse()
        answer = response.read()
        committed = time.monotonic()
        sent += 1
        if response.status != 201:
            failed[0] += 1
            continue
        reports.put((json.loads(answer)["id"], lon, lat, committed))


def watch():
    conn = connection()
    while not (stop.is_set() and reports.empty()):
        try:
            case, lon, lat, committed = reports.get(timeout=0.1)
        except queue.Empty:
            continue
        x, y = tile_of(lon, lat, 17)
        # A report not drawn within a minute counts as such, unasked: a build that reloads
        # every case for each change falls far behind, and the run must still end.
        if time.monotonic() - committed > 60:
            with lock:
                unseen.append(case)
            continue
        while True:
            status, tile = get(conn, f"/tiles/problems/17/{x}/{y}.mvt")
            if status == 200 and case in set(feature_ids(tile)):
                with lock:
                    latencies.append(time.monotonic() - committed)
                break
            if time.monotonic() - committed > 60:
                with lock:
                    unseen.append(case)
                break


def clusters():
    """The office's whole-district view, asked again every second."""
    conn = connection()
    x, y = tile_of(116.41, 39.92, 12)
    while not stop.is_set():
        t0 = time.monotonic()
        status, _ = get(conn, f"/tiles/problems/12/{x}/{y}.mvt")
        if status == 200:
            cluster_times.append(time.monotonic() - t0)
        time.sleep(max(0.0, 1.0 - (time.monotonic() - t0)))


reporters = [threading.Thread(target=report, args=(k,)) for k in range(REPORTERS)]
others = [threading.Thread(target=clusters)] + [threading.Thread(target=watch) for _ in range(8)]
for t in reporters + others:
    t.start()
for t in reporters:
    t.join()
stop.set()
for t in others:
    t.join()


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(p / 100 * len(values)))] if values else float("nan")


print(
    f"reports {len(latencies) + len(unseen) + failed[0]} (asked {rate:.0f}/s for {seconds:.0f} s, {failed[0]} refused); "
    f"commit to tile p50 {percentile(latencies, 50) * 1000:.0f} ms, p99 {percentile(latencies, 99) * 1000:.0f} ms, "
    f"max {max(latencies, default=float('nan')) * 1000:.0f} ms; not drawn within 60 s: {len(unseen)}; "
    f"zoom-12 cluster tile meanwhile p50 {percentile(cluster_times, 50) * 1000:.0f} ms, "
    f"max {max(cluster_times, default=float('nan')) * 1000:.0f} ms ({len(cluster_times)} asked)"
)
