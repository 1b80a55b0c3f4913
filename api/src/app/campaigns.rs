//! A special campaign's report (专项整治报告): the cases it covers, found and fixed, per
//! responsible unit and per joint enforcement round, with recurrences; JSON or XLSX.

use crate::domain::campaign::Campaign;
use crate::domain::grids::Snapshot;
use crate::domain::problem::Problem;
use crate::store::{AreaFilter, Store, StoreError};
use serde::Serialize;
use std::collections::BTreeMap;
use time::{OffsetDateTime, UtcOffset};

/// What a group of cases came to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct CampaignTally {
    /// 发现: cases reported.
    pub found: u32,
    /// 整改: closed (办结).
    pub closed: u32,
    /// Still open.
    pub open: u32,
    /// Open and past their deadline.
    pub overdue: u32,
    /// 反弹: recurrences of a closed case among them.
    pub recurrences: u32,
}

impl CampaignTally {
    fn add(&mut self, p: &Problem, now: OffsetDateTime) {
        self.found += 1;
        let open = p.status.is_open();
        self.open += u32::from(open);
        self.closed += u32::from(!open && p.case.closed_at.is_some() && p.case.merged_into.is_none());
        self.overdue += u32::from(open && p.case.deadline.is_some_and(|d| d < now));
        self.recurrences += u32::from(p.recurrence.is_some());
    }
}

/// One responsible unit's part.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct CampaignUnit {
    pub unit: String,
    /// 牵头 (lead), 配合 (joint) or neither (other units the cases went to).
    pub role: &'static str,
    #[serde(flatten)]
    pub tally: CampaignTally,
}

/// One joint enforcement round (联合执法): from its day to the next round's.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct CampaignRound {
    #[serde(with = "crate::domain::clock::iso_date")]
    #[schema(value_type = String, format = Date)]
    pub day: time::Date,
    #[serde(flatten)]
    pub tally: CampaignTally,
}

/// A case of the campaign, as the report lists it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct CampaignCase {
    pub id: i64,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    pub category: String,
    pub category_name: Option<String>,
    pub grid_code: Option<String>,
    pub responsible_unit: Option<String>,
    pub status: String,
    /// The closed case it recurs (反弹), if any.
    pub recurrence_of: Option<i64>,
}

/// The campaign's report, as it stands now.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct CampaignReport {
    pub campaign: Campaign,
    pub total: CampaignTally,
    /// The lead unit first, then the joint units, then any other unit cases went to.
    pub units: Vec<CampaignUnit>,
    pub rounds: Vec<CampaignRound>,
    pub cases: Vec<CampaignCase>,
}

/// A special campaign a case falls in (its tag).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct CampaignTag {
    pub id: i64,
    pub name: String,
}

/// The campaigns `problem` falls in (its area, period and categories), oldest first.
pub async fn tags_of(
    store: &Store,
    snapshot: &Snapshot,
    problem: &Problem,
    offset: UtcOffset,
) -> Result<Vec<CampaignTag>, StoreError> {
    let mut tags: Vec<CampaignTag> = store
        .campaigns()
        .await?
        .into_iter()
        .filter(|c| c.plan.covers(problem, &c.plan.grids(snapshot), offset))
        .map(|c| CampaignTag { id: c.id, name: c.plan.name })
        .collect();
    tags.reverse();
    Ok(tags)
}

/// Loads the cases the campaign covers within the caller's `area` and counts them.
pub async fn report(
    store: &Store,
    snapshot: &Snapshot,
    area: &AreaFilter,
    campaign: Campaign,
    offset: UtcOffset,
    now: OffsetDateTime,
) -> Result<CampaignReport, StoreError> {
    let plan = &campaign.plan;
    let grids = plan.grids(snapshot);
    let reported = store.created_between(plan.from(offset), plan.until(offset), area).await?;
    let cases: Vec<Problem> = reported.into_iter().filter(|p| plan.covers(p, &grids, offset)).collect();
    Ok(count(campaign, &cases, offset, now))
}

/// Counts covered cases per unit and per round.
pub fn count(campaign: Campaign, cases: &[Problem], offset: UtcOffset, now: OffsetDateTime) -> CampaignReport {
    let plan = &campaign.plan;
    let mut total = CampaignTally::default();
    let mut units: BTreeMap<String, CampaignTally> = BTreeMap::new();
    for unit in std::iter::once(&plan.lead_unit).chain(&plan.joint_units) {
        units.insert(unit.clone(), CampaignTally::default());
    }
    let days = plan.rounds();
    let mut rounds: Vec<CampaignRound> =
        days.iter().map(|&day| CampaignRound { day, tally: CampaignTally::default() }).collect();
    for p in cases {
        total.add(p, now);
        units.entry(p.responsible_unit.clone().unwrap_or_else(|| "(none)".into())).or_default().add(p, now);
        let day = p.created_at.to_offset(offset).date();
        if let Some(round) = rounds.iter_mut().rev().find(|r| r.day <= day) {
            round.tally.add(p, now);
        }
    }
    let role = |unit: &str| {
        if unit == plan.lead_unit {
            "lead"
        } else if plan.joint_units.iter().any(|u| u == unit) {
            "joint"
        } else {
            "other"
        }
    };
    let mut units: Vec<CampaignUnit> =
        units.into_iter().map(|(unit, tally)| CampaignUnit { role: role(&unit), unit, tally }).collect();
    let rank = |r: &CampaignUnit| match r.role {
        "lead" => 0,
        "joint" => 1,
        _ => 2,
    };
    units.sort_by(|a, b| rank(a).cmp(&rank(b)).then(b.tally.found.cmp(&a.tally.found)).then(a.unit.cmp(&b.unit)));
    let cases = cases
        .iter()
        .map(|p| CampaignCase {
            id: p.id,
            created_at: p.created_at,
            category: p.category.clone(),
            category_name: p.class.as_ref().map(|c| c.category_name.clone()),
            grid_code: p.grid_code.clone(),
            responsible_unit: p.responsible_unit.clone(),
            status: p.status.as_str().to_string(),
            recurrence_of: p.recurrence.as_ref().map(|r| r.of),
        })
        .collect();
    CampaignReport { campaign, total, units, rounds, cases }
}

impl CampaignReport {
    /// XLSX: 汇总 (the total and each unit), 联合执法 (each round), 案件 (each case).
    pub fn to_xlsx(&self) -> Result<Vec<u8>, String> {
        let e = |e: rust_xlsxwriter::XlsxError| e.to_string();
        let mut book = rust_xlsxwriter::Workbook::new();
        let bold = rust_xlsxwriter::Format::new().set_bold();
        let tally_headers = ["发现 found", "办结 closed", "未办结 open", "超期 overdue", "反弹 recurrences"];
        let write_tally = |sheet: &mut rust_xlsxwriter::Worksheet, row: u32, from: u16, t: &CampaignTally| {
            for (k, n) in [t.found, t.closed, t.open, t.overdue, t.recurrences].into_iter().enumerate() {
                sheet.write_number(row, from + k as u16, f64::from(n))?;
            }
            Ok::<(), rust_xlsxwriter::XlsxError>(())
        };
        let plan = &self.campaign.plan;

        let sheet = book.add_worksheet().set_name("汇总").map_err(e)?;
        sheet
            .write_string_with_format(0, 0, format!("{}（{} 至 {}）", plan.name, plan.start, plan.end), &bold)
            .map_err(e)?;
        for (col, h) in ["单位 unit", "角色 role"].iter().chain(&tally_headers).enumerate() {
            sheet.write_string_with_format(2, col as u16, *h, &bold).map_err(e)?;
        }
        sheet.write_string(3, 0, "合计 total").map_err(e)?;
        write_tally(sheet, 3, 2, &self.total).map_err(e)?;
        for (i, u) in self.units.iter().enumerate() {
            let row = 4 + i as u32;
            sheet.write_string(row, 0, &u.unit).map_err(e)?;
            let role = match u.role {
                "lead" => "牵头",
                "joint" => "配合",
                _ => "其他",
            };
            sheet.write_string(row, 1, role).map_err(e)?;
            write_tally(sheet, row, 2, &u.tally).map_err(e)?;
        }

        let sheet = book.add_worksheet().set_name("联合执法").map_err(e)?;
        for (col, h) in ["日期 day"].iter().chain(&tally_headers).enumerate() {
            sheet.write_string_with_format(0, col as u16, *h, &bold).map_err(e)?;
        }
        for (i, r) in self.rounds.iter().enumerate() {
            sheet.write_string(1 + i as u32, 0, r.day.to_string()).map_err(e)?;
            write_tally(sheet, 1 + i as u32, 1, &r.tally).map_err(e)?;
        }

        let sheet = book.add_worksheet().set_name("案件").map_err(e)?;
        let headers =
            ["编号 id", "上报 reported", "类别 category", "网格 grid", "责任单位 unit", "状态 status", "反弹自 recurs"];
        for (col, h) in headers.iter().enumerate() {
            sheet.write_string_with_format(0, col as u16, *h, &bold).map_err(e)?;
        }
        for (i, c) in self.cases.iter().enumerate() {
            let row = 1 + i as u32;
            sheet.write_number(row, 0, c.id as f64).map_err(e)?;
            let reported = c.created_at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
            sheet.write_string(row, 1, reported).map_err(e)?;
            sheet.write_string(row, 2, c.category_name.clone().unwrap_or_else(|| c.category.clone())).map_err(e)?;
            sheet.write_string(row, 3, c.grid_code.clone().unwrap_or_default()).map_err(e)?;
            sheet.write_string(row, 4, c.responsible_unit.clone().unwrap_or_default()).map_err(e)?;
            sheet.write_string(row, 5, &c.status).map_err(e)?;
            if let Some(of) = c.recurrence_of {
                sheet.write_number(row, 6, of as f64).map_err(e)?;
            }
        }
        book.save_to_buffer().map_err(e)
    }
}
