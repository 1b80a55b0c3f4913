//! Shared harness: the real binary, a fresh PostGIS database per test, and a tiny HTTP client.
#![allow(dead_code)]

pub mod camera;

use serde_json::Value;
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

static COUNTER: AtomicUsize = AtomicUsize::new(0);

pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root").to_path_buf()
}

/// The real-world test data: `$GRIDWATCH_SHARED_DATA/NAME`, by default `../shared/data/NAME`
/// beside the repository.
pub fn shared_data(name: &str) -> PathBuf {
    let dir = std::env::var("GRIDWATCH_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|_| workspace().join("../shared/data"));
    let path = dir.join(name);
    assert!(path.exists(), "{} is missing: the shared test data must sit beside the repository", path.display());
    path
}

/// The gridwatch binary built by `cargo build` (scripts/test.sh builds it first).
pub fn binary() -> PathBuf {
    if let Ok(bin) = std::env::var("GRIDWATCH_BIN") {
        return bin.into();
    }
    let target = std::env::var("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|_| workspace().join("target"));
    let bin = target.join("debug/gridwatch");
    assert!(bin.exists(), "{} not found: run `cargo build -p gridwatch` first", bin.display());
    bin
}

/// Runs `gridwatch ARGS…` to completion.
pub fn gridwatch(args: &[&str], database_url: Option<&str>) -> Output {
    let mut cmd = Command::new(binary());
    cmd.args(args).env_remove("GRIDWATCH_DATABASE_URL").env("GRIDWATCH_LOG", "warn");
    if let Some(url) = database_url {
        cmd.env("GRIDWATCH_DATABASE_URL", url);
    }
    cmd.output().expect("gridwatch runs")
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A private scratch directory.
pub fn scratch(label: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "gw-e2e-{label}-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// Which database a test runs on.
pub enum Backend {
    Sqlite(PathBuf),
    Postgres(PgDatabase),
}

impl Backend {
    pub fn url(&self) -> String {
        match self {
            Backend::Sqlite(dir) => format!("sqlite://{}", dir.join("gridwatch.db").display()),
            Backend::Postgres(db) => db.url(),
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Backend::Sqlite(_) => "sqlite",
            Backend::Postgres(_) => "postgis",
        }
    }

    pub fn both(label: &str) -> [Backend; 2] {
        [Backend::Sqlite(scratch(label)), Backend::Postgres(PgDatabase::fresh())]
    }
}

pub fn admin_url() -> String {
    std::env::var("GRIDWATCH_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// A brand-new PostgreSQL database, dropped when this value is.
pub struct PgDatabase {
    pub name: String,
}

impl PgDatabase {
    pub fn fresh() -> Self {
        let name = format!("gw_e2e_{}_{}", std::process::id(), COUNTER.fetch_add(1, Ordering::SeqCst));
        psql(&admin_url(), &format!("DROP DATABASE IF EXISTS {name}"));
        psql(&admin_url(), &format!("CREATE DATABASE {name}"));
        Self { name }
    }

    pub fn url(&self) -> String {
        let admin = admin_url();
        let (base, _) = admin.rsplit_once('/').expect("URL with a database");
        format!("{base}/{}", self.name)
    }

    /// Runs SQL in this database and returns psql's unaligned output.
    pub fn sql(&self, sql: &str) -> String {
        psql(&self.url(), sql)
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let _ = Command::new("psql")
            .args([&admin_url(), "-qAtc", &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name)])
            .output();
    }
}

/// psql -At (unaligned, tuples only), stopping on the first error.
pub fn psql(url: &str, sql: &str) -> String {
    let out = Command::new("psql")
        .args([url, "-v", "ON_ERROR_STOP=1", "-qAt", "-c", sql])
        .output()
        .expect("psql runs (PostgreSQL client)");
    assert!(out.status.success(), "psql failed: {}\n{}", text(&out.stderr), sql.chars().take(300).collect::<String>());
    text(&out.stdout)
}

/// Runs a SQL file through psql.
pub fn psql_file(url: &str, file: &Path) -> String {
    let out =
        Command::new("psql").args([url, "-v", "ON_ERROR_STOP=1", "-qAt", "-f"]).arg(file).output().expect("psql runs");
    assert!(out.status.success(), "psql -f {} failed: {}", file.display(), text(&out.stderr));
    text(&out.stdout)
}

/// A running `gridwatch serve`, killed when dropped. Requests carry `token` unless told otherwise.
pub struct Server {
    child: Child,
    pub base: String,
    /// Demo tokens by role, when the server seeded the demo.
    pub tokens: HashMap<String, String>,
    /// Demo sign-ins by role (user name, password), when the server seeded the demo.
    pub logins: HashMap<String, (String, String)>,
    pub token: Option<String>,
}

impl Server {
    /// Signs a demo role in (as a person would, with the password the demo printed) and returns
    /// the session token.
    pub fn session(&self, role: &str) -> String {
        let (user, password) = &self.logins[role];
        let body = serde_json::json!({"username": user, "password": password}).to_string();
        let (status, answer) = self.post_as(None, "/api/v1/auth/login", &body);
        assert_eq!(status, 200, "{role} signs in: {answer}");
        answer["token"].as_str().expect("token").to_string()
    }

    /// Takes a step of case `id` that must succeed; returns the case after it.
    pub fn act(&self, token: &str, id: i64, body: Value) -> Value {
        let (status, after) =
            self.post_as(Some(token), &format!("/api/v1/problems/{id}/transitions"), &body.to_string());
        assert_eq!(status, 200, "{body}: {after}");
        after
    }

    pub fn start(database_url: &str, extra: &[&str]) -> Self {
        Self::start_with_env(database_url, extra, &[])
    }

    /// `start` with more environment variables for the server (secrets that take no flag).
    pub fn start_with_env(database_url: &str, extra: &[&str], env: &[(&str, &str)]) -> Self {
        let mut child = Command::new(binary())
            .args(["serve", "--listen", "127.0.0.1:0", "--reload-seconds", "1"])
            .args(extra)
            .env("GRIDWATCH_DATABASE_URL", database_url)
            .env("GRIDWATCH_LOG", "warn")
            // Uploads go to a scratch folder unless the test names one (--media-dir wins).
            .env("GRIDWATCH_MEDIA_DIR", scratch("media"))
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("gridwatch serve starts");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let (mut tokens, mut logins) = (HashMap::new(), HashMap::new());
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let words: Vec<&str> = line.split_whitespace().collect();
                if let ["demo", "token", role, .., token] = words.as_slice() {
                    tokens.insert(role.to_string(), token.to_string());
                }
                if let ["demo", "login", role, user, password] = words.as_slice() {
                    logins.insert(role.to_string(), (user.to_string(), password.to_string()));
                }
                if let Some(rest) = line.split("listening on ").nth(1) {
                    let base = rest.split_whitespace().next().unwrap_or("").to_string();
                    let _ = tx.send((base, std::mem::take(&mut tokens), std::mem::take(&mut logins)));
                }
            }
        });
        let (base, tokens, logins) =
            rx.recv_timeout(Duration::from_secs(60)).expect("server announces its address within 60 s");
        let token = tokens.get("admin").cloned();
        Self { child, base, tokens, logins, token }
    }

    /// The demo token of a role.
    pub fn token_of(&self, role: &str) -> String {
        self.tokens.get(role).cloned().unwrap_or_else(|| panic!("no demo token for {role}: {:?}", self.tokens.keys()))
    }

    /// GET with a given token (or none).
    pub fn get_as(&self, token: Option<&str>, path: &str) -> (u16, Value) {
        respond(with_token(ureq::get(&self.url(path)), token).call())
    }

    /// POST JSON with a given token (or none).
    pub fn post_as(&self, token: Option<&str>, path: &str, body: &str) -> (u16, Value) {
        respond(
            with_token(ureq::post(&self.url(path)), token).set("Content-Type", "application/json").send_string(body),
        )
    }

    /// Any method with a JSON body (or none) and a given token.
    pub fn send_as(&self, method: &str, token: Option<&str>, path: &str, body: Option<&str>) -> (u16, Value) {
        let request = with_token(ureq::request(method, &self.url(path)), token);
        match body {
            Some(b) => respond(request.set("Content-Type", "application/json").send_string(b)),
            None => respond(request.call()),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn get(&self, path: &str) -> (u16, Value) {
        self.get_as(self.token.as_deref(), path)
    }

    pub fn post_json(&self, path: &str, body: &str) -> (u16, Value) {
        self.post_as(self.token.as_deref(), path, body)
    }

    /// Every problem the server's token may see, following the queue's `next` links.
    pub fn all_problems(&self) -> Vec<Value> {
        let mut out = Vec::new();
        let mut next = Some("/api/v1/problems?limit=1000".to_string());
        while let Some(path) = next {
            let (status, page) = self.get(&path);
            assert_eq!(status, 200, "{page}");
            out.extend(page["problems"].as_array().cloned().unwrap_or_default());
            next = page["next"].as_str().map(String::from);
        }
        out
    }

    /// A GET answered with bytes (tiles): status, ETag, media type and body.
    pub fn fetch(&self, token: Option<&str>, path: &str, if_none_match: Option<&str>) -> Fetched {
        let mut request = with_token(ureq::get(&self.url(path)), token);
        if let Some(tag) = if_none_match {
            request = request.set("If-None-Match", tag);
        }
        let response = match request.call() {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(e) => panic!("HTTP transport error: {e}"),
        };
        let status = response.status();
        let etag = response.header("etag").map(str::to_string);
        let content_type = response.header("content-type").map(str::to_string);
        let mut body = Vec::new();
        std::io::Read::read_to_end(&mut response.into_reader(), &mut body).expect("body");
        Fetched { status, etag, content_type, body }
    }

    /// The status of a server-sent-event endpoint (headers only: the stream itself never ends).
    pub fn stream_status(&self, token: Option<&str>, path: &str) -> u16 {
        match with_token(ureq::get(&self.url(path)), token).timeout(Duration::from_secs(5)).call() {
            Ok(r) => r.status(),
            Err(ureq::Error::Status(code, _)) => code,
            Err(e) => panic!("{path}: {e}"),
        }
    }

    /// SIGKILL: no shutdown, no flushing, as a power cut or an OOM kill would do.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// The server process's id (to send it a signal).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Opens the case stream (`/api/v1/problems/stream`) as `token` on a raw connection, with
    /// `extra` header lines (each ending in CRLF); the caller reads the answer.
    pub fn open_stream(&self, token: &str, extra: &str) -> std::net::TcpStream {
        use std::io::Write;
        let address = self.base.trim_start_matches("http://").to_string();
        let mut stream = std::net::TcpStream::connect(&address).expect("connect");
        write!(
            stream,
            "GET /api/v1/problems/stream HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {token}\r\n{extra}\r\n"
        )
        .expect("request");
        stream
    }

    /// Waits up to `within` for the process to exit; its status, or None while it still runs.
    pub fn exited_within(&mut self, within: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A raw answer (see [`Server::fetch`]).
pub struct Fetched {
    pub status: u16,
    pub etag: Option<String>,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
}

/// Every value of one attribute, as `ogrinfo` prints features (`  code (String) = …`).
pub fn ogr_values(listing: &str, field: &str) -> Vec<String> {
    let prefix = format!("  {field} (");
    listing
        .lines()
        .filter(|l| l.starts_with(&prefix))
        .filter_map(|l| l.split_once(" = ").map(|(_, v)| v.trim().to_string()))
        .collect()
}

/// The Web Mercator tile column and row of a position at zoom `z`.
pub fn tile_of(lon: f64, lat: f64, z: u32) -> (u32, u32) {
    let n = f64::from(1u32 << z);
    let r = lat.to_radians();
    let x = ((lon + 180.0) / 360.0 * n).floor() as u32;
    let y = ((1.0 - (r.tan() + 1.0 / r.cos()).ln() / std::f64::consts::PI) / 2.0 * n).floor() as u32;
    (x, y)
}

fn with_token(request: ureq::Request, token: Option<&str>) -> ureq::Request {
    match token {
        Some(t) => request.set("Authorization", &format!("Bearer {t}")),
        None => request,
    }
}

pub fn respond(result: Result<ureq::Response, ureq::Error>) -> (u16, Value) {
    let response = match result {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("HTTP transport error: {e}"),
    };
    let status = response.status();
    let body = response.into_string().expect("body");
    if body.is_empty() {
        return (status, Value::Null);
    }
    let value = serde_json::from_str(&body).unwrap_or_else(|_| panic!("status {status}: body is not JSON: {body}"));
    (status, value)
}

/// Waits until `check` holds or the time is up.
pub fn eventually(seconds: u64, mut check: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + Duration::from_secs(seconds);
    while Instant::now() < end {
        if check() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    false
}

/// POSTs a body with any content type.
pub fn text_post(server: &Server, path: &str, content_type: &str, body: &str) -> (u16, Value) {
    respond(
        with_token(ureq::post(&server.url(path)), server.token.as_deref())
            .set("Content-Type", content_type)
            .send_string(body),
    )
}

/// Creates a user with the CLI and returns a fresh token for it.
pub fn user_with_token(database_url: &str, name: &str, args: &[&str]) -> String {
    let mut add = vec!["user", "add", name];
    add.extend_from_slice(args);
    let out = gridwatch(&add, Some(database_url));
    assert!(out.status.success(), "user add: {}", text(&out.stderr));
    let out = gridwatch(&["token", "create", name], Some(database_url));
    assert!(out.status.success(), "token create: {}", text(&out.stderr));
    text(&out.stdout).trim().to_string()
}

/// A point inside a grid feature (the mean of its first ring's vertices; grids are convex enough).
pub fn inside(feature: &Value) -> (f64, f64) {
    let ring = feature["geometry"]["coordinates"][0].as_array().cloned().unwrap_or_default();
    let ring = if feature["geometry"]["type"] == "MultiPolygon" {
        feature["geometry"]["coordinates"][0][0].as_array().cloned().unwrap_or_default()
    } else {
        ring
    };
    let n = (ring.len() - 1) as f64;
    let sum = ring[..ring.len() - 1]
        .iter()
        .fold((0.0, 0.0), |(x, y), p| (x + p[0].as_f64().unwrap_or(0.0), y + p[1].as_f64().unwrap_or(0.0)));
    (sum.0 / n, sum.1 / n)
}

/// POSTs a multipart form with these fields and then `file` (as a phone's outbox sends photos);
/// status and JSON answer. A transport error (the server closing while the client still sends)
/// fails the test: the client must always read the server's answer.
pub fn upload_form(
    server: &Server,
    token: &str,
    path: &str,
    fields: &[(&str, &str)],
    name: &str,
    bytes: &[u8],
) -> (u16, Value) {
    upload_form_with(server, token, path, fields, name, bytes, &[])
}

/// [`upload_form`] with extra headers (an `Idempotency-Key`).
pub fn upload_form_with(
    server: &Server,
    token: &str,
    path: &str,
    fields: &[(&str, &str)],
    name: &str,
    bytes: &[u8],
    headers: &[(&str, &str)],
) -> (u16, Value) {
    let boundary = format!("gridwatch-test-boundary-{}", COUNTER.fetch_add(1, Ordering::SeqCst));
    let mut body = Vec::new();
    for (field, value) in fields {
        body.extend(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"\r\n\r\n{value}\r\n").bytes(),
        );
    }
    body.extend(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n\
             Content-Type: application/octet-stream\r\n\r\n"
        )
        .bytes(),
    );
    body.extend_from_slice(bytes);
    body.extend(format!("\r\n--{boundary}--\r\n").bytes());
    let mut request = ureq::post(&server.url(path))
        .set("Authorization", &format!("Bearer {token}"))
        .set("Content-Type", &format!("multipart/form-data; boundary={boundary}"));
    for (name, value) in headers {
        request = request.set(name, value);
    }
    match request.send_bytes(&body) {
        Ok(r) => (r.status(), r.into_json().unwrap_or(Value::Null)),
        Err(ureq::Error::Status(code, r)) => (code, r.into_json().unwrap_or(Value::Null)),
        Err(e) => panic!("upload failed: {e}"),
    }
}

/// A small JPEG without EXIF (as a screenshot would be); each `blue` a different file.
pub fn small_jpeg(blue: u8) -> Vec<u8> {
    let picture = image::RgbImage::from_fn(64, 48, |x, y| image::Rgb([(x * 4) as u8, (y * 5) as u8, blue]));
    let mut bytes = std::io::Cursor::new(Vec::new());
    picture.write_to(&mut bytes, image::ImageFormat::Jpeg).expect("jpeg");
    bytes.into_inner()
}

/// A PDF's text, read by poppler's pdftotext (an independent reader).
pub fn pdf_text(pdf: &[u8], name: &str) -> String {
    let file = scratch(name).join("doc.pdf");
    std::fs::write(&file, pdf).expect("write");
    let read =
        Command::new("pdftotext").args(["-layout", &file.to_string_lossy(), "-"]).output().expect("pdftotext runs");
    assert!(read.status.success(), "{}", text(&read.stderr));
    text(&read.stdout)
}

/// A raw HTTP/1.1 message's head (to the blank line), as a test server or client reads it.
pub fn read_head(reader: &mut impl BufRead) -> String {
    let mut head = String::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
            return head;
        }
        head.push_str(&line);
    }
}

/// A raw HTTP/1.1 request: its head and its body (by `Content-Length`).
pub fn read_request(reader: &mut impl BufRead) -> (String, Vec<u8>) {
    let head = read_head(reader);
    let length = head
        .lines()
        .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse().unwrap_or(0)))
        .unwrap_or(0);
    let mut body = vec![0u8; length];
    let _ = std::io::Read::read_exact(reader, &mut body);
    (head, body)
}

/// A place inside the first grid of the demo unit (东华门街道办事处) that `token` may see: for an
/// officer, one of their own grids.
pub fn demo_unit_place(server: &Server, token: &str) -> (f64, f64) {
    let (_, grids) = server.get_as(Some(token), "/api/v1/layers/grids?level=grid");
    let grid = grids["features"]
        .as_array()
        .and_then(|g| g.iter().find(|f| f["properties"]["responsible_unit"] == "东华门街道办事处").cloned())
        .expect("a grid of the demo unit");
    inside(&grid)
}

/// HMAC-SHA256 as hex, written out here from SHA-256 alone, so that the server's webhook
/// signatures are checked independently of its own code.
pub fn hmac_hex(key: &[u8], message: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    let mut k = [0u8; 64];
    k[..key.len()].copy_from_slice(key);
    let ipad: Vec<u8> = k.iter().map(|b| b ^ 0x36).collect();
    let opad: Vec<u8> = k.iter().map(|b| b ^ 0x5c).collect();
    let inner = Sha256::digest([ipad.as_slice(), message].concat());
    hex::encode(Sha256::digest([opad.as_slice(), inner.as_slice()].concat()))
}

/// Reads a workbook the server sent with openpyxl (a real XLSX reader, from the test venv):
/// `script` gets the book as `book` and prints what the test checks; its lines are returned.
pub fn openpyxl(bytes: &[u8], label: &str, script: &str) -> Vec<String> {
    let file = scratch(label).join("book.xlsx");
    std::fs::write(&file, bytes).expect("write the workbook");
    let python = std::env::var("GRIDWATCH_PYTHON").unwrap_or_else(|_| "python3".into());
    let program = format!("import sys, openpyxl\nbook = openpyxl.load_workbook(sys.argv[1])\n{script}");
    let out = Command::new(python).args(["-c", &program]).arg(&file).output().expect("python runs");
    assert!(out.status.success(), "openpyxl on {label}: {}", text(&out.stderr));
    text(&out.stdout).lines().map(str::to_string).collect()
}
