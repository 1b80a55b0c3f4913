use clap::{Args, Parser, Subcommand};
use gridwatch::cli;
use gridwatch::store::{connect, DEFAULT_DATABASE_URL};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

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
    Serve(ServeArgs),
    /// Import data into the database.
    #[command(subcommand)]
    Import(ImportCommand),
    /// Assign points (CSV id,lon,lat) to grids (GeoJSON) without a database; writes id,code.
    Assign(AssignArgs),
    /// Create or upgrade the database schema, then exit.
    Migrate(DatabaseArgs),
}

#[derive(Args)]
struct DatabaseArgs {
    /// postgres://… for PostGIS, sqlite://FILE for the embedded database.
    #[arg(long, env = "GRIDWATCH_DATABASE_URL", default_value = DEFAULT_DATABASE_URL)]
    database_url: String,
}

#[derive(Args)]
struct ServeArgs {
    #[command(flatten)]
    database: DatabaseArgs,
    /// Address to listen on.
    #[arg(long, env = "GRIDWATCH_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Seed the demo city (Dongcheng) into an empty database on first start.
    #[arg(long, env = "GRIDWATCH_DEMO")]
    demo: bool,
    /// Seconds between checks for grid changes made by other processes.
    #[arg(long, env = "GRIDWATCH_RELOAD_SECONDS", default_value_t = 5)]
    reload_seconds: u64,
}

#[derive(Subcommand)]
enum ImportCommand {
    /// Grids from a GeoJSON FeatureCollection of Polygon/MultiPolygon features, upserted by code.
    Grids {
        file: PathBuf,
        #[command(flatten)]
        database: DatabaseArgs,
        /// Repair invalid geometry (and report each fix) instead of refusing the file.
        #[arg(long)]
        repair: bool,
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

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("GRIDWATCH_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .init();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())
}

fn run(cli: Cli) -> Result<(), String> {
    match cli.command {
        Command::Serve(args) => runtime()?.block_on(async {
            let store = connect(&args.database.database_url)
                .await
                .map_err(|e| e.to_string())?;
            let options = cli::serve::ServeOptions {
                listen: args.listen,
                demo: args.demo,
                reload_interval: Duration::from_secs(args.reload_seconds.max(1)),
            };
            cli::serve::serve(store, options).await
        }),
        Command::Migrate(db) => runtime()?.block_on(async {
            let store = connect(&db.database_url).await.map_err(|e| e.to_string())?;
            println!("database is up to date ({})", store.backend());
            Ok(())
        }),
        Command::Import(ImportCommand::Grids {
            file,
            database,
            repair,
        }) => runtime()?.block_on(async {
            let store = connect(&database.database_url)
                .await
                .map_err(|e| e.to_string())?;
            match cli::import::import_grids(
                store.as_ref(),
                &file,
                repair,
                gridwatch::clock::Clock::now(&gridwatch::clock::SystemClock),
            )
            .await
            {
                Ok(report) => {
                    for r in &report.repairs {
                        println!("repaired feature {} (code {}): {}", r.record, r.code, r.fix);
                    }
                    let s = report.summary;
                    println!(
                        "imported {}: {} new, {} new versions, {} updated, {} unchanged",
                        file.display(),
                        s.created,
                        s.new_versions,
                        s.updated,
                        s.unchanged
                    );
                    Ok(())
                }
                Err(problems) => {
                    for p in &problems {
                        eprintln!("{p}");
                    }
                    Err(format!(
                        "{} problem(s) found; nothing was stored",
                        problems.len()
                    ))
                }
            }
        }),
        Command::Assign(args) => {
            let threads = args.threads.unwrap_or_else(|| {
                std::thread::available_parallelism()
                    .map(|n| n.get())
                    .unwrap_or(1)
            });
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
