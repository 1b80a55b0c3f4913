//! From any readable file to checked domain records (grids, assessment points, routes):
//! every fault named per record, every repair noted, nothing written.

use crate::geojson::{text_property, Feature, GenericFeature, PolygonFeature};
use crate::grids::{grids_from_features, RepairNote};
use crate::record::Record;
use crate::source::{read, ReadOptions, SourceInfo};
use crate::{FileError, RecordError};
use spatial::patrol::{AssessmentPoint, PlannedRoute};
use spatial::track::RawFix;
use spatial::Grid;
use std::collections::HashSet;
use std::path::Path;

/// What a file yielded: the good items, and the faults and fixes of the rest.
#[derive(Debug)]
pub struct Loaded<T> {
    pub info: SourceInfo,
    /// Records read (good or bad).
    pub records: usize,
    /// Records that passed every check (the items, or what was streamed to a sink).
    pub kept: usize,
    pub items: Vec<T>,
    pub errors: Vec<RecordError>,
    pub repairs: Vec<RepairNote>,
}

impl<T> Loaded<T> {
    /// Records with at least one fault (a record may have several).
    pub fn invalid_records(&self) -> usize {
        let mut seen: Vec<(&str, usize)> = self.errors.iter().map(|e| (e.unit, e.record)).collect();
        seen.sort_unstable();
        seen.dedup();
        seen.len()
    }
}

/// Reads every record, converts it and hands each good item to `sink` as soon as it is
/// ready, so a caller can write while the file is still being read. The returned
/// [`Loaded`] has no items: they went to `sink`.
fn read_each<T>(
    path: &Path,
    options: &ReadOptions,
    progress: &mut dyn FnMut(u64, usize),
    mut convert: impl FnMut(Record, &mut Vec<RepairNote>) -> Result<T, Vec<RecordError>>,
    sink: &mut dyn FnMut(T),
) -> Result<Loaded<T>, FileError> {
    let (mut errors, mut repairs, mut records, mut kept) = (Vec::new(), Vec::new(), 0usize, 0usize);
    // Bytes are counted on the parsing thread and shown from this one.
    let bytes = std::sync::atomic::AtomicU64::new(0);
    let count = |n| {
        bytes.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
    };
    let info = read(path, options, &mut { count }, &mut |result| {
        records += 1;
        match result.map_err(|e| vec![e]).and_then(|r| convert(r, &mut repairs)) {
            Ok(item) => {
                kept += 1;
                sink(item);
            }
            Err(e) => errors.extend(e),
        }
        if records % 1024 == 0 {
            progress(bytes.load(std::sync::atomic::Ordering::Relaxed), records);
        }
    })?;
    progress(bytes.load(std::sync::atomic::Ordering::Relaxed), records);
    if records == 0 {
        return Err(FileError::Format { path: path.display().to_string(), reason: "the file has no records".into() });
    }
    Ok(Loaded { info, records, kept, items: Vec::new(), errors, repairs })
}

fn read_all<T>(
    path: &Path,
    options: &ReadOptions,
    progress: &mut dyn FnMut(u64, usize),
    convert: impl FnMut(Record, &mut Vec<RepairNote>) -> Result<T, Vec<RecordError>>,
) -> Result<Loaded<T>, FileError> {
    let mut items = Vec::new();
    let loaded = read_each(path, options, progress, convert, &mut |item| items.push(item))?;
    Ok(Loaded { items, ..loaded })
}

fn code_of(r: &Record) -> Option<String> {
    text_property(&r.properties, "code")
}

fn empty(r: &Record) -> Vec<RecordError> {
    vec![RecordError::new(r.unit, r.number, code_of(r), "geometry", "is missing or empty")]
}

/// Grids (polygons with a code, upserted by code). Repairs happen with `repair`; `level`
/// applies to grids whose record has none.
pub fn load_grids(
    path: &Path,
    options: &ReadOptions,
    repair: bool,
    level: Option<spatial::GridLevel>,
    progress: &mut dyn FnMut(u64, usize),
) -> Result<Loaded<Grid>, FileError> {
    let mut loaded = read_all(path, options, progress, |mut r, _| {
        // An empty polygon goes on to the grid check, which keeps it under --repair.
        let geometry = match r.geometry.take() {
            Some(g) => g
                .into_polygons()
                .map_err(|reason| vec![RecordError::new(r.unit, r.number, code_of(&r), "geometry", reason)])?,
            None => return Err(empty(&r)),
        };
        Ok(PolygonFeature { unit: r.unit, index: r.number, id: None, properties: r.properties, geometry })
    })?;
    let batch = grids_from_features(std::mem::take(&mut loaded.items), repair, level);
    loaded.errors.extend(batch.errors);
    loaded.errors.sort_by_key(|e| e.record);
    Ok(Loaded {
        info: loaded.info,
        records: loaded.records,
        kept: batch.grids.len(),
        items: batch.grids,
        errors: loaded.errors,
        repairs: batch.repairs,
    })
}

fn feature(r: Record, repair: bool, repairs: &mut Vec<RepairNote>) -> Result<Feature, Vec<RecordError>> {
    let code = code_of(&r);
    let geometry = match r.geometry {
        Some(g) if !g.is_empty() => g,
        _ => return Err(empty(&r)),
    };
    let (geometry, fixes) = geometry.into_geometry(repair).map_err(|reasons| {
        reasons
            .into_iter()
            .map(|reason| RecordError::new(r.unit, r.number, code.clone(), "geometry", reason))
            .collect::<Vec<_>>()
    })?;
    repairs.extend(fixes.into_iter().map(|fix| RepairNote {
        unit: r.unit,
        record: r.number,
        code: code.clone().unwrap_or_default(),
        fix,
    }));
    Ok(GenericFeature { unit: r.unit, index: r.number, id: None, properties: r.properties, geometry })
}

/// Assessment points of any geometry, each handed to `sink` as soon as it is checked;
/// polygon points are repaired with `repair`. A code seen before in the file is a fault.
pub fn stream_points(
    path: &Path,
    options: &ReadOptions,
    repair: bool,
    progress: &mut dyn FnMut(u64, usize),
    sink: &mut dyn FnMut(AssessmentPoint),
) -> Result<Loaded<AssessmentPoint>, FileError> {
    let mut seen = HashSet::new();
    let check = |r: Record, repairs: &mut Vec<RepairNote>| {
        let feature = feature(r, repair, repairs)?;
        let point = crate::patrol::point_from_feature(&feature)?;
        if !seen.insert(point.code.clone()) {
            let reason = "appears more than once in the file";
            return Err(vec![RecordError::new(feature.unit, feature.index, Some(point.code), "code", reason)]);
        }
        Ok(point)
    };
    read_each(path, options, progress, check, sink)
}

/// Assessment points of any geometry, all at once (see [`stream_points`]).
pub fn load_points(
    path: &Path,
    options: &ReadOptions,
    repair: bool,
    progress: &mut dyn FnMut(u64, usize),
) -> Result<Loaded<AssessmentPoint>, FileError> {
    let mut items = Vec::new();
    let loaded = stream_points(path, options, repair, progress, &mut |p| items.push(p))?;
    Ok(Loaded { items, ..loaded })
}

/// Planned routes (LineStrings with an officer and a weekday).
pub fn load_routes(
    path: &Path,
    options: &ReadOptions,
    progress: &mut dyn FnMut(u64, usize),
) -> Result<Loaded<PlannedRoute>, FileError> {
    load_features_as(path, options, progress, crate::patrol::routes_from_features)
}

/// A street network (LineStrings or MultiLineStrings, optionally named).
pub fn load_streets(
    path: &Path,
    options: &ReadOptions,
    progress: &mut dyn FnMut(u64, usize),
) -> Result<Loaded<spatial::streets::Street>, FileError> {
    load_features_as(path, options, progress, crate::patrol::streets_from_features)
}

/// Turns features into records, and names the features that cannot be.
type Convert<T> = fn(&[Feature]) -> (Vec<T>, Vec<RecordError>);

/// Reads every feature, then turns them into records with `convert`, whose errors join the
/// reader's in file order.
fn load_features_as<T>(
    path: &Path,
    options: &ReadOptions,
    progress: &mut dyn FnMut(u64, usize),
    convert: Convert<T>,
) -> Result<Loaded<T>, FileError> {
    let mut loaded = read_all(path, options, progress, |r, repairs| feature(r, false, repairs))?;
    let (items, errors) = convert(&std::mem::take(&mut loaded.items));
    loaded.errors.extend(errors);
    loaded.errors.sort_by_key(|e| e.record);
    Ok(Loaded {
        info: loaded.info,
        records: loaded.records,
        kept: items.len(),
        items,
        errors: loaded.errors,
        repairs: loaded.repairs,
    })
}

/// An officer's GPS fixes: GPX track points, or point records of any format with a `time`
/// (RFC 3339, `YYYY-MM-DD HH:MM[:SS]` in China time, or Unix seconds) and, optionally, an
/// `accuracy` in metres or a GPX `hdop` (taken as 5 m per unit).
pub fn load_fixes(
    path: &Path,
    options: &ReadOptions,
    progress: &mut dyn FnMut(u64, usize),
) -> Result<Loaded<RawFix>, FileError> {
    let options = ReadOptions { gpx: crate::gpx::GpxPoints::TrackPoints, ..options.clone() };
    read_all(path, &options, progress, |r, _| {
        let fail = |field: &str, reason: String| vec![RecordError::new(r.unit, r.number, None, field, reason)];
        let [lon, lat] = match &r.geometry {
            Some(crate::record::RawGeometry::Point(p)) => *p,
            Some(g) => return Err(fail("geometry", format!("a GPS fix is a Point, not a {}", g.kind()))),
            None => return Err(empty(&r)),
        };
        crate::record::check_position([lon, lat]).map_err(|reason| fail("geometry", reason))?;
        let t = match r.properties.get("time") {
            Some(serde_json::Value::Number(n)) => n.as_i64(),
            Some(serde_json::Value::String(s)) => {
                crate::record::parse_time(s).map(|t| t.unix_timestamp()).or_else(|| s.trim().parse().ok())
            }
            _ => return Err(fail("time", "is required: RFC 3339, YYYY-MM-DD HH:MM[:SS] or Unix seconds".into())),
        }
        .ok_or_else(|| {
            fail("time", format!("{} is not RFC 3339, YYYY-MM-DD HH:MM[:SS] or Unix seconds", r.properties["time"]))
        })?;
        let number = |key: &str| {
            let v = r.properties.get(key)?;
            v.as_f64().or_else(|| v.as_str()?.trim().parse().ok()).filter(|x: &f64| x.is_finite() && *x >= 0.0)
        };
        let accuracy_m = number("accuracy").or_else(|| number("hdop").map(|h| h * 5.0));
        Ok(RawFix { t, lon, lat, accuracy_m })
    })
}

/// A record whose geometry must be one point: a reported problem in a backlog.
#[derive(Debug, Clone)]
pub struct PointRecord {
    pub unit: &'static str,
    pub number: usize,
    pub code: Option<String>,
    pub lon: f64,
    pub lat: f64,
    pub properties: serde_json::Map<String, serde_json::Value>,
}

/// A backlog of reported problems: one Point each; codes, where given, must be unique.
pub fn load_reports(
    path: &Path,
    options: &ReadOptions,
    progress: &mut dyn FnMut(u64, usize),
) -> Result<Loaded<PointRecord>, FileError> {
    let mut seen = HashSet::new();
    read_all(path, options, progress, |r, _| {
        let code = code_of(&r);
        let fail = |field: &str, reason: String| vec![RecordError::new(r.unit, r.number, code.clone(), field, reason)];
        let [lon, lat] = match &r.geometry {
            Some(crate::record::RawGeometry::Point(p)) => *p,
            Some(g) => return Err(fail("geometry", format!("a problem is a Point, not a {}", g.kind()))),
            None => return Err(empty(&r)),
        };
        crate::record::check_position([lon, lat]).map_err(|reason| fail("geometry", reason))?;
        if let Some(c) = &code {
            if !seen.insert(c.clone()) {
                return Err(fail("code", "appears more than once in the file".into()));
            }
        }
        Ok(PointRecord { unit: r.unit, number: r.number, code: code.clone(), lon, lat, properties: r.properties })
    })
}

/// A record of any geometry stood in for by one position: a point as it is, a line or an
/// area by a point on it or inside it (an address of a compound, a road).
pub fn load_places(
    path: &Path,
    options: &ReadOptions,
    progress: &mut dyn FnMut(u64, usize),
) -> Result<Loaded<PointRecord>, FileError> {
    let mut seen = HashSet::new();
    read_all(path, options, progress, |r, repairs| {
        let f = feature(r, false, repairs)?;
        let code = text_property(&f.properties, "code");
        let fail = |field: &str, reason: &str| vec![RecordError::new(f.unit, f.index, code.clone(), field, reason)];
        let Some(at) = geo::InteriorPoint::interior_point(&f.geometry) else {
            return Err(fail("geometry", "has no point inside it"));
        };
        if code.as_ref().is_some_and(|c| !seen.insert(c.clone())) {
            return Err(fail("code", "appears more than once in the file"));
        }
        Ok(PointRecord { unit: f.unit, number: f.index, code, lon: at.x(), lat: at.y(), properties: f.properties })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_stand_at_a_point_on_their_line_or_inside_their_area() {
        let path = crate::test_file(
            "places.geojson",
            r#"{"type": "FeatureCollection", "features": [
              {"type": "Feature", "properties": {"code": "P", "name": "门牌"}, "geometry": {"type": "Point", "coordinates": [116.40, 39.91]}},
              {"type": "Feature", "properties": {"code": "L", "name": "胡同"}, "geometry": {"type": "LineString", "coordinates": [[116.40, 39.90], [116.42, 39.90]]}},
              {"type": "Feature", "properties": {"code": "U", "name": "小区"}, "geometry": {"type": "Polygon", "coordinates": [[[116.40, 39.92], [116.41, 39.92], [116.41, 39.93], [116.40, 39.93], [116.40, 39.92]]]}},
              {"type": "Feature", "properties": {"code": "P", "name": "again"}, "geometry": {"type": "Point", "coordinates": [116.40, 39.91]}},
              {"type": "Feature", "properties": {"code": "E", "name": "empty"}, "geometry": null}
            ]}"#,
        );
        let loaded = load_places(&path, &ReadOptions::default(), &mut |_, _| {}).expect("readable");
        let at: Vec<(String, f64, f64)> =
            loaded.items.iter().map(|p| (p.code.clone().unwrap_or_default(), p.lon, p.lat)).collect();
        assert_eq!(at[0], ("P".into(), 116.40, 39.91));
        assert!(at[1].0 == "L" && (116.40..=116.42).contains(&at[1].1) && at[1].2 == 39.90, "on the line: {at:?}");
        assert!(
            at[2].0 == "U" && at[2].1 > 116.40 && at[2].1 < 116.41 && at[2].2 > 39.92 && at[2].2 < 39.93,
            "inside: {at:?}"
        );
        let faults: Vec<(usize, &str)> = loaded.errors.iter().map(|e| (e.record, e.field.as_str())).collect();
        // Features count from 0, as GDAL numbers them.
        assert_eq!(faults, [(3, "code"), (4, "geometry")], "{:?}", loaded.errors);
    }

    #[test]
    fn gpx_track_points_with_their_faults() {
        let path = crate::test_file(
            "track.gpx",
            r#"<?xml version="1.0"?><gpx version="1.1" xmlns="http://www.topografix.com/GPX/1/1"><wpt lat="1" lon="1"/><trk><trkseg>
              <trkpt lat="39.9" lon="116.4"><time>2026-11-16T01:00:00Z</time><hdop>1.2</hdop></trkpt>
              <trkpt lat="39.9001" lon="116.4"><time>2026-11-16T09:00:15+08:00</time></trkpt>
              <trkpt lat="99" lon="116.4"><time>2026-11-16T01:00:30Z</time></trkpt>
              <trkpt lat="39.9" lon="116.4"></trkpt>
            </trkseg></trk></gpx>"#,
        );
        let loaded = load_fixes(&path, &ReadOptions::default(), &mut |_, _| {}).expect("readable");
        assert_eq!(loaded.records, 4, "track points only, not the waypoint");
        let fixes = &loaded.items;
        assert_eq!(fixes.len(), 2);
        assert_eq!(fixes[1].t - fixes[0].t, 15);
        assert!((fixes[0].accuracy_m.unwrap_or(0.0) - 6.0).abs() < 1e-9);
        let faults: Vec<(&str, usize, &str)> =
            loaded.errors.iter().map(|e| (e.unit, e.record, e.field.as_str())).collect();
        assert_eq!(faults, [("track point", 2, "geometry"), ("track point", 3, "time")]);
        let not_gpx = crate::test_file("x.gpx", "<kml/>");
        assert!(load_fixes(&not_gpx, &ReadOptions::default(), &mut |_, _| {}).is_err());
        std::fs::remove_file(path).ok();
        std::fs::remove_file(not_gpx).ok();
    }

    #[test]
    fn csv_fixes_in_china_time_and_gcj02() {
        let path = crate::test_file(
            "track.csv",
            "lon,lat,time,accuracy\n116.410,39.916,2026-11-16 09:00:00,8\n116.411,39.916,1794790815,\n116.4,39.9,yesterday,5\n",
        );
        let options = ReadOptions { crs: Some(crate::crs::Crs::Gcj02), ..ReadOptions::default() };
        let loaded = load_fixes(&path, &options, &mut |_, _| {}).expect("readable");
        assert_eq!(loaded.items.len(), 2);
        let first = &loaded.items[0];
        assert_eq!(first.t, 1_794_790_800, "09:00 China time is 01:00 UTC");
        assert_eq!((first.accuracy_m, loaded.items[1].accuracy_m), (Some(8.0), None));
        // GCJ-02 is shifted a few hundred metres from WGS-84 in Beijing: the fix is converted.
        assert!((first.lon - 116.410).abs() > 0.003 && (first.lat - 39.916).abs() > 0.0005, "{first:?}");
        assert_eq!((loaded.errors[0].record, loaded.errors[0].field.as_str()), (3, "time"));
        std::fs::remove_file(path).ok();
    }
}
