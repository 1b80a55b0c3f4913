//! Special campaigns (专项整治): a period, an area, the categories it goes after, a lead unit and
//! joint units, and a cycle of joint enforcement days (每N天开展一次联合执法). The cases it
//! covers are those reported in its area and period of its categories (tagged when read, so a
//! campaign set up late still counts what came before it). Pure: rules in, facts out.

use crate::domain::grids::Snapshot;
use crate::domain::problem::Problem;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use time::{Date, OffsetDateTime, UtcOffset};

/// Longest campaign, in days (a year and a day: a whole year's campaign fits).
pub const MAX_DAYS: i64 = 366;
pub const MAX_CYCLE_DAYS: u32 = 90;
pub const MAX_JOINT_UNITS: usize = 20;

/// A campaign as it is set up (POST and PUT `/api/v1/campaigns`). Unknown fields are refused
/// where a plan is received (`PLAN_FIELDS`), not here: a stored campaign shows its plan beside
/// its id and version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CampaignPlan {
    /// 专项整治名称, e.g. 背街小巷环境整治
    #[schema(min_length = 1, max_length = 100, example = "背街小巷环境整治")]
    pub name: String,
    /// First day (in the city's time).
    #[serde(with = "crate::domain::clock::iso_date")]
    #[schema(value_type = String, format = Date, example = "2026-12-01")]
    pub start: Date,
    /// Last day, included.
    #[serde(with = "crate::domain::clock::iso_date")]
    #[schema(value_type = String, format = Date, example = "2026-12-31")]
    pub end: Date,
    /// Grid codes of any level (a street, a community, single grids): the area is these and
    /// every grid below them.
    #[schema(min_items = 1, example = json!(["110101001"]))]
    pub area: Vec<String>,
    /// Catalogue codes it goes after; empty: every category.
    #[serde(default)]
    pub categories: Vec<String>,
    /// 牵头单位
    #[schema(min_length = 1, max_length = 100)]
    pub lead_unit: String,
    /// 配合单位
    #[serde(default)]
    pub joint_units: Vec<String>,
    /// A joint enforcement day (联合执法) every this many days from the first (1–90).
    #[schema(minimum = 1, maximum = 90, example = 14)]
    pub cycle_days: u32,
    /// Minutes an officer spends on a joint enforcement day's patrol in their grid (default 60).
    #[serde(default = "default_patrol_minutes")]
    #[schema(minimum = 10, maximum = 480)]
    pub patrol_minutes: u32,
}

fn default_patrol_minutes() -> u32 {
    60
}

/// The fields of a plan.
pub const PLAN_FIELDS: [&str; 9] =
    ["name", "start", "end", "area", "categories", "lead_unit", "joint_units", "cycle_days", "patrol_minutes"];

/// A stored campaign.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Campaign {
    pub id: i64,
    #[serde(flatten)]
    pub plan: CampaignPlan,
    pub created_by: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    /// Bumped by every change: of two racing changes one wins, the other gets 409.
    pub version: i64,
}

/// A field at fault and why.
pub type Fault = (&'static str, String);

impl CampaignPlan {
    /// Checks and tidies a plan against the grids and the catalogue, naming the first field at
    /// fault.
    pub fn checked(mut self, snapshot: &Snapshot, catalogue: &[String]) -> Result<Self, Fault> {
        let text = |field: &'static str, value: &str, max: usize| -> Result<String, Fault> {
            let value = value.trim();
            if value.is_empty() || value.chars().count() > max || value.chars().any(char::is_control) {
                return Err((field, format!("must be text of 1 to {max} characters")));
            }
            Ok(value.to_string())
        };
        self.name = text("name", &self.name, 100)?;
        self.lead_unit = text("lead_unit", &self.lead_unit, 100)?;
        if self.end < self.start {
            return Err(("end", "must be on or after start".into()));
        }
        if (self.end - self.start).whole_days() >= MAX_DAYS {
            return Err(("end", format!("a campaign lasts at most {MAX_DAYS} days")));
        }
        if !(1..=MAX_CYCLE_DAYS).contains(&self.cycle_days) {
            return Err(("cycle_days", format!("must be 1 to {MAX_CYCLE_DAYS}")));
        }
        if !(10..=480).contains(&self.patrol_minutes) {
            return Err(("patrol_minutes", "must be 10 to 480".into()));
        }
        if self.area.is_empty() || self.area.len() > 500 {
            return Err(("area", "name 1 to 500 grid codes".into()));
        }
        if let Some(code) = self.area.iter().find(|c| !snapshot.grids.contains_key(c.as_str())) {
            return Err(("area", format!("no current grid {code:?}")));
        }
        if let Some(code) = self.categories.iter().find(|c| !catalogue.contains(c)) {
            return Err(("categories", format!("{code:?} is not in the catalogue")));
        }
        let mut joint = Vec::new();
        for unit in &self.joint_units {
            let unit = text("joint_units", unit, 100)?;
            if unit != self.lead_unit && !joint.contains(&unit) {
                joint.push(unit);
            }
        }
        if joint.len() > MAX_JOINT_UNITS {
            return Err(("joint_units", format!("at most {MAX_JOINT_UNITS} units")));
        }
        self.joint_units = joint;
        self.area.sort();
        self.area.dedup();
        self.categories.sort();
        self.categories.dedup();
        Ok(self)
    }

    /// The joint enforcement days (联合执法日): the first day, then every `cycle_days`, to the end.
    pub fn rounds(&self) -> Vec<Date> {
        let mut days = Vec::new();
        let mut day = self.start;
        while day <= self.end {
            days.push(day);
            match day.checked_add(time::Duration::days(i64::from(self.cycle_days))) {
                Some(next) => day = next,
                None => break,
            }
        }
        days
    }

    /// The campaign's grids: its area's codes and every grid below them.
    pub fn grids(&self, snapshot: &Snapshot) -> BTreeSet<String> {
        snapshot.descendants(&self.area)
    }

    /// Does the campaign cover this case: reported in its period (city time), in its area, of
    /// one of its categories?
    pub fn covers(&self, p: &Problem, grids: &BTreeSet<String>, offset: UtcOffset) -> bool {
        let day = p.created_at.to_offset(offset).date();
        (self.start..=self.end).contains(&day)
            && p.grid_code.as_ref().is_some_and(|g| grids.contains(g))
            && (self.categories.is_empty() || self.categories.contains(&p.category))
    }

    /// The first instant after the campaign (the midnight after its last day).
    pub fn until(&self, offset: UtcOffset) -> OffsetDateTime {
        self.end.next_day().unwrap_or(self.end).midnight().assume_offset(offset)
    }

    /// Its first instant.
    pub fn from(&self, offset: UtcOffset) -> OffsetDateTime {
        self.start.midnight().assume_offset(offset)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn plan() -> CampaignPlan {
        CampaignPlan {
            name: " 背街小巷环境整治 ".into(),
            start: date!(2026 - 12 - 01),
            end: date!(2026 - 12 - 31),
            area: vec!["B".into(), "A".into(), "A".into()],
            categories: vec!["E01001".into()],
            lead_unit: "东华门街道办事处".into(),
            joint_units: vec!["城管执法队".into(), "东华门街道办事处".into(), "城管执法队".into()],
            cycle_days: 14,
            patrol_minutes: 60,
        }
    }

    #[test]
    fn rounds_fall_every_cycle_from_the_first_day_to_the_last() {
        let p = plan();
        assert_eq!(p.rounds(), vec![date!(2026 - 12 - 01), date!(2026 - 12 - 15), date!(2026 - 12 - 29)]);
        let one_day = CampaignPlan { end: p.start, ..plan() };
        assert_eq!(one_day.rounds(), vec![date!(2026 - 12 - 01)]);
    }

    #[test]
    fn a_plan_is_tidied_or_its_field_named() {
        let grids = |codes: &[&str]| {
            let mut snapshot = Snapshot::new(0, 0, Vec::new(), Vec::new());
            for c in codes {
                snapshot
                    .grids
                    .insert(c.to_string(), crate::domain::grids::GridMeta { name: None, parent: None, level: None });
            }
            snapshot
        };
        let snapshot = grids(&["A", "B"]);
        let catalogue = vec!["E01001".to_string()];
        let ok = plan().checked(&snapshot, &catalogue).expect("valid");
        assert_eq!(ok.name, "背街小巷环境整治");
        assert_eq!(ok.area, vec!["A", "B"]);
        assert_eq!(ok.joint_units, vec!["城管执法队"], "the lead unit and repeats are not joint units");
        let fault = |p: CampaignPlan| p.checked(&snapshot, &catalogue).err().map(|(field, _)| field);
        assert_eq!(fault(CampaignPlan { end: date!(2026 - 11 - 30), ..plan() }), Some("end"));
        assert_eq!(fault(CampaignPlan { end: date!(2028 - 01 - 01), ..plan() }), Some("end"));
        assert_eq!(fault(CampaignPlan { area: vec!["Z".into()], ..plan() }), Some("area"));
        assert_eq!(fault(CampaignPlan { area: vec![], ..plan() }), Some("area"));
        assert_eq!(fault(CampaignPlan { categories: vec!["X".into()], ..plan() }), Some("categories"));
        assert_eq!(fault(CampaignPlan { cycle_days: 0, ..plan() }), Some("cycle_days"));
        assert_eq!(fault(CampaignPlan { name: "  ".into(), ..plan() }), Some("name"));
        assert_eq!(fault(CampaignPlan { lead_unit: String::new(), ..plan() }), Some("lead_unit"));
    }
}
