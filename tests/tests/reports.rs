//! The weekly bulletin over HTTP and from the command line, its indicator values on a known
//! week, and its XLSX opened by a real reader (openpyxl).

mod common;

use common::{gridwatch, text, Server};
use serde_json::{json, Value};
use std::process::Command;

fn python() -> String {
    std::env::var("GRIDWATCH_PYTHON").unwrap_or_else(|_| "python3".into())
}

#[test]
fn the_weekly_bulletin_counts_a_known_week_and_exports_csv_and_xlsx() {
    let dir = common::scratch("reports");
    let url = format!("sqlite://{}", dir.join("g.db").display());
    // Monday of 2026-W48, on a clock that runs at the normal rate from there.
    let server = Server::start(&url, &["--demo", "--clock-start", "2026-11-23T10:00:00+08:00"]);
    let (dispatcher, unit, officer) =
        (server.token_of("dispatcher"), server.token_of("unit"), server.token_of("officer"));
    let (_, mine) = server.get_as(Some(&officer), "/api/v1/layers/grids?level=grid");
    let ring = &mine["features"][0]["geometry"]["coordinates"][0];
    let (lon, lat) = (
        (ring[0][0].as_f64().unwrap_or(0.0) + ring[2][0].as_f64().unwrap_or(0.0)) / 2.0,
        (ring[0][1].as_f64().unwrap_or(0.0) + ring[2][1].as_f64().unwrap_or(0.0)) / 2.0,
    );
    let report = |i: usize| {
        let body = json!({"lon": lon, "lat": lat, "category": "E01001", "description": format!("week {i}"), "source": "officer"});
        let (status, p) = server.post_as(Some(&officer), "/api/v1/problems", &body.to_string());
        assert_eq!(status, 201, "{p}");
        p["id"].as_i64().expect("id")
    };
    let act = |token: &str, id: i64, body: Value| {
        let (status, r) = server.post_as(Some(token), &format!("/api/v1/problems/{id}/transitions"), &body.to_string());
        assert_eq!(status, 200, "{body}: {r}");
    };
    let dispatch = |id: i64| {
        for action in ["accept", "register", "dispatch"] {
            act(&dispatcher, id, json!({"action": action}));
        }
    };
    // A: handled, verified, closed. B: handled, reworked, handled again. C: dispatched only. D: never dispatched.
    let (a, b, c, _d) = (report(1), report(2), report(3), report(4));
    dispatch(a);
    act(&unit, a, json!({"action": "handle"}));
    act(&officer, a, json!({"action": "verify"}));
    act(&dispatcher, a, json!({"action": "close"}));
    dispatch(b);
    act(&unit, b, json!({"action": "handle"}));
    act(&officer, b, json!({"action": "reject", "note": "未清理干净"}));
    act(&unit, b, json!({"action": "handle"}));
    dispatch(c);
    // E and F: hotline calls the dispatcher enters; both go to the officer to confirm (核实), who
    // confirms E at once (on time) and has not yet been to F.
    let call = |i: usize| {
        let body = json!({"lon": lon, "lat": lat, "category": "E01001", "description": format!("12345 {i}"), "source": "hotline"});
        let (status, p) = server.post_as(Some(&dispatcher), "/api/v1/problems", &body.to_string());
        assert_eq!(status, 201, "{p}");
        let id = p["id"].as_i64().expect("id");
        act(&dispatcher, id, json!({"action": "accept"}));
        id
    };
    let (e, _f) = (call(5), call(6));
    let (_, tasks) = server.get_as(Some(&officer), "/api/v1/tasks");
    let confirm: Vec<&Value> =
        tasks["tasks"].as_array().expect("tasks").iter().filter(|t| t["kind"] == "confirm").collect();
    assert_eq!(confirm.len(), 2, "both calls wait on the officer's list: {tasks}");
    assert_eq!(confirm[0]["next_actions"], json!(["confirm", "void"]));
    act(&officer, e, json!({"action": "confirm"}));

    let (status, bulletin) =
        server.get_as(Some(&server.token_of("office")), "/api/v1/reports/weekly?week=2026-W48&by=department");
    assert_eq!(status, 200, "{bulletin}");
    let counts = &bulletin["total"]["counts"];
    // E and F were called in at A's place, of A's category, after A was closed: two recurrences
    // (反弹) of A, counted against A's group.
    assert_eq!(
        counts,
        &json!({"should_handle": 3, "handled": 2, "on_time_handled": 2, "closed": 1, "on_time_closed": 1,
                "reworked": 1, "overdue_unhandled": 0, "extended": 0,
                "to_confirm": 2, "confirmed": 1, "on_time_confirmed": 1,
                "called_back": 0, "satisfied": 0, "basically_satisfied": 0, "dissatisfied": 0, "recurred": 2})
    );
    // Nobody was called back (回访) in this week: no 满意率.
    assert_eq!(bulletin["total"]["satisfaction"], Value::Null);
    // 核实率 1/2, 按时核实率 1/2, beside the score (which weighs handling only).
    assert_eq!(bulletin["total"]["confirmation"], json!({"confirming": 0.5, "on_time_confirming": 0.5}));
    let rates = &bulletin["total"]["rates"];
    let close = |v: &Value, x: f64| (v.as_f64().unwrap_or(f64::NAN) - x).abs() < 1e-9;
    assert!(close(&rates["handling"], 2.0 / 3.0) && close(&rates["closing"], 1.0 / 3.0), "{rates}");
    assert!(close(&rates["rework"], 1.0 / 3.0) && close(&rates["overdue_unhandled"], 0.0), "{rates}");
    // 30·2/3 + 20·2/3 + 20·(1 − 1/3) + 20·1 + 10·1 = 76.67
    assert!(close(&rates["score"], 30.0 * 2.0 / 3.0 + 20.0 * 2.0 / 3.0 + 20.0 * 2.0 / 3.0 + 20.0 + 10.0), "{rates}");
    assert_eq!(bulletin["rows"][0]["group"], "环境卫生服务中心");
    assert_eq!(bulletin["rows"][0]["rank"], 1);
    let (_, earlier) = server.get_as(Some(&dispatcher), "/api/v1/reports/weekly?week=2026-W46");
    assert_eq!(earlier["total"]["counts"]["should_handle"], 0, "nothing was dispatched before the demo week");
    let (_, streets) = server.get_as(Some(&dispatcher), "/api/v1/reports/weekly?week=2026-W48&by=street");
    assert_eq!(
        (streets["rows"][0]["group"].as_str(), streets["rows"][0]["name"].as_str()),
        (Some("110101001"), Some("东华门街道"))
    );
    for (bad, param) in [("week=2026-48", "week"), ("by=county", "by"), ("format=pdf", "format")] {
        let (status, body) = server.get_as(Some(&dispatcher), &format!("/api/v1/reports/weekly?{bad}"));
        assert_eq!((status, body["error"]["details"]["parameter"].as_str()), (400, Some(param)));
    }
    assert_eq!(server.get_as(Some(&officer), "/api/v1/reports/weekly").0, 403, "officers do not read bulletins");

    // CSV over HTTP.
    let csv = ureq::get(&server.url("/api/v1/reports/weekly?week=2026-W48&by=department&format=csv"))
        .set("Authorization", &format!("Bearer {dispatcher}"))
        .call()
        .expect("csv")
        .into_string()
        .expect("text");
    let lines: Vec<&str> = csv.trim_start_matches('\u{feff}').lines().collect();
    assert!(lines[0].starts_with("rank,group,name,应处置 should_handle"), "{}", lines[0]);
    assert!(
        lines[1].starts_with(",total,,3,2,2,1,1,1,0,0,66.67,66.67,33.33,33.33,33.33,0.00,0.00,76.67,2,1,1,50.00,50.00"),
        "{}",
        lines[1]
    );

    // XLSX from the command line, read back by openpyxl.
    let xlsx = dir.join("weekly.xlsx");
    let out = gridwatch(
        &[
            "report",
            "weekly",
            "--week",
            "2026-W48",
            "--by",
            "department",
            "--format",
            "xlsx",
            "--out",
            &xlsx.to_string_lossy(),
            "--as-of",
            "2026-11-23T12:00:00+08:00",
        ],
        Some(&url),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let read = Command::new(python())
        .args([
            "-c",
            "import sys, openpyxl\n\
             ws = openpyxl.load_workbook(sys.argv[1]).active\n\
             print(ws.title)\n\
             for row in ws.iter_rows(min_row=1, max_row=3, values_only=True): print(row[1], row[3], row[4], row[18])",
            &xlsx.to_string_lossy(),
        ])
        .output()
        .expect("python runs (scripts/test.sh installs openpyxl)");
    assert!(read.status.success(), "openpyxl could not read the file: {}", text(&read.stderr));
    let printed = text(&read.stdout);
    let rows: Vec<&str> = printed.lines().collect();
    assert_eq!(rows[0], "一周一通报 2026-W48");
    assert_eq!(rows[1], "group 应处置 should_handle 处置 handled score");
    assert_eq!(rows[2], "total 3 2 76.67");
}
