//! Sign-in for people (issue 22): each demo role signs in with the printed user name and
//! password; a wrong password and an unknown user look and take the same; the sixth failure in
//! a row is refused; sessions end on sign-out and on an admin's reset; a password an admin set
//! must be changed before anything else. On both backends, and from the command line.

mod common;

use common::{gridwatch, text, Backend, Server};
use serde_json::{json, Value};
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn login(server: &Server, user: &str, password: &str) -> (u16, Value) {
    server.post_as(None, "/api/v1/auth/login", &json!({"username": user, "password": password}).to_string())
}

/// A failed sign-in's answer and how long it took.
fn timed_login(server: &Server, user: &str, password: &str) -> (u16, Value, Duration) {
    let started = Instant::now();
    let (status, body) = login(server, user, password);
    (status, body, started.elapsed())
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn scenario(backend: &Backend) {
    let name = backend.name();
    let server = Server::start(&backend.url(), &["--demo"]);
    let roles = ["admin", "dispatcher", "office", "officer", "unit"];
    for role in roles {
        let (user, password) = server.logins.get(role).unwrap_or_else(|| panic!("{name}: a demo login for {role}"));
        let (status, session) = login(&server, user, password);
        assert_eq!(status, 200, "{name}: {role} signs in: {session}");
        assert_eq!((session["user"].as_str(), session["role"].as_str()), (Some(user.as_str()), Some(role)));
        assert!(session["expires_at"].as_str().is_some_and(|t| t.starts_with("20")), "{session}");
        let token = session["token"].as_str().expect("a session token");
        let (status, me) = server.get_as(Some(token), "/api/v1/me");
        assert_eq!((status, me["name"].as_str()), (200, Some(user.as_str())), "{name}: the session is {user}'s");
    }
    assert!(!server.logins.contains_key("app"), "{name}: the citizen app signs in with its key, not a password");

    // A wrong password and an unknown user: the same 401, the same body, the same time.
    let (officer, officer_password) = server.logins["officer"].clone();
    let (mut wrong, mut unknown) = (Vec::new(), Vec::new());
    for _ in 0..3 {
        let (status, body, took) = timed_login(&server, &officer, "not-the-password");
        assert_eq!((status, body["error"]["code"].as_str()), (401, Some("invalid_credentials")), "{name}: {body}");
        wrong.push((body, took));
        let (status, body, took) = timed_login(&server, "nobody-at-all", "not-the-password");
        assert_eq!(status, 401, "{name}: {body}");
        unknown.push((body, took));
    }
    assert_eq!(wrong[0].0, unknown[0].0, "{name}: an unknown user gets exactly the wrong password's answer");
    let (wrong, unknown) = (median(wrong.iter().map(|w| w.1).collect()), median(unknown.iter().map(|u| u.1).collect()));
    let ratio = wrong.as_secs_f64() / unknown.as_secs_f64();
    assert!((0.5..2.0).contains(&ratio), "{name}: wrong password {wrong:?} vs unknown user {unknown:?}");

    // Two more failures make five in a row; the sixth try is refused, even with the right password.
    for _ in 0..2 {
        assert_eq!(login(&server, &officer, "still-not-it").0, 401);
    }
    let (status, refused) = login(&server, &officer, &officer_password);
    assert_eq!((status, refused["error"]["code"].as_str()), (429, Some("too_many_sign_ins")), "{name}: {refused}");
    assert!(refused["error"]["details"]["retry_after_seconds"].as_u64().is_some_and(|s| s > 0), "{refused}");
    let (dispatcher, dispatcher_password) = server.logins["dispatcher"].clone();
    assert_eq!(login(&server, &dispatcher, &dispatcher_password).0, 200, "{name}: other users still sign in");

    // Sign-out ends the session at once; an API token is not a session.
    let (_, session) = login(&server, &dispatcher, &dispatcher_password);
    let token = session["token"].as_str().expect("token").to_string();
    assert_eq!(server.get_as(Some(&token), "/api/v1/problems?limit=1").0, 200);
    assert_eq!(server.post_as(Some(&token), "/api/v1/auth/logout", "").0, 204, "{name}: signed out");
    let (status, after) = server.get_as(Some(&token), "/api/v1/problems?limit=1");
    assert_eq!((status, after["error"]["code"].as_str()), (401, Some("invalid_token")), "{name}: {after}");
    let (status, body) = server.post_as(Some(&server.token_of("dispatcher")), "/api/v1/auth/logout", "");
    assert_eq!((status, body["error"]["code"].as_str()), (400, Some("not_a_session")), "{name}: {body}");

    // An admin resets the unit's password: its open sessions end, the new one must be changed
    // before anything else works, and then it does.
    let (unit, unit_password) = server.logins["unit"].clone();
    let (_, unit_session) = login(&server, &unit, &unit_password);
    let old = unit_session["token"].as_str().expect("token").to_string();
    let (status, body) = server.post_as(Some(&old), &format!("/api/v1/users/{unit}/password"), "{}");
    assert_eq!(status, 403, "{name}: only an admin resets passwords: {body}");
    let (_, admin) = login(&server, &server.logins["admin"].0, &server.logins["admin"].1);
    let admin = admin["token"].as_str().expect("token").to_string();
    let (status, reset) = server.post_as(Some(&admin), &format!("/api/v1/users/{unit}/password"), "{}");
    assert_eq!((status, reset["must_change"].as_bool()), (200, Some(true)), "{name}: {reset}");
    let made = reset["password"].as_str().expect("a password made for the user").to_string();
    assert_eq!(server.get_as(Some(&old), "/api/v1/problems?limit=1").0, 401, "{name}: the reset ends old sessions");
    assert_eq!(login(&server, &unit, &unit_password).0, 401, "{name}: the old password is gone");
    let (status, session) = login(&server, &unit, &made);
    assert_eq!((status, session["must_change_password"].as_bool()), (200, Some(true)), "{name}: {session}");
    let token = session["token"].as_str().expect("token").to_string();
    let (status, body) = server.get_as(Some(&token), "/api/v1/problems?limit=1");
    assert_eq!((status, body["error"]["code"].as_str()), (403, Some("password_change_required")), "{name}: {body}");
    let change = |current: &str, new: &str| {
        server.post_as(
            Some(&token),
            "/api/v1/auth/password",
            &json!({"current_password": current, "new_password": new}).to_string(),
        )
    };
    assert_eq!(change("wrong", "东华门-整改-2026").0, 403, "{name}: the current password is asked for");
    let (status, body) = change(&made, "short");
    assert_eq!((status, body["error"]["code"].as_str()), (422, Some("invalid_body")), "{name}: {body}");
    assert_eq!(change(&made, "东华门-整改-2026").0, 204, "{name}: changed");
    assert_eq!(server.get_as(Some(&token), "/api/v1/problems?limit=1").0, 200, "{name}: the session works now");
    assert_eq!(login(&server, &unit, "东华门-整改-2026").0, 200, "{name}: and the new password signs in");
    // A stolen session cannot guess the current password either: confirmations count as sign-ins.
    for _ in 0..5 {
        assert_eq!(change("a-guess-1234", "东华门-整改-2027").0, 403);
    }
    let (status, body) = change("东华门-整改-2026", "东华门-整改-2027");
    assert_eq!((status, body["error"]["code"].as_str()), (429, Some("too_many_sign_ins")), "{name}: {body}");

    // Bad bodies are named 4xx, never a 500.
    for body in ["{", "[]", r#"{"username":"a"}"#, r#"{"username":"a","password":"b","extra":1}"#] {
        let (status, answer) = server.post_as(None, "/api/v1/auth/login", body);
        assert!(status == 400 || status == 422, "{name}: {body} → {status} {answer}");
    }
    drop(server);

    // From the command line: a password piped in, never an argument.
    let url = backend.url();
    let with_password = |args: &[&str], password: &str| {
        let mut child = Command::new(common::binary())
            .args(args)
            .env("GRIDWATCH_DATABASE_URL", &url)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("gridwatch runs");
        child.stdin.take().expect("stdin").write_all(format!("{password}\n").as_bytes()).expect("password sent");
        child.wait_with_output().expect("gridwatch ends")
    };
    let out = with_password(
        &["user", "add", "zhao.min", "--role", "officer", "--scope", "110101001001", "--password-stdin"],
        "多福巷-巡查-01",
    );
    assert!(out.status.success(), "{name}: {}", text(&out.stderr));
    let out = with_password(
        &["user", "add", "qian.li", "--role", "officer", "--scope", "110101", "--password-stdin"],
        "short",
    );
    assert!(!out.status.success() && text(&out.stderr).contains("8 to 128"), "{name}: {}", text(&out.stderr));
    let listed = gridwatch(&["user", "list"], Some(&url));
    assert!(!text(&listed.stdout).contains("qian.li"), "{name}: a refused password adds no user");
    let out = with_password(&["user", "passwd", "demo-office"], "督查室-新密码-9");
    assert!(out.status.success(), "{name}: {}", text(&out.stderr));
    let server = Server::start(&url, &[]);
    assert_eq!(login(&server, "zhao.min", "多福巷-巡查-01").0, 200, "{name}: a user added with a password signs in");
    assert_eq!(login(&server, "demo-office", "督查室-新密码-9").0, 200, "{name}: passwd set the password");
}

#[test]
fn people_sign_in_with_passwords_on_both_backends() {
    for backend in Backend::both("signin") {
        scenario(&backend);
    }
}
