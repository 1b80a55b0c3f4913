//! The `gridwatch` command line: the commands (clap, each flag with an environment variable),
//! each defined and run by its own module (what they share is in `shared`).
//! `main.rs` only installs the allocator and calls [`main`].

use crate::cli::accounts::{TokenCommand, UserCommand};
use crate::cli::assess::AssessCommand;
use crate::cli::assign::AssignArgs;
use crate::cli::check::CheckCommand;
use crate::cli::config::{DatabaseArgs, ServeArgs};
use crate::cli::error::CliError;
use crate::cli::import::ImportCommand;
use crate::cli::patrol::{CoverageCommand, PlanCommand};
use crate::cli::report::ReportCommand;
use crate::cli::shared::runtime;
use crate::cli::{accounts, assess, assign, check, import, patrol, report, serve};
use crate::store::connect;
use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Parses the command line, sets up logging and runs the command.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_env("GRIDWATCH_LOG").unwrap_or_else(|_| "info".into());
    // Lines are written by a thread of their own, so that a request never waits on stderr (an
    // access line per request); the guard flushes what is left when main returns.
    let (writer, _flush_at_exit) = tracing_appender::non_blocking(std::io::stderr());
    let logs = tracing_subscriber::fmt().with_writer(writer).with_env_filter(filter);
    match cli.log_format {
        // One JSON object per line, for journald, Loki or Elasticsearch.
        LogFormat::Json => logs.json().flatten_event(true).with_current_span(false).init(),
        LogFormat::Text => logs.with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr())).init(),
    }
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
    /// How log lines (on stderr) are written: text for people, json for log collectors.
    #[arg(long, global = true, env = "GRIDWATCH_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the HTTP API.
    // A flag given twice takes its last value (a unit file's default, overridden by hand).
    #[command(args_override_self = true)]
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
    Coverage(CoverageCommand),
    /// Weekly patrol plans (巡查计划): for every officer (or one), a route per remaining working
    /// day through the points still due and the handled problems to verify, with ETAs.
    #[command(after_help = "Days: Monday to Friday, 08:30 for 6 hours at 4.5 km/h from the area's community \
office point; days already over are skipped, so a plan made mid-week re-plans what is left.\n\n\
Examples:\n  gridwatch plan --week 2026-W48 --out plans.csv\n  gridwatch plan --week 2026-W48 --officer wang.wei --format geojson")]
    Plan(PlanCommand),
    /// Checks on files, without a database.
    #[command(subcommand)]
    Check(CheckCommand),
    /// Mock assessments (模拟测评): a seeded draw of assessment points, scores, score rates.
    #[command(subcommand)]
    Assess(AssessCommand),
    /// Copy the SQLite database consistently while it is served (SQLite's VACUUM INTO); a
    /// PostgreSQL database is backed up with pg_dump (docs/deploy.md).
    #[command(after_help = "Example:\n  gridwatch backup /backup/gridwatch-2026-12-06.db")]
    Backup(BackupArgs),
    /// Shell completions, printed: gridwatch completions bash > /etc/bash_completion.d/gridwatch
    Completions { shell: clap_complete::Shell },
    /// The manual page (roff), printed: gridwatch man > /usr/local/share/man/man1/gridwatch.1
    Man,
}

#[derive(clap::Args)]
struct BackupArgs {
    #[command(flatten)]
    database: DatabaseArgs,
    /// The backup file to write (it must not exist yet).
    to: std::path::PathBuf,
}

async fn backup(args: BackupArgs) -> Result<(), CliError> {
    if args.to.exists() {
        return Err(CliError::Failed(format!("{} exists already: choose a new file", args.to.display())));
    }
    let store = connect(&args.database.database_url).await?;
    if store.is_shared() {
        return Err(CliError::Failed(
            "a PostgreSQL database is backed up with pg_dump: pg_dump --format=custom --file=FILE \"$GRIDWATCH_DATABASE_URL\" \
             (docs/deploy.md)"
                .into(),
        ));
    }
    store.backup_to(&args.to).await?;
    println!("backed up to {} (restore: stop the server, copy it over the database file)", args.to.display());
    Ok(())
}

/// Writes `bytes` to stdout; a reader that stopped early (`| head`) is not an error.
fn print_all(bytes: &[u8]) -> Result<(), CliError> {
    use std::io::Write;
    match std::io::stdout().write_all(bytes) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(CliError::Failed(format!("writing to stdout: {e}")))
        }
        _ => Ok(()),
    }
}

fn run(cli: Cli) -> Result<(), CliError> {
    match cli.command {
        Command::Serve(args) => {
            let config = args.into_config()?;
            runtime()?.block_on(serve::serve(config))
        }
        Command::Migrate(db) => runtime()?.block_on(async {
            let store = connect(&db.database_url).await?;
            println!("database is up to date ({})", store.backend());
            Ok(())
        }),
        Command::Import(command) => import::run_command(command),
        Command::Assign(args) => assign::run_command(args),
        Command::Report(command) => report::run(command),
        Command::User(command) => runtime()?.block_on(accounts::user(command)),
        Command::Token(command) => runtime()?.block_on(accounts::token(command)),
        Command::Coverage(command) => patrol::run_coverage(command),
        Command::Plan(command) => patrol::run_plan(command),
        Command::Check(command) => check::run(command),
        Command::Assess(command) => runtime()?.block_on(assess::run(command)),
        Command::Backup(args) => runtime()?.block_on(backup(args)),
        Command::Completions { shell } => {
            // Written whole to a buffer first: clap_complete panics on a closed stdout.
            let mut text = Vec::new();
            clap_complete::generate(shell, &mut <Cli as clap::CommandFactory>::command(), "gridwatch", &mut text);
            print_all(&text)
        }
        Command::Man => {
            let mut text = Vec::new();
            clap_mangen::Man::new(<Cli as clap::CommandFactory>::command())
                .render(&mut text)
                .map_err(|e| CliError::Failed(format!("writing the manual page: {e}")))?;
            print_all(&text)
        }
    }
}
