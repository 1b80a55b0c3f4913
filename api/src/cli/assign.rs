//! `gridwatch assign`: assign a CSV of points to grids from a GeoJSON file, no database needed.
//!
//! Streams in batches (bounded memory for any number of points): with two threads or more, one
//! thread parses the CSV while another locates and writes, to a temporary file that replaces
//! OUT only when everything succeeded. Locating is the cheap part (see `spatial::locator`).

use clap::Args;
use importers::geojson::{read_polygon_features, text_property};
use importers::points::{PointBatch, PointReader};
use spatial::index::Entry;
use spatial::GridIndex;
use std::io::Write;
use std::path::{Path, PathBuf};
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
        let mut output =
            Output { out: std::io::BufWriter::with_capacity(1 << 20, file), line: Vec::new(), answers: Vec::new() };
        output.out.write_all(b"id,code\n").map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
        let mut stats = AssignStats { grids: index.len(), points: 0, assigned: 0, index_seconds, seconds: 0.0 };
        if threads <= 1 {
            // One thread reads, locates and writes in turn.
            let mut batch = PointBatch::default();
            loop {
                batch.clear();
                if reader.next_batch(&mut batch, CHUNK)? == 0 {
                    break;
                }
                output.write(&index, &batch, &mut stats).map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
            }
        } else {
            // Reading (parsing CSV) is the slow half: one thread reads while this one locates and
            // writes. Batches go back and forth so that their buffers are reused.
            let (full, filled) = std::sync::mpsc::sync_channel::<Result<PointBatch, String>>(2);
            let (empty, emptied) = std::sync::mpsc::channel::<PointBatch>();
            for _ in 0..3 {
                let _ = empty.send(PointBatch::default());
            }
            std::thread::scope(|scope| {
                // Owned here, so that leaving early (a write error) drops them and the reader,
                // blocked on either channel, stops.
                let (empty, filled) = (empty, filled);
                scope.spawn(move || {
                    while let Ok(mut batch) = emptied.recv() {
                        batch.clear();
                        let result = reader.next_batch(&mut batch, CHUNK);
                        let done = !matches!(result, Ok(n) if n > 0);
                        if full.send(result.map(|_| batch)).is_err() || done {
                            break;
                        }
                    }
                });
                while let Ok(message) = filled.recv() {
                    let batch = message?;
                    if batch.is_empty() {
                        break;
                    }
                    output
                        .write(&index, &batch, &mut stats)
                        .map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
                    let _ = empty.send(batch);
                }
                Ok::<(), String>(())
            })?;
        }
        let mut inner = output.out.into_inner().map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
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

/// The output CSV, written by hand: `id,code` per point, the id quoted as CSV needs.
struct Output {
    out: std::io::BufWriter<std::fs::File>,
    line: Vec<u8>,
    /// The batch's answers, by point.
    answers: Vec<Option<usize>>,
}

impl Output {
    fn write(&mut self, index: &GridIndex<()>, batch: &PointBatch, stats: &mut AssignStats) -> std::io::Result<()> {
        index.locator().locate_many(&batch.coords, &mut self.answers);
        for (i, &hit) in self.answers.iter().enumerate() {
            let line = &mut self.line;
            line.clear();
            let id = batch.id(i);
            if id.iter().any(|b| matches!(b, b',' | b'"' | b'\n' | b'\r')) {
                line.push(b'"');
                for &b in id {
                    if b == b'"' {
                        line.push(b'"');
                    }
                    line.push(b);
                }
                line.push(b'"');
            } else {
                line.extend_from_slice(id);
            }
            line.push(b',');
            if let Some(g) = hit {
                line.extend_from_slice(index.entries()[g].code.as_bytes());
                stats.assigned += 1;
            }
            line.push(b'\n');
            self.out.write_all(line)?;
        }
        stats.points += batch.len();
        Ok(())
    }
}

#[derive(Args)]
pub(super) struct AssignArgs {
    /// GeoJSON FeatureCollection of grid polygons with a `code` property.
    #[arg(long)]
    grids: PathBuf,
    /// CSV with a header and columns id,lon,lat.
    #[arg(long)]
    points: PathBuf,
    /// Output CSV (id,code); an empty code means no grid covers the point.
    #[arg(long)]
    out: PathBuf,
    /// Worker threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
}

/// Runs `gridwatch assign`, reporting the rate on standard error.
pub(super) fn run_command(args: AssignArgs) -> Result<(), crate::cli::error::CliError> {
    let threads = args.threads.unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1));
    let stats = run(&args.grids, &args.points, &args.out, threads)?;
    eprintln!(
        "assigned {} of {} points to {} grids in {:.2} s ({:.0} points/s; index built in {:.2} s)",
        stats.assigned,
        stats.points,
        stats.grids,
        stats.seconds,
        stats.points as f64 / stats.seconds.max(1e-9),
        stats.index_seconds
    );
    Ok(())
}
