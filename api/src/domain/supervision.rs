//! Supervision (督查) by the office: rounds of checks, open (明查), undercover (暗访) or special
//! (专项), whose findings become cases for the responsible units, and the ledger (台账) that
//! follows each finding until its case is closed (销号).
//!
//! Findings of an open or special round are handed over (交办) as cases at once. Findings of an
//! undercover round stay with the office until it publishes the round: until then they are no
//! case at all, so no unit, officer or dispatcher can see them.

use crate::domain::problem::Problem;
use crate::domain::workflow::state::State;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use time::{Date, OffsetDateTime};

use crate::domain::clock::iso_date;

/// How a round is run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum RoundKind {
    /// 明查: announced; findings are handed over at once.
    Open,
    /// 暗访: unannounced; findings are handed over when the office publishes the round.
    Undercover,
    /// 专项: a campaign's check; findings are handed over at once.
    Special,
}

impl RoundKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Undercover => "undercover",
            Self::Special => "special",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Self::Open, Self::Undercover, Self::Special].into_iter().find(|k| k.as_str() == text)
    }

    /// 明查, 暗访, 专项.
    pub fn zh(self) -> &'static str {
        match self {
            Self::Open => "明查",
            Self::Undercover => "暗访",
            Self::Special => "专项",
        }
    }
}

/// A supervision round (督查轮次), numbered per year: 2026年第3期.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Round {
    pub id: i64,
    pub year: i32,
    /// The round's number within its year.
    pub number: i64,
    pub name: String,
    pub kind: RoundKind,
    /// The days the round checks (both included).
    #[serde(with = "iso_date")]
    #[schema(value_type = String, format = Date)]
    pub starts_on: Date,
    #[serde(with = "iso_date")]
    #[schema(value_type = String, format = Date)]
    pub ends_on: Date,
    /// The day by which its findings must be rectified (限时整改).
    #[serde(with = "iso_date")]
    #[schema(value_type = String, format = Date)]
    pub rectify_by: Date,
    /// The grids it covers (any level); the whole city when empty.
    pub area: Vec<String>,
    /// The assessment points it checks (测评点位), if chosen beforehand.
    pub points: Vec<String>,
    /// The inspectors (督查员) who record its findings besides the office.
    pub inspectors: Vec<String>,
    /// The office's foreword to its 督查通报 (the numbers themselves are never typed).
    pub foreword: Option<String>,
    /// Moves with each change of the foreword: send it back to change it.
    pub version: i64,
    pub created_by: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    /// When an undercover round's findings were handed over; open and special rounds hand over
    /// each finding as it is recorded.
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub published_at: Option<OffsetDateTime>,
}

impl Round {
    /// 2026年第3期.
    pub fn label(&self) -> String {
        format!("{}年第{}期", self.year, self.number)
    }

    /// Are its findings handed over to the units as they are recorded?
    pub fn hands_over_at_once(&self) -> bool {
        self.kind != RoundKind::Undercover || self.published_at.is_some()
    }

    /// Is `principal` an inspector this round names?
    pub fn names(&self, principal: &crate::domain::auth::Principal) -> bool {
        principal.role == crate::domain::auth::Role::Inspector && self.inspectors.contains(&principal.name)
    }

    /// May those who are checked (units, officers, dispatchers) see the round? An undercover
    /// round stays hidden until it is published.
    pub fn is_public(&self) -> bool {
        self.kind != RoundKind::Undercover || self.published_at.is_some()
    }
}

/// What is asked to open a round.
#[derive(Debug, Clone, PartialEq)]
pub struct NewRound {
    pub name: String,
    pub kind: RoundKind,
    pub starts_on: Date,
    pub ends_on: Date,
    pub rectify_by: Date,
    pub area: Vec<String>,
    pub points: Vec<String>,
    pub inspectors: Vec<String>,
}

/// Checks a round's dates: it ends on or after its start, at most a year later, and its
/// findings are due on or after its end.
pub fn check_dates(starts_on: Date, ends_on: Date, rectify_by: Date) -> Result<(), (&'static str, String)> {
    if ends_on < starts_on {
        return Err(("ends_on", "must be on or after starts_on".into()));
    }
    if (ends_on - starts_on).whole_days() > 366 {
        return Err(("ends_on", "a round lasts at most a year".into()));
    }
    if rectify_by < ends_on {
        return Err(("rectify_by", "must be on or after ends_on".into()));
    }
    Ok(())
}

/// A problem found in a round (督查发现问题).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Finding {
    pub id: i64,
    pub round_id: i64,
    /// The assessment point it was found at, if any.
    pub point_code: Option<String>,
    pub lon: f64,
    pub lat: f64,
    pub category: String,
    pub description: String,
    pub found_by: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub found_at: OffsetDateTime,
    /// The case it became once handed over (交办).
    pub problem_id: Option<i64>,
    /// The failed item of a mock assessment it was made from: `assessment 3 · P001 · c2`.
    pub from_assessment: Option<String>,
}

/// A failed item of a mock assessment (模拟测评), as a finding to record: one per criterion scored
/// below its weight. `category` is the criterion's, or `general` when it names none.
pub fn findings_of_failed_items(
    assessment: &crate::domain::assessment::Assessment,
    round_id: i64,
    general: &str,
) -> Vec<Finding> {
    let mut out = Vec::new();
    for item in &assessment.items {
        for criterion in &item.checklist {
            let Some(score) = item.scores.get(&criterion.id).filter(|s| s.score < criterion.weight) else { continue };
            let note = if score.note.is_empty() { String::new() } else { format!("，{}", score.note) };
            out.push(Finding {
                id: 0,
                round_id,
                point_code: Some(item.code.clone()),
                lon: item.lon,
                lat: item.lat,
                category: criterion.category.clone().unwrap_or_else(|| general.to_string()),
                description: format!(
                    "模拟测评「{}」{}：{}（得{}分，满分{}分{note}）",
                    assessment.spec.name, item.name, criterion.text, score.score, criterion.weight
                ),
                found_by: score.by.clone(),
                found_at: score.at,
                problem_id: None,
                from_assessment: Some(format!("assessment {} · {} · {}", assessment.id, item.code, criterion.id)),
            });
        }
    }
    out
}

/// Where a finding stands in the ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Standing {
    /// An undercover round's finding, not yet handed over.
    Withheld,
    /// Handed over, not yet closed (未整改).
    NotRectified,
    /// Its case is closed (已整改, 销号): verified by the dispatcher after the unit's fix.
    Rectified,
    /// Its case was voided (不属实).
    Voided,
}

impl Standing {
    pub fn of(case: Option<&Problem>) -> Self {
        match case.map(|p| p.status) {
            None => Self::Withheld,
            Some(State::Closed) => Self::Rectified,
            Some(State::Void) => Self::Voided,
            Some(_) => Self::NotRectified,
        }
    }
}

/// The counts of a ledger row (台账).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Tally {
    /// 发现问题: every finding.
    pub found: u32,
    /// 已整改: closed.
    pub rectified: u32,
    /// 未整改: handed over (or withheld) and not closed, not voided.
    pub not_rectified: u32,
    /// 超期未整改: not rectified after the round's rectify-by day, or past its case's deadline.
    pub overdue: u32,
    /// 返工: sent back for rework at least once (closed or not).
    pub reopened: u32,
    /// 不属实: voided.
    pub voided: u32,
}

impl Tally {
    fn add(&mut self, item: &LedgerItem) {
        self.found += 1;
        match item.standing {
            Standing::Rectified => self.rectified += 1,
            Standing::Voided => self.voided += 1,
            Standing::Withheld | Standing::NotRectified => self.not_rectified += 1,
        }
        self.overdue += u32::from(item.overdue);
        self.reopened += u32::from(item.reworks > 0);
    }
}

/// One finding in the ledger.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct LedgerItem {
    pub finding: Finding,
    pub standing: Standing,
    /// The unit it was handed to (责任单位).
    pub unit: Option<String>,
    pub grid_code: Option<String>,
    pub reworks: u32,
    pub overdue: bool,
    /// When its case was closed (销号).
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub closed_at: Option<OffsetDateTime>,
}

/// A ledger row: one unit or one point.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct LedgerRow {
    /// The unit's name or the point's code (`—` for findings at no point, or routed to no unit).
    pub key: String,
    #[serde(flatten)]
    pub tally: Tally,
}

/// A round's ledger (台账): every finding with its standing, and the counts per unit and per
/// point.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Ledger {
    pub round: Round,
    pub total: Tally,
    pub by_unit: Vec<LedgerRow>,
    pub by_point: Vec<LedgerRow>,
    pub items: Vec<LedgerItem>,
}

/// What no unit or point is called in a ledger.
/// The ledger row of findings made at no assessment point (and of cases with no unit).
pub const NO_POINT: &str = "—";
const NONE: &str = NO_POINT;

/// The ledger of `round` from its findings and their cases, as of `now`. A finding is overdue
/// when it is not rectified and either the round's rectify-by day has passed (in `offset`'s
/// days) or its case's own deadline has.
pub fn ledger(
    round: Round,
    findings: Vec<Finding>,
    cases: &BTreeMap<i64, Problem>,
    now: OffsetDateTime,
    offset: time::UtcOffset,
) -> Ledger {
    let today = now.to_offset(offset).date();
    let items: Vec<LedgerItem> = findings
        .into_iter()
        .map(|finding| {
            let case = finding.problem_id.and_then(|id| cases.get(&id));
            let standing = Standing::of(case);
            let open = matches!(standing, Standing::Withheld | Standing::NotRectified);
            let past_deadline = case.and_then(|p| p.case.deadline).is_some_and(|d| d < now);
            LedgerItem {
                standing,
                unit: case.and_then(|p| p.responsible_unit.clone()),
                grid_code: case.and_then(|p| p.grid_code.clone()),
                reworks: case.map_or(0, |p| p.case.reworks),
                overdue: open && (today > round.rectify_by || past_deadline),
                closed_at: case.and_then(|p| p.case.closed_at),
                finding,
            }
        })
        .collect();
    let (total, by_unit, by_point) = tallies(&items);
    Ledger { round, total, by_unit, by_point, items }
}

/// The counts of `items`: in all, per unit and per point (the most open findings first: that is
/// where the office follows up).
pub fn tallies(items: &[LedgerItem]) -> (Tally, Vec<LedgerRow>, Vec<LedgerRow>) {
    let mut total = Tally::default();
    let (mut by_unit, mut by_point) = (BTreeMap::<String, Tally>::new(), BTreeMap::<String, Tally>::new());
    for item in items {
        total.add(item);
        by_unit.entry(item.unit.clone().unwrap_or_else(|| NONE.into())).or_default().add(item);
        by_point.entry(item.finding.point_code.clone().unwrap_or_else(|| NONE.into())).or_default().add(item);
    }
    let rows = |groups: BTreeMap<String, Tally>| -> Vec<LedgerRow> {
        let mut rows: Vec<LedgerRow> = groups.into_iter().map(|(key, tally)| LedgerRow { key, tally }).collect();
        rows.sort_by(|a, b| b.tally.not_rectified.cmp(&a.tally.not_rectified).then_with(|| a.key.cmp(&b.key)));
        rows
    };
    (total, rows(by_unit), rows(by_point))
}

/// The ledger as someone who sees only some of its findings sees it (a unit: what was handed to
/// it), counted again from those.
pub fn restricted(mut ledger: Ledger, keep: impl Fn(&LedgerItem) -> bool) -> Ledger {
    ledger.items.retain(keep);
    (ledger.total, ledger.by_unit, ledger.by_point) = tallies(&ledger.items);
    ledger
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::problem::{NewProblem, Source};
    use time::macros::{date, datetime};

    fn round(kind: RoundKind) -> Round {
        Round {
            id: 1,
            year: 2026,
            number: 3,
            name: "11月暗访".into(),
            kind,
            starts_on: date!(2026 - 11 - 23),
            ends_on: date!(2026 - 11 - 27),
            rectify_by: date!(2026 - 12 - 04),
            area: vec![],
            points: vec![],
            inspectors: vec![],
            foreword: None,
            version: 0,
            created_by: "office".into(),
            created_at: datetime!(2026-11-20 09:00 +8),
            published_at: None,
        }
    }

    fn finding(id: i64, point: Option<&str>, case: Option<i64>) -> Finding {
        Finding {
            id,
            round_id: 1,
            point_code: point.map(String::from),
            lon: 116.4,
            lat: 39.9,
            category: "E01001".into(),
            description: "垃圾".into(),
            found_by: "office".into(),
            found_at: datetime!(2026-11-24 10:00 +8),
            problem_id: case,
            from_assessment: None,
        }
    }

    fn case(id: i64, unit: &str, status: State, reworks: u32) -> Problem {
        let mut p = Problem::from_new(
            id,
            NewProblem {
                lon: 116.4,
                lat: 39.9,
                category: "E01001".into(),
                description: String::new(),
                source: Source::Undercover,
                grid_code: Some("110101001001001".into()),
                grid_version: Some(1),
                responsible_unit: Some(unit.into()),
                candidates: vec![],
                status,
                created_at: datetime!(2026-11-28 09:00 +8),
                reported_by: Some("office".into()),
                class: None,
                nearby: vec![],
                likely_duplicates: vec![],
                origin: None,
                address: None,
                address_id: None,
                recurrence: None,
                caller: None,
            },
        );
        p.case.reworks = reworks;
        p
    }

    #[test]
    fn an_undercover_round_hides_its_findings_until_published() {
        let mut r = round(RoundKind::Undercover);
        assert!(!r.is_public() && !r.hands_over_at_once());
        r.published_at = Some(datetime!(2026-11-28 09:00 +8));
        assert!(r.is_public() && r.hands_over_at_once());
        assert!(round(RoundKind::Open).hands_over_at_once());
        assert_eq!(r.label(), "2026年第3期");
    }

    #[test]
    fn the_ledger_counts_per_unit_and_point() {
        let cases: BTreeMap<i64, Problem> = [
            case(10, "东华门街道", State::Closed, 1),
            case(11, "东华门街道", State::Dispatched, 0),
            case(12, "景山街道", State::Handled, 0),
            case(13, "景山街道", State::Void, 0),
        ]
        .into_iter()
        .map(|p| (p.id, p))
        .collect();
        let findings = vec![
            finding(1, Some("P1"), Some(10)),
            finding(2, Some("P1"), Some(11)),
            finding(3, Some("P2"), Some(12)),
            finding(4, None, Some(13)),
            finding(5, Some("P2"), None),
        ];
        let offset = time::UtcOffset::from_hms(8, 0, 0).expect("offset");
        // Before the rectify-by day: nothing overdue.
        let before = ledger(round(RoundKind::Open), findings.clone(), &cases, datetime!(2026-12-04 18:00 +8), offset);
        assert_eq!(
            before.total,
            Tally { found: 5, rectified: 1, not_rectified: 3, overdue: 0, reopened: 1, voided: 1 }
        );
        // The day after: the three open findings are overdue.
        let after = ledger(round(RoundKind::Open), findings, &cases, datetime!(2026-12-05 08:00 +8), offset);
        assert_eq!(after.total.overdue, 3);
        let unit = |key: &str| after.by_unit.iter().find(|r| r.key == key).map(|r| r.tally);
        assert_eq!(unit("东华门街道").map(|t| (t.found, t.rectified, t.not_rectified)), Some((2, 1, 1)));
        assert_eq!(unit("景山街道").map(|t| (t.found, t.not_rectified, t.voided)), Some((2, 1, 1)));
        assert_eq!(unit(NONE).map(|t| (t.found, t.not_rectified)), Some((1, 1)), "the withheld finding");
        let point = |key: &str| after.by_point.iter().find(|r| r.key == key).map(|r| r.tally.found);
        assert_eq!((point("P1"), point("P2"), point(NONE)), (Some(2), Some(2), Some(1)));
        // A unit sees its own findings only.
        let mine = restricted(after, |i| i.unit.as_deref() == Some("景山街道"));
        assert_eq!((mine.items.len(), mine.total.found, mine.by_unit.len()), (2, 2, 1));
    }

    #[test]
    fn dates_are_checked() {
        let d = |m, day| Date::from_calendar_date(2026, m, day).expect("date");
        assert!(check_dates(d(time::Month::November, 23), d(time::Month::November, 27), d(time::Month::December, 4))
            .is_ok());
        assert_eq!(
            check_dates(d(time::Month::November, 27), d(time::Month::November, 23), d(time::Month::December, 4))
                .map_err(|e| e.0),
            Err("ends_on")
        );
        assert_eq!(
            check_dates(d(time::Month::November, 23), d(time::Month::November, 27), d(time::Month::November, 26))
                .map_err(|e| e.0),
            Err("rectify_by")
        );
    }
}
