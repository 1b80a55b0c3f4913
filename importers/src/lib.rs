//! Reading the files cities have into gridwatch's domain records.
//!
//! Every reader reports problems per record (feature index or row, field, reason) so that a
//! user can fix the file; nothing here writes anywhere.

pub mod geojson;
pub mod grids;
pub mod patrol;
pub mod points;

use serde::Serialize;
use std::fmt;

/// A problem with one record of an input file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecordError {
    /// Feature index (0-based) for GeoJSON, data row (1-based, header excluded) for CSV.
    pub record: usize,
    pub code: Option<String>,
    pub field: String,
    pub reason: String,
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "feature {}", self.record)?;
        if let Some(code) = &self.code {
            write!(f, " (code {code})")?;
        }
        write!(f, ", {}: {}", self.field, self.reason)
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
