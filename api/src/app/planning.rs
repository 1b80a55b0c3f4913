//! An officer's weekly patrol plan (巡查计划): what is due in their area this week (assessment
//! points still short of their required inspections, and handled problems to verify, 核查),
//! the working days left, and the routes `spatial::planning` finds. `GET /api/v1/plans` and
//! `gridwatch plan` both call [`plan_week`].

use crate::app::bulletin::Week;
use crate::app::coverage::CoverageRules;
use crate::domain::access::Area;
use crate::domain::clock::rfc3339;
use crate::domain::grids::Snapshot;
use crate::store::{Store, StoreError};
use geo::{Centroid, Coord};
use serde::Serialize;
use serde_json::{json, Value};
use spatial::planning::{Day, Distances, Stop, Unplanned};
use std::collections::BTreeMap;
use std::sync::Arc;
use time::OffsetDateTime;

/// How an officer's days are planned: the defaults are the issue's, and a city changes them
/// with a JSON file (`--plan-rules`, see [`PlanRules::from_json`]).
#[derive(Debug, Clone, PartialEq)]
pub struct PlanRules {
    /// When the working day starts, in seconds after local midnight (08:30).
    pub day_start_s: f64,
    /// Working time per day, base to base (6 h).
    pub day_budget_s: f64,
    /// Walking speed in metres per second (4.5 km/h).
    pub speed_m_s: f64,
    /// Working weekdays, 1 = Monday.
    pub workdays: Vec<u8>,
    /// Minutes at a point of a type, where the city differs from [`dwell_minutes`].
    pub dwell: BTreeMap<String, f64>,
    /// Visiting windows (seconds after midnight) by type, where the city differs from
    /// [`window`]; `None` lifts a default window.
    pub windows: BTreeMap<String, Option<(f64, f64)>>,
    /// Minutes to verify a handled problem on site (5).
    pub verify_minutes: f64,
}

impl Default for PlanRules {
    fn default() -> Self {
        Self {
            day_start_s: 8.5 * 3600.0,
            day_budget_s: 6.0 * 3600.0,
            speed_m_s: 4.5 / 3.6,
            workdays: vec![1, 2, 3, 4, 5],
            dwell: BTreeMap::new(),
            windows: BTreeMap::new(),
            verify_minutes: 5.0,
        }
    }
}

impl PlanRules {
    /// Reads a city's rules; every field is optional and a fault names its field:
    ///
    /// ```json
    /// {"day_start": "08:00", "day_hours": 7, "speed_kmh": 5, "workdays": [1, 2, 3, 4, 5, 6],
    ///  "verify_minutes": 10, "dwell_minutes": {"market": 20, "bus_stop": 3},
    ///  "windows": {"market": ["05:30", "10:00"], "school_surroundings": null}}
    /// ```
    pub fn from_json(text: &str) -> Result<Self, String> {
        use serde_json::Value;
        let value: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
        let obj = value.as_object().ok_or("must be a JSON object")?;
        let known = ["day_start", "day_hours", "speed_kmh", "workdays", "verify_minutes", "dwell_minutes", "windows"];
        if let Some(k) = obj.keys().find(|k| !known.contains(&k.as_str())) {
            return Err(format!("unknown field {k:?} (fields: {})", known.join(", ")));
        }
        let mut rules = Self::default();
        let number = |field: &str, low: f64, high: f64| -> Result<Option<f64>, String> {
            match obj.get(field) {
                None | Some(Value::Null) => Ok(None),
                Some(v) => v
                    .as_f64()
                    .filter(|x| x.is_finite() && (low..=high).contains(x))
                    .map(Some)
                    .ok_or_else(|| format!("{field}: must be a number from {low} to {high}")),
            }
        };
        if let Some(t) = obj.get("day_start") {
            rules.day_start_s = clock(t).map_err(|e| format!("day_start: {e}"))?;
        }
        if let Some(h) = number("day_hours", 0.5, 16.0)? {
            rules.day_budget_s = h * 3600.0;
        }
        if rules.day_start_s + rules.day_budget_s > 24.0 * 3600.0 {
            return Err("day_start + day_hours: the working day must end by midnight".into());
        }
        if let Some(v) = number("speed_kmh", 0.5, 60.0)? {
            rules.speed_m_s = v / 3.6;
        }
        if let Some(v) = number("verify_minutes", 0.0, 240.0)? {
            rules.verify_minutes = v;
        }
        if let Some(days) = obj.get("workdays") {
            let list = days.as_array().ok_or("workdays: must be a list of weekdays 1-7 (1 = Monday)")?;
            let mut workdays = Vec::new();
            for d in list {
                match d.as_u64() {
                    Some(d @ 1..=7) if !workdays.contains(&(d as u8)) => workdays.push(d as u8),
                    _ => return Err(format!("workdays: {d} is not a weekday 1-7 given once (1 = Monday)")),
                }
            }
            rules.workdays = workdays;
        }
        let kind = |field: &str, k: &str| {
            spatial::patrol::point_kind(k)
                .map(str::to_string)
                .ok_or_else(|| format!("{field}.{k}: not a point type (e.g. market or 农贸市场)"))
        };
        if let Some(map) = obj.get("dwell_minutes") {
            for (k, v) in map.as_object().ok_or("dwell_minutes: must be an object of type: minutes")? {
                let minutes = v.as_f64().filter(|m| m.is_finite() && (0.0..=480.0).contains(m));
                let minutes = minutes.ok_or_else(|| format!("dwell_minutes.{k}: must be minutes from 0 to 480"))?;
                rules.dwell.insert(kind("dwell_minutes", k)?, minutes);
            }
        }
        if let Some(map) = obj.get("windows") {
            for (k, v) in map.as_object().ok_or("windows: must be an object of type: [from, to] or null")? {
                let window = match v {
                    Value::Null => None,
                    Value::Array(pair) if pair.len() == 2 => {
                        let from = clock(&pair[0]).map_err(|e| format!("windows.{k}: {e}"))?;
                        let to = clock(&pair[1]).map_err(|e| format!("windows.{k}: {e}"))?;
                        if from >= to {
                            return Err(format!("windows.{k}: must open before it closes"));
                        }
                        Some((from, to))
                    }
                    _ => return Err(format!("windows.{k}: must be [\"HH:MM\", \"HH:MM\"] or null")),
                };
                rules.windows.insert(kind("windows", k)?, window);
            }
        }
        Ok(rules)
    }

    /// Minutes at a point of this type.
    pub fn dwell_minutes(&self, kind: &str) -> f64 {
        self.dwell.get(kind).copied().unwrap_or_else(|| dwell_minutes(kind))
    }

    /// The visiting window of this type, if any.
    pub fn window(&self, kind: &str) -> Option<(f64, f64)> {
        self.windows.get(kind).copied().unwrap_or_else(|| window(kind))
    }
}

/// "HH:MM" as seconds after midnight.
fn clock(value: &serde_json::Value) -> Result<f64, String> {
    let text = value.as_str().ok_or("must be a time of day like \"08:30\"")?;
    let parsed =
        text.split_once(':').and_then(|(h, m)| Some((h.trim().parse::<u32>().ok()?, m.trim().parse::<u32>().ok()?)));
    match parsed {
        Some((h, m)) if h < 24 && m < 60 => Ok(f64::from(h * 3600 + m * 60)),
        _ => Err(format!("{text:?} is not a time of day like \"08:30\"")),
    }
}

/// Minutes at a point of this kind: a market or an old compound takes longer than a bus stop.
pub fn dwell_minutes(kind: &str) -> f64 {
    match kind {
        "market"
        | "old_compound"
        | "residential_compound"
        | "mall"
        | "hospital"
        | "railway_station"
        | "bus_station"
        | "construction_site" => 15.0,
        "bus_stop" | "public_toilet" | "intersection" | "refuse_station" => 5.0,
        _ => 10.0,
    }
}

/// The local-time window for visiting this kind (a market is inspected in the morning, when it
/// is busy), as seconds after midnight.
pub fn window(kind: &str) -> Option<(f64, f64)> {
    match kind {
        "market" => Some((6.0 * 3600.0, 11.0 * 3600.0)),
        "school_surroundings" => Some((7.0 * 3600.0, 9.0 * 3600.0)),
        _ => None,
    }
}

/// One stop of a day's route.
#[derive(Debug, Clone, Serialize)]
pub struct PlannedStop {
    pub order: usize,
    /// `inspect` (an assessment point), `verify` (a handled problem, 核查) or `campaign` (a
    /// special campaign's joint enforcement patrol, 联合执法).
    pub task: &'static str,
    /// The point's code, the problem's id, or the campaign's id.
    pub code: String,
    pub name: String,
    pub kind: String,
    pub lon: f64,
    pub lat: f64,
    #[serde(with = "time::serde::rfc3339")]
    pub eta: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub depart: OffsetDateTime,
}

#[derive(Debug, Clone, Serialize)]
pub struct PlannedDay {
    pub date: String,
    pub weekday: u8,
    pub length_m: f64,
    #[serde(with = "time::serde::rfc3339")]
    pub start: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub finish: OffsetDateTime,
    pub stops: Vec<PlannedStop>,
    /// Base, stops, base: along the streets walked when the network is known.
    #[serde(skip)]
    pub line: Vec<Coord<f64>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct LeftOut {
    pub task: &'static str,
    pub code: String,
    pub name: String,
    /// `no_day_left`, `unreachable` (its window or distance cannot fit any day) or `no_room`
    /// (the week's days are full).
    pub reason: Unplanned,
}

#[derive(Debug, Clone, Serialize)]
pub struct OfficerPlan {
    pub officer: String,
    pub week: String,
    pub base: [f64; 2],
    pub days: Vec<PlannedDay>,
    pub unplanned: Vec<LeftOut>,
    /// Visits already recorded this week (inspections or track passes) and so not planned.
    pub done: usize,
    pub length_m: f64,
}

struct Task {
    task: &'static str,
    code: String,
    name: String,
    kind: String,
}

/// A week's work within an area, loaded once: each assessment point with its visits so far
/// (inspections and track passes, as weekly coverage counts them), and the handled problems
/// waiting for verification. A point's visits do not depend on the area it is loaded with, so
/// one city-wide load serves every officer's plan.
pub struct Workload {
    pub week: Week,
    points: Vec<(crate::domain::patrol::StoredPoint, u32, u8)>,
    handled: Vec<crate::domain::problem::Problem>,
    /// Joint enforcement days (联合执法) of special campaigns in the week: the campaign, the
    /// day, and the middle of each of its finest grids.
    campaign_days: Vec<CampaignDay>,
}

/// A special campaign's joint enforcement day (联合执法日) in the week: every officer with a
/// grid in the campaign's area patrols one of them that day.
struct CampaignDay {
    id: i64,
    name: String,
    date: time::Date,
    minutes: u32,
    grids: Vec<(String, Coord<f64>)>,
}

impl Workload {
    pub async fn load(
        store: &Store,
        snapshot: &Snapshot,
        area: &Area,
        week: Week,
        coverage_rules: &CoverageRules,
    ) -> Result<Self, StoreError> {
        let (coverage, points) =
            crate::app::coverage::compute(store, snapshot, area, week.clone(), coverage_rules).await?;
        let points = points.into_iter().zip(&coverage.points).map(|(p, c)| (p, c.visits, c.required)).collect();
        let mut handled = Vec::new();
        crate::store::for_each_problem(store, crate::store::Which::Open, |p| {
            if p.status == crate::domain::workflow::state::State::Handled && area.sees_problem(&p) {
                handled.push(p);
            }
        })
        .await?;
        let campaign_days = campaign_days(&store.campaigns().await?, snapshot, &week);
        Ok(Self { week, points, handled, campaign_days })
    }
}

/// The joint enforcement days of `campaigns` that fall in `week`, each with its campaign's grids.
fn campaign_days(
    campaigns: &[crate::domain::campaign::Campaign],
    snapshot: &Snapshot,
    week: &Week,
) -> Vec<CampaignDay> {
    let offset = week.start.offset();
    let (first, last) = (week.start.date(), (week.end - time::Duration::seconds(1)).to_offset(offset).date());
    let mut days = Vec::new();
    for c in campaigns {
        let in_week: Vec<time::Date> = c.plan.rounds().into_iter().filter(|d| (first..=last).contains(d)).collect();
        if in_week.is_empty() {
            continue;
        }
        let covered = c.plan.grids(snapshot);
        let grids: Vec<(String, Coord<f64>)> = snapshot
            .index
            .entries()
            .iter()
            .filter(|e| covered.contains(&e.code))
            .filter_map(|e| Some((e.code.clone(), e.geometry.centroid()?.0)))
            .collect();
        for date in in_week {
            let name = c.plan.name.clone();
            days.push(CampaignDay { id: c.id, name, date, minutes: c.plan.patrol_minutes, grids: grids.clone() });
        }
    }
    days
}

/// How plans are made in a city: its rules, its time zone, and how distances are measured
/// (geodesic, or along its streets).
#[derive(Clone, Copy)]
pub struct Planner<'a> {
    pub rules: &'a PlanRules,
    pub offset: time::UtcOffset,
    pub distances: &'a dyn Distances,
}

/// Plans the rest of the workload's week for `officer` over `area`: days already over (by
/// `now`) are left out, and today starts now. The base is the area's community office
/// (社区居委会) or street office point, else `base`, else the middle of what is due.
pub fn plan_week(
    work: &Workload,
    officer: &str,
    area: &Area,
    now: OffsetDateTime,
    how: &Planner<'_>,
    base: Option<Coord<f64>>,
) -> OfficerPlan {
    let Planner { rules, offset, distances } = *how;
    let week = &work.week;
    let label = week.label.clone();
    let mut stops = Vec::new();
    let mut tasks = Vec::new();
    let mut done = 0usize;
    let mut office = None;
    for (p, visits, required) in work.points.iter().filter(|(p, _, _)| area.sees_point(p)) {
        let Some(centre) = p.geometry.centroid() else { continue };
        if matches!(p.kind.as_str(), "community_committee" | "street_office") && office.is_none() {
            office = Some(centre.0);
        }
        done += (*visits).min(u32::from(*required)) as usize;
        for visit in *visits..u32::from(*required) {
            stops.push(Stop {
                id: format!("{}#{visit}", p.code),
                group: p.code.clone(),
                position: centre.0,
                dwell_s: rules.dwell_minutes(&p.kind) * 60.0,
                window: rules.window(&p.kind),
                weekday: None,
            });
            tasks.push(Task { task: "inspect", code: p.code.clone(), name: p.name.clone(), kind: p.kind.clone() });
        }
    }
    for problem in work.handled.iter().filter(|p| area.sees_problem(p)) {
        let id = problem.id.to_string();
        stops.push(Stop {
            id: format!("problem {id}"),
            group: format!("problem {id}"),
            position: Coord { x: problem.lon, y: problem.lat },
            dwell_s: rules.verify_minutes * 60.0,
            window: None,
            weekday: None,
        });
        tasks.push(Task {
            task: "verify",
            code: id,
            name: problem.description.clone(),
            kind: problem.category.clone(),
        });
    }
    // 联合执法: on a campaign's day, a patrol of the officer's first grid in its area.
    for day in &work.campaign_days {
        let Some((code, position)) = day.grids.iter().find(|(code, _)| area.sees(Some(code), None, None)) else {
            continue;
        };
        let id = format!("campaign {} {}", day.id, day.date);
        stops.push(Stop {
            id: id.clone(),
            group: id,
            position: *position,
            dwell_s: f64::from(day.minutes) * 60.0,
            window: None,
            weekday: Some(day.date.weekday().number_from_monday()),
        });
        tasks.push(Task { task: "campaign", code: day.id.to_string(), name: day.name.clone(), kind: code.clone() });
    }
    let base = office.or(base).unwrap_or_else(|| middle(&stops));
    let mut days = Vec::new();
    let mut dates = Vec::new();
    for n in 0..7 {
        let date = (week.start + time::Duration::days(n)).to_offset(offset).date();
        let weekday = date.weekday().number_from_monday();
        if !rules.workdays.contains(&weekday) {
            continue;
        }
        let midnight = date.midnight().assume_offset(offset);
        let (open, close) = (rules.day_start_s, rules.day_start_s + rules.day_budget_s);
        let from_now = (now - midnight).as_seconds_f64();
        if from_now >= close {
            continue;
        }
        let start_s = open.max(from_now);
        days.push(Day { weekday, start: base, end: base, start_s, budget_s: close - start_s });
        dates.push(midnight);
    }
    let plan = spatial::planning::plan(&stops, &days, rules.speed_m_s, distances);
    // Whole seconds: an ETA to the nanosecond would be false precision.
    let at = |midnight: OffsetDateTime, s: f64| midnight + time::Duration::seconds(s.round() as i64);
    let mut planned_days = Vec::new();
    for day in plan.days.iter().filter(|d| !d.visits.is_empty()) {
        let Some(k) = days.iter().position(|d| d.weekday == day.weekday) else { continue };
        let midnight = dates[k];
        let mut line = vec![base];
        let stops_of_day = day
            .visits
            .iter()
            .enumerate()
            .map(|(order, v)| {
                let t = &tasks[v.stop];
                let position = stops[v.stop].position;
                walk(&mut line, position, distances);
                PlannedStop {
                    order: order + 1,
                    task: t.task,
                    code: t.code.clone(),
                    name: t.name.clone(),
                    kind: t.kind.clone(),
                    lon: position.x,
                    lat: position.y,
                    eta: at(midnight, v.arrive_s + v.wait_s),
                    depart: at(midnight, v.depart_s),
                }
            })
            .collect();
        walk(&mut line, base, distances);
        planned_days.push(PlannedDay {
            date: midnight.date().to_string(),
            weekday: day.weekday,
            length_m: day.length_m.round(),
            start: at(midnight, days[k].start_s),
            finish: at(midnight, day.finish_s),
            stops: stops_of_day,
            line,
        });
    }
    let unplanned = plan
        .unplanned
        .iter()
        .map(|&(s, reason)| {
            let t = &tasks[s];
            LeftOut { task: t.task, code: t.code.clone(), name: t.name.clone(), reason }
        })
        .collect();
    OfficerPlan {
        officer: officer.to_string(),
        week: label,
        base: [base.x, base.y],
        length_m: plan.length_m().round(),
        days: planned_days,
        unplanned,
        done,
    }
}

/// Extends a day's line to `to` along the way walked (along the streets where they are known).
fn walk(line: &mut Vec<Coord<f64>>, to: Coord<f64>, distances: &dyn Distances) {
    let from = line.last().copied().unwrap_or(to);
    line.extend(distances.path(from, to).into_iter().skip(1));
}

fn middle(stops: &[Stop]) -> Coord<f64> {
    if stops.is_empty() {
        return Coord { x: 0.0, y: 0.0 };
    }
    let n = stops.len() as f64;
    let (x, y) = stops.iter().fold((0.0, 0.0), |(x, y), s| (x + s.position.x, y + s.position.y));
    Coord { x: x / n, y: y / n }
}

impl OfficerPlan {
    /// GeoJSON: a LineString per day (base, stops, base) and a Point per stop with its order
    /// and ETA; what could not be planned, and why, as the foreign member `unplanned`.
    pub fn to_geojson(&self) -> Value {
        let mut features = Vec::new();
        for day in &self.days {
            let coordinates: Vec<[f64; 2]> = day.line.iter().map(|c| [c.x, c.y]).collect();
            features.push(json!({
                "type": "Feature",
                "geometry": {"type": "LineString", "coordinates": coordinates},
                "properties": {"kind": "route", "officer": self.officer, "date": day.date, "weekday": day.weekday,
                    "length_m": day.length_m, "stops": day.stops.len(), "start": rfc3339(day.start), "finish": rfc3339(day.finish)}
            }));
            for stop in &day.stops {
                features.push(json!({
                    "type": "Feature",
                    "geometry": {"type": "Point", "coordinates": [stop.lon, stop.lat]},
                    "properties": {"kind": "stop", "officer": self.officer, "date": day.date, "order": stop.order,
                        "task": stop.task, "code": stop.code, "name": stop.name, "type": stop.kind,
                        "eta": rfc3339(stop.eta), "depart": rfc3339(stop.depart)}
                }));
            }
        }
        json!({
            "type": "FeatureCollection",
            "features": features,
            "officer": self.officer,
            "week": self.week,
            "base": self.base,
            "length_m": self.length_m,
            "done": self.done,
            "unplanned": self.unplanned,
        })
    }
}

/// The stored street network as a graph, or straight (geodesic) distances when none is stored.
pub async fn street_network(store: &Store) -> Result<Arc<dyn Distances + Send + Sync>, StoreError> {
    let streets = store.streets().await?;
    if streets.is_empty() {
        return Ok(Arc::new(spatial::planning::Geodesic));
    }
    let lines: Vec<geo::LineString<f64>> = streets.into_iter().map(|s| s.line).collect();
    // Building the graph is CPU work: keep it off the async workers.
    let network = tokio::task::spawn_blocking(move || spatial::streets::StreetNetwork::new(&lines))
        .await
        .map_err(|e| StoreError::Corrupt(format!("building the street network failed: {e}")))?;
    Ok(Arc::new(network))
}

/// The server's street graph, rebuilt when the stored network's revision moves.
#[derive(Default)]
pub struct StreetCache {
    built: tokio::sync::Mutex<Option<(i64, Arc<dyn Distances + Send + Sync>)>>,
}

impl StreetCache {
    pub async fn network(&self, store: &Store) -> Result<Arc<dyn Distances + Send + Sync>, StoreError> {
        let revision = store.street_revision().await?;
        let mut built = self.built.lock().await;
        if let Some((seen, network)) = built.as_ref() {
            if *seen == revision {
                return Ok(network.clone());
            }
        }
        let network = street_network(store).await?;
        *built = Some((revision, network.clone()));
        Ok(network)
    }
}

/// The area an officer plans for: their user account's scope, or else the grids whose 网格员
/// attribute names them. `None` when neither knows the name.
pub fn officer_area(users: &[crate::domain::auth::User], snapshot: &Snapshot, officer: &str) -> Option<Area> {
    if let Some(user) = users.iter().find(|u| u.name == officer && u.revoked_at.is_none()) {
        let scope = crate::domain::auth::Principal {
            user_id: user.id,
            name: user.name.clone(),
            role: user.role,
            scope: user.scope.clone(),
            unit: user.unit.clone(),
            must_change_password: false,
        };
        return Some(Area::of(&scope, snapshot));
    }
    let grids: std::collections::BTreeSet<String> = snapshot
        .index
        .entries()
        .iter()
        .filter(|e| e.payload.officer.as_deref() == Some(officer))
        .map(|e| e.code.clone())
        .collect();
    (!grids.is_empty()).then_some(Area::Grids(grids))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_city_changes_its_days_dwell_times_and_windows() {
        let rules = PlanRules::from_json(
            r#"{"day_start": "08:00", "day_hours": 7, "speed_kmh": 5, "workdays": [1, 2, 3, 4, 5, 6],
                "verify_minutes": 10, "dwell_minutes": {"农贸市场": 20}, "windows": {"market": ["05:30", "10:00"],
                "school_surroundings": null, "park": ["07:00", "09:30"]}}"#,
        )
        .expect("valid");
        assert_eq!((rules.day_start_s, rules.day_budget_s), (8.0 * 3600.0, 7.0 * 3600.0));
        assert!((rules.speed_m_s - 5.0 / 3.6).abs() < 1e-12);
        assert_eq!(rules.workdays, [1, 2, 3, 4, 5, 6]);
        assert_eq!((rules.dwell_minutes("market"), rules.dwell_minutes("bus_stop")), (20.0, 5.0));
        assert_eq!(rules.window("market"), Some((5.5 * 3600.0, 10.0 * 3600.0)));
        assert_eq!(rules.window("school_surroundings"), None, "a default window lifted");
        assert_eq!(rules.window("park"), Some((7.0 * 3600.0, 9.5 * 3600.0)));
        assert_eq!(PlanRules::from_json("{}").expect("empty"), PlanRules::default());
    }

    #[test]
    fn bad_rules_name_their_field() {
        for (text, field) in [
            (r#"{"day_start": "25:00"}"#, "day_start"),
            (r#"{"day_hours": 0}"#, "day_hours"),
            (r#"{"day_start": "20:00", "day_hours": 6}"#, "midnight"),
            (r#"{"workdays": [1, 1]}"#, "workdays"),
            (r#"{"workdays": [8]}"#, "workdays"),
            (r#"{"dwell_minutes": {"castle": 5}}"#, "dwell_minutes.castle"),
            (r#"{"windows": {"market": ["11:00", "06:00"]}}"#, "windows.market"),
            (r#"{"speed": 4}"#, "unknown field"),
            ("[", "not JSON"),
        ] {
            let e = PlanRules::from_json(text).expect_err(text);
            assert!(e.contains(field), "{text}: {e}");
        }
    }
}
