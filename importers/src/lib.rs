//! Reading the files cities have into gridwatch's domain records.
//!
//! Every reader reports problems per record (feature index or row, field, reason) so that a
//! user can fix the file; nothing here writes anywhere.

pub mod crs;
pub mod csv_table;
pub mod geojson;
pub mod gpkg;
pub mod gpx;
pub mod grids;
pub mod load;
pub mod patrol;
pub mod points;
pub mod record;
pub mod shapefile;
pub mod source;
pub mod text;
pub mod wkt;

use serde::Serialize;

/// Writes `content` to `name` (unique among the crate's tests) in the temporary directory.
#[cfg(test)]
pub(crate) fn test_file(name: &str, content: &str) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!("gw-importers-{}-{name}", std::process::id()));
    std::fs::write(&path, content).expect("temp file");
    path
}
use std::fmt;

/// A problem with one record of an input file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecordError {
    /// How the format counts records: "feature" (GeoJSON, GeoPackage; 0-based as in GDAL),
    /// "row" (CSV, 1-based, header excluded), "record" (Shapefile, 1-based as in its .dbf),
    /// "waypoint" or "track point" (GPX, 0-based).
    pub unit: &'static str,
    pub record: usize,
    pub code: Option<String>,
    pub field: String,
    pub reason: String,
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.unit, self.record)?;
        if let Some(code) = &self.code {
            write!(f, " (code {code})")?;
        }
        write!(f, ", {}: {}", self.field, self.reason)
    }
}

impl RecordError {
    pub fn new(
        unit: &'static str,
        record: usize,
        code: Option<String>,
        field: impl Into<String>,
        reason: impl Into<String>,
    ) -> Self {
        Self { unit, record, code, field: field.into(), reason: reason.into() }
    }
}

/// A problem with a whole file.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("cannot read {path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("{path} is not valid JSON: {source}")]
    Json { path: String, source: serde_json::Error },
    #[error("{path}: {reason}")]
    Format { path: String, reason: String },
}
