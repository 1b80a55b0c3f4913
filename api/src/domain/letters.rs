//! Supervision letters (督办函): when a case or a unit's cases turn blue, yellow or red, the office
//! sends the responsible unit a numbered letter — a 提醒函 (reminder), a 督办函 or a 红色督办单 —
//! listing the cases and the day it must answer by. The unit signs for it (签收) and answers
//! (反馈) with a note and evidence; a letter left unanswered past its day escalates to the next
//! kind, and a red one left unanswered stays overdue in the office's ledger.

use crate::domain::workflow::calendar::{LimitUnit, WorkingCalendar};
use crate::domain::workflow::colour::Colour;
use crate::domain::workflow::state::State;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use time::OffsetDateTime;

/// The three kinds of letter, mildest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum LetterKind {
    /// 提醒函 (blue): a deadline approaches.
    Reminder,
    /// 督办函 (yellow): overdue, or sent back for rework.
    Notice,
    /// 红色督办单 (red): seriously overdue, or reworked again.
    Red,
}

impl LetterKind {
    pub const ALL: [LetterKind; 3] = [Self::Reminder, Self::Notice, Self::Red];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Reminder => "reminder",
            Self::Notice => "notice",
            Self::Red => "red",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == text)
    }

    /// 提醒函, 督办函, 红色督办单.
    pub fn zh(self) -> &'static str {
        match self {
            Self::Reminder => "提醒函",
            Self::Notice => "督办函",
            Self::Red => "红色督办单",
        }
    }

    /// The letter a case of this colour calls for.
    pub fn for_colour(colour: Colour) -> Option<Self> {
        match colour {
            Colour::None => None,
            Colour::Blue => Some(Self::Reminder),
            Colour::Yellow => Some(Self::Notice),
            Colour::Red => Some(Self::Red),
        }
    }

    /// The kind an unanswered letter escalates to; none above red.
    pub fn next(self) -> Option<Self> {
        match self {
            Self::Reminder => Some(Self::Notice),
            Self::Notice => Some(Self::Red),
            Self::Red => None,
        }
    }
}

/// Where a letter stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LetterStatus {
    /// 待签收: sent, not yet signed for.
    Issued,
    /// 已签收: signed for, not yet answered.
    Signed,
    /// 已反馈: answered (办结).
    Answered,
    /// 已升级: not answered by its day; a letter of the next kind followed.
    Escalated,
    /// 逾期未反馈: a red letter not answered by its day (nothing above red to send).
    Overdue,
}

impl LetterStatus {
    pub const ALL: [LetterStatus; 5] = [Self::Issued, Self::Signed, Self::Answered, Self::Escalated, Self::Overdue];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Issued => "issued",
            Self::Signed => "signed",
            Self::Answered => "answered",
            Self::Escalated => "escalated",
            Self::Overdue => "overdue",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == text)
    }

    /// 待签收, 已签收, 已反馈, 已升级, 逾期未反馈.
    pub fn zh(self) -> &'static str {
        match self {
            Self::Issued => "待签收",
            Self::Signed => "已签收",
            Self::Answered => "已反馈",
            Self::Escalated => "已升级",
            Self::Overdue => "逾期未反馈",
        }
    }
}

/// How a letter came to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum LetterOrigin {
    /// Issued by the escalation pass when cases changed colour (the city's letter rules).
    Colour,
    /// Issued by the office by hand.
    Hand,
    /// Issued because an earlier letter went unanswered.
    Escalation,
    /// Issued because a unit's ledger of a supervision round (督查台账) has findings left
    /// unrectified past the round's rectify-by day.
    Ledger,
}

impl LetterOrigin {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Colour => "colour",
            Self::Hand => "hand",
            Self::Escalation => "escalation",
            Self::Ledger => "ledger",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Self::Colour, Self::Hand, Self::Escalation, Self::Ledger].into_iter().find(|o| o.as_str() == text)
    }
}

/// A case a letter names, as it stands when the letter is read.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct LetterCase {
    pub id: i64,
    pub lon: f64,
    pub lat: f64,
    /// The catalogue code, and the name the case was filed under (the code when it had none).
    pub category: String,
    pub category_name: String,
    pub description: String,
    pub status: State,
    pub colour: Colour,
    pub grid_code: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub deadline: Option<OffsetDateTime>,
}

/// A letter (督办函), numbered per year and kind: 督办函〔2026〕3号.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Letter {
    pub id: i64,
    pub year: i32,
    pub kind: LetterKind,
    /// Its number among the year's letters of its kind.
    pub number: i64,
    /// 督办函〔2026〕3号
    pub label: String,
    /// The responsible unit (责任单位) it is addressed to.
    pub unit: String,
    /// Why it was sent, in the office's words or the rule's.
    pub reason: String,
    pub origin: LetterOrigin,
    pub status: LetterStatus,
    pub issued_by: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub issued_at: OffsetDateTime,
    /// The unit answers by then (反馈时限).
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub answer_by: OffsetDateTime,
    pub signed_by: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub signed_at: Option<OffsetDateTime>,
    pub answered_by: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub answered_at: Option<OffsetDateTime>,
    /// The unit's answer (反馈意见).
    pub answer: Option<String>,
    /// Photos of the letter's cases the answer points to as evidence.
    pub evidence: Vec<i64>,
    /// Was it answered by its day? Null while unanswered.
    pub answered_on_time: Option<bool>,
    /// The letter this one escalated from, and the one it escalated to.
    pub escalated_from: Option<i64>,
    pub escalated_to: Option<i64>,
    pub cases: Vec<LetterCase>,
}

/// 督办函〔2026〕3号.
pub fn label(kind: LetterKind, year: i32, number: i64) -> String {
    format!("{}〔{year}〕{number}号", kind.zh())
}

/// A letter's standing from what happened to it.
pub fn status_of(
    kind: LetterKind,
    signed: bool,
    answered: bool,
    escalated: bool,
    answer_by: OffsetDateTime,
    now: OffsetDateTime,
) -> LetterStatus {
    match () {
        _ if answered => LetterStatus::Answered,
        _ if escalated => LetterStatus::Escalated,
        _ if kind == LetterKind::Red && now > answer_by => LetterStatus::Overdue,
        _ if signed => LetterStatus::Signed,
        _ => LetterStatus::Issued,
    }
}

/// A letter to issue.
#[derive(Debug, Clone, PartialEq)]
pub struct NewLetter {
    pub kind: LetterKind,
    pub unit: String,
    pub reason: String,
    pub origin: LetterOrigin,
    pub answer_by: OffsetDateTime,
    pub escalated_from: Option<i64>,
    pub cases: Vec<i64>,
}

/// The city's rules for letters (`--letter-rules FILE.json`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LetterRules {
    /// The colours that issue a letter by themselves when a case turns them.
    pub colours: Vec<Colour>,
    /// Working days a unit has to answer each kind.
    pub answer_days: BTreeMap<LetterKind, u32>,
    /// Does an unanswered letter escalate to the next kind?
    pub escalate: bool,
    /// The colours of a unit's round ledger: how many of a round's findings handed to one unit
    /// may stand unrectified past the round's rectify-by day before it gets a letter of a kind.
    pub ledger: Vec<LedgerThreshold>,
}

/// A unit with at least `overdue` findings of one round unrectified past its rectify-by day
/// gets a letter of `kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LedgerThreshold {
    pub overdue: u32,
    pub kind: LetterKind,
}

impl Default for LetterRules {
    fn default() -> Self {
        Self {
            colours: vec![Colour::Yellow, Colour::Red],
            answer_days: [(LetterKind::Reminder, 5), (LetterKind::Notice, 3), (LetterKind::Red, 1)].into(),
            escalate: true,
            ledger: vec![
                LedgerThreshold { overdue: 1, kind: LetterKind::Notice },
                LedgerThreshold { overdue: 3, kind: LetterKind::Red },
            ],
        }
    }
}

impl LetterRules {
    pub fn from_json(text: &str) -> Result<Self, String> {
        let mut rules: Self = serde_json::from_str(text).map_err(|e| e.to_string())?;
        for (kind, days) in Self::default().answer_days {
            rules.answer_days.entry(kind).or_insert(days);
        }
        if let Some((kind, days)) = rules.answer_days.iter().find(|(_, d)| !(1..=60).contains(*d)) {
            return Err(format!("answer_days.{}: {days} is not between 1 and 60", kind.as_str()));
        }
        if let Some(t) = rules.ledger.iter().find(|t| t.overdue == 0) {
            return Err(format!("ledger: a {} at 0 overdue findings would be sent for every round", t.kind.as_str()));
        }
        Ok(rules)
    }

    /// The kind of letter `overdue` findings call for, if any: the strongest threshold reached.
    pub fn ledger_kind(&self, overdue: usize) -> Option<LetterKind> {
        self.ledger.iter().filter(|t| overdue >= t.overdue as usize).map(|t| t.kind).max()
    }

    /// When a letter of `kind` sent at `issued_at` must be answered by.
    pub fn answer_by(&self, kind: LetterKind, issued_at: OffsetDateTime, calendar: &WorkingCalendar) -> OffsetDateTime {
        let days = self.answer_days.get(&kind).copied().unwrap_or(1);
        calendar.deadline(issued_at, days, LimitUnit::WorkingDays).unwrap_or(issued_at + time::Duration::days(7))
    }
}

/// A case that changed colour, as the letter rules see it.
#[derive(Debug, Clone, PartialEq)]
pub struct Turned {
    pub case: i64,
    pub unit: Option<String>,
    pub colour: Colour,
}

/// The letters a pass's colour changes call for: one per unit and kind, naming that unit's
/// cases that turned the colour, less the cases a letter of that kind or a stronger one named
/// already (`named`: the strongest kind each case has had).
pub fn letters_for(
    turned: &[Turned],
    named: &BTreeMap<i64, LetterKind>,
    rules: &LetterRules,
    calendar: &WorkingCalendar,
    now: OffsetDateTime,
) -> Vec<NewLetter> {
    let mut grouped: BTreeMap<(String, LetterKind), BTreeSet<i64>> = BTreeMap::new();
    for t in turned.iter().filter(|t| rules.colours.contains(&t.colour)) {
        let (Some(unit), Some(kind)) = (&t.unit, LetterKind::for_colour(t.colour)) else { continue };
        if named.get(&t.case).is_some_and(|had| *had >= kind) {
            continue;
        }
        grouped.entry((unit.clone(), kind)).or_default().insert(t.case);
    }
    grouped
        .into_iter()
        .map(|((unit, kind), cases)| NewLetter {
            reason: format!("{}件问题{}，请按期整改并反馈", cases.len(), colour_words(kind)),
            answer_by: rules.answer_by(kind, now, calendar),
            kind,
            unit,
            origin: LetterOrigin::Colour,
            escalated_from: None,
            cases: cases.into_iter().collect(),
        })
        .collect()
}

fn colour_words(kind: LetterKind) -> &'static str {
    match kind {
        LetterKind::Reminder => "临近处置时限（蓝牌）",
        LetterKind::Notice => "超过处置时限或返工（黄牌）",
        LetterKind::Red => "严重超期或多次返工（红牌）",
    }
}

/// A round's finding handed to a unit and still open after the round's rectify-by day.
#[derive(Debug, Clone, PartialEq)]
pub struct OverdueFinding {
    /// The round's label: 2026年第3期.
    pub round: String,
    pub round_id: i64,
    pub rectify_by: time::Date,
    pub case: i64,
    pub unit: String,
}

/// The letters the rounds' ledgers call for: for each round and unit, the letter of the kind
/// its count of overdue findings reaches, naming those of them no letter of that kind or a
/// stronger one named already. The count is the whole ledger's, so a unit that lets three of a
/// round's findings run over gets a red letter even when each case alone is only yellow.
pub fn ledger_letters(
    overdue: &[OverdueFinding],
    named: &BTreeMap<i64, LetterKind>,
    rules: &LetterRules,
    calendar: &WorkingCalendar,
    now: OffsetDateTime,
) -> Vec<NewLetter> {
    let mut grouped: BTreeMap<(i64, &str), Vec<&OverdueFinding>> = BTreeMap::new();
    for f in overdue {
        grouped.entry((f.round_id, f.unit.as_str())).or_default().push(f);
    }
    let mut letters = Vec::new();
    for ((_, unit), findings) in grouped {
        let Some(kind) = rules.ledger_kind(findings.len()) else { continue };
        let cases: BTreeSet<i64> =
            findings.iter().map(|f| f.case).filter(|case| named.get(case).is_none_or(|had| *had < kind)).collect();
        if cases.is_empty() {
            continue;
        }
        let first = findings[0];
        letters.push(NewLetter {
            kind,
            unit: unit.to_string(),
            reason: format!(
                "{}督查交办的问题中有{}件超过整改时限（{}）仍未整改，请立即整改并反馈",
                first.round,
                findings.len(),
                first.rectify_by
            ),
            origin: LetterOrigin::Ledger,
            answer_by: rules.answer_by(kind, now, calendar),
            escalated_from: None,
            cases: cases.into_iter().collect(),
        });
    }
    letters
}

/// The letter that follows one left unanswered past its day.
pub fn escalation_of(
    letter: &Letter,
    rules: &LetterRules,
    calendar: &WorkingCalendar,
    now: OffsetDateTime,
) -> Option<NewLetter> {
    let kind = letter.kind.next()?;
    Some(NewLetter {
        kind,
        unit: letter.unit.clone(),
        reason: format!("{}逾期未反馈，升级督办", letter.label),
        origin: LetterOrigin::Escalation,
        answer_by: rules.answer_by(kind, now, calendar),
        escalated_from: Some(letter.id),
        cases: letter.cases.iter().map(|c| c.id).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn turned(case: i64, unit: &str, colour: Colour) -> Turned {
        Turned { case, unit: Some(unit.to_string()), colour }
    }

    #[test]
    fn one_letter_per_unit_and_kind_and_never_twice_for_a_case() {
        let now = datetime!(2026-11-23 10:00 +8);
        let calendar = WorkingCalendar::default();
        let rules = LetterRules::default();
        let changes = [
            turned(1, "环卫所", Colour::Yellow),
            turned(2, "环卫所", Colour::Yellow),
            turned(3, "环卫所", Colour::Red),
            turned(4, "城管队", Colour::Yellow),
            turned(5, "城管队", Colour::Blue), // blue issues nothing by default
            Turned { case: 6, unit: None, colour: Colour::Red }, // no unit to write to
            turned(7, "城管队", Colour::Yellow),
        ];
        let named = BTreeMap::from([(7, LetterKind::Red)]); // had a red letter already
        let letters = letters_for(&changes, &named, &rules, &calendar, now);
        let summary: Vec<(&str, LetterKind, Vec<i64>)> =
            letters.iter().map(|l| (l.unit.as_str(), l.kind, l.cases.clone())).collect();
        assert_eq!(
            summary,
            vec![
                ("城管队", LetterKind::Notice, vec![4]),
                ("环卫所", LetterKind::Notice, vec![1, 2]),
                ("环卫所", LetterKind::Red, vec![3]),
            ]
        );
        // A Monday 10:00 notice is due three working days later, on Thursday at 10:00.
        assert_eq!(letters[0].answer_by, datetime!(2026-11-26 10:00 +8));
    }

    #[test]
    fn letters_escalate_one_kind_at_a_time_and_red_stays_overdue() {
        assert_eq!(LetterKind::Reminder.next(), Some(LetterKind::Notice));
        assert_eq!(LetterKind::Red.next(), None);
        let due = datetime!(2026-11-26 10:00 +8);
        let late = datetime!(2026-11-27 10:00 +8);
        assert_eq!(status_of(LetterKind::Red, true, false, false, due, late), LetterStatus::Overdue);
        assert_eq!(status_of(LetterKind::Notice, true, false, false, due, late), LetterStatus::Signed);
        assert_eq!(status_of(LetterKind::Notice, true, true, true, due, late), LetterStatus::Answered);
        assert_eq!(label(LetterKind::Notice, 2026, 3), "督办函〔2026〕3号");
    }

    fn overdue(round_id: i64, case: i64, unit: &str) -> OverdueFinding {
        OverdueFinding {
            round: format!("2026年第{round_id}期"),
            round_id,
            rectify_by: time::macros::date!(2026 - 11 - 20),
            case,
            unit: unit.to_string(),
        }
    }

    #[test]
    fn a_units_ledger_calls_for_the_letter_its_count_reaches() {
        let now = datetime!(2026-11-23 10:00 +8);
        let calendar = WorkingCalendar::default();
        let rules = LetterRules::default(); // one overdue: 督办函; three: 红色督办单
        let findings = [
            overdue(1, 10, "环卫所"),
            overdue(1, 11, "环卫所"),
            overdue(1, 12, "环卫所"),
            overdue(1, 20, "城管队"),
            overdue(2, 30, "环卫所"), // another round counts on its own
            overdue(2, 31, "城管队"),
        ];
        let named = BTreeMap::from([(11, LetterKind::Red), (20, LetterKind::Notice), (31, LetterKind::Reminder)]);
        let letters = ledger_letters(&findings, &named, &rules, &calendar, now);
        let summary: Vec<(&str, LetterKind, Vec<i64>)> =
            letters.iter().map(|l| (l.unit.as_str(), l.kind, l.cases.clone())).collect();
        assert_eq!(
            summary,
            vec![
                // three of round 1: red, naming the two no red letter named yet
                ("环卫所", LetterKind::Red, vec![10, 12]),
                // 城管队's one in round 1 had its 督办函 already: nothing
                ("城管队", LetterKind::Notice, vec![31]),
                ("环卫所", LetterKind::Notice, vec![30]),
            ]
        );
        assert!(letters.iter().all(|l| l.origin == LetterOrigin::Ledger));
        assert!(
            letters[0].reason.contains("2026年第1期") && letters[0].reason.contains("3件"),
            "{}",
            letters[0].reason
        );
        let quiet = LetterRules { ledger: Vec::new(), ..LetterRules::default() };
        assert!(ledger_letters(&findings, &named, &quiet, &calendar, now).is_empty());
    }

    #[test]
    fn rules_from_a_file_are_checked() {
        let rules = LetterRules::from_json(r#"{"colours": ["blue", "yellow", "red"], "answer_days": {"red": 2}}"#)
            .expect("rules");
        assert_eq!(rules.colours.len(), 3);
        assert_eq!(rules.answer_days.get(&LetterKind::Red), Some(&2));
        assert_eq!(rules.answer_days.get(&LetterKind::Notice), Some(&3), "the others keep their defaults");
        assert!(rules.escalate);
        let wrong = LetterRules::from_json(r#"{"answer_days": {"notice": 0}}"#).expect_err("0 days");
        assert!(wrong.contains("answer_days.notice"), "{wrong}");
        assert!(LetterRules::from_json(r#"{"colour": []}"#).is_err());
        let ledger = LetterRules::from_json(r#"{"ledger": [{"overdue": 2, "kind": "reminder"}]}"#).expect("ledger");
        assert_eq!((ledger.ledger_kind(1), ledger.ledger_kind(2)), (None, Some(LetterKind::Reminder)));
        let zero = LetterRules::from_json(r#"{"ledger": [{"overdue": 0, "kind": "red"}]}"#).expect_err("0");
        assert!(zero.starts_with("ledger:"), "{zero}");
    }
}
