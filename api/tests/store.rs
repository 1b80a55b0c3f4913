//! Storage behaviour, run against both backends: PostGIS (a fresh database per test) and the
//! embedded SQLite file. Both must behave identically.

use geo::polygon;
use gridwatch::domain::auth::{hash_token, Actor, Role};
use gridwatch::domain::problem::{Class, NewProblem, Source};
use gridwatch::domain::workflow::calendar::WorkingCalendar;
use gridwatch::domain::workflow::case::{apply, Request, Rules};
use gridwatch::domain::workflow::catalogue::default_catalogue;
use gridwatch::domain::workflow::confirmation::Confirmation;
use gridwatch::domain::workflow::state::{Action, State};
use gridwatch::store::{connect, AreaFilter, BBox, NewUser, Store, StoreError};
use spatial::{Grid, GridLevel, MultiPolygon};
use sqlx::Connection;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use time::macros::datetime;

static COUNTER: AtomicUsize = AtomicUsize::new(0);

fn postgres_admin_url() -> String {
    std::env::var("GRIDWATCH_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// A store on a brand-new database, dropped again by [`TestDb::finish`].
struct TestDb {
    store: Arc<Store>,
    postgres_db: Option<String>,
    sqlite_dir: Option<std::path::PathBuf>,
}

impl TestDb {
    async fn sqlite() -> Self {
        let dir = std::env::temp_dir().join(format!(
            "gw-store-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        ));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let url = format!("sqlite://{}", dir.join("test.db").display());
        Self { store: connect(&url).await.expect("sqlite store"), postgres_db: None, sqlite_dir: Some(dir) }
    }

    async fn postgres() -> Self {
        let admin = postgres_admin_url();
        let name = format!("gw_store_{}_{}", std::process::id(), COUNTER.fetch_add(1, Ordering::SeqCst));
        let mut conn =
            sqlx::PgConnection::connect(&admin).await.expect("PostgreSQL must be reachable for the storage tests");
        sqlx::query(&format!("DROP DATABASE IF EXISTS {name}")).execute(&mut conn).await.expect("drop");
        sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut conn).await.expect("create database");
        let (base, _) = admin.rsplit_once('/').expect("URL with a database name");
        let store =
            connect(&format!("{base}/{name}")).await.expect("PostGIS store (is postgresql-15-postgis-3 installed?)");
        Self { store, postgres_db: Some(name), sqlite_dir: None }
    }

    async fn finish(self) {
        drop(self.store);
        if let Some(name) = self.postgres_db {
            if let Ok(mut conn) = sqlx::PgConnection::connect(&postgres_admin_url()).await {
                let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut conn).await;
            }
        }
        if let Some(dir) = self.sqlite_dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// Runs a scenario on both backends; assertion messages name the backend.
macro_rules! on_both_backends {
    ($scenario:ident) => {
        for db in [TestDb::sqlite().await, TestDb::postgres().await] {
            $scenario(db.store.as_ref()).await;
            db.finish().await;
        }
    };
}

/// Imports as the command line would.
trait ImportAsCli {
    async fn import_grids_as_cli(
        &self,
        grids: &[Grid],
        now: time::OffsetDateTime,
    ) -> Result<gridwatch::store::ImportSummary, StoreError>;
}

impl ImportAsCli for &Store {
    async fn import_grids_as_cli(
        &self,
        grids: &[Grid],
        now: time::OffsetDateTime,
    ) -> Result<gridwatch::store::ImportSummary, StoreError> {
        self.import_grids(grids, now, &Actor::cli(), false).await
    }
}

fn square(x: f64, y: f64, size: f64) -> MultiPolygon<f64> {
    MultiPolygon(vec![
        polygon![(x: x, y: y), (x: x + size, y: y), (x: x + size, y: y + size), (x: x, y: y + size), (x: x, y: y)],
    ])
}

fn grid(code: &str, x: f64, size: f64) -> Grid {
    Grid {
        name: Some(format!("grid {code}")),
        level: Some(GridLevel::Grid),
        responsible_unit: Some("东华门街道办事处".into()),
        ..Grid::new(code, square(x, 39.9, size))
    }
}

fn problem(lon: f64, lat: f64) -> NewProblem {
    NewProblem {
        lon,
        lat,
        category: "暴露垃圾".into(),
        description: "路边垃圾".into(),
        source: Source::Hotline,
        grid_code: Some("A".into()),
        grid_version: Some(1),
        responsible_unit: Some("东华门街道办事处".into()),
        candidates: vec!["A".into(), "B".into()],
        status: State::Reported,
        created_at: datetime!(2026-11-20 08:30:00.123456 UTC),
        reported_by: Some("app-1".into()),
        class: default_catalogue().iter().find(|c| c.code == "E01001").map(Class::from),
        nearby: vec![gridwatch::domain::problem::NearbyGrid { code: "A".into(), distance_m: 0.0 }],
        likely_duplicates: vec![],
        origin: None,
        address: Some("东城区南河沿大街15号".into()),
        address_id: None,
        caller: Some(gridwatch::domain::problem::CallerContact { name: None, phone: "13800138000".into() }),
        // Stored and read back as it was linked at intake (反弹).
        recurrence: Some(gridwatch::domain::hotspots::Recurrence {
            of: 7,
            root: 3,
            distance_m: 12.5,
            unit: Some("环卫所".into()),
        }),
    }
}

async fn versions_scenario(store: &Store) {
    let t1 = datetime!(2026-01-01 00:00 UTC);
    let t2 = datetime!(2026-06-01 00:00 UTC);
    let backend = store.backend();
    assert_eq!(store.grid_revision().await.expect("revision"), 0, "{backend}");

    let first =
        store.import_grids_as_cli(&[grid("A", 116.0, 0.01), grid("B", 116.01, 0.01)], t1).await.expect("import");
    assert_eq!(first.created, 2, "{backend}");
    assert_eq!(store.grid_revision().await.expect("revision"), 1, "{backend}");

    // The same file again: nothing changes, not even the revision.
    let again =
        store.import_grids_as_cli(&[grid("A", 116.0, 0.01), grid("B", 116.01, 0.01)], t2).await.expect("import");
    assert_eq!((again.unchanged, again.created), (2, 0), "{backend}");
    assert_eq!(store.grid_revision().await.expect("revision"), 1, "{backend}");

    // A moved boundary opens version 2 and closes version 1; a renamed grid is updated in place.
    let mut renamed = grid("B", 116.01, 0.01);
    renamed.name = Some("renamed".into());
    let changed = store.import_grids_as_cli(&[grid("A", 116.0, 0.02), renamed], t2).await.expect("import");
    assert_eq!((changed.new_versions, changed.updated), (1, 1), "{backend}");
    assert_eq!(store.grid_revision().await.expect("revision"), 2, "{backend}");

    let versions = store.grid_versions("A").await.expect("versions");
    assert_eq!(versions.len(), 2, "{backend}");
    assert_eq!((versions[0].version, versions[0].valid_to), (1, Some(t2)), "{backend}");
    assert_eq!((versions[1].version, versions[1].valid_from, versions[1].valid_to), (2, t2, None), "{backend}");
    assert_eq!(versions[0].grid.geometry, square(116.0, 39.9, 0.01), "{backend}: the old boundary is kept");
    assert_eq!(versions[1].grid.geometry, square(116.0, 39.9, 0.02), "{backend}: geometry must round-trip exactly");

    // As of a date between the two versions, the first boundary is the one in force.
    let then = store
        .grids_in_bbox(None, None, Some(datetime!(2026-03-01 00:00 UTC)), &AreaFilter::default(), 10)
        .await
        .expect("as of");
    let a_then = then.iter().find(|g| g.grid.code == "A").expect("A then");
    assert_eq!((a_then.version, &a_then.grid.geometry), (1, &square(116.0, 39.9, 0.01)), "{backend}");
    let before = store
        .grids_in_bbox(None, None, Some(datetime!(2025-01-01 00:00 UTC)), &AreaFilter::default(), 10)
        .await
        .expect("as of");
    assert!(before.is_empty(), "{backend}: nothing existed yet");

    let current = store.current_grids().await.expect("current");
    assert_eq!(current.len(), 2, "{backend}");
    assert_eq!(current[1].grid.name.as_deref(), Some("renamed"), "{backend}");
    assert_eq!(current[1].version, 1, "{backend}");
}

async fn atomic_import_scenario(store: &Store) {
    let backend = store.backend();
    store.import_grids_as_cli(&[grid("A", 116.0, 0.01)], datetime!(2026-01-01 00:00 UTC)).await.expect("import");
    // The second "C" collides with the first inside one import: the whole import must roll back.
    let result = store
        .import_grids_as_cli(
            &[grid("B", 116.01, 0.01), grid("C", 116.02, 0.01), grid("C", 116.03, 0.01)],
            datetime!(2026-01-02 00:00 UTC),
        )
        .await;
    assert!(result.is_err(), "{backend}: duplicate codes in one import must fail");
    let codes: Vec<String> = store.current_grids().await.expect("current").into_iter().map(|g| g.grid.code).collect();
    assert_eq!(codes, ["A"], "{backend}: nothing of the failed import may remain");
    assert_eq!(store.grid_revision().await.expect("revision"), 1, "{backend}");
}

async fn bbox_scenario(store: &Store) {
    let backend = store.backend();
    let mut district = grid("110101", 116.0, 0.05);
    district.level = Some(GridLevel::District);
    store
        .import_grids_as_cli(
            &[district, grid("A", 116.0, 0.01), grid("B", 116.02, 0.01)],
            datetime!(2026-01-01 00:00 UTC),
        )
        .await
        .expect("import");
    let bbox = BBox { min_lon: 116.015, min_lat: 39.9, max_lon: 116.025, max_lat: 39.95 };
    let hits: Vec<String> = store
        .grids_in_bbox(Some(bbox), None, None, &AreaFilter::default(), 100)
        .await
        .expect("bbox")
        .into_iter()
        .map(|g| g.grid.code)
        .collect();
    assert_eq!(hits, ["110101", "B"], "{backend}");
    let units: Vec<String> = store
        .grids_in_bbox(Some(bbox), Some(GridLevel::Grid), None, &AreaFilter::default(), 100)
        .await
        .expect("bbox")
        .into_iter()
        .map(|g| g.grid.code)
        .collect();
    assert_eq!(units, ["B"], "{backend}");
    assert_eq!(
        store.grids_in_bbox(None, None, None, &AreaFilter::default(), 2).await.expect("limit").len(),
        2,
        "{backend}"
    );
}

async fn problems_scenario(store: &Store) {
    let backend = store.backend();
    assert_eq!(store.count_problems().await.expect("count"), 0, "{backend}");
    let stored = store
        .insert_problems(vec![problem(116.405, 39.905), problem(116.5, 39.95)], &Actor::cli())
        .await
        .expect("insert");
    assert_eq!(stored.len(), 2, "{backend}");
    assert!(stored[1].id > stored[0].id, "{backend}");
    let read = store.problem(stored[0].id).await.expect("read").expect("present");
    assert_eq!(read, stored[0], "{backend}: a problem must read back exactly as acknowledged");
    assert_eq!(read.candidates, ["A", "B"], "{backend}");
    assert!(store.problem(stored[1].id + 100).await.expect("read").is_none(), "{backend}");

    let bbox = BBox { min_lon: 116.4, min_lat: 39.9, max_lon: 116.41, max_lat: 39.91 };
    let inside = store.problems_in_bbox(Some(bbox), &AreaFilter::default(), 100).await.expect("bbox");
    assert_eq!(inside.iter().map(|p| p.id).collect::<Vec<_>>(), [stored[0].id], "{backend}");
    assert_eq!(store.count_problems().await.expect("count"), 2, "{backend}");
}

#[tokio::test]
async fn grid_versions_open_and_close() {
    on_both_backends!(versions_scenario);
}

#[tokio::test]
async fn a_failed_import_leaves_nothing_behind() {
    on_both_backends!(atomic_import_scenario);
}

#[tokio::test]
async fn grids_are_found_by_bbox_and_level() {
    on_both_backends!(bbox_scenario);
}

#[tokio::test]
async fn problems_read_back_exactly_as_acknowledged() {
    on_both_backends!(problems_scenario);
}

async fn area_filter_scenario(store: &Store) {
    let backend = store.backend();
    let mut other = grid("B", 116.02, 0.01);
    other.responsible_unit = Some("景山街道办事处".into());
    store.import_grids_as_cli(&[grid("A", 116.0, 0.01), other], datetime!(2026-01-01 00:00 UTC)).await.expect("import");
    let only_a = AreaFilter { grid_codes: Some(vec!["A".into()]), ..Default::default() };
    let codes = |g: Vec<gridwatch::store::StoredGrid>| g.into_iter().map(|g| g.grid.code).collect::<Vec<_>>();
    assert_eq!(codes(store.grids_in_bbox(None, None, None, &only_a, 10).await.expect("grids")), ["A"], "{backend}");
    let jingshan = AreaFilter { unit: Some("景山街道办事处".into()), ..Default::default() };
    assert_eq!(codes(store.grids_in_bbox(None, None, None, &jingshan, 10).await.expect("grids")), ["B"], "{backend}");
    let nothing = AreaFilter { grid_codes: Some(vec![]), ..Default::default() };
    assert!(store.grids_in_bbox(None, None, None, &nothing, 10).await.expect("grids").is_empty(), "{backend}");

    let mut in_b = problem(116.025, 39.905);
    in_b.grid_code = Some("B".into());
    in_b.responsible_unit = Some("景山街道办事处".into());
    in_b.reported_by = Some("app-2".into());
    store.insert_problems(vec![problem(116.005, 39.905), in_b], &Actor::cli()).await.expect("insert");
    let ids = |p: Vec<gridwatch::domain::problem::Problem>| {
        p.into_iter().map(|p| p.grid_code.unwrap_or_default()).collect::<Vec<_>>()
    };
    assert_eq!(ids(store.problems_in_bbox(None, &only_a, 10).await.expect("problems")), ["A"], "{backend}");
    assert_eq!(ids(store.problems_in_bbox(None, &jingshan, 10).await.expect("problems")), ["B"], "{backend}");
    let app2 = AreaFilter { reported_by: Some("app-2".into()), ..Default::default() };
    assert_eq!(ids(store.problems_in_bbox(None, &app2, 10).await.expect("problems")), ["B"], "{backend}");
    assert_eq!(store.problems_in_bbox(None, &AreaFilter::default(), 10).await.expect("problems").len(), 2, "{backend}");
}

async fn accounts_scenario(store: &Store) {
    let backend = store.backend();
    let now = datetime!(2026-11-20 08:00 UTC);
    let officer = NewUser { name: "wang".into(), role: Role::Officer, scope: vec!["110101001001".into()], unit: None };
    let created = store.create_user(officer.clone(), now, Actor::cli()).await.expect("user");
    assert_eq!((created.role, created.scope.clone()), (Role::Officer, vec!["110101001001".to_string()]), "{backend}");
    assert!(
        matches!(store.create_user(officer, now, Actor::cli()).await, Err(StoreError::Conflict(_))),
        "{backend}: names are unique"
    );

    let token = gridwatch::domain::auth::new_token().expect("token");
    let info = store
        .create_token(
            "wang".into(),
            hash_token(&token),
            Some("phone".into()),
            Some(now + time::Duration::days(1)),
            now,
            Actor::cli(),
        )
        .await
        .expect("token")
        .expect("user exists");
    assert!(store
        .create_token("nobody".into(), "x".into(), None, None, now, Actor::cli())
        .await
        .expect("ok")
        .is_none());
    let who = store.principal(hash_token(&token), now).await.expect("lookup").expect("valid token");
    assert_eq!((who.name.as_str(), who.role), ("wang", Role::Officer), "{backend}");
    assert!(store.principal(hash_token("gw_wrong"), now).await.expect("lookup").is_none(), "{backend}");
    assert!(
        store.principal(hash_token(&token), now + time::Duration::days(2)).await.expect("lookup").is_none(),
        "{backend}: expired tokens are refused"
    );

    assert!(store.revoke_token(info.id, now, Actor::cli()).await.expect("revoke"), "{backend}");
    assert!(store.principal(hash_token(&token), now).await.expect("lookup").is_none(), "{backend}: revoked");

    let second = gridwatch::domain::auth::new_token().expect("token");
    store.create_token("wang".into(), hash_token(&second), None, None, now, Actor::cli()).await.expect("token");
    assert!(store.principal(hash_token(&second), now).await.expect("lookup").is_some());
    assert!(store.revoke_user("wang".into(), now, Actor::cli()).await.expect("revoke"), "{backend}");
    assert!(store.principal(hash_token(&second), now).await.expect("lookup").is_none(), "{backend}: user revoked");
    assert_eq!(store.users().await.expect("users")[0].revoked_at, Some(now), "{backend}");

    // The audit log saw all of it, and cannot be rewritten.
    let log = store.audit_log(100).await.expect("audit");
    let actions: Vec<&str> = log.iter().rev().map(|e| e.action.as_str()).collect();
    // The first entry is the catalogue gridwatch seeds into every new database.
    assert_eq!(
        actions,
        ["categories.replace", "user.add", "token.create", "token.revoke", "token.create", "user.revoke"],
        "{backend}"
    );
    assert_eq!(log.last().map(|e| e.actor.as_str()), Some("system"), "{backend}");
    assert!(log.iter().rev().skip(1).all(|e| e.actor.starts_with("cli:")), "{backend}");
    assert!(!format!("{log:?}").contains(&token[3..]), "{backend}: tokens never reach the audit log");
}

async fn idempotency_scenario(store: &Store) {
    let backend = store.backend();
    let (first, replayed) = store
        .insert_problem_once(problem(116.4, 39.9), Some((7, "key-1".into())), &Actor::cli())
        .await
        .expect("insert");
    assert!(!replayed, "{backend}");
    let (again, replayed) = store
        .insert_problem_once(problem(116.4, 39.9), Some((7, "key-1".into())), &Actor::cli())
        .await
        .expect("insert");
    assert!(replayed && again == first, "{backend}: the same key returns the same problem");
    let (other_user, replayed) = store
        .insert_problem_once(problem(116.4, 39.9), Some((8, "key-1".into())), &Actor::cli())
        .await
        .expect("insert");
    assert!(!replayed && other_user.id != first.id, "{backend}: keys are per user");
    assert_eq!(store.count_problems().await.expect("count"), 2, "{backend}");
    let creations = store.audit_log(100).await.expect("audit").iter().filter(|e| e.action == "problem.create").count();
    assert_eq!(creations, 2, "{backend}: one audit entry per stored problem");
}

#[tokio::test]
async fn area_filters_restrict_grids_and_problems() {
    on_both_backends!(area_filter_scenario);
}

#[tokio::test]
async fn users_tokens_and_the_audit_log() {
    on_both_backends!(accounts_scenario);
}

#[tokio::test]
async fn idempotency_keys_store_a_report_once() {
    on_both_backends!(idempotency_scenario);
}

async fn case_scenario(store: &Store) {
    let backend = store.backend();
    assert_eq!(store.categories().await.expect("catalogue"), default_catalogue(), "{backend}: seeded with the default");
    let stored = store.insert_problems(vec![problem(116.405, 39.905)], &Actor::cli()).await.expect("insert");
    let p = stored[0].clone();
    assert_eq!(p.class.as_ref().map(|c| c.department.as_str()), Some("环境卫生服务中心"), "{backend}");

    let cal = WorkingCalendar::default();
    // The case goes straight from accepted to registered here; 核实 has tests of its own.
    let confirmation = Confirmation::none();
    let rules = Rules { calendar: &cal, confirmation: &confirmation };
    let now = datetime!(2026-11-23 09:00 +08:00);
    let event = |action: Action| gridwatch::store::NewEvent {
        at: now,
        actor: "li".into(),
        role: "dispatcher".into(),
        action: action.as_str().into(),
        note: Some("ok".into()),
        photo_url: None,
        details: serde_json::json!({}),
        audit: None,
    };
    let mut current = p.clone();
    for action in [Action::Accept, Action::Register, Action::Dispatch] {
        let next = apply(&current, Role::Dispatcher, action, &Request::default(), now, rules).expect("allowed");
        assert!(store.update_case(next.clone(), current.status, event(action)).await.expect("update"), "{backend}");
        current = next;
        current.version += 1; // each change bumps the stored version
    }
    // A second writer that still believes the case is `registered` loses.
    let stale = apply(&p, Role::Dispatcher, Action::Accept, &Request::default(), now, rules).expect("allowed");
    assert!(!store.update_case(stale, State::Registered, event(Action::Accept)).await.expect("update"), "{backend}");

    let read = store.problem(p.id).await.expect("read").expect("present");
    assert_eq!(read.status, State::Dispatched, "{backend}");
    assert_eq!(read.case, current.case, "{backend}: deadline and dispatch time read back exactly");
    assert_eq!(read.case.deadline, Some(datetime!(2026-11-23 13:00 +08:00)), "{backend}");
    let steps: Vec<(String, String, String)> = store
        .problem_events(p.id)
        .await
        .expect("events")
        .into_iter()
        .map(|e| (e.action, e.from_state, e.to_state))
        .collect();
    let expected = [
        ("accept", "reported", "accepted"),
        ("register", "accepted", "registered"),
        ("dispatch", "registered", "dispatched"),
    ];
    let expected: Vec<(String, String, String)> =
        expected.iter().map(|(a, f, t)| (a.to_string(), f.to_string(), t.to_string())).collect();
    assert_eq!(steps, expected, "{backend}");

    // Two changes that keep the status (two re-routes) read the same version: one wins.
    let mut first = current.clone();
    first.responsible_unit = Some("甲单位".into());
    let mut second = current.clone();
    second.responsible_unit = Some("乙单位".into());
    assert!(store.update_case(first, State::Dispatched, event(Action::Dispatch)).await.expect("update"), "{backend}");
    assert!(
        !store.update_case(second, State::Dispatched, event(Action::Dispatch)).await.expect("update"),
        "{backend}: the second writer read a version that is gone"
    );
    let read = store.problem(p.id).await.expect("read").expect("present");
    assert_eq!((read.responsible_unit.as_deref(), read.version), (Some("甲单位"), current.version + 1), "{backend}");
    assert_eq!(store.problem_events(p.id).await.expect("events").len(), 4, "{backend}: the loser left no step");

    let mine = default_catalogue().into_iter().take(2).collect::<Vec<_>>();
    assert_eq!(store.replace_categories(mine.clone(), now, Actor::cli()).await.expect("replace"), 2);
    assert_eq!(store.categories().await.expect("catalogue"), mine, "{backend}");
}

#[tokio::test]
async fn cases_move_through_the_workflow_and_record_each_step() {
    on_both_backends!(case_scenario);
}

async fn many_points_scenario(store: &Store) {
    use gridwatch::domain::patrol::StoredPoint;
    // More new points than one write takes (PostgreSQL copies them in chunks of 10,000), with
    // text that COPY must escape, a polygon among the points, and exact coordinates.
    let now = datetime!(2026-12-06 09:30:00.123456 UTC);
    let awkward = ["tab\there", "line\nbreak\r\n", "back\\slash \\N", "\\N", "菜市场 (东门)", ""];
    let points: Vec<StoredPoint> = (0..10_050)
        .map(|i| {
            let (lon, lat) = (116.0 + f64::from(i) * 1e-5 + 1e-13, 39.9 - f64::from(i) * 3e-6);
            let geometry = if i % 1000 == 7 {
                geo::Geometry::Polygon(
                    polygon![(x: lon, y: lat), (x: lon + 1e-4, y: lat), (x: lon, y: lat + 1e-4), (x: lon, y: lat)],
                )
            } else {
                geo::Geometry::Point(geo::Point::new(lon, lat))
            };
            StoredPoint {
                code: format!("P{i:05}{}", if i % 97 == 0 { "\t x" } else { "" }),
                name: format!("{} {i}", awkward[i as usize % awkward.len()]),
                kind: "market".into(),
                geometry,
                criteria: Vec::new(),
                required_per_week: 1 + (i % 3) as u8,
                grid_code: (i % 2 == 0).then(|| format!("G{}", i % 10)),
                grids: if i % 2 == 0 { vec![format!("G{}", i % 10)] } else { Vec::new() },
                responsible_unit: (i % 5 == 0).then(|| "城管\\执法".to_string()),
                created_at: now,
                updated_at: now,
            }
        })
        .collect();
    let summary = store.upsert_points(points.clone(), now, Actor::cli(), false).await.expect("import");
    assert_eq!((summary.created, summary.updated, summary.unchanged), (10_050, 0, 0));
    let stored = store.points(None).await.expect("read back");
    assert_eq!(stored.len(), points.len());
    let by_code: std::collections::HashMap<&str, &StoredPoint> = stored.iter().map(|p| (p.code.as_str(), p)).collect();
    for p in &points {
        let back = by_code.get(p.code.as_str()).unwrap_or_else(|| panic!("{:?} was not stored", p.code));
        assert!(back.same_as(p), "{p:?}\nread back as\n{back:?}");
        assert_eq!((back.created_at, back.updated_at), (now, now), "{:?}", p.code);
    }
    // The same file again changes nothing.
    let again = store.upsert_points(points, now, Actor::cli(), false).await.expect("again");
    assert_eq!((again.created, again.updated, again.unchanged), (0, 0, 10_050));
}

#[tokio::test]
async fn many_points_import_and_read_back_exactly() {
    on_both_backends!(many_points_scenario);
}

#[tokio::test]
async fn a_large_first_point_import_into_postgis_builds_the_dropped_indexes_again() {
    let db = TestDb::postgres().await;
    let name = db.postgres_db.clone().expect("a PostgreSQL database");
    let (base, _) = postgres_admin_url().rsplit_once('/').map(|(b, d)| (b.to_string(), d.to_string())).expect("URL");
    let indexes = || async {
        let mut conn = sqlx::PgConnection::connect(&format!("{base}/{name}")).await.expect("connect");
        let mut rows: Vec<String> = sqlx::query_scalar(
            "SELECT indexdef FROM pg_indexes WHERE tablename = 'assessment_points' ORDER BY indexname",
        )
        .fetch_all(&mut conn)
        .await
        .expect("indexes");
        rows.sort();
        rows
    };
    let before = indexes().await;
    assert!(before.iter().any(|d| d.contains("USING gist (geom)")), "{before:?}");
    many_points_scenario(db.store.as_ref()).await; // more than 10,000 new points into an empty table
    assert_eq!(indexes().await, before);
    db.finish().await;
}
