//! The `gridwatch` command line: its arguments (clap, each flag with an environment variable) and
//! what each command does. `main.rs` only installs the allocator and calls [`main`].

use crate::cli;
use crate::cli::config::{CoverageArgs, DatabaseArgs, PlanningArgs, ServeArgs};
use crate::cli::error::{CliError, ConfigError};
use crate::store::connect;
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// Parses the command line, sets up logging and runs the command.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("GRIDWATCH_LOG").unwrap_or_else(|_| "info".into()))
        .init();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

/// gridwatch — responsibility grids (网格), problem intake and patrols.
#[derive(Parser)]
#[command(name = "gridwatch", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the HTTP API.
    Serve(Box<ServeArgs>),
    /// Import data into the database.
    #[command(subcommand)]
    Import(ImportCommand),
    /// Assign points (CSV id,lon,lat) to grids (GeoJSON) without a database; writes id,code.
    Assign(AssignArgs),
    /// Create or upgrade the database schema, then exit.
    Migrate(DatabaseArgs),
    /// Reports for the office.
    #[command(subcommand)]
    Report(ReportCommand),
    /// Manage users (roles and areas).
    #[command(subcommand)]
    User(UserCommand),
    /// Manage API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Weekly coverage of assessment points (一周一梳理), per point, as JSON or CSV.
    #[command(after_help = "Example:\n  gridwatch coverage --week 2026-W47 --format csv --out coverage.csv")]
    Coverage {
        /// ISO week, e.g. 2026-W47.
        #[arg(long)]
        week: String,
        /// json or csv.
        #[arg(long, default_value = "json")]
        format: String,
        /// Write here instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
        #[command(flatten)]
        rules: CoverageArgs,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Weekly patrol plans (巡查计划): for every officer (or one), a route per remaining working
    /// day through the points still due and the handled problems to verify, with ETAs.
    #[command(after_help = "Days: Monday to Friday, 08:30 for 6 hours at 4.5 km/h from the area's community \
office point; days already over are skipped, so a plan made mid-week re-plans what is left.\n\n\
Examples:\n  gridwatch plan --week 2026-W48 --out plans.csv\n  gridwatch plan --week 2026-W48 --officer wang.wei --format geojson")]
    Plan {
        /// ISO week, e.g. 2026-W48.
        #[arg(long)]
        week: String,
        /// Only this officer (a user name, or a 网格员 named on grids).
        #[arg(long)]
        officer: Option<String>,
        /// csv or geojson.
        #[arg(long, default_value = "csv")]
        format: String,
        /// Write here instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Plan as if it were this time (RFC 3339); default: now.
        #[arg(long)]
        as_of: Option<String>,
        #[command(flatten)]
        planning: PlanningArgs,
        #[command(flatten)]
        rules: CoverageArgs,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Checks on files, without a database.
    #[command(subcommand)]
    Check(CheckCommand),
    /// Mock assessments (模拟测评): a seeded draw of assessment points, scores, score rates.
    #[command(subcommand)]
    Assess(AssessCommand),
}

#[derive(Subcommand)]
enum AssessCommand {
    /// Draw points at random, stratified by type and district; prints the score sheet (CSV).
    #[command(after_help = "Each type-and-district stratum gets its share of --n by its number of points \
(Sainte-Laguë; every stratum at least one when --n allows), or each type its --per-type count over its districts. \
The same --seed over the same points draws the same sample. Points without their own criteria get their type's \
standard checklist.\n\nExamples:\n  gridwatch assess draw --n 78 --seed 2026 --name \"11月模拟测评\" --out sheet.csv\n  \
gridwatch assess draw --per-type market=3,back_street=5,public_toilet=4 --district 110101")]
    Draw {
        /// Points in all, spread over types and districts by their sizes.
        #[arg(long, required_unless_present = "per_type")]
        n: Option<usize>,
        /// Points per type instead: type=count,… (types by id or Chinese name).
        #[arg(long, value_delimiter = ',', value_name = "TYPE=N")]
        per_type: Vec<String>,
        /// The seed (default: a random one, printed and kept with the draw).
        #[arg(long)]
        seed: Option<u64>,
        #[arg(long, default_value = "模拟测评")]
        name: String,
        /// Only these districts (6-digit codes, comma-separated).
        #[arg(long, value_delimiter = ',')]
        district: Vec<String>,
        /// Write the score sheet here instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// List mock assessments with their score rates.
    List {
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Record scores from a filled-in score sheet (CSV with point, criterion, score or pass, note).
    #[command(after_help = "Rows with neither score nor pass are skipped; pass takes yes/no, 是/否 or 合格/不合格. \
A score runs from 0 to the criterion's weight. All or nothing: every bad row is named.\n\n\
Example:\n  gridwatch assess score 3 sheet.csv --by inspector.li")]
    Score {
        id: i64,
        file: PathBuf,
        /// Who scored (kept with each score and in the audit log).
        #[arg(long)]
        by: Option<String>,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// The score rates (得分率) overall, per type, unit and district: xlsx, json or the csv sheet.
    #[command(after_help = "Example:\n  gridwatch assess report 3 --format xlsx --out 模拟测评.xlsx")]
    Report {
        id: i64,
        #[arg(long, default_value = "xlsx")]
        format: String,
        #[arg(long)]
        out: Option<PathBuf>,
        #[command(flatten)]
        database: DatabaseArgs,
    },
}

#[derive(Subcommand)]
enum CheckCommand {
    /// The tiling check (责任全覆盖): gaps, overlaps, parts outside the boundary and invalid grids.
    #[command(
        after_help = "Example:\n  gridwatch check grids --boundary district.geojson grids.geojson --format json --min-area 1"
    )]
    Grids {
        /// The jurisdiction boundary (GeoJSON Polygon/MultiPolygon features, taken together).
        #[arg(long)]
        boundary: PathBuf,
        /// The grids of one level (GeoJSON with a `code` property).
        grids: PathBuf,
        /// json (summary and every finding) or geojson (the findings as features).
        #[arg(long, default_value = "json")]
        format: String,
        /// Parts (and overlapping pairs) smaller than this many square metres are ignored.
        #[arg(long, default_value_t = 1.0)]
        min_area: f64,
        /// Write here instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum ReportCommand {
    /// The weekly bulletin (一周一通报): indicators per grid, street, unit or department, ranked.
    Weekly {
        /// ISO week, e.g. 2026-W47 (default: this week).
        #[arg(long)]
        week: Option<String>,
        /// grid, street, unit or department.
        #[arg(long, default_value = "street")]
        by: String,
        /// json, csv or xlsx.
        #[arg(long, default_value = "xlsx")]
        format: String,
        #[arg(long)]
        out: PathBuf,
        /// Count cases as they stood at this RFC 3339 time (default: now, or the week's end if earlier).
        #[arg(long)]
        as_of: Option<String>,
        #[command(flatten)]
        database: DatabaseArgs,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Add a user.
    Add {
        name: String,
        /// officer, unit, dispatcher, office, admin or app (a citizen app's key).
        #[arg(long)]
        role: String,
        /// Grid codes the user answers for (any level, comma-separated); * for the whole city.
        #[arg(long, value_delimiter = ',')]
        scope: Vec<String>,
        /// The responsible unit (责任单位) of unit staff.
        #[arg(long)]
        unit: Option<String>,
        /// Read the user's password (for signing in to the map) from standard input, one line.
        #[arg(long)]
        password_stdin: bool,
        /// Ask for a new password at the first sign-in.
        #[arg(long, requires = "password_stdin")]
        must_change: bool,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Set a user's password (read from standard input, one line; with --generate, made and
    /// printed). Ends the user's open sign-in sessions; API tokens stay.
    Passwd {
        name: String,
        /// Make a password instead of reading one, and print it.
        #[arg(long)]
        generate: bool,
        /// Ask for a new password at the next sign-in (an admin reset).
        #[arg(long)]
        must_change: bool,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// List users.
    List {
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Revoke a user and every token of theirs.
    Revoke {
        name: String,
        #[command(flatten)]
        database: DatabaseArgs,
    },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Create an API token for a user; it is printed once and stored only as a hash.
    Create {
        user: String,
        /// Days until the token expires (default: never).
        #[arg(long)]
        expires_in_days: Option<u32>,
        #[arg(long)]
        label: Option<String>,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Revoke one token by its id.
    Revoke {
        id: i64,
        #[command(flatten)]
        database: DatabaseArgs,
    },
}

#[derive(Args)]
struct SourceArgs {
    /// The file's format when its extension does not say: geojson, csv, shp, gpkg or gpx.
    #[arg(long, value_name = "FORMAT")]
    format: Option<String>,
    /// The coordinate system of the file: wgs84, cgcs2000, gcj02 (高德/腾讯), bd09 (百度) or
    /// EPSG:<code>, e.g. EPSG:4547 (CGCS2000 3° Gauss-Krüger CM 114°E) or EPSG:3857. Default:
    /// what the .prj or the GeoPackage declares, else WGS-84.
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
    fn options(&self, repair: bool) -> Result<cli::import::ImportOptions, String> {
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
        Ok(cli::import::ImportOptions {
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
enum ImportCommand {
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

#[derive(Args)]
struct AssignArgs {
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

fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    Ok(tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(|e| e.to_string())?)
}

fn run(cli: Cli) -> Result<(), CliError> {
    match cli.command {
        Command::Serve(args) => {
            let config = args.into_config()?;
            runtime()?.block_on(cli::serve::serve(config))
        }
        Command::Migrate(db) => runtime()?.block_on(async {
            let store = connect(&db.database_url).await?;
            println!("database is up to date ({})", store.backend());
            Ok(())
        }),
        Command::Import(ImportCommand::Grids { file, level, repair, source }) => {
            let level = level.map(|l| l.parse()).transpose().map_err(|e| format!("--level: {e}"))?;
            import_file(cli::import::Target::Grids { level }, &file, &source, repair)
        }
        Command::Import(ImportCommand::Points { file, repair, source }) => {
            import_file(cli::import::Target::Points, &file, &source, repair)
        }
        Command::Import(ImportCommand::Routes { file, source }) => {
            import_file(cli::import::Target::Routes, &file, &source, false)
        }
        Command::Import(ImportCommand::Streets { file, source }) => {
            import_file(cli::import::Target::Streets, &file, &source, false)
        }
        Command::Import(ImportCommand::Problems { file, source }) => {
            import_file(cli::import::Target::Problems, &file, &source, false)
        }
        Command::User(command) => runtime()?.block_on(cli::accounts::user(command_into(command))),
        Command::Token(command) => runtime()?.block_on(cli::accounts::token(token_into(command))),
        Command::Import(ImportCommand::Categories { file, database }) => runtime()?.block_on(async {
            let store = connect(&database.database_url).await?;
            match cli::import::import_categories(store.as_ref(), &file).await {
                Ok(n) => {
                    println!("imported {}: {n} categories replace the catalogue", file.display());
                    Ok(())
                }
                Err(problems) => Err(CliError::problems(&problems, "the catalogue is unchanged")),
            }
        }),
        Command::Report(ReportCommand::Weekly { week, by, format, out, as_of, database }) => {
            runtime()?.block_on(async {
                let as_of = as_of
                    .map(|t| {
                        time::OffsetDateTime::parse(&t, &time::format_description::well_known::Rfc3339)
                            .map_err(|e| format!("--as-of {t:?}: {e}"))
                    })
                    .transpose()?;
                let store = connect(&database.database_url).await?;
                cli::report::weekly(store.as_ref(), week.as_deref(), &by, &format, &out, as_of).await
            })
        }
        Command::Import(ImportCommand::Tracks { file, officer, source }) => runtime()?.block_on(async {
            let options = source.options(false)?;
            let store = connect(&source.database.database_url).await?;
            report_import(cli::import::import_track(store.as_ref(), &file, &officer, &options, now()).await)
        }),
        Command::Plan { week, officer, format, out, as_of, planning, rules, database } => runtime()?.block_on(async {
            let rules = rules.rules()?;
            let plan_rules = planning.rules()?;
            let as_of = match as_of {
                Some(t) => time::OffsetDateTime::parse(&t, &time::format_description::well_known::Rfc3339)
                    .map_err(|e| format!("--as-of {t:?}: {e}"))?,
                None => now(),
            };
            let store = connect(&database.database_url).await?;
            let bytes =
                cli::patrol::plan(store.as_ref(), &week, officer.as_deref(), &rules, &plan_rules, &format, as_of)
                    .await?;
            write_out(out.as_deref(), &bytes)
        }),
        Command::Coverage { week, format, out, rules, database } => runtime()?.block_on(async {
            let rules = rules.rules()?;
            let store = connect(&database.database_url).await?;
            let bytes = cli::patrol::coverage(store.as_ref(), &week, &rules, &format).await?;
            write_out(out.as_deref(), &bytes)
        }),
        Command::Assess(command) => runtime()?.block_on(assess(command)),
        Command::Check(CheckCommand::Grids { boundary, grids, format, min_area, out }) => {
            if !(min_area.is_finite() && min_area >= 0.0) {
                return Err(ConfigError::Flag {
                    flag: "--min-area",
                    value: min_area.to_string(),
                    reason: "must be a non-negative number of square metres".into(),
                }
                .into());
            }
            match cli::patrol::check_grids(&boundary, &grids, min_area, &format) {
                Ok(bytes) => write_out(out.as_deref(), &bytes),
                Err(problems) => Err(CliError::problems(&problems, "nothing was written")),
            }
        }
        Command::Assign(args) => {
            let threads =
                args.threads.unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1));
            let stats = cli::assign::run(&args.grids, &args.points, &args.out, threads)?;
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
    }
}

async fn assess(command: AssessCommand) -> Result<(), CliError> {
    match command {
        AssessCommand::Draw { n, per_type, seed, name, district, out, database } => {
            let mut quotas = serde_json::Map::new();
            for pair in &per_type {
                let (kind, count) =
                    pair.split_once('=').ok_or_else(|| format!("--per-type {pair:?}: write type=count"))?;
                let count: u64 =
                    count.trim().parse().map_err(|_| format!("--per-type {pair:?}: the count is not a number"))?;
                quotas.insert(kind.trim().to_string(), count.into());
            }
            let spec = serde_json::json!({"name": name, "n": n, "seed": seed,
                "per_type": (!quotas.is_empty()).then_some(quotas), "districts": district});
            let store = connect(&database.database_url).await?;
            let (drawn, sheet) = cli::assess::draw(store.as_ref(), spec, now()).await?;
            eprintln!("assessment {}: {} points drawn with seed {}", drawn.id, drawn.items.len(), drawn.spec.seed);
            write_out(out.as_deref(), &sheet)
        }
        AssessCommand::List { database } => {
            let store = connect(&database.database_url).await?;
            write_out(None, &cli::assess::list(store.as_ref()).await?)
        }
        AssessCommand::Score { id, file, by, database } => {
            let store = connect(&database.database_url).await?;
            let by = by.unwrap_or_else(|| crate::domain::auth::Actor::cli().name);
            match cli::assess::score(store.as_ref(), id, &file, &by, now()).await {
                Ok(n) => {
                    println!("recorded {n} scores in assessment {id}");
                    Ok(())
                }
                Err(problems) => Err(CliError::problems(&problems, "no score was recorded")),
            }
        }
        AssessCommand::Report { id, format, out, database } => {
            let store = connect(&database.database_url).await?;
            write_out(out.as_deref(), &cli::assess::report(store.as_ref(), id, &format).await?)
        }
    }
}

fn now() -> time::OffsetDateTime {
    crate::domain::clock::Clock::now(&crate::domain::clock::SystemClock)
}

fn import_file(
    target: cli::import::Target,
    file: &std::path::Path,
    source: &SourceArgs,
    repair: bool,
) -> Result<(), CliError> {
    let options = source.options(repair)?;
    runtime()?.block_on(async {
        let store = connect(&source.database.database_url).await?;
        report_import(cli::import::run(store.as_ref(), target, file, &options, now()).await)
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

fn write_out(out: Option<&std::path::Path>, bytes: &[u8]) -> Result<(), CliError> {
    match out {
        Some(path) => {
            std::fs::write(path, bytes).map_err(|source| CliError::Write { path: path.to_path_buf(), source })
        }
        None => {
            use std::io::Write;
            let mut stdout = std::io::stdout().lock();
            let end: &[u8] = if bytes.ends_with(b"\n") { b"" } else { b"\n" };
            let written = stdout.write_all(bytes).and_then(|_| stdout.write_all(end));
            written.map_err(|source| CliError::Write { path: "standard output".into(), source })
        }
    }
}

fn command_into(c: UserCommand) -> cli::accounts::UserCommand {
    use cli::accounts::UserCommand as U;
    match c {
        UserCommand::Add { name, role, scope, unit, password_stdin, must_change, database } => {
            U::Add { name, role, scope, unit, password_stdin, must_change, database_url: database.database_url }
        }
        UserCommand::Passwd { name, generate, must_change, database } => {
            U::Passwd { name, generate, must_change, database_url: database.database_url }
        }
        UserCommand::List { database } => U::List { database_url: database.database_url },
        UserCommand::Revoke { name, database } => U::Revoke { name, database_url: database.database_url },
    }
}

fn token_into(c: TokenCommand) -> cli::accounts::TokenCommand {
    use cli::accounts::TokenCommand as T;
    match c {
        TokenCommand::Create { user, expires_in_days, label, database } => {
            T::Create { user, expires_in_days, label, database_url: database.database_url }
        }
        TokenCommand::Revoke { id, database } => T::Revoke { id, database_url: database.database_url },
    }
}
