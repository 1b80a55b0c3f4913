"""Address search (地址库) side by side: gridwatch's `GET /api/v1/addresses?q=` over HTTP, and
PostgreSQL's pg_trgm (`word_similarity` with a GIN trigram index) and `LIKE '%…%'` (served by the same
index) on the
same addresses, with the same queries. For each: latency per query (p50, p99, max) and how often
the address the query was made from comes first.

Called by bench/addresses.sh, which starts the server and loads PostgreSQL.

usage: python address_search.py generate DIR N        # DIR/addresses.csv and DIR/queries.json
       python address_search.py gridwatch DIR URL TOKEN
       python address_search.py postgres DIR POSTGRES_URL
"""

import http.client
import json
import random
import statistics
import subprocess
import sys
import time
import urllib.parse

# Parts of Dongcheng's road and compound names, recombined into a city's worth of them.
HEADS = ["东四", "西四", "东直门", "朝阳门", "建国门", "崇文门", "广渠门", "安定门", "交道口", "北新桥", "东华门",
         "王府井", "南河沿", "北河沿", "地安门", "鼓楼", "和平里", "灯市口", "美术馆", "东单", "磁器口", "天坛",
         "龙潭", "永定门", "前门", "花市", "体育馆", "景山", "香饵", "府学", "新中街", "北锣鼓", "南锣鼓",
         "东总布", "西总布", "史家", "内务部", "演乐", "礼士", "钱粮"]
ROAD_KINDS = ["大街", "北大街", "南大街", "小街", "胡同", "路", "东路", "西路", "巷", "北巷"]
COMPOUND_KINDS = ["小区", "家园", "北里", "南里", "西里", "社区", "花园", "公寓"]
POI_KINDS = ["小学", "中学", "医院", "公厕", "菜市场", "派出所", "居委会", "公交站", "超市", "银行"]
SLIPS = {"沿": "延", "府": "付", "华": "化", "道": "到", "定": "订", "阳": "杨", "直": "值", "崇": "重",
         "渠": "区", "潭": "谈", "坛": "谈", "鼓": "古", "平": "苹", "灯": "登", "锣": "罗", "街": "接",
         "胡": "湖", "同": "通", "园": "元", "里": "理", "花": "化", "景": "井", "安": "按", "新": "心"}
DIGITS = "零一二三四五六七八九"


def chinese(n):
    h, t, u = n // 100, n // 10 % 10, n % 10
    s = ""
    if h:
        s += DIGITS[h] + "百" + ("零" if t == 0 and u else "")
    if t:
        s += ("" if h == 0 and t == 1 else DIGITS[t]) + "十"
    if u or n == 0:
        s += DIGITS[u]
    return s


def generate(out, n):
    rng = random.Random(20261206)
    roads = [h + k for h in HEADS for k in ROAD_KINDS]
    compounds = [h + k for h in HEADS for k in COMPOUND_KINDS]
    rows, queries, seen = [], [], set()
    while len(rows) < n:
        kind = rng.random()
        lon, lat = 116.385 + rng.random() * 0.06, 39.865 + rng.random() * 0.10
        if kind < 0.55:  # a door plate
            road, num = rng.choice(roads), rng.randint(1, 300)
            plate, said = f"{road}{num}号", (road, num, "号")
            name, k = f"北京市东城区{plate}", "门牌"
        elif kind < 0.90:  # a building, and its unit
            c, b, u = rng.choice(compounds), rng.randint(1, 40), rng.randint(1, 6)
            plate, said = f"{c}{b}号楼{u}单元", (c, b, "号楼")
            name, k = f"北京市东城区{plate}", "楼栋"
        else:  # a place
            h, p = rng.choice(HEADS), rng.choice(POI_KINDS)
            num = rng.randint(1, 30)
            plate, said = f"{h}第{num}{p}", (h, num, p)
            name, k = f"北京市东城区{plate}", "兴趣点"
        if name in seen:
            continue
        seen.add(name)
        code = f"A{len(rows):06d}"
        rows.append((code, name, k, lon, lat))
        if len(queries) < 1000 and rng.random() < 0.02:
            form = len(queries) % 4
            head, num, tail = said
            if form == 0:  # the part a caller says
                q = plate
            elif form == 1:  # one character misheard
                positions = [i for i, ch in enumerate(plate) if ch in SLIPS]
                if not positions:
                    continue
                i = rng.choice(positions)
                q = plate[:i] + SLIPS[plate[i]] + plate[i + 1:]
            elif form == 2:  # full-width digits
                q = "".join(chr(ord(ch) + 0xFEE0) if ch.isdigit() else ch for ch in plate)
            else:  # Chinese numerals
                q = plate.replace(f"{num}{tail}", f"{chinese(num)}{tail}", 1)
            queries.append({"q": q, "code": code, "form": ["part", "misheard", "full-width", "chinese numerals"][form]})
    with open(f"{out}/addresses.csv", "w", encoding="utf-8") as f:
        f.write("MPBM,DZQC,LX,X,Y\n")
        for code, name, k, lon, lat in rows:
            f.write(f"{code},{name},{k},{lon:.7f},{lat:.7f}\n")
    json.dump(queries, open(f"{out}/queries.json", "w"), ensure_ascii=False)
    print(f"{len(rows)} addresses, {len(queries)} queries")


def report(label, times_ms, hits, queries):
    slowest = max(range(len(times_ms)), key=lambda i: times_ms[i])
    times_ms = sorted(times_ms)
    p = lambda q: times_ms[min(len(times_ms) - 1, int(q * len(times_ms)))]
    by_form = {}
    for query, hit in zip(queries, hits):
        ok, total = by_form.get(query["form"], (0, 0))
        by_form[query["form"]] = (ok + hit, total + 1)
    forms = ", ".join(f"{form} {ok}/{total}" for form, (ok, total) in by_form.items())
    print(f"{label:<38} p50 {p(0.5):7.2f} ms  p99 {p(0.99):7.2f} ms  max {times_ms[-1]:7.2f} ms  "
          f"found first {sum(hits)}/{len(hits)} ({forms}); slowest: {queries[slowest]['q']}")


def gridwatch(out, url, token):
    queries = json.load(open(f"{out}/queries.json"))
    parsed = urllib.parse.urlparse(url)
    conn = http.client.HTTPConnection(parsed.hostname, parsed.port)
    headers = {"Authorization": f"Bearer {token}"}

    def ask(q):
        conn.request("GET", "/api/v1/addresses?limit=10&q=" + urllib.parse.quote(q), headers=headers)
        response = conn.getresponse()
        body = response.read()
        assert response.status == 200, body
        return json.loads(body)["addresses"]

    start = time.perf_counter()
    ask(queries[0]["q"])
    print(f"gridwatch: the first search builds the index: {1000 * (time.perf_counter() - start):.0f} ms")
    times, hits = [], []
    for query in queries:
        start = time.perf_counter()
        found = ask(query["q"])
        times.append(1000 * (time.perf_counter() - start))
        hits.append(int(bool(found) and found[0]["code"] == query["code"]))
    report("gridwatch GET /api/v1/addresses (HTTP)", times, hits, queries)


def postgres(out, url):
    """Each query timed inside the database (no client or network time): a fair edge for the peers."""
    queries = json.load(open(f"{out}/queries.json"))
    with open(f"{out}/queries.tsv", "w", encoding="utf-8") as f:
        for i, query in enumerate(queries):
            f.write(f"{i}\t{query['q']}\n")
    script = f"""
CREATE TEMP TABLE queries (i int, q text);
\\copy queries FROM '{out}/queries.tsv'
CREATE TEMP TABLE timings (i int, method text, ms double precision, code text);
DO $$
DECLARE r record; t0 timestamptz; found text;
BEGIN
  PERFORM set_limit(0.3);
  FOR r IN SELECT * FROM queries ORDER BY i LOOP
    t0 := clock_timestamp();
    SELECT code INTO found FROM addresses WHERE r.q <% name ORDER BY word_similarity(r.q, name) DESC, length(name) LIMIT 1;
    INSERT INTO timings VALUES (r.i, 'trgm', 1000 * extract(epoch FROM clock_timestamp() - t0), found);
    t0 := clock_timestamp();
    SELECT code INTO found FROM addresses WHERE name LIKE '%' || r.q || '%' ORDER BY length(name) LIMIT 1;
    INSERT INTO timings VALUES (r.i, 'like', 1000 * extract(epoch FROM clock_timestamp() - t0), found);
  END LOOP;
END $$;
\\copy (SELECT i, method, ms, coalesce(code, '') FROM timings ORDER BY method, i) TO '{out}/timings.tsv'
"""
    open(f"{out}/peers.sql", "w").write(script)
    subprocess.run(["psql", url, "-v", "ON_ERROR_STOP=1", "-qAt", "-f", f"{out}/peers.sql"], check=True)
    rows = [line.rstrip("\n").split("\t") for line in open(f"{out}/timings.tsv", encoding="utf-8")]
    for method, label in [("trgm", "PostgreSQL pg_trgm word_similarity (GIN)"), ("like", "PostgreSQL LIKE '%…%' (trigram index)")]:
        mine = sorted((int(i), float(ms), code) for i, m, ms, code in rows if m == method)
        report(label, [ms for _, ms, _ in mine], [int(code == queries[i]["code"]) for i, _, code in mine], queries)


if __name__ == "__main__":
    command = sys.argv[1]
    if command == "generate":
        generate(sys.argv[2], int(sys.argv[3]))
    elif command == "gridwatch":
        gridwatch(sys.argv[2], sys.argv[3], sys.argv[4])
    elif command == "postgres":
        postgres(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)
