//! Mock assessments (模拟测评) on both backends: a seeded draw stratified by type and district
//! (the same seed draws the same points through the API and the CLI), checklists, scores that
//! are all or nothing, score rates recomputed here from the scores sent, the XLSX read back by
//! openpyxl, and who may see which assessment.

mod common;

use common::{gridwatch, text, Backend, Server};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};

/// A square grid of 西城区 (110102) west of the demo city, and points with known strata:
/// 20 hospitals in 东城 (110101), 10 in 西城, 10 cinemas in 东城 with their own weighted criteria.
fn second_district_and_points(url: &str, server: &Server, dir: &std::path::Path) {
    let square = json!({"type": "FeatureCollection", "features": [{"type": "Feature",
        "properties": {"code": "110102001001001", "name": "西城测试网格", "responsible_unit": "西城测试单位"},
        "geometry": {"type": "Polygon", "coordinates": [[[116.30, 39.90], [116.32, 39.90], [116.32, 39.92], [116.30, 39.92], [116.30, 39.90]]]}}]});
    let file = dir.join("xicheng.geojson");
    std::fs::write(&file, square.to_string()).expect("write");
    let out = gridwatch(&["import", "grids", &file.to_string_lossy()], Some(url));
    assert!(out.status.success(), "{}", text(&out.stderr));
    // A point inside a demo grid of 东城.
    let (_, grids) = server.get("/api/v1/layers/grids?level=grid&limit=1");
    let ring = &grids["features"][0]["geometry"]["coordinates"][0];
    let ring = if ring[0][0].is_array() { &ring[0] } else { ring };
    let n = ring.as_array().expect("ring").len() as f64 - 1.0;
    let (mut x, mut y) = (0.0, 0.0);
    for p in ring.as_array().expect("ring").iter().skip(1) {
        x += p[0].as_f64().unwrap_or(0.0) / n;
        y += p[1].as_f64().unwrap_or(0.0) / n;
    }
    let mut features = Vec::new();
    let mut point = |code: String, kind: &str, lon: f64, lat: f64, criteria: Value| {
        features.push(
            json!({"type": "Feature", "properties": {"code": code, "name": code, "type": kind, "criteria": criteria},
            "geometry": {"type": "Point", "coordinates": [lon, lat]}}),
        );
    };
    for i in 0..20 {
        point(format!("H-DC-{i:02}"), "hospital", x, y, json!([]));
    }
    for i in 0..10 {
        point(format!("H-XC-{i:02}"), "hospital", 116.31, 39.91, json!([]));
    }
    let own =
        json!([{"id": "C1", "text": "影厅整洁", "weight": 2.0}, {"id": "C2", "text": "安全出口畅通", "weight": 2.0}]);
    for i in 0..10 {
        point(format!("C-DC-{i:02}"), "cinema", x, y, own.clone());
    }
    let file = dir.join("strata.geojson");
    std::fs::write(&file, json!({"type": "FeatureCollection", "features": features}).to_string()).expect("write");
    let out = gridwatch(&["import", "points", &file.to_string_lossy()], Some(url));
    assert!(out.status.success(), "{}", text(&out.stderr));
}

fn codes(assessment: &Value) -> Vec<String> {
    assessment["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["code"].as_str().unwrap_or("").to_string())
        .collect()
}

fn scenario(backend: &Backend) {
    let (name, url) = (backend.name(), backend.url());
    let dir = common::scratch(&format!("assess-{name}"));
    let server = Server::start(&url, &["--demo"]);
    second_district_and_points(&url, &server, &dir);

    // Stratified by type and district: hospitals 20 + 10 share 6 as 4 + 2; cinemas get 2.
    let draw = json!({"name": "11月模拟测评", "per_type": {"hospital": 6, "影剧院": 2}, "seed": 2026}).to_string();
    let (status, drawn) = server.post_json("/api/v1/assessments", &draw);
    assert_eq!(status, 201, "{name}: {drawn}");
    let drawn_codes = codes(&drawn);
    let count = |prefix: &str| drawn_codes.iter().filter(|c| c.starts_with(prefix)).count();
    assert_eq!((count("H-DC"), count("H-XC"), count("C-DC")), (4, 2, 2), "{name}: {drawn_codes:?}");
    assert_eq!(drawn_codes.iter().collect::<BTreeSet<_>>().len(), 8, "{name}: no point twice");
    let id = drawn["id"].as_i64().expect("id");
    // Checklists: hospitals have no criteria of their own, so they get the standard list.
    for item in drawn["items"].as_array().expect("items") {
        let list = item["checklist"].as_array().expect("checklist");
        if item["type"] == "cinema" {
            assert_eq!(list.iter().map(|c| c["weight"].as_f64()).collect::<Vec<_>>(), [Some(2.0), Some(2.0)]);
        } else {
            assert!(list.len() >= 3, "{name}: a standard checklist: {item}");
        }
    }

    // The same seed draws the same points; another seed another sample.
    let (_, again) = server.post_json("/api/v1/assessments", &draw);
    assert_eq!(codes(&again), drawn_codes, "{name}: seeded draws repeat");
    let other = json!({"per_type": {"hospital": 6, "cinema": 2}, "seed": 7}).to_string();
    let (_, different) = server.post_json("/api/v1/assessments", &other);
    assert_ne!(codes(&different), drawn_codes, "{name}");
    // Without a seed one is chosen, returned, and re-draws the same sample.
    let (_, unseeded) = server.post_json("/api/v1/assessments", &json!({"n": 10}).to_string());
    let seed = unseeded["spec"]["seed"].as_u64().expect("the chosen seed is returned");
    let (_, reseeded) = server.post_json("/api/v1/assessments", &json!({"n": 10, "seed": seed}).to_string());
    assert_eq!(codes(&reseeded), codes(&unseeded), "{name}");

    // Scores: every criterion of every point, some failed, one half-scored.
    let mut scores = Vec::new();
    let mut expected: BTreeMap<String, (f64, f64)> = BTreeMap::new();
    for (i, item) in drawn["items"].as_array().expect("items").iter().enumerate() {
        for (j, c) in item["checklist"].as_array().expect("checklist").iter().enumerate() {
            let weight = c["weight"].as_f64().unwrap_or(1.0);
            let (body, got) = match (i + j) % 3 {
                0 => (json!({"pass": false}), 0.0),
                1 => (json!({"pass": true}), weight),
                _ => (json!({"score": weight / 2.0, "note": "部分达标"}), weight / 2.0),
            };
            let mut s = body.as_object().cloned().unwrap_or_default();
            s.insert("point".into(), item["code"].clone());
            s.insert("criterion".into(), c["id"].clone());
            scores.push(Value::Object(s));
            for key in [
                "overall".to_string(),
                item["type"].as_str().unwrap_or("").to_string(),
                item["district"].as_str().unwrap_or("").to_string(),
            ] {
                let e = expected.entry(key).or_default();
                e.0 += got;
                e.1 += weight;
            }
        }
    }
    // All or nothing: one bad score rejects the lot, naming it.
    let mut bad = scores.clone();
    bad.push(json!({"point": drawn_codes[0], "criterion": "NOPE", "pass": true}));
    bad.push(json!({"point": "C-DC-00-missing", "criterion": "C1", "pass": true}));
    let (status, error) =
        server.post_json(&format!("/api/v1/assessments/{id}/scores"), &json!({"scores": bad}).to_string());
    assert_eq!(status, 422, "{name}: {error}");
    let fields: Vec<&str> = error["error"]["details"]["fields"]
        .as_array()
        .expect("fields")
        .iter()
        .filter_map(|f| f["field"].as_str())
        .collect();
    let n = scores.len();
    assert_eq!(fields, [format!("scores[{n}].criterion"), format!("scores[{}].point", n + 1)], "{name}");
    let over = json!({"scores": [{"point": drawn_codes[0], "criterion": drawn["items"][0]["checklist"][0]["id"], "score": 9.0}]});
    let (status, error) = server.post_json(&format!("/api/v1/assessments/{id}/scores"), &over.to_string());
    assert_eq!(
        (status, error["error"]["details"]["fields"][0]["field"].as_str()),
        (422, Some("scores[0].score")),
        "{name}"
    );
    let (_, untouched) = server.get(&format!("/api/v1/assessments/{id}"));
    assert_eq!(untouched["report"]["overall"]["scored"], 0, "{name}: nothing was recorded");

    let (status, recorded) =
        server.post_json(&format!("/api/v1/assessments/{id}/scores"), &json!({"scores": scores}).to_string());
    assert_eq!((status, recorded["recorded"].as_u64()), (200, Some(n as u64)), "{name}: {recorded}");
    let (_, report) = server.get(&format!("/api/v1/assessments/{id}"));
    let report = &report["report"];
    let rate = |key: &str| expected[key].0 / expected[key].1;
    let close = |v: &Value, want: f64| (v.as_f64().unwrap_or(-1.0) - want).abs() < 1e-9;
    assert!(close(&report["overall"]["rate"], rate("overall")), "{name}: {}", report["overall"]);
    assert_eq!(report["overall"]["scored"].as_u64(), Some(n as u64));
    for (section, keys) in [("by_type", ["hospital", "cinema"]), ("by_district", ["110101", "110102"])] {
        for key in keys {
            let row = report[section].as_array().expect("rows").iter().find(|r| r["group"] == key).expect("group");
            assert!(close(&row["rate"], rate(key)), "{name}: {section} {key}: {row} vs {}", rate(key));
        }
    }

    // XLSX, read by openpyxl: the overall rate and one detail row per criterion.
    let xlsx = server.fetch(server.token.as_deref(), &format!("/api/v1/assessments/{id}?format=xlsx"), None);
    assert_eq!(xlsx.status, 200, "{name}");
    let lines = common::openpyxl(
        &xlsx.body,
        &format!("assessment-{name}"),
        "print(book.sheetnames)\n\
         s = book['得分率']\n\
         print(s.cell(4, 2).value, s.cell(4, 8).value)\n\
         print(book['明细'].max_row - 1)",
    );
    assert_eq!(lines[0], "['得分率', '明细']", "{name}");
    let (group, value) = lines[1].split_once(' ').expect("two cells");
    assert_eq!(group, "overall");
    assert!((value.parse::<f64>().unwrap_or(-1.0) - rate("overall")).abs() < 1e-9, "{name}: {value}");
    assert_eq!(lines[2], n.to_string(), "{name}");

    // Who sees what: the office sees only draws within 东城; dispatchers read; officers, units
    // and apps never learn which points are drawn.
    let office = server.token_of("office");
    let (status, _) = server.get_as(Some(&office), &format!("/api/v1/assessments/{id}"));
    assert_eq!(status, 404, "{name}: a draw reaching 西城 is outside the office's area");
    let (status, mine) = server.post_as(Some(&office), "/api/v1/assessments", &json!({"n": 5, "seed": 1}).to_string());
    assert_eq!(status, 201, "{name}: {mine}");
    assert!(mine["items"].as_array().expect("items").iter().all(|i| i["district"] == "110101"), "{name}");
    let mine_id = mine["id"].as_i64().expect("id");
    let (_, listed) = server.get_as(Some(&office), "/api/v1/assessments");
    let ids: Vec<i64> =
        listed["assessments"].as_array().expect("list").iter().filter_map(|a| a["id"].as_i64()).collect();
    assert!(ids.contains(&mine_id) && !ids.contains(&id), "{name}: {listed}");
    let (status, _) = server.get_as(Some(&server.token_of("dispatcher")), &format!("/api/v1/assessments/{mine_id}"));
    assert_eq!(status, 200, "{name}");
    let (status, _) =
        server.post_as(Some(&server.token_of("dispatcher")), "/api/v1/assessments", &json!({"n": 5}).to_string());
    assert_eq!(status, 403, "{name}: dispatchers read, they do not draw");
    for role in ["officer", "unit", "app"] {
        let (status, _) = server.get_as(Some(&server.token_of(role)), &format!("/api/v1/assessments/{mine_id}"));
        assert_eq!(status, 403, "{name}: {role}");
    }
    let (status, _) = server.get_as(None, "/api/v1/assessments");
    assert_eq!(status, 401, "{name}");
    for (body, field) in [
        (json!({}), "n"),
        (json!({"n": 0}), "n"),
        (json!({"n": 5, "per_type": {"castle": 1}}), "per_type"),
        (json!({"n": 5, "seed": -1}), "seed"),
        (json!({"n": 5, "districts": ["东城"]}), "districts"),
        (json!({"n": 5, "x": 1}), "body"),
    ] {
        let (status, error) = server.post_json("/api/v1/assessments", &body.to_string());
        assert_eq!(
            (status, error["error"]["details"]["fields"][0]["field"].as_str()),
            (422, Some(field)),
            "{name}: {body}"
        );
    }
    let (status, _) = server.get("/api/v1/assessments/abc");
    assert_eq!(status, 400, "{name}");
    let (status, _) = server.get("/api/v1/assessments/99999");
    assert_eq!(status, 404, "{name}");
    server.stop();

    // The CLI draws the same sample from the same seed, and scores from the filled-in sheet.
    let out = gridwatch(&["assess", "draw", "--per-type", "hospital=6,cinema=2", "--seed", "2026"], Some(&url));
    assert!(out.status.success(), "{name}: {}", text(&out.stderr));
    let sheet = text(&out.stdout);
    let cli_id = text(&out.stderr)
        .split_whitespace()
        .nth(1)
        .and_then(|w| w.trim_end_matches(':').parse::<i64>().ok())
        .expect("id");
    let mut reader = csv::Reader::from_reader(sheet.trim_start_matches('\u{feff}').as_bytes());
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("row")).collect();
    let cli_codes: BTreeSet<String> = rows.iter().map(|r| r[0].to_string()).collect();
    assert_eq!(cli_codes, drawn_codes.iter().cloned().collect::<BTreeSet<_>>(), "{name}: the API's draw, again");
    let filled = dir.join("filled.csv");
    let mut w = csv::Writer::from_path(&filled).expect("csv");
    w.write_record(["point", "criterion", "score", "pass", "note"]).expect("header");
    for r in &rows {
        w.write_record([&r[0], &r[5], "", "合格", ""]).expect("row");
    }
    w.write_record([&rows[0][0], &rows[0][5], "abc", "", ""]).expect("bad row");
    w.flush().expect("flush");
    let id_text = cli_id.to_string();
    let out = gridwatch(&["assess", "score", &id_text, &filled.to_string_lossy()], Some(&url));
    assert!(!out.status.success(), "{name}");
    let row = rows.len() + 2;
    assert!(text(&out.stderr).contains(&format!("row {row}, column score")), "{name}: {}", text(&out.stderr));
    let out = gridwatch(&["assess", "report", &id_text, "--format", "json"], Some(&url));
    let before: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(before["report"]["overall"]["scored"], 0, "{name}: nothing was recorded");
    // Without the bad row every criterion passes: 100 %.
    let mut w = csv::Writer::from_path(&filled).expect("csv");
    w.write_record(["point", "criterion", "pass"]).expect("header");
    for r in &rows {
        w.write_record([&r[0], &r[5], "是"]).expect("row");
    }
    w.flush().expect("flush");
    let out = gridwatch(&["assess", "score", &id_text, &filled.to_string_lossy(), "--by", "inspector.li"], Some(&url));
    assert!(out.status.success(), "{name}: {}", text(&out.stderr));
    let out = gridwatch(&["assess", "report", &id_text, "--format", "json"], Some(&url));
    let after: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(after["report"]["overall"]["rate"].as_f64(), Some(1.0), "{name}");
    assert_eq!(after["report"]["overall"]["scored"].as_u64(), Some(rows.len() as u64), "{name}");
    let out = gridwatch(&["assess", "list"], Some(&url));
    assert!(
        text(&out.stdout).lines().any(|l| l.starts_with(&format!("{cli_id}\t")) && l.ends_with("100.0 %")),
        "{name}: {}",
        text(&out.stdout)
    );
}

#[test]
fn mock_assessments_draw_score_and_report_on_both_backends() {
    for backend in Backend::both("assess") {
        scenario(&backend);
    }
}
