//! One entry point for every format: pick the reader by extension (or `--format`), then give
//! each record the same treatment: attributes renamed by `--map`, positions converted from the
//! file's CRS to WGS-84.

use crate::crs::Crs;
use crate::record::{FieldMap, Record};
use crate::{csv_table, geojson, gpkg, gpx, shapefile, FileError, RecordError};
use encoding_rs::Encoding;
use std::io::Read;
use std::path::Path;
use std::str::FromStr;

/// The formats gridwatch reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    GeoJson,
    Csv,
    Shapefile,
    GeoPackage,
    Gpx,
}

impl Format {
    /// The format a file's extension names.
    pub fn of(path: &Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        ext.parse().ok()
    }

    pub fn name(self) -> &'static str {
        match self {
            Format::GeoJson => "GeoJSON",
            Format::Csv => "CSV",
            Format::Shapefile => "Shapefile",
            Format::GeoPackage => "GeoPackage",
            Format::Gpx => "GPX",
        }
    }
}

impl FromStr for Format {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "geojson" | "json" => Ok(Format::GeoJson),
            "csv" | "tsv" | "txt" => Ok(Format::Csv),
            "shp" | "shapefile" => Ok(Format::Shapefile),
            "gpkg" | "geopackage" => Ok(Format::GeoPackage),
            "gpx" => Ok(Format::Gpx),
            other => Err(format!("format {other:?} is not one of geojson, csv, shp, gpkg, gpx")),
        }
    }
}

/// How to read a file; everything has a sensible default.
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    /// By extension when not given.
    pub format: Option<Format>,
    /// Overrides what the file declares (`.prj`, GeoPackage SRS); WGS-84 when neither says.
    pub crs: Option<Crs>,
    /// CSV and `.dbf` text; detected (or from `.cpg`) when not given.
    pub encoding: Option<&'static Encoding>,
    /// The GeoPackage layer.
    pub layer: Option<String>,
    pub map: FieldMap,
    /// Which points of a GPX file are records.
    pub gpx: gpx::GpxPoints,
}

/// What was read, for the summary.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceInfo {
    pub format: Format,
    pub crs: Crs,
    pub encoding: Option<&'static str>,
    pub layer: Option<String>,
    /// The ordinates beyond x and y the file's geometries carry, dropped on reading ("Z", "M").
    pub dropped: Option<&'static str>,
}

/// Counts bytes read so a progress bar can show how far the file is.
struct Counting<R, F> {
    inner: R,
    progress: F,
}

impl<R: Read, F: FnMut(u64)> Read for Counting<R, F> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        (self.progress)(n as u64);
        Ok(n)
    }
}

/// Reads every record of `path`, calling `progress` with bytes read as it goes. A fault in
/// one record goes to `sink` as its error; a fault in the file as a whole is returned.
pub fn read(
    path: &Path,
    options: &ReadOptions,
    progress: &mut (dyn FnMut(u64) + Send),
    sink: &mut dyn FnMut(Result<Record, RecordError>),
) -> Result<SourceInfo, FileError> {
    let name = path.display().to_string();
    let format = options.format.or_else(|| Format::of(path)).ok_or_else(|| FileError::Format {
        path: name.clone(),
        reason: "the format is not known from the extension; give --format geojson|csv|shp|gpkg|gpx".into(),
    })?;
    let open = || std::fs::File::open(path).map_err(|source| FileError::Io { path: name.clone(), source });
    // What the file declares is read before its first record, so every record is converted
    // from one CRS known up front.
    let package = match format {
        Format::GeoPackage => Some(gpkg::open(path, options.layer.as_deref())?),
        _ => None,
    };
    // `--crs` wins over what the file declares, even over a declaration gridwatch refuses.
    let declared = match (options.crs, format) {
        (Some(_), _) => None,
        (None, Format::Shapefile) => shapefile::declared_crs(path)?,
        (None, _) => match package.as_ref().map(|p| p.crs.clone()) {
            Some(Err(reason)) => return Err(FileError::Format { path: name.clone(), reason }),
            Some(Ok(crs)) => crs,
            None => None,
        },
    };
    let crs = options.crs.or(declared);
    let dropped = package.as_ref().and_then(|p| p.dropped);
    let mut encoding = None;
    let mut layer = None;
    let mut missing_checked = options.map.0.is_empty();
    let mut finish = |result: Result<Record, RecordError>| {
        let result = result.and_then(|mut record| {
            if !missing_checked {
                missing_checked = true;
                let missing = options.map.missing_in(&record.properties);
                // Geometry columns of a CSV are mapped too and are not attributes.
                let missing: Vec<String> = missing
                    .into_iter()
                    .filter(|m| format != Format::Csv || !is_csv_geometry(&options.map, m))
                    .collect();
                if !missing.is_empty() {
                    let known: Vec<&str> = record.properties.keys().map(String::as_str).collect();
                    return Err(RecordError::new(
                        record.unit,
                        record.number,
                        None,
                        "--map",
                        format!("the file has no field {}; its fields are: {}", missing.join(", "), known.join(", ")),
                    ));
                }
            }
            options.map.apply(&mut record.properties);
            if let (Some(g), Some(crs)) = (record.geometry.as_mut(), crs) {
                g.to_wgs84(&crs);
            }
            Ok(record)
        });
        sink(result);
    };
    match format {
        Format::GeoJson => {
            let source = Counting { inner: open()?, progress: &mut *progress };
            geojson::read_records(path, source, &mut finish)?;
        }
        Format::Csv => {
            let source = Counting { inner: open()?, progress: &mut *progress };
            let info = csv_table::read_records(path, source, options.encoding, &options.map, &mut finish)?;
            encoding = Some(info.encoding);
        }
        Format::Shapefile => {
            let source = Counting { inner: open()?, progress: &mut *progress };
            encoding = Some(shapefile::read_records(path, source, options.encoding, &mut finish)?);
        }
        Format::GeoPackage => {
            if let Some(package) = package {
                layer = Some(package.table.clone());
                package.read_records(path, &mut finish)?;
            }
            progress(std::fs::metadata(path).map(|m| m.len()).unwrap_or(0));
        }
        Format::Gpx => {
            let text = std::fs::read_to_string(path).map_err(|source| FileError::Io { path: name.clone(), source })?;
            progress(text.len() as u64);
            gpx::read_points(path, &text, options.gpx, &mut finish)?;
        }
    }
    Ok(SourceInfo { format, crs: crs.unwrap_or_default(), encoding, layer, dropped })
}

fn is_csv_geometry(map: &FieldMap, theirs: &str) -> bool {
    map.0.iter().any(|(ours, t)| t == theirs && matches!(ours.as_str(), "lon" | "lat" | "wkt"))
}
