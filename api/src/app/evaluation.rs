//! Evaluation (实绩考核) as a use case: the period's cases, letters, inspections and points read
//! once, turned into rows per street, unit or officer (domain::evaluation), and written out as a
//! workbook.

use crate::app::bulletin::{self, GroupBy};
use crate::domain::access::{Area, AreaFilter};
use crate::domain::auth::{Role, User, WHOLE_CITY};
use crate::domain::evaluation::{rank, unit_score, EvaluateBy, EvaluationRules, LetterCounts, PostCounts, Row};
use crate::domain::grids::Snapshot;
use crate::domain::indicators::ConfirmFacts;
use crate::domain::period::Period;
use crate::domain::problem::{Problem, Source};
use crate::domain::workflow::calendar::WorkingCalendar;
use crate::domain::workflow::confirmation::Confirmation;
use crate::domain::workflow::state::State;
use crate::store::letters::LetterFilter;
use crate::store::{ProblemEvent, Store, StoreError};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use time::OffsetDateTime;

/// An evaluation: ranked rows for a period.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Evaluation {
    pub period: Period,
    pub by: EvaluateBy,
    /// Ranked best first; unranked rows (nothing to judge) last.
    pub rows: Vec<Row>,
}

/// What an evaluation needs besides the store.
pub struct Setting<'a> {
    pub snapshot: &'a Snapshot,
    /// The caller's area: rows and cases outside it are left out.
    pub area: &'a Area,
    pub rules: &'a EvaluationRules,
    pub calendar: &'a WorkingCalendar,
    pub confirmation: &'a Confirmation,
    pub now: OffsetDateTime,
}

/// Evaluates `by` over `period`.
pub async fn evaluate(
    store: &Store,
    period: Period,
    by: EvaluateBy,
    s: &Setting<'_>,
) -> Result<Evaluation, StoreError> {
    let filter = s.area.filter();
    let mut rows = match by {
        EvaluateBy::Area => {
            let cases = bulletin::load(store, s.snapshot, &filter, period.clone(), GroupBy::Street, s.now).await?;
            case_rows(cases, None, s.rules)
        }
        EvaluateBy::Unit => {
            let cases = bulletin::load(store, s.snapshot, &filter, period.clone(), GroupBy::Unit, s.now).await?;
            case_rows(cases, Some(&letters_by_unit(store, &period, s).await?), s.rules)
        }
        EvaluateBy::Post => posts(store, &period, s, &filter).await?,
    };
    rank(&mut rows, s.rules);
    Ok(Evaluation { period, by, rows })
}

/// Each unit's letters issued in the period, as they stand now (or at its end).
async fn letters_by_unit(
    store: &Store,
    period: &Period,
    s: &Setting<'_>,
) -> Result<BTreeMap<String, LetterCounts>, StoreError> {
    let as_of = period.end.min(s.now);
    let mut out: BTreeMap<String, LetterCounts> = BTreeMap::new();
    for letter in store.letters(&LetterFilter::default(), s.now).await? {
        if !s.area.sees_letter(&letter) || letter.issued_at < period.start || letter.issued_at >= period.end {
            continue;
        }
        let counts = out.entry(letter.unit.clone()).or_default();
        counts.issued += 1;
        let answered = letter.answered_at.filter(|at| *at < as_of);
        counts.due += u32::from(answered.is_some() || letter.answer_by < as_of);
        if let Some(at) = answered {
            counts.answered += 1;
            counts.answered_on_time += u32::from(at <= letter.answer_by);
        }
    }
    Ok(out)
}

/// The sources whose problems an officer should have found first: found by anyone else.
fn found_by_others(source: Source) -> bool {
    !matches!(source, Source::Officer | Source::Inspection)
}

/// One row per grid officer whose grids lie in the caller's area.
async fn posts(store: &Store, period: &Period, s: &Setting<'_>, filter: &AreaFilter) -> Result<Vec<Row>, StoreError> {
    let officers: Vec<User> = store
        .users()
        .await?
        .into_iter()
        .filter(|u| u.role == Role::Officer && u.revoked_at.is_none() && !u.scope.iter().any(|c| c == WHOLE_CITY))
        .filter(|u| s.area.covers(&Area::Grids(s.snapshot.descendants(&u.scope))))
        .collect();
    let (from, to) = (period.start, period.end);
    let as_of = to.min(s.now);
    let reported = store.created_between(from, to, filter).await?;
    let to_confirm = store.entered_between(State::Confirming, from, to, filter).await?;
    let handled = store.entered_between(State::Handled, from, to, filter).await?;
    let mut ids: Vec<i64> = to_confirm.iter().chain(&handled).map(|p| p.id).collect();
    ids.sort_unstable();
    ids.dedup();
    let mut steps: HashMap<i64, Vec<ProblemEvent>> = HashMap::new();
    for e in store.events_of(&ids).await? {
        steps.entry(e.problem_id).or_default().push(e);
    }
    let history = |p: &Problem| steps.get(&p.id).map_or(&[][..], Vec::as_slice);
    let inspections = store.inspections(from.unix_timestamp(), as_of.unix_timestamp()).await?;
    let points = store.points(None).await?;
    let (limit, unit) = s.confirmation.limit();

    let mut rows = Vec::new();
    for officer in officers {
        let grids = s.snapshot.descendants(&officer.scope);
        let mine = |p: &Problem| p.grid_code.as_ref().is_some_and(|g| grids.contains(g));
        let mut c = PostCounts::default();
        for p in reported.iter().filter(|p| mine(p) || p.reported_by.as_deref() == Some(officer.name.as_str())) {
            if p.reported_by.as_deref() == Some(officer.name.as_str()) && !found_by_others(p.source) {
                c.valid_reports += u32::from(p.status != State::Void);
            } else if mine(p) && found_by_others(p.source) {
                c.missed += 1;
                c.findings += u32::from(matches!(p.source, Source::Supervision | Source::Undercover));
            }
        }
        for p in to_confirm.iter().filter(|p| mine(p)) {
            if let Some(f) = ConfirmFacts::from_history(history(p)) {
                c.to_confirm += 1;
                let on_time =
                    f.confirmed_at.filter(|at| *at < as_of).is_some_and(|at| f.deadline.is_none_or(|d| at <= d));
                c.confirmed_on_time += u32::from(on_time);
            }
        }
        for p in handled.iter().filter(|p| mine(p)) {
            let events = history(p);
            let Some(fixed) = events.iter().find(|e| e.to_state == "handled" && e.at >= from && e.at < to) else {
                continue;
            };
            c.to_verify += 1;
            // 核查 within the same on-site limit as 核实, counted from the unit's fix.
            let due = s.calendar.deadline(fixed.at, limit, unit);
            let checked = events
                .iter()
                .filter(|e| e.at >= fixed.at && e.at < as_of && matches!(e.action.as_str(), "verify" | "reject"))
                .map(|e| e.at)
                .min();
            c.verified_on_time += u32::from(checked.is_some_and(|at| due.is_none_or(|d| at <= d)));
        }
        let my_points: BTreeSet<&str> = points
            .iter()
            .filter(|p| p.grid_code.as_ref().is_some_and(|g| grids.contains(g)))
            .map(|p| p.code.as_str())
            .collect();
        c.points = my_points.len() as u32;
        let inspected: BTreeSet<&str> = inspections
            .iter()
            .filter(|i| i.officer == officer.name && my_points.contains(i.point_code.as_str()))
            .map(|i| i.point_code.as_str())
            .collect();
        c.points_inspected = inspected.len() as u32;
        let name = officer.scope.first().and_then(|g| s.snapshot.grids.get(g)).and_then(|g| g.name.clone());
        rows.push(Row { post: Some(c), ..Row::new(officer.name.clone(), name, c.score(&s.rules.post)) });
    }
    Ok(rows)
}

impl Evaluation {
    /// The evaluation as a workbook: one sheet of ranked rows, the figures behind each score.
    pub fn to_xlsx(&self) -> Result<Vec<u8>, String> {
        let mut book = rust_xlsxwriter::Workbook::new();
        let bold = rust_xlsxwriter::Format::new().set_bold();
        let sheet = book.add_worksheet().set_name("考核").map_err(|e| e.to_string())?;
        let title = format!("实绩考核 {} ({})", self.period.label, by_zh(self.by));
        sheet.write_with_format(0, 0, title.as_str(), &bold).map_err(|e| e.to_string())?;
        let mut headers = vec!["排名 rank", "对象 key", "名称 name", "得分 score", "等次 grade"];
        headers.extend(match self.by {
            EvaluateBy::Post => [
                "有效上报 valid reports",
                "漏报 missed",
                "督查发现 findings",
                "应核实 to confirm",
                "按时核实 confirmed on time",
                "应核查 to verify",
                "按时核查 verified on time",
                "点位 points",
                "已巡查点位 inspected",
            ]
            .as_slice(),
            _ => [
                "应结案 should close",
                "结案 closed",
                "按期结案 closed on time",
                "结案率 %",
                "按期结案率 %",
                "处置率 %",
                "按期处置率 %",
                "督办函 letters",
                "到期 due",
                "按期反馈 answered on time",
            ]
            .as_slice(),
        });
        for (col, h) in headers.iter().enumerate() {
            sheet.write_with_format(2, col as u16, *h, &bold).map_err(|e| e.to_string())?;
        }
        for (i, row) in self.rows.iter().enumerate() {
            let r = 3 + i as u32;
            let mut cells: Vec<String> = vec![
                row.rank.map_or(String::new(), |n| n.to_string()),
                row.key.clone(),
                row.name.clone().unwrap_or_default(),
                row.score.map_or(String::new(), |x| format!("{x:.2}")),
                row.grade.clone().unwrap_or_default(),
            ];
            let pct = |x: Option<f64>| x.map_or(String::new(), |x| format!("{:.2}", x * 100.0));
            match (&row.post, &row.cases) {
                (Some(p), _) => cells.extend(
                    [
                        p.valid_reports,
                        p.missed,
                        p.findings,
                        p.to_confirm,
                        p.confirmed_on_time,
                        p.to_verify,
                        p.verified_on_time,
                        p.points,
                        p.points_inspected,
                    ]
                    .map(|n| n.to_string()),
                ),
                (None, counts) => {
                    let c = counts.unwrap_or_default();
                    let letters = row.letters.unwrap_or_default();
                    cells.extend([c.should_handle, c.closed, c.on_time_closed].map(|n| n.to_string()));
                    cells.extend([
                        pct(row.rates.map(|r| r.closing)),
                        pct(row.rates.map(|r| r.on_time_closing)),
                        pct(row.rates.map(|r| r.handling)),
                        pct(row.rates.map(|r| r.on_time_handling)),
                    ]);
                    cells.extend([letters.issued, letters.due, letters.answered_on_time].map(|n| n.to_string()));
                }
            }
            for (col, cell) in cells.iter().enumerate() {
                match cell.parse::<f64>() {
                    Ok(n) if col != 1 => sheet.write_number(r, col as u16, n),
                    _ => sheet.write_string(r, col as u16, cell.as_str()),
                }
                .map_err(|e| e.to_string())?;
            }
        }
        book.save_to_buffer().map_err(|e| e.to_string())
    }
}

/// 街道, 责任单位, 网格员.
fn by_zh(by: EvaluateBy) -> &'static str {
    match by {
        EvaluateBy::Area => "街道",
        EvaluateBy::Unit => "责任单位",
        EvaluateBy::Post => "网格员",
    }
}

/// Rows from the case indicators of a street or unit bulletin (and, for units, their letters:
/// a unit with letters but no cases has a row too).
pub fn case_rows(
    cases: bulletin::Bulletin,
    letters: Option<&BTreeMap<String, LetterCounts>>,
    rules: &EvaluationRules,
) -> Vec<Row> {
    let mut lines: BTreeMap<String, bulletin::Row> = cases.rows.into_iter().map(|r| (r.group.clone(), r)).collect();
    let mut keys: BTreeSet<String> = lines.keys().cloned().collect();
    keys.extend(letters.into_iter().flat_map(|l| l.keys().cloned()));
    keys.into_iter()
        .map(|key| {
            let line = lines.remove(&key);
            let rates = line.as_ref().and_then(|l| l.rates);
            let name = line.as_ref().and_then(|l| l.name.clone());
            let letters = letters.map(|l| l.get(&key).copied().unwrap_or_default());
            let score = match &letters {
                Some(l) => unit_score(rates.as_ref(), l, &rules.unit),
                None => rates.map(|r| r.score),
            };
            Row { cases: line.map(|l| l.counts), rates, letters, ..Row::new(key, name, score) }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::problem::{NewProblem, Problem};
    use time::macros::{datetime, offset};
    use time::Duration;

    /// A case of `unit` dispatched at `at`, due four days later.
    fn dispatched(id: i64, unit: &str, at: OffsetDateTime) -> Problem {
        let mut p = Problem::from_new(
            id,
            NewProblem {
                lon: 113.17,
                lat: 30.66,
                category: "E01001".into(),
                description: "天门".into(),
                source: Source::Hotline,
                grid_code: None,
                grid_version: None,
                responsible_unit: Some(unit.into()),
                candidates: Vec::new(),
                status: State::Dispatched,
                created_at: at,
                reported_by: None,
                class: None,
                nearby: Vec::new(),
                likely_duplicates: Vec::new(),
                origin: None,
                address: None,
                address_id: None,
                caller: None,
                recurrence: None,
            },
        );
        p.case.dispatched_at = Some(at);
        p.case.deadline = Some(at + Duration::days(4));
        p
    }

    fn step(id: i64, problem_id: i64, action: &str, at: OffsetDateTime) -> ProblemEvent {
        ProblemEvent {
            id,
            problem_id,
            at,
            actor: "unit".into(),
            role: "unit".into(),
            action: action.into(),
            from_state: String::new(),
            to_state: String::new(),
            note: None,
            photo_url: None,
            details: serde_json::Value::Null,
        }
    }

    /// Tianmen's published month: 应结案 972, 结案 911 (结案率 93.72 %), 按期结案 737 (按期结案率
    /// 75.82 %). 972 cases dispatched in November: 737 handled and closed within their four days,
    /// 174 closed after their deadline, 61 still open at the end of the month.
    #[test]
    fn tianmens_published_month_is_reproduced_from_cases() {
        let period = Period::parse("2026-11", offset!(+8)).expect("month");
        let (mut cases, mut events) = (Vec::new(), Vec::new());
        for i in 0..972_i64 {
            let at = period.start + Duration::minutes(25 * i); // over the first 17 days: all closes fall in the month
            cases.push(dispatched(i + 1, "天门市城管局", at));
            let closed = match i {
                0..737 => Some(at + Duration::days(2)),
                737..911 => Some(at + Duration::days(5)),
                _ => None,
            };
            if let Some(closed) = closed {
                events.push(step(2 * i, i + 1, "handle", closed - Duration::hours(1)));
                events.push(step(2 * i + 1, i + 1, "close", closed));
            }
        }
        let snapshot = Snapshot::new(0, 0, Vec::new(), Vec::new());
        let cases = bulletin::Cases { dispatched: &cases, to_confirm: &[], events: &events, recurred: &[] };
        let month = bulletin::build(period, GroupBy::Unit, &cases, &snapshot, datetime!(2027-01-15 12:00 +8));
        let rows = case_rows(month, Some(&BTreeMap::new()), &EvaluationRules::default());
        assert_eq!(rows.len(), 1);
        let counts = rows[0].cases.expect("counts");
        assert_eq!((counts.should_handle, counts.closed, counts.on_time_closed), (972, 911, 737));
        let rates = rows[0].rates.expect("rates");
        assert_eq!(format!("{:.2}", rates.closing * 100.0), "93.72");
        assert_eq!(format!("{:.2}", rates.on_time_closing * 100.0), "75.82");
        // With no letters, the unit's score is its case score alone.
        assert_eq!(rows[0].score.map(|s| format!("{s:.4}")), Some(format!("{:.4}", rates.score)));
    }
}
