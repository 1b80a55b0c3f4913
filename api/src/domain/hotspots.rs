//! Recurrences (反弹回潮) and hot spots: a new case of the same category close to one closed a
//! short while ago is the same problem come back, counted against the unit that closed it; the
//! places where cases gather (per grid or per square cell) and the points that keep coming back
//! (顽固点位) are what the office hits harder. Pure: facts in, findings out.

use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use time::OffsetDateTime;

/// How close and how soon a new case must follow a closed one of its category to be its
/// recurrence.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RecurrenceRule {
    pub metres: f64,
    pub days: u32,
}

impl Default for RecurrenceRule {
    fn default() -> Self {
        Self { metres: 50.0, days: 30 }
    }
}

impl RecurrenceRule {
    /// Linking is off with no metres or no days.
    pub fn is_on(&self) -> bool {
        self.metres > 0.0 && self.days > 0
    }

    /// The earliest closing a report made at `at` can be a recurrence of.
    pub fn since(&self, at: OffsetDateTime) -> OffsetDateTime {
        at - time::Duration::days(i64::from(self.days))
    }
}

/// A closed case near a new report: a candidate for what it recurs.
#[derive(Debug, Clone, PartialEq)]
pub struct ClosedNear {
    pub id: i64,
    pub lon: f64,
    pub lat: f64,
    pub closed_at: OffsetDateTime,
    pub responsible_unit: Option<String>,
    /// The first case of its chain, when it was itself a recurrence.
    pub root: Option<i64>,
}

/// What a case recurs (反弹): the closed case it follows, how far from it, and the unit that
/// closed that one (the unit it counts against).
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Recurrence {
    /// The closed case this one follows.
    pub of: i64,
    /// The first case of the chain (the same as `of` for a first recurrence).
    pub root: i64,
    pub distance_m: f64,
    /// 责任单位 of the closed case: the recurrence counts against it.
    pub unit: Option<String>,
}

/// The recurrence a report at `(lon, lat)` made at `at` is, among closed cases of its category
/// nearby: the nearest closed within the rule's metres and days (the latest closed on a tie).
pub fn recurrence_of(
    lon: f64,
    lat: f64,
    at: OffsetDateTime,
    candidates: &[ClosedNear],
    rule: RecurrenceRule,
) -> Option<Recurrence> {
    let here = geo::Point::new(lon, lat);
    let since = rule.since(at);
    candidates
        .iter()
        .filter(|c| c.closed_at >= since && c.closed_at <= at)
        .map(|c| (spatial::geodesy::distance_m(here, geo::Point::new(c.lon, c.lat)), c))
        .filter(|(d, _)| *d <= rule.metres)
        .min_by(|(da, a), (db, b)| da.total_cmp(db).then(b.closed_at.cmp(&a.closed_at)).then(b.id.cmp(&a.id)))
        .map(|(d, c)| Recurrence {
            of: c.id,
            root: c.root.unwrap_or(c.id),
            distance_m: (d * 10.0).round() / 10.0,
            unit: c.responsible_unit.clone(),
        })
}

/// A case of the past as [`link_history`] reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct PastCase {
    pub id: i64,
    pub lon: f64,
    pub lat: f64,
    pub category: String,
    pub created_at: OffsetDateTime,
    pub closed_at: Option<OffsetDateTime>,
    pub responsible_unit: Option<String>,
}

/// The recurrences among cases already stored, as intake would have linked each when it came in
/// (oldest first; a case closed after another came in is no candidate for it): for data that
/// did not come through intake (the demo's history).
pub fn link_history(cases: &[PastCase], rule: RecurrenceRule) -> Vec<(i64, Recurrence)> {
    let mut order: Vec<&PastCase> = cases.iter().collect();
    order.sort_by_key(|c| (c.created_at, c.id));
    let mut roots: HashMap<i64, i64> = HashMap::new();
    let mut links = Vec::new();
    for case in &order {
        let candidates: Vec<ClosedNear> = order
            .iter()
            .filter(|c| c.id != case.id && c.category == case.category)
            .filter_map(|c| {
                Some(ClosedNear {
                    id: c.id,
                    lon: c.lon,
                    lat: c.lat,
                    closed_at: c.closed_at?,
                    responsible_unit: c.responsible_unit.clone(),
                    root: roots.get(&c.id).copied(),
                })
            })
            .collect();
        if let Some(found) = recurrence_of(case.lon, case.lat, case.created_at, &candidates, rule) {
            roots.insert(case.id, found.root);
            links.push((case.id, found));
        }
    }
    links
}

/// One case as the hot-spot layer counts it.
#[derive(Debug, Clone, PartialEq)]
pub struct HotCase {
    pub id: i64,
    pub lon: f64,
    pub lat: f64,
    pub category: String,
    pub category_name: Option<String>,
    pub grid_code: Option<String>,
    pub responsible_unit: Option<String>,
    pub created_at: OffsetDateTime,
    pub open: bool,
    pub recurrence: Option<Recurrence>,
}

/// What a hot spot is drawn over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum HotspotBy {
    /// The responsibility grids (网格).
    Grid,
    /// Square cells of a given size in metres.
    Cell,
}

/// Square cells of `size_m` metres, measured at a reference latitude (the city's), numbered
/// from longitude and latitude 0 so the same place always falls in the same cell.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cells {
    pub size_m: f64,
    d_lon: f64,
    d_lat: f64,
}

impl Cells {
    pub fn new(size_m: f64, reference_lat: f64) -> Self {
        let (per_lat, per_lon) = spatial::geodesy::metres_per_degree(reference_lat);
        Self { size_m, d_lon: size_m / per_lon.max(1e-9), d_lat: size_m / per_lat }
    }

    /// The cell a point falls in (column, row).
    pub fn of(&self, lon: f64, lat: f64) -> (i64, i64) {
        ((lon / self.d_lon).floor() as i64, (lat / self.d_lat).floor() as i64)
    }

    /// The cell's corners: west, south, east, north.
    pub fn bounds(&self, (column, row): (i64, i64)) -> [f64; 4] {
        let (west, south) = (column as f64 * self.d_lon, row as f64 * self.d_lat);
        [west, south, west + self.d_lon, south + self.d_lat]
    }
}

/// Cases gathered in one grid or cell.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct HotCount {
    pub cases: u32,
    /// Of them, still open.
    pub open: u32,
    /// Of them, recurrences (反弹).
    pub recurrences: u32,
}

/// Counts cases per grid code (those routed to none are left out).
pub fn per_grid(cases: &[HotCase]) -> BTreeMap<String, HotCount> {
    let mut counts = BTreeMap::new();
    for c in cases {
        if let Some(code) = &c.grid_code {
            add(counts.entry(code.clone()).or_insert_with(empty), c);
        }
    }
    counts
}

/// Counts cases per cell.
pub fn per_cell(cases: &[HotCase], cells: &Cells) -> BTreeMap<(i64, i64), HotCount> {
    let mut counts = BTreeMap::new();
    for c in cases {
        add(counts.entry(cells.of(c.lon, c.lat)).or_insert_with(empty), c);
    }
    counts
}

fn empty() -> HotCount {
    HotCount { cases: 0, open: 0, recurrences: 0 }
}

fn add(count: &mut HotCount, c: &HotCase) {
    count.cases += 1;
    count.open += u32::from(c.open);
    count.recurrences += u32::from(c.recurrence.is_some());
}

/// A place where the same problem keeps coming back (顽固点位): a chain of recurrences.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct StubbornPoint {
    /// The first case of the chain.
    pub root: i64,
    /// Where the latest case of the chain is.
    pub lon: f64,
    pub lat: f64,
    pub category: String,
    pub category_name: Option<String>,
    pub grid_code: Option<String>,
    /// The unit the latest recurrence counts against.
    pub responsible_unit: Option<String>,
    /// Recurrences in the period.
    pub recurrences: u32,
    /// The chain's cases in the period, oldest first.
    pub cases: Vec<i64>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub last_at: OffsetDateTime,
    /// The latest case of the chain is still open.
    pub open: bool,
}

/// The chains with at least `min_recurrences` recurrences among `cases`, most recurrences first.
pub fn stubborn_points(cases: &[HotCase], min_recurrences: u32) -> Vec<StubbornPoint> {
    let mut chains: HashMap<i64, Vec<&HotCase>> = HashMap::new();
    for c in cases {
        if let Some(r) = &c.recurrence {
            chains.entry(r.root).or_default().push(c);
        }
    }
    let mut points: Vec<StubbornPoint> = chains
        .into_iter()
        .filter(|(_, links)| links.len() as u32 >= min_recurrences.max(1))
        .filter_map(|(root, mut links)| {
            links.sort_by_key(|c| (c.created_at, c.id));
            let latest = *links.last()?;
            Some(StubbornPoint {
                root,
                lon: latest.lon,
                lat: latest.lat,
                category: latest.category.clone(),
                category_name: latest.category_name.clone(),
                grid_code: latest.grid_code.clone(),
                responsible_unit: latest.recurrence.as_ref().and_then(|r| r.unit.clone()),
                recurrences: links.len() as u32,
                cases: links.iter().map(|c| c.id).collect(),
                last_at: latest.created_at,
                open: latest.open,
            })
        })
        .collect();
    points.sort_by(|a, b| b.recurrences.cmp(&a.recurrences).then(b.last_at.cmp(&a.last_at)).then(a.root.cmp(&b.root)));
    points
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    /// A point `north_m` metres north of (116.40, 39.90).
    fn north(north_m: f64) -> (f64, f64) {
        let (per_lat, _) = spatial::geodesy::metres_per_degree(39.9);
        (116.40, 39.90 + north_m / per_lat)
    }

    fn closed(id: i64, north_m: f64, closed_at: OffsetDateTime) -> ClosedNear {
        let (lon, lat) = north(north_m);
        ClosedNear { id, lon, lat, closed_at, responsible_unit: Some(format!("unit {id}")), root: None }
    }

    #[test]
    fn the_nearest_recent_closing_within_the_rule_is_recurred() {
        let now = datetime!(2026-12-06 10:00 +08:00);
        let rule = RecurrenceRule { metres: 50.0, days: 30 };
        let candidates = [
            closed(1, 40.0, now - time::Duration::days(3)),
            closed(2, 20.0, now - time::Duration::days(10)),
            // Nearer, but closed too long ago; and one closed after the report (not yet).
            closed(3, 5.0, now - time::Duration::days(31)),
            closed(4, 1.0, now + time::Duration::minutes(1)),
            // Recent, but outside the radius.
            closed(5, 60.0, now - time::Duration::days(1)),
        ];
        let (lon, lat) = north(0.0);
        let found = recurrence_of(lon, lat, now, &candidates, rule).expect("a recurrence");
        assert_eq!((found.of, found.root, found.unit.as_deref()), (2, 2, Some("unit 2")));
        assert!((found.distance_m - 20.0).abs() < 0.2, "{}", found.distance_m);
        // Nothing within 10 m; a chain keeps its root.
        assert_eq!(recurrence_of(lon, lat, now, &candidates, RecurrenceRule { metres: 10.0, days: 30 }), None);
        let chained = [ClosedNear { root: Some(7), ..closed(2, 20.0, now - time::Duration::days(10)) }];
        assert_eq!(recurrence_of(lon, lat, now, &chained, rule).map(|r| (r.of, r.root)), Some((2, 7)));
        // At equal distance the latest closing wins.
        let tie = [closed(8, 30.0, now - time::Duration::days(9)), closed(9, 30.0, now - time::Duration::days(2))];
        assert_eq!(recurrence_of(lon, lat, now, &tie, rule).map(|r| r.of), Some(9));
    }

    #[test]
    fn history_is_linked_as_intake_would_have_linked_it() {
        let t = datetime!(2026-11-01 09:00 +08:00);
        let day = |d: i64| t + time::Duration::days(d);
        let past = |id: i64, north_m: f64, created: i64, closed: Option<i64>| {
            let (lon, lat) = north(north_m);
            PastCase {
                id,
                lon,
                lat,
                category: "E01001".into(),
                created_at: day(created),
                closed_at: closed.map(day),
                responsible_unit: None,
            }
        };
        // 2 comes while 1 is still open (no link); 3 after 1 closed; 4 after 3 closed (the chain
        // keeps 1 as its root); 5 forty days after 4 closed (too late).
        let cases = [
            past(1, 0.0, 0, Some(3)),
            past(2, 5.0, 1, None),
            past(3, 10.0, 5, Some(6)),
            past(4, 12.0, 8, Some(9)),
            past(5, 12.0, 49, None),
        ];
        let links: Vec<(i64, i64, i64)> =
            link_history(&cases, RecurrenceRule::default()).into_iter().map(|(id, r)| (id, r.of, r.root)).collect();
        assert_eq!(links, vec![(3, 1, 1), (4, 3, 1)]);
    }

    fn hot(id: i64, lon: f64, lat: f64, root: Option<i64>, day: u8) -> HotCase {
        HotCase {
            id,
            lon,
            lat,
            category: "E01001".into(),
            category_name: None,
            grid_code: Some(if lon < 116.4 { "A" } else { "B" }.into()),
            responsible_unit: None,
            created_at: datetime!(2026-11-01 09:00 +08:00) + time::Duration::days(i64::from(day)),
            open: id % 2 == 0,
            recurrence: root.map(|root| Recurrence { of: root, root, distance_m: 1.0, unit: Some("环卫所".into()) }),
        }
    }

    #[test]
    fn cases_are_counted_per_grid_and_cell_and_chains_make_stubborn_points() {
        let cases = [
            hot(1, 116.3990, 39.9001, None, 1),
            hot(2, 116.3991, 39.9001, Some(1), 5),
            hot(3, 116.3992, 39.9002, Some(1), 9),
            hot(4, 116.4100, 39.9100, None, 2),
            hot(5, 116.4101, 39.9100, Some(4), 3),
        ];
        let grids = per_grid(&cases);
        assert_eq!(grids["A"], HotCount { cases: 3, open: 1, recurrences: 2 });
        assert_eq!(grids["B"], HotCount { cases: 2, open: 1, recurrences: 1 });
        let cells = Cells::new(100.0, 39.9);
        let counted = per_cell(&cases, &cells);
        assert_eq!(counted.values().map(|c| c.cases).sum::<u32>(), 5);
        let first = cells.of(116.3990, 39.9001);
        let [w, s, e, n] = cells.bounds(first);
        assert!(w <= 116.3990 && 116.3990 < e && s <= 39.9001 && 39.9001 < n);
        let width = spatial::geodesy::distance_m(geo::Point::new(w, 39.9), geo::Point::new(e, 39.9));
        assert!((width - 100.0).abs() < 0.5, "{width}");
        let points = stubborn_points(&cases, 2);
        assert_eq!(points.len(), 1, "{points:?}");
        assert_eq!((points[0].root, points[0].recurrences, points[0].cases.clone()), (1, 2, vec![2, 3]));
        assert_eq!(stubborn_points(&cases, 1).len(), 2);
    }
}
