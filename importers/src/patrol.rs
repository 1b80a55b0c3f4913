//! Assessment points (测评点位) and planned routes from GeoJSON; GPS tracks from GPX.
//!
//! Point properties: `code`, `name`, `type` (an id such as `market` or its Chinese name
//! 农贸市场), `criteria` (an array of `{id, text, weight}`, or that array as a JSON string, as
//! GIS tools flatten it), `required_per_week` (1–7, default 1) and `unit` (optional).
//! Route properties: `officer`, `weekday` (1–7, Monday first, or 周一…周日 / Mon…Sun) and `name`.

use crate::geojson::{read_features, text_property, Feature};
use crate::{FileError, RecordError};
use serde_json::Value;
use spatial::patrol::{point_kind, AssessmentPoint, Criterion, PlannedRoute, POINT_KINDS};
use std::collections::HashSet;
use std::path::Path;

fn error(f: &Feature, code: Option<String>, field: &str, reason: impl Into<String>) -> RecordError {
    RecordError::new(f.unit, f.index, code, field, reason)
}

/// Checks one point's properties; `Err` names every field at fault.
pub fn point_from_feature(f: &Feature) -> Result<AssessmentPoint, Vec<RecordError>> {
    let p = &f.properties;
    let code = text_property(p, "code").or_else(|| f.id.clone());
    let mut errors = Vec::new();
    let mut fail = |field: &str, reason: String| errors.push(error(f, code.clone(), field, reason));
    match &code {
        None => fail("code", "is required".into()),
        Some(c) if c.chars().count() > 100 => fail("code", "is longer than 100 characters".into()),
        Some(_) => {}
    }
    let name = text_property(p, "name");
    match &name {
        None => fail("name", "is required".into()),
        Some(n) if n.chars().count() > 200 => fail("name", "is longer than 200 characters".into()),
        Some(_) => {}
    }
    let kind = match text_property(p, "type").or_else(|| text_property(p, "kind")) {
        None => {
            fail("type", "is required".into());
            None
        }
        Some(t) => point_kind(&t).or_else(|| {
            let known: Vec<&str> = POINT_KINDS.iter().map(|(id, _)| *id).collect();
            fail("type", format!("{t:?} is not a point type; known: {}", known.join(", ")));
            None
        }),
    };
    let criteria = match p.get("criteria") {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(s)) => serde_json::from_str::<Vec<Criterion>>(s).map_err(|e| e.to_string()),
        Some(v) => serde_json::from_value::<Vec<Criterion>>(v.clone()).map_err(|e| e.to_string()),
    }
    .and_then(check_criteria)
    .map_err(|e| fail("criteria", e))
    .unwrap_or_default();
    let required = match p.get("required_per_week") {
        None | Some(Value::Null) => Some(1),
        Some(v) => {
            let n = v.as_u64().or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()));
            let n = n.filter(|n| (1..=7).contains(n)).map(|n| n as u8);
            if n.is_none() {
                fail("required_per_week", format!("{v} is not a whole number of days from 1 to 7"));
            }
            n
        }
    };
    match (code, name, kind, required) {
        (Some(code), Some(name), Some(kind), Some(required)) if errors.is_empty() => Ok(AssessmentPoint {
            code,
            name,
            kind,
            geometry: f.geometry.clone(),
            criteria,
            required_per_week: required,
            unit: text_property(p, "unit"),
        }),
        _ => Err(errors),
    }
}

/// Criteria need distinct, non-empty ids and texts and positive finite weights.
pub fn check_criteria(criteria: Vec<Criterion>) -> Result<Vec<Criterion>, String> {
    let mut seen = HashSet::new();
    for c in &criteria {
        if c.id.trim().is_empty() || c.text.trim().is_empty() {
            return Err("every criterion needs an id and a text".into());
        }
        if c.id.len() > 100 || c.text.chars().count() > 1000 {
            return Err(format!("criterion {:?}: id over 100 or text over 1000 characters", c.id));
        }
        if !seen.insert(c.id.as_str()) {
            return Err(format!("criterion id {:?} appears twice", c.id));
        }
        if !(c.weight.is_finite() && c.weight > 0.0) {
            return Err(format!("criterion {:?}: weight must be a positive number", c.id));
        }
    }
    Ok(criteria)
}

/// A weekday as 1 (Monday) … 7 (Sunday), from a number or a name in English or Chinese.
pub fn parse_weekday(text: &str) -> Option<u8> {
    const NAMES: [[&str; 3]; 7] = [
        ["mon", "monday", "周一"],
        ["tue", "tuesday", "周二"],
        ["wed", "wednesday", "周三"],
        ["thu", "thursday", "周四"],
        ["fri", "friday", "周五"],
        ["sat", "saturday", "周六"],
        ["sun", "sunday", "周日"],
    ];
    let t = text.trim().to_lowercase();
    if let Ok(n) = t.parse::<u8>() {
        return (1..=7).contains(&n).then_some(n);
    }
    NAMES
        .iter()
        .position(|names| names.contains(&t.as_str()) || (t == "星期天" && names[0] == "sun"))
        .map(|i| i as u8 + 1)
}

/// Reads planned routes: LineString features with an officer and a weekday.
pub fn read_routes(path: &Path) -> Result<(Vec<PlannedRoute>, Vec<RecordError>), FileError> {
    let (features, mut errors) = read_features(path)?;
    let (routes, more) = routes_from_features(&features);
    errors.extend(more);
    errors.sort_by_key(|e| e.record);
    Ok((routes, errors))
}

/// Street lines (路网) for distances along streets: each LineString is a street, each part of a
/// MultiLineString too; `name` is kept when there is one.
pub fn streets_from_features(features: &[Feature]) -> (Vec<spatial::streets::Street>, Vec<RecordError>) {
    let mut errors = Vec::new();
    let mut streets = Vec::with_capacity(features.len());
    for f in features {
        let name = text_property(&f.properties, "name");
        let parts = match &f.geometry {
            geo::Geometry::LineString(ls) => vec![ls.clone()],
            geo::Geometry::MultiLineString(mls) => mls.0.clone(),
            _ => {
                errors.push(error(f, name.clone(), "geometry", "a street must be a LineString or MultiLineString"));
                continue;
            }
        };
        if parts.iter().any(|l| l.0.len() < 2) {
            errors.push(error(f, name.clone(), "geometry", "a street line needs at least two positions"));
            continue;
        }
        streets.extend(parts.into_iter().map(|line| spatial::streets::Street { name: name.clone(), line }));
    }
    (streets, errors)
}

/// Checks features as planned routes: a LineString with an officer and a weekday.
pub fn routes_from_features(features: &[Feature]) -> (Vec<PlannedRoute>, Vec<RecordError>) {
    let mut errors = Vec::new();
    let mut routes = Vec::with_capacity(features.len());
    for f in features {
        let officer = text_property(&f.properties, "officer").filter(|o| o.chars().count() <= 100);
        let weekday = text_property(&f.properties, "weekday").map(|w| (parse_weekday(&w), w));
        let mut bad = Vec::new();
        if officer.is_none() {
            bad.push(error(f, None, "officer", "is required (a user name of at most 100 characters)"));
        }
        match &weekday {
            None => bad.push(error(f, officer.clone(), "weekday", "is required")),
            Some((None, w)) => {
                bad.push(error(f, officer.clone(), "weekday", format!("{w:?} is not 1–7 or a day name")));
            }
            Some((Some(_), _)) => {}
        }
        let line = match &f.geometry {
            geo::Geometry::LineString(ls) => Some(ls.clone()),
            _ => {
                bad.push(error(f, officer.clone(), "geometry", "a route must be a LineString"));
                None
            }
        };
        match (officer, weekday, line) {
            (Some(officer), Some((Some(weekday), _)), Some(line)) if bad.is_empty() => {
                routes.push(PlannedRoute { officer, weekday, name: text_property(&f.properties, "name"), line });
            }
            _ => errors.extend(bad),
        }
    }
    (routes, errors)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_of_every_shape_and_their_faults() {
        let path = crate::test_file(
            "points.geojson",
            r#"{"type":"FeatureCollection","features":[
              {"type":"Feature","properties":{"code":"P1","name":"东四菜市场","type":"农贸市场","required_per_week":2,
                 "criteria":[{"id":"c1","text":"地面干净","weight":2}]},
               "geometry":{"type":"Polygon","coordinates":[[[116.41,39.92],[116.42,39.92],[116.42,39.93],[116.41,39.92]]]}},
              {"type":"Feature","properties":{"code":"P2","name":"史家胡同","type":"back_street","criteria":"[{\"id\":\"a\",\"text\":\"路面平整\"}]"},
               "geometry":{"type":"LineString","coordinates":[[116.41,39.92],[116.42,39.92]]}},
              {"type":"Feature","properties":{"code":"P1","name":"again","type":"公厕"},"geometry":{"type":"Point","coordinates":[116.4,39.9]}},
              {"type":"Feature","properties":{"name":"nameless","type":"spaceport","required_per_week":9},"geometry":{"type":"Point","coordinates":[116.4,39.9]}},
              {"type":"Feature","properties":{"code":"P5","name":"far","type":"公厕"},"geometry":{"type":"Point","coordinates":[216.4,39.9]}}
            ]}"#,
        );
        let loaded = crate::load::load_points(&path, &Default::default(), false, &mut |_, _| {}).expect("readable");
        let (points, errors) = (loaded.items, loaded.errors);
        assert_eq!(points.len(), 2);
        assert_eq!((points[0].kind, points[0].required_per_week, points[0].criteria[0].weight), ("market", 2, 2.0));
        assert_eq!(points[1].criteria[0].weight, 1.0, "weights default to 1");
        let faults: Vec<(usize, &str)> = errors.iter().map(|e| (e.record, e.field.as_str())).collect();
        assert_eq!(faults, [(2, "code"), (3, "code"), (3, "type"), (3, "required_per_week"), (4, "geometry")]);
        std::fs::remove_file(path).ok();
    }

    #[test]
    fn routes_need_an_officer_a_weekday_and_a_line() {
        let path = crate::test_file(
            "routes.geojson",
            r#"{"type":"FeatureCollection","features":[
              {"type":"Feature","properties":{"officer":"wang","weekday":"周二"},"geometry":{"type":"LineString","coordinates":[[116.41,39.92],[116.42,39.92]]}},
              {"type":"Feature","properties":{"officer":"li","weekday":8},"geometry":{"type":"Point","coordinates":[116.41,39.92]}}
            ]}"#,
        );
        let (routes, errors) = read_routes(&path).expect("readable");
        assert_eq!((routes.len(), routes[0].weekday), (1, 2));
        assert_eq!(errors.len(), 2);
        assert_eq!(parse_weekday("Sunday"), Some(7));
        std::fs::remove_file(path).ok();
    }
}
