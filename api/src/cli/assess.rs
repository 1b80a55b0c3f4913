//! `gridwatch assess`: mock assessments (模拟测评) from the command line — draw, list, score
//! from a spreadsheet, and report (JSON or XLSX).

use crate::cli::config::DatabaseArgs;
use crate::cli::error::CliError;
use crate::cli::shared::{now, write_out};
use crate::domain::access::Area;
use crate::domain::assessment::{check_scores, sample, Assessment, ScoreInput, Spec};
use crate::domain::auth::Actor;
use crate::store::connect;
use crate::store::Store;
use clap::Subcommand;
use serde_json::json;
use std::path::Path;
use std::path::PathBuf;
use time::OffsetDateTime;

/// Draws a mock assessment over the whole city: the stored assessment, and its score sheet as
/// CSV (one row per criterion to score, which is also the layout `assess score` reads back).
pub async fn draw(
    store: &Store,
    spec: serde_json::Value,
    now: OffsetDateTime,
) -> Result<(Assessment, Vec<u8>), CliError> {
    let spec = Spec::from_json(&spec).map_err(|(field, reason)| format!("--{}: {reason}", field.replace('_', "-")))?;
    let points = store.points(None).await?;
    let items = sample(&points, &Area::Everything, &spec);
    if items.is_empty() {
        return Err("no assessment point matches this draw".into());
    }
    let id = store.create_assessment(spec, items, now, Actor::cli()).await?;
    let assessment = one(store, id).await?;
    let sheet = score_sheet(&assessment)?;
    Ok((assessment, sheet))
}

/// The score sheet: point, criterion and what to fill in (score or pass, note).
fn score_sheet(a: &Assessment) -> Result<Vec<u8>, CliError> {
    let mut w = csv::Writer::from_writer(vec![0xEF, 0xBB, 0xBF]);
    crate::app::export::write_record(
        &mut w,
        ["point", "name", "type", "district", "unit", "criterion", "text", "weight", "score", "pass", "note"],
    )?;
    for item in &a.items {
        for c in &item.checklist {
            let score = item.scores.get(&c.id);
            crate::app::export::write_record(
                &mut w,
                [
                    item.code.as_str(),
                    &item.name,
                    &item.kind,
                    &item.district,
                    item.unit.as_deref().unwrap_or(""),
                    &c.id,
                    &c.text,
                    &c.weight.to_string(),
                    &score.map(|s| s.score.to_string()).unwrap_or_default(),
                    "",
                    score.map_or("", |s| s.note.as_str()),
                ],
            )?;
        }
    }
    w.into_inner().map_err(|e| CliError::Failed(e.to_string()))
}

async fn one(store: &Store, id: i64) -> Result<Assessment, CliError> {
    store.assessments(Some(id)).await?.into_iter().next().ok_or_else(|| CliError::Failed(format!("no assessment {id}")))
}

/// Every assessment, one line each.
pub async fn list(store: &Store) -> Result<Vec<u8>, CliError> {
    let mut out = String::from("id\tname\tseed\tpoints\tscored/criteria\t得分率\n");
    for a in store.assessments(None).await? {
        let r = a.report().overall;
        let rate = r.rate.map_or("-".to_string(), |x| format!("{:.1} %", x * 100.0));
        out.push_str(&format!(
            "{}\t{}\t{}\t{}\t{}/{}\t{rate}\n",
            a.id, a.spec.name, a.spec.seed, r.points, r.scored, r.criteria
        ));
    }
    Ok(out.into_bytes())
}

/// Records the scores of a filled-in score sheet (CSV: point, criterion, and score or pass,
/// optionally note). Rows with neither score nor pass are left unscored. All or nothing: every
/// bad row is named with its field.
pub async fn score(
    store: &Store,
    id: i64,
    file: &Path,
    scorer: &str,
    now: OffsetDateTime,
) -> Result<usize, Vec<String>> {
    let name = file.display().to_string();
    let assessment = one(store, id).await.map_err(|e| vec![e.to_string()])?;
    let mut reader =
        csv::ReaderBuilder::new().flexible(true).from_path(file).map_err(|e| vec![format!("{name}: {e}")])?;
    let headers = reader.headers().map_err(|e| vec![format!("{name}: {e}")])?.clone();
    let column = |wanted: &str| headers.iter().position(|h| h.trim().trim_start_matches('\u{feff}') == wanted);
    let (Some(point), Some(criterion)) = (column("point"), column("criterion")) else {
        return Err(vec![format!("{name}: the header needs point and criterion columns (and score or pass)")]);
    };
    let (score_at, pass_at, note_at) = (column("score"), column("pass"), column("note"));
    let mut inputs = Vec::new();
    let mut rows = Vec::new();
    let mut faults = Vec::new();
    for (k, record) in reader.records().enumerate() {
        let row = k + 2;
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                faults.push(format!("{name} row {row}: {e}"));
                continue;
            }
        };
        let cell = |at: Option<usize>| at.and_then(|i| record.get(i)).map(str::trim).unwrap_or("");
        let (score_text, pass_text) = (cell(score_at), cell(pass_at));
        if score_text.is_empty() && pass_text.is_empty() {
            continue;
        }
        let score = match score_text {
            "" => None,
            text => match text.parse::<f64>() {
                Ok(v) => Some(v),
                Err(_) => {
                    faults.push(format!("{name} row {row}, column score: {text:?} is not a number"));
                    continue;
                }
            },
        };
        let pass = match pass_text.to_lowercase().as_str() {
            "" => None,
            "1" | "y" | "yes" | "true" | "pass" | "是" | "合格" | "通过" => Some(true),
            "0" | "n" | "no" | "false" | "fail" | "否" | "不合格" => Some(false),
            other => {
                faults.push(format!("{name} row {row}, column pass: {other:?} is not yes/no (是/否, 合格/不合格)"));
                continue;
            }
        };
        inputs.push(ScoreInput {
            point: cell(Some(point)).to_string(),
            criterion: cell(Some(criterion)).to_string(),
            score,
            pass,
            note: cell(note_at).to_string(),
        });
        rows.push(row);
    }
    if inputs.is_empty() && faults.is_empty() {
        return Err(vec![format!("{name}: no row has a score or pass filled in")]);
    }
    let scored = match check_scores(&assessment, inputs, scorer, now) {
        Ok(scored) => scored,
        Err(bad) => {
            faults.extend(
                bad.into_iter().map(|f| format!("{name} row {}, column {}: {}", rows[f.index], f.field, f.reason)),
            );
            Vec::new()
        }
    };
    if !faults.is_empty() {
        return Err(faults);
    }
    let count = scored.len();
    let actor = Actor { name: scorer.to_string(), ..Actor::cli() };
    match store.record_scores(id, scored, now, actor).await {
        Ok(true) => Ok(count),
        Ok(false) => Err(vec![format!("no assessment {id}")]),
        Err(e) => Err(vec![e.to_string()]),
    }
}

/// The report: JSON (the assessment, its points, scores and rates), XLSX, or the CSV score sheet.
pub async fn report(store: &Store, id: i64, format: &str) -> Result<Vec<u8>, CliError> {
    let a = one(store, id).await?;
    match format {
        "json" => serde_json::to_vec_pretty(&json!({"assessment": a, "report": a.report()}))
            .map_err(|e| CliError::Failed(e.to_string())),
        "xlsx" => Ok(a.to_xlsx()?),
        "csv" => score_sheet(&a),
        other => Err(format!("--format {other:?}: use xlsx, json or csv").into()),
    }
}

#[derive(Subcommand)]
pub(super) enum AssessCommand {
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

/// Runs `gridwatch assess …`.
pub(super) async fn run(command: AssessCommand) -> Result<(), CliError> {
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
            let (drawn, sheet) = draw(store.as_ref(), spec, now()).await?;
            eprintln!("assessment {}: {} points drawn with seed {}", drawn.id, drawn.items.len(), drawn.spec.seed);
            write_out(out.as_deref(), &sheet)
        }
        AssessCommand::List { database } => {
            let store = connect(&database.database_url).await?;
            write_out(None, &list(store.as_ref()).await?)
        }
        AssessCommand::Score { id, file, by, database } => {
            let store = connect(&database.database_url).await?;
            let by = by.unwrap_or_else(|| crate::domain::auth::Actor::cli().name);
            match score(store.as_ref(), id, &file, &by, now()).await {
                Ok(n) => {
                    println!("recorded {n} scores in assessment {id}");
                    Ok(())
                }
                Err(problems) => Err(CliError::problems(&problems, "no score was recorded")),
            }
        }
        AssessCommand::Report { id, format, out, database } => {
            let store = connect(&database.database_url).await?;
            write_out(out.as_deref(), &report(store.as_ref(), id, &format).await?)
        }
    }
}
