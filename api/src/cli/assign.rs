//! `gridwatch assign`: assign a CSV of points to grids from a GeoJSON file, no database needed.
//!
//! Streams in chunks (bounded memory for any number of points), works the chunks on several
//! threads and writes to a temporary file that replaces OUT only when everything succeeded.

use importers::geojson::{read_polygon_features, text_property};
use importers::points::{PointReader, PointRow};
use spatial::index::Entry;
use spatial::GridIndex;
use std::io::Write;
use std::path::Path;
use std::time::Instant;

const CHUNK: usize = 1 << 16;

/// Figures from one run.
#[derive(Debug, Clone, PartialEq)]
pub struct AssignStats {
    pub grids: usize,
    pub points: usize,
    pub assigned: usize,
    /// Reading the grids and building the index.
    pub index_seconds: f64,
    /// Streaming the points through (after the index was built).
    pub seconds: f64,
}

/// Builds the index from a GeoJSON file; every feature needs a code (property `code`, or its `id`).
pub fn load_index(path: &Path) -> Result<GridIndex<()>, String> {
    let (features, errors) = read_polygon_features(path).map_err(|e| e.to_string())?;
    if let Some(e) = errors.first() {
        return Err(format!("{}: {e} ({} bad features in all)", path.display(), errors.len()));
    }
    let mut entries = Vec::with_capacity(features.len());
    for f in features {
        let code = text_property(&f.properties, "code")
            .or(f.id.clone())
            .ok_or_else(|| format!("{}: feature {}, code: is required", path.display(), f.index))?;
        // Assignment needs no validity (ST_Covers does not either): use the rings as given.
        entries.push(Entry { code, geometry: spatial::validity::as_given(&f.geometry), payload: () });
    }
    Ok(GridIndex::new(entries))
}

pub fn run(grids: &Path, points: &Path, out: &Path, threads: usize) -> Result<AssignStats, String> {
    let started = Instant::now();
    let index = load_index(grids)?;
    let index_seconds = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let source = std::fs::File::open(points).map_err(|e| format!("cannot read {}: {e}", points.display()))?;
    let mut reader =
        PointReader::new(points.display().to_string(), std::io::BufReader::with_capacity(1 << 20, source))?;

    let tmp = out.with_extension(format!("partial-{}", std::process::id()));
    let result = (|| {
        let file = std::fs::File::create(&tmp).map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
        let mut writer = csv::Writer::from_writer(std::io::BufWriter::with_capacity(1 << 20, file));
        writer.write_record(["id", "code"]).map_err(|e| e.to_string())?;
        let mut stats = AssignStats { grids: index.len(), points: 0, assigned: 0, index_seconds, seconds: 0.0 };
        let mut chunk: Vec<PointRow> = Vec::with_capacity(CHUNK);
        let mut codes: Vec<Option<usize>> = Vec::with_capacity(CHUNK);
        loop {
            chunk.clear();
            while chunk.len() < CHUNK {
                match reader.next_point() {
                    Some(row) => chunk.push(row?),
                    None => break,
                }
            }
            if chunk.is_empty() {
                break;
            }
            assign_chunk(&index, &chunk, &mut codes, threads);
            for (row, hit) in chunk.iter().zip(&codes) {
                let code = hit.map(|i| index.entries()[i].code.as_str()).unwrap_or("");
                writer.write_record([row.id.as_str(), code]).map_err(|e| e.to_string())?;
            }
            stats.points += chunk.len();
            stats.assigned += codes.iter().filter(|c| c.is_some()).count();
        }
        let mut inner = writer.into_inner().map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
        inner.flush().map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
        std::fs::rename(&tmp, out).map_err(|e| format!("cannot write {}: {e}", out.display()))?;
        stats.seconds = started.elapsed().as_secs_f64();
        Ok(stats)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Locates one chunk, split across `threads` scoped threads; results stay in input order.
fn assign_chunk(index: &GridIndex<()>, chunk: &[PointRow], codes: &mut Vec<Option<usize>>, threads: usize) {
    codes.clear();
    codes.resize(chunk.len(), None);
    let per_thread = chunk.len().div_ceil(threads.max(1)).max(1);
    std::thread::scope(|scope| {
        for (points, out) in chunk.chunks(per_thread).zip(codes.chunks_mut(per_thread)) {
            scope.spawn(move || {
                for (p, slot) in points.iter().zip(out.iter_mut()) {
                    *slot = index.locate_index(geo::Coord { x: p.lon, y: p.lat });
                }
            });
        }
    });
}
