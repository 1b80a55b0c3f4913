//! The demo city: Dongcheng district (东城区, 110101) with its real 17 streets and 169
//! communities, cut into ~1,300 unit grids, and a few hundred problems. Deterministic: the same
//! binary always seeds the same city. See `demo/ATTRIBUTION.md` for the sources.

use crate::app::catalog::Catalog;
use crate::domain::auth::{hash_token, new_password, new_token, Actor, Role, WHOLE_CITY};
use crate::domain::intake::{route, Report};
use crate::domain::letters::{LetterRules, Turned};
use crate::domain::problem::{Class, Source};
use crate::domain::workflow::calendar::WorkingCalendar;
use crate::domain::workflow::catalogue::{default_catalogue, find};
use crate::domain::workflow::state::{Action, State};
use crate::store::{Keyset, NewUser, Store, StoreError, Which, PAGE};
use spatial::subdivide::{split_by_weights, Lattice};
use spatial::{Grid, GridLevel, MultiPolygon};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

const DISTRICT_GEOJSON: &str = include_str!("../../demo/dongcheng.geojson");
const DIVISIONS_CSV: &str = include_str!("../../demo/dongcheng-divisions.csv");

/// Side of a unit-grid cell in metres (gives ~1,300 grids over Dongcheng's 41.8 km²).
pub const CELL_METRES: f64 = 190.0;
/// How many problems the demo seeds.
pub const DEMO_PROBLEMS: usize = 300;
/// When the demo's grids become valid and its own week (2026-W47) starts.
pub const DEMO_EPOCH: OffsetDateTime = datetime!(2026-11-16 00:00:00 +08:00);
/// The demo officer's community (多福巷社区).
const DEMO_COMMUNITY: &str = "110101001001";
/// The demo unit (责任单位), whose board gets the cases that stay with a unit.
const DEMO_UNIT: &str = "东华门街道办事处";

/// When the demo's story happens. While the clock is in the demo's own fortnight (2026-W47 and
/// W48, where the tests pin it) everything is as it always was: reports from the Monday of W47,
/// patrols in W47. On any other day the demo lives in the present: its reports are spread over
/// its week and the seven before, up to the moment it starts, cases move through the workflow as far as that
/// moment allows, and the patrols are this week's (in Beijing time), so that a newcomer opening
/// the office view today sees this week's coverage and a ranking. Deterministic for a given start.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Timeline {
    Fixed,
    Present { now: OffsetDateTime, week: OffsetDateTime },
}

/// The present demo's reports start this many weeks before the current one.
const HISTORY: Duration = Duration::weeks(7);

impl Timeline {
    fn at(now: OffsetDateTime) -> Self {
        if now >= DEMO_EPOCH && now < DEMO_EPOCH + Duration::weeks(2) {
            return Timeline::Fixed;
        }
        // To the minute, so that the same start seeds the same demo (a start is never exact).
        let now = now - Duration::nanoseconds(i64::from(now.nanosecond())) - Duration::seconds(i64::from(now.second()));
        let local = now.to_offset(DEMO_EPOCH.offset());
        let monday = local.date() - Duration::days(i64::from(local.weekday().number_days_from_monday()));
        Timeline::Present { now, week: monday.midnight().assume_offset(DEMO_EPOCH.offset()) }
    }

    /// The moment the demo is seeded at: the present demo's minute, or the clock's.
    fn seeded_at(self, clock: OffsetDateTime) -> OffsetDateTime {
        match self {
            Timeline::Fixed => clock,
            Timeline::Present { now, .. } => now,
        }
    }

    /// When report `i` of the demo's [`DEMO_PROBLEMS`] was made.
    fn report_time(self, i: usize) -> OffsetDateTime {
        match self {
            Timeline::Fixed => DEMO_EPOCH + Duration::minutes(37 * i as i64),
            Timeline::Present { now, week } => {
                // From the Monday seven weeks back up to (not quite) now: this week and the seven before.
                let from = week - HISTORY;
                let span = (now - from).whole_seconds();
                from + Duration::seconds(span * i as i64 / DEMO_PROBLEMS as i64)
            }
        }
    }

    /// The Monday the demo's patrol week starts.
    fn patrol_week(self) -> OffsetDateTime {
        match self {
            Timeline::Fixed => DEMO_EPOCH,
            Timeline::Present { week, .. } => week,
        }
    }

    /// Whether the instant `t` (Unix seconds) is in the demo's past.
    fn has_happened(self, t: i64) -> bool {
        match self {
            Timeline::Fixed => true,
            Timeline::Present { now, .. } => t <= now.unix_timestamp(),
        }
    }

    /// When each of the week's demo tracks starts (Unix seconds), given how long one takes:
    /// Monday, Tuesday, Thursday and Friday at 09:00 (Wednesday is missed, so the week shows
    /// gaps). In the present only walks already over count; early on a Monday, one that ended
    /// just now stands in.
    fn track_starts(self, walk_seconds: i64) -> Vec<i64> {
        let week = self.patrol_week();
        let days = [0, 1, 3, 4].map(|day| (week + Duration::days(day) + Duration::hours(9)).unix_timestamp());
        match self {
            Timeline::Fixed => days.to_vec(),
            Timeline::Present { now, .. } => {
                let now = now.unix_timestamp();
                let over: Vec<i64> = days.into_iter().filter(|start| start + walk_seconds <= now).collect();
                if over.is_empty() {
                    vec![(now - walk_seconds).max(week.unix_timestamp())]
                } else {
                    over
                }
            }
        }
    }
}

struct Division {
    code: String,
    name: String,
    parent: String,
}

fn divisions() -> Result<(Vec<Division>, Vec<Division>), String> {
    let mut reader = csv::Reader::from_reader(DIVISIONS_CSV.as_bytes());
    let (mut streets, mut communities) = (Vec::new(), Vec::new());
    for (i, row) in reader.records().enumerate() {
        let row = row.map_err(|e| format!("demo divisions row {}: {e}", i + 1))?;
        let field = |n: usize| row.get(n).unwrap_or("").to_string();
        let d = Division { code: field(1), name: field(2), parent: field(3) };
        match row.get(0) {
            Some("street") => streets.push(d),
            Some("community") => communities.push(d),
            other => return Err(format!("demo divisions row {}: unknown level {other:?}", i + 1)),
        }
    }
    Ok((streets, communities))
}

/// The district boundary, repaired (the shipped ring crosses itself).
pub fn district_boundary() -> Result<MultiPolygon<f64>, String> {
    let collection: serde_json::Value = serde_json::from_str(DISTRICT_GEOJSON).map_err(|e| e.to_string())?;
    let geometry = &collection["features"][0]["geometry"];
    let coords =
        serde_json::from_value::<Vec<Vec<[f64; 2]>>>(geometry["coordinates"].clone()).map_err(|e| e.to_string())?;
    spatial::validity::repair(&vec![coords])
        .map(|(mp, _)| mp)
        .map_err(|d| format!("demo district cannot be repaired: {d:?}"))
}

fn short_name(community: &str) -> &str {
    community.trim_end_matches("居委会").trim_end_matches("社区")
}

/// Every grid of the demo city: district, streets, communities and unit grids.
pub fn city() -> Result<Vec<Grid>, String> {
    let district = district_boundary()?;
    let (streets, communities) = divisions()?;
    let lattice = Lattice::cut(&district, CELL_METRES);
    let order = lattice.hilbert_order();
    // The district as the union of its cells (snapped to the lattice frame, ~1 cm), so every
    // level of the hierarchy tiles exactly the same territory.
    let district = lattice.union_geometry(&order);

    let mut grids = vec![Grid {
        name: Some("东城区".into()),
        level: Some(GridLevel::District),
        lead_department: Some("东城区城市管理委员会".into()),
        responsible_unit: Some("东城区人民政府".into()),
        ..Grid::new("110101", district)
    }];
    let per_street: Vec<Vec<&Division>> =
        streets.iter().map(|s| communities.iter().filter(|c| c.parent == s.code).collect()).collect();
    let weights: Vec<usize> = per_street.iter().map(Vec::len).collect();
    for ((street, members), run) in streets.iter().zip(&per_street).zip(split_by_weights(order.len(), &weights)) {
        let street_cells = &order[run];
        let office = format!("{}办事处", street.name);
        let lead = format!("{}城市管理办公室", street.name);
        grids.push(Grid {
            name: Some(street.name.clone()),
            parent_code: Some(street.parent.clone()),
            level: Some(GridLevel::Street),
            lead_department: Some(lead.clone()),
            responsible_unit: Some(office.clone()),
            ..Grid::new(street.code.clone(), lattice.union_geometry(street_cells))
        });
        let community_runs = split_by_weights(street_cells.len(), &vec![1; members.len()]);
        for (community, run) in members.iter().zip(community_runs) {
            let mut cells = street_cells[run].to_vec();
            grids.push(Grid {
                name: Some(community.name.clone()),
                parent_code: Some(community.parent.clone()),
                level: Some(GridLevel::Community),
                lead_department: Some(lead.clone()),
                responsible_unit: Some(community.name.clone()),
                ..Grid::new(community.code.clone(), lattice.union_geometry(&cells))
            });
            // DB11/T 2157: numbered west→east, then north→south.
            cells.sort_by_key(|&i| (lattice.cells[i].row, lattice.cells[i].col));
            for (n, &cell) in cells.iter().enumerate() {
                let code = format!("{}{:03}", community.code, n + 1);
                grids.push(Grid {
                    name: Some(format!("{}社区第{}网格", short_name(&community.name), n + 1)),
                    parent_code: Some(community.code.clone()),
                    level: Some(GridLevel::Grid),
                    lead_department: Some(lead.clone()),
                    responsible_unit: Some(office.clone()),
                    officer: Some(format!("网格员{}", &code[9..])),
                    ..Grid::new(code, lattice.cell_geometry(cell))
                });
            }
        }
    }
    Ok(grids)
}

/// A small deterministic generator (SplitMix64), so the demo needs no RNG dependency.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[(self.next() % items.len() as u64) as usize]
    }
}

/// Problem categories of the demo (codes of the shipped catalogue: events 事件 and components 部件).
pub const DEMO_CATEGORIES: [&str; 12] = [
    "E01001", "E01002", "E02001", "E03001", "E05001", "E05002", "E01003", "C01001", "C01011", "E01004", "C01020",
    "E04001",
];

/// A demo user with the token and the password printed for it on first start.
#[derive(Debug, Clone)]
pub struct DemoLogin {
    pub role: Role,
    pub user: String,
    pub area: String,
    pub token: String,
    /// For signing in to the map; `None` for the citizen app, which uses its key.
    pub password: Option<String>,
}

/// One user per role, so a new user can try every view.
fn demo_users() -> Vec<(NewUser, String)> {
    let user = |name: &str, role, scope: &[&str], unit: Option<&str>, area: &str| {
        let scope = scope.iter().map(|s| s.to_string()).collect();
        (NewUser { name: name.into(), role, scope, unit: unit.map(String::from) }, area.to_string())
    };
    vec![
        user("demo-admin", Role::Admin, &[WHOLE_CITY], None, "everything"),
        user("demo-dispatcher", Role::Dispatcher, &["110101"], None, "东城区 110101"),
        user("demo-office", Role::Office, &["110101"], None, "东城区 110101"),
        user("demo-inspector", Role::Inspector, &["110101"], None, "东城区 110101"),
        user("demo-officer", Role::Officer, &["110101001001"], None, "多福巷社区 110101001001"),
        user("demo-unit", Role::Unit, &[], Some("东华门街道办事处"), "东华门街道办事处"),
        user("demo-app", Role::App, &[], None, "its own reports"),
    ]
}

/// Seeds an empty database with the demo city and one user per role. Returns the logins (with
/// their tokens, shown only now), or `None` (touching nothing) when the database is not empty.
pub async fn seed(store: &Store, catalog: &Catalog, now: OffsetDateTime) -> Result<Option<Vec<DemoLogin>>, StoreError> {
    if !store.current_grids().await?.is_empty() || store.count_problems().await? > 0 {
        return Ok(None);
    }
    let actor = Actor::system();
    let grids = city().map_err(StoreError::Corrupt)?;
    store.import_grids(&grids, DEMO_EPOCH, &actor, false).await?;
    catalog.refresh(store).await?;
    let snapshot = catalog.snapshot();

    let mut logins = Vec::new();
    for (user, area) in demo_users() {
        let (name, role) = (user.name.clone(), user.role);
        match store.create_user(user, now, actor.clone()).await {
            Ok(_) | Err(StoreError::Conflict(_)) => {}
            Err(e) => return Err(e),
        }
        let token = new_token().map_err(StoreError::Corrupt)?;
        store.create_token(name.clone(), hash_token(&token), Some("demo".into()), None, now, actor.clone()).await?;
        let password = match role {
            Role::App => None,
            _ => {
                let password = new_password().map_err(StoreError::Corrupt)?;
                let hash = crate::app::sign_in::hashed(password.clone()).await.map_err(StoreError::Corrupt)?;
                store.set_password(&name, hash, false, false, now, actor.clone()).await?;
                Some(password)
            }
        };
        logins.push(DemoLogin { role, user: name, area, token, password });
    }

    let Some(bbox) = grids.first().and_then(|d| geo::BoundingRect::bounding_rect(&d.geometry)) else {
        return Ok(Some(logins));
    };
    let catalogue = default_catalogue();
    let timeline = Timeline::at(now);
    let now = timeline.seeded_at(now);
    let mut rng = SplitMix(20_261_116);
    let sources = [Source::Officer, Source::Officer, Source::Hotline, Source::Citizen, Source::App, Source::Undercover];
    let mut problems = Vec::with_capacity(DEMO_PROBLEMS);
    // In the present every seventh report is in the demo officer's own community (every other
    // one of them a hotline call), so that their to-do list has reports to confirm (核实) and
    // fixes to check (核查): with every third case taken through the workflow, these meet each
    // of the steps cases wait at.
    let community = community_bbox(&snapshot);
    while problems.len() < DEMO_PROBLEMS {
        let mine = timeline != Timeline::Fixed && problems.len() % 7 == 0;
        let area = match community {
            Some(c) if mine => c,
            _ => bbox,
        };
        let lon = area.min().x + rng.unit() * area.width();
        let lat = area.min().y + rng.unit() * area.height();
        let code = *rng.pick(&DEMO_CATEGORIES);
        let class = find(&catalogue, code).map(Class::from);
        let name = class.as_ref().map_or(code, |c| c.category_name.as_str()).to_string();
        let report = Report {
            lon,
            lat,
            description: format!("{name}，请尽快处置"),
            category: code.to_string(),
            source: *rng.pick(&sources),
            owner: None,
            address: None,
            address_id: None,
            caller: None,
        };
        let report =
            if mine && (problems.len() / 7) % 2 == 1 { Report { source: Source::Hotline, ..report } } else { report };
        // A few places keep coming back (反弹): every fifteenth report after an anchor is made a
        // few metres from it, of its category, after the one before was closed.
        let report = match problems.len().checked_sub(RECURRING_EVERY).and_then(|i| recurring_place(&problems, i)) {
            Some((lon, lat, category)) if timeline != Timeline::Fixed => {
                let class = find(&catalogue, &category).map(Class::from);
                let (per_lat, _) = spatial::geodesy::metres_per_degree(lat);
                let report = Report { lon, lat: lat + 8.0 / per_lat, category, ..report };
                problems.push(route(&snapshot, report, class, timeline.report_time(problems.len())));
                continue;
            }
            _ => report,
        };
        let at = timeline.report_time(problems.len());
        let problem = route(&snapshot, report, class, at);
        let inside = problem.grid_code.as_deref().is_some_and(|g| !mine || g.starts_with(DEMO_COMMUNITY));
        if inside {
            problems.push(problem);
        }
    }
    let stored = store.insert_problems(problems, &actor).await?;
    seed_case_history(store, stored, now, timeline).await?;
    seed_recurrences(store).await?;
    seed_patrols(store, &snapshot, &mut rng, timeline).await?;
    seed_addresses(store, &grids).await?;
    if let Timeline::Present { week, .. } = timeline {
        seed_letters(store, now).await?;
        seed_campaign(store, week, now).await?;
    }
    Ok(Some(logins))
}

/// In the present, the letters (督办函) today's yellow and red cases call for, as the escalation
/// pass would have sent them when the cases turned: the units have letters to sign for and the
/// office a letter ledger to follow.
async fn seed_letters(store: &Store, now: OffsetDateTime) -> Result<(), StoreError> {
    let mut turned = Vec::new();
    let mut pages = Keyset::new(0);
    while let Some(after) = pages.next() {
        let page = store.problems_page(after, PAGE, Which::OpenWithoutTexts).await?;
        pages.advance(&page, |p| p.id);
        turned.extend(page.iter().map(|p| Turned { case: p.id, unit: p.responsible_unit.clone(), colour: p.colour }));
    }
    let calendar = WorkingCalendar::default();
    crate::app::letters::issue_for_colours(store, &turned, &LetterRules::default(), &calendar, now).await?;
    Ok(())
}

/// Reports that start a place that keeps coming back, how far apart its returns are (in
/// reports: some three days) and how many there are. Chosen so that the anchor and each return
/// are closed in the demo's history (`seed_case_history`: taken through the workflow, neither
/// left with the unit nor waiting at a step).
const RECURRING_ANCHORS: [usize; 3] = [39, 129, 219];
const RECURRING_EVERY: usize = 15;
const RECURRING_TIMES: usize = 3;

/// Where report `i` stands, when the report `RECURRING_EVERY` after it is to come back to it:
/// the anchors and their returns.
fn recurring_place(problems: &[crate::domain::problem::NewProblem], i: usize) -> Option<(f64, f64, String)> {
    let repeats = RECURRING_ANCHORS
        .iter()
        .any(|a| i >= *a && (i - a).is_multiple_of(RECURRING_EVERY) && (i - a) / RECURRING_EVERY < RECURRING_TIMES);
    let p = problems.get(i).filter(|_| repeats)?;
    Some((p.lon, p.lat, p.category.clone()))
}

/// Links the demo's history as intake would have (反弹), with the default rule.
async fn seed_recurrences(store: &Store) -> Result<(), StoreError> {
    use crate::domain::hotspots::{link_history, PastCase, RecurrenceRule};
    let all = store
        .created_between(
            DEMO_EPOCH - Duration::days(3_650),
            OffsetDateTime::now_utc() + Duration::days(3_650),
            &Default::default(),
        )
        .await?;
    let past: Vec<PastCase> = all
        .into_iter()
        .map(|p| PastCase {
            id: p.id,
            lon: p.lon,
            lat: p.lat,
            category: p.category,
            created_at: p.created_at,
            closed_at: p.case.closed_at,
            responsible_unit: p.responsible_unit,
        })
        .collect();
    store.set_recurrences(&link_history(&past, RecurrenceRule::default())).await
}

/// A special campaign (专项整治) running in the demo officer's street: three weeks in, five to go,
/// a joint enforcement day every Wednesday, after the categories the demo's cases are most of.
async fn seed_campaign(store: &Store, week: OffsetDateTime, now: OffsetDateTime) -> Result<(), StoreError> {
    use crate::domain::campaign::CampaignPlan;
    let wednesday = week.date() + Duration::days(2);
    let plan = CampaignPlan {
        name: "背街小巷环境整治".into(),
        start: wednesday - Duration::weeks(3),
        end: wednesday + Duration::days(34),
        area: vec![DEMO_COMMUNITY[..9].to_string()],
        categories: vec!["E01001".into(), "E01002".into(), "E05002".into()],
        lead_unit: DEMO_UNIT.into(),
        joint_units: vec!["城管执法队".into(), "市场监管所".into()],
        cycle_days: 7,
        patrol_minutes: 60,
    };
    store.create_campaign(&plan, &Actor { name: "demo-office".into(), ..Actor::system() }, now).await?;
    Ok(())
}

/// The bounding box of the demo officer's community.
fn community_bbox(snapshot: &crate::domain::grids::Snapshot) -> Option<geo::Rect<f64>> {
    use geo::BoundingRect;
    let mut grids = snapshot.index.entries().iter().filter(|g| g.code.starts_with(DEMO_COMMUNITY));
    let first = grids.next()?.geometry.bounding_rect()?;
    Some(grids.filter_map(|g| g.geometry.bounding_rect()).fold(first, |a, b| {
        geo::Rect::new(
            geo::coord! { x: a.min().x.min(b.min().x), y: a.min().y.min(b.min().y) },
            geo::coord! { x: a.max().x.max(b.max().x), y: a.max().y.max(b.max().y) },
        )
    }))
}

/// Some cases of the demo taken through the workflow, so the weekly bulletin, the office's
/// ranking and its trends have something to show: every third (of the first 180 in the demo's
/// own week, of all in the present) is accepted, registered and dispatched within the hour; most
/// are then handled, verified and closed — one in four a day and a half late — and every fifth
/// stays with its unit (in the present, the demo unit, and a few wait at each step). Steps later
/// than `now` are not taken.
async fn seed_case_history(
    store: &Store,
    problems: Vec<crate::domain::problem::Problem>,
    now: OffsetDateTime,
    timeline: Timeline,
) -> Result<(), StoreError> {
    use crate::domain::workflow::calendar::WorkingCalendar;
    use crate::domain::workflow::case::{apply, colour_at, Request, Rules};
    use crate::domain::workflow::colour::Thresholds;
    use crate::domain::workflow::confirmation::Confirmation;
    use crate::domain::workflow::state::Action;
    let calendar = WorkingCalendar::default();
    let confirmation = Confirmation::default();
    let rules = Rules { calendar: &calendar, confirmation: &confirmation };
    let taken = if timeline == Timeline::Fixed { 180 } else { DEMO_PROBLEMS };
    for (i, mut p) in problems.into_iter().enumerate().take(taken).filter(|(i, _)| i % 3 == 0) {
        let stays = i % 5 == 0;
        // In the present the cases that stay with a unit go to the demo unit, so its board has work.
        let dispatch_to = (stays && timeline != Timeline::Fixed).then(|| DEMO_UNIT.to_string());
        let handling = if i % 4 == 0 { Duration::hours(36) } else { Duration::hours(2) };
        let mut steps = vec![(Role::Dispatcher, "demo-dispatcher", Action::Accept, Duration::minutes(20))];
        // A citizen's or the hotline's report is confirmed on site first (核实), ten minutes after it is accepted.
        if confirmation.needed(p.source) {
            steps.push((Role::Officer, "demo-officer", Action::Confirm, Duration::minutes(30)));
        }
        steps.extend([
            (Role::Dispatcher, "demo-dispatcher", Action::Register, Duration::minutes(40)),
            (Role::Dispatcher, "demo-dispatcher", Action::Dispatch, Duration::minutes(60)),
        ]);
        if !stays {
            steps.extend([
                (Role::Unit, "demo-unit", Action::Handle, handling),
                (Role::Officer, "demo-officer", Action::Verify, handling + Duration::hours(2)),
                (Role::Dispatcher, "demo-dispatcher", Action::Close, handling + Duration::hours(3)),
            ]);
        }
        // In the present some cases wait at each step, so every list has work: confirming (to
        // confirm on site) or accepted (to register), registered (to dispatch), handled (to
        // check), verified (to close).
        let waits_in: &[State] = match (i / 3) % 10 {
            _ if timeline == Timeline::Fixed || stays => &[],
            1 => &[State::Confirming, State::Accepted],
            2 => &[State::Registered],
            4 => &[State::Handled],
            7 => &[State::Verified],
            _ => &[],
        };
        // Some cases that stay with the unit were dispatched late enough to be blue (蓝牌) now:
        // most of their time used, not yet overdue.
        if stays && timeline != Timeline::Fixed && (i / 15) % 3 == 1 {
            if let Some(at) = blue_dispatch(&p, now, rules, &calendar) {
                if let Some(step) = steps.iter_mut().find(|s| s.2 == Action::Dispatch) {
                    step.3 = at - p.created_at;
                }
                // Its deadline near, the unit asks for more time: on the dispatcher's list, blue.
                let asked = at - p.created_at + Duration::minutes(5);
                steps.push((Role::Unit, "demo-unit", Action::RequestExtension, asked));
            }
        }
        let reported = p.created_at;
        for (role, actor, action, after) in steps {
            let at = reported + after;
            if at > now {
                break;
            }
            let request = match action {
                Action::Dispatch => Request { unit: dispatch_to.clone(), ..Request::default() },
                Action::RequestExtension => Request {
                    note: Some("需协调专业队伍，申请延期一个工作日".into()),
                    extension: Some((1, crate::domain::workflow::calendar::LimitUnit::WorkingDays)),
                    ..Request::default()
                },
                _ => Request::default(),
            };
            let mut next = apply(&p, role, action, &request, at, rules)
                .map_err(|r| StoreError::Corrupt(format!("demo case {}: {r:?}", p.id)))?;
            let deadline =
                next.case.deadline.and_then(|d| d.format(&time::format_description::well_known::Rfc3339).ok());
            // Stored as it stands now, as the escalation scheduler would have left it.
            next.colour = colour_at(&next, now, &calendar, &Thresholds::default());
            let event = crate::store::NewEvent {
                at,
                actor: actor.into(),
                role: role.as_str().into(),
                action: action.as_str().into(),
                note: None,
                photo_url: None,
                details: serde_json::json!({"unit": next.responsible_unit, "deadline": deadline, "demo": true}),
                audit: None,
            };
            if !store.update_case(next.clone(), p.status, event).await? {
                break;
            }
            next.version += 1;
            p = next;
            if waits_in.contains(&p.status) {
                break;
            }
        }
    }
    Ok(())
}

/// A time between the report and `now` at which dispatching `p` leaves it blue at `now`, the
/// latest such time found in steps of ten minutes back from `now`.
fn blue_dispatch(
    p: &crate::domain::problem::Problem,
    now: OffsetDateTime,
    rules: crate::domain::workflow::case::Rules<'_>,
    calendar: &crate::domain::workflow::calendar::WorkingCalendar,
) -> Option<OffsetDateTime> {
    use crate::domain::workflow::case::{apply, colour_at, Request};
    use crate::domain::workflow::colour::{Colour, Thresholds};
    let mut registered = p.clone();
    registered.status = State::Registered;
    let earliest = p.created_at + Duration::minutes(60);
    (1..2000).map(|k| now - Duration::minutes(10 * k)).take_while(|at| *at >= earliest).find(|&at| {
        let request = Request { unit: Some(DEMO_UNIT.into()), ..Request::default() };
        apply(&registered, Role::Dispatcher, Action::Dispatch, &request, at, rules)
            .is_ok_and(|d| colour_at(&d, now, calendar, &Thresholds::default()) == Colour::Blue)
    })
}

/// Kinds the demo's assessment points cycle through, with a typical checklist line.
const DEMO_POINT_KINDS: [(&str, &str); 8] = [
    ("public_toilet", "无异味、无积水"),
    ("bus_stop", "站牌整洁、无小广告"),
    ("residential_compound", "无乱堆物料"),
    ("school_surroundings", "无游商占道"),
    ("restaurant", "门前三包落实"),
    ("community_committee", "公益广告规范"),
    ("old_compound", "楼道无杂物"),
    ("intersection", "交通设施完好"),
];

/// The demo's patrols for its patrol week ([`Timeline::patrol_week`]): an assessment point in
/// every third unit grid (a back street or a market every so often), the demo officer's route
/// through their community on weekdays, and GPS tracks along it ([`Timeline::track_starts`]).
async fn seed_patrols(
    store: &Store,
    snapshot: &crate::domain::grids::Snapshot,
    rng: &mut SplitMix,
    timeline: Timeline,
) -> Result<(), StoreError> {
    use geo::{BoundingRect, Centroid, Coord, Geometry, LineString, Polygon};
    use spatial::patrol::{AssessmentPoint, Criterion, PlannedRoute};
    let actor = Actor::system();
    let mut points = Vec::new();
    for (i, grid) in snapshot.index.entries().iter().enumerate().step_by(3) {
        let (Some(c), Some(r)) = (grid.geometry.centroid(), grid.geometry.bounding_rect()) else { continue };
        let (w, h) = (r.width(), r.height());
        let (kind, geometry, check) = if i % 21 == 0 {
            let line = LineString(vec![
                Coord { x: r.min().x + 0.1 * w, y: c.y() },
                Coord { x: r.max().x - 0.1 * w, y: c.y() },
            ]);
            ("back_street", Geometry::LineString(line), "路面平整、无暴露垃圾")
        } else if i % 33 == 0 {
            let (x, y) = (c.x() - 0.2 * w, c.y() - 0.2 * h);
            let ring = vec![(x, y), (x + 0.4 * w, y), (x + 0.4 * w, y + 0.4 * h), (x, y + 0.4 * h), (x, y)];
            let ring = LineString(ring.into_iter().map(|(x, y)| Coord { x, y }).collect());
            ("market", Geometry::Polygon(Polygon::new(ring, vec![])), "地面干净、分区经营")
        } else {
            let (kind, check) = *rng.pick(&DEMO_POINT_KINDS);
            let p = Coord { x: c.x() + (rng.unit() - 0.5) * 0.5 * w, y: c.y() + (rng.unit() - 0.5) * 0.5 * h };
            (kind, Geometry::Point(p.into()), check)
        };
        points.push(AssessmentPoint {
            code: format!("CP{}", &grid.code[6..]),
            name: format!(
                "{}{}",
                grid.payload.name.clone().unwrap_or_default(),
                spatial::patrol::POINT_KINDS.iter().find(|(id, _)| *id == kind).map_or("", |(_, zh)| *zh)
            ),
            kind,
            geometry,
            criteria: vec![
                Criterion { id: "c1".into(), text: check.into(), weight: 2.0, category: None },
                Criterion {
                    id: "c2".into(), text: "无暴露垃圾".into(), weight: 1.0, category: Some("E01001".into())
                },
            ],
            required_per_week: if kind == "market" { 2 } else { 1 },
            unit: None,
        });
    }
    let stored = crate::domain::patrol::place_points(snapshot, points, DEMO_EPOCH);
    store.upsert_points(stored, DEMO_EPOCH, actor.clone(), false).await?;

    // The demo officer's beat: the centroids of their community's grids, snaking row by row.
    let Some(line) = beat_of(snapshot, DEMO_COMMUNITY) else { return Ok(()) };
    let routes = (1..=5)
        .map(|weekday| PlannedRoute {
            officer: "demo-officer".into(),
            weekday,
            name: Some("多福巷社区巡查".into()),
            line: line.clone(),
        })
        .collect();
    store.save_routes(None, routes, true, DEMO_EPOCH, actor).await?;
    let walk_seconds = walk(&line, 0).last().map_or(0, |f| f.t);
    for start in timeline.track_starts(walk_seconds) {
        // No fix later than the moment the demo starts (just after midnight on a Monday).
        let fixes: Vec<_> = walk(&line, start).into_iter().filter(|f| timeline.has_happened(f.t)).collect();
        if !fixes.is_empty() {
            store.insert_track("demo-officer".into(), fixes, DEMO_EPOCH).await?;
        }
    }
    // In the present the office should see a district at work, not one community: the officers
    // of each street's first community walk their beats on the same days (tracks only; they have
    // no accounts in the demo).
    if timeline != Timeline::Fixed {
        let mut communities: Vec<&str> =
            snapshot.index.entries().iter().filter_map(|e| e.code.get(..12)).filter(|c| *c != DEMO_COMMUNITY).collect();
        communities.sort_unstable();
        communities.dedup_by(|a, b| a[..9] == b[..9]);
        for community in communities {
            let Some(beat) = beat_of(snapshot, community) else { continue };
            let walk_seconds = walk(&beat, 0).last().map_or(0, |f| f.t);
            for start in timeline.track_starts(walk_seconds) {
                let fixes: Vec<_> = walk(&beat, start).into_iter().filter(|f| timeline.has_happened(f.t)).collect();
                if !fixes.is_empty() {
                    store.insert_track(format!("网格员-{community}"), fixes, DEMO_EPOCH).await?;
                }
            }
        }
    }
    Ok(())
}

/// The demo's address book (地址库), made only of what the demo city has: its 17 street offices
/// and 169 community committees (real names, placed inside the demo's cut of their areas, which
/// is not their real ground), every unit grid by name, and every assessment point.
async fn seed_addresses(store: &Store, grids: &[Grid]) -> Result<(), StoreError> {
    use crate::domain::address::{AddressKind, NewAddress};
    use geo::InteriorPoint;
    let street_of: std::collections::HashMap<&str, &str> = grids
        .iter()
        .filter(|g| g.level == Some(GridLevel::Street))
        .map(|g| (g.code.as_str(), g.name.as_deref().unwrap_or_default()))
        .collect();
    let street_name = |code: &str| code.get(..9).and_then(|c| street_of.get(c)).copied().unwrap_or_default();
    let mut addresses = Vec::new();
    let mut add = |code: String, name: String, kind, aliases: Vec<String>, at: Option<geo::Point<f64>>| {
        if let Some(at) = at {
            addresses.push(NewAddress { code, name, kind, aliases, lon: at.x(), lat: at.y() });
        }
    };
    for g in grids {
        let name = g.name.clone().unwrap_or_default();
        let at = g.geometry.interior_point();
        match g.level {
            Some(GridLevel::Street) => {
                add(format!("demo-street-{}", g.code), format!("东城区{name}"), AddressKind::Division, vec![], at);
                let office = format!("东城区{name}办事处");
                add(format!("demo-office-{}", g.code), office, AddressKind::Poi, vec![format!("{name}办")], at);
            }
            Some(GridLevel::Community) => {
                let street = street_name(&g.code);
                let short = short_name(&name);
                let full = format!("东城区{street}{name}");
                add(format!("demo-community-{}", g.code), full, AddressKind::Division, vec![], at);
                let committee = format!("东城区{street}{short}社区居委会");
                add(
                    format!("demo-committee-{}", g.code),
                    committee,
                    AddressKind::Poi,
                    vec![format!("{short}居委会")],
                    at,
                );
            }
            Some(GridLevel::Grid) => {
                let full = format!("东城区{}{name}", street_name(&g.code));
                add(format!("demo-grid-{}", g.code), full, AddressKind::Division, vec![], at);
            }
            _ => {}
        }
    }
    for p in store.points(None).await? {
        let street = p.grid_code.as_deref().map(street_name).unwrap_or_default();
        let kind = if p.kind == "back_street" { AddressKind::Road } else { AddressKind::Poi };
        let at = p.geometry.interior_point();
        add(format!("demo-point-{}", p.code), format!("东城区{street}{}", p.name), kind, vec![], at);
    }
    store.upsert_addresses(&addresses, DEMO_EPOCH, &Actor::system(), false).await?;
    Ok(())
}

/// A community's beat: the centroids of its grids, snaking row by row (`None` under two grids).
fn beat_of(snapshot: &crate::domain::grids::Snapshot, community: &str) -> Option<geo::LineString<f64>> {
    use geo::Centroid;
    let mut beat: Vec<geo::Coord<f64>> = snapshot
        .index
        .entries()
        .iter()
        .filter(|e| e.code.starts_with(community))
        .filter_map(|e| e.geometry.centroid().map(|c| c.0))
        .collect();
    beat.sort_by(|a, b| b.y.total_cmp(&a.y).then(a.x.total_cmp(&b.x)));
    (beat.len() >= 2).then_some(geo::LineString(beat))
}

/// Fixes every 15 s walking along `line` at 1.2 m/s from `start`.
fn walk(line: &geo::LineString<f64>, start: i64) -> Vec<spatial::track::RawFix> {
    let mut fixes = Vec::new();
    let mut t = start;
    for seg in line.0.windows(2) {
        let (per_lat, per_lon) = spatial::geodesy::metres_per_degree(seg[0].y);
        let (dx, dy) = ((seg[1].x - seg[0].x) * per_lon, (seg[1].y - seg[0].y) * per_lat);
        let steps = ((dx * dx + dy * dy).sqrt() / 18.0).ceil().max(1.0) as usize;
        for k in 0..steps {
            let f = k as f64 / steps as f64;
            let (lon, lat) = (seg[0].x + f * (seg[1].x - seg[0].x), seg[0].y + f * (seg[1].y - seg[0].y));
            fixes.push(spatial::track::RawFix { t, lon, lat, accuracy_m: Some(8.0) });
            t += 15;
        }
    }
    fixes
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{Area, Validation};

    #[test]
    fn the_demo_keeps_its_own_fortnight_and_lives_in_the_present_on_any_other_day() {
        for pinned in [datetime!(2026-11-20 10:00 +08:00), datetime!(2026-11-29 23:59 +08:00)] {
            assert_eq!(Timeline::at(pinned), Timeline::Fixed, "{pinned}: the tests' weeks stay as they were");
        }
        assert_eq!(Timeline::Fixed.report_time(10), DEMO_EPOCH + Duration::minutes(370));
        // A Thursday afternoon in Beijing (07:00 UTC): its week began on Monday 00:00 +08:00.
        let now = datetime!(2026-12-03 07:00 UTC);
        let present = Timeline::at(now);
        assert_eq!(present.patrol_week(), datetime!(2026-11-30 00:00 +08:00));
        let times: Vec<OffsetDateTime> = (0..DEMO_PROBLEMS).map(|i| present.report_time(i)).collect();
        assert!(times.windows(2).all(|w| w[0] < w[1]), "in order");
        assert_eq!(times[0], datetime!(2026-10-12 00:00 +08:00), "from the Monday seven weeks back");
        assert!(times[DEMO_PROBLEMS - 1] < now, "up to now");
        // Monday, Tuesday and the walk done this morning at nine: Thursday's is over by 15:00;
        // Wednesday is missed; Friday has not come.
        let starts = present.track_starts(3600);
        let days: Vec<i64> =
            starts.iter().map(|s| (s - datetime!(2026-11-30 09:00 +08:00).unix_timestamp()) / 86_400).collect();
        assert_eq!(days, vec![0, 1, 3]);
        // Early on a Monday no walk is over yet: one that ended just now stands in, within the week.
        let monday = datetime!(2026-12-07 07:30 +08:00);
        let early = Timeline::at(monday).track_starts(3600);
        assert_eq!(early, vec![monday.unix_timestamp() - 3600]);
        assert!(early[0] >= datetime!(2026-12-07 00:00 +08:00).unix_timestamp());
        let midnight = datetime!(2026-12-07 00:20 +08:00);
        assert_eq!(
            Timeline::at(midnight).track_starts(3600),
            vec![datetime!(2026-12-07 00:00 +08:00).unix_timestamp()]
        );
    }

    #[test]
    fn the_demo_city_tiles_dongcheng_with_real_codes() {
        let grids = city().expect("demo city");
        let count = |level| grids.iter().filter(|g| g.level == Some(level)).count();
        assert_eq!(count(GridLevel::District), 1);
        assert_eq!(count(GridLevel::Street), 17);
        assert_eq!(count(GridLevel::Community), 169);
        let units = count(GridLevel::Grid);
        assert!((1000..=1500).contains(&units), "{units} unit grids");

        let district_area = spatial::geodesy::area_m2(&grids[0].geometry);
        // PostGIS ST_MakeValid gives 41.82 km² for this boundary.
        assert!((district_area / 1e6 - 41.82).abs() < 0.05, "{district_area}");
        let unit_area: f64 =
            grids.iter().filter(|g| g.level == Some(GridLevel::Grid)).map(|g| g.geometry.unsigned_area()).sum();
        let street_area: f64 =
            grids.iter().filter(|g| g.level == Some(GridLevel::Street)).map(|g| g.geometry.unsigned_area()).sum();
        let whole = grids[0].geometry.unsigned_area();
        assert!((unit_area / whole - 1.0).abs() < 1e-9, "{unit_area} vs {whole}");
        assert!((street_area / whole - 1.0).abs() < 1e-9, "{street_area} vs {whole}");

        for g in &grids {
            assert!(g.geometry.is_valid(), "{} is invalid", g.code);
            if g.level == Some(GridLevel::Grid) {
                assert_eq!(g.code.len(), 15);
                assert!(g.code.starts_with(g.parent_code.as_deref().unwrap_or("-")));
            }
        }
        // Deterministic: the same city twice.
        assert_eq!(city().expect("again"), grids);
    }
}
