//! Weekly coverage (一周一梳理): which assessment points were visited enough this week, per grid,
//! street and unit, and where the gaps are. The HTTP API and `gridwatch coverage` both call
//! [`compute`]; the geometry is `spatial::coverage`.

use crate::app::bulletin::Week;
use crate::domain::access::Area;
use crate::domain::grids::Snapshot;
use crate::domain::patrol::StoredPoint;
use crate::store::{Store, StoreError};
use serde::Serialize;
use spatial::coverage::{grids_with_fixes, CoverageIndex, Fix, WeekTally};
use spatial::GridLevel;
use std::collections::{BTreeMap, HashMap};
use time::{OffsetDateTime, UtcOffset, Weekday};

/// How coverage is judged (configurable per city).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CoverageRules {
    /// A track passing this close to a point (any part of a line or polygon) visits it.
    pub radius_m: f64,
    /// The city's time zone, as a fixed offset (China has one zone and no summer time).
    pub offset: UtcOffset,
    /// The day a patrol week begins.
    pub week_start: Weekday,
}

impl Default for CoverageRules {
    fn default() -> Self {
        Self {
            radius_m: 30.0,
            offset: UtcOffset::from_hms(8, 0, 0).unwrap_or(UtcOffset::UTC),
            week_start: Weekday::Monday,
        }
    }
}

/// Parses a time zone: `+08:00`, `UTC`, or `Asia/Shanghai` (and the other IANA names of UTC+8
/// without summer time in China).
pub fn parse_time_zone(text: &str) -> Result<UtcOffset, String> {
    let t = text.trim();
    if matches!(t, "Asia/Shanghai" | "Asia/Chongqing" | "Asia/Harbin" | "PRC" | "Asia/Hong_Kong" | "Asia/Macau") {
        return UtcOffset::from_hms(8, 0, 0).map_err(|e| e.to_string());
    }
    if t.eq_ignore_ascii_case("utc") || t == "Z" {
        return Ok(UtcOffset::UTC);
    }
    let format = time::macros::format_description!("[offset_hour sign:mandatory]:[offset_minute]");
    UtcOffset::parse(t, format)
        .map_err(|_| format!("time zone {t:?}: give a UTC offset like +08:00, UTC, or Asia/Shanghai"))
}

/// Parses a weekday name (English or 周一…周日).
pub fn parse_week_start(text: &str) -> Result<Weekday, String> {
    let day = importers::patrol::parse_weekday(text)
        .ok_or_else(|| format!("week start {text:?}: give a weekday such as monday or 周一"))?;
    Ok(Weekday::Monday.nth_next(day - 1))
}

/// The ISO week `label` (`2026-W47`), begun on the rules' week-start day: the last such day
/// on or before the ISO week's Monday.
pub fn patrol_week(label: &str, rules: &CoverageRules) -> Result<Week, String> {
    let iso = crate::app::bulletin::parse_week(label, rules.offset)?;
    let back = (7 - rules.week_start.number_days_from_monday()) % 7;
    let start = iso.start - time::Duration::days(i64::from(back));
    Ok(Week { start, end: start + time::Duration::weeks(1), ..iso })
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PointCoverage {
    pub code: String,
    pub name: String,
    pub kind: String,
    pub grid_code: Option<String>,
    pub street_code: Option<String>,
    pub unit: Option<String>,
    pub required: u8,
    /// Days on which it was visited (by an inspection or a track).
    pub visits: u32,
    pub inspections: u32,
    /// The local dates it was visited.
    pub days: Vec<String>,
    /// When the most recent day's visit began.
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_visit: Option<OffsetDateTime>,
    pub covered: bool,
    /// Some planned route passes within the radius.
    pub on_route: bool,
}

/// Coverage of a group of points (a grid, a street, a unit).
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct GroupCoverage {
    pub code: String,
    pub name: Option<String>,
    pub points: usize,
    pub covered: usize,
    /// Covered share in percent (100 when the group has no points).
    pub percent: f64,
}

/// What the week left undone.
#[derive(Debug, Clone, Serialize, Default, utoipa::ToSchema)]
#[schema(as = CoverageGaps)]
pub struct Gaps {
    pub uncovered_points: Vec<String>,
    pub points_off_route: Vec<String>,
    pub grids_without_officer: Vec<String>,
    pub grids_without_track: Vec<String>,
}

/// The week in figures.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = CoverageSummary)]
pub struct Summary {
    pub points: usize,
    pub covered: usize,
    pub percent: f64,
    pub fixes: usize,
    pub inspections: usize,
    pub grids: usize,
}

/// Weekly coverage (一周一梳理): per point, grid, street and unit, with gaps.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Coverage {
    pub week: Week,
    pub radius_m: f64,
    pub summary: Summary,
    pub points: Vec<PointCoverage>,
    pub grids: Vec<GroupCoverage>,
    pub streets: Vec<GroupCoverage>,
    pub units: Vec<GroupCoverage>,
    pub gaps: Gaps,
}

fn percent(covered: usize, of: usize) -> f64 {
    if of == 0 {
        100.0
    } else {
        (covered as f64 * 1000.0 / of as f64).round() / 10.0
    }
}

/// Loads the week's points, routes, tracks and inspections within `area` and computes coverage.
pub async fn compute(
    store: &Store,
    snapshot: &Snapshot,
    area: &Area,
    week: Week,
    rules: &CoverageRules,
) -> Result<(Coverage, Vec<StoredPoint>), StoreError> {
    let (from, to) = (week.start.unix_timestamp(), week.end.unix_timestamp());
    let points: Vec<StoredPoint> = store.points(None).await?.into_iter().filter(|p| area.sees_point(p)).collect();
    let routes = store.routes().await?;
    let inspections = store.inspections(from, to).await?;

    let geometries: Vec<geo::Geometry<f64>> = points.iter().map(|p| p.geometry.clone()).collect();
    let index = CoverageIndex::new(&geometries, rules.radius_m);
    let mut tally = WeekTally::new(points.len(), from);
    let position: HashMap<&str, usize> = points.iter().enumerate().map(|(i, p)| (p.code.as_str(), i)).collect();
    let mut inspected = vec![0u32; points.len()];
    for i in &inspections {
        if let Some(&at) = position.get(i.point_code.as_str()) {
            tally.visit(at, i.at);
            inspected[at] += 1;
        }
    }
    let grid_entries = snapshot.index.entries();
    let mut tracked = vec![false; grid_entries.len()];
    let mut fixes = 0;
    // Streamed: the week's tracks are read and counted a page of batches at a time.
    crate::store::for_each_track_chunk(store, from, to, |chunk| {
        let week_fixes: Vec<Fix> = chunk
            .fixes
            .iter()
            .filter(|f| f.t >= from && f.t < to)
            .map(|f| Fix { t: f.t, lon: f.lon, lat: f.lat })
            .collect();
        fixes += week_fixes.len();
        tally.add_fixes(&index, &week_fixes);
        grids_with_fixes(&snapshot.index, &week_fixes, &mut tracked);
    })
    .await?;
    let mut on_route = vec![false; points.len()];
    for r in &routes {
        index.along(&r.line).into_iter().for_each(|i| on_route[i] = true);
    }

    let offset = week.start.offset();
    let results: Vec<PointCoverage> = points
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let visits = tally.visits(i);
            PointCoverage {
                code: p.code.clone(),
                name: p.name.clone(),
                kind: p.kind.clone(),
                grid_code: p.grid_code.clone(),
                street_code: p
                    .grid_code
                    .as_deref()
                    .and_then(|g| snapshot.ancestor_at(g, GridLevel::Street))
                    .map(str::to_string),
                unit: p.responsible_unit.clone(),
                required: p.required_per_week,
                visits,
                inspections: inspected[i],
                days: tally
                    .days(i)
                    .into_iter()
                    .map(|d| (week.start + time::Duration::days(d as i64)).date().to_string())
                    .collect(),
                last_visit: tally
                    .last_visit(i)
                    .and_then(|t| OffsetDateTime::from_unix_timestamp(t).ok())
                    .map(|t| t.to_offset(offset)),
                covered: visits >= u32::from(p.required_per_week),
                on_route: on_route[i],
            }
        })
        .collect();

    let group = |key: &dyn Fn(&PointCoverage) -> Option<String>| -> Vec<GroupCoverage> {
        let mut groups: BTreeMap<String, (usize, usize)> = BTreeMap::new();
        for p in &results {
            if let Some(k) = key(p) {
                let g = groups.entry(k).or_default();
                g.0 += 1;
                g.1 += usize::from(p.covered);
            }
        }
        groups
            .into_iter()
            .map(|(code, (n, c))| GroupCoverage {
                name: snapshot.grids.get(&code).and_then(|m| m.name.clone()),
                code,
                points: n,
                covered: c,
                percent: percent(c, n),
            })
            .collect()
    };
    // Every visible unit grid gets a row, with or without points: an empty grid is news too.
    let visible_grids: Vec<usize> = (0..grid_entries.len())
        .filter(|&g| area.sees(Some(&grid_entries[g].code), grid_entries[g].payload.responsible_unit.as_deref(), None))
        .collect();
    let by_grid: HashMap<String, GroupCoverage> =
        group(&|p| p.grid_code.clone()).into_iter().map(|g| (g.code.clone(), g)).collect();
    let grids: Vec<GroupCoverage> = visible_grids
        .iter()
        .map(|&g| {
            let e = &grid_entries[g];
            by_grid.get(&e.code).cloned().unwrap_or(GroupCoverage {
                code: e.code.clone(),
                name: e.payload.name.clone(),
                points: 0,
                covered: 0,
                percent: 100.0,
            })
        })
        .collect();
    let gaps = Gaps {
        uncovered_points: results.iter().filter(|p| !p.covered).map(|p| p.code.clone()).collect(),
        points_off_route: results.iter().filter(|p| !p.on_route).map(|p| p.code.clone()).collect(),
        grids_without_officer: visible_grids
            .iter()
            .filter(|&&g| grid_entries[g].payload.officer.as_deref().is_none_or(|o| o.trim().is_empty()))
            .map(|&g| grid_entries[g].code.clone())
            .collect(),
        grids_without_track: visible_grids
            .iter()
            .filter(|&&g| !tracked[g])
            .map(|&g| grid_entries[g].code.clone())
            .collect(),
    };
    let covered = results.iter().filter(|p| p.covered).count();
    let coverage = Coverage {
        summary: Summary {
            points: results.len(),
            covered,
            percent: percent(covered, results.len()),
            fixes,
            inspections: inspections.iter().filter(|i| position.contains_key(i.point_code.as_str())).count(),
            grids: visible_grids.len(),
        },
        streets: group(&|p| p.street_code.clone()),
        units: group(&|p| p.unit.clone()),
        grids,
        points: results,
        gaps,
        week,
        radius_m: rules.radius_m,
    };
    Ok((coverage, points))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weeks_start_on_the_configured_day_in_the_city_zone() {
        let mut rules = CoverageRules::default();
        let w = patrol_week("2026-W47", &rules).expect("week");
        assert_eq!(w.start.to_string(), "2026-11-16 0:00:00.0 +08:00:00");
        rules.week_start = parse_week_start("周日").expect("sunday");
        assert_eq!(patrol_week("2026-W47", &rules).expect("week").start.date().to_string(), "2026-11-15");
        assert_eq!(parse_time_zone("Asia/Shanghai"), UtcOffset::from_hms(8, 0, 0).map_err(|e| e.to_string()));
        assert_eq!(parse_time_zone("-03:30").map(|o| o.whole_minutes()), Ok(-210));
        assert!(parse_time_zone("Mars/Olympus").is_err());
        assert!(parse_week_start("someday").is_err());
    }
}
