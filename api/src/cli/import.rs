//! `gridwatch import grids|points|routes|problems|streets|addresses|tracks|categories`: read any supported file,
//! check every record, then store all or nothing (or, with `--skip-invalid`, every valid
//! record), upserting by code so a re-import changes only what changed.

use crate::app::catalog::Catalog;
use crate::cli::config::DatabaseArgs;
use crate::cli::error::CliError;
use crate::cli::shared::{now, runtime};
use crate::domain::auth::Actor;
use crate::domain::patrol::PointBatch;
use crate::store::connect;
use crate::store::Store;
use clap::{Args, Subcommand};
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
    Addresses,
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
    how.extend(info.dropped.map(|d| format!("{d} dropped: kept x and y")));
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
        Target::Addresses => {
            let loaded = load(path, options, |p| importers::load::load_places(path, &options.read, p))?;
            nothing_valid(path, &loaded)?;
            let (addresses, faults) = addresses_of(&loaded.items);
            if !faults.is_empty() && !options.skip_invalid {
                return Err(listed(path, &faults, None));
            }
            let s = store.upsert_addresses(&addresses, now, &Actor::cli(), options.dry_run).await.map_err(stored)?;
            let snapshot = Catalog::load(store).await.map_err(stored)?.snapshot();
            let outside = addresses
                .iter()
                .filter(|a| snapshot.index.locate(geo::Coord { x: a.lon, y: a.lat }).grid.is_none())
                .count();
            let skipped = if faults.is_empty() { String::new() } else { format!("; {} more skipped", faults.len()) };
            lines.push(format!(
                "{}; {} new, {} updated, {} unchanged; {outside} outside every grid{skipped}{}",
                heading(path, &loaded, options),
                s.created,
                s.updated,
                s.unchanged,
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

/// The records as addresses, and the faults of those that are not; a code made from the name
/// and position must be unique too.
fn addresses_of(
    records: &[importers::load::PointRecord],
) -> (Vec<crate::domain::address::NewAddress>, Vec<RecordError>) {
    let (mut addresses, mut faults, mut seen) = (Vec::new(), Vec::new(), std::collections::HashSet::new());
    for r in records {
        match crate::domain::address::address_from_record(r) {
            Ok(a) if !seen.insert(a.code.clone()) => faults.push(RecordError::new(
                r.unit,
                r.number,
                Some(a.code),
                "code",
                "the same name at the same position appears more than once in the file",
            )),
            Ok(a) => addresses.push(a),
            Err(e) => faults.push(e),
        }
    }
    (addresses, faults)
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

#[derive(Args)]
pub(super) struct SourceArgs {
    /// The file's format when its extension does not say: geojson, csv, shp, gpkg or gpx.
    #[arg(long, value_name = "FORMAT")]
    format: Option<String>,
    /// The coordinate system of the file: wgs84, cgcs2000, gcj02 (高德/腾讯), bd09 (百度) or
    /// EPSG:<code>, e.g. EPSG:4547 (CGCS2000 3° Gauss-Krüger CM 114°E) or EPSG:3857; Beijing 1954
    /// and Xian 1980 with the city's seven parameters: EPSG:2436+towgs84=dx,dy,dz,rx,ry,rz,ppm.
    /// Default: what the .prj or the GeoPackage declares, else WGS-84.
    #[arg(long, value_name = "CRS")]
    crs: Option<String>,
    /// The text encoding of a CSV or .dbf, e.g. GBK. Default: the .cpg, else detected.
    #[arg(long, value_name = "ENCODING")]
    encoding: Option<String>,
    /// The GeoPackage layer to read (needed when it has several).
    #[arg(long, value_name = "LAYER")]
    layer: Option<String>,
    /// Our attribute names taken from the file's: ours=theirs,…
    #[arg(long, value_name = "ours=theirs,…")]
    map: Option<String>,
    /// Check everything and say what would change (new, updated, unchanged, invalid); write nothing.
    #[arg(long)]
    dry_run: bool,
    /// Import the valid records and report the invalid ones, instead of refusing the whole file.
    #[arg(long)]
    skip_invalid: bool,
    /// Write every problem and repair (file, unit, record, code, field, problem, action) to this CSV.
    #[arg(long, value_name = "FILE.csv")]
    report: Option<PathBuf>,
    #[command(flatten)]
    database: DatabaseArgs,
}

impl SourceArgs {
    fn options(&self, repair: bool) -> Result<ImportOptions, String> {
        let read = importers::source::ReadOptions {
            format: self.format.as_deref().map(str::parse).transpose().map_err(|e| format!("--format: {e}"))?,
            crs: self.crs.as_deref().map(str::parse).transpose()?,
            encoding: self
                .encoding
                .as_deref()
                .map(importers::text::encoding_for)
                .transpose()
                .map_err(|e| format!("--encoding: {e}"))?,
            layer: self.layer.clone(),
            map: self.map.as_deref().map(str::parse).transpose()?.unwrap_or_default(),
            gpx: Default::default(),
        };
        Ok(ImportOptions {
            read,
            repair,
            skip_invalid: self.skip_invalid,
            dry_run: self.dry_run,
            report: self.report.clone(),
        })
    }
}

const FORMATS_HELP: &str =
    "Formats (by extension, or --format): GeoJSON (.geojson, .json; streamed), CSV (.csv, .tsv, \
.txt; lon/lat columns such as lon/lng/x/经度 and lat/y/纬度, or a WKT column; delimiter and UTF-8/GBK detected), \
Shapefile (.shp with .dbf, .cpg, .prj), GeoPackage (.gpkg), GPX (.gpx waypoints).
Without --skip-invalid an import is all or nothing: every bad record is named (file, record, field, reason) and \
nothing is stored. Re-importing the same file changes nothing (upsert by code).";

#[derive(Subcommand)]
pub(super) enum ImportCommand {
    /// Grids (网格) from polygons with a code, upserted by code (a changed boundary opens a new version).
    #[command(after_help = format!("Attributes: code (required), name, parent_code, level (district/street/community/grid or \
区/街道/社区/网格; else --level, else from the code's length: 6, 9, 12, 15 digits), lead_department, \
responsible_unit, officer.\n{FORMATS_HELP}\n\nExamples:\n  gridwatch import grids grids.geojson\n  \
gridwatch import grids --repair --report problems.csv beijing-districts.geojson\n  \
gridwatch import grids --map code=GRID_ID,name=MC,responsible_unit=SSJD 网格.shp\n  \
gridwatch import grids --crs EPSG:4547 --dry-run survey.gpkg --layer 网格\n  \
gridwatch import grids --map code=id --level district --repair us-counties.geojson"))]
    Grids {
        file: PathBuf,
        /// The level of grids whose record names none (district, street, community, grid).
        #[arg(long, value_name = "LEVEL")]
        level: Option<String>,
        /// Repair invalid polygons (closing rings, untangling self-intersections, dropping
        /// repeated points) and report each fix, instead of refusing them.
        #[arg(long)]
        repair: bool,
        #[command(flatten)]
        source: SourceArgs,
    },
    /// Replace the category catalogue (部件/事件) with a CSV or JSON file.
    #[command(after_help = "CSV header: code,kind,name_zh,name_en,department,time_limit,limit_unit,severity \
(kind: component 部件 or event 事件). JSON: an array of objects with the same fields. On any bad row nothing \
changes, and every bad row is named.\n\n\
Examples:\n  gridwatch import categories categories.csv\n  gridwatch import categories catalogue.json")]
    Categories {
        file: PathBuf,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Assessment points (测评点位): points, lines or polygons, upserted by code.
    #[command(after_help = format!("Attributes: code, name, type (e.g. market or 农贸市场), criteria \
([{{id, text, weight}}] as JSON), required_per_week (1-7), unit.\n{FORMATS_HELP}\n\nExamples:\n  \
gridwatch import points points.geojson\n  gridwatch import points --crs gcj02 --map code=编号,name=名称,type=类型 点位.csv\n  \
gridwatch import points --skip-invalid --report rejected.csv points.gpkg"))]
    Points {
        file: PathBuf,
        /// Repair invalid polygons and report each fix.
        #[arg(long)]
        repair: bool,
        #[command(flatten)]
        source: SourceArgs,
    },
    /// Planned patrol routes from LineStrings; replaces the officers' routes for those weekdays.
    #[command(after_help = format!("Attributes: officer, weekday (1-7 or 周一…周日), name.\n{FORMATS_HELP}\n\n\
Examples:\n  gridwatch import routes routes.geojson\n  gridwatch import routes --map officer=XM,weekday=XQ routes.shp"))]
    Routes {
        file: PathBuf,
        #[command(flatten)]
        source: SourceArgs,
    },
    /// A backlog of reported problems (案件) from points; each goes to the grid that covers it.
    #[command(after_help = format!("Attributes: code (an id from the old system: a re-import skips codes \
already imported), category (from the catalogue), description, source (citizen, hotline, officer …; default \
citizen), owner, reported_at (RFC 3339, or YYYY-MM-DD HH:MM[:SS] in China time), reported_by.\n{FORMATS_HELP}\n\n\
Examples:\n  gridwatch import problems backlog.csv\n  gridwatch import problems --crs bd09 --map category=LB,description=MS 12345.csv"))]
    Problems {
        file: PathBuf,
        #[command(flatten)]
        source: SourceArgs,
    },
    /// The street network (路网): weekly plans then measure walks along the streets. Replaces the
    /// whole network.
    #[command(after_help = format!("Records: LineStrings or MultiLineStrings, optionally with a name. Streets \
meet where they share a vertex; lines that cross without one (bridges, tunnels) do not connect. Only the largest \
connected part is used to join stops to the network.\n{FORMATS_HELP}\n\nOpenStreetMap extracts convert with \
GDAL: ogr2ogr -f GeoJSON streets.geojson city.osm.pbf lines -where \"highway IS NOT NULL\"\n\n\
Examples:\n  gridwatch import streets streets.geojson\n  gridwatch import streets --crs gcj02 路网.shp"))]
    Streets {
        file: PathBuf,
        #[command(flatten)]
        source: SourceArgs,
    },
    /// Addresses (地址库): door plates, buildings, compounds, places; upserted by code. Dispatchers
    /// find them with `GET /api/v1/addresses?q=` and in the hotline entry form.
    #[command(after_help = format!("Attributes: name (or address: the full address text, required), kind (door_plate 门牌, building 楼栋, compound 小区, poi 兴趣点, road 道路, division 行政区划; default door_plate), aliases (other names, separated by ; or 、), code (the source's id; default: the name and position). Lines and areas (a road, a compound) are found at a point on or inside them.\n{FORMATS_HELP}\n\nExamples:\n  gridwatch import addresses addresses.geojson\n  gridwatch import addresses --crs gcj02 --map code=MPBM,name=DZQC,kind=LX,aliases=BM 门牌.csv"))]
    Addresses {
        file: PathBuf,
        #[command(flatten)]
        source: SourceArgs,
    },
    /// An officer's GPS track (inaccurate fixes and spikes are dropped and counted).
    #[command(after_help = "Records: GPX track points (<trkpt>), or points of any other format with a time \
(RFC 3339, YYYY-MM-DD HH:MM[:SS] in China time, or Unix seconds) and optionally accuracy (metres) or hdop. \
Phone apps built on 高德 or 腾讯 maps record GCJ-02: give --crs gcj02.\n\n\
Examples:\n  gridwatch import tracks --officer wang.wei monday.gpx\n  \
gridwatch import tracks --officer wang.wei --crs gcj02 --map time=定位时间 monday.csv")]
    Tracks {
        file: PathBuf,
        /// The officer (user name) who walked it.
        #[arg(long)]
        officer: String,
        #[command(flatten)]
        source: SourceArgs,
    },
}

/// Runs `gridwatch import …`.
pub(super) fn run_command(command: ImportCommand) -> Result<(), CliError> {
    match command {
        ImportCommand::Grids { file, level, repair, source } => {
            let level = level.map(|l| l.parse()).transpose().map_err(|e| format!("--level: {e}"))?;
            import_file(Target::Grids { level }, &file, &source, repair)
        }
        ImportCommand::Points { file, repair, source } => import_file(Target::Points, &file, &source, repair),
        ImportCommand::Routes { file, source } => import_file(Target::Routes, &file, &source, false),
        ImportCommand::Streets { file, source } => import_file(Target::Streets, &file, &source, false),
        ImportCommand::Problems { file, source } => import_file(Target::Problems, &file, &source, false),
        ImportCommand::Addresses { file, source } => import_file(Target::Addresses, &file, &source, false),
        ImportCommand::Categories { file, database } => runtime()?.block_on(async {
            let store = connect(&database.database_url).await?;
            match import_categories(store.as_ref(), &file).await {
                Ok(n) => {
                    println!("imported {}: {n} categories replace the catalogue", file.display());
                    Ok(())
                }
                Err(problems) => Err(CliError::problems(&problems, "the catalogue is unchanged")),
            }
        }),
        ImportCommand::Tracks { file, officer, source } => runtime()?.block_on(async {
            let options = source.options(false)?;
            let store = connect(&source.database.database_url).await?;
            report_import(import_track(store.as_ref(), &file, &officer, &options, now()).await)
        }),
    }
}

fn import_file(target: Target, file: &std::path::Path, source: &SourceArgs, repair: bool) -> Result<(), CliError> {
    let options = source.options(repair)?;
    runtime()?.block_on(async {
        let store = connect(&source.database.database_url).await?;
        report_import(run(store.as_ref(), target, file, &options, now()).await)
    })
}

/// Prints an import's summary, or every problem found (nothing was stored).
fn report_import(result: Result<Vec<String>, Vec<String>>) -> Result<(), CliError> {
    let summary = result.map_err(|problems| CliError::problems(&problems, "nothing was stored"))?;
    for line in summary {
        println!("{line}");
    }
    Ok(())
}
