//! Assessment points (测评点位) and planned patrol routes: what inspectors check and where
//! officers walk.

use crate::index::GridIndex;
use geo::{BooleanOps, BoundingRect, Geodesic, Geometry, Intersects, Length, MultiLineString, MultiPolygon};
use serde::{Deserialize, Serialize};

/// The point types of the national assessment manual (实地考察), with their Chinese names.
pub const POINT_KINDS: [(&str, &str); 31] = [
    ("service_hall", "服务窗口"),
    ("hospital", "医院"),
    ("hotel", "宾馆"),
    ("mall", "商场"),
    ("bus_station", "长途汽车站"),
    ("railway_station", "火车站"),
    ("bus_stop", "公交站点"),
    ("cinema", "影剧院"),
    ("restaurant", "餐馆"),
    ("drugstore", "药店"),
    ("school", "学校"),
    ("school_surroundings", "校园周边"),
    ("internet_cafe", "网吧"),
    ("main_road", "主干道"),
    ("secondary_road", "次干道"),
    ("commercial_street", "商业大街"),
    ("intersection", "路口"),
    ("back_street", "背街小巷"),
    ("street_office", "街道办事处"),
    ("community_committee", "社区居委会"),
    ("residential_compound", "小区"),
    ("old_compound", "老旧小区"),
    ("market", "农贸市场"),
    ("park", "公园"),
    ("square", "广场"),
    ("scenic_area", "景区"),
    ("cultural_venue", "文化场馆"),
    ("public_toilet", "公厕"),
    ("construction_site", "工地围挡"),
    ("refuse_station", "垃圾转运站"),
    ("emergency_shelter", "应急避难场所"),
];

/// The English id of a point kind given either its id or its Chinese name.
pub fn point_kind(text: &str) -> Option<&'static str> {
    let t = text.trim();
    POINT_KINDS.iter().find(|(id, zh)| *id == t || *zh == t).map(|(id, _)| *id)
}

/// One line of a point's checklist (测评标准).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Criterion {
    pub id: String,
    pub text: String,
    #[serde(default = "one")]
    pub weight: f64,
    /// The problem category (catalogue code or name) a failure opens; a general one when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
}

fn one() -> f64 {
    1.0
}

/// An assessment point as imported or posted, before routing.
#[derive(Debug, Clone, PartialEq)]
pub struct AssessmentPoint {
    pub code: String,
    pub name: String,
    pub kind: &'static str,
    pub geometry: Geometry<f64>,
    pub criteria: Vec<Criterion>,
    /// Days a week it must be visited (1–7).
    pub required_per_week: u8,
    /// The unit answering for it; when absent, the unit of its grid.
    pub unit: Option<String>,
}

/// A planned patrol route: one officer's line for one weekday (1 = Monday … 7 = Sunday).
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedRoute {
    pub officer: String,
    pub weekday: u8,
    pub name: Option<String>,
    pub line: geo::LineString<f64>,
}

/// Which grids a geometry falls in: the responsible one (holding the largest share; a point's
/// covering grid with the smallest code) and every grid it touches, by code.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Placement {
    pub grid: Option<usize>,
    pub touched: Vec<usize>,
}

/// Places a point, street or area among the grids of `index`. Shares are geodesic lengths for
/// lines and geodesic areas for polygons; equal shares go to the smaller code.
pub fn place<T>(index: &GridIndex<T>, geometry: &Geometry<f64>) -> Placement {
    if let Geometry::Point(p) = geometry {
        let touched = index.covering(p.0);
        return Placement { grid: touched.first().copied(), touched };
    }
    let Some(rect) = geometry.bounding_rect() else { return Placement::default() };
    let mut shares: Vec<(usize, f64)> = index
        .intersecting(rect)
        .into_iter()
        .filter(|&i| index.entries()[i].geometry.intersects(geometry))
        .map(|i| (i, share(&index.entries()[i].geometry, geometry)))
        .collect();
    shares.sort_by_key(|&(i, _)| i);
    let grid = shares.iter().fold(None::<(usize, f64)>, |best, &(i, s)| match best {
        Some((_, b)) if b >= s => best,
        _ => Some((i, s)),
    });
    Placement { grid: grid.map(|(i, _)| i), touched: shares.into_iter().map(|(i, _)| i).collect() }
}

fn share(grid: &MultiPolygon<f64>, geometry: &Geometry<f64>) -> f64 {
    let lines = |mls: MultiLineString<f64>| grid.clip(&mls, false).0.iter().map(|l| Geodesic.length(l)).sum::<f64>();
    let areas = |mp: MultiPolygon<f64>| crate::geodesy::area_m2(&grid.intersection(&mp));
    match geometry {
        Geometry::LineString(ls) => lines(MultiLineString(vec![ls.clone()])),
        Geometry::MultiLineString(mls) => lines(mls.clone()),
        Geometry::Polygon(p) => areas(MultiPolygon(vec![p.clone()])),
        Geometry::MultiPolygon(mp) => areas(mp.clone()),
        _ => 0.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::Entry;
    use geo::{line_string, point, polygon};

    fn square(x0: f64, size: f64) -> MultiPolygon<f64> {
        MultiPolygon(vec![polygon![
            (x: x0, y: 39.9), (x: x0 + size, y: 39.9), (x: x0 + size, y: 39.9 + size), (x: x0, y: 39.9 + size), (x: x0, y: 39.9)
        ]])
    }

    fn two_grids() -> GridIndex<()> {
        GridIndex::new(vec![
            Entry { code: "002".into(), geometry: square(116.40, 0.01), payload: () },
            Entry { code: "001".into(), geometry: square(116.41, 0.01), payload: () },
        ])
    }

    #[test]
    fn a_street_goes_to_the_grid_holding_most_of_it_and_records_both() {
        let index = two_grids();
        let code = |i: usize| index.entries()[i].code.clone();
        // 70 % in "002" (west), 30 % in "001" (east).
        let street = Geometry::LineString(line_string![(x: 116.403, y: 39.905), (x: 116.413, y: 39.905)]);
        let placed = place(&index, &street);
        assert_eq!(placed.grid.map(code), Some("002".into()));
        let mut touched: Vec<String> = placed.touched.into_iter().map(code).collect();
        touched.sort();
        assert_eq!(touched, ["001", "002"]);
        let market = Geometry::Polygon(polygon![
            (x: 116.408, y: 39.901), (x: 116.415, y: 39.901), (x: 116.415, y: 39.902), (x: 116.408, y: 39.902)
        ]);
        assert_eq!(place(&index, &market).grid.map(code), Some("001".into()));
        assert_eq!(place(&index, &Geometry::Point(point!(x: 116.41, y: 39.905))).grid.map(code), Some("001".into()));
        assert_eq!(place(&index, &Geometry::Point(point!(x: 117.0, y: 39.905))), Placement::default());
    }

    #[test]
    fn kinds_are_known_in_both_languages() {
        assert_eq!(point_kind("农贸市场"), Some("market"));
        assert_eq!(point_kind("back_street"), Some("back_street"));
        assert_eq!(point_kind("spaceport"), None);
    }
}
