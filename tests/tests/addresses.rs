//! The address book (地址库), on both backends: `gridwatch import addresses` reads a CSV under
//! the source's own column names (`--map`), refuses a bad file naming the row and field and
//! stores nothing, and changes nothing on a second import; `GET /api/v1/addresses?q=` then
//! finds each address from part of it, with a wrong character, with full-width or Chinese
//! digits, and places it in the grid PostGIS `ST_Covers` names (smallest code on a shared
//! edge). Callers see only addresses in their area; citizen apps none.

mod common;

use common::{gridwatch, text, Backend, Server};
use serde_json::Value;
use std::collections::BTreeMap;

/// Real road names of Dongcheng (东城区).
const ROADS: [&str; 20] = [
    "南河沿大街",
    "北河沿大街",
    "王府井大街",
    "东华门大街",
    "交道口南大街",
    "安定门内大街",
    "朝阳门北小街",
    "东直门南小街",
    "崇文门外大街",
    "广渠门内大街",
    "龙潭路",
    "天坛东路",
    "前门东大街",
    "鼓楼东大街",
    "和平里东街",
    "地安门东大街",
    "东四北大街",
    "灯市口大街",
    "美术馆后街",
    "南锣鼓巷",
];

/// One character swapped for one that sounds alike, as a hurried dispatcher types it.
const SLIPS: [(char, char); 14] = [
    ('沿', '延'),
    ('府', '付'),
    ('华', '化'),
    ('道', '到'),
    ('定', '订'),
    ('阳', '杨'),
    ('直', '值'),
    ('崇', '重'),
    ('渠', '区'),
    ('潭', '谈'),
    ('坛', '谈'),
    ('鼓', '古'),
    ('平', '苹'),
    ('灯', '登'),
];

/// Street offices (街道) of Dongcheng, for the full names.
const STREETS: [&str; 6] = ["东华门街道", "景山街道", "交道口街道", "安定门街道", "北新桥街道", "东四街道"];

const N: usize = 1200;

struct Planted {
    code: String,
    name: String,
    /// The door plate: road and number (and building), what a caller says.
    plate: String,
    road: &'static str,
    number: usize,
    lon: f64,
    lat: f64,
}

/// Addresses spread over the demo district (where `inside` says yes): each road and number
/// once, every fifth one a building (号院N号楼).
fn planted(bbox: [f64; 4], inside: impl Fn(f64, f64) -> bool) -> Vec<Planted> {
    let mut seed = 7u64;
    let mut unit = || {
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (seed >> 11) as f64 / (1u64 << 53) as f64
    };
    (0..N)
        .map(|i| {
            let road = ROADS[i % ROADS.len()];
            let number = 1 + i / ROADS.len();
            let plate = if i % 5 == 0 {
                format!("{road}{number}号院{}号楼", 1 + i % 7)
            } else {
                format!("{road}{number}号")
            };
            let street = STREETS[i % STREETS.len()];
            let (lon, lat) = loop {
                let (lon, lat) = (bbox[0] + unit() * (bbox[2] - bbox[0]), bbox[1] + unit() * (bbox[3] - bbox[1]));
                if inside(lon, lat) {
                    break (lon, lat);
                }
            };
            Planted {
                code: format!("MP{i:05}"),
                name: format!("北京市东城区{street}{plate}"),
                plate,
                road,
                number,
                lon,
                lat,
            }
        })
        .collect()
}

/// `n` as Chinese numerals (十五, 二十三, 一百零八).
fn chinese(n: usize) -> String {
    const D: [&str; 10] = ["零", "一", "二", "三", "四", "五", "六", "七", "八", "九"];
    let (h, t, u) = (n / 100, n / 10 % 10, n % 10);
    let mut s = String::new();
    if h > 0 {
        s += D[h];
        s += "百";
        if t == 0 && u > 0 {
            s += "零";
        }
    }
    if t > 0 {
        if !(h == 0 && t == 1) {
            s += D[t];
        }
        s += "十";
    }
    if u > 0 || n == 0 {
        s += D[u];
    }
    s
}

fn full_width(s: &str) -> String {
    s.chars().map(|c| if c.is_ascii_digit() { char::from_u32(c as u32 + 0xFEE0).unwrap_or(c) } else { c }).collect()
}

fn encode(s: &str) -> String {
    s.bytes().map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") }).collect()
}

fn search(server: &Server, token: &str, q: &str) -> Vec<Value> {
    let (status, body) = server.get_as(Some(token), &format!("/api/v1/addresses?q={}&limit=5", encode(q)));
    assert_eq!(status, 200, "{q}: {body}");
    body["addresses"].as_array().cloned().unwrap_or_default()
}

/// The addresses as a source's CSV: its own column names (门牌编码 MPBM, 地址全称 DZQC, 类型 LX,
/// 别名 BM), kinds in Chinese, buildings with their short form as an alias.
fn write_csv(dir: &std::path::Path, planted: &[Planted]) -> std::path::PathBuf {
    let path = dir.join("门牌.csv");
    let mut w = String::from("MPBM,DZQC,LX,BM,X,Y\n");
    for p in planted {
        let kind = if p.plate.contains("号楼") { "楼栋" } else { "门牌" };
        let alias = if p.plate.contains("号楼") { p.plate.replace("号院", "号") } else { String::new() };
        w += &format!("{},{},{kind},{alias},{:.7},{:.7}\n", p.code, p.name, p.lon, p.lat);
    }
    std::fs::write(&path, w).expect("csv");
    path
}

#[test]
fn addresses_are_found_from_what_a_caller_says_and_placed_in_the_grid_postgis_names_on_both_backends() {
    let mut grids_by_backend: Vec<BTreeMap<String, Option<String>>> = Vec::new();
    for backend in Backend::both("addresses") {
        let name = backend.name();
        let url = backend.url();
        // Well over a thousand searches in a minute: more than the default rate limit allows.
        let limits = ["--demo", "--rate-limit-per-token", "1000000", "--rate-limit-per-ip", "1000000"];
        let server = Server::start(&url, &limits);
        let dispatcher = server.token_of("dispatcher");
        let (_, district) = server.get_as(Some(&dispatcher), "/api/v1/layers/grids?level=district");
        let bbox = bbox_of(&district["features"][0]);
        let planted = planted(bbox, |lon, lat| {
            let (_, located) = server.get_as(Some(&dispatcher), &format!("/api/v1/locate?lon={lon}&lat={lat}"));
            located["grid"].is_object()
        });
        let dir = common::scratch(&format!("addresses-{name}"));
        let csv = write_csv(&dir, &planted);
        let map = "code=MPBM,name=DZQC,kind=LX,aliases=BM,lon=X,lat=Y";

        // A bad file is refused whole, naming the row and the field.
        let bad = dir.join("bad.csv");
        std::fs::write(&bad, "MPBM,DZQC,LX,BM,X,Y\nA1,东华门大街1号,门牌,东华门1号,116.40,39.91\nA2,,门牌,,116.40,39.91\nA3,东华门大街3号,house,,116.40,39.91\n").expect("bad.csv");
        let out = gridwatch(&["import", "addresses", "--map", map, bad.to_str().expect("a UTF-8 path")], Some(&url));
        let said = text(&out.stderr);
        assert!(!out.status.success(), "{name}: {said}");
        assert!(said.contains("bad.csv") && said.contains("row 2 (code A2), name"), "{name}: {said}");
        assert!(said.contains("row 3 (code A3), kind") && said.contains("door_plate (门牌)"), "{name}: {said}");
        assert!(
            search(&server, &dispatcher, "东华门大街1号").iter().all(|a| a["code"] != "A1"),
            "{name}: nothing stored"
        );

        let out = gridwatch(
            &["import", "addresses", "--crs", "wgs84", "--map", map, csv.to_str().expect("a UTF-8 path")],
            Some(&url),
        );
        assert!(out.status.success(), "{name}: {}", text(&out.stderr));
        let said = text(&out.stdout);
        assert!(said.contains(&format!("{N} new, 0 updated, 0 unchanged")), "{name}: {said}");
        let again = gridwatch(&["import", "addresses", "--map", map, csv.to_str().expect("a UTF-8 path")], Some(&url));
        assert!(
            text(&again.stdout).contains(&format!("0 new, 0 updated, {N} unchanged")),
            "{name}: {}",
            text(&again.stdout)
        );

        // Each address from what a caller would say: the plate alone, with a slip of the pen,
        // in full-width digits, in Chinese numerals, with words around it.
        let mut misses = Vec::new();
        let mut grids = BTreeMap::new();
        for p in planted.iter().step_by(7) {
            let slipped: String = {
                let mut done = false;
                p.plate
                    .chars()
                    .map(|c| match SLIPS.iter().find(|(from, _)| *from == c) {
                        Some((_, to)) if !done => {
                            done = true;
                            *to
                        }
                        _ => c,
                    })
                    .collect()
            };
            let number = p.number.to_string();
            let queries = [
                p.name.clone(),
                p.plate.clone(),
                slipped,
                full_width(&p.plate),
                p.plate.replacen(&format!("{}号", number), &format!("{}号", chinese(p.number)), 1),
                format!("{}附近，{}门口", p.road, p.plate),
            ];
            for q in queries {
                let hits = search(&server, &dispatcher, &q);
                if hits.first().map(|h| &h["code"]) != Some(&Value::from(p.code.as_str())) {
                    misses.push(format!("{q} → {:?}", hits.first().map(|h| h["name"].clone())));
                }
            }
            let hit = search(&server, &dispatcher, &p.name).into_iter().next().expect("found");
            assert!((hit["lon"].as_f64().expect("lon") - p.lon).abs() < 1e-6, "{name}: {} found {hit}", p.name);
            grids.insert(p.code.clone(), hit["grid"]["code"].as_str().map(String::from));
        }
        assert!(misses.is_empty(), "{name}: {} queries missed their address:\n{}", misses.len(), misses.join("\n"));

        // The grid each falls in is PostGIS's answer.
        if let Backend::Postgres(db) = &backend {
            let rows = db.sql(
                "SELECT a.code, (SELECT min(g.code) FROM grids g WHERE g.valid_to IS NULL AND g.level = 'grid' \
                 AND ST_Covers(g.geom, a.geom)) FROM addresses a WHERE a.code LIKE 'MP%' ORDER BY a.code",
            );
            let postgis: BTreeMap<String, Option<String>> = rows
                .lines()
                .filter_map(|l| l.split_once('|'))
                .map(|(code, grid)| (code.to_string(), (!grid.is_empty()).then(|| grid.to_string())))
                .collect();
            assert_eq!(postgis.len(), N, "{name}");
            for (code, grid) in &grids {
                assert_eq!(grid, &postgis[code], "{name}: {code}");
            }
            assert!(grids.values().all(Option::is_some), "{name}: every address is in a grid");
        }
        grids_by_backend.push(grids.clone());

        // Areas: the demo officer (多福巷社区) finds the addresses of their community and no other;
        // a unit those of its grids; a citizen app's key none.
        let officer = server.token_of("officer");
        let own = search(&server, &officer, "多福巷居委会");
        assert!(
            own.first().is_some_and(|a| a["grid"]["code"].as_str().is_some_and(|g| g.starts_with("110101001001"))),
            "{name}: {own:?}"
        );
        let elsewhere = planted
            .iter()
            .find(|p| grids.get(&p.code).is_some_and(|g| g.as_ref().is_some_and(|g| !g.starts_with("110101001001"))))
            .expect("one elsewhere");
        assert!(
            search(&server, &officer, &elsewhere.name).iter().all(|a| a["code"] != elsewhere.code.as_str()),
            "{name}"
        );
        let unit = server.token_of("unit");
        for hit in search(&server, &unit, "社区居委会") {
            assert_eq!(hit["grid"]["responsible_unit"], "东华门街道办事处", "{name}: {hit}");
        }
        let (status, _) = server.get_as(Some(&server.token_of("app")), "/api/v1/addresses?q=%E4%B8%9C");
        assert_eq!(status, 403, "{name}: citizen apps do not search the address book");
        let (status, _) = server.get_as(None, "/api/v1/addresses?q=%E4%B8%9C");
        assert_eq!(status, 401, "{name}");

        // One address by id: in the caller's area or not found.
        let id = search(&server, &dispatcher, &elsewhere.name)[0]["id"].as_i64().expect("id");
        let (status, one) = server.get_as(Some(&dispatcher), &format!("/api/v1/addresses/{id}"));
        assert_eq!((status, one["code"].as_str()), (200, Some(elsewhere.code.as_str())), "{name}: {one}");
        let (status, _) = server.get_as(Some(&officer), &format!("/api/v1/addresses/{id}"));
        assert_eq!(status, 404, "{name}: outside the officer's area looks absent");

        // Kinds and bad parameters.
        let (status, body) =
            server.get_as(Some(&dispatcher), &format!("/api/v1/addresses?q={}&kind=building", encode("南河沿大街")));
        assert_eq!(status, 200, "{name}: {body}");
        let kinds: Vec<&str> =
            body["addresses"].as_array().expect("addresses").iter().filter_map(|a| a["kind"].as_str()).collect();
        assert!(!kinds.is_empty() && kinds.iter().all(|k| *k == "building"), "{name}: {kinds:?}");
        for (query, field) in [
            ("", "q"),
            ("?q=%E4%B8%9C&limit=0", "limit"),
            ("?q=%E4%B8%9C&kind=house", "kind"),
            ("?q=%E4%B8%9C&near=1", "near"),
        ] {
            let (status, body) = server.get_as(Some(&dispatcher), &format!("/api/v1/addresses{query}"));
            assert_eq!(status, 400, "{name} {query}: {body}");
            assert!(body["error"]["message"].as_str().is_some_and(|m| m.contains(field)), "{name} {query}: {body}");
        }
    }
    assert_eq!(grids_by_backend[0], grids_by_backend[1], "both backends place every address in the same grid");
}

fn bbox_of(feature: &Value) -> [f64; 4] {
    fn extend(v: &Value, b: &mut [f64; 4]) {
        match v.as_array() {
            Some(a) if a.len() == 2 && a[0].is_number() => {
                let (x, y) = (a[0].as_f64().unwrap_or_default(), a[1].as_f64().unwrap_or_default());
                *b = [b[0].min(x), b[1].min(y), b[2].max(x), b[3].max(y)];
            }
            Some(a) => a.iter().for_each(|x| extend(x, b)),
            None => {}
        }
    }
    let mut b = [f64::MAX, f64::MAX, f64::MIN, f64::MIN];
    extend(&feature["geometry"]["coordinates"], &mut b);
    b
}
