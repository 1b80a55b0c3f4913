//! Case-handling indicators (CJ/T 292 practice) for any period and any grouping, and the weighted
//! score one district publishes. Pure: facts in, figures out.
//!
//! The cases counted for a period are those dispatched in it (应处置 = 应结案 = dispatched).
//! Handling, closing, reworks and extensions are counted as they stand at the end of the period
//! (or now, for a period still running).

use crate::domain::problem::{Problem, ProblemEvent, Satisfaction};
use serde::Serialize;
use time::OffsetDateTime;

/// What the indicators need to know about one case.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseFacts {
    pub deadline: Option<OffsetDateTime>,
    /// The first `handle` (or the officer's `self_handle`).
    pub handled_at: Option<OffsetDateTime>,
    pub closed_at: Option<OffsetDateTime>,
    pub reworks: u32,
    /// An extension was approved.
    pub extended: bool,
    /// The latest call-back (回访) and what the caller said.
    pub callback: Option<(OffsetDateTime, Satisfaction)>,
}

impl CaseFacts {
    /// The facts of a dispatched case from its steps; `None` when it was never dispatched.
    pub fn from_history(problem: &Problem, events: &[ProblemEvent]) -> Option<Self> {
        problem.case.dispatched_at?;
        let first =
            |actions: &[&str]| events.iter().filter(|e| actions.contains(&e.action.as_str())).map(|e| e.at).min();
        Some(Self {
            deadline: problem.case.deadline,
            handled_at: first(&["handle", "self_handle"]),
            closed_at: first(&["close"]),
            // A failed check, or a caller dissatisfied when called back (不满意即返工).
            reworks: events.iter().filter(|e| e.action == "reject" || e.to_state == "rework").count() as u32,
            extended: events.iter().any(|e| e.action == "approve_extension"),
            callback: events
                .iter()
                .filter(|e| e.action == "callback")
                .filter_map(|e| Some((e.at, Satisfaction::parse(e.details.get("satisfaction")?.as_str()?)?)))
                .max_by_key(|(at, _)| *at),
        })
    }
}

/// What the 核实 indicators need to know about one report sent to be confirmed on site.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ConfirmFacts {
    /// The confirmation's deadline, as it was set when the report was sent.
    pub deadline: Option<OffsetDateTime>,
    /// When the officer confirmed it or voided it as not found.
    pub confirmed_at: Option<OffsetDateTime>,
}

impl ConfirmFacts {
    /// The facts of a report that was sent to be confirmed; `None` when it never was.
    pub fn from_history(events: &[ProblemEvent]) -> Option<Self> {
        let sent = events.iter().find(|e| e.to_state == "confirming")?;
        let deadline = sent
            .details
            .get("deadline")
            .and_then(|d| d.as_str())
            .and_then(|d| OffsetDateTime::parse(d, &time::format_description::well_known::Rfc3339).ok());
        let confirmed_at = events
            .iter()
            .filter(|e| e.from_state == "confirming" && matches!(e.action.as_str(), "confirm" | "void"))
            .map(|e| e.at)
            .min();
        Some(Self { deadline, confirmed_at })
    }
}

/// The counts behind the rates.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Counts {
    /// 应处置数 (= 应结案数): cases dispatched in the period.
    pub should_handle: u32,
    pub handled: u32,
    pub on_time_handled: u32,
    pub closed: u32,
    pub on_time_closed: u32,
    pub reworked: u32,
    /// Not handled by the end of the period and past their deadline.
    pub overdue_unhandled: u32,
    pub extended: u32,
    /// 应核实数: reports sent to be confirmed on site in the period.
    pub to_confirm: u32,
    /// 核实数: of those, confirmed (or voided as not found) by the end of the period.
    pub confirmed: u32,
    pub on_time_confirmed: u32,
    /// 回访数: citizens' cases called back after closing, and what they said.
    pub called_back: u32,
    pub satisfied: u32,
    pub basically_satisfied: u32,
    pub dissatisfied: u32,
    /// 反弹数: recurrences reported in the period of cases this group closed (a case of the same
    /// category close by, soon after closing).
    pub recurred: u32,
}

impl Counts {
    /// Adds the reports sent to be confirmed, as they stand at `period_end`.
    pub fn count_confirmations(&mut self, reports: &[ConfirmFacts], period_end: OffsetDateTime) {
        for f in reports {
            self.to_confirm += 1;
            if let Some(at) = f.confirmed_at.filter(|t| *t < period_end) {
                self.confirmed += 1;
                self.on_time_confirmed += u32::from(f.deadline.is_none_or(|d| at <= d));
            }
        }
    }

    /// Counts the cases as they stand at `period_end`.
    pub fn of(cases: &[CaseFacts], period_end: OffsetDateTime) -> Self {
        let mut c = Counts::default();
        for f in cases {
            c.should_handle += 1;
            let before = |t: Option<OffsetDateTime>| t.filter(|t| *t < period_end);
            let on_time = |t: OffsetDateTime| f.deadline.is_none_or(|d| t <= d);
            if let Some(h) = before(f.handled_at) {
                c.handled += 1;
                c.on_time_handled += u32::from(on_time(h));
            } else if f.deadline.is_some_and(|d| d < period_end) {
                c.overdue_unhandled += 1;
            }
            if let Some(closed) = before(f.closed_at) {
                c.closed += 1;
                c.on_time_closed += u32::from(on_time(closed));
            }
            c.reworked += u32::from(f.reworks > 0);
            c.extended += u32::from(f.extended);
            if let Some((_, said)) = f.callback.filter(|(at, _)| *at < period_end) {
                c.called_back += 1;
                match said {
                    Satisfaction::Satisfied => c.satisfied += 1,
                    Satisfaction::BasicallySatisfied => c.basically_satisfied += 1,
                    Satisfaction::Dissatisfied => c.dissatisfied += 1,
                }
            }
        }
        c
    }

    pub fn add(&mut self, o: &Counts) {
        self.should_handle += o.should_handle;
        self.handled += o.handled;
        self.on_time_handled += o.on_time_handled;
        self.closed += o.closed;
        self.on_time_closed += o.on_time_closed;
        self.reworked += o.reworked;
        self.overdue_unhandled += o.overdue_unhandled;
        self.extended += o.extended;
        self.to_confirm += o.to_confirm;
        self.confirmed += o.confirmed;
        self.on_time_confirmed += o.on_time_confirmed;
        self.called_back += o.called_back;
        self.satisfied += o.satisfied;
        self.basically_satisfied += o.basically_satisfied;
        self.dissatisfied += o.dissatisfied;
        self.recurred += o.recurred;
    }
}

/// The rates (0–1) and the weighted score (0–100).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Rates {
    /// 处置率
    pub handling: f64,
    /// 按期处置率
    pub on_time_handling: f64,
    /// 结案率
    pub closing: f64,
    /// 按期结案率
    pub on_time_closing: f64,
    /// 返工率
    pub rework: f64,
    /// 超期待处置率
    pub overdue_unhandled: f64,
    /// 延期率
    pub extension: f64,
    /// 30·处置率 + 20·按期处置率 + 20·(1−返工率) + 20·(1−超期待处置率) + 10·(1−延期率)
    pub score: f64,
}

impl Rates {
    /// Rates of a group; a group with nothing to handle has all rates 0 and no score.
    pub fn of(c: &Counts) -> Option<Self> {
        if c.should_handle == 0 {
            return None;
        }
        let n = f64::from(c.should_handle);
        let r = |x: u32| f64::from(x) / n;
        let (handling, on_time_handling) = (r(c.handled), r(c.on_time_handled));
        let (rework, overdue_unhandled, extension) = (r(c.reworked), r(c.overdue_unhandled), r(c.extended));
        let score = 30.0 * handling
            + 20.0 * on_time_handling
            + 20.0 * (1.0 - rework)
            + 20.0 * (1.0 - overdue_unhandled)
            + 10.0 * (1.0 - extension);
        Some(Self {
            handling,
            on_time_handling,
            closing: r(c.closed),
            on_time_closing: r(c.on_time_closed),
            rework,
            overdue_unhandled,
            extension,
            score,
        })
    }
}

/// 满意率 (0–1): of the cases called back (回访), the share whose caller was satisfied or
/// basically satisfied; beside the score, which weighs handling only.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, utoipa::ToSchema)]
pub struct SatisfactionRates {
    /// 满意率 (满意 + 基本满意)
    pub satisfaction: f64,
    /// 不满意率
    pub dissatisfaction: f64,
}

impl SatisfactionRates {
    /// None when no case was called back.
    pub fn of(c: &Counts) -> Option<Self> {
        let n = f64::from(c.called_back);
        (c.called_back > 0).then(|| Self {
            satisfaction: f64::from(c.satisfied + c.basically_satisfied) / n,
            dissatisfaction: f64::from(c.dissatisfied) / n,
        })
    }
}

/// 核实率 and 按时核实率 (0–1): beside the score, which weighs handling only.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ConfirmRates {
    /// 核实率
    pub confirming: f64,
    /// 按时核实率
    pub on_time_confirming: f64,
}

impl ConfirmRates {
    /// None when nothing was sent to be confirmed.
    pub fn of(c: &Counts) -> Option<Self> {
        let n = f64::from(c.to_confirm);
        (c.to_confirm > 0).then(|| Self {
            confirming: f64::from(c.confirmed) / n,
            on_time_confirming: f64::from(c.on_time_confirmed) / n,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn case(deadline: &str, handled: Option<&str>, closed: Option<&str>, reworks: u32, extended: bool) -> CaseFacts {
        let t = |s: &str| OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).expect("time");
        CaseFacts {
            deadline: Some(t(deadline)),
            handled_at: handled.map(t),
            closed_at: closed.map(t),
            reworks,
            extended,
            callback: None,
        }
    }

    fn called_back(mut facts: CaseFacts, at: OffsetDateTime, said: Satisfaction) -> CaseFacts {
        facts.callback = Some((at, said));
        facts
    }

    /// Five cases of week 2026-W48 (ends Monday 2026-11-30 00:00 +08:00), worked out by hand:
    /// 1 handled and closed on time; 2 handled late, closed; 3 handled on time after a rework, not
    /// closed; 4 not handled, deadline passed; 5 not handled, deadline after the week, extended.
    #[test]
    fn a_hand_computed_week() {
        // Called back (回访): 1 satisfied, 2 basically satisfied only after the week (not counted),
        // 3 dissatisfied (re-opened, hence its rework).
        let cases = [
            called_back(
                case(
                    "2026-11-24T17:00:00+08:00",
                    Some("2026-11-24T10:00:00+08:00"),
                    Some("2026-11-24T15:00:00+08:00"),
                    0,
                    false,
                ),
                datetime!(2026-11-25 10:00 +08:00),
                Satisfaction::Satisfied,
            ),
            called_back(
                case(
                    "2026-11-24T17:00:00+08:00",
                    Some("2026-11-25T10:00:00+08:00"),
                    Some("2026-11-26T10:00:00+08:00"),
                    0,
                    false,
                ),
                datetime!(2026-11-30 09:00 +08:00),
                Satisfaction::BasicallySatisfied,
            ),
            called_back(
                case("2026-11-27T17:00:00+08:00", Some("2026-11-27T09:00:00+08:00"), None, 1, false),
                datetime!(2026-11-26 16:00 +08:00),
                Satisfaction::Dissatisfied,
            ),
            case("2026-11-26T12:00:00+08:00", None, None, 0, false),
            case("2026-12-02T17:00:00+08:00", None, None, 0, true),
        ];
        let c = Counts::of(&cases, datetime!(2026-11-30 00:00 +08:00));
        assert_eq!(
            c,
            Counts {
                should_handle: 5,
                handled: 3,
                on_time_handled: 2,
                closed: 2,
                on_time_closed: 1,
                reworked: 1,
                overdue_unhandled: 1,
                extended: 1,
                to_confirm: 0,
                confirmed: 0,
                on_time_confirmed: 0,
                called_back: 2,
                satisfied: 1,
                basically_satisfied: 0,
                dissatisfied: 1,
                recurred: 0,
            }
        );
        let said = SatisfactionRates::of(&c).expect("called back");
        assert_eq!((said.satisfaction, said.dissatisfaction), (0.5, 0.5));
        assert_eq!(SatisfactionRates::of(&Counts::default()), None);
        let r = Rates::of(&c).expect("rates");
        assert_eq!((r.handling, r.on_time_handling, r.closing, r.on_time_closing), (0.6, 0.4, 0.4, 0.2));
        assert_eq!((r.rework, r.overdue_unhandled, r.extension), (0.2, 0.2, 0.2));
        // 30·0.6 + 20·0.4 + 20·0.8 + 20·0.8 + 10·0.8 = 18 + 8 + 16 + 16 + 8 = 66
        assert!((r.score - 66.0).abs() < 1e-9, "{}", r.score);
        assert!(Rates::of(&Counts::default()).is_none());
    }

    #[test]
    fn tianmen_published_closing_rates() {
        // Tianmen: 结案率 911/972 = 93.72 %, 按期结案率 737/972 = 75.82 %.
        let c = Counts { should_handle: 972, closed: 911, on_time_closed: 737, ..Counts::default() };
        let r = Rates::of(&c).expect("rates");
        assert_eq!(format!("{:.2}", r.closing * 100.0), "93.72");
        assert_eq!(format!("{:.2}", r.on_time_closing * 100.0), "75.82");
    }

    #[test]
    fn confirmations_on_time_late_and_waiting() {
        let t = |s: &str| OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok();
        let deadline = t("2026-11-24T11:00:00+08:00");
        let reports = [
            ConfirmFacts { deadline, confirmed_at: t("2026-11-24T10:30:00+08:00") },
            ConfirmFacts { deadline, confirmed_at: t("2026-11-24T14:00:00+08:00") },
            ConfirmFacts { deadline, confirmed_at: None },
            // Confirmed after the end of the period: not yet, as the period saw it.
            ConfirmFacts { deadline, confirmed_at: t("2026-12-01T09:00:00+08:00") },
        ];
        let mut c = Counts::default();
        c.count_confirmations(&reports, datetime!(2026-11-30 00:00 +08:00));
        assert_eq!((c.to_confirm, c.confirmed, c.on_time_confirmed), (4, 2, 1));
        assert_eq!(ConfirmRates::of(&c), Some(ConfirmRates { confirming: 0.5, on_time_confirming: 0.25 }));
        assert_eq!(ConfirmRates::of(&Counts::default()), None);
        assert!(Rates::of(&c).is_none(), "nothing dispatched: no score, no rank");
    }
}
