//! Three-colour escalation on a simulated clock (one real second = three hours): a dispatched
//! case turns blue, yellow and red on schedule, and each change appears in the case's steps, in
//! the server-sent-event stream and at a signed, retried webhook.

mod common;

use common::Server;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A webhook receiver: refuses the very first delivery (to exercise retries), accepts the rest.
fn webhook_receiver() -> (String, mpsc::Receiver<(String, Vec<u8>)>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}/hooks/gridwatch", listener.local_addr().expect("addr"));
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for (n, stream) in listener.incoming().enumerate() {
            let Ok(mut stream) = stream else { continue };
            let (head, body) = common::read_request(&mut BufReader::new(stream.try_clone().expect("clone")));
            let status = if n == 0 { "500 Internal Server Error" } else { "200 OK" };
            let _ = stream.write_all(format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\n\r\n").as_bytes());
            if n > 0 {
                let _ = tx.send((head, body));
            }
        }
    });
    (url, rx)
}

/// Subscribes to the SSE stream and forwards each `data:` payload.
fn subscribe(server: &Server, token: &str) -> mpsc::Receiver<Value> {
    let address = server.base.trim_start_matches("http://").to_string();
    let mut stream = std::net::TcpStream::connect(&address).expect("connect");
    let request = format!(
        "GET /api/v1/escalations/stream HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {token}\r\nAccept: text/event-stream\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).expect("request");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines().map_while(Result::ok) {
            if let Some(data) = line.strip_prefix("data:") {
                if let Ok(v) = serde_json::from_str::<Value>(data.trim()) {
                    let _ = tx.send(v);
                }
            }
        }
    });
    rx
}

/// The demo on a simulated clock (one real second = three hours), escalating every 0.1 s.
const FAST_CLOCK: [&str; 7] =
    ["--demo", "--clock-start", "2026-11-23T09:00:00+08:00", "--clock-rate", "10800", "--escalation-seconds", "0.1"];

/// A working-hours case (暴露垃圾, 4 working hours), reported in the officer's grid and dispatched.
fn dispatched_case(server: &Server) -> i64 {
    let (officer, dispatcher) = (server.token_of("officer"), server.token_of("dispatcher"));
    let (_, mine) = server.get_as(Some(&officer), "/api/v1/layers/grids?level=grid");
    let ring = &mine["features"][0]["geometry"]["coordinates"][0];
    let lon = (ring[0][0].as_f64().unwrap_or(0.0) + ring[2][0].as_f64().unwrap_or(0.0)) / 2.0;
    let lat = (ring[0][1].as_f64().unwrap_or(0.0) + ring[2][1].as_f64().unwrap_or(0.0)) / 2.0;
    let body = json!({"lon": lon, "lat": lat, "category": "E01001", "description": "escalation", "source": "officer"});
    let (status, p) = server.post_as(Some(&officer), "/api/v1/problems", &body.to_string());
    assert_eq!(status, 201, "{p}");
    let id = p["id"].as_i64().expect("id");
    for action in ["accept", "register", "dispatch"] {
        let path = format!("/api/v1/problems/{id}/transitions");
        assert_eq!(server.post_as(Some(&dispatcher), &path, &json!({"action": action}).to_string()).0, 200);
    }
    id
}

#[test]
fn colours_change_on_schedule_and_are_published_everywhere() {
    let dir = common::scratch("escalation");
    let (hook, deliveries) = webhook_receiver();
    let server = Server::start(
        &format!("sqlite://{}", dir.join("g.db").display()),
        &[&FAST_CLOCK[..], &["--webhook-url", &hook, "--webhook-secret", "s3cret"]].concat(),
    );
    let dispatcher = server.token_of("dispatcher");
    let stream = subscribe(&server, &dispatcher);
    std::thread::sleep(Duration::from_millis(300)); // let the subscription settle

    let id = dispatched_case(&server);

    // The stream shows none → blue → yellow → red for this case.
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(40);
    while seen.last().map(String::as_str) != Some("red") && Instant::now() < deadline {
        if let Ok(change) = stream.recv_timeout(Duration::from_millis(500)) {
            if change["problem_id"] == id {
                seen.push(change["to"].as_str().unwrap_or("").to_string());
            }
        }
    }
    assert_eq!(seen, ["blue", "yellow", "red"], "colour changes on the SSE stream");

    // The case's steps record each change.
    let (_, events) = server.get_as(Some(&dispatcher), &format!("/api/v1/problems/{id}/events"));
    let escalations: Vec<&str> = events["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["action"] == "escalate")
        .filter_map(|e| e["details"]["to_colour"].as_str())
        .collect();
    assert_eq!(escalations, ["blue", "yellow", "red"]);
    assert_eq!(server.get_as(Some(&dispatcher), &format!("/api/v1/problems/{id}")).1["colour"], "red");

    // The webhook got every change (the first delivery refused and retried), signed.
    let mut hooked = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while hooked.len() < 3 && Instant::now() < deadline {
        if let Ok((head, body)) = deliveries.recv_timeout(Duration::from_millis(500)) {
            let signature = head
                .lines()
                .find_map(|l| l.strip_prefix("X-Gridwatch-Signature: sha256="))
                .expect("signature header")
                .trim()
                .to_string();
            assert_eq!(signature, common::hmac_hex(b"s3cret", &body), "HMAC-SHA256 of the body with the shared secret");
            let change: Value = serde_json::from_slice(&body).expect("json");
            if change["problem_id"] == id {
                hooked.push(change["to"].as_str().unwrap_or("").to_string());
            }
        }
    }
    hooked.sort();
    assert_eq!(hooked, ["blue", "red", "yellow"], "every change delivered, including the retried one");
}

/// A city's own certificate authority and a certificate it signed for 127.0.0.1 (openssl), and an
/// HTTPS receiver with it (Python's `ssl` and `http.server`) that prints each delivery's path,
/// signature and body as a JSON line. Returns the URL, the CA's certificate, the receiver.
fn https_receiver(dir: &std::path::Path) -> (String, std::path::PathBuf, std::process::Child, mpsc::Receiver<Value>) {
    let file = |name: &str| dir.join(name).display().to_string();
    let openssl = |args: &[&str]| {
        let made = std::process::Command::new("openssl").args(args).output().expect("openssl runs");
        assert!(made.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&made.stderr));
    };
    let no_password = ["-nodes", "-newkey", "rsa:2048"];
    let (ca, ca_key) = (file("ca.pem"), file("ca.key"));
    openssl(
        &[
            &["req", "-x509"],
            &no_password[..],
            &["-days", "2", "-subj", "/CN=gridwatch test CA", "-keyout", &ca_key, "-out", &ca],
        ]
        .concat(),
    );
    let (csr, key, cert, ext) = (file("hook.csr"), file("hook.key"), file("hook.pem"), file("hook.ext"));
    openssl(&[&["req"], &no_password[..], &["-subj", "/CN=127.0.0.1", "-keyout", &key, "-out", &csr]].concat());
    std::fs::write(&ext, "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n").expect("ext");
    openssl(&[
        "x509",
        "-req",
        "-in",
        &csr,
        "-CA",
        &ca,
        "-CAkey",
        &ca_key,
        "-CAcreateserial",
        "-days",
        "2",
        "-out",
        &cert,
        "-extfile",
        &ext,
    ]);
    let script = r#"
import http.server, json, ssl, sys
class Hook(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(200); self.send_header("Content-Length", "0"); self.end_headers()
        print(json.dumps({"path": self.path, "signature": self.headers["X-Gridwatch-Signature"], "body": body.decode()}), flush=True)
    def log_message(self, *args): pass
server = http.server.HTTPServer(("127.0.0.1", 0), Hook)
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER); context.load_cert_chain(sys.argv[1], sys.argv[2])
server.socket = context.wrap_socket(server.socket, server_side=True)
print(server.server_address[1], flush=True)
server.serve_forever()
"#;
    let python = std::env::var("GRIDWATCH_PYTHON").unwrap_or_else(|_| "python3".into());
    let mut child = std::process::Command::new(python)
        .args(["-c", script])
        .args([&cert, &key])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python runs");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let port = lines.next().and_then(Result::ok).expect("the receiver's port");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            if let Ok(v) = serde_json::from_str::<Value>(&line) {
                let _ = tx.send(v);
            }
        }
    });
    (format!("https://127.0.0.1:{}/hooks/gridwatch?city=dc", port.trim()), ca.into(), child, rx)
}

#[test]
fn the_webhook_posts_over_https_to_a_receiver_the_system_trusts() {
    let dir = common::scratch("escalation-https");
    let (hook, cert, mut receiver, deliveries) = https_receiver(&dir);
    // The city's own CA is trusted the way the system's store is extended: SSL_CERT_FILE.
    let server = Server::start_with_env(
        &format!("sqlite://{}", dir.join("g.db").display()),
        &[&FAST_CLOCK[..], &["--webhook-url", &hook, "--webhook-secret", "tls-s3cret"]].concat(),
        &[("SSL_CERT_FILE", &cert.display().to_string())],
    );
    // Cases change colour as the simulated clock runs (a dispatched one turns blue within
    // seconds): each change comes over TLS, signed.
    dispatched_case(&server);
    let delivery = deliveries.recv_timeout(Duration::from_secs(30));
    let _ = receiver.kill();
    drop(server);
    let delivery = delivery.expect("a delivery over https");
    assert_eq!(delivery["path"], "/hooks/gridwatch?city=dc");
    let body = delivery["body"].as_str().expect("body");
    assert_eq!(
        delivery["signature"].as_str(),
        Some(format!("sha256={}", common::hmac_hex(b"tls-s3cret", body.as_bytes())).as_str())
    );
    let change: Value = serde_json::from_str(body).expect("a colour change");
    assert!(change["problem_id"].is_i64() && change["to"].is_string(), "{change}");
}
