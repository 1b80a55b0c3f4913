//! `gridwatch import grids|points|routes|problems|tracks|categories`: read any supported file,
//! check every record, then store all or nothing (or, with `--skip-invalid`, every valid
//! record), upserting by code so a re-import changes only what changed.

use crate::app::catalog::Catalog;
use crate::domain::auth::Actor;
use crate::domain::patrol::PointBatch;
use crate::store::Store;
use importers::grids::RepairNote;
use importers::load::Loaded;
use importers::source::ReadOptions;
use importers::RecordError;
use spatial::patrol::AssessmentPoint;
use std::path::{Path, PathBuf};
use time::OffsetDateTime;

/// What to import.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// With the level for grids whose record names none.
    Grids {
        level: Option<spatial::GridLevel>,
    },
    Points,
    Routes,
    Problems,
    Streets,
}

/// Options every file import shares.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    pub read: ReadOptions,
    pub repair: bool,
    pub skip_invalid: bool,
    pub dry_run: bool,
    pub report: Option<PathBuf>,
}

/// At most this many problems are printed; `--report` has them all.
const PRINTED: usize = 50;

/// A progress bar on stderr for long imports; indicatif hides it when stderr is not a terminal.
fn progress_bar(path: &Path) -> indicatif::ProgressBar {
    let len = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    let bar = indicatif::ProgressBar::with_draw_target(Some(len), indicatif::ProgressDrawTarget::stderr());
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{spinner} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} ETA {eta} · {msg}",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

fn load<T>(
    path: &Path,
    options: &ImportOptions,
    reader: impl FnOnce(&mut dyn FnMut(u64, usize)) -> Result<Loaded<T>, importers::FileError>,
) -> Result<Loaded<T>, Vec<String>> {
    let bar = progress_bar(path);
    let result = reader(&mut |bytes, records| {
        bar.set_position(bytes);
        bar.set_message(format!("{records} records"));
    });
    bar.finish_and_clear();
    let loaded = result.map_err(|e| vec![e.to_string()])?;
    if let Some(report) = &options.report {
        write_report(report, path, &loaded.errors, &loaded.repairs, options.skip_invalid)?;
    }
    if !loaded.errors.is_empty() && !options.skip_invalid {
        return Err(listed(path, &loaded.errors, options.report.as_deref()));
    }
    Ok(loaded)
}

/// Every problem as `file: feature N (code C), field: reason`, the first [`PRINTED`] of them.
fn listed(path: &Path, errors: &[RecordError], report: Option<&Path>) -> Vec<String> {
    let name = path.display();
    let mut lines: Vec<String> = errors.iter().take(PRINTED).map(|e| format!("{name}: {e}")).collect();
    if errors.len() > PRINTED {
        let whole = match report {
            Some(r) => format!("all of them are in {}", r.display()),
            None => "write them all with --report problems.csv".into(),
        };
        lines.push(format!("{name}: … and {} more problems; {whole}", errors.len() - PRINTED));
    }
    lines
}

/// The per-record report: file, unit, record, code, field, problem, action.
fn write_report(
    report: &Path,
    file: &Path,
    errors: &[RecordError],
    repairs: &[RepairNote],
    skip_invalid: bool,
) -> Result<(), Vec<String>> {
    let fail = |e: &dyn std::fmt::Display| vec![format!("cannot write {}: {e}", report.display())];
    let mut w = csv::Writer::from_path(report).map_err(|e| fail(&e))?;
    let file = file.display().to_string();
    crate::app::export::write_record(&mut w, ["file", "unit", "record", "code", "field", "problem", "action"])
        .map_err(|e| fail(&e))?;
    let action = if skip_invalid { "skipped" } else { "refused" };
    for e in errors {
        let code = e.code.clone().unwrap_or_default();
        crate::app::export::write_record(
            &mut w,
            [&file, e.unit, &e.record.to_string(), &code, &e.field, &e.reason, action],
        )
        .map_err(|e| fail(&e))?;
    }
    for r in repairs {
        crate::app::export::write_record(
            &mut w,
            [&file, r.unit, &r.record.to_string(), &r.code, "geometry", &r.fix, "repaired"],
        )
        .map_err(|e| fail(&e))?;
    }
    w.flush().map_err(|e| fail(&e))
}

/// The first line of every summary: what was read and how.
fn heading<T>(path: &Path, loaded: &Loaded<T>, options: &ImportOptions) -> String {
    let info = &loaded.info;
    let mut how = vec![info.format.name().to_string(), info.crs.to_string()];
    how.extend(info.encoding.map(str::to_string));
    how.extend(info.layer.as_ref().map(|l| format!("layer {l}")));
    let verb = if options.dry_run { "dry run of" } else { "imported" };
    format!("{verb} {} ({}): {} records read", path.display(), how.join(", "), loaded.records)
}

fn tail<T>(loaded: &Loaded<T>, options: &ImportOptions) -> String {
    let mut parts = Vec::new();
    if !loaded.errors.is_empty() {
        parts.push(format!("{} invalid records skipped", loaded.invalid_records()));
    }
    if options.dry_run {
        parts.push("nothing was written (--dry-run)".into());
    }
    parts.iter().map(|p| format!("; {p}")).collect()
}

fn repairs(lines: &mut Vec<String>, repairs: &[RepairNote]) {
    for r in repairs.iter().take(PRINTED) {
        lines.push(format!("repaired {} {} (code {}): {}", r.unit, r.record, r.code, r.fix));
    }
    if repairs.len() > PRINTED {
        lines.push(format!("… and {} more repairs (see --report)", repairs.len() - PRINTED));
    }
}

/// Runs one import and returns the lines of its summary, or every problem (nothing stored).
pub async fn run(
    store: &Store,
    target: Target,
    path: &Path,
    options: &ImportOptions,
    now: OffsetDateTime,
) -> Result<Vec<String>, Vec<String>> {
    let name = path.display().to_string();
    let stored = |e: crate::store::StoreError| vec![format!("{name}: {e}")];
    let mut lines = Vec::new();
    match target {
        Target::Grids { level } => {
            let loaded =
                load(path, options, |p| importers::load::load_grids(path, &options.read, options.repair, level, p))?;
            nothing_valid(path, &loaded)?;
            repairs(&mut lines, &loaded.repairs);
            let s = store.import_grids(&loaded.items, now, &Actor::cli(), options.dry_run).await.map_err(stored)?;
            lines.push(format!(
                "{}; {} new, {} new versions, {} updated, {} unchanged{}",
                heading(path, &loaded, options),
                s.created,
                s.new_versions,
                s.updated,
                s.unchanged,
                tail(&loaded, options)
            ));
        }
        Target::Points => {
            let snapshot = Catalog::load(store).await.map_err(stored)?.snapshot();
            // The file is read, checked and placed on a blocking thread while this one writes
            // what it sends: an import takes about as long as the slower of the two.
            let (sender, batches) = tokio::sync::mpsc::channel(4);
            let reader = {
                let (path, options) = (path.to_path_buf(), options.clone());
                tokio::task::spawn_blocking(move || read_points(&path, &options, &snapshot, now, sender))
            };
            let upserted = store.upsert_point_batches(batches, now, Actor::cli(), options.dry_run).await;
            let (loaded, unrouted) = reader.await.map_err(|e| vec![format!("{name}: reading stopped: {e}")])??;
            let s = upserted.map_err(stored)?;
            repairs(&mut lines, &loaded.repairs);
            lines.push(format!(
                "{}; {} new, {} updated, {} unchanged; {unrouted} outside every grid{}",
                heading(path, &loaded, options),
                s.created,
                s.updated,
                s.unchanged,
                tail(&loaded, options)
            ));
        }
        Target::Routes => {
            let mut loaded = load(path, options, |p| importers::load::load_routes(path, &options.read, p))?;
            nothing_valid(path, &loaded)?;
            let n = loaded.items.len();
            if !options.dry_run {
                let routes = std::mem::take(&mut loaded.items);
                store.save_routes(None, routes, true, now, Actor::cli()).await.map_err(stored)?;
            }
            lines.push(format!(
                "{}; {n} routes (earlier routes of the same officers and weekdays replaced){}",
                heading(path, &loaded, options),
                tail(&loaded, options)
            ));
        }
        Target::Streets => {
            let mut loaded = load(path, options, |p| importers::load::load_streets(path, &options.read, p))?;
            nothing_valid(path, &loaded)?;
            let streets = std::mem::take(&mut loaded.items);
            let network = spatial::streets::StreetNetwork::new(streets.iter().map(|s| &s.line));
            let n = store.replace_streets(streets, now, Actor::cli(), options.dry_run).await.map_err(stored)?;
            lines.push(format!(
                "{}; {n} street lines replace the network: {} junctions and vertices, {} segments joined up{}",
                heading(path, &loaded, options),
                network.nodes(),
                network.segments(),
                tail(&loaded, options)
            ));
        }
        Target::Problems => {
            let loaded = load(path, options, |p| importers::load::load_reports(path, &options.read, p))?;
            nothing_valid(path, &loaded)?;
            let catalog = Catalog::load(store).await.map_err(stored)?;
            let snapshot = catalog.snapshot();
            let mut backlog = Vec::with_capacity(loaded.items.len());
            let mut faults = Vec::new();
            for item in &loaded.items {
                match crate::domain::intake::backlog_problem(&snapshot, item, now) {
                    Ok(p) => backlog.push(p),
                    Err(e) => faults.push(e),
                }
            }
            if !faults.is_empty() && !options.skip_invalid {
                return Err(listed(path, &faults, None));
            }
            let (created, unchanged) =
                store.import_problems(backlog, Actor::cli(), options.dry_run).await.map_err(stored)?;
            let skipped = if faults.is_empty() { String::new() } else { format!("; {} more skipped", faults.len()) };
            lines.push(format!(
                "{}; {created} new cases, {unchanged} imported before (unchanged){skipped}{}",
                heading(path, &loaded, options),
                tail(&loaded, options)
            ));
        }
    }
    Ok(lines)
}

/// Points placed in their grids go to the store in batches of this many.
const POINT_BATCH: usize = 2_000;

/// Reads, checks and places assessment points, sending them to the store in batches; the
/// store is told to commit only when the whole file passed (or `--skip-invalid`). Returns
/// what was read and how many points fall outside every grid.
fn read_points(
    path: &Path,
    options: &ImportOptions,
    snapshot: &crate::domain::grids::Snapshot,
    now: OffsetDateTime,
    sender: tokio::sync::mpsc::Sender<PointBatch>,
) -> Result<(Loaded<AssessmentPoint>, usize), Vec<String>> {
    // A send fails only when the store has stopped; its error is the one reported.
    let send = |message| {
        let _ = sender.blocking_send(message);
    };
    let (mut batch, mut unrouted) = (Vec::with_capacity(POINT_BATCH), 0);
    let loaded = load(path, options, |progress| {
        importers::load::stream_points(path, &options.read, options.repair, progress, &mut |point| {
            let point = crate::domain::patrol::placed(snapshot, point, now);
            unrouted += usize::from(point.grid_code.is_none());
            batch.push(point);
            if batch.len() == POINT_BATCH {
                send(PointBatch::Points(std::mem::replace(&mut batch, Vec::with_capacity(POINT_BATCH))));
            }
        })
    })?;
    nothing_valid(path, &loaded)?;
    if !batch.is_empty() {
        send(PointBatch::Points(batch));
    }
    send(PointBatch::Commit);
    Ok((loaded, unrouted))
}

fn nothing_valid<T>(path: &Path, loaded: &Loaded<T>) -> Result<(), Vec<String>> {
    if loaded.kept == 0 {
        let mut lines = listed(path, &loaded.errors, None);
        lines.push(format!("{}: no valid record to import", path.display()));
        return Err(lines);
    }
    Ok(())
}

/// Reads an officer's GPS track (GPX track points, or points with a time from any format),
/// cleans it and stores it.
pub async fn import_track(
    store: &Store,
    path: &Path,
    officer: &str,
    options: &ImportOptions,
    now: OffsetDateTime,
) -> Result<Vec<String>, Vec<String>> {
    let name = path.display().to_string();
    let mut loaded = load(path, options, |p| importers::load::load_fixes(path, &options.read, p))?;
    nothing_valid(path, &loaded)?;
    let received = loaded.items.len();
    let (kept, dropped) =
        spatial::track::clean(std::mem::take(&mut loaded.items), spatial::track::CleaningRules::default());
    let stored = kept.len();
    if stored > 0 && !options.dry_run {
        store.insert_track(officer.to_string(), kept, now).await.map_err(|e| vec![format!("{name}: {e}")])?;
    }
    Ok(vec![format!(
        "{}; {stored} of {received} fixes for {officer}; dropped {} inaccurate, {} spikes, {} repeated times{}",
        heading(path, &loaded, options),
        dropped.inaccurate,
        dropped.spikes,
        dropped.duplicates,
        tail(&loaded, options)
    )])
}

/// Replaces the catalogue with a CSV or JSON file (by extension); on any bad row, nothing changes.
pub async fn import_categories(store: &Store, path: &Path) -> Result<usize, Vec<String>> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| vec![format!("cannot read {name}: {e}")])?;
    let json = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("json"));
    let categories = if json {
        crate::domain::workflow::catalogue::parse_json(&text, &name)?
    } else {
        crate::domain::workflow::catalogue::parse_csv(&text, &name)?
    };
    let now = crate::domain::clock::Clock::now(&crate::domain::clock::SystemClock);
    store
        .replace_categories(categories, now, crate::domain::auth::Actor::cli())
        .await
        .map_err(|e| vec![format!("{name}: {e}")])
}
