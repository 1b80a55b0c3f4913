//! The weekly bulletin (一周一通报): indicators per grid, street, unit or department for an ISO
//! week, ranked by the weighted score, as JSON, CSV or XLSX.

use crate::domain::grids::Snapshot;
use crate::domain::indicators::{CaseFacts, ConfirmFacts, ConfirmRates, Counts, Rates, SatisfactionRates};
use crate::domain::period::{Period, PeriodKind};
use crate::domain::problem::Problem;
use crate::domain::workflow::state::State;
use crate::store::ProblemEvent;
use serde::Serialize;
use spatial::GridLevel;
use std::collections::BTreeMap;
use time::{OffsetDateTime, UtcOffset};

/// What the rows of a bulletin are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum GroupBy {
    Grid,
    Street,
    Unit,
    Department,
}

impl GroupBy {
    pub fn parse(s: &str) -> Result<Self, String> {
        match s {
            "grid" => Ok(Self::Grid),
            "street" => Ok(Self::Street),
            "unit" => Ok(Self::Unit),
            "department" => Ok(Self::Department),
            other => Err(format!("unknown grouping {other:?}: use grid, street, unit or department")),
        }
    }
}

/// An ISO week in the city's time zone, Monday 00:00 to the next Monday 00:00.
pub type Week = Period;

/// Parses `2026-W47`.
pub fn parse_week(text: &str, offset: UtcOffset) -> Result<Week, String> {
    match Period::parse(text, offset) {
        Ok(week) if week.kind == PeriodKind::Week => Ok(week),
        _ => Err(format!("{text:?} is not an ISO week like 2026-W47")),
    }
}

/// The ISO week that contains `t` (in the city's time zone).
pub fn week_of(t: OffsetDateTime, offset: UtcOffset) -> Week {
    let (year, week, _) = t.to_offset(offset).date().to_iso_week_date();
    parse_week(&format!("{year}-W{week:02}"), offset).unwrap_or(Week {
        label: String::new(),
        kind: PeriodKind::Week,
        start: t,
        end: t,
    })
}

/// One grid, street, unit or department of the bulletin.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[schema(as = BulletinRow)]
pub struct Row {
    pub group: String,
    pub name: Option<String>,
    /// Place in the ranking (1 = best score); groups with nothing dispatched are not ranked.
    pub rank: Option<usize>,
    pub counts: Counts,
    pub rates: Option<Rates>,
    /// 核实率 and 按时核实率, when reports were sent to be confirmed on site.
    pub confirmation: Option<ConfirmRates>,
    /// 满意率, when citizens' cases were called back (回访).
    pub satisfaction: Option<SatisfactionRates>,
}

impl Row {
    fn of(group: String, name: Option<String>, counts: Counts) -> Self {
        let (rates, confirmation) = (Rates::of(&counts), ConfirmRates::of(&counts));
        let satisfaction = SatisfactionRates::of(&counts);
        Self { group, name, rank: None, counts, rates, confirmation, satisfaction }
    }
}

/// The weekly bulletin (一周一通报): indicators per group, ranked.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Bulletin {
    pub week: Week,
    pub by: GroupBy,
    pub total: Row,
    /// Ranked best first.
    pub rows: Vec<Row>,
}

/// Loads the week's cases within `area` and builds the bulletin.
pub async fn load(
    store: &crate::store::Store,
    snapshot: &Snapshot,
    area: &crate::store::AreaFilter,
    week: Week,
    by: GroupBy,
    now: OffsetDateTime,
) -> Result<Bulletin, crate::store::StoreError> {
    let dispatched = store.dispatched_between(week.start, week.end, area).await?;
    let to_confirm = store.entered_between(State::Confirming, week.start, week.end, area).await?;
    let mut ids: Vec<i64> = dispatched.iter().chain(&to_confirm).map(|p| p.id).collect();
    ids.sort_unstable();
    ids.dedup();
    let events = store.events_of(&ids).await?;
    let recurred = store.recurred_between(week.start, week.end, area).await?;
    let cases = Cases { dispatched: &dispatched, to_confirm: &to_confirm, events: &events, recurred: &recurred };
    Ok(build(week, by, &cases, snapshot, now))
}

/// What a bulletin counts: the cases dispatched in the week, the reports sent to be confirmed
/// on site in it, the steps of both, and the closed cases that came back in it (反弹: one entry
/// per recurrence, counted against the group that closed them).
pub struct Cases<'a> {
    pub dispatched: &'a [Problem],
    pub to_confirm: &'a [Problem],
    pub events: &'a [ProblemEvent],
    pub recurred: &'a [Problem],
}

/// Builds the bulletin as the cases stand at the end of the week — or now, for the week still
/// running.
pub fn build(week: Week, by: GroupBy, cases: &Cases<'_>, snapshot: &Snapshot, now: OffsetDateTime) -> Bulletin {
    let as_of = week.end.min(now);
    let key = |p: &Problem| {
        let key = match by {
            GroupBy::Grid => p.grid_code.clone(),
            GroupBy::Street => {
                p.grid_code.as_deref().and_then(|g| snapshot.ancestor_at(g, GridLevel::Street)).map(String::from)
            }
            GroupBy::Unit => p.responsible_unit.clone(),
            GroupBy::Department => p.class.as_ref().map(|c| c.department.clone()),
        };
        key.unwrap_or_else(|| "(none)".into())
    };
    // Each case's steps, gathered once (not one scan of all the week's steps per case).
    let mut steps: std::collections::HashMap<i64, Vec<ProblemEvent>> = std::collections::HashMap::new();
    for e in cases.events {
        steps.entry(e.problem_id).or_default().push(e.clone());
    }
    let history = |p: &Problem| steps.get(&p.id).map_or(&[][..], Vec::as_slice);
    type Facts = (Vec<CaseFacts>, Vec<ConfirmFacts>, u32);
    let mut groups: BTreeMap<String, Facts> = BTreeMap::new();
    let mut all: Facts = Default::default();
    for p in cases.dispatched {
        let Some(facts) = CaseFacts::from_history(p, history(p)) else { continue };
        groups.entry(key(p)).or_default().0.push(facts.clone());
        all.0.push(facts);
    }
    for p in cases.to_confirm {
        let Some(facts) = ConfirmFacts::from_history(history(p)) else { continue };
        groups.entry(key(p)).or_default().1.push(facts);
        all.1.push(facts);
    }
    for p in cases.recurred {
        groups.entry(key(p)).or_default().2 += 1;
        all.2 += 1;
    }
    let name = |group: &str| match by {
        GroupBy::Grid | GroupBy::Street => snapshot.grids.get(group).and_then(|m| m.name.clone()),
        GroupBy::Unit | GroupBy::Department => None,
    };
    let counts = |(handled, confirmed, recurred): &Facts| {
        let mut counts = Counts::of(handled, as_of);
        counts.count_confirmations(confirmed, as_of);
        counts.recurred = *recurred;
        counts
    };
    let mut rows: Vec<Row> =
        groups.into_iter().map(|(group, facts)| Row::of(group.clone(), name(&group), counts(&facts))).collect();
    rows.sort_by(|a, b| {
        let score = |r: &Row| r.rates.map_or(f64::NEG_INFINITY, |x| x.score);
        score(b).total_cmp(&score(a)).then_with(|| a.group.cmp(&b.group))
    });
    for (i, row) in rows.iter_mut().enumerate() {
        row.rank = row.rates.map(|_| i + 1);
    }
    let total = Row::of("total".into(), None, counts(&all));
    Bulletin { week, by, total, rows }
}

const HEADERS: [&str; 31] = [
    "rank",
    "group",
    "name",
    "应处置 should_handle",
    "处置 handled",
    "按期处置 on_time_handled",
    "结案 closed",
    "按期结案 on_time_closed",
    "返工 reworked",
    "超期待处置 overdue_unhandled",
    "延期 extended",
    "处置率 %",
    "按期处置率 %",
    "结案率 %",
    "按期结案率 %",
    "返工率 %",
    "超期待处置率 %",
    "延期率 %",
    "score",
    "应核实 to_confirm",
    "核实 confirmed",
    "按时核实 on_time_confirmed",
    "核实率 %",
    "按时核实率 %",
    "回访 called_back",
    "满意 satisfied",
    "基本满意 basically_satisfied",
    "不满意 dissatisfied",
    "满意率 %",
    "反弹 recurred",
    "week",
];

fn cells(row: &Row, week: &str) -> Vec<String> {
    let c = &row.counts;
    let pct = |f: fn(&Rates) -> f64| row.rates.map_or(String::new(), |r| format!("{:.2}", f(&r) * 100.0));
    vec![
        row.rank.map_or(String::new(), |r| r.to_string()),
        row.group.clone(),
        row.name.clone().unwrap_or_default(),
        c.should_handle.to_string(),
        c.handled.to_string(),
        c.on_time_handled.to_string(),
        c.closed.to_string(),
        c.on_time_closed.to_string(),
        c.reworked.to_string(),
        c.overdue_unhandled.to_string(),
        c.extended.to_string(),
        pct(|r| r.handling),
        pct(|r| r.on_time_handling),
        pct(|r| r.closing),
        pct(|r| r.on_time_closing),
        pct(|r| r.rework),
        pct(|r| r.overdue_unhandled),
        pct(|r| r.extension),
        row.rates.map_or(String::new(), |r| format!("{:.2}", r.score)),
        c.to_confirm.to_string(),
        c.confirmed.to_string(),
        c.on_time_confirmed.to_string(),
        row.confirmation.map_or(String::new(), |r| format!("{:.2}", r.confirming * 100.0)),
        row.confirmation.map_or(String::new(), |r| format!("{:.2}", r.on_time_confirming * 100.0)),
        c.called_back.to_string(),
        c.satisfied.to_string(),
        c.basically_satisfied.to_string(),
        c.dissatisfied.to_string(),
        row.satisfaction.map_or(String::new(), |r| format!("{:.2}", r.satisfaction * 100.0)),
        c.recurred.to_string(),
        week.to_string(),
    ]
}

impl Bulletin {
    fn table(&self) -> Vec<Vec<String>> {
        std::iter::once(&self.total).chain(&self.rows).map(|r| cells(r, &self.week.label)).collect()
    }

    /// CSV (UTF-8 with a byte-order mark, so Excel in China opens it right).
    pub fn to_csv(&self) -> Result<Vec<u8>, String> {
        let mut w = csv::Writer::from_writer(vec![0xEF, 0xBB, 0xBF]);
        crate::app::export::write_record(&mut w, HEADERS).map_err(|e| e.to_string())?;
        for row in self.table() {
            crate::app::export::write_record(&mut w, row).map_err(|e| e.to_string())?;
        }
        w.into_inner().map_err(|e| e.to_string())
    }

    /// XLSX: one sheet, numbers as numbers.
    pub fn to_xlsx(&self) -> Result<Vec<u8>, String> {
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        sheet.set_name(format!("一周一通报 {}", self.week.label)).map_err(|e| e.to_string())?;
        let bold = rust_xlsxwriter::Format::new().set_bold();
        for (col, h) in HEADERS.iter().enumerate() {
            sheet.write_string_with_format(0, col as u16, *h, &bold).map_err(|e| e.to_string())?;
        }
        for (r, row) in self.table().into_iter().enumerate() {
            for (col, value) in row.into_iter().enumerate() {
                let (r, col) = (r as u32 + 1, col as u16);
                match value.parse::<f64>() {
                    Ok(n) if col != 1 => sheet.write_number(r, col, n).map(|_| ()),
                    _ => sheet.write_string(r, col, value).map(|_| ()),
                }
                .map_err(|e| e.to_string())?;
            }
        }
        book.save_to_buffer().map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_weeks_in_city_time() {
        let offset = UtcOffset::from_hms(8, 0, 0).expect("offset");
        let w = parse_week("2026-W47", offset).expect("week");
        assert_eq!(w.start, time::macros::datetime!(2026-11-16 00:00 +08:00));
        assert_eq!(w.end, time::macros::datetime!(2026-11-23 00:00 +08:00));
        assert_eq!(week_of(time::macros::datetime!(2026-11-22 17:00 UTC), offset).label, "2026-W48");
        assert!(parse_week("2026-47", offset).is_err());
        assert!(parse_week("2026-W54", offset).is_err());
    }
}
