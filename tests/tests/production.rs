//! Running gridwatch as a city does (issue 24): behind a reverse proxy (links on `--public-url`,
//! forwarding headers believed only from `--trusted-proxies`, so clients behind one proxy keep
//! their own rate-limit buckets), watched (request ids, `/metrics` read by the Prometheus
//! project's own Python parser, `/readyz`), compressed (the map's script), and stopped (SIGTERM
//! ends live streams with a `reconnect` event and the process exits within the drain time).

mod common;

use common::{text, Server};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::time::{Duration, Instant};

/// The Python the tests' clients run in (the venv of scripts/test.sh).
fn python() -> String {
    std::env::var("GRIDWATCH_PYTHON").unwrap_or_else(|_| "python3".into())
}

fn sqlite(label: &str) -> String {
    format!("sqlite://{}", common::scratch(label).join("g.db").display())
}

/// GET with extra headers; (status, headers wanted, body).
fn get(server: &Server, path: &str, headers: &[(&str, &str)]) -> (u16, ureq::Response) {
    let mut request = ureq::get(&server.url(path));
    for (k, v) in headers {
        request = request.set(k, v);
    }
    match request.call() {
        Ok(r) => (r.status(), r),
        Err(ureq::Error::Status(code, r)) => (code, r),
        Err(e) => panic!("{path}: {e}"),
    }
}

#[test]
fn links_follow_the_public_url_and_forwarding_headers_count_only_from_trusted_proxies() {
    // --public-url wins for every link: OGC API, its next links, Open311 discovery, TileJSON.
    let public = Server::start(&sqlite("public-url"), &["--demo", "--public-url", "https://gw.example.org/city/"]);
    let admin = public.token_of("admin");
    let (_, landing) = public.get_as(Some(&admin), "/");
    let hrefs: Vec<&str> =
        landing["links"].as_array().expect("links").iter().filter_map(|l| l["href"].as_str()).collect();
    assert!(!hrefs.is_empty() && hrefs.iter().all(|h| h.starts_with("https://gw.example.org/city/")), "{hrefs:?}");
    let (_, items) = public.get_as(Some(&admin), "/collections/grids/items?limit=1");
    let next = items["links"].as_array().and_then(|l| l.iter().find(|l| l["rel"] == "next")).expect("a next link");
    assert!(next["href"]
        .as_str()
        .is_some_and(|h| h.starts_with("https://gw.example.org/city/collections/grids/items")));
    let (_, discovery) = public.get_as(None, "/open311/v2/discovery.json");
    assert_eq!(discovery["endpoints"][0]["url"], "https://gw.example.org/city/open311/v2");
    // A forged host from an untrusted peer changes nothing.
    let (_, forged) = get(&public, "/open311/v2/discovery.json", &[("X-Forwarded-Host", "evil.example")]);
    assert!(!forged.into_string().unwrap_or_default().contains("evil.example"));
    drop(public);

    // Behind a trusted proxy (here: this machine), each client has its own bucket of 20 a minute.
    let trusted_db = common::scratch("trusted").join("g.db");
    let proxied = Server::start(
        &format!("sqlite://{}", trusted_db.display()),
        &["--demo", "--trusted-proxies", "127.0.0.1,::1", "--rate-limit-per-ip", "20"],
    );
    fn from(client: &str) -> [(&'static str, &str); 3] {
        [("X-Forwarded-For", client), ("X-Forwarded-Proto", "https"), ("X-Forwarded-Host", "gw.example.org")]
    }
    let statuses: Vec<u16> = (0..21).map(|_| get(&proxied, "/healthz", &from("198.51.100.7")).0).collect();
    assert_eq!((statuses[19], statuses[20]), (200, 429), "the 21st request of one client is refused");
    assert_eq!(get(&proxied, "/healthz", &from("198.51.100.8")).0, 200, "another client behind the proxy is not");
    // The audit log records where a report came from: the client, not the proxy.
    let officer = proxied.token_of("officer");
    let (_, mine) = proxied.get_as(Some(&officer), "/api/v1/layers/grids?level=grid");
    let (lon, lat) = common::inside(&mine["features"][0]);
    let report = serde_json::json!({"lon": lon, "lat": lat, "category": "E01001", "description": "via the proxy", "source": "officer"});
    let mut request = ureq::post(&proxied.url("/api/v1/problems"))
        .set("Authorization", &format!("Bearer {officer}"))
        .set("Content-Type", "application/json");
    for (k, v) in from("198.51.100.42") {
        request = request.set(k, v);
    }
    let created = request.send_string(&report.to_string()).map(|r| r.status()).unwrap_or_else(|e| match e {
        ureq::Error::Status(code, _) => code,
        _ => 0,
    });
    assert_eq!(created, 201, "the report through the proxy");
    let audit = std::process::Command::new(python())
        .args(["-c", "import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute(\"SELECT remote FROM audit_log WHERE action = 'problem.create' ORDER BY id DESC LIMIT 1\").fetchone())"])
        .arg(&trusted_db)
        .output()
        .expect("python runs");
    assert_eq!(text(&audit.stdout).trim(), "('198.51.100.42',)", "the audit log has the client, not the proxy");
    let (_, discovery) = get(&proxied, "/open311/v2/discovery.json", &from("198.51.100.9"));
    let discovery: Value = discovery.into_json().expect("json");
    assert_eq!(discovery["endpoints"][0]["url"], "https://gw.example.org/open311/v2", "the proxy's scheme and host");
    drop(proxied);

    // Without --trusted-proxies the header is the client's own word: one bucket for the address.
    let direct = Server::start(&sqlite("untrusted"), &["--demo", "--rate-limit-per-ip", "20"]);
    for _ in 0..20 {
        assert_eq!(get(&direct, "/healthz", &[("X-Forwarded-For", "198.51.100.7")]).0, 200);
    }
    assert_eq!(
        get(&direct, "/healthz", &[("X-Forwarded-For", "198.51.100.8")]).0,
        429,
        "a forged address does not help"
    );
}

#[test]
fn requests_are_numbered_counted_for_prometheus_and_the_map_script_arrives_compressed() {
    let server = Server::start(&sqlite("metrics"), &["--demo", "--metrics-token", "prom-s3cret"]);
    // Every answer carries a request id; one a proxy set is kept.
    let (_, answer) = get(&server, "/healthz", &[]);
    assert!(answer.header("x-request-id").is_some_and(|id| id.len() >= 8));
    let (_, answer) = get(&server, "/healthz", &[("X-Request-Id", "nginx-4f2a")]);
    assert_eq!(answer.header("x-request-id"), Some("nginx-4f2a"));
    let (_, answer) = get(&server, "/healthz", &[("X-Request-Id", "bad id\"<>")]);
    assert_ne!(answer.header("x-request-id"), Some("bad id\"<>"), "an unsafe id is replaced");
    let (status, _) = get(&server, "/readyz", &[]);
    assert_eq!(status, 200);

    // /metrics: the metrics token or an admin; nobody else.
    assert_eq!(get(&server, "/metrics", &[]).0, 401);
    let unit = format!("Bearer {}", server.token_of("unit"));
    assert_eq!(get(&server, "/metrics", &[("Authorization", &unit)]).0, 403);
    let admin = format!("Bearer {}", server.token_of("admin"));
    assert_eq!(get(&server, "/metrics", &[("Authorization", &admin)]).0, 200);
    let (status, scraped) = get(&server, "/metrics", &[("Authorization", "Bearer prom-s3cret")]);
    assert_eq!(status, 200);
    assert!(scraped.content_type().starts_with("text/plain"));
    let exposition = scraped.into_string().expect("text");
    // Parsed by prometheus_client (the Prometheus project's Python client): the /healthz
    // requests just made are counted under their route.
    let file = common::scratch("metrics-text").join("metrics.txt");
    std::fs::write(&file, &exposition).expect("write");
    let read = std::process::Command::new(python())
        .args([
            "-c",
            "import sys\nfrom prometheus_client.parser import text_string_to_metric_families\n\
             families = {f.name: f for f in text_string_to_metric_families(open(sys.argv[1]).read())}\n\
             ok = [s.value for s in families['gridwatch_http_requests'].samples\n\
                   if s.labels.get('route') == '/healthz' and s.labels.get('status') == '200']\n\
             print(int(sum(ok)))\n\
             print(families['gridwatch_http_request_duration_seconds'].type, families['gridwatch_grid_index_grids'].samples[0].value)",
            &file.to_string_lossy(),
        ])
        .output()
        .expect("python runs");
    assert!(read.status.success(), "{}", text(&read.stderr));
    let lines: Vec<String> = text(&read.stdout).lines().map(str::to_string).collect();
    assert_eq!(lines[0], "3", "the three /healthz requests: {exposition}");
    assert_eq!(lines[1], "histogram 1287.0", "the demo city's 1287 grids are indexed");

    // The map's script (MapLibre, about 1 MB) goes out gzipped, and unzips to the same bytes.
    let (_, plain) = get(&server, "/map/maplibre-gl.js", &[]);
    let mut original = Vec::new();
    std::io::Read::read_to_end(&mut plain.into_reader(), &mut original).expect("body");
    let (_, zipped) = get(&server, "/map/maplibre-gl.js", &[("Accept-Encoding", "gzip")]);
    assert_eq!(zipped.header("content-encoding"), Some("gzip"));
    let mut body = Vec::new();
    std::io::Read::read_to_end(&mut zipped.into_reader(), &mut body).expect("body");
    assert!(body.len() * 3 < original.len(), "{} of {} bytes", body.len(), original.len());
    let file = common::scratch("gzip").join("maplibre-gl.js.gz");
    std::fs::write(&file, &body).expect("write");
    let unzipped = std::process::Command::new(python())
        .args(["-c", "import gzip, sys; sys.stdout.buffer.write(gzip.decompress(open(sys.argv[1], 'rb').read()))"])
        .arg(&file)
        .output()
        .expect("python runs");
    assert!(unzipped.stdout == original, "gzip -d gives the script back");
    let (_, brotli) = get(&server, "/map/maplibre-gl.js", &[("Accept-Encoding", "br")]);
    assert_eq!(brotli.header("content-encoding"), Some("br"));
    // A live stream is never compressed (each event must go out at once).
    let dispatcher = server.token_of("dispatcher");
    let stream = server.open_stream(
        &dispatcher,
        "Accept-Encoding: gzip, br
",
    );
    let head = common::read_head(&mut BufReader::new(stream));
    assert!(head.contains("text/event-stream") && !head.to_ascii_lowercase().contains("content-encoding"), "{head}");
}

#[test]
fn sigterm_ends_live_streams_with_a_reconnect_event_and_exits_within_the_drain_time() {
    let mut server = Server::start(&sqlite("sigterm"), &["--demo", "--drain-seconds", "10"]);
    let dispatcher = server.token_of("dispatcher");
    let stream = server.open_stream(&dispatcher, "");
    stream.set_read_timeout(Some(Duration::from_secs(15))).expect("timeout");
    let mut reader = BufReader::new(stream);
    let head = common::read_head(&mut reader);
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");

    let signalled = Instant::now();
    let kill = std::process::Command::new("kill").args(["-TERM", &server.pid().to_string()]).status().expect("kill");
    assert!(kill.success());
    // The stream's last words, to its end: a reconnect event with a retry time.
    let mut said = String::new();
    let _ = std::io::Read::read_to_string(&mut reader, &mut said);
    assert!(said.contains("event: reconnect") && said.contains("retry: 2000"), "{said}");
    let exited = server.exited_within(Duration::from_secs(10));
    assert!(exited.is_some_and(|s| s.success()), "exits cleanly within the drain time: {exited:?}");
    assert!(signalled.elapsed() < Duration::from_secs(5), "no wait for the stream's client: {:?}", signalled.elapsed());
}

#[test]
fn a_node_caps_its_live_streams_and_writes_json_logs_on_request() {
    // --max-streams 1: a second stream on this node is refused (429), whoever asks.
    let server = Server::start(&sqlite("stream-cap"), &["--demo", "--max-streams", "1"]);
    let dispatcher = server.token_of("dispatcher");
    let first = server.open_stream(&dispatcher, "");
    assert!(common::read_head(&mut BufReader::new(first.try_clone().expect("clone"))).starts_with("HTTP/1.1 200"));
    let office = server.token_of("office");
    assert_eq!(server.stream_status(Some(&office), "/api/v1/problems/stream"), 429, "the node's one stream is taken");
    drop(first);
    drop(server);

    // --log-format json: one JSON object per line, the access line with its request id.
    let dir = common::scratch("json-logs");
    let mut child = std::process::Command::new(common::binary())
        .args(["serve", "--listen", "127.0.0.1:0", "--log-format", "json"])
        .env("GRIDWATCH_DATABASE_URL", format!("sqlite://{}", dir.join("g.db").display()))
        .env("GRIDWATCH_LOG", "info")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("gridwatch runs");
    let stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let base = stdout
        .lines()
        .map_while(Result::ok)
        .find_map(|l| {
            l.strip_prefix("gridwatch listening on ").and_then(|r| r.split_whitespace().next()).map(str::to_string)
        })
        .expect("the listening line");
    let answer = ureq::get(&format!("{base}/healthz")).set("X-Request-Id", "json-log-check").call().expect("healthz");
    assert_eq!(answer.status(), 200);
    let _ = std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let output = child.wait_with_output().expect("exits");
    let logs = text(&output.stderr);
    let lines: Vec<Value> =
        logs.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"))).collect();
    let access = lines.iter().find(|l| l["request_id"] == "json-log-check").unwrap_or_else(|| panic!("{logs}"));
    assert_eq!((access["route"].as_str(), access["status"].as_u64()), (Some("/healthz"), Some(200)), "{access}");
    assert!(access["ms"].is_f64() && access["client"] == "127.0.0.1", "{access}");
}
